//! Several instances, one Redis (a real `redis-server`): the cluster view adds up exactly,
//! narrows to one instance, marks a killed instance stale, and survives Redis going away.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use sightline::Config;

use super::common::{SseClient, TestApp, fast_config, spawn, start_binary};
use super::redis::Redis;

pub fn member(redis: &Redis, id: &str) -> Config {
    let mut config = fast_config();
    config.instance_id = id.to_owned();
    config.cluster = Some(sightline::cluster::ClusterSettings {
        redis_url: redis.url(),
        prefix: "test".into(),
    });
    config
}

/// `n` requests to `path`, ten at a time.
async fn send(app: &TestApp, path: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        join_all(chunk.iter().map(|_| app.get(path))).await;
    }
}

fn instances(snapshot: &Value) -> Vec<Value> {
    snapshot["cluster"]["instances"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn row<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    rows.iter().find(|r| r["id"] == id).unwrap()
}

/// The `q` quantile of `values` as HDR reports it: the smallest value with at least
/// `q` of all values at or below it.
fn brute_force(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).max(1);
    values[rank - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_add_up_exactly() {
    let redis = Redis::start();
    let a = spawn(member(&redis, "a")).await;
    let b = spawn(member(&redis, "b")).await;
    let c = spawn(member(&redis, "c")).await;
    // Slow requests on one instance, fast ones on the others: the cluster's median is a
    // fast one, where the largest of the instances' medians would be a slow one.
    tokio::join!(
        send(&a, "/sleep/300", 30),
        send(&b, "/sleep/20", 100),
        send(&c, "/sleep/50", 100),
        send(&b, "/fail", 7),
        send(&c, "/missing/1", 5),
    );
    let raw: Vec<f64> = [(300.0, 30), (20.0, 100), (50.0, 100)]
        .iter()
        .flat_map(|&(ms, n)| std::iter::repeat_n(ms, n))
        .collect();
    let total = 30 + 100 + 100 + 7 + 5;
    // Every instance shows the same cluster.
    for app in [&a, &b, &c] {
        let all = app
            .snapshot_where("the three instances add up", |s| {
                s["overview"]["total_requests"] == total
                    && instances(s).len() == 3
                    && s["overview"]["rpm"] == f64::from(total)
            })
            .await;
        let o = &all["overview"];
        assert_eq!(o["server_errors"], 7);
        assert_eq!(o["client_errors"], 5);
        assert_eq!(all["endpoints"]["status"]["by_code"]["500"], 7);
        assert_eq!(all["endpoints"]["status"]["by_code"]["404"], 5);
        assert_eq!(o["latency"]["count"], total);
        let pct = |name: &str| o["latency"][name].as_f64().unwrap();
        // The layer's time is the handler's sleep plus the request's own handling (and,
        // on a loaded machine, the wait for a worker): never below the sleep by more
        // than the histogram's 1 %, and above it by that and at most 40 ms. The fast
        // failures sit below every sleep.
        let mut all_raw = raw.clone();
        all_raw.extend(std::iter::repeat_n(0.0, 12));
        for (name, q) in [("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99)] {
            let expected = brute_force(&mut all_raw, q);
            let got = pct(name);
            assert!(
                got >= expected * 0.99 && got <= expected * 1.01 + 40.0,
                "{name}: {got} against {expected}"
            );
        }
        // The largest instance's median is 300 ms, the mean of the three 123 ms.
        assert!(pct("p50_ms") < 100.0, "never the largest instance's median");
        // The busiest endpoint is summed over the instances that served it.
        let busiest = &all["endpoints"]["top_by_requests"][0];
        assert_eq!(busiest["route"], "/sleep/{ms}");
        assert_eq!(busiest["requests"], 230);
        let rows = instances(&all);
        // Live (or, on a loaded machine, briefly stale: 3 periods are 300 ms here).
        assert!(rows.iter().all(|r| r["state"] != "gone"), "{rows:?}");
        assert_eq!(rows.iter().filter(|r| r["local"] == true).count(), 1);
    }

    // The live charts' newest windows add up across instances too, once finished.
    let charted = |s: &Value, field: &str| -> u64 {
        s["recent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w[field].as_u64().unwrap())
            .sum()
    };
    let windows = a
        .snapshot_where("the finished windows hold every request", |s| {
            charted(s, "requests") == total as u64
        })
        .await;
    assert_eq!(charted(&windows, "server_errors"), 7);
    assert_eq!(charted(&windows, "client_errors"), 5);

    // Narrowed to one instance: its own figures only, from any instance.
    let only_b: Value = a
        .get("/sightline/api/snapshot?instance=b")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only_b["cluster"]["scope"], "b");
    assert_eq!(only_b["overview"]["total_requests"], 107);
    assert_eq!(only_b["overview"]["server_errors"], 7);
    assert_eq!(charted(&only_b, "requests"), 107);
    let p50 = only_b["overview"]["latency"]["p50_ms"].as_f64().unwrap();
    assert!(
        (19.8..45.0).contains(&p50),
        "B's own median, of its 20 ms requests: {p50}"
    );
    let unknown = a.get("/sightline/api/snapshot?instance=nobody").await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["param"], "instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_degrades_and_recovers_by_itself() {
    let mut redis = Redis::start();
    let a = spawn(member(&redis, "a")).await;
    let b = spawn(member(&redis, "b")).await;
    send(&b, "/ok", 4).await;
    a.snapshot_where("b is seen", |s| s["overview"]["total_requests"] == 4)
        .await;
    let health = |app: &TestApp| {
        let url = app.url("/sightline/api/health");
        let http = app.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(health(&a).await.0, 200);
    // Clients of both, there all along (read all along, so neither falls behind on a
    // machine with small socket buffers): they see each event once, or are told.
    let watch =
        |mut client: SseClient| tokio::spawn(async move { customs(&mut client, "after").await });
    let watch_a = watch(SseClient::connect(a.addr, "/sightline/api/sse", "").await);
    let watch_b = watch(SseClient::connect(b.addr, "/sightline/api/sse", "").await);
    event(&b, "before").await;

    redis.stop();
    // The local view carries on: requests on A are counted while Redis is away.
    let mut sent_to_a = 0;
    let mut degraded = false;
    for _ in 0..100 {
        send(&a, "/ok", 1).await;
        sent_to_a += 1;
        let (status, body) = health(&a).await;
        if status == 503 {
            assert_eq!(body["cluster"], "degraded");
            // Only "ok" or "degraded", never why, to anyone.
            assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
            degraded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(degraded, "the health check never said degraded");
    a.snapshot_where("the snapshot says degraded", |s| {
        s["cluster"]["connected"] == false && s["cluster"]["error"].is_string()
    })
    .await;
    send(&a, "/ok", 5).await;
    sent_to_a += 5;
    // Events on A while Redis is away reach A's clients.
    event(&a, "during").await;
    a.snapshot_where("local requests still count", |s| {
        s["overview"]["total_requests"] == 4 + sent_to_a
    })
    .await;
    tokio::time::sleep(Duration::from_secs(30)).await;

    redis.resume();
    let back = std::time::Instant::now();
    send(&b, "/ok", 3).await;
    // Linked again, and B's new requests arrive.
    a.snapshot_where("the cluster view recovers", |s| {
        s["cluster"]["connected"] == true
            && row(&instances(s), "b")["state"] == "live"
            && s["overview"]["total_requests"] == 7 + sent_to_a
    })
    .await;
    eprintln!("cluster view back {:?} after Redis", back.elapsed());
    assert_eq!(health(&a).await.0, 200);
    event(&b, "after").await;
    // This Redis came back empty (no persistence): its record of events is a new epoch,
    // so every client is told, once, before the first event of it. Nothing twice.
    let seen = |watch: tokio::task::JoinHandle<Vec<String>>| async move {
        (tokio::time::timeout(Duration::from_secs(30), watch).await)
            .expect("`after` reached the client")
            .unwrap()
    };
    assert_eq!(seen(watch_a).await, ["before", "during", "reset", "after"]);
    assert_eq!(seen(watch_b).await, ["before", "reset", "after"]);
}

/// Posts a custom event named `name`.
async fn event(app: &TestApp, name: &str) {
    let response = app
        .http
        .post(app.url("/sightline/api/events"))
        .json(&serde_json::json!({ "event": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

/// The names of the custom events (and resets) a client gets, up to and with `last`.
async fn customs(client: &mut SseClient, last: &str) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        let (_, name, _) = client.next_named().await;
        if name == "snapshot" {
            continue;
        }
        names.push(name.clone());
        if name == last {
            return names;
        }
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_outright_goes_stale_then_leaves_the_live_rates() {
    let redis = Redis::start();
    let a = spawn(member(&redis, "a")).await;
    // A real process of its own, so it can die without a word.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"));
    command
        .args([
            "--addr",
            "127.0.0.1:0",
            "--auth",
            "off",
            "--no-history",
            "--demo",
        ])
        .args(["--snapshot-interval-ms", "100", "--log-events", "off"])
        .args(["--redis-url", &redis.url(), "--instance-id", "doomed"])
        .args(["--cluster", "test"]);
    let (mut child, addr) = start_binary(command);
    for _ in 0..6 {
        let r = reqwest::get(format!("http://{addr}/api/users"))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    send(&a, "/ok", 4).await;
    a.snapshot_where("the other process is live and counted", |s| {
        s["overview"]["rpm"] == 10.0
            && instances(s)
                .iter()
                .any(|r| r["id"] == "doomed" && r["state"] == "live")
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stale = a
        .snapshot_where("the killed process is stale", |s| {
            row(&instances(s), "doomed")["state"] == "stale"
        })
        .await;
    // Stale: marked, still counted.
    assert_eq!(stale["overview"]["rpm"], 10.0);
    assert_eq!(stale["overview"]["total_requests"], 10);
    // A minute after its last message its last minute has passed: out of the live
    // rates, still in the totals and the table.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let gone = a
        .snapshot_where("the killed process is gone", |s| {
            row(&instances(s), "doomed")["state"] == "gone"
        })
        .await;
    assert_eq!(gone["overview"]["total_requests"], 10);
    assert_eq!(gone["cluster"]["instances"].as_array().unwrap().len(), 2);
    // A's own four requests are still within its minute only if the test was fast; the
    // killed one's six never are.
    assert!(gone["overview"]["rpm"].as_f64().unwrap() <= 4.0, "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redis_at_start_is_no_reason_not_to_start() {
    // A port with nothing on it yet.
    let mut redis = Redis::start();
    redis.stop();
    let a = spawn(member(&redis, "a")).await;
    send(&a, "/ok", 3).await;
    let alone = a
        .snapshot_where("its own view", |s| s["overview"]["total_requests"] == 3)
        .await;
    assert_eq!(alone["cluster"]["connected"], false);
    let health = a.get("/sightline/api/health").await;
    assert_eq!(health.status(), 503);
    // Redis arrives: linked without a restart.
    redis.resume();
    a.snapshot_where("linked once Redis is there", |s| {
        s["cluster"]["connected"] == true
    })
    .await;
    assert_eq!(a.get("/sightline/api/health").await.status(), 200);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_redis_holds_up_neither_requests_nor_snapshots() {
    let redis = Redis::start();
    let a = spawn(member(&redis, "a")).await;
    a.snapshot_where("linked", |s| s["cluster"]["connected"] == true)
        .await;
    // Frozen, not gone: connections stay open and nothing answers.
    redis.signal(libc::SIGSTOP);
    let before = a.snapshot().await["timestamp_ms"].as_u64().unwrap();
    for round in 1..=10 {
        send(&a, "/ok", 1).await;
        a.snapshot_where("requests counted and snapshots flowing", |s| {
            s["overview"]["total_requests"] == round && s["timestamp_ms"].as_u64() > Some(before)
        })
        .await;
        // Events sent meanwhile still reach this instance's clients (or the cluster).
        event(&a, "while-stuck").await;
    }
    a.snapshot_where("the link noticed", |s| s["cluster"]["connected"] == false)
        .await;
    redis.signal(libc::SIGCONT);
    a.snapshot_where("linked again", |s| s["cluster"]["connected"] == true)
        .await;
}
