//! The day's operations on a simulated clock, against real SQLite and PostgreSQL: phases fire at
//! their New York times across the end of daylight saving time, an early close moves the close
//! phase, a holiday runs nothing, a task interrupted mid-phase resumes without repeating what
//! succeeded, and a missed day is caught up once (or recorded as skipped beyond the grace).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use common::{all_backends, run};
use event_store::{Direction, EventStore as _, StreamId};
use workers::ops::clock::{Clock as _, SimulatedClock};
use workers::ops::{scheduler, Env, Settings};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A replica of Stooq's CSV download: VTI and BND at 100 and 50 on every NYSE trading day.
async fn stooq() -> String {
    use axum::extract::Query;
    async fn csv(Query(q): Query<std::collections::HashMap<String, String>>) -> String {
        let close = match q.get("s").map(String::as_str) {
            Some("vti.us") => 100,
            Some("bnd.us") => 50,
            _ => return "No data".into(),
        };
        let day = |k: &str| NaiveDate::parse_from_str(&q[k], "%Y%m%d").unwrap();
        let mut out = String::from("Date,Open,High,Low,Close,Volume\n");
        for d in day("d1").iter_days().take_while(|d| *d <= day("d2")) {
            if !domain::calendar::is_market_closed(d) {
                out.push_str(&format!("{d},{close},{},{},{close},1000\n", close + 1, close - 1));
            }
        }
        out
    }
    common::replica(axum::Router::new().route("/q/d/l/", axum::routing::get(csv))).await
}

/// Each event of a session's ops stream: (type, task, instant).
async fn events(store: &event_store::Store, date: &str) -> Vec<(String, String, DateTime<Utc>)> {
    let stream = StreamId::new(format!("ops-{date}")).unwrap();
    store
        .read_stream(&stream, 0, Direction::Forwards, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| {
            let event: domain::ops::OpsEvent =
                event_store::Upcasters::new().decode_versioned(e, domain::ops::SCHEMA_VERSION).unwrap();
            (e.event_type.clone(), event.task().to_owned(), event.at())
        })
        .collect()
}

