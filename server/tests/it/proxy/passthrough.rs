//! What passes through: headers, bodies streamed both ways, WebSockets, HTTP/2.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_pass_through_but_hop_by_hop_ones_and_forwarded_ones_are_set() {
    let (up, _) = upstream().await;
    let app = proxy(fast_config(), to(up)).await;
    let (head, body) = raw(
        app.addr,
        "GET /headers?q=1&r=%20 HTTP/1.1\r\nHost: shop.example:8443\r\nX-Multi: one\r\n\
         X-Multi: two\r\nX-Odd: caf\u{e9} \"quoted\"\r\nConnection: close, X-Secret\r\n\
         X-Secret: drop me\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n\
         Proxy-Authorization: Basic eDp5\r\nX-Forwarded-For: 203.0.113.9\r\n\
         X-Forwarded-Host: spoofed\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mirror: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(mirror["uri"], "/headers?q=1&r=%20");
    assert_eq!(upstream_saw(&mirror, "x-multi"), ["one", "two"]);
    assert_eq!(upstream_saw(&mirror, "x-odd"), ["caf\u{e9} \"quoted\""]);
    for gone in [
        "connection",
        "x-secret",
        "keep-alive",
        "te",
        "proxy-authorization",
    ] {
        assert!(
            upstream_saw(&mirror, gone).is_empty(),
            "{gone} reached the upstream"
        );
    }
    assert_eq!(upstream_saw(&mirror, "host"), ["shop.example:8443"]);
    assert_eq!(
        upstream_saw(&mirror, "x-forwarded-for"),
        ["203.0.113.9, 127.0.0.1"]
    );
    assert_eq!(upstream_saw(&mirror, "x-forwarded-proto"), ["http"]);
    assert_eq!(
        upstream_saw(&mirror, "x-forwarded-host"),
        ["shop.example:8443"]
    );

    // And back: every header but the hop-by-hop ones, repeated ones in order.
    let (head, body) = raw(
        app.addr,
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await;
    assert_eq!(body, b"hello");
    assert_eq!(header_values(&head, "x-upstream"), ["yes"]);
    assert_eq!(
        header_values(&head, "set-cookie"),
        ["a=1; Path=/", "b=2; Path=/"]
    );
    assert!(header_values(&head, "x-internal").is_empty(), "{head}");

    // HEAD: the length of the body a GET would get, and no body.
    let (head, body) = raw(
        app.addr,
        "HEAD /static/app.js HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header_values(&head, "content-length"), ["2"]);
    assert!(body.is_empty());

    // An upstream with a path: every forwarded path goes under it.
    let under = ProxySettings {
        upstream: format!("http://{up}/users/"),
        ..ProxySettings::default()
    };
    let app = proxy(fast_config(), under).await;
    let response = app.get("/7?x=1").await;
    assert_eq!(response.text().await.unwrap(), "user");

    // Rewritten, the upstream gets its own name; the client's stays in X-Forwarded-Host.
    let app = proxy(
        fast_config(),
        ProxySettings {
            rewrite_host: true,
            ..to(up)
        },
    )
    .await;
    let mirror: Value = app
        .http
        .get(app.url("/headers"))
        .header("host", "shop.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(upstream_saw(&mirror, "host"), [up.to_string()]);
    assert_eq!(upstream_saw(&mirror, "x-forwarded-host"), ["shop.example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_stream_both_ways_without_being_held() {
    let (up, _) = upstream().await;
    let app = proxy(fast_config(), to(up)).await;
    // Lock step: each chunk goes up only once the previous one came back through the
    // proxy. A proxy that held either body whole would never answer.
    let (chunks, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let upload = Body::from_stream(tokio_stream(rx));
    let send = app
        .http
        .post(app.url("/echo"))
        .body(reqwest::Body::wrap_stream(upload.into_data_stream()));
    chunks.send(Ok(pattern(0, 1000))).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), send.send())
        .await
        .expect("the response starts before the upload ends")
        .unwrap();
    let mut echoed = response.bytes_stream();
    let mut received = Vec::new();
    for round in 1..=20 {
        while received.len() < round * 1000 {
            let chunk = tokio::time::timeout(Duration::from_secs(10), echoed.next())
                .await
                .expect("each chunk comes back before the next is sent")
                .unwrap()
                .unwrap();
            received.extend_from_slice(&chunk);
        }
        if round < 20 {
            chunks.send(Ok(pattern(round * 1000, 1000))).await.unwrap();
        }
    }
    drop(chunks);
    while let Some(chunk) = echoed.next().await {
        received.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(received, pattern(0, 20_000));

    // Large ones, byte for byte.
    let n = 24 * 1024 * 1024 + 7;
    let download = app.get(&format!("/bytes/{n}")).await.bytes().await.unwrap();
    assert!(download.len() == n && download[..] == pattern(0, n)[..]);
    let upload = futures_util::stream::iter(
        (0..n)
            .step_by(100_000)
            .map(move |at| Ok::<_, std::io::Error>(pattern(at, 100_000.min(n - at)))),
    );
    let sink: Value = app
        .http
        .put(app.url("/sink"))
        .body(reqwest::Body::wrap_stream(upload))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sink, json!({ "bytes": n, "intact": true }));
}

/// The response timeout counts from the request body's latest piece: an upload that
/// takes more than twice as long goes through; an upstream that then keeps quiet is a
/// 504.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upload_is_not_a_timeout() {
    let (up, _) = upstream().await;
    let settings = ProxySettings {
        timeout: Duration::from_millis(1000),
        ..to(up)
    };
    let app = proxy(fast_config(), settings).await;
    let slowly = |chunks: usize| {
        futures_util::stream::iter(0..chunks).then(|i| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, std::io::Error>(pattern(i * 1000, 1000))
        })
    };
    let started = std::time::Instant::now();
    let response = (app.http.put(app.url("/sink")))
        .body(reqwest::Body::wrap_stream(slowly(24)))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(2400));
    assert_eq!(response.status(), StatusCode::OK);
    let sink: Value = response.json().await.unwrap();
    assert_eq!(sink, json!({ "bytes": 24_000, "intact": true }));

    // Uploaded quickly, then no answer for longer than the timeout.
    let response = (app.http.post(app.url("/sleep-after-body/3000")))
        .body(pattern(0, 1000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
}

fn tokio_stream<T>(mut rx: tokio::sync::mpsc::Receiver<T>) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_and_http2_pass_through() {
    use tokio_tungstenite::tungstenite::Message;
    let (up, _) = upstream().await;
    // One place in the pool: an open WebSocket does not hold it.
    let one = ProxySettings {
        max_connections: 1,
        timeout: Duration::from_secs(2),
        ..to(up)
    };
    let app = proxy(fast_config(), one).await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut socket, response) =
        tokio_tungstenite::client_async(format!("ws://{}/ws", app.addr), stream)
            .await
            .unwrap();
    assert_eq!(response.status(), 101);
    for message in [Message::text("hello"), Message::binary(pattern(0, 70_000))] {
        socket.send(message.clone()).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap(), message);
    }
    assert_eq!(app.get("/users/1").await.status(), 200);
    socket.close(None).await.unwrap();
    let s = app
        .snapshot_where("the upgrade is counted", |s| {
            s["overview"]["total_requests"] == 2
        })
        .await;
    assert_eq!(
        s["endpoints"]["status"]["by_code"],
        json!({ "101": 1, "200": 1 })
    );

    // HTTP/2 from the client, and to the upstream.
    let app = proxy(
        fast_config(),
        ProxySettings {
            http2: true,
            ..to(up)
        },
    )
    .await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = h2
        .get(app.url("/headers"))
        .header("te", "trailers")
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let mirror: Value = response.json().await.unwrap();
    assert_eq!(mirror["version"], "HTTP/2.0");
    // What gRPC asks for reaches an HTTP/2 upstream.
    assert_eq!(upstream_saw(&mirror, "te"), ["trailers"]);
    assert_eq!(
        upstream_saw(&mirror, "x-forwarded-host"),
        [app.addr.to_string()]
    );
    let echoed = h2
        .post(app.url("/echo"))
        .body(pattern(0, 300_000))
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.bytes().await.unwrap()[..], pattern(0, 300_000)[..]);
}

