//! `cairn bench projections`: rebuild speed of the read models, and query latency.

use std::time::{Duration, Instant};

use event_store::{EventStore as _, Store};
use projections::db::Db;
use projections::holdings::{LOTS, VALUATIONS};
use projections::query::records;
use projections::{Runner, Source};

use super::caller;

/// Fills `store` with about `events` events: `households` ledgers of generated trades, a probe
/// household, and 250 days of bars for 200 symbols. Returns the trades per household.
pub(crate) async fn fill(store: &Store, events: usize, households: usize) -> anyhow::Result<usize> {
    let households = households.max(1);
    let bars_per_symbol = 250usize;
    let symbols = 200usize;
    let probe_trades = 2_300usize;
    let trades = (events.saturating_sub(symbols * bars_per_symbol + probe_trades) / households).max(1);
    let csv = commands::bench::generate_csv(trades, 10, 40);
    let who = caller("cairn bench projections");
    let cx = commands::Context::new(store.clone());
    let probe = commands::bench::generate_csv(probe_trades, 50, symbols);
    commands::ledger::import_csv(&cx, "bench probe", probe.as_bytes(), false, &who).await?;
    for h in 0..households {
        commands::ledger::import_csv(&cx, &format!("bench {h}"), csv.as_bytes(), false, &who).await?;
    }
    let mut bars = String::from("date,symbol,open,high,low,close,volume\n");
    let days: Vec<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(2025, 1, 2)
        .expect("valid date")
        .iter_days()
        .filter(|d| !domain::calendar::is_market_closed(*d))
        .take(bars_per_symbol)
        .collect();
    for s in 0..symbols {
        for (i, d) in days.iter().enumerate() {
            let close = 20 + (s * 7 + i) % 300;
            bars.push_str(&format!("{d},S{s:03},{close},{},{close},{close},1000\n", close + 1));
        }
    }
    commands::market::import_csv(&cx, bars.as_bytes(), &who).await?;
    Ok(trades)
}

/// Fills the scratch store with `households` ledgers of generated trades (the `bench import`
/// generator: 10 accounts over 40 symbols each), one larger household (50 accounts over 200
/// symbols, about 2,000 open lots) and a year of daily bars for every symbol, about `events`
/// events in all; then times rebuilding `holdings` (positions, lots, gains, wash sales,
/// contributions, valuations) and `prices` from position 0, and the latency of reading the
/// large household's positions and lots.
pub(crate) async fn projections(
    store: &Store,
    url: &str,
    events: usize,
    households: usize,
) -> anyhow::Result<serde_json::Value> {
    let fill_started = Instant::now();
    let trades = fill(store, events, households).await?;
    let households = households.max(1);
    let head = store.head().await?.map_or(0, |h| h.position);
    let filled = fill_started.elapsed();
    // One untimed pass over the log first: PostgreSQL's first read of freshly written rows also
    // writes their hint bits, which would be charged to whichever projector ran first.
    let warm = Instant::now();
    let mut next = 1;
    while next <= head {
        let page = store.read_all(next, 20_000).await?;
        let Some(last) = page.last() else { break };
        next = last.global_position + 1;
    }
    let warm_read = warm.elapsed();

    let db = Db::open(url, false).await?;
    let mut rebuilds = serde_json::Map::new();
    for name in ["holdings", "prices", "valuation_history"] {
        let mut runner = Runner::open(db.clone(), projections::by_name(name)?).await?;
        let start = Instant::now();
        let read = runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await?;
        let seconds = start.elapsed().as_secs_f64();
        rebuilds.insert(
            name.to_owned(),
            serde_json::json!({ "events": read, "seconds": seconds, "events_per_sec": (read as f64 / seconds).round() }),
        );
    }

    let household = Some(domain::ledger::household_key("bench probe"));
    let lots = records(&db, &LOTS, &[("household", household.clone())]).await?.len();
    let positions = records(&db, &VALUATIONS, &[("household", household.clone())]).await?.len();
    let mut latency = serde_json::Map::new();
    for (label, table) in [("positions", &VALUATIONS), ("lots", &LOTS)] {
        let mut times: Vec<Duration> = Vec::with_capacity(500);
        for _ in 0..500 {
            let t = Instant::now();
            records(&db, table, &[("household", household.clone())]).await?;
            times.push(t.elapsed());
        }
        times.sort_unstable();
        let ms = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
        latency.insert(label.to_owned(), serde_json::json!({ "p50_ms": ms(0.50), "p99_ms": ms(0.99) }));
    }
    Ok(serde_json::json!({
        "backend": store.backend(),
        "events": head,
        "households": households,
        "trades_per_household": trades,
        "fill_seconds": filled.as_secs_f64(),
        "warm_read_seconds": warm_read.as_secs_f64(),
        "rebuild": rebuilds,
        "query_household": { "accounts": 50, "open_lots": lots, "positions": positions },
        "query_latency": latency,
    }))
}

