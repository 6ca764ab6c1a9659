//! End-to-end: `cairn market import`, `bars` and `latest` on SQLite and PostgreSQL.

mod common;

use common::{all_backends, run, stderr, stdout};

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    serde_json::from_str(stdout(o).trim()).unwrap()
}

const BARS: &str = "date,symbol,open,high,low,close,volume,adj_close,vwap,source\n\
2025-01-06,VTI,290,292,289,291,1000,291,290.5,test\n\
2025-01-07,VTI,291,295,290,294,3000,294,293,test\n\
2025-01-13,VTI,294,296,293,295,500,295,,test\n\
2025-01-06,BND,72,72.5,71.8,72.2,800,,,test\n";

#[tokio::test]
async fn bars_import_all_or_nothing_and_resample() {
    for db in all_backends("market").await {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bars.csv");
        std::fs::write(&file, BARS).unwrap();
        let f = file.display().to_string();
        let r = json(&run(&db.url, &["market", "import", &f]));
        assert_eq!((r["symbols"].as_u64(), r["recorded"].as_u64()), (Some(2), Some(4)));
        let again = json(&run(&db.url, &["market", "import", &f]));
        assert_eq!((again["recorded"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(4)));

        let weeks =
            json(&run(&db.url, &["market", "bars", "--symbol", "vti", "--interval", "week", "--format", "json"]));
        let w = &weeks["bars"][0];
        assert_eq!(
            (w["open"].as_str(), w["high"].as_str(), w["close"].as_str(), w["volume"].as_str()),
            (Some("290"), Some("295"), Some("294"), Some("4000"))
        );
        assert_eq!(w["vwap"], "292.375");
        assert_eq!(weeks["bars"][1]["vwap"], "", "a week with a day lacking VWAP has none");
        let latest = json(&run(&db.url, &["market", "latest", "--symbol", "VTI", "--format", "json"]));
        assert_eq!(latest["bars"][0]["date"], "2025-01-13");
        let range = json(&run(
            &db.url,
            &["market", "bars", "--symbol", "VTI", "--from", "2025-01-07", "--to", "2025-01-07", "--format", "json"],
        ));
        assert_eq!(range["bars"].as_array().unwrap().len(), 1);

        // A bad row on one symbol refuses the whole file: the good rows for the other are not written.
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "date,symbol,open,high,low,close,volume\n2025-01-08,BND,72,72.4,72,72.3,900\n2025-01-08,VTI,294,293,290,291,10\n").unwrap();
        let o = run(&db.url, &["market", "import", &bad.display().to_string()]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o).trim(), "error: line 3: open: is outside the day's low and high");
        let bnd = json(&run(&db.url, &["market", "bars", "--symbol", "BND", "--format", "json"]));
        assert_eq!(bnd["bars"].as_array().unwrap().len(), 1);

        // Different values for a recorded day are a revision, kept in the history.
        let rev = dir.path().join("rev.csv");
        std::fs::write(&rev, "date,symbol,open,high,low,close,volume\n2025-01-06,BND,72,72.5,71.8,72.1,800\n").unwrap();
        let r = json(&run(&db.url, &["market", "import", &rev.display().to_string()]));
        assert_eq!(r["revised"], 1);
        let types: Vec<String> = stdout(&run(&db.url, &["events", "tail", "--stream", "market-BND"]))
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event_type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(types, ["BarRecorded", "BarRevised"]);
        let o = run(&db.url, &["market", "latest", "--symbol", "QQQ"]);
        assert_eq!(stderr(&o).trim(), "error: symbol: no market data for QQQ");
        db.remove().await;
    }
}
