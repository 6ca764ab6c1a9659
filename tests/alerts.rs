//! Alerts reach people: a user's preferences set over the CLI and HTTP, the monitoring rules'
//! alerts delivered by e-mail (read back from a local SMTP server) and by a signed webhook
//! (its signature verified by the receiver), held by quiet hours, cut by a daily cap, skipped
//! below a channel's severity, not repeated within the repeat interval, every try an event
//! visible in `audit changes`; against real SQLite and PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use common::{all_backends, register, run_with_input, server_env};
use serde_json::Value;
use workers::notify::smtp_sink::{header, smtp_server, split, Behaviour, Session};

/// A webhook receiver on 127.0.0.1 that keeps each request's headers and body.
async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks/cairn",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push((headers, body.to_vec()));
                "ok"
            }
        }),
    );
    (common::replica(app).await, seen)
}

/// Checks a webhook request's signature with `secret` (as a receiver does) and returns the
/// reader of its headers.
fn verified<'h>(headers: &'h HeaderMap, body: &[u8], secret: &str) -> impl Fn(&str) -> String + 'h {
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
    workers::notify::verify_signature(
        &workers::notify::Secret::new(secret),
        &h("cairn-timestamp"),
        body,
        &h("cairn-signature"),
        chrono::Utc::now(),
        workers::notify::webhook::DEFAULT_TOLERANCE,
    )
    .unwrap();
    h
}

/// `GET base+path` with `token`, as JSON.
async fn get(base: &str, path: &str, token: &str) -> Value {
    let r = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    r.json().await.unwrap()
}

/// Writes `text` to `name` in `dir` and imports it with `cairn <args…> FILE <after…>`.
fn import(
    cli: &dyn Fn(&[&str]) -> String,
    dir: &std::path::Path,
    name: &str,
    text: &str,
    args: &[&str],
    after: &[&str],
) {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    cli(&[args, &[file.display().to_string().as_str()][..], after].concat());
}

