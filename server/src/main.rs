//! The standalone Sightline server: config -> state -> router -> serve -> graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context;
use axum::{
    Json, Router, ServiceExt,
    extract::{Request, connect_info::IntoMakeServiceWithConnectInfo},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
    serve::ListenerExt,
};
use clap::Parser;
use sightline::{Sightline, cli::Cli};
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

mod demo;

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.hash_password {
        return print_password_hash();
    }
    sightline::runtime::build(cli.workers)
        .context("while starting the runtime")?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = match cli.config() {
        Ok(config) => config,
        Err(reason) => refuse("sightline", &reason),
    };
    // Checked before anything starts: a refusal opens no database and prints no password.
    let proxy = match cli.proxy() {
        None => None,
        Some(_) if cli.demo || cli.demo_rps > 0 => refuse(
            "sightline proxy",
            &"--demo and --demo-rps serve the demo API, but here every path outside the dashboard goes to the upstream",
        ),
        Some(settings) => match sightline::proxy::Proxy::new(&settings) {
            Ok(proxy) => Some((proxy, settings.upstream)),
            Err(reason) => refuse("sightline proxy", &reason),
        },
    };
    let sightline = Sightline::start(config).context("while starting Sightline")?;
    // Started first, so the log layer can forward to the live stream.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let forward = cli
        .log_events_level()
        .map(|level| sightline.log_layer(level));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer())
        .with(forward)
        .init();
    // (A generated password was written to standard error by `start`.)
    let served = match proxy {
        Some((proxy, upstream)) => {
            println!("Forwarding to {upstream}");
            listen(&cli, &sightline, proxy.service(&sightline)).await
        }
        None => {
            let (app, _demo) = standalone(&cli, &sightline);
            // Finalised once: served as a plain Router, axum rebuilds the route table for
            // every connection (memory per connection grows with the number of routes).
            listen(&cli, &sightline, app.with_state(())).await
        }
    };
    // Only now: requests that finished while the server drained are recorded, and the
    // window in progress goes to history with them.
    let _ = tokio::task::spawn_blocking(move || sightline.shutdown()).await;
    served
}

/// Says why the flags cannot be served, and exits with status 2.
fn refuse(who: &str, reason: &dyn std::fmt::Display) -> ! {
    eprintln!("{who}: {reason}");
    std::process::exit(2);
}

/// Binds `--addr`, with TLS when configured, and serves `app` until a shutdown signal.
async fn listen<S>(cli: &Cli, sightline: &Sightline, app: S) -> anyhow::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let listener = tokio::net::TcpListener::bind(cli.addr)
        .await
        .with_context(|| {
            format!(
                "while binding {} (set --addr or LEPTOS_SITE_ADDR to use another address)",
                cli.addr
            )
        })?;
    let local = listener
        .local_addr()
        .context("while reading the bound address")?;
    let tls = match (&cli.tls_cert, &cli.tls_key) {
        (Some(cert), Some(key)) => {
            Some(sightline::tls::acceptor(cert, key).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    println!(
        "Sightline {} dashboard: {}://{local}{}",
        env!("CARGO_PKG_VERSION"),
        if tls.is_some() { "https" } else { "http" },
        sightline.config().path.as_str()
    );
    // Connection info: failed sign-ins are limited per client address.
    let app = ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app);
    match tls {
        None => serve(listener.tap_io(tune_connection), app).await,
        Some(acceptor) => {
            let listener = sightline::tls::TlsListener::new(listener, acceptor, tune_connection)
                .context("while starting TLS")?;
            // Tuned before the handshake; the tap only gives axum the peer address.
            serve(listener.tap_io(|_| {}), app).await
        }
    }
}

/// The dashboard at its path, `/` sent there, and the demo API when asked for: a bare
/// `sightline` serves nothing but the dashboard.
fn standalone(cli: &Cli, sightline: &Sightline) -> (Router, Option<AbortOnDrop>) {
    let home = sightline.config().path.as_str().to_owned();
    let mut app = Router::new().route("/", get(move || async move { Redirect::temporary(&home) }));
    if cli.demo || cli.demo_rps > 0 {
        app = app.merge(demo::routes());
    }
    let app = app
        .merge(sightline.router())
        .fallback(not_found)
        .layer(sightline.layer());
    let demo = (cli.demo_rps > 0)
        .then(|| AbortOnDrop(tokio::spawn(demo::generate(app.clone(), cli.demo_rps))));
    (app, demo)
}

/// Serves until Ctrl-C or SIGTERM, then gives requests in flight [`DRAIN`] to finish.
async fn serve<L, F, S>(
    listener: axum::serve::TapIo<L, F>,
    app: IntoMakeServiceWithConnectInfo<S, SocketAddr>,
) -> anyhow::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    F: FnMut(&mut L::Io) + Send + 'static,
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let (stopping, stopped) = tokio::sync::oneshot::channel();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stopping.send(());
    });
    // Open dashboards hold their event streams until they are closed: give requests in
    // flight a moment, not forever.
    let drain_deadline = async {
        match stopped.await {
            Ok(()) => tokio::time::sleep(DRAIN).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server.into_future() => served.context("while serving"),
        () = drain_deadline => {
            tracing::info!("stopping with connections still open");
            Ok(())
        }
    }
}

/// `--hash-password`: a password from standard input to an Argon2 hash.
fn print_password_hash() -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    println!("{}", sightline::auth::hash_password(password)?);
    Ok(())
}

/// How long a shutdown waits for open connections.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Unacknowledged data for this long means the peer is gone (network cut, laptop lid
/// closed): the kernel drops the connection, so live-connection counts stay exact.
const DEAD_PEER_AFTER: std::time::Duration = std::time::Duration::from_secs(45);

fn tune_connection(tcp: &mut tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
    let socket = socket2::SockRef::from(&*tcp);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = socket.set_tcp_user_timeout(Some(DEAD_PEER_AFTER));
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(DEAD_PEER_AFTER / 3)
        .with_interval(DEAD_PEER_AFTER / 9);
    let _ = socket.set_tcp_keepalive(&keepalive);
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": "not found" })),
    )
}

/// Resolves on Ctrl-C or SIGTERM, so open connections can finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
