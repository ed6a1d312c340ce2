//! The sign-in limit over real sockets: attempts are counted before the password is
//! checked, per client address and per account; a flood of parallel guesses neither gets
//! past the limit nor takes the server's memory, and history keeps answering meanwhile.

use crate::common::{ADMIN_TOKEN, TempDir, TestApp, client, rss_of, secured, spawn};
use reqwest::{StatusCode, header};
use serde_json::json;
use sightline::Config;
use sightline::auth::LIMIT_FAILURES;

async fn attempt(app: &TestApp, forwarded: &str, name: &str, password: &str) -> StatusCode {
    client()
        .post(app.url("/sightline/api/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "username": name, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

/// The `sightline` binary with access control and history on, in a process of its own,
/// so that its memory is measured apart from the clients'.
struct Server {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    _dir: TempDir,
}

impl Server {
    async fn start() -> Self {
        let dir = TempDir::new("sign-in-flood");
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args(["--addr", &addr.to_string(), "--db-path"])
            .arg(dir.db())
            .env("SIGHTLINE_AUTH", "on")
            .env("SIGHTLINE_USERNAME", "ann")
            .env("SIGHTLINE_PASSWORD", "ann's long password")
            .env("SIGHTLINE_API_TOKENS", format!("admin:{ADMIN_TOKEN}"))
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            addr,
            _dir: dir,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not listen");
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn rss_bytes(&self) -> u64 {
        rss_of(&format!("/proc/{}/status", self.child.id()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_never_pass_the_limit_nor_take_the_memory() {
    let server = Server::start().await;
    let http = client();
    let sign_in = |password: String| {
        http.post(server.url("/sightline/api/login"))
            .json(&json!({ "username": "ann", "password": password }))
            .send()
    };
    // Warm up what every sign-in touches once (both password-check threads, the arenas).
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            sign_in("ann's long password".into()),
            sign_in("ann's long password".into())
        );
        assert_eq!(
            (a.unwrap().status(), b.unwrap().status()),
            (StatusCode::OK, StatusCode::OK)
        );
    }
    // And what 500 parallel connections cost by themselves: the same flood of requests
    // that never reach a sign-in. What the guesses add beyond that is theirs.
    let start = server.rss_bytes();
    let plain: Vec<_> = (0..500)
        .map(|_| {
            let request = http.get(server.url("/sightline/api/snapshot")).send();
            tokio::spawn(async move { request.await.unwrap().status() })
        })
        .collect();
    for request in plain {
        assert_eq!(request.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    // (A bare `sightline` serves the dashboard only: no demo API without `--demo`.)
    let demo = http.get(server.url("/api/users")).send().await.unwrap();
    assert_eq!(demo.status(), StatusCode::NOT_FOUND);
    let before = server.rss_bytes();
    eprintln!(
        "500 parallel unauthenticated requests: the server grew by {} KiB",
        before.saturating_sub(start) >> 10
    );
    let guesses: Vec<_> = (0..500)
        .map(|n| {
            let guess = sign_in(format!("guess {n}"));
            tokio::spawn(async move { guess.await.unwrap().status() })
        })
        .collect();
    // History answers while the guesses are being turned away.
    let overview = http
        .get(server.url("/sightline/api/overview?range=1h"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(overview.status(), StatusCode::OK);
    let mut wrong = 0;
    let mut limited = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("a guess answered {other}"),
        }
    }
    assert_eq!(
        wrong, LIMIT_FAILURES,
        "guesses that reached the password check"
    );
    assert_eq!(limited, 500 - LIMIT_FAILURES);
    let grown = server.rss_bytes().saturating_sub(before);
    eprintln!(
        "500 parallel wrong sign-ins: the server grew by {} KiB",
        grown >> 10
    );
    assert!(grown < 100 << 20, "the server grew by {} MiB", grown >> 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_forwarded_for_headers_do_not_reset_the_limit() {
    let app = spawn(secured()).await;
    for n in 0..LIMIT_FAILURES {
        let from = format!("203.0.113.{n}");
        assert_eq!(
            attempt(&app, &from, "ann", "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Unless the header is trusted, it is not the client: the peer has used its attempts.
    let limited = client()
        .post(app.url("/sightline/api/login"))
        .header("x-forwarded-for", "203.0.113.77")
        .json(&json!({ "username": "vic", "password": "vic's long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_per_address_and_per_account() {
    // Behind a trusted proxy, the header names the client.
    let app = spawn(Config {
        trusted_proxy_header: Some("x-forwarded-for".into()),
        ..secured()
    })
    .await;
    for _ in 0..LIMIT_FAILURES {
        assert_eq!(
            attempt(&app, "198.51.100.1", "ann", "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // That address is done, whatever account it tries.
    assert_eq!(
        attempt(&app, "198.51.100.1", "vic", "vic's long password").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // That account is done, from wherever: spreading guesses over addresses does not help.
    assert_eq!(
        attempt(&app, "198.51.100.2", "ann", "ann's long password").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Others are not.
    assert_eq!(
        attempt(&app, "198.51.100.2", "vic", "vic's long password").await,
        StatusCode::OK
    );
    // IPv6 clients count per /64: a new address in the same network is the same client.
    for n in 0..LIMIT_FAILURES {
        let from = format!("2001:db8:7:7::{n}");
        assert_eq!(
            attempt(&app, &from, "vic", "guess").await,
            StatusCode::UNAUTHORIZED,
            "{from}"
        );
    }
    assert_eq!(
        attempt(&app, "2001:db8:7:7:ffff::1", "nobody", "x").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt(&app, "2001:db8:7:8::1", "nobody", "x").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_gives_back_only_its_own_attempt() {
    let app = spawn(Config {
        trusted_proxy_header: Some("x-forwarded-for".into()),
        ..secured()
    })
    .await;
    let from = "192.0.2.9";
    for _ in 0..LIMIT_FAILURES - 1 {
        attempt(&app, from, "ann", "guess").await;
    }
    // Signing in as vic from the same address does not clear the failures on ann.
    for _ in 0..3 {
        assert_eq!(
            attempt(&app, from, "vic", "vic's long password").await,
            StatusCode::OK
        );
    }
    assert_eq!(
        attempt(&app, from, "ann", "guess").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt(&app, from, "ann", "ann's long password").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
