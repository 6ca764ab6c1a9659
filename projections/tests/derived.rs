//! `gains` and `wash_sales` are computed on read from each household's saved state: the same
//! rows a stored table gave, filtered the same way, read in the same snapshot as the stored
//! rows, covered by the digest, and an older generation's stored copies go away at the swap.

use commands::ledger::Caller;
use event_store::Store;
use projections::db::Db;
use projections::holdings::{GAINS, LOTS, WASH_SALES};
use projections::query::{records, Record};
use projections::{Runner, Source};

const CSV: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
    2025-01-06,Brokerage,taxable,buy,M,100,50,0\n\
    2025-05-01,Brokerage,,sell,M,100,40,0\n\
    2025-05-15,Brokerage,,buy,M,75,50,0\n\
    2025-06-02,IRA,traditional_ira,buy,M,10,45,0\n\
    2025-06-20,IRA,,sell,M,10,50,0\n";

fn caller() -> Caller {
    Caller { actor: "test".into(), source: "derived rows test".into() }
}

async fn caught_up(url: &str) -> (Store, Db, Runner) {
    let store = Store::open(url).await.unwrap();
    let db = Db::open(url, false).await.unwrap();
    let mut runner = Runner::open(db.clone(), projections::by_name("holdings").unwrap()).await.unwrap();
    runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await.unwrap();
    (store, db, runner)
}

fn column(rows: &[Record], name: &str) -> Vec<String> {
    rows.iter().map(|r| r.str(name).to_owned()).collect()
}

#[tokio::test]
async fn gains_and_wash_sales_are_computed_on_read_and_filtered_like_stored_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/d.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    commands::ledger::import_csv(&commands::Context::new(store.clone()), "Smith", CSV.as_bytes(), false, &caller())
        .await
        .unwrap();
    let (store, db, runner) = caught_up(&url).await;
    let smith = ("household", Some("smith".to_owned()));
    let only_smith = std::slice::from_ref(&smith);

    // Every sale's row, in the engine's order, exactly as the lot engine states it.
    let gains = records(&db, &GAINS, only_smith).await.unwrap();
    assert_eq!(column(&gains, "seq"), ["0", "1"]);
    assert_eq!(column(&gains, "proceeds"), ["4000", "500"]);
    assert_eq!(column(&gains, "adjustment_code"), ["W", ""]);
    assert_eq!(column(&gains, "adjustment_amount"), ["750", "0"]);
    assert_eq!(column(&gains, "gain_loss"), ["-250", "50"]);
    assert_eq!(column(&gains, "reportable"), ["1", "0"]);
    let wash = records(&db, &WASH_SALES, only_smith).await.unwrap();
    assert_eq!((column(&wash, "shares"), column(&wash, "disallowed_loss")), (vec!["75".into()], vec!["750".into()]));

    // Filters as the CLI and HTTP give them: equality, ranges on dates, flags.
    let year = |y: i32| {
        vec![smith.clone(), ("date_sold >=", Some(format!("{y}-01-01"))), ("date_sold <=", Some(format!("{y}-12-31")))]
    };
    assert_eq!(records(&db, &GAINS, &year(2025)).await.unwrap().len(), 2);
    assert!(records(&db, &GAINS, &year(2026)).await.unwrap().is_empty());
    let mut reportable = year(2025);
    reportable.push(("reportable", Some("1".into())));
    assert_eq!(column(&records(&db, &GAINS, &reportable).await.unwrap(), "account"), ["Brokerage"]);
    assert_eq!(records(&db, &GAINS, &[smith.clone(), ("seq", Some("1".into()))]).await.unwrap().len(), 1);
    assert!(records(&db, &GAINS, &[("household", Some("nobody".into()))]).await.unwrap().is_empty());
    let unscoped = records(&db, &GAINS, &[]).await.unwrap_err().to_string();
    assert!(unscoped.contains("per household"), "{unscoped}");

    // Nothing of them is stored.
    assert!(!db.relation_exists("gains").await.unwrap());
    assert!(!db.relation_exists("wash_sales_g1").await.unwrap());
    assert!(db.relation_exists("lots").await.unwrap());

    // The digest covers them as if they were stored.
    let (tables, _) = runner.digest().await.unwrap();
    assert_eq!(tables["gains"].0, 2);
    assert_eq!(tables["wash_sales"].0, 1);

    // A pinned snapshot computes them from the state saved with its own rows: a sale recorded
    // and projected after the snapshot was taken is not in it.
    let pinned = db.pinned().await.unwrap();
    assert_eq!(records(&pinned, &LOTS, only_smith).await.unwrap().len(), 1);
    let later = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
        2025-07-01,Brokerage,,sell,M,25,60,0\n";
    commands::ledger::import_csv(&commands::Context::new(store.clone()), "Smith", later.as_bytes(), false, &caller())
        .await
        .unwrap();
    caught_up(&url).await;
    assert_eq!(records(&pinned, &GAINS, only_smith).await.unwrap().len(), 2, "the snapshot's own state");
    assert_eq!(records(&db, &GAINS, only_smith).await.unwrap().len(), 3, "a fresh read sees the sale");
}

