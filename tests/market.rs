//! End-to-end: `cairn market import`, `bars` and `latest` on SQLite and PostgreSQL.

mod common;

use common::{all_backends, run, stderr, stdout};

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    serde_json::from_str(stdout(o).trim()).unwrap()
}

/// Writes `text` to the file `name` in `dir`; its path.
fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
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

/// The security master: descriptions recorded once (again only when changed), refused by line
/// when wrong, and consolidated holdings grouped by them, cash its own class.
#[tokio::test]
async fn securities_describe_symbols_and_holdings_group_by_them() {
    for db in all_backends("securities").await {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| write_file(&dir, name, text);
        let ledger = write(
            "ledger.csv",
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-01-06,taxable,taxable,deposit,,1,10000,0\n\
             2025-01-06,taxable,,buy,VTI,10,291,0\n\
             2025-01-06,ira,roth_ira,deposit,,1,3000,0\n\
             2025-01-06,ira,,buy,VTI,5,291,0\n\
             2025-01-06,ira,,buy,BND,10,72.2,0\n\
             2025-01-06,ira,,buy,XYZ,1,10,0\n",
        );
        assert!(run(&db.url, &["ledger", "import", &ledger, "--household", "Kim"]).status.success());
        assert!(run(&db.url, &["market", "import", &write("bars.csv", BARS)]).status.success());
        let securities = write(
            "securities.csv",
            "symbol,name,asset_class,sector,region\n\
             VTI,Vanguard Total Stock Market ETF,equity,Diversified,US\n\
             bnd,Vanguard Total Bond Market ETF,Fixed Income,Government & Corporate,US\n",
        );
        let r = json(&run(&db.url, &["market", "securities", &securities]));
        assert_eq!((r["symbols"].as_u64(), r["described"].as_u64()), (Some(2), Some(2)));
        let again = json(&run(&db.url, &["market", "securities", &securities]));
        assert_eq!((again["described"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(2)));

        let h = json(&run(&db.url, &["holdings", "--household", "Kim", "--format", "json"]));
        // VTI 15 × 295 (its latest close) = 4,425.00; BND 10 × 72.2 = 722.00; XYZ has no price;
        // cash 10,000 - 2,910 + 3,000 - 1,455 - 722 - 10 = 7,903.00.
        assert_eq!((h["total"].as_str(), h["cash"].as_str()), (Some("13050.00"), Some("7903.00")), "{h}");
        assert_eq!((h["unpriced"].as_u64(), h["unclassified"].as_u64()), (Some(1), Some(1)));
        let vti = &h["holdings"][0];
        assert_eq!(
            (&vti["symbol"], &vti["quantity"], &vti["market_value"], &vti["accounts"]),
            (&"VTI".into(), &"15".into(), &"4425.00".into(), &serde_json::json!(["ira", "taxable"]))
        );
        let classes: Vec<(String, String)> = h["by_asset_class"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap().to_owned(), s["value"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            classes,
            [
                ("cash".into(), "7903.00".into()),
                ("equity".into(), "4425.00".into()),
                ("fixed_income".into(), "722.00".into())
            ]
        );
        let table = stdout(&run(&db.url, &["holdings", "--household", "Kim", "--by", "sector"]));
        assert!(table.contains("Government & Corporate") && table.contains("722.00"), "{table}");

        // Returns per asset class: each class's positions as a portfolio of their own.
        let args = ["performance", "--household", "Kim", "--to", "2025-01-13", "--by", "asset-class"];
        let p = json(&run(&db.url, &[&args[..], &["--format", "json"]].concat()));
        let inception = |rows: &serde_json::Value| {
            let row = rows.as_array().unwrap().iter().find(|r| r["period"] == "inception").unwrap().clone();
            (row["closing"].as_str().unwrap().to_owned(), row["time_weighted"].as_str().unwrap().to_owned())
        };
        let classes: Vec<(String, Vec<String>, (String, String))> = p["asset_classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let symbols = c["symbols"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
                (c["asset_class"].as_str().unwrap().to_owned(), symbols, inception(&c["periods"]))
            })
            .collect();
        assert_eq!(
            classes,
            [
                // 15 VTI bought at 291, worth 295 on the 13th: 60 / 4,365.
                ("equity".into(), vec!["VTI".into()], ("4425.00".into(), "0.013746".into())),
                ("fixed_income".into(), vec!["BND".into()], ("722.00".into(), "0.000000".into())),
                // No close for XYZ: its trade price, unchanged.
                ("unclassified".into(), vec!["XYZ".into()], ("10.00".into(), "0.000000".into())),
            ]
        );
        let table = stdout(&run(&db.url, &args));
        assert!(table.starts_with("asset_class") && table.contains("\nequity "), "{table}");
        let taxable = json(&run(&db.url, &[&args[..], &["--account", "taxable", "--format", "json"]].concat()));
        assert_eq!(taxable["asset_classes"].as_array().unwrap().len(), 1, "the taxable account holds VTI alone");
        // A portfolio's accounts counted together: the IRA's.
        json(&run(
            &db.url,
            &["portfolio", "create", "--household", "Kim", "--name", "Retirement", "--accounts", "ira"],
        ));
        let retirement = json(&run(&db.url, &[&args[..], &["--portfolio", "Retirement", "--format", "json"]].concat()));
        assert_eq!(retirement["accounts"], serde_json::json!(["ira"]));
        let classes: Vec<&str> = retirement["asset_classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["asset_class"].as_str().unwrap())
            .collect();
        assert_eq!(classes, ["equity", "fixed_income", "unclassified"]);
        let ira = json(&run(&db.url, &[&args[..], &["--account", "ira", "--format", "json"]].concat()));
        assert_eq!(retirement["periods"], ira["periods"], "the portfolio is its one account");
        let o = run(&db.url, &[&args[..], &["--portfolio", "Growth"]].concat());
        assert!(stderr(&o).contains("portfolio: the household has no portfolio \"Growth\""), "{}", stderr(&o));

        // A changed description is recorded; the holdings follow it.
        let changed = write("changed.csv", "symbol,name,asset_class\nBND,Vanguard Total Bond Market ETF,multi-asset\n");
        assert_eq!(json(&run(&db.url, &["market", "securities", &changed]))["described"], 1);
        let h = json(&run(&db.url, &["holdings", "--household", "Kim", "--format", "json"]));
        let bnd = h["holdings"].as_array().unwrap().iter().find(|x| x["symbol"] == "BND").unwrap().clone();
        assert_eq!((&bnd["asset_class"], &bnd["sector"]), (&"multi_asset".into(), &"unclassified".into()));

        // Refusals name the line and the field; nothing is recorded.
        for (text, needle) in [
            ("symbol,name,asset_class\nVTI,Total,stocks\n", "line 2: asset_class"),
            (
                "symbol,name,asset_class\nVTI,A,equity\nVTI,B,equity\n",
                "line 3: symbol: VTI appears twice (also line 2)",
            ),
            ("symbol,name,asset_class\nVTI,,equity\n", "line 2: name"),
            ("symbol,name\nVTI,A\n", "asset_class"),
        ] {
            let o = run(&db.url, &["market", "securities", &write("bad.csv", text)]);
            assert_eq!(o.status.code(), Some(2), "{text}");
            assert!(stderr(&o).contains(needle), "{text}: {}", stderr(&o));
        }
        let o = run(&db.url, &["holdings", "--household", "Nobody"]);
        assert!(stderr(&o).contains("no ledger"), "{}", stderr(&o));
    }
}

/// A household reporting in euros: its dollar values, flows and income divided by each day's
/// EUR.USD rate, the benchmark too; lots stay in dollars, holdings show both.
#[tokio::test]
async fn a_household_in_euros_sees_its_values_and_returns_in_euros() {
    for db in all_backends("base currency").await {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| write_file(&dir, name, text);
        let ledger = write(
            "ledger.csv",
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-03-03,brokerage,taxable,deposit,,1,10800,0\n\
             2025-03-03,brokerage,,buy,VTI,10,1080,0\n",
        );
        json(&run(&db.url, &["ledger", "import", &ledger, "--household", "Weber"]));
        let bars = write(
            "bars.csv",
            "date,symbol,open,high,low,close,volume\n\
             2025-03-03,VTI,1080,1080,1080,1080,100\n\
             2025-03-05,VTI,1188,1188,1188,1188,100\n",
        );
        json(&run(&db.url, &["market", "import", &bars]));
        let rates = write("rates.csv", "date,currency,usd_per_unit\n2025-03-03,EUR,1.08\n2025-03-05,EUR,1.10\n");
        json(&run(&db.url, &["market", "rates", &rates]));
        let set = json(&run(&db.url, &["ledger", "household", "--household", "Weber", "--base-currency", "eur"]));
        assert_eq!((set["base_currency"].as_str(), set["events"].as_u64()), (Some("EUR"), Some(1)));

        let args =
            ["performance", "--household", "Weber", "--to", "2025-03-05", "--benchmark", "VTI", "--format", "json"];
        let p = json(&run(&db.url, &args));
        assert_eq!(p["currency"], "EUR");
        let inception = p["periods"].as_array().unwrap().iter().find(|r| r["period"] == "inception").unwrap().clone();
        // 10,800 dollars were 10,000 euros; 11,880 dollars at 1.10 are 10,800 euros: 8 % in
        // euros where the dollars made 10 %, and VTI itself made 8 % in euros.
        assert_eq!(
            (&inception["opening"], &inception["net_flow"], &inception["closing"], &inception["time_weighted"]),
            (&"0.00".into(), &"10000.00".into(), &"10800.00".into(), &"0.080000".into()),
            "{inception}"
        );
        assert_eq!((&inception["benchmark_return"], &inception["excess"]), (&"0.080000".into(), &"0.000000".into()));
        let by_class = json(&run(&db.url, &[&args[..5], &["--by", "asset-class", "--format", "json"]].concat()));
        let class = &by_class["asset_classes"][0]["periods"];
        let last = class.as_array().unwrap().iter().find(|r| r["period"] == "inception").unwrap();
        assert_eq!(last["time_weighted"], "0.080000", "a class's return is in euros too");

        let h = json(&run(&db.url, &["holdings", "--household", "Weber", "--format", "json"]));
        assert_eq!(
            (&h["total"], &h["currency"], &h["total_base"], &h["usd_per_unit"], &h["rate_date"]),
            (&"11880.00".into(), &"EUR".into(), &"10800.00".into(), &"1.1".into(), &"2025-03-05".into())
        );
        assert_eq!(h["holdings"][0]["market_value_base"], "10800.00");
        let table = stdout(&run(&db.url, &["holdings", "--household", "Weber"]));
        assert!(table.lines().next().unwrap().contains("market_value_base"), "{table}");
        let lots = json(&run(&db.url, &["ledger", "lots", "--household", "Weber", "--format", "json"]));
        assert_eq!(lots["lots"][0]["adjusted_basis"], "10800.00", "lots stay in dollars");
        let income = json(&run(&db.url, &["income", "--household", "Weber", "--to", "2025-03-05", "--format", "json"]));
        assert_eq!(income["currency"], "EUR");

        // A currency without a rate for the first day is named; a bad code is refused.
        json(&run(&db.url, &["ledger", "household", "--household", "Weber", "--base-currency", "GBP"]));
        let o = run(&db.url, &args);
        assert!(
            stderr(&o).contains(
                "base_currency: the household reports in GBP and there is no GBP.USD rate on or before 2025-03-03"
            ),
            "{}",
            stderr(&o)
        );
        let o = run(&db.url, &["ledger", "household", "--household", "Weber", "--base-currency", "euro"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("base_currency: \"EURO\" is not a currency code"), "{}", stderr(&o));
        // Back to dollars: the figures are the dollars'.
        json(&run(&db.url, &["ledger", "household", "--household", "Weber", "--base-currency", "USD"]));
        let p = json(&run(&db.url, &args));
        assert_eq!(p["currency"], "USD");
        let h = json(&run(&db.url, &["holdings", "--household", "Weber", "--format", "json"]));
        assert_eq!((&h["currency"], &h["total_base"]), (&"USD".into(), &serde_json::Value::Null));
    }
}

/// A security bought in euros: the row is kept in dollars at its own rate, its closes are
/// euros, valued in dollars at the `EUR.USD` pair's close of their day (the row's rate before
/// the pair has one); a new rate revalues the position and the daily history.
#[tokio::test]
async fn a_security_quoted_in_euros_is_valued_in_dollars_at_the_days_rate() {
    for db in all_backends("fx valuations").await {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| write_file(&dir, name, text);
        let ledger = write(
            "ledger.csv",
            "trade_date,account,account_type,action,symbol,quantity,price,fees,currency,fx_rate\n\
             2025-03-03,ibkr,taxable,deposit,,1,5000,0,,\n\
             2025-03-03,ibkr,,buy,SAP,10,180.50,3,eur,1.0850\n",
        );
        json(&run(&db.url, &["ledger", "import", &ledger, "--household", "Euro"]));
        let bars = write(
            "bars.csv",
            "date,symbol,open,high,low,close,volume\n\
             2025-03-04,SAP,182,186,181,185,1000\n\
             2025-03-05,SAP,185,190,184,190,1000\n\
             2025-03-05,EUR.USD,1.07,1.08,1.06,1.08,0\n",
        );
        json(&run(&db.url, &["market", "import", &bars]));

        // 10 × 190 EUR at 1.08.
        let positions = json(&run(&db.url, &["ledger", "positions", "--household", "Euro", "--format", "json"]));
        let sap = &positions["positions"][0];
        assert_eq!(
            (
                &sap["symbol"],
                &sap["price"],
                &sap["currency"],
                &sap["fx_rate"],
                &sap["market_value"],
                &sap["cost_basis"]
            ),
            (
                &serde_json::json!("SAP"),
                &serde_json::json!("190"),
                &serde_json::json!("EUR"),
                &serde_json::json!("1.08"),
                &serde_json::json!("2052.00"),
                &serde_json::json!("1961.68")
            ),
            "{positions}"
        );
        let perf =
            json(&run(&db.url, &["performance", "--household", "Euro", "--to", "2025-03-06", "--format", "json"]));
        let value = |perf: &serde_json::Value, date: &str| {
            perf["series"].as_array().unwrap().iter().find(|d| d["date"] == date).map(|d| d["value"].clone())
        };
        // Cash 5,000 − 1,961.68; on the 4th 185 EUR at the row's 1.0850, on the 5th 190 at 1.08.
        assert_eq!(value(&perf, "2025-03-04"), Some(serde_json::json!("5045.57")));
        assert_eq!(value(&perf, "2025-03-05"), Some(serde_json::json!("5090.32")));

        // A rates file: a bad line refuses it whole, naming the line; a rate for the 6th moves
        // the position and the history with it alone.
        let bad = write("bad-rates.csv", "date,currency,usd_per_unit\n2025-03-06,EUR,1.10\n2025-03-06,usd,1\n");
        let o = run(&db.url, &["market", "rates", &bad]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("line 3: currency:"), "{}", stderr(&o));
        let rate = write("rates.csv", "date,currency,usd_per_unit,source\n2025-03-06,eur,1.10,ECB\n");
        let r = json(&run(&db.url, &["market", "rates", &rate]));
        assert_eq!((r["pairs"].as_u64(), r["recorded"].as_u64()), (Some(1), Some(1)));
        let pair = json(&run(&db.url, &["market", "latest", "--symbol", "EUR.USD", "--format", "json"]));
        assert_eq!(
            (&pair["bars"][0]["date"], &pair["bars"][0]["close"]),
            (&serde_json::json!("2025-03-06"), &serde_json::json!("1.1"))
        );
        let positions = json(&run(&db.url, &["ledger", "positions", "--household", "Euro", "--format", "json"]));
        assert_eq!(positions["positions"][0]["market_value"], "2090.00");
        let perf =
            json(&run(&db.url, &["performance", "--household", "Euro", "--to", "2025-03-06", "--format", "json"]));
        assert_eq!(value(&perf, "2025-03-05"), Some(serde_json::json!("5090.32")));
        assert_eq!(value(&perf, "2025-03-06"), Some(serde_json::json!("5128.32")));
        let account = json(&run(
            &db.url,
            &["performance", "--household", "Euro", "--account", "ibkr", "--to", "2025-03-06", "--format", "json"],
        ));
        assert_eq!(value(&account, "2025-03-06"), value(&perf, "2025-03-06"), "one account's, computed on read");
    }
}

/// A local replica of Stooq's daily CSV download, serving made-up closes for VTI on each NYSE
/// trading day (`100 + i` on the i-th), a bad bar on Saturday 8 March 2025 (the NYSE was
/// closed), and `No data` for anything else.
async fn stooq_replica() -> String {
    use axum::extract::Query;
    async fn csv(Query(q): Query<std::collections::HashMap<String, String>>) -> String {
        if q.get("s").map(String::as_str) != Some("vti.us") {
            return "No data".into();
        }
        let day = |k: &str| chrono::NaiveDate::parse_from_str(&q[k], "%Y%m%d").unwrap();
        let mut out = String::from("Date,Open,High,Low,Close,Volume\n");
        let first = chrono::NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
        let days =
            first.iter_days().take_while(|d| *d <= day("d2")).filter(|d| !domain::calendar::is_market_closed(*d));
        for (i, d) in days.enumerate().filter(|(_, d)| *d >= day("d1")) {
            let c = 100 + i;
            out.push_str(&format!("{d},{c},{},{},{c},1000\n", c + 1, c - 1));
        }
        let saturday = chrono::NaiveDate::from_ymd_opt(2025, 3, 8).unwrap();
        if (day("d1")..=day("d2")).contains(&saturday) {
            out.push_str("2025-03-08,105,106,104,105,10\n");
        }
        out
    }
    common::replica(axum::Router::new().route("/q/d/l/", axum::routing::get(csv))).await
}

/// `cairn market fetch` from a provider's replica, then `cairn market indicators` over what it
/// recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bars_are_fetched_from_a_provider_and_indicators_computed_over_them() {
    let base = stooq_replica().await;
    for db in all_backends("market fetch").await {
        let dir = tempfile::tempdir().unwrap();
        let providers = write_file(
            &dir,
            "providers.toml",
            &format!("[[provider]]\nname = \"stooq\"\nkind = \"stooq\"\nbase_url = \"{base}\"\npriority = 1\n"),
        );
        let fetch = ["market", "fetch", "--symbols", "vti,NOPE", "--from", "2025-03-03", "--to", "2025-03-14"];
        let o = run(&db.url, &[&fetch[..], &["--providers", &providers]].concat());
        assert_eq!(o.status.code(), Some(1), "NOPE has no provider: {}", stderr(&o));
        let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!((report["recorded"].as_u64(), report["failed"].as_u64()), (Some(10), Some(1)), "{report}");
        assert_eq!(report["rejected"].as_u64(), Some(1), "the Saturday bar: {report}");
        assert_eq!(report["symbols"][0]["rejected"][0]["checks"][0], "calendar", "{report}");
        assert_eq!(report["symbols"][0]["providers"][0], "stooq");
        assert!(report["symbols"][1]["attempts"][0]["problem"].as_str().unwrap().contains("no data"), "{report}");
        // Again: nothing new.
        let o = run(
            &db.url,
            &[
                &fetch[..2],
                &["--symbols", "VTI", "--from", "2025-03-03", "--to", "2025-03-14", "--providers", &providers],
            ]
            .concat(),
        );
        let again: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        // The Saturday bar was refused once and is not refused again.
        assert_eq!((again["recorded"].as_u64(), again["rejected"].as_u64()), (Some(0), Some(0)), "{again}");
        assert_eq!(again["unchanged"].as_u64(), Some(11), "{again}");

        // Every recorded bar is graded; the refused one is kept with why.
        let q = json(&run(&db.url, &["market", "quality", "--symbol", "vti", "--format", "json"]));
        assert_eq!(q["grades"], serde_json::json!({"excellent": 10}), "{q}");
        assert_eq!(q["refused"], 1, "{q}");
        let q = json(&run(&db.url, &["market", "quality", "--symbol", "VTI", "--problems", "--format", "json"]));
        let rows = q["quality"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{q}");
        assert_eq!(
            (&rows[0]["date"], &rows[0]["status"], &rows[0]["source"]),
            (&"2025-03-08".into(), &"refused".into(), &"stooq".into())
        );
        assert_eq!(rows[0]["checks"], "calendar");
        assert!(rows[0]["reasons"].as_str().unwrap().contains("Saturday"), "{q}");

        let bars = json(&run(&db.url, &["market", "bars", "--symbol", "VTI", "--format", "json"]));
        let rows = bars["bars"].as_array().unwrap();
        assert_eq!((rows.len(), &rows[9]["close"], &rows[9]["source"]), (10, &"109".into(), &"stooq".into()), "{bars}");

        // SMA(3) of 107, 108, 109 is 108; RSI(2) of a series that only rises is 100.
        let ind = json(&run(
            &db.url,
            &[
                "market",
                "indicators",
                "--symbol",
                "VTI",
                "--indicator",
                "sma:3,rsi:2",
                "--from",
                "2025-03-14",
                "--format",
                "json",
            ],
        ));
        let rows: Vec<(String, String)> = ind["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["output"].as_str().unwrap().to_owned(), r["value"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(rows, [("sma_3".to_owned(), "108".to_owned()), ("rsi_2".to_owned(), "100".to_owned())], "{ind}");
        let o = run(&db.url, &["market", "indicators", "--symbol", "VTI", "--indicator", "rsi:0"]);
        assert!(stderr(&o).contains("indicator: \"rsi:0\": the period must be at least 1"), "{}", stderr(&o));
        let o = run(&db.url, &["market", "providers", "--providers", &providers, "--probe", "NOPE"]);
        assert!(stdout(&o).contains("stooq") && stdout(&o).contains("no data"), "{}", stdout(&o));
    }
}

/// `cairn serve` with a providers file that has an `[ingest]` table fetches by itself: bars
/// arrive without anyone running `market fetch`, and `/metrics` shows the run and the
/// provider's breaker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_ingests_on_its_schedule_and_shows_the_providers_on_metrics() {
    let base = stooq_replica().await;
    for db in all_backends("market ingest").await {
        let dir = tempfile::tempdir().unwrap();
        let providers = write_file(
            &dir,
            "providers.toml",
            &format!(
                "[[provider]]\nname = \"stooq\"\nkind = \"stooq\"\nbase_url = \"{base}\"\n\n\
                 [ingest]\nsymbols = [\"VTI\"]\nevery_seconds = 3600\nlookback_days = 10\n"
            ),
        );
        let mut env = common::server_env(dir.path());
        env.push(("CAIRN_PROVIDERS".into(), providers));
        let (mut child, url) = common::serve(&db.url, env);
        let mut metrics = String::new();
        for _ in 0..150 {
            metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
            if metrics.lines().any(|l| l == "cairn_ingest_runs_total 1")
                && !metrics.lines().any(|l| l == "cairn_ingest_last_run_timestamp_seconds 0")
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
        assert!(metrics.lines().any(|l| l == "cairn_ingest_runs_total 1"), "{metrics}");
        assert!(metrics.lines().any(|l| l == "cairn_ingest_failed_runs_total 0"), "{metrics}");
        assert!(
            metrics.lines().any(|l| l == "cairn_market_provider_state{provider=\"stooq\",state=\"closed\"} 1"),
            "{metrics}"
        );
        assert!(metrics.lines().any(|l| l == "cairn_market_provider_calls_total{provider=\"stooq\"} 1"), "{metrics}");
        let recorded = metrics
            .lines()
            .find_map(|l| l.strip_prefix("cairn_ingest_bars_recorded_total "))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        // The last ten days hold at least five NYSE trading days.
        assert!(recorded >= 5, "{metrics}");
        let bars = json(&run(&db.url, &["market", "bars", "--symbol", "VTI", "--format", "json"]));
        assert_eq!(bars["bars"].as_array().unwrap().len() as u64, recorded, "{bars}");
        assert!(bars["bars"].as_array().unwrap().iter().all(|b| b["source"] == "stooq"), "{bars}");
    }
}

/// `cairn market ratios` asks a replica of Alpha Vantage's fundamentals endpoints and prices
/// them at the latest recorded close, or at `--price`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratios_come_from_a_providers_fundamentals_at_the_latest_close() {
    use axum::extract::Query;
    async fn query(Query(q): Query<std::collections::HashMap<String, String>>) -> String {
        assert_eq!(q.get("apikey").map(String::as_str), Some("av-test"), "the key is sent");
        if q.get("symbol").map(String::as_str) != Some("ACME") {
            return "{}".into();
        }
        match q["function"].as_str() {
            "OVERVIEW" => include_str!("../workers/src/market/providers/fixtures/alpha_vantage_acme_overview.json"),
            "BALANCE_SHEET" => {
                include_str!("../workers/src/market/providers/fixtures/alpha_vantage_acme_balance_sheet.json")
            }
            "INCOME_STATEMENT" => {
                include_str!("../workers/src/market/providers/fixtures/alpha_vantage_acme_income_statement.json")
            }
            other => panic!("unexpected function {other}"),
        }
        .to_owned()
    }
    let base = common::replica(axum::Router::new().route("/query", axum::routing::get(query))).await;
    for db in all_backends("market ratios").await {
        let dir = tempfile::tempdir().unwrap();
        let providers = write_file(
            &dir,
            "providers.toml",
            &format!(
                "[[provider]]\nname = \"av\"\nkind = \"alpha_vantage\"\nbase_url = \"{base}\"\nkey_env = \"AV_KEY\"\n"
            ),
        );
        let ratios = |extra: &[&str]| {
            let args =
                [&["market", "ratios", "--symbol", "acme", "--providers", &providers, "--format", "json"], extra]
                    .concat();
            let o = common::cairn()
                .args(["--database-url", &db.url])
                .args(&args)
                .env("AV_KEY", "av-test")
                .output()
                .unwrap();
            json(&o)
        };
        let value = |r: &serde_json::Value, name: &str| -> serde_json::Value {
            r["ratios"].as_array().unwrap().iter().find(|x| x["ratio"] == name).unwrap().clone()
        };
        // No close recorded yet: the price ratios say the price is missing, the others stand.
        let r = ratios(&[]);
        assert_eq!(r["provider"], "av", "{r}");
        assert_eq!(value(&r, "price_to_book")["value"], "", "{r}");
        assert!(value(&r, "price_to_book")["reason"].as_str().unwrap().contains("price"), "{r}");
        assert_eq!(value(&r, "current_ratio")["value"], "2", "{r}");
        assert_eq!(value(&r, "debt_to_equity")["value"], "0.65", "{r}");

        let bars = write_file(
            &dir,
            "bars.csv",
            "date,symbol,open,high,low,close,volume\n2024-04-01,ACME,101,103,100,102,5000\n",
        );
        json(&run(&db.url, &["market", "import", &bars]));
        let r = ratios(&[]);
        assert_eq!((&r["price"], &r["price_date"]), (&"102".into(), &"2024-04-01".into()), "{r}");
        assert_eq!(value(&r, "price_to_book")["value"], "2.04", "{r}");
        // 102 / 5.05 to six places.
        assert_eq!(value(&r, "price_to_earnings")["value"], "20.19802", "{r}");
        let r = ratios(&["--price", "51"]);
        assert_eq!(value(&r, "price_to_book")["value"], "1.02", "{r}");

        let o = common::cairn()
            .args(["--database-url", &db.url, "market", "ratios", "--symbol", "NOPE", "--providers", &providers])
            .env("AV_KEY", "av-test")
            .output()
            .unwrap();
        assert!(!o.status.success());
        assert!(stderr(&o).contains("no provider answered for NOPE fundamentals"), "{}", stderr(&o));
    }
}

/// A local replica of Polygon's stocks WebSocket: checks the key, answers subscribe, then sends
/// a quote of each subscribed symbol every 50 ms (bid 231.40 + n/100, ask 0.04 above).
async fn polygon_stream_replica() -> String {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                let status =
                    |s: &str, m: &str| Message::text(format!(r#"[{{"ev":"status","status":"{s}","message":"{m}"}}]"#));
                let _ = ws.send(status("connected", "Connected Successfully")).await;
                let mut symbols: Vec<String> = Vec::new();
                let mut n = 0u64;
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
                loop {
                    tokio::select! {
                        m = ws.next() => {
                            let Some(Ok(Message::Text(text))) = m else { return };
                            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                            match v["action"].as_str() {
                                Some("auth") if v["params"] == "pk-live" => {
                                    let _ = ws.send(status("auth_success", "authenticated")).await;
                                }
                                Some("auth") => {
                                    let _ = ws.send(status("auth_failed", "authentication failed")).await;
                                    return;
                                }
                                Some("subscribe") => {
                                    for p in v["params"].as_str().unwrap().split(',') {
                                        if let Some(s) = p.strip_prefix("Q.") {
                                            symbols.push(s.to_owned());
                                        }
                                    }
                                    let _ = ws.send(status("success", &format!("subscribed to: {}", v["params"]))).await;
                                }
                                _ => {}
                            }
                        }
                        _ = tick.tick() => {
                            n += 1;
                            let t = chrono::Utc::now().timestamp_millis();
                            let frame: Vec<String> = symbols
                                .iter()
                                .map(|s| {
                                    let bid = rust_decimal::Decimal::new(23140 + n as i64, 2);
                                    let ask = bid + rust_decimal::Decimal::new(4, 2);
                                    format!(r#"{{"ev":"Q","sym":"{s}","bx":4,"bp":{bid},"bs":100,"ax":7,"ap":{ask},"as":160,"c":0,"t":{t},"q":{n},"z":3}}"#)
                                })
                                .collect();
                            if !frame.is_empty() && ws.send(Message::text(format!("[{}]", frame.join(",")))).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    url
}

/// Live quotes from a vendor's WebSocket (a Polygon replica) reach a client of
/// `/v1/stream/quotes`: signed in by its first message, subscribed per connection; a bad
/// token is refused; a client that subscribes to a symbol the stream did not carry gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_quotes_stream_from_a_vendor_to_a_websocket_client() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let vendor = polygon_stream_replica().await;
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let providers = write_file(
        &dir,
        "providers.toml",
        &format!(
            "[[stream]]\nname = \"polygon-live\"\nkind = \"polygon\"\nurl = \"{vendor}\"\nkey_env = \"POLYGON_API_KEY\"\nsymbols = [\"VTI\"]\n"
        ),
    );
    let mut env = common::server_env(dir.path());
    common::register(&db.url, &env, "Ada", "ada@example.com", "ada", "correct horse battery staple 9");
    env.push(("CAIRN_PROVIDERS".into(), providers));
    env.push(("POLYGON_API_KEY".into(), "pk-live".into()));
    let (mut child, base) = common::serve(&db.url, env);
    let token = common::login(&base, "ada@example.com", "correct horse battery staple 9").await;
    let ws_url = format!("{}/v1/stream/quotes", base.replace("http://", "ws://"));

    // Without an upgrade and without a token: 401, a problem document.
    let plain = reqwest::get(format!("{base}/v1/stream/quotes")).await.unwrap();
    assert_eq!(plain.status().as_u16(), 401);

    async fn next_json(
        ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        want: &str,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let m = tokio::time::timeout_at(deadline, ws.next()).await.expect("a message in time");
            let Some(Ok(Message::Text(text))) = m else { panic!("the socket ended: {m:?}") };
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if v["type"] == want {
                return v;
            }
        }
    }

    // A wrong token in the first message: an error, then the server closes.
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    ws.send(Message::text(r#"{"action":"auth","token":"not-a-token"}"#)).await.unwrap();
    let refused = next_json(&mut ws, "error").await;
    assert!(!refused["message"].as_str().unwrap().is_empty(), "{refused}");

    // Signed in by the first message, as a browser does.
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    ws.send(Message::text(serde_json::json!({"action": "auth", "token": token}).to_string())).await.unwrap();
    next_json(&mut ws, "authenticated").await;
    ws.send(Message::text(r#"{"action":"subscribe","symbols":["vti","bnd"]}"#)).await.unwrap();
    let subscribed = next_json(&mut ws, "subscribed").await;
    assert_eq!(subscribed["symbols"], serde_json::json!(["BND", "VTI"]), "{subscribed}");
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 2 {
        let q = next_json(&mut ws, "quote").await;
        let quote = &q["quote"];
        assert_eq!(quote["source"], "polygon-live", "{q}");
        let bid: rust_decimal::Decimal = quote["bid"].as_str().unwrap().parse().unwrap();
        let ask: rust_decimal::Decimal = quote["ask"].as_str().unwrap().parse().unwrap();
        assert_eq!(ask - bid, rust_decimal::Decimal::new(4, 2), "{q}");
        assert_eq!(quote["grade"], "excellent", "{q}");
        // BND was not in the stream's symbols: the client's subscription asked the vendor for it.
        seen.insert(quote["symbol"].as_str().unwrap().to_owned());
    }
    ws.send(Message::text(r#"{"action":"unsubscribe","symbols":["BND"]}"#)).await.unwrap();
    let subscribed = next_json(&mut ws, "subscribed").await;
    assert_eq!(subscribed["symbols"], serde_json::json!(["VTI"]), "{subscribed}");

    // Signed in by the header, as a program does.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws_url.as_str()).unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws2, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    next_json(&mut ws2, "authenticated").await;
    ws2.send(Message::text(r#"{"action":"subscribe","symbols":["VTI"]}"#)).await.unwrap();
    assert_eq!(next_json(&mut ws2, "quote").await["quote"]["symbol"], "VTI");

    // Without an upgrade, the live streams' state.
    let status: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/v1/stream/quotes"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&status["streams"][0]["name"], &status["streams"][0]["connected"]),
        (&"polygon-live".into(), &true.into()),
        "{status}"
    );
    assert!(status["accepted"].as_u64().unwrap() > 0 && status["subscribers"].as_u64().unwrap() >= 1, "{status}");

    let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// `cairn market actions`: a Yahoo replica reports a 4:1 split and a dividend of ACME; the
/// household holding 10 shares gets them as suggestions (40 shares; $2.00), nothing booked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_corporate_actions_are_suggested_to_the_households_holding_the_symbol() {
    async fn chart(axum::extract::Path(symbol): axum::extract::Path<String>) -> (axum::http::StatusCode, String) {
        if symbol != "ACME" {
            let body = r#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
            return (axum::http::StatusCode::NOT_FOUND, body.into());
        }
        (axum::http::StatusCode::OK, include_str!("../workers/src/market/providers/fixtures/yahoo_acme.json").into())
    }
    let base =
        common::replica(axum::Router::new().route("/v8/finance/chart/{symbol}", axum::routing::get(chart))).await;
    for db in all_backends("market actions").await {
        let dir = tempfile::tempdir().unwrap();
        let providers = write_file(
            &dir,
            "providers.toml",
            &format!("[[provider]]\nname = \"yahoo\"\nkind = \"yahoo\"\nbase_url = \"{base}\"\n"),
        );
        let ledger = write_file(
            &dir,
            "ledger.csv",
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2024-01-10,brokerage,taxable,deposit,,1,1000,0\n2024-01-10,brokerage,,buy,ACME,10,50,0\n",
        );
        let o = run(&db.url, &["ledger", "import", &ledger, "--household", "Acme Fans"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let args = ["market", "actions", "--symbol", "acme", "--from", "2024-03-01", "--to", "2024-03-31"];
        let r = json(&run(&db.url, &[&args[..], &["--providers", &providers, "--format", "json"]].concat()));
        let rows = r["actions"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{r}");
        assert_eq!(
            (&rows[0]["kind"], &rows[0]["date"], &rows[0]["detail"]),
            (&"split".into(), &"2024-03-06".into(), &"4:1".into())
        );
        assert_eq!(rows[0]["held"], "10", "{r}");
        assert!(rows[0]["suggestion"].as_str().unwrap().contains("10 shares become 40"), "{r}");
        assert_eq!((&rows[1]["kind"], &rows[1]["detail"]), (&"dividend".into(), &"0.2".into()));
        assert!(rows[1]["suggestion"].as_str().unwrap().contains("dividend of 2.00"), "{r}");
        // Nothing was booked: the household still holds 10 shares.
        let positions = json(&run(&db.url, &["ledger", "positions", "--household", "Acme Fans", "--format", "json"]));
        assert!(positions.to_string().contains("\"quantity\":\"10\""), "{positions}");
    }
}

/// `cairn market intraday` and `GET /v1/prices/{symbol}/intraday` ask a replica of Polygon's
/// aggregates API for a day's five-minute windows: each placed in its session, the regular
/// session summed up; a window too long is refused naming `minutes`, a symbol no provider
/// knows is 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_intraday_aggregates_come_from_a_provider_with_their_sessions() {
    async fn aggs(
        axum::extract::Path((symbol, rest)): axum::extract::Path<(String, String)>,
        axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    ) -> String {
        assert_eq!(q.get("apiKey").map(String::as_str), Some("pg-test"), "the key is sent");
        if symbol != "ACME" || rest != "5/minute/2024-03-14/2024-03-14" {
            return r#"{"ticker":"NOPE","queryCount":0,"resultsCount":0,"adjusted":false,"status":"OK","request_id":"x"}"#.into();
        }
        include_str!("../workers/src/market/providers/fixtures/polygon_acme_minutes.json").into()
    }
    let vendor =
        common::replica(axum::Router::new().route("/v2/aggs/ticker/{symbol}/range/{*rest}", axum::routing::get(aggs)))
            .await;
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let providers = write_file(
        &dir,
        "providers.toml",
        &format!(
            "[[provider]]\nname = \"polygon\"\nkind = \"polygon\"\nbase_url = \"{vendor}\"\nkey_env = \"PG_KEY\"\n"
        ),
    );
    let intraday = |args: &[&str]| {
        common::cairn()
            .args(["--database-url", &db.url, "market", "intraday", "--providers", &providers])
            .args(args)
            .env("PG_KEY", "pg-test")
            .output()
            .unwrap()
    };
    let day = json(&intraday(&["--symbol", "acme", "--date", "2024-03-14", "--minutes", "5", "--format", "json"]));
    let rows: Vec<(String, String, String)> = day["intraday"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["time"].as_str().unwrap().into(),
                r["session"].as_str().unwrap().into(),
                r["close"].as_str().unwrap().into(),
            )
        })
        .collect();
    // 12:00Z is 08:00 EDT; the window at 04:00Z on the 15th is the next day's.
    let want = [
        ("08:00", "pre", "101.4"),
        ("09:30", "regular", "102.2"),
        ("09:35", "regular", "101.9"),
        ("16:00", "post", "101.8"),
    ];
    assert_eq!(rows, want.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned())), "{day}");
    // (101.9 × 45,000 + 102.25 × 30,000) / 75,000 = 102.04.
    assert_eq!(
        day["regular"],
        serde_json::json!({"open": "101.5", "high": "102.6", "low": "101.3", "close": "101.9", "volume": "75000", "vwap": "102.04"}),
        "{day}"
    );
    assert_eq!(
        (&day["provider"], &day["regular_hours"]),
        (&"polygon".into(), &serde_json::json!({"open": "09:30", "close": "16:00"}))
    );
    let o = intraday(&["--symbol", "ACME", "--minutes", "90"]);
    assert!(
        !o.status.success() && stderr(&o).contains("minutes: 90 is not a window length from 1 to 60"),
        "{}",
        stderr(&o)
    );

    let mut env = common::server_env(dir.path());
    common::register(&db.url, &env, "Ada", "ada@example.com", "ada", "correct horse battery staple 9");
    env.push(("CAIRN_PROVIDERS".into(), providers.clone()));
    env.push(("PG_KEY".into(), "pg-test".into()));
    let (child, base) = common::serve(&db.url, env);
    let _server = common::Kill(child);
    let token = common::login(&base, "ada@example.com", "correct horse battery staple 9").await;
    let get = |query: &str| {
        let (base, token) = (base.clone(), token.clone());
        let query = query.to_owned();
        async move {
            let r = reqwest::Client::new()
                .get(format!("{base}/v1/prices/{query}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, answer) = get("acme/intraday?date=2024-03-14&minutes=5").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["symbol"].as_str(), answer["minutes"].as_u64()), (Some("ACME"), Some(5)), "{answer}");
    assert_eq!(answer["windows"].as_array().unwrap().len(), 4, "{answer}");
    assert_eq!(
        (&answer["windows"][0]["at"], &answer["windows"][0]["session"]),
        (&"2024-03-14T12:00:00Z".into(), &"pre".into())
    );
    assert_eq!(answer["regular"]["vwap"], "102.04", "{answer}");
    let (status, problem) = get("ACME/intraday?date=2024-03-14&minutes=0").await;
    assert_eq!((status, &problem["field"]), (422, &"minutes".into()), "{problem}");
    let (status, problem) = get("NOPE/intraday?date=2024-03-14&minutes=5").await;
    assert_eq!(status, 502, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("no provider answered for NOPE 5-minute aggregates on 2024-03-14"),
        "{problem}"
    );
}
