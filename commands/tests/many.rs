//! A command over many streams (`aggregate::execute_many`) decides them on every core from
//! `PARALLEL_DECISIONS` streams on: each stream still gets its own decision, in order, in one
//! transaction.

use commands::aggregate::Caller;
use commands::Context;
use event_store::Store;

fn caller() -> Caller {
    Caller { actor: "test".into(), source: "many streams test".into() }
}

/// Three days of bars for each of `symbols` symbols, each symbol's closes its own.
fn bars(symbols: usize, bump: u32) -> String {
    let mut csv = String::from("date,symbol,open,high,low,close,volume\n");
    for i in 0..symbols {
        for (day, date) in ["2025-03-03", "2025-03-04", "2025-03-05"].iter().enumerate() {
            let close = 100 + i * 10 + day + bump as usize;
            csv.push_str(&format!("{date},S{i:02},{close},{},{},{close},1000\n", close + 1, close - 1));
        }
    }
    csv
}

#[tokio::test]
async fn forty_symbols_each_get_their_own_bars_in_one_import() {
    let cx = Context::new(Store::open("sqlite::memory:").await.unwrap());
    let r = commands::market::import_csv(&cx, bars(40, 0).as_bytes(), &caller()).await.unwrap();
    assert_eq!((r.recorded, r.revised, r.unchanged), (120, 0, 0));
    for i in 0..40 {
        let recorded = commands::market::recorded_bars(&cx, &format!("S{i:02}")).await.unwrap();
        let closes: Vec<String> = recorded.iter().map(|b| b.close.to_string()).collect();
        let want: Vec<String> = (0..3).map(|day| (100 + i * 10 + day).to_string()).collect();
        assert_eq!(closes, want, "S{i:02}");
    }
    // Again: nothing new; then every close one higher: each bar revised, in its own stream.
    let again = commands::market::import_csv(&cx, bars(40, 0).as_bytes(), &caller()).await.unwrap();
    assert_eq!((again.recorded, again.unchanged), (0, 120));
    let revised = commands::market::import_csv(&cx, bars(40, 1).as_bytes(), &caller()).await.unwrap();
    assert_eq!(revised.revised, 120);
    let last = commands::market::recorded_bars(&cx, "S39").await.unwrap();
    assert_eq!(last[2].close.to_string(), "493");
}