/// A database written by a build that stored `gains` and `wash_sales` (version 3): the rebuild
/// into the new version drops their view and their tables with the old generation.
#[tokio::test]
async fn an_older_generations_stored_gains_go_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/u.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    commands::ledger::import_csv(&commands::Context::new(store.clone()), "Smith", CSV.as_bytes(), false, &caller())
        .await
        .unwrap();
    let (_, _, _) = caught_up(&url).await;
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE gains_g1 (household TEXT, seq INTEGER)",
        "CREATE VIEW gains AS SELECT * FROM gains_g1",
        "CREATE TABLE wash_sales_g1 (household TEXT, seq INTEGER)",
        "CREATE VIEW wash_sales AS SELECT * FROM wash_sales_g1",
        "UPDATE cairn_projectors SET version = 3 WHERE name = 'holdings'",
    ] {
        sqlx::query(sql).execute(&raw).await.unwrap();
    }
    let (_, db, runner) = caught_up(&url).await;
    assert_eq!(runner.status(None).await.unwrap().generation, 2);
    for gone in ["gains", "gains_g1", "wash_sales", "wash_sales_g1"] {
        assert!(!db.relation_exists(gone).await.unwrap(), "{gone} is still there");
    }
    let smith = [("household", Some("smith".to_owned()))];
    assert_eq!(records(&db, &GAINS, &smith).await.unwrap().len(), 2);
}

/// A rebuild absorbs the whole log as one batch, households and bar runs on every core, and
/// writes households while others are derived; catching up import by import absorbs small
/// batches on one thread. Both give exactly the same rows, stored and derived.
#[tokio::test]
async fn one_large_parallel_batch_gives_the_rows_of_many_small_ones() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/p.db", dir.path().display());
    let store = Store::open(&url).await.unwrap();
    let db = Db::open(&url, false).await.unwrap();
    let mut runner = Runner::open(db.clone(), projections::by_name("holdings").unwrap()).await.unwrap();
    let csv = commands::bench::generate_csv(1_500, 4, 12);
    for household in ["Ames", "Byrd", "Cole"] {
        commands::ledger::import_csv(
            &commands::Context::new(store.clone()),
            household,
            csv.as_bytes(),
            false,
            &caller(),
        )
        .await
        .unwrap();
        runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await.unwrap();
    }
    // 12 symbols × 500 days: more bars than one decoding unit holds.
    let mut bars = String::from("date,symbol,open,high,low,close,volume\n");
    let days = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap().iter_days();
    for (i, day) in days.filter(|d| !domain::calendar::is_market_closed(*d)).take(500).enumerate() {
        for s in 0..12 {
            let close = 20 + (s * 7 + i) % 300;
            bars.push_str(&format!("{day},S{s:03},{close},{},{close},{close},1000\n", close + 1));
        }
    }
    commands::market::import_csv(&commands::Context::new(store.clone()), bars.as_bytes(), &caller()).await.unwrap();
    runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await.unwrap();
    let (incremental, all) = runner.digest().await.unwrap();
    assert!(incremental["lots"].0 > 100 && incremental["gains"].0 > 100, "{incremental:?}");
    assert!(incremental["valuations"].0 > 0 && incremental["wash_sales"].0 > 0, "{incremental:?}");

    runner.start_shadow().await.unwrap();
    let read = runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await.unwrap();
    assert!(read > 6_000, "one batch of the whole log: {read}");
    let (rebuilt, rebuilt_all) = runner.digest().await.unwrap();
    assert_eq!(rebuilt, incremental);
    assert_eq!(rebuilt_all, all);
}

