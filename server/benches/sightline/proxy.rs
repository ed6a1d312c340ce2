//! `sightline proxy` against nginx as a plain reverse proxy, in front of the same upstream
//! (a 13-byte and a 16 KiB answer, no layer), and against the upstream reached directly:
//! wrk on loopback in rotating rounds. Each proxy gets one worker (a thread; an nginx worker process),
//! keeps upstream connections alive, and sets the same forwarding headers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::overhead::{Run, wrk_url};
use super::{Server, free_port, median, wait_listening};

const ROUNDS: usize = 11;
const SECONDS: u32 = 3;

/// `serve-proxy --upstream PORT --port PORT`: Sightline's proxy as `sightline proxy
/// --workers 1` runs it (one nginx worker process against one worker thread).
pub fn serve(upstream: u16, port: u16) {
    let runtime = sightline::runtime::build(std::num::NonZeroUsize::new(1)).unwrap();
    runtime.block_on(async {
        let sightline = sightline::Sightline::start(super::config()).unwrap();
        let settings = sightline::proxy::ProxySettings {
            upstream: format!("http://127.0.0.1:{upstream}"),
            ..Default::default()
        };
        let app = sightline::proxy::Proxy::new(&settings)
            .unwrap()
            .service(&sightline);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let app = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            std::net::SocketAddr,
        >(app);
        axum::serve(listener, app).await.unwrap();
    });
}

/// nginx in the foreground with a configuration of its own in a temporary directory.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(upstream: u16, port: u16) -> Option<Self> {
        let binary = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|b| Command::new(b).arg("-v").output().is_ok())?;
        let dir =
            std::env::temp_dir().join(format!("sightline-bench-nginx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&dir, upstream, port)).unwrap();
        let child = Command::new(binary)
            .args(["-p", &dir.to_string_lossy(), "-c", &conf.to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        wait_listening(port);
        Some(Self { child, dir })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master stops its workers too (SIGKILL would leave them running).
        // SAFETY: a plain kill(2) on the child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A plain reverse proxy: one worker, upstream keep-alive, the usual forwarding headers,
/// no access log (Sightline's recording is what is measured against none).
fn config(dir: &Path, upstream: u16, port: u16) -> String {
    let dir = dir.display();
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
         error_log {dir}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n\
           client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;\n\
           fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;\n\
           upstream app {{ server 127.0.0.1:{upstream}; keepalive 64; }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
               proxy_pass http://app;\n      proxy_http_version 1.1;\n\
               proxy_set_header Connection \"\";\n      proxy_set_header Host $host;\n\
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
               proxy_set_header X-Forwarded-Proto $scheme;\n\
               proxy_set_header X-Forwarded-Host $host;\n    }}\n  }}\n}}\n"
    )
}

pub fn run() {
    println!("## Reverse proxy (`proxy`)\n");
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("skipped: `wrk` is not installed (scripts/setup.sh installs it)\n");
        return;
    }
    let upstream = Server::start(&["serve-hello", "--layer", "none"], free_port());
    let up = upstream.port.to_string();
    let sightline = Server::start(&["serve-proxy", "--upstream", &up], free_port());
    let nginx_port = free_port();
    let Some(_nginx) = Nginx::start(upstream.port, nginx_port) else {
        println!("skipped: `nginx` is not installed (scripts/setup.sh installs it)\n");
        return;
    };
    println!(
        "A one-thread axum upstream reached directly, through nginx (one worker process, upstream keep-alive, no access log) and through `sightline proxy` (one worker thread, recording every request); wrk -t1 -c32 on loopback, {ROUNDS} rotating rounds of {SECONDS} s, medians. Target: Sightline within 10 % of nginx.\n"
    );
    println!(
        "| response | | upstream directly | nginx | Sightline proxy | Sightline / nginx | target | Sightline / direct |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (path, what) in [("/hello", "13 B"), ("/16k", "16 KiB")] {
        let urls = [upstream.port, nginx_port, sightline.port]
            .map(|port| format!("http://127.0.0.1:{port}{path}"));
        for url in &urls {
            let warm = wrk_url(url, 1);
            assert!(warm.rps > 0.0, "{url} answers");
        }
        let mut runs: Vec<Vec<Run>> = urls.iter().map(|_| Vec::new()).collect();
        for round in 0..ROUNDS {
            for i in 0..urls.len() {
                let v = (i + round) % urls.len();
                runs[v].push(wrk_url(&urls[v], SECONDS));
            }
        }
        let medians = |pick: fn(&Run) -> f64| -> Vec<f64> {
            runs.iter()
                .map(|r| median(&mut r.iter().map(pick).collect::<Vec<_>>()))
                .collect()
        };
        let rps = medians(|r| r.rps);
        let p99 = medians(|r| r.p99_ms);
        println!(
            "| {what} | throughput (req/s) | {:.0} | {:.0} | {:.0} | {:.3} | >= 0.90 | {:.3} |",
            rps[0],
            rps[1],
            rps[2],
            rps[2] / rps[1],
            rps[2] / rps[0]
        );
        println!(
            "| {what} | p99 latency (ms) | {:.3} | {:.3} | {:.3} | {:.3} | <= 1.10 | {:.3} |",
            p99[0],
            p99[1],
            p99[2],
            p99[2] / p99[1],
            p99[2] / p99[0]
        );
    }
    println!();
}