/// Latency percentiles (ms) and throughput of timed calls.
fn summary(mut times: Vec<Duration>, wall: Duration, unit: &str) -> serde_json::Value {
    times.sort_unstable();
    let ms = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    serde_json::json!({
        "count": times.len(),
        "seconds": wall.as_secs_f64(),
        unit: (times.len() as f64 / wall.as_secs_f64()).round(),
        "p50_ms": ms(0.50),
        "p99_ms": ms(0.99),
        "max_ms": ms(1.0),
    })
}

/// Runs `total` calls of `call(i)` from `clients` concurrent tasks; returns each call's latency
/// and the wall time. A failed call ends the benchmark with its error.
async fn load<F, Fut>(total: usize, clients: usize, call: F) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let call = std::sync::Arc::new(call);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients.max(1))
        .map(|client| {
            let (next, call) = (next.clone(), call.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        return anyhow::Ok(times);
                    }
                    let t = Instant::now();
                    call(client, i).await?;
                    times.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut times = Vec::with_capacity(total);
    for t in tasks {
        times.extend(t.await??);
    }
    Ok((times, start.elapsed()))
}

/// `cairn bench http`: see the command's help.
pub(crate) async fn http(
    store: &Store,
    url: &str,
    queries: usize,
    concurrency: usize,
    trades: usize,
    writers: usize,
) -> anyhow::Result<serde_json::Value> {
    let who = caller("cairn bench http");
    let cx = commands::Context::new(store.clone());
    // A household of 12 accounts over 40 symbols holding over 2,000 open lots.
    let probe = commands::bench::generate_csv(8_000, 12, 40);
    commands::ledger::import_csv(&cx, "bench probe", probe.as_bytes(), false, &who).await?;
    let db = Db::open(url, false).await?;
    let mut runner = Runner::open(db.clone(), projections::by_name("holdings")?).await?;
    runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await?;
    let household = domain::ledger::household_key("bench probe");
    let lots = records(&db, &LOTS, &[("household", Some(household.clone()))]).await?.len();

    let BenchServer { base, token, stop, server, state, _keys } = BenchServer::start(store, url, &cx).await?;
    let cache = state.cache.clone();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;

    let get = {
        let (client, token, url) =
            (client.clone(), token.clone(), format!("{base}/v1/households/{household}/positions"));
        move |_: usize, _: usize| {
            let req = client.get(&url).bearer_auth(&token).send();
            async move {
                let r = req.await?;
                anyhow::ensure!(r.status().is_success(), "positions query answered {}", r.status());
                r.bytes().await?;
                Ok(())
            }
        }
    };
    // Warm the connections and the caches, untimed.
    load(concurrency * 10, concurrency, get.clone()).await?;
    let (times, wall) = load(queries, concurrency, get.clone()).await?;
    let query = summary(times, wall, "requests_per_sec");
    // The same without the answers kept by version token: every request reads and encodes.
    cache.set_enabled(false);
    let (times, wall) = load(queries / 10, concurrency, get.clone()).await?;
    let uncached = summary(times, wall, "requests_per_sec");
    cache.set_enabled(true);
    let rows: serde_json::Value = client
        .get(format!("{base}/v1/households/{household}/positions"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;

    let post = {
        let (client, token, base) = (client.clone(), token.clone(), base.clone());
        move |writer: usize, i: usize| {
            let row = serde_json::json!({
                "trade_date": "2026-03-02", "account": "brokerage", "account_type": "taxable", "action": "buy",
                "symbol": format!("S{:03}", i % 50), "quantity": "3", "price": "101.25", "fees": "0",
            });
            let req = client
                .post(format!("{base}/v1/households/bench-w{writer}/trades"))
                .bearer_auth(&token)
                .json(&row)
                .send();
            async move {
                let r = req.await?;
                anyhow::ensure!(r.status() == reqwest::StatusCode::CREATED, "trade answered {}", r.status());
                Ok(())
            }
        }
    };
    let (times, wall) = load(trades, writers, post.clone()).await?;
    let commands = summary(times, wall, "commands_per_sec");

    // Reads while writes flow: the same position queries while the writers keep posting
    // trades (and the projectors keep applying them), until the readers are done.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let posted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing: Vec<_> = (0..writers.max(1))
        .map(|writer| {
            let (done, posted, post) = (done.clone(), posted.clone(), post.clone());
            tokio::spawn(async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let i = posted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    post(writer, i).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let started = Instant::now();
    let reading = load(queries, concurrency, get).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let write_wall = started.elapsed();
    for w in writing {
        w.await??;
    }
    let (times, wall) = reading?;
    let under_writes = summary(times, wall, "requests_per_sec");
    let posted = posted.load(std::sync::atomic::Ordering::Relaxed);
    let _ = stop.send(true);
    server.await??;
    Ok(serde_json::json!({
        "backend": store.backend(),
        "positions_query": {
            "household_open_lots": lots,
            "rows": rows["rows"].as_array().map_or(0, Vec::len),
            "clients": concurrency,
            "latency": query,
            "latency_without_kept_answers": uncached,
            "latency_while_writing": under_writes,
            "trades_posted_while_reading": posted,
            "trades_per_sec_while_reading": (posted as f64 / write_wall.as_secs_f64()).round(),
        },
        "single_trades": { "writers": writers, "households": writers, "latency": commands },
    }))
}

/// The server as `serve` builds it (api::startup), without the risk worker: projectors
/// following, the API on a local port, keys in a scratch folder, cheap password hashing; and
/// an admin signed in.
pub(crate) struct BenchServer {
    pub base: String,
    pub token: String,
    pub stop: tokio::sync::watch::Sender<bool>,
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub state: api::http::AppState,
    _keys: tempfile::TempDir,
}

impl BenchServer {
    pub(crate) async fn start(store: &Store, url: &str, cx: &commands::Context) -> anyhow::Result<Self> {
        use commands::security::password::HashCost;
        let who = caller("cairn bench");
        let keys_dir = tempfile::tempdir()?;
        let mut master = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut master);
        let config = api::config::Config {
            database_url: url.to_owned(),
            bind: "127.0.0.1:0".parse()?,
            master_key: api::config::MasterKeySource::Hex(api::config::Secret::new(hex::encode(master))),
            jwt_key_file: keys_dir.path().join("jwt.pem"),
            hash_cost: HashCost { memory_kib: 8 * 1024, iterations: 1, parallelism: 1, concurrency: 2 },
            relay: None,
            risk_worker: false,
            providers: None,
            ops: None,
            audit_key_file: keys_dir.path().join("audit.pem"),
            audit_heads_file: None,
        };
        let app = api::startup::Application::build_on(store.clone(), config).await?;
        let state = app.state().clone();
        let stop = app.stopper();
        let base = format!("http://{}", app.local_addr()?);
        let mut app_stopping = stop.subscribe();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = app_stopping.wait_for(|s| *s).await;
        }));
        let password = "bench-password-not-breached-7".to_owned();
        let personal = commands::user::PersonalData {
            name: "Bench".into(),
            email: "bench@example.com".into(),
            tax_id: None,
            born: None,
        };
        let hash = state.auth.passwords.hash(password.clone()).await?;
        let user = commands::user::register(cx, &state.vault, &personal, None, Some(hash), &who).await?;
        let grant = domain::user::UserCommand::GrantRole { role: domain::user::Role::Admin, by: "bench".into() };
        commands::user::command(cx, &user, grant, &who).await?;
        let login: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({ "email": "bench@example.com", "password": password }))
            .send()
            .await?
            .json()
            .await?;
        let token =
            login["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("sign-in failed: {login}"))?.to_owned();
        Ok(Self { base, token, stop, server, state, _keys: keys_dir })
    }
}

/// `cairn bench performance`: one household of `accounts` accounts over `years` years (a
/// deposit and a buy in every account every month, rotating over `symbols` symbols, and a
/// quarterly dividend), with a daily bar of every symbol on every trading day; then times the
/// `valuation_history` projector's build from position 0 (events per second),
/// `queries::performance::performance` (the stored history and the benchmark's closes read,
/// every standard period summarized against a two-symbol blend) and, apart, the domain's daily
/// history computed from the ledger and every close.
pub(crate) async fn performance(
    store: &Store,
    url: &str,
    years: u32,
    accounts: usize,
    symbols: usize,
    runs: usize,
) -> anyhow::Result<serde_json::Value> {
    use std::fmt::Write as _;
    let (accounts, symbols, runs) = (accounts.max(1), symbols.max(2), runs.max(1));
    let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("valid date");
    let start = end.checked_sub_months(chrono::Months::new(12 * years)).expect("a valid start");
    let who = caller("cairn bench performance");
    let cx = commands::Context::new(store.clone());
    let mut csv = String::from("trade_date,account,account_type,action,symbol,quantity,price,fees,description\n");
    let price = |s: usize, i: usize| 50 + (s * 13 + i / 5) % 150;
    let days: Vec<chrono::NaiveDate> =
        start.iter_days().take_while(|d| *d <= end).filter(|d| !domain::calendar::is_market_closed(*d)).collect();
    let mut month = start;
    let mut n = 0usize;
    while month <= end {
        let i = days.partition_point(|d| *d < month);
        let Some(day) = days.get(i) else { break };
        for a in 0..accounts {
            let kind = if n == 0 { "taxable" } else { "" };
            let s = (n + a) % symbols;
            let p = price(s, i);
            writeln!(csv, "{day},acct{a},{kind},deposit,,1,1000,0,")?;
            writeln!(csv, "{day},acct{a},{kind},buy,S{s:03},{},{p},0,", 900 / p)?;
            if n % 3 == 2 {
                writeln!(csv, "{day},acct{a},,dividend,S{s:03},1,12.5,0,qualified dividend")?;
            }
        }
        n += 1;
        month = month.checked_add_months(chrono::Months::new(1)).expect("a valid month");
    }
    let rows = csv.lines().count() - 1;
    commands::ledger::import_csv(&cx, "bench performance", csv.as_bytes(), false, &who).await?;
    let mut bars = String::from("date,symbol,open,high,low,close,volume\n");
    for s in 0..symbols {
        for (i, d) in days.iter().enumerate() {
            let close = price(s, i);
            writeln!(bars, "{d},S{s:03},{close},{close},{close},{close},1000")?;
        }
    }
    for chunk in bars.lines().skip(1).collect::<Vec<_>>().chunks(50_000) {
        let part = format!("date,symbol,open,high,low,close,volume\n{}\n", chunk.join("\n"));
        commands::market::import_csv(&cx, part.as_bytes(), &who).await?;
    }
    let mut reader = queries::read::Reader::open(store.clone(), url).await?;
    reader.ready("prices").await?;
    reader.ready("holdings").await?;
    let rebuild = Instant::now();
    let events = reader.ready("valuation_history").await?;
    let rebuild_seconds = rebuild.elapsed().as_secs_f64();
    let request = queries::performance::Request {
        household: "bench performance".into(),
        account: None,
        portfolio: None,
        from: None,
        to: Some(end),
        benchmark: Some("60% S000 / 40% S001".parse().map_err(anyhow::Error::msg)?),
        timing: domain::performance::FlowTiming::StartOfDay,
        by_asset_class: false,
    };
    let now = chrono::Utc::now();
    let mut whole = Vec::with_capacity(runs);
    let mut answer = None;
    for _ in 0..runs {
        let t = Instant::now();
        answer = Some(queries::performance::performance(&reader.db, &request, now).await?);
        whole.push(t.elapsed());
    }
    let answer = answer.expect("at least one run");
    // The daily history alone, from the same ledger and closes.
    let key = domain::ledger::household_key("bench performance");
    let ledger = projections::holdings::ledger_of(&reader.db, &key).await?.expect("the ledger was imported");
    let read = Instant::now();
    let names: Vec<String> = (0..symbols).map(|s| format!("S{s:03}")).collect();
    let closes = projections::prices::closes(&reader.db, &names, end).await?;
    let closes = domain::performance::history::Closes::new(closes);
    let closes_read_ms = read.elapsed().as_secs_f64() * 1e3;
    let mut history = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let h = domain::performance::history::history(&ledger, &closes, None, end)?;
        history.push(t.elapsed());
        std::hint::black_box(h);
    }
    let p50 = |mut times: Vec<Duration>| {
        times.sort_unstable();
        times[times.len() / 2].as_secs_f64() * 1e3
    };
    let (whole_ms, history_ms) = (p50(whole), p50(history));
    Ok(serde_json::json!({
        "backend": store.backend(),
        "years": years,
        "accounts": accounts,
        "symbols": symbols,
        "ledger_rows": rows,
        "bars": days.len() * symbols,
        "days": answer.series.len(),
        "periods": answer.periods.len(),
        "runs": runs,
        "performance_p50_ms": whole_ms,
        "history_p50_ms": history_ms,
        "closes_read_ms": closes_read_ms,
        "target_ms": 200,
        "performance_over_target": whole_ms / 200.0,
        "valuation_history_rebuild": {
            "events": events,
            "seconds": rebuild_seconds,
            "events_per_sec": (events as f64 / rebuild_seconds).round(),
            "target_events_per_sec": 200_000,
        },
    }))
}

/// `cairn bench backup`: a store of about `events` events backed up, verified, and restored into
/// a new store beside `database_url` with its read models rebuilt.
pub(crate) async fn backup(
    store: &Store,
    database_url: &str,
    events: usize,
    households: usize,
) -> anyhow::Result<serde_json::Value> {
    fill(store, events, households).await?;
    let head = store.head().await?.map_or(0, |h| h.position);
    // The event data: every stored field's bytes, as the segments hold them before compression.
    let mut data = 0u64;
    let mut next = 1;
    while next <= head {
        let page = store.read_all(next, 20_000).await?;
        let Some(last) = page.last() else { break };
        next = last.global_position + 1;
        data += page
            .iter()
            .map(|e| {
                (e.payload.len()
                    + e.metadata.len()
                    + e.hash.len() * 2
                    + e.stream_id.as_str().len()
                    + e.event_type.len()
                    + 40) as u64
            })
            .sum::<u64>();
    }
    let dir = tempfile::tempdir()?;
    let key = event_store::backup::BackupKey::load_or_create(&dir.path().join("backup.key"))?;
    let folder = dir.path().join("backup");
    let t = Instant::now();
    let made = workers::backup::create(store, None, &folder, &key, None).await?;
    let create = t.elapsed().as_secs_f64();
    let t = Instant::now();
    super::backup::verify(&folder, &key).await?;
    let verify = t.elapsed().as_secs_f64();
    let target = event_store::scratch::Scratch::create(database_url).await?;
    let t = Instant::now();
    let restored = super::backup::restore_with(&folder, &key, &target.url, super::backup::Cut::All, false, false).await;
    let restore = t.elapsed().as_secs_f64();
    target.remove().await?;
    restored?;
    let mb = data as f64 / 1e6;
    let per_million = |s: f64| s * 1e6 / head.max(1) as f64;
    Ok(serde_json::json!({
        "backend": store.backend(),
        "events": head,
        "event_data_mb": mb,
        "backup_bytes": made["bytes_written"],
        "create": { "seconds": create, "mb_per_s": mb / create.max(1e-9), "target_mb_per_s": 200 },
        "verify": { "seconds": verify, "seconds_per_million_events": per_million(verify), "target_seconds_per_million": 60 },
        "restore_and_rebuild": { "seconds": restore, "seconds_per_million_events": per_million(restore), "target_seconds_per_million": 60 },
    }))
}
