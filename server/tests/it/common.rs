//! A real Sightline-monitored app on port 0, and small clients for its endpoints.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::{Router, http::StatusCode, routing::get};
use serde_json::Value;
use sightline::{Config, Sightline};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct TestApp {
    pub addr: SocketAddr,
    pub sightline: Sightline,
    pub http: reqwest::Client,
}

/// Fast ticks so tests do not wait for the default two seconds; no history.
pub fn fast_config() -> Config {
    Config {
        sample_interval: Duration::from_millis(100),
        snapshot_interval: Duration::from_millis(100),
        sse_heartbeat: Duration::from_millis(300),
        sse_retry: Duration::from_millis(1234),
        db_path: None,
        access: sightline::Access::Off,
        ..Config::default()
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("sightline-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn db(&self) -> std::path::PathBuf {
        self.0.join("history.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn spawn(config: Config) -> TestApp {
    let sightline = Sightline::start(config).expect("sightline starts");
    let app = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/missing/{id}",
            get(|| async { (StatusCode::NOT_FOUND, "no such thing") }),
        )
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(80)).await;
                "slow"
            }),
        )
        .route(
            "/upstream",
            get(|| async {
                (
                    StatusCode::BAD_GATEWAY,
                    axum::Extension(sightline::ErrorMessage::new("inventory service refused")),
                    "bad gateway",
                )
            }),
        )
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("boom");
                }
                "unreachable"
            }),
        )
        .route(
            "/sleep/{ms}",
            get(
                |axum::extract::Path(ms): axum::extract::Path<u64>| async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    "slept"
                },
            ),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "late"
            }),
        )
        .merge(sightline.router())
        .layer(sightline.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app
        .with_state(())
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp {
        addr,
        sightline,
        http: reqwest::Client::new(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn snapshot(&self) -> Value {
        self.get("/sightline/api/snapshot")
            .await
            .json()
            .await
            .unwrap()
    }

    /// Polls the published snapshot until `done` holds (or panics after 20 s).
    pub async fn snapshot_where(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..400 {
            let response = self.get("/sightline/api/snapshot").await;
            if response.status() == 200 {
                let snapshot: Value = response.json().await.unwrap();
                if done(&snapshot) {
                    return snapshot;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no snapshot where {what}: last {}", self.snapshot().await);
    }
}

/// A raw HTTP/1.1 SSE client: sees exactly the bytes the server sends.
pub struct SseClient {
    pub stream: TcpStream,
    pub head: String,
    buffer: String,
}

impl SseClient {
    pub async fn connect(addr: SocketAddr, path: &str, extra_headers: &str) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        Self::start(stream, addr, path, extra_headers).await
    }

    async fn start(
        mut stream: TcpStream,
        addr: SocketAddr,
        path: &str,
        extra_headers: &str,
    ) -> Self {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{extra_headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut client = Self {
            stream,
            head: String::new(),
            buffer: String::new(),
        };
        while !client.buffer.contains("\r\n\r\n") {
            client.read_more().await;
        }
        let end = client.buffer.find("\r\n\r\n").unwrap();
        client.head = client.buffer[..end].to_ascii_lowercase();
        client.buffer.drain(..end + 4);
        client
    }

    /// The same, over a socket whose receive buffer is `bytes` (the kernel's minimum
    /// permitting), so that a client that stops reading fills it at once.
    pub async fn connect_with_receive_buffer(addr: SocketAddr, path: &str, bytes: u32) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        Self::start(stream, addr, path, "").await
    }

    async fn read_more(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(20), self.stream.read(&mut chunk))
            .await
            .expect("the server sent nothing for 20 s")
            .unwrap();
        self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n]));
        n
    }

    /// The next SSE block (up to a blank line), de-chunked, or `None` at the end.
    pub async fn next_block(&mut self) -> Option<String> {
        loop {
            if let Some(block) = take_block(&mut self.buffer) {
                return Some(block);
            }
            if self.read_more().await == 0 {
                return None;
            }
        }
    }

    /// The next block's `id:`, `event:` and `data:` fields.
    async fn next_fields(&mut self) -> (Option<u64>, Option<String>, String) {
        let block = self.next_block().await.expect("stream ended");
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::to_owned)
        };
        (
            field("id: ").map(|id| id.parse().unwrap()),
            field("event: "),
            field("data: ").unwrap_or_default(),
        )
    }

    /// The next event with a name (with or without an id), as (id, name, data).
    pub async fn next_named(&mut self) -> (Option<u64>, String, String) {
        loop {
            if let (id, Some(name), data) = self.next_fields().await {
                return (id, name, data);
            }
        }
    }

    /// The next event with an `id:`, as (id, event name, data).
    pub async fn next_event(&mut self) -> (u64, String, String) {
        loop {
            if let (Some(id), name, data) = self.next_fields().await {
                return (id, name.unwrap_or_default(), data);
            }
        }
    }
}

/// Removes HTTP chunk-size lines and takes one `\n\n`-terminated SSE block.
fn take_block(buffer: &mut String) -> Option<String> {
    let cleaned: String = buffer
        .split("\r\n")
        .filter(|part| {
            !(part.len() <= 8 && !part.is_empty() && part.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .collect();
    let end = cleaned.find("\n\n")?;
    let block = cleaned[..end].to_owned();
    *buffer = cleaned[end + 2..].to_owned();
    Some(block)
}

pub const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
pub const VIEWER_TOKEN: &str = "viewer-token-0123456789abcdef";

/// Access control on: admin `ann`, viewer `vic`, and a token for each role.
pub fn secured() -> Config {
    use sightline::{Access, ApiToken, Credentials, Password, Role, User};
    Config {
        access: Access::Protected(Credentials {
            users: vec![
                User {
                    name: "ann".into(),
                    password: Password::Plain("ann's long password".into()),
                    role: Role::Admin,
                },
                User {
                    name: "vic".into(),
                    password: Password::Hash(
                        sightline::auth::hash_password("vic's long password").unwrap(),
                    ),
                    role: Role::Viewer,
                },
            ],
            tokens: vec![
                ApiToken {
                    token: ADMIN_TOKEN.into(),
                    role: Role::Admin,
                },
                ApiToken {
                    token: VIEWER_TOKEN.into(),
                    role: Role::Viewer,
                },
            ],
        }),
        ..fast_config()
    }
}

/// A client that follows no redirects, so they can be checked.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn sign_in(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    client()
        .post(app.url("/sightline/api/login"))
        .json(&serde_json::json!({ "username": name, "password": password }))
        .send()
        .await
        .unwrap()
}

/// `name=value` of the session cookie a sign-in set.
pub fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// Resident memory, in bytes, from a `/proc/<pid>/status` file (Linux).
pub fn rss_of(status_file: &str) -> u64 {
    memory_of(status_file, "VmRSS:")
}

/// A `/proc/<pid>/status` memory field (`VmRSS:`, `VmHWM:` for the peak), in bytes.
pub fn memory_of(status_file: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(status_file).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Starts the `sightline` binary with `command`'s arguments (stdout piped) and returns it
/// with the address it prints; the rest of its output is read and dropped.
pub fn start_binary(mut command: std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, line) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(l);
        }
    });
    let addr = loop {
        let l = line
            .recv_timeout(Duration::from_secs(30))
            .expect("the server prints its address");
        if let Some(rest) = l.split("dashboard: http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    (child, addr)
}

/// A free loopback port (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
