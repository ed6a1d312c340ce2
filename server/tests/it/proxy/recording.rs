//! What is recorded: templates, failures, the pool, another language's server, and the
//! dashboard's reserved path.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_counted_under_guessed_templates_and_scans_stay_unmatched() {
    let (up, _) = upstream().await;
    let app = proxy(fast_config(), to(up)).await;
    for path in [
        "/users/1",
        "/users/2",
        "/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "/users/404",
        "/static/app.js",
        "/static/app.js",
    ] {
        app.get(path).await;
    }
    assert_eq!(
        app.http
            .post(app.url("/users/7"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A scan of made-up paths, each its own guess: 404s and 403s make no route.
    for n in 0..5 {
        let path = format!("/wp-{n}x/login.php");
        assert_eq!(app.get(&path).await.status(), 404);
    }
    for n in 0..3 {
        let path = format!("/private/admin-{n}x");
        assert_eq!(app.get(&path).await.status(), 403);
    }
    let s = app
        .snapshot_where("15 requests", |s| s["overview"]["total_requests"] == 15)
        .await;
    let mut top: Vec<(String, String, u64)> = s["endpoints"]["top_by_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["route"].as_str().unwrap().to_owned(),
                e["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    top.sort();
    let expected = [
        ("GET", "(unmatched)", 8),
        ("GET", "/static/app.js", 2),
        ("GET", "/users/{id}", 4),
        ("POST", "/users/{id}", 1),
    ]
    .map(|(m, r, n)| (m.to_owned(), r.to_owned(), n));
    assert_eq!(top, expected);
    assert_eq!(
        s["endpoints"]["status"]["by_code"],
        json!({ "200": 6, "403": 3, "404": 6 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_file_or_openapi_document_names_the_routes() {
    let (up, _) = upstream().await;
    let dir = TempDir::new("proxy-routes");
    let lines = dir.0.join("routes.txt");
    std::fs::write(
        &lines,
        "# the shop\nGET /orders/{id}/items/{item}\n/users/:id\n",
    )
    .unwrap();
    let openapi = dir.0.join("openapi.json");
    std::fs::write(
        &openapi,
        r#"{"openapi": "3.1.0", "paths": {"/orders/{order}/items/{item}": {"get": {}},
            "/users/{user}": {"get": {}, "post": {}}}}"#,
    )
    .unwrap();
    for (file, orders, users) in [
        (lines, "/orders/{id}/items/{item}", "/users/{id}"),
        (openapi, "/orders/{order}/items/{item}", "/users/{user}"),
    ] {
        let settings = ProxySettings {
            routes: Some(file),
            ..to(up)
        };
        let app = proxy(fast_config(), settings).await;
        for path in [
            "/orders/7/items/abc",
            "/users/alice",
            "/users/404",
            "/static/app.js",
        ] {
            app.get(path).await;
        }
        let s = app
            .snapshot_where("4 requests", |s| s["overview"]["total_requests"] == 4)
            .await;
        let mut top: Vec<(String, u64)> = s["endpoints"]["top_by_requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["route"].as_str().unwrap().to_owned(),
                    e["requests"].as_u64().unwrap(),
                )
            })
            .collect();
        top.sort();
        let mut expected = vec![
            ("(unmatched)".to_owned(), 1),
            (orders.to_owned(), 1),
            (users.to_owned(), 2),
        ];
        expected.sort();
        assert_eq!(top, expected);
    }
    let bad = dir.0.join("bad.txt");
    std::fs::write(&bad, "GET /ok\nGET no-slash\n").unwrap();
    let err = Proxy::new(&ProxySettings {
        routes: Some(bad),
        ..to(up)
    })
    .unwrap_err();
    assert!(err.to_string().contains("bad.txt: line 2:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_down_or_slow_is_a_recorded_502_or_504() {
    let (up, _) = upstream().await;
    let dir = TempDir::new("proxy-failures");
    let config = Config {
        db_path: Some(dir.db()),
        ..fast_config()
    };
    let down = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let app = proxy(config, to(down)).await;
    let response = app.get("/users/1").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    // What, not where: the client learns nothing of the network behind the proxy.
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "error": "upstream unreachable" }));

    let slow = ProxySettings {
        timeout: Duration::from_millis(300),
        ..to(up)
    };
    let slow_app = proxy(fast_config(), slow).await;
    let response = slow_app.get("/sleep/3000").await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "error": "upstream timed out" }));
    assert_eq!(slow_app.get("/sleep/1").await.status(), 200);
    let s = slow_app
        .snapshot_where("2 requests", |s| s["overview"]["total_requests"] == 2)
        .await;
    assert_eq!(
        s["endpoints"]["status"]["by_code"],
        json!({ "200": 1, "504": 1 })
    );

    // Recorded with the reason, as the error log shows it.
    let sightline = app.sightline.clone();
    tokio::task::spawn_blocking(move || sightline.shutdown())
        .await
        .unwrap();
    let errors: Value = app
        .get("/sightline/api/errors?range=5m")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(errors["total"], 1, "{errors}");
    let error = &errors["items"][0];
    assert_eq!(
        (error["status"].clone(), error["route"].clone()),
        // A path that never answered is no route yet.
        (json!(502), json!("(unmatched)"))
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("upstream: cannot connect to http://{down}: ")),
        "{message}"
    );
    assert!(message.contains("Connection refused"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_pool_is_bounded() {
    let (up, seen) = upstream().await;
    let app = proxy(
        fast_config(),
        ProxySettings {
            max_connections: 2,
            ..to(up)
        },
    )
    .await;
    // Each answer's body takes 150 ms after its headers: a place is held until the body
    // ends, so the upstream never has a third request in flight, headers to last byte.
    let requests = (0..8).map(|_| async {
        let response = app.get("/slow-body/150").await;
        (response.status().as_u16(), response.text().await.unwrap())
    });
    let answers = futures_util::future::join_all(requests).await;
    assert!(
        answers
            .iter()
            .all(|(status, body)| *status == 200 && body == "first last")
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 8);
    assert_eq!(seen.most_in_flight.load(Ordering::SeqCst), 2);
    // Both places used, and connections kept alive and used again (a connection returns
    // to the pool a moment after its body ends: a request in that moment opens another).
    let connections = seen.connections.load(Ordering::SeqCst);
    assert!((2..8).contains(&connections), "{connections}");

    // With every place taken past the timeout, a request is a 504 and the upstream never
    // sees it.
    let settings = ProxySettings {
        max_connections: 1,
        timeout: Duration::from_millis(300),
        ..to(up)
    };
    let app = proxy(fast_config(), settings).await;
    let (held, refused) = tokio::join!(app.get("/slow-body/1000"), async {
        // Once the first request holds the only place.
        let mut waits = 0..2_000;
        while seen.in_flight.load(Ordering::SeqCst) == 0 {
            assert!(
                waits.next().is_some(),
                "the first request never reached the upstream"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        app.get("/users/1").await
    });
    assert_eq!(held.status(), 200);
    assert_eq!(refused.status(), StatusCode::GATEWAY_TIMEOUT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body, json!({ "error": "upstream busy" }));
    assert_eq!(held.text().await.unwrap(), "first last");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_http_server_behind_the_proxy() {
    let dir = TempDir::new("proxy-python");
    let file = pattern(0, 3_000_000);
    std::fs::write(dir.0.join("data.bin"), &file).unwrap();
    let port = free_port();
    let mut python = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&dir.0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs (scripts/setup.sh installs it)");
    let up: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = proxy(fast_config(), to(up)).await;
    let mut listing = None;
    let mut before = 0;
    // Python may take a while to start on a loaded machine: up to 20 s.
    for _ in 0..400 {
        let response = app.get("/").await;
        before += 1;
        if response.status() == 200 {
            listing = Some(response.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listing.expect("python answers").contains("data.bin"));
    let response = app.get("/data.bin").await;
    assert_eq!(response.headers()["content-length"], "3000000");
    assert_eq!(response.bytes().await.unwrap()[..], file[..]);
    assert_eq!(app.get("/missing.txt").await.status(), 404);
    let s = app
        .snapshot_where("both counted", |s| {
            s["overview"]["total_requests"] == before + 2
        })
        .await;
    let routes: Vec<&str> = s["endpoints"]["top_by_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["route"].as_str().unwrap())
        .collect();
    assert!(
        routes.contains(&"/data.bin") && routes.contains(&"(unmatched)"),
        "{routes:?}"
    );
    let _ = python.kill();
    let _ = python.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_path_is_reserved_and_guarded() {
    let (up, seen) = upstream().await;
    let app = proxy(secured(), to(up)).await;
    let routes = app.sightline.routes();
    assert!(routes.len() > 20);
    for (method, pattern) in &routes {
        let path = pattern
            .replace("{*rest}", "anything/else")
            .replace("{*file}", "x.js");
        for method in [method.clone(), reqwest::Method::DELETE] {
            let response = app
                .http
                .request(method.clone(), app.url(&path))
                .send()
                .await
                .unwrap();
            if !crate::access::is_public(&path) {
                crate::access::assert_closed(response, &format!("{method} {path}")).await;
            }
        }
    }
    for path in ["/sightline", "/sightline/"] {
        let response = app.get(path).await;
        crate::access::assert_closed(response, path).await;
    }
    for target in [
        "/sightline/../etc/passwd",
        "/sightline//x",
        "/sightline/%2e%2e/x",
        "http://upstream.example/sightline/api/snapshot",
        "http://a/sightline",
    ] {
        let (head, _) = raw(
            app.addr,
            &format!("GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
        )
        .await;
        let path = target;
        assert!(
            head.starts_with("HTTP/1.1 303") || head.starts_with("HTTP/1.1 401"),
            "{path}: {head}"
        );
    }
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        0,
        "a dashboard path was forwarded"
    );
    // Everything else is the service's own, public as it is without the proxy.
    assert_eq!(app.get("/sightlinex").await.status(), 404);
    assert_eq!(app.get("/users/1").await.status(), 200);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_in_front_of_replicas_make_one_cluster() {
    let redis = crate::redis::Redis::start();
    let ((up_a, _), (up_b, _)) = (upstream().await, upstream().await);
    let a = proxy(crate::cluster::member(&redis, "a"), to(up_a)).await;
    let b = proxy(crate::cluster::member(&redis, "b"), to(up_b)).await;
    for n in 0..3 {
        assert_eq!(a.get(&format!("/users/{n}")).await.status(), 200);
    }
    for n in 0..2 {
        assert_eq!(b.get(&format!("/users/{n}")).await.status(), 200);
    }
    assert_eq!(b.get("/scan/1/x.php").await.status(), 404);
    for app in [&a, &b] {
        let s = app
            .snapshot_where("both proxies add up", |s| {
                s["overview"]["total_requests"] == 6
                    && s["cluster"]["instances"].as_array().map(Vec::len) == Some(2)
            })
            .await;
        let top = &s["endpoints"]["top_by_requests"];
        assert_eq!(
            (&top[0]["route"], &top[0]["requests"]),
            (&json!("/users/{id}"), &json!(5))
        );
        assert_eq!(
            (&top[1]["route"], &top[1]["requests"]),
            (&json!("(unmatched)"), &json!(1))
        );
    }
}