/// The daily value history grown one day of closes at a time (each flush writes only the new
/// days of a household whose ledger did not change; every other day by a new runner, which reads
/// the stored last days), with a late revision of an earlier close and a ledger change in
/// between, holds exactly the rows a rebuild in one pass writes: on SQLite and on PostgreSQL.
#[tokio::test]
async fn a_history_grown_day_by_day_equals_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        event_store::scratch::Scratch::create(&format!("sqlite://{}/v.db", dir.path().display())).await.unwrap();
    grown_day_by_day(&sqlite.url).await;
    sqlite.remove().await.unwrap();
    match std::env::var("CAIRN_TEST_DATABASE_URL") {
        Ok(url) => {
            let pg = event_store::scratch::Scratch::create(&url).await.unwrap();
            grown_day_by_day(&pg.url).await;
            pg.remove().await.unwrap();
        }
        Err(_) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: history day by day on PostgreSQL (CAIRN_TEST_DATABASE_URL is not set)"
            );
        }
    }
}

async fn grown_day_by_day(url: &str) {
    let store = Store::open(url).await.unwrap();
    let db = Db::open(url, false).await.unwrap();
    let cx = commands::Context::new(store.clone());
    let open = || async { Runner::open(db.clone(), projections::by_name("valuation_history").unwrap()).await.unwrap() };
    let mut runner = open().await;
    commands::ledger::import_csv(&cx, "Smith", CSV.as_bytes(), false, &caller()).await.unwrap();
    let days: Vec<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(2025, 7, 1)
        .unwrap()
        .iter_days()
        .filter(|d| !domain::calendar::is_market_closed(*d))
        .take(8)
        .collect();
    let bar = |day: &chrono::NaiveDate, close: u32| {
        format!("date,symbol,open,high,low,close,volume\n{day},M,{close},{close},{close},{close},1000\n")
    };
    let history = |db: Db| async move {
        let rows = records(&db, &projections::valuation_history::VALUE_HISTORY, &[]).await.unwrap();
        (column(&rows, "date"), column(&rows, "value"))
    };
    for (i, day) in days.iter().enumerate() {
        commands::market::import_csv(&cx, bar(day, 50 + i as u32).as_bytes(), &caller()).await.unwrap();
        if i == 4 {
            // A revision of an earlier day's close, and a new row in the ledger.
            commands::market::import_csv(&cx, bar(&days[1], 70).as_bytes(), &caller()).await.unwrap();
            let more = format!(
                "trade_date,account,account_type,action,symbol,quantity,price,fees\n{day},Brokerage,,buy,M,5,54,0\n"
            );
            commands::ledger::import_csv(&cx, "Smith", more.as_bytes(), false, &caller()).await.unwrap();
        }
        if i % 2 == 1 {
            runner = open().await;
        }
        runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await.unwrap();
    }
    let (grown, _) = runner.digest().await.unwrap();
    let (dates, values) = history(db.clone()).await;
    assert_eq!(dates.last().map(String::as_str), Some(days[7].to_string().as_str()));
    // 80 M at the last close of 57 (4,560), and cash of -5,000 + 4,000 - 3,750 - 450 + 500 - 270.
    assert_eq!(values.last().map(String::as_str), Some("-410"), "{dates:?} {values:?}");

    runner.start_shadow().await.unwrap();
    runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await.unwrap();
    let (rebuilt, _) = runner.digest().await.unwrap();
    assert_eq!(rebuilt, grown);
    assert_eq!(history(db).await, (dates, values));
}