/// Smith's taxable account: 12,000 deposited, 100 VTI bought at 120, VTI closing at 130 on
/// 2025-12-01 (two thirds of the household in one fund, a third in cash).
fn smith_holds_vti(cli: &dyn Fn(&[&str]) -> String, dir: &std::path::Path) {
    let ledger = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
                  2025-10-01,Brokerage,taxable,deposit,,1,12000,0\n\
                  2025-10-01,Brokerage,taxable,buy,VTI,100,120,0\n";
    import(cli, dir, "ledger.csv", ledger, &["ledger", "import"], &["--household", "smith"]);
    let bars = "date,symbol,open,high,low,close,volume\n2025-12-01,VTI,130,130,130,130,1000\n";
    import(cli, dir, "bars.csv", bars, &["market", "import"], &[]);
}

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_alerts_reach_people_by_email_and_webhook_within_their_preferences() {
    let (smtp, sessions) = smtp_server(Behaviour::Accept).await;
    let (hooks, received) = receiver().await;
    for db in all_backends("alert delivery").await {
        sessions.lock().unwrap().clear();
        received.lock().unwrap().clear();
        let dir = tempfile::tempdir().unwrap();
        let mut env = server_env(dir.path());
        env.push(("CAIRN_WEBHOOK_SECRET".into(), "whsec-test-1".into()));
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let path = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        // Smith holds only VTI against a 60/40 target: the rules find drift (and more).
        smith_holds_vti(&cli, dir.path());
        cli(&["portfolio", "create", "--household", "smith", "--name", "core", "--accounts", "Brokerage"]);
        cli(&["portfolio", "target", "--household", "smith", "--name", "core", "--weights", "VTI=0.6,BND=0.4"]);

        let ana = register(&db.url, &env, "Ana Smith", "ana@smith.test", "smith", "correct horse battery staple");
        // Text messages need a phone; a bad time zone is refused naming it; nothing recorded.
        let sms = common::cairn()
            .args(["--database-url", &db.url, "alerts", "preferences", "set", "--user", &ana])
            .args(["--channel", "sms=critical"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(!sms.status.success() && common::stderr(&sms).contains("phone"), "{}", common::stderr(&sms));
        cli(&[
            "alerts",
            "preferences",
            "set",
            "--user",
            &ana,
            "--channel",
            "email=warning",
            "--channel",
            "webhook=info",
            "--channel",
            "sms=critical",
            "--phone",
            "+15555550123",
            "--quiet",
            "22:00-07:00",
            "--time-zone",
            "America/New_York",
            "--cap",
            "email=1",
        ]);
        let shown = json(&cli(&["alerts", "preferences", "show", "--user", &ana]));
        assert_eq!(shown["preferences"]["channels"]["email"], "warning", "{shown}");
        assert_eq!(shown["contacts"]["phone"], "+15555550123", "{shown}");

        let evaluated = json(&cli(&["alerts", "evaluate", "--as-of", "2025-12-01"]));
        assert!(evaluated["raised"].as_u64().unwrap() >= 1, "{evaluated}");
        let listed = json(&cli(&["alerts", "list", "--household", "smith", "--format", "json"]));
        let alerts = listed["alerts"].as_array().unwrap().clone();
        let drift = alerts.iter().find(|a| a["rule"] == "drift").unwrap_or_else(|| panic!("{listed}"));
        let drift_id = drift["id"].as_str().unwrap().to_owned();

        let config = path(
            "ops.toml",
            &format!(
                "[notify]\nretry = {{ attempts = 2, base_ms = 10 }}\n\
                 [notify.email]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"cairn <alerts@cairn.test>\"\n\
                 [notify.webhook]\nurl = \"{hooks}/hooks/cairn\"\nsecret_env = \"CAIRN_WEBHOOK_SECRET\"\n",
                smtp.port()
            ),
        );
        let deliver =
            |at: &str| json(&cli(&["alerts", "deliver", "--config", &config, "--at", at, "--format", "json"]));

        // 23:30 in New York: inside the quiet hours, everything is held until 07:00 (12:00Z).
        let night = deliver("2025-12-02T04:30:00Z");
        assert_eq!((night["sent"].as_u64(), night["failed"].as_u64()), (Some(0), Some(0)), "{night}");
        let outcomes = night["deliveries"].as_array().unwrap();
        let held: Vec<&Value> = outcomes.iter().filter(|o| o["outcome"] == "held").collect();
        assert!(!held.is_empty(), "{night}");
        assert!(held.iter().all(|o| o["detail"].as_str().unwrap().contains("2025-12-02T12:00:00")), "{night}");
        // SMS carries critical alerts only: the others are skipped, the critical ones held too.
        let severity = |id: &Value| alerts.iter().find(|a| a["id"] == *id).unwrap()["severity"].clone();
        for o in outcomes.iter().filter(|o| o["channel"] == "sms") {
            let expected = if severity(&o["alert"]) == "critical" { "held" } else { "skipped" };
            assert_eq!(o["outcome"], expected, "{o}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(sessions.lock().unwrap().is_empty() && received.lock().unwrap().is_empty(), "nothing sent at night");

        // 07:05: one e-mail (the cap is 1 a day), every alert to the webhook.
        let morning = deliver("2025-12-02T12:05:00Z");
        let outcomes = morning["deliveries"].as_array().unwrap().clone();
        let of = |channel: &str, outcome: &str| {
            outcomes.iter().filter(|o| o["channel"] == channel && o["outcome"] == outcome).count()
        };
        assert_eq!(of("email", "sent"), 1, "{morning}");
        assert_eq!(of("webhook", "sent"), alerts.len(), "{morning}");
        if alerts.iter().filter(|a| a["severity"] != "info").count() > 1 {
            assert!(
                outcomes.iter().any(|o| o["channel"] == "email"
                    && o["outcome"] == "skipped"
                    && o["detail"].as_str().unwrap().contains("cap of 1")),
                "{morning}"
            );
        }
        // No SMS provider is configured: the critical alerts due there are skipped, saying so.
        assert!(outcomes
            .iter()
            .filter(|o| o["channel"] == "sms" && severity(&o["alert"]) == "critical")
            .all(|o| o["outcome"] == "skipped" && o["detail"].as_str().unwrap().contains("[notify.sms]")));
        let mail: Session = workers::notify::smtp_sink::ended(&sessions, 1).await[0].clone();
        assert_eq!(mail.rcpt_to, ["<ana@smith.test>"]);
        let (headers, _) = split(&mail.data);
        assert!(header(&headers, "To").contains("ana@smith.test"), "{}", mail.data);
        assert_eq!(header(&headers, "From"), "cairn <alerts@cairn.test>");
        assert!(!header(&headers, "Subject").is_empty());
        let hooks_seen = received.lock().unwrap().clone();
        assert_eq!(hooks_seen.len(), alerts.len());
        let mut ids = Vec::new();
        for (headers, body) in &hooks_seen {
            let h = verified(headers, body, "whsec-test-1");
            let payload: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(h("idempotency-key"), format!("{}:webhook", payload["alert_id"].as_str().unwrap()));
            assert_eq!(payload["household"], "smith");
            ids.push(payload["alert_id"].as_str().unwrap().to_owned());
        }
        assert!(ids.contains(&drift_id), "{ids:?}");

        // Again at 07:10: nothing is due before the repeat interval (a day after each send).
        let again = deliver("2025-12-02T12:10:00Z");
        assert_eq!(again["sent"].as_u64(), Some(0), "{again}");
        assert_eq!(received.lock().unwrap().len(), alerts.len(), "no second webhook");

        // Statistics per channel, and every try in the audit trail.
        let stats = json(&cli(&["alerts", "stats", "--household", "smith", "--format", "json"]));
        let row = |c: &str| stats["delivery_stats"].as_array().unwrap().iter().find(|r| r["channel"] == c).cloned();
        assert_eq!(row("email").unwrap()["succeeded"], "1", "{stats}");
        assert_eq!(row("webhook").unwrap()["succeeded"], alerts.len().to_string(), "{stats}");
        let changes =
            json(&cli(&["audit", "changes", "--from", "2000-01-01", "--to", "2999-01-01", "--format", "json"]));
        let kinds: Vec<&str> =
            changes["changes"].as_array().unwrap().iter().map(|r| r["event_type"].as_str().unwrap()).collect();
        for kind in ["AlertPreferencesSet", "AlertRaised", "DeliveryAttempted", "DeliverySucceeded"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }
        assert!(!changes.to_string().contains("+15555550123"), "the phone number stays sealed");
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_due_alerts_every_minute_to_whoever_set_preferences_over_http() {
    let (hooks, received) = receiver().await;
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = server_env(dir.path());
    env.push(("CAIRN_WEBHOOK_SECRET".into(), "whsec-test-2".into()));
    let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
    smith_holds_vti(&cli, dir.path());
    let raised = json(&cli(&["alerts", "evaluate", "--as-of", "2025-12-01"]));
    assert!(raised["raised"].as_u64().unwrap() >= 1, "{raised}");
    register(&db.url, &env, "Bo Smith", "bo@smith.test", "smith", "correct horse battery staple");

    // The day's tasks are turned off here; the file's [notify] runs the deliveries each second.
    let tasks = workers::ops::TASKS.iter().map(|t| format!("{:?}", t.name)).collect::<Vec<_>>().join(", ");
    let ops = dir.path().join("ops.toml");
    std::fs::write(
        &ops,
        format!(
            "[ops]\nskip = [{tasks}]\n[notify]\nevery_seconds = 1\n\
             [notify.webhook]\nurl = \"{hooks}/hooks/cairn\"\nsecret_env = \"CAIRN_WEBHOOK_SECRET\"\n"
        ),
    )
    .unwrap();
    env.push(("CAIRN_OPS".into(), ops.display().to_string()));
    let (child, base) = common::serve(&db.url, env.clone());
    let _server = common::Kill(child);
    let bo = common::login(&base, "bo@smith.test", "correct horse battery staple").await;
    let http = reqwest::Client::new();
    let put = |body: Value| {
        let request = http.put(format!("{base}/v1/me/alert-preferences")).bearer_auth(&bo).json(&body);
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // Refusals name the field; nothing is recorded.
    let (status, body) = put(serde_json::json!({ "channels": { "sms": "critical" } })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("phone")), "{body}");
    let late = serde_json::json!({ "channels": { "webhook": "info" }, "quiet": { "start": "25:00", "end": "07:00", "time_zone": "UTC" } });
    let (status, body) = put(late).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("quiet.start")), "{body}");
    let (status, body) = put(serde_json::json!({ "channels": { "webhook": "loud" } })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("channels.webhook")), "{body}");
    assert!(received.lock().unwrap().is_empty());

    let (status, body) = put(serde_json::json!({ "channels": { "webhook": "info", "in_app": "info" } })).await;
    assert_eq!(status, 200, "{body}");
    let got = get(&base, "/v1/me/alert-preferences", &bo).await;
    assert_eq!(got["channels"], serde_json::json!({ "webhook": "info", "in_app": "info" }), "{got}");

    // The server's own pass sends the household's open alerts to the webhook, once each.
    for _ in 0..200 {
        if received.lock().unwrap().len() >= raised["raised"].as_u64().unwrap() as usize {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let seen = received.lock().unwrap().clone();
    assert_eq!(seen.len(), raised["raised"].as_u64().unwrap() as usize, "one webhook per alert");
    for (headers, body) in &seen {
        let _ = verified(headers, body, "whsec-test-2");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(received.lock().unwrap().len(), seen.len(), "not sent again within the repeat interval");
    let stats = get(&base, "/v1/households/smith/alerts/stats", &bo).await;
    let webhook = stats["channels"].as_array().unwrap().iter().find(|c| c["channel"] == "webhook").unwrap().clone();
    assert_eq!(webhook["succeeded"], seen.len(), "{stats}");
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_benchmarks_regime_change_raises_an_alert_for_every_household() {
    for db in all_backends("regime alerts").await {
        let dir = tempfile::tempdir().unwrap();
        let env = server_env(dir.path());
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let ledger = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
                      2025-01-02,Brokerage,taxable,deposit,,1,1000,0\n";
        import(&cli, dir.path(), "ledger.csv", ledger, &["ledger", "import"], &["--household", "smith"]);
        // SPY rises 0.1% a session for 259 sessions, calm; then falls 25% in a day: below its
        // 200-day average and volatile (a calm bull becomes a volatile bear).
        let days: Vec<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(2025, 1, 2)
            .unwrap()
            .iter_days()
            .filter(|d| !domain::calendar::is_market_closed(*d))
            .take(260)
            .collect();
        let mut csv = String::from("date,symbol,open,high,low,close,volume\n");
        let mut close = 500.0_f64;
        for (i, d) in days.iter().enumerate() {
            close = if i + 1 == days.len() { close * 0.75 } else { close * 1.001 };
            csv.push_str(&format!("{d},SPY,{close:.2},{close:.2},{close:.2},{close:.2},1000000\n"));
        }
        import(&cli, dir.path(), "spy.csv", &csv, &["market", "import"], &[]);
        let (last, before) = (days[259].to_string(), days[258].to_string());

        // The day before: calm bull both days, nothing.
        let calm = json(&cli(&["alerts", "evaluate", "--as-of", &before, "--benchmark", "SPY"]));
        assert_eq!(calm["raised"], 0, "{calm}");
        let changed = json(&cli(&["alerts", "evaluate", "--as-of", &last, "--benchmark", "SPY"]));
        assert_eq!(changed["raised"], 1, "{changed}");
        let listed = json(&cli(&["alerts", "list", "--household", "smith", "--format", "json"]));
        let alert = listed["alerts"].as_array().unwrap().iter().find(|a| a["rule"] == "regime").cloned();
        let alert = alert.unwrap_or_else(|| panic!("{listed}"));
        let message = alert["message"].as_str().unwrap();
        assert!(
            message.contains("SPY") && message.contains("calm_bull") && message.contains("volatile_bear"),
            "{message}"
        );
        // An evaluation without a benchmark leaves the regime's alert alone.
        let without = json(&cli(&["alerts", "evaluate", "--as-of", &last]));
        assert_eq!(without["resolved"], 0, "{without}");
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portfolios_own_drift_threshold_is_its_band() {
    for db in all_backends("own drift threshold").await {
        let dir = tempfile::tempdir().unwrap();
        let env = server_env(dir.path());
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        // Smith holds only VTI against 97/3: VTI 3 points over (inside the moderate 5-point
        // band), BND 3 points under a 3% target (past its relative band of 0.75 points, and
        // past twice it: critical).
        smith_holds_vti(&cli, dir.path());
        cli(&["portfolio", "create", "--household", "smith", "--name", "core", "--accounts", "Brokerage"]);
        cli(&["portfolio", "target", "--household", "smith", "--name", "core", "--weights", "VTI=0.97,BND=0.03"]);
        let drifts = || {
            let listed = json(&cli(&["alerts", "list", "--household", "smith", "--format", "json"]));
            let mut found: Vec<(String, String)> = listed["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["rule"] == "drift")
                .map(|a| (a["message"].as_str().unwrap().to_owned(), a["severity"].as_str().unwrap().to_owned()))
                .collect();
            found.sort();
            found
        };
        cli(&["alerts", "evaluate", "--as-of", "2025-12-01"]);
        let before = drifts();
        assert_eq!(before.len(), 1, "{before:?}");
        assert!(before[0].0.starts_with("BND") && before[0].0.contains("band of 0.75 points"), "{before:?}");
        assert_eq!(before[0].1, "critical");

        // The portfolio's own threshold of 2 points is every asset's band: VTI is past it too.
        // BND is still past it (no longer past twice it: a milder finding leaves the open alert
        // as it was).
        cli(&["portfolio", "drift", "--household", "smith", "--name", "core", "--threshold", "0.02"]);
        let evaluated = json(&cli(&["alerts", "evaluate", "--as-of", "2025-12-01"]));
        assert_eq!(evaluated["resolved"], 0, "{evaluated}");
        let after = drifts();
        assert_eq!(after.len(), 2, "{after:?}");
        assert_eq!(after[0], before[0]);
        assert!(after[1].0.starts_with("VTI") && after[1].0.contains("band of 2 points"), "{after:?}");
        assert_eq!(after[1].1, "warning");
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_commit_raises_its_holders_alerts_live_on_their_stream() {
    for db in all_backends("live alerts").await {
        let dir = tempfile::tempdir().unwrap();
        let mut env = server_env(dir.path());
        // No scheduled task runs: whatever is raised is raised by the live evaluation.
        let tasks = workers::ops::TASKS.iter().map(|t| format!("{:?}", t.name)).collect::<Vec<_>>().join(", ");
        let ops = dir.path().join("ops.toml");
        std::fs::write(&ops, format!("[ops]\nskip = [{tasks}]\n")).unwrap();
        env.push(("CAIRN_OPS".into(), ops.display().to_string()));
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        smith_holds_vti(&cli, dir.path());
        register(&db.url, &env, "Bo Smith", "bo@smith.test", "smith", "correct horse battery staple");
        let (child, base) = common::serve(&db.url, env.clone());
        let _server = common::Kill(child);
        let bo = common::login(&base, "bo@smith.test", "correct horse battery staple").await;
        let http = reqwest::Client::new();
        let mut stream = http.get(format!("{base}/v1/households/smith/stream")).bearer_auth(&bo).send().await.unwrap();
        assert_eq!(stream.headers()["content-type"], "text/event-stream");
        let metrics = || async { http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap() };
        let figure = |text: &str, name: &str| -> u64 {
            let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{text}"));
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };

        // A bar of a symbol nobody holds evaluates no household.
        let other = "date,symbol,open,high,low,close,volume\n2025-12-02,XYZ,10,10,10,10,1000\n";
        import(&cli, dir.path(), "xyz.csv", other, &["market", "import"], &[]);
        // VTI falls from 130 to 80, below Smith's cost of 120: a loss to harvest, live.
        let fall = "date,symbol,open,high,low,close,volume\n2025-12-02,VTI,80,80,80,80,1000\n";
        import(&cli, dir.path(), "fall.csv", fall, &["market", "import"], &[]);
        let mut seen = String::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while !seen.contains("AlertRaised") {
            let Ok(chunk) = tokio::time::timeout_at(deadline, stream.chunk()).await else {
                panic!("no live alert arrived: {seen}\n{}", metrics().await);
            };
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
        }
        assert!(seen.contains("AlertRaised") && seen.contains("\"stream\":\"alerts-smith\""), "{seen}");
        let listed = json(&cli(&["alerts", "list", "--household", "smith", "--format", "json"]));
        let rules: Vec<&str> =
            listed["alerts"].as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap()).collect();
        assert!(rules.contains(&"tax_loss"), "{listed}");
        let text = metrics().await;
        assert!(figure(&text, "cairn_live_alert_evaluations_total") >= 1, "{text}");
        assert_eq!(figure(&text, "cairn_live_alert_households_total"), 1, "only Smith was evaluated: {text}");
        assert!(figure(&text, "cairn_live_alerts_raised_total") >= 1, "{text}");
        assert_eq!(figure(&text, "cairn_live_alert_failures_total"), 0, "{text}");
        db.remove().await;
    }
}
