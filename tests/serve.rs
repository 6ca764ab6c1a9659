//! End-to-end: `cairn serve` on a real port, `/health` and `/metrics`.

mod common;

use std::process::Child;
use std::time::Duration;

use common::{all_backends, append};

/// Starts `cairn serve` on a free port and returns the child and its base URL.
fn serve(url: &str, extra_env: &[(&str, &str)]) -> (Child, String) {
    common::serve(url, extra_env.iter().copied())
}

fn stop(mut child: Child) {
    #[cfg(unix)]
    {
        // SIGTERM: the server shuts down gracefully.
        let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
    #[cfg(not(unix))]
    {
        let _ = child.kill();
    }
}

#[tokio::test]
async fn health_and_metrics_report_the_store() {
    for db in all_backends("serve").await {
        append(&db.store, "ledger-a", 4).await;
        let (child, base) = serve(&db.url, &[]);
        let health: serde_json::Value = reqwest::get(format!("{base}/health")).await.unwrap().json().await.unwrap();
        assert_eq!(health["status"], "ok");
        assert_eq!(health["head_position"], 4);
        assert_eq!(health["backend"], db.store.backend());

        let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("# TYPE cairn_append_conflicts_total counter"), "{metrics}");
        assert!(metrics.lines().any(|l| l == "cairn_head_position 4"), "{metrics}");
        // The server's projectors report their checkpoints (the prices projector has read all 4).
        let wanted = "cairn_subscriber_position{subscriber=\"projector:prices\"} 4";
        let mut seen = false;
        for _ in 0..100 {
            let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
            if metrics.lines().any(|l| l == wanted) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(seen, "{wanted} on /metrics");
        stop(child);
        db.remove().await;
    }
}

#[tokio::test]
async fn serve_with_nats_relays_and_reports_the_relays_lag() {
    let Ok(nats) = std::env::var("CAIRN_TEST_NATS_URL") else {
        common::skipped("serve with the relay", "CAIRN_TEST_NATS_URL");
        return;
    };
    let db = common::sqlite().await;
    append(&db.store, "ledger-a", 3).await;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let stream = format!("CAIRN_E2E_{id}");
    let prefix = format!("cairne2e_{id}.events");
    let (child, base) = serve(
        &db.url,
        &[("CAIRN_NATS_URL", &nats), ("CAIRN_NATS_STREAM", &stream), ("CAIRN_NATS_SUBJECT_PREFIX", &prefix)],
    );
    let lag_line = format!("cairn_subscriber_lag{{subscriber=\"relay:{stream}\"}} 0");
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
        if metrics.lines().any(|l| l == lag_line) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(metrics.lines().any(|l| l == lag_line), "{metrics}");
    assert!(metrics.contains(&format!("cairn_subscriber_position{{subscriber=\"relay:{stream}\"}} 3")), "{metrics}");
    stop(child);
    let js = async_nats::jetstream::new(async_nats::connect(&nats).await.unwrap());
    assert_eq!(js.get_stream(&stream).await.unwrap().info().await.unwrap().state.messages, 3);
    js.delete_stream(&stream).await.unwrap();
    db.remove().await;
}

#[tokio::test]
async fn an_unreachable_nats_server_does_not_stop_the_http_server() {
    let db = common::sqlite().await;
    let (child, base) = serve(&db.url, &[("CAIRN_NATS_URL", "nats://127.0.0.1:1")]);
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    stop(child);
    db.remove().await;
}

#[tokio::test]
async fn metrics_behind_a_token_answer_only_with_it() {
    let db = common::sqlite().await;
    let (child, base) = serve(&db.url, &[("CAIRN_METRICS_TOKEN", "s3cret-scraper-token")]);
    let http = reqwest::Client::new();
    let without = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(without.status(), 401);
    let body: serde_json::Value = without.json().await.unwrap();
    assert_eq!(body["type"], "/problems/unauthorized");
    let wrong = http.get(format!("{base}/metrics")).bearer_auth("guess").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http.get(format!("{base}/metrics")).bearer_auth("s3cret-scraper-token").send().await.unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("cairn_head_position"));
    stop(child);
    db.remove().await;
}