/// When each task first started on a session.
fn starts(events: &[(String, String, DateTime<Utc>)]) -> BTreeMap<String, (usize, DateTime<Utc>)> {
    let mut out: BTreeMap<String, (usize, DateTime<Utc>)> = BTreeMap::new();
    for (kind, task, when) in events.iter().filter(|e| e.0 == "TaskStarted") {
        let _ = kind;
        out.entry(task.clone()).and_modify(|e| e.0 += 1).or_insert((1, *when));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_trading_week_runs_each_phase_at_its_new_york_time() {
    let base = stooq().await;
    for db in all_backends("ops week").await {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.csv");
        std::fs::write(
            &ledger,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-10-01,Brokerage,taxable,deposit,,1,20000,0\n\
             2025-10-01,Brokerage,taxable,buy,VTI,100,120,0\n",
        )
        .unwrap();
        let o = run(&db.url, &["ledger", "import", &ledger.display().to_string(), "--household", "smith"]);
        assert!(o.status.success(), "{}", common::stderr(&o));
        let p = ["--household", "smith", "--name", "core"];
        assert!(run(&db.url, &[&["portfolio", "create"][..], &p, &["--accounts", "Brokerage"]].concat())
            .status
            .success());
        assert!(run(&db.url, &[&["portfolio", "target"][..], &p, &["--weights", "VTI=0.6,BND=0.4"]].concat())
            .status
            .success());

        let providers = format!("[[provider]]\nname = \"stooq\"\nkind = \"stooq\"\nbase_url = \"{base}\"\n");
        let (selector, _) = workers::market::config::parse(&providers, &|_| None).unwrap();
        let clock = Arc::new(SimulatedClock::new(at("2025-10-31T07:00:00Z")));
        // The broker's statement says 90 VTI where the ledger holds 100; its cash agrees.
        let statement = dir.path().join("positions.csv");
        std::fs::write(
            &statement,
            "date,account,symbol,quantity\n2025-10-30,Brokerage,VTI,90\n2025-10-30,Brokerage,cash,8000.00\n",
        )
        .unwrap();
        let settings = Settings {
            reconcile: vec![workers::ops::config::Reconcile { household: "smith".into(), file: statement.clone() }],
            backoff: std::time::Duration::ZERO,
            grace: std::time::Duration::from_secs(36 * 3600),
            symbols: vec!["BND".into()],
            backup_dir: Some(dir.path().join("backups")),
            backup_key_file: Some(dir.path().join("backup.key")),
            ..Settings::default()
        };
        let env = Env {
            cx: commands::Context::new(db.store.clone()),
            db: projections::Db::open(&db.url, false).await.unwrap(),
            selector: Some(Arc::new(selector)),
            settings,
            clock: clock.clone(),
            metrics: Default::default(),
            follower: std::time::Duration::ZERO,
        };
        let (_stop, stopping) = tokio::sync::watch::channel(false);

        // Friday 31 October 2025 (EDT) to Monday 3 November (EST: daylight time ended on the 2nd).
        scheduler::run(&env, Some(at("2025-11-04T04:00:00Z")), stopping.clone()).await;
        let friday = events(&db.store, "2025-10-31").await;
        let f = starts(&friday);
        assert_eq!(f.len(), 13, "every task ran once: {friday:?}");
        assert!(f.values().all(|(n, _)| *n == 1), "{f:?}");
        assert_eq!(f["fetch_prices"].1, at("2025-10-31T08:00:00Z"), "04:00 EDT");
        assert_eq!(f["drift_check"].1, at("2025-10-31T13:30:00Z"), "09:30 EDT");
        assert_eq!(f["portfolio_risk"].1, at("2025-10-31T16:00:00Z"), "12:00 EDT");
        assert_eq!(f["closing_prices"].1, at("2025-10-31T20:00:00Z"), "16:00 EDT");
        assert_eq!(f["valuation_snapshot"].1, at("2025-10-31T22:00:00Z"), "18:00 EDT");
        let monday = starts(&events(&db.store, "2025-11-03").await);
        assert_eq!(monday["fetch_prices"].1, at("2025-11-03T09:00:00Z"), "04:00 EST");
        assert_eq!(monday["closing_prices"].1, at("2025-11-03T21:00:00Z"), "16:00 EST");
        assert!(events(&db.store, "2025-11-01").await.is_empty(), "Saturday runs nothing");

        // What each task did: the held symbol and the configured one fetched, the portfolio
        // (all VTI against 60/40) beyond its drift threshold, the chain intact, the read models
        // equal to a rebuild, the summary recorded with its hash.
        let state = commands::ops::state(&env.cx, "2025-10-31".parse().unwrap()).await.unwrap();
        let detail = |t: &str| {
            let s = &state.tasks[t];
            assert_eq!(s.status, domain::ops::Status::Succeeded, "{t}: {:?}", s.detail);
            s.detail.clone().unwrap()
        };
        assert!(
            detail("fetch_prices").starts_with("2 symbols from 2025-10-23 to 2025-10-30"),
            "{}",
            detail("fetch_prices")
        );
        assert!(
            detail("data_quality").starts_with("2025-10-30: 2 of 2 symbols have a bar"),
            "{}",
            detail("data_quality")
        );
        assert!(detail("drift_check").contains("1 need rebalancing: smith/core"), "{}", detail("drift_check"));
        assert!(
            detail("loss_scan").contains("1 lots in taxable accounts below their basis, 2000.00"),
            "{}",
            detail("loss_scan")
        );
        assert!(
            detail("valuation_snapshot").starts_with("1 of 1 households valued on 2025-10-31"),
            "{}",
            detail("valuation_snapshot")
        );
        assert!(detail("verify_chain").starts_with("ok "), "{}", detail("verify_chain"));
        assert!(
            detail("projections_digest").starts_with("read models equal a rebuild"),
            "{}",
            detail("projections_digest")
        );
        assert!(detail("daily_summary").contains("sha256"), "{}", detail("daily_summary"));
        // The evening's backup, after the chain was verified; Monday's takes only what came since.
        assert!(detail("backup").contains("events (1 to "), "{}", detail("backup"));
        assert!(f["backup"].1 >= f["verify_chain"].1);
        let monday_backup = commands::ops::state(&env.cx, "2025-11-03".parse().unwrap()).await.unwrap();
        let b = monday_backup.tasks["backup"].detail.clone().unwrap_or_default();
        assert!(!b.contains("(1 to "), "incremental: {b}");
        assert!(dir.path().join("backups/manifest.json").exists());
        assert!(detail("monitoring").starts_with("1 households, "), "{}", detail("monitoring"));
        // The portfolio all in VTI against 60/40 raised a drift alert, once, on the household's
        // alerts stream; the later sessions' evaluations raise it no more.
        let alerts = commands::alerts::state(&env.cx, "smith").await.unwrap();
        let drift: Vec<&domain::alerts::Alert> =
            alerts.alerts.values().filter(|a| a.finding.rule == domain::monitoring::Rule::Drift).collect();
        assert!(!drift.is_empty(), "{:?}", alerts.alerts.keys().collect::<Vec<_>>());
        assert!(drift.iter().all(|a| a.id.ends_with("#1") && a.raised_at == at("2025-10-31T22:00:00Z")), "{drift:?}");
        // The evening's reconciliation: VTI disagrees with the broker's statement, cash agrees.
        assert_eq!(
            detail("reconciliation"),
            "smith: 1 holdings disagree with 2 statement rows",
            "{}",
            detail("reconciliation")
        );
        let vti = &alerts.alerts["reconciliation:smith:Brokerage:VTI#1"];
        assert_eq!(
            (vti.finding.severity, vti.state),
            (domain::monitoring::Severity::Warning, domain::alerts::State::Open)
        );
        assert_eq!(vti.finding.values["difference"], "10", "{vti:?}");
        assert!(!alerts.alerts.keys().any(|k| k.contains(":cash")), "{:?}", alerts.alerts.keys());

        // Thanksgiving week: Thursday closed, Friday's close phase at 13:00 EST.
        clock.set(at("2025-11-26T07:00:00Z"));
        scheduler::run(&env, Some(at("2025-11-29T04:00:00Z")), stopping.clone()).await;
        assert!(events(&db.store, "2025-11-27").await.is_empty(), "Thanksgiving runs nothing");
        let friday = starts(&events(&db.store, "2025-11-28").await);
        assert_eq!(friday["closing_prices"].1, at("2025-11-28T18:00:00Z"), "the early close, 13:00 EST");
        assert_eq!(friday["valuation_snapshot"].1, at("2025-11-28T23:00:00Z"));

        // Interrupted mid-phase on Monday 1 December: the server stopped after starting
        // `loss_scan`; `drift_check` had succeeded. Started again at 09:40, the catch-up resumes
        // the phase: `loss_scan` runs as attempt 2, `drift_check` is not run again.
        let monday: NaiveDate = "2025-12-01".parse().unwrap();
        clock.set(at("2025-12-01T09:00:00Z"));
        let session = domain::calendar::session(monday).unwrap();
        workers::ops::run_phase(&env, &session, domain::ops::Phase::PreMarket).await.unwrap();
        clock.set(at("2025-12-01T14:30:00Z"));
        let caller = commands::aggregate::Caller { actor: "test".into(), source: "test".into() };
        for command in [
            domain::ops::OpsCommand::Start {
                task: "drift_check".into(),
                phase: domain::ops::Phase::MarketOpen,
                at: clock.now(),
            },
            domain::ops::OpsCommand::Succeed {
                task: "drift_check".into(),
                at: clock.now(),
                duration_ms: 5,
                summary: "done before the crash".into(),
            },
            domain::ops::OpsCommand::Start {
                task: "loss_scan".into(),
                phase: domain::ops::Phase::MarketOpen,
                at: clock.now(),
            },
        ] {
            commands::ops::record(&env.cx, monday, &command, &caller).await.unwrap();
        }
        clock.set(at("2025-12-01T14:40:00Z"));
        let (ran, skipped) = scheduler::catch_up(&env).await.unwrap();
        let ran: Vec<String> = ran.iter().map(|(s, p)| format!("{} {p}", s.date)).collect();
        assert_eq!(ran, ["2025-12-01 market-open"], "skipped: {skipped:?}");
        let m = starts(&events(&db.store, "2025-12-01").await);
        assert_eq!((m["drift_check"].0, m["loss_scan"].0), (1, 2), "{m:?}");
        let state = commands::ops::state(&env.cx, monday).await.unwrap();
        assert_eq!(state.tasks["loss_scan"].status, domain::ops::Status::Succeeded);
        assert_eq!(state.tasks["drift_check"].detail.as_deref(), Some("done before the crash"));

        // The server was down from Monday's open to Tuesday 23:00 EST. Monday's later phases
        // and Tuesday's are at most 36 hours late and each runs once; nothing runs twice.
        clock.set(at("2025-12-03T04:00:00Z"));
        let (ran, skipped) = scheduler::catch_up(&env).await.unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        let ran: Vec<String> = ran.iter().map(|(s, p)| format!("{} {p}", s.date)).collect();
        assert_eq!(
            ran,
            [
                "2025-12-01 midday",
                "2025-12-01 market-close",
                "2025-12-01 post-market",
                "2025-12-02 pre-market",
                "2025-12-02 market-open",
                "2025-12-02 midday",
                "2025-12-02 market-close",
                "2025-12-02 post-market"
            ]
        );
        let tuesday = starts(&events(&db.store, "2025-12-02").await);
        assert_eq!(tuesday.len(), 13);
        assert!(tuesday.values().all(|(n, when)| *n == 1 && *when == at("2025-12-03T04:00:00Z")), "{tuesday:?}");
        let (ran, _) = scheduler::catch_up(&env).await.unwrap();
        assert!(ran.is_empty(), "a second start finds nothing to catch up: {ran:?}");

        // Wednesday runs on time. Then, with a grace of 12 hours, a start on Thursday 20:00 EST
        // finds Thursday's phases up to 16 hours late: those beyond the grace have their tasks
        // recorded as skipped, saying when they were due; the later ones run.
        scheduler::run(&env, Some(at("2025-12-04T05:00:00Z")), stopping.clone()).await;
        assert_eq!(starts(&events(&db.store, "2025-12-03").await).len(), 13);
        let env = Env {
            settings: Settings { grace: std::time::Duration::from_secs(12 * 3600), ..env.settings.clone() },
            ..env
        };
        clock.set(at("2025-12-05T01:00:00Z"));
        let (ran, skipped) = scheduler::catch_up(&env).await.unwrap();
        let shown = |v: &[(domain::calendar::Session, domain::ops::Phase)]| -> Vec<String> {
            v.iter().map(|(s, p)| format!("{} {p}", s.date)).collect()
        };
        assert_eq!(shown(&skipped), ["2025-12-04 pre-market"], "04:00 is 16 hours before");
        assert_eq!(
            shown(&ran),
            ["2025-12-04 market-open", "2025-12-04 midday", "2025-12-04 market-close", "2025-12-04 post-market"]
        );
        let thursday = commands::ops::state(&env.cx, "2025-12-04".parse().unwrap()).await.unwrap();
        let fetch = &thursday.tasks["fetch_prices"];
        assert_eq!(fetch.status, domain::ops::Status::Skipped);
        assert!(fetch.detail.as_deref().unwrap().starts_with("missed: due at 2025-12-04T09:00:00Z"), "{fetch:?}");
        assert_eq!(thursday.tasks["data_quality"].status, domain::ops::Status::Skipped);

        // `cairn ops status` shows the session as recorded.
        let o = run(&db.url, &["ops", "status", "--date", "2025-12-04", "--format", "json"]);
        let status: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
        assert_eq!(status["skipped"], 2, "{status}");
        assert_eq!(status["ops"].as_array().unwrap().len(), 13, "{status}");
        // The alerts over the CLI: listed, snoozed, dismissed.
        let list = |extra: &[&str]| -> serde_json::Value {
            let o =
                run(&db.url, &[&["alerts", "list", "--household", "smith", "--format", "json"][..], extra].concat());
            serde_json::from_str(&common::stdout(&o)).unwrap_or_else(|_| panic!("{}", common::stderr(&o)))
        };
        let open = list(&[]);
        let rows = open["alerts"].as_array().unwrap();
        let id = rows.iter().find(|r| r["rule"] == "drift").unwrap()["id"].as_str().unwrap().to_owned();
        let o =
            run(&db.url, &["alerts", "snooze", "--household", "smith", "--id", &id, "--until", "2100-01-01T00:00:00Z"]);
        assert!(o.status.success(), "{}", common::stderr(&o));
        let o = run(&db.url, &["alerts", "dismiss", "--household", "smith", "--id", &id]);
        assert!(o.status.success(), "{}", common::stderr(&o));
        let after = list(&[]);
        let row = after["alerts"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()).unwrap().clone();
        assert_eq!(
            (&row["state"], &row["snoozed_until"]),
            (&"dismissed".into(), &"2100-01-01T00:00:00Z".into()),
            "{after}"
        );
        let o =
            run(&db.url, &["alerts", "snooze", "--household", "smith", "--id", &id, "--until", "2100-01-02T00:00:00Z"]);
        assert!(!o.status.success() && common::stderr(&o).contains("is dismissed"), "{}", common::stderr(&o));

        // Wider drift bands for the household: the next evaluation finds no drift, and the
        // dismissed drift alert resolves.
        let set = ["rules", "set", "--household", "smith", "--set", "drift_asset=0.5", "--set", "drift_total=0.5"];
        assert!(run(&db.url, &set).status.success());
        let o = run(&db.url, &["rules", "list", "--household", "smith", "--format", "json"]);
        let rules: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
        let drift = rules["rules"].as_array().unwrap().iter().find(|r| r["setting"] == "drift_asset").unwrap().clone();
        assert_eq!((&drift["value"], &drift["overridden"]), (&"0.5".into(), &"true".into()), "{rules}");
        let o = run(&db.url, &["alerts", "evaluate", "--as-of", "2025-12-04"]);
        let evaluated: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
        assert!(evaluated["resolved"].as_u64().unwrap() >= 1, "{evaluated}");
        let all = list(&["--all"]);
        let row = all["alerts"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()).unwrap().clone();
        assert_eq!(row["state"], "resolved", "{all}");
        // The monitoring rules' evaluations leave the reconciliation's alert alone: only a
        // statement that agrees resolves it.
        let vti = all["alerts"].as_array().unwrap().iter().find(|r| r["rule"] == "reconciliation").unwrap().clone();
        assert_eq!(vti["state"], "open", "{all}");

        // Every run is in the audit trail.
        let o = run(
            &db.url,
            &["audit", "changes", "--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z", "--format", "csv"],
        );
        let trail = common::stdout(&o);
        assert!(
            trail
                .lines()
                .any(|l| l.contains("ops-2025-12-04") && l.contains("TaskSkipped") && l.contains("missed: due at")),
            "{}",
            &trail[..trail.len().min(2000)]
        );
        db.remove().await;
    }
}