/// Peak resident memory of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    crate::common::memory_of(&format!("/proc/{pid}/status"), "VmHWM:")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_moves_large_bodies_in_bounded_memory() {
    let (up, _) = upstream().await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"));
    command.args(["proxy", "--upstream", &format!("http://{up}")]);
    command.args(["--listen", "127.0.0.1:0", "--no-history", "--auth", "off"]);
    // One serving thread (a current-thread runtime), whatever the machine's core count.
    command.args(["--workers", "1", "--sample-interval-ms", "100"]);
    let (mut child, addr) = crate::common::start_binary(command);
    let http = client();
    let url = |path: &str| format!("http://{addr}{path}");
    assert_eq!(
        http.get(url("/users/1")).send().await.unwrap().status(),
        200
    );
    let mut tries = 0..400;
    let workers = loop {
        assert!(tries.next().is_some(), "the request was never counted");
        let s: Value = (http.get(url("/sightline/api/snapshot")).send().await)
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["overview"]["total_requests"] == 1 {
            break s["runtime"]["workers"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        workers, 1,
        "the dashboard reports the serving runtime's threads"
    );
    let before = peak_rss(child.id());
    // Four times what the process held at its peak so far, each way.
    let n = usize::try_from(before * 4).unwrap();
    let mut download = http.get(url(&format!("/bytes/{n}"))).send().await.unwrap();
    let (mut len, mut intact) = (0, true);
    while let Some(chunk) = download.chunk().await.unwrap() {
        intact &= chunk[..] == pattern(len, chunk.len())[..];
        len += chunk.len();
    }
    assert!(len == n && intact);
    let upload = futures_util::stream::iter(
        (0..n)
            .step_by(1 << 20)
            .map(move |at| Ok::<_, std::io::Error>(pattern(at, (1 << 20).min(n - at)))),
    );
    let sink: Value = http
        .post(url("/sink"))
        .body(reqwest::Body::wrap_stream(upload))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sink, json!({ "bytes": n, "intact": true }));
    let after = peak_rss(child.id());
    let _ = child.kill();
    let _ = child.wait();
    // Held whole, either body would have added n bytes.
    assert!(
        after < before + before / 2,
        "peak memory went from {before} to {after} bytes moving {n} bytes each way"
    );
}
