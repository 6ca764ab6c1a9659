//! `cairn tax estimate` and `GET /v1/households/{h}/tax/estimate` against real SQLite and
//! PostgreSQL: the ledger's taxable interest and dividends (not an IRA's), its Form 8949 sales,
//! the loss carried from an earlier year, the filing status and the members' ages, worked by
//! hand from the 2024 and 2025 tables.

mod common;

use common::{all_backends, register, run_with_input, server_env};
use serde_json::Value;

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A fresh directory with smith's ledger imported from `csv` into `url`'s database, and the
/// environment the CLI and the server run with there.
fn smith(url: &str, csv: &str) -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let env = server_env(dir.path());
    let file = dir.path().join("ledger.csv");
    std::fs::write(&file, csv).unwrap();
    run_with_input(url, &env, &["ledger", "import", file.to_str().unwrap(), "--household", "smith"], "");
    (dir, env)
}

/// `GET base/v1/households/smith/{path}` as `token`: the status and the JSON body.
async fn get_smith(http: &reqwest::Client, base: &str, token: &str, path: String) -> (u16, Value) {
    let r = http.get(format!("{base}/v1/households/smith/{path}")).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.json::<Value>().await.unwrap())
}

/// An amount of an answer, whether JSON carries it as a string or a number.
fn amount(answer: &Value, key: &str) -> rust_decimal::Decimal {
    let v = &answer[key];
    v.as_str().map_or_else(|| v.to_string(), str::to_owned).parse().unwrap_or_else(|_| panic!("{key}: {answer}"))
}

/// Ana, smith's client, signed in to a server over `url`: the server (stopped when dropped),
/// its address and her token.
async fn signed_in(url: &str, env: &[(String, String)]) -> (common::Kill, String, String) {
    register(url, env, "Ana Smith", "ana@smith.test", "smith", "correct horse battery staple");
    let (child, base) = common::serve(url, env.to_vec());
    let server = common::Kill(child);
    let token = common::login(&base, "ana@smith.test", "correct horse battery staple").await;
    (server, base, token)
}

/// 2024: ABC bought at 100 and sold at 20 (an 8,000 short-term loss). 2025: half the VTI
/// bought in 2023 at 200 sold at 300 (a 5,000 long-term gain), a 1,000 qualified dividend and
/// 500 of interest in the taxable account, and a 700 dividend inside an IRA.
const LEDGER: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2023-01-03,Brokerage,taxable,deposit,,1,100000,0,\n\
    2023-01-03,Brokerage,taxable,buy,VTI,100,200,0,\n\
    2024-03-01,Brokerage,taxable,buy,ABC,100,100,0,\n\
    2024-06-03,Brokerage,taxable,sell,ABC,100,20,0,\n\
    2025-02-03,Brokerage,taxable,sell,VTI,50,300,0,\n\
    2025-03-03,Brokerage,taxable,dividend,VTI,1,1000,0,qualified dividend\n\
    2025-04-01,Brokerage,taxable,interest,,1,500,0,\n\
    2025-01-06,IRA,traditional_ira,deposit,,1,10000,0,\n\
    2025-01-06,IRA,traditional_ira,buy,BND,10,100,0,\n\
    2025-03-03,IRA,traditional_ira,dividend,BND,1,700,0,\n\
    2026-11-20,IRA,traditional_ira,buy,VTSAX,5,100,0,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_years_tax_comes_from_the_ledger_and_the_income_given() {
    for db in all_backends("tax estimate").await {
        let (dir, env) = smith(&db.url, LEDGER);
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        cli(&["ledger", "household", "--household", "smith", "--filing-status", "mfj"]);
        let estimate = |year: &str| {
            json(&cli(&[
                "tax",
                "estimate",
                "--household",
                "smith",
                "--year",
                year,
                "--wages",
                "120000",
                "--format",
                "json",
            ]))
        };

        // 2024: the 8,000 loss deducts 3,000 (AGI 117,000; taxable 117,000 − 29,200 = 87,800:
        // 2,320 + 12% of 64,600) and carries 5,000 short-term.
        let e = estimate("2024");
        assert_eq!(e["filing_status"], "married_filing_jointly");
        assert_eq!(
            (e["short_term"].as_str(), e["capital_gain_or_loss"].as_str()),
            (Some("-8000.00"), Some("-3000.00"))
        );
        assert_eq!((e["agi"].as_str(), e["taxable_income"].as_str()), (Some("117000.00"), Some("87800.00")));
        assert_eq!(e["income_tax"], "10072.00");
        assert_eq!(
            (e["carryover_short_out"].as_str(), e["carryover_long_out"].as_str()),
            (Some("5000.00"), Some("0.00"))
        );

        // 2025: the 5,000 carried in offsets the 5,000 gain; the IRA's dividend is not income.
        // AGI 120,000 + 500 + 1,000 = 121,500; taxable 90,000 of which the 1,000 qualified
        // dividend is at 0% (below 96,700); tax on 89,000: 2,385 + 12% of 65,150.
        let e = estimate("2025");
        assert_eq!(e["carryovers_from"], "ledger");
        assert_eq!((e["carryover_short_in"].as_str(), e["long_term"].as_str()), (Some("5000.00"), Some("5000.00")));
        assert_eq!(
            (e["ordinary_dividends"].as_str(), e["qualified_dividends"].as_str()),
            (Some("1000.00"), Some("1000.00"))
        );
        assert_eq!(e["interest"], "500.00");
        assert_eq!((e["capital_gain_or_loss"].as_str(), e["agi"].as_str()), (Some("0.00"), Some("121500.00")));
        assert_eq!((e["taxable_income"].as_str(), e["at_zero"].as_str()), (Some("90000.00"), Some("1000.00")));
        assert_eq!((e["income_tax"].as_str(), e["niit"].as_str()), (Some("10203.00"), Some("0.00")));
        assert_eq!((e["ordinary_bracket"].as_str(), e["to_next_bracket"].as_str()), (Some("0.12"), Some("7950.00")));
        assert_eq!((e["irmaa_premium_year"].as_i64(), e["irmaa_tier"].as_u64()), (Some(2027), Some(0)));
        assert_eq!((e["irmaa_tiers_of"].as_i64(), e["irmaa_part_b_monthly"].as_str()), (Some(2026), Some("202.90")));

        // Both spouses born in 1958 are 65 by the end of 2025: 2 × 1,600 more standard
        // deduction and the senior deduction of 6,000 each (AGI below 150,000): taxable 74,800,
        // tax on 73,800: 2,385 + 12% of 49,950.
        for name in ["Ana", "Bo"] {
            cli(&["ledger", "member", "--household", "smith", "--name", name, "--born", "1958-05-01"]);
        }
        let e = estimate("2025");
        assert_eq!(e["seniors"], 2);
        assert_eq!(
            (e["standard_deduction"].as_str(), e["senior_deduction"].as_str()),
            (Some("34700.00"), Some("12000.00"))
        );
        assert_eq!((e["taxable_income"].as_str(), e["income_tax"].as_str()), (Some("74800.00"), Some("8379.00")));
        // The table shows the same, line by line.
        let table = cli(&["tax", "estimate", "--household", "smith", "--year", "2025", "--wages", "120000"]);
        assert!(table.contains("income_tax") && table.contains("8379.00"), "{table}");
        // A year without a table is refused naming the year.
        let out = common::cairn()
            .args(["--database-url", &db.url, "tax", "estimate", "--household", "smith", "--year", "2019"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(!out.status.success() && common::stderr(&out).contains("year"), "{}", common::stderr(&out));

        // Harvesting: the 50 VTI left (basis 10,000) close at 150 on 2026-12-01, a 2,500
        // long-term loss; the VTSAX (the same fund's Admiral shares) bought in the IRA on
        // 2026-11-20 makes a sale before 2026-12-21 a wash sale. At 300,000 of wages in 2026
        // (joint, both 65: no senior deduction left), a dollar of long-term gain costs 15% plus
        // 3.8% NIIT, so the loss is worth 2,500 × 0.188 = 470.
        let bars = dir.path().join("bars.csv");
        std::fs::write(&bars, "date,symbol,open,high,low,close,volume\n2026-12-01,VTI,150,150,150,150,1000\n").unwrap();
        cli(&["market", "import", bars.to_str().unwrap()]);
        let harvest = |as_of: &str| {
            let args =
                ["tax", "harvest", "--household", "smith", "--as-of", as_of, "--wages", "300000", "--format", "json"];
            json(&cli(&args))
        };
        let h = harvest("2026-12-04");
        assert_eq!((h["long_term_rate"].as_str(), h["harvestable_loss"].as_str()), (Some("0.188"), Some("0.00")));
        let c = &h["candidates"][0];
        assert_eq!(
            (c["symbol"].as_str(), c["loss"].as_str(), c["term"].as_str()),
            (Some("VTI"), Some("2500.00"), Some("long"))
        );
        assert_eq!((c["tax_value"].as_str(), c["replacement"].as_str()), (Some("470.00"), Some("ITOT")));
        assert!(c["blocked"].as_str().is_some_and(|b| b.contains("VTSAX bought in IRA on 2026-11-20")), "{c}");
        assert_eq!(c["buy_back_from"], "2027-01-04");
        let h = harvest("2026-12-21");
        assert_eq!((h["harvestable_loss"].as_str(), h["tax_value"].as_str()), (Some("2500.00"), Some("470.00")));
        assert!(h["candidates"][0]["blocked"].is_null());

        // Over HTTP: the same estimate; refusals name their parameter.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |query: &str| {
            let request = http.get(format!("{base}/v1/households/smith/tax/estimate?{query}")).bearer_auth(&ana);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (status, answer) = get("year=2025&wages=120000").await;
        assert_eq!(status, 200, "{answer}");
        for field in ["agi", "taxable_income", "income_tax", "seniors", "carryover_short_in", "marginal_ordinary"] {
            assert_eq!(answer[field], e[field], "{field}");
        }
        for (query, field) in [
            ("wages=1", "year"),
            ("year=2019", "year"),
            ("year=2025&wages=12.345", "wages"),
            ("year=2025&status=married", "status"),
        ] {
            let (status, body) = get(query).await;
            assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{query}: {body}");
        }
        // The harvest scan of today (2026-12-05 or later): still blocked until 2026-12-21.
        let scan = http
            .get(format!("{base}/v1/households/smith/tax/harvest?wages=300000"))
            .bearer_auth(&ana)
            .send()
            .await
            .unwrap();
        let scan: Value = scan.json().await.unwrap();
        let today = chrono::Utc::now().date_naive();
        if today < chrono::NaiveDate::from_ymd_opt(2026, 12, 21).unwrap() {
            assert!(scan["candidates"][0]["blocked"].as_str().is_some_and(|b| b.contains("VTSAX")), "{scan}");
        }
        assert_eq!(scan["candidates"][0]["loss"], "2500.00", "{scan}");
        // Carryovers given replace the ledger's: none carried in, the 5,000 gain is taxed.
        let (_, given) = get("year=2025&wages=120000&carryover_short=0").await;
        assert_eq!(
            (given["carryovers_from"].as_str(), given["capital_gain_or_loss"].as_str()),
            (Some("given"), Some("5000.00"))
        );
    }
}

/// 2025's sales of three taxable accounts: Brokerage (a US broker, the default) sells stock
/// bought in 2010 and a mutual fund bought in 2011 (both noncovered: box E), stock bought in
/// 2024 at a long-term loss (covered: D), a short-term gain (A, no adjustment: line 1a) and a
/// short-term loss washed by a buy a week later (A with code W: line 1b); Old holds shares
/// with a transfer agent (no 1099-B: C); Moved got a 1099-B without basis (B).
const BOXES: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2010-01-04,Brokerage,taxable,deposit,,1,100000,0,\n\
    2010-06-01,Brokerage,taxable,buy,IBM,10,100,0,\n\
    2011-06-01,Brokerage,taxable,buy,VFIAX,10,100,0,\n\
    2024-01-02,Brokerage,taxable,buy,AAPL,10,200,0,\n\
    2025-01-06,Brokerage,taxable,buy,MSFT,10,400,0,\n\
    2025-01-06,Brokerage,taxable,buy,XYZ,10,10,0,\n\
    2025-02-03,Brokerage,taxable,sell,MSFT,10,350,0,\n\
    2025-02-10,Brokerage,taxable,buy,MSFT,10,360,0,\n\
    2025-02-03,Brokerage,taxable,sell,AAPL,10,150,0,\n\
    2025-03-03,Brokerage,taxable,sell,IBM,10,150,0,\n\
    2025-03-03,Brokerage,taxable,sell,VFIAX,10,120,0,\n\
    2025-05-01,Brokerage,taxable,sell,XYZ,10,20,0,\n\
    2024-06-03,Old,taxable,deposit,,1,1000,0,\n\
    2024-06-03,Old,taxable,buy,ABC,10,50,0,\n\
    2025-04-01,Old,taxable,sell,ABC,10,40,0,\n\
    2025-01-06,Moved,taxable,deposit,,1,1000,0,\n\
    2025-01-06,Moved,taxable,buy,DEF,10,10,0,\n\
    2025-06-02,Moved,taxable,sell,DEF,10,15,0,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_8949_boxes_schedule_d_and_txf_come_from_accounts_and_coverage_dates() {
    for db in all_backends("form 8949").await {
        let (dir, env) = smith(&db.url, BOXES);
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        cli(&["ledger", "account", "--household", "smith", "--account", "Old", "--basis-reporting", "none"]);
        cli(&["ledger", "account", "--household", "smith", "--account", "Moved", "--basis-reporting", "not-reported"]);
        let securities = dir.path().join("securities.csv");
        std::fs::write(&securities, "symbol,name,asset_class,kind\nVFIAX,Vanguard 500 Index Admiral,equity,fund\n")
            .unwrap();
        cli(&["market", "securities", securities.to_str().unwrap()]);
        let accounts = cli(&["ledger", "accounts", "--household", "smith", "--format", "json"]);
        let accounts = json(&accounts);
        let reporting = |name: &str| {
            accounts["accounts"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["account"] == name))
                .map(|r| r["basis_reporting"].clone())
        };
        assert_eq!(reporting("Old"), Some(Value::from("none")), "{accounts}");
        assert_eq!(reporting("Brokerage"), Some(Value::from("reported")));

        // Each row's box.
        let gains = json(&cli(&["ledger", "gains", "--household", "smith", "--year", "2025", "--format", "json"]));
        let boxes: std::collections::BTreeMap<String, String> = gains["gains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["description"].as_str().unwrap().to_owned(), r["box"].as_str().unwrap().to_owned()))
            .collect();
        let expected = [
            ("10 IBM", "E"),
            ("10 VFIAX", "E"),
            ("10 AAPL", "D"),
            ("10 MSFT", "A"),
            ("10 XYZ", "A"),
            ("10 ABC", "C"),
            ("10 DEF", "B"),
        ];
        assert_eq!(boxes, expected.iter().map(|(d, b)| ((*d).to_owned(), (*b).to_owned())).collect(), "{gains}");

        // Schedule D: unadjusted box A on 1a, the washed MSFT sale on 1b.
        let d = json(&cli(&["tax", "schedule-d", "--household", "smith", "--year", "2025", "--format", "json"]));
        let line = |n: &str| {
            let l = d["lines"].as_array().unwrap().iter().find(|l| l["line"] == n).unwrap().clone();
            (
                l["rows"].as_u64().unwrap(),
                [&l["proceeds"], &l["cost"], &l["adjustment"], &l["gain"]].map(|v| v.as_str().unwrap().to_owned()),
            )
        };
        let amounts = |a: [&str; 4]| a.map(str::to_owned);
        assert_eq!(line("1a"), (1, amounts(["200.00", "100.00", "0.00", "100.00"])), "{d}");
        assert_eq!(line("1b"), (1, amounts(["3500.00", "4000.00", "500.00", "0.00"])));
        assert_eq!(line("2"), (1, amounts(["150.00", "100.00", "0.00", "50.00"])));
        assert_eq!(line("3"), (1, amounts(["400.00", "500.00", "0.00", "-100.00"])));
        assert_eq!(line("8a"), (1, amounts(["1500.00", "2000.00", "0.00", "-500.00"])));
        assert_eq!(line("8b").0, 0);
        assert_eq!(line("9"), (2, amounts(["2700.00", "2000.00", "0.00", "700.00"])));
        assert_eq!(line("10").0, 0);
        assert_eq!(
            (d["net_short_term"].as_str(), d["net_long_term"].as_str(), d["net"].as_str()),
            (Some("50.00"), Some("200.00"), Some("250.00"))
        );
        assert!(d["deductible_loss"].is_null(), "{d}");

        // TXF: a header, then one record per row with its box's reference number; the wash
        // sale's disallowed loss as a third amount (record format 5).
        let txf = cli(&["ledger", "gains", "--household", "smith", "--year", "2025", "--format", "txf"]);
        assert!(txf.starts_with("V042\r\nAcairn "), "{txf}");
        assert_eq!(txf.matches("TD\r\n").count(), 7, "{txf}");
        assert!(
            txf.contains(
                "TD\r\nN713\r\nC1\r\nL1\r\nP10 IBM\r\nD06/01/2010\r\nD03/03/2025\r\n$1000.00\r\n$1500.00\r\n^\r\n"
            ),
            "{txf}"
        );
        assert!(
            txf.contains("TD\r\nN321\r\nC1\r\nL1\r\nP10 MSFT\r\nD01/06/2025\r\nD02/03/2025\r\n$4000.00\r\n$3500.00\r\n$500.00\r\n^\r\n"),
            "{txf}"
        );
        for (reference, symbol) in [("N323", "AAPL"), ("N712", "ABC"), ("N711", "DEF")] {
            assert!(
                txf.contains(&format!("{reference}\r\nC1\r\nL1\r\nP10 {symbol}\r\n")),
                "{reference} {symbol}: {txf}"
            );
        }

        // Over HTTP: the same Schedule D and TXF; txf is for the gains report only.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |path: &str| {
            let request = http.get(format!("{base}/v1/households/smith/{path}")).bearer_auth(&ana);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (status, body) = get("tax/schedule-d?year=2025").await;
        assert_eq!(status, 200, "{body}");
        let over_http = json(&body);
        for field in ["lines", "net_short_term", "net_long_term", "net", "short_term_carryover"] {
            assert_eq!(over_http[field], d[field], "{field}");
        }
        let (status, body) = get("reports/gains?year=2025&format=txf").await;
        assert_eq!(status, 200, "{body}");
        // The header's date is the day it was written; the records are the CLI's.
        let records = |t: &str| t.split_once("^\r\n").map(|(_, rest)| rest.to_owned()).unwrap();
        assert_eq!(records(&body), records(&txf));
        for (path, field) in
            [("reports/lots?format=txf", "format"), ("tax/schedule-d", "year"), ("tax/schedule-d?year=2019", "year")]
        {
            let (status, body) = get(path).await;
            assert_eq!((status, json(&body)["field"].as_str()), (422, Some(field)), "{path}: {body}");
        }
    }
}

/// Brokerage: VTI bought in 2020 at 40, in 2022 at 90, in March 2026 at 120 (a loss at 100) and
/// in October 2026 at 80 (a short-term gain); BND at 100. IRA: VTI at 50, BND at 100.
const REBALANCE: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2020-01-02,Brokerage,taxable,deposit,,1,100000,0,\n\
    2020-01-02,Brokerage,taxable,buy,VTI,20,40,0,\n\
    2022-01-03,Brokerage,taxable,buy,VTI,20,90,0,\n\
    2026-03-02,Brokerage,taxable,buy,VTI,10,120,0,\n\
    2026-10-15,Brokerage,taxable,buy,VTI,10,80,0,\n\
    2020-01-02,Brokerage,taxable,buy,BND,10,100,0,\n\
    2020-01-02,IRA,traditional_ira,deposit,,1,10000,0,\n\
    2020-01-02,IRA,traditional_ira,buy,VTI,10,50,0,\n\
    2020-01-02,IRA,traditional_ira,buy,BND,20,100,0,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_sells_the_loss_then_the_ira_then_the_highest_basis_and_books_only_when_accepted() {
    for db in all_backends("rebalance").await {
        let (dir, env) = smith(&db.url, REBALANCE);
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        cli(&["ledger", "household", "--household", "smith", "--filing-status", "single"]);
        let bars = dir.path().join("bars.csv");
        std::fs::write(&bars, "date,symbol,open,high,low,close,volume\n2026-12-01,VTI,100,100,100,100,1000\n2026-12-01,BND,100,100,100,100,1000\n").unwrap();
        cli(&["market", "import", bars.to_str().unwrap()]);
        cli(&["portfolio", "create", "--household", "smith", "--name", "core", "--accounts", "Brokerage,IRA"]);
        cli(&["portfolio", "target", "--household", "smith", "--name", "core", "--weights", "VTI=0.4,BND=0.6"]);
        let lots_before = cli(&["ledger", "lots", "--household", "smith", "--format", "csv"]);

        // 70/30 against 40/60: 2,750 of VTI to sell. The loss first (10 × (100 − 120), saving
        // 22% at $100,000 of wages, single, 2026), the IRA's 10 shares (no tax), then 7.5 of the
        // 2022 shares (basis 90: 75 of long-term gain at 15%); the proceeds buy BND in each
        // account.
        let rebalance = |extra: &[&str]| {
            let mut args =
                vec!["portfolio", "rebalance", "--household", "smith", "--name", "core", "--wages", "100000"];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--format", "json"]);
            json(&cli(&args))
        };
        let r = rebalance(&["--as-of", "2026-12-01"]);
        assert_eq!((r["short_term_rate"].as_str(), r["long_term_rate"].as_str()), (Some("0.22"), Some("0.15")), "{r}");
        let orders: Vec<(String, String, String, String, String, String)> = r["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let s = |k: &str| o[k].as_str().unwrap_or_default().to_owned();
                (s("side"), s("account"), s("symbol"), s("quantity"), s("gain"), s("tax"))
            })
            .collect();
        let expected = [
            ("sell", "Brokerage", "VTI", "10", "-200.00", "-44.00"),
            ("sell", "IRA", "VTI", "10", "0.00", "0.00"),
            ("sell", "Brokerage", "VTI", "7.5", "75.00", "11.25"),
            ("buy", "Brokerage", "BND", "17.5", "0.00", "0.00"),
            ("buy", "IRA", "BND", "10", "0.00", "0.00"),
        ];
        let expected: Vec<(String, String, String, String, String, String)> = expected
            .iter()
            .map(|(a, b, c, d, e, f)| ((*a).into(), (*b).into(), (*c).into(), (*d).into(), (*e).into(), (*f).into()))
            .collect();
        assert_eq!(orders, expected, "{r}");
        assert_eq!((r["tax"].as_str(), r["within"].as_bool()), (Some("-32.75"), Some(true)));
        assert_eq!((r["max_drift_before"].as_str(), r["max_drift_after"].as_str()), (Some("0.3"), Some("0.025")));
        // A proposal books nothing.
        assert_eq!(cli(&["ledger", "lots", "--household", "smith", "--format", "csv"]), lots_before);
        // Asset location: the IRA's 10,500 (its VTI, BND and cash) would rather hold the bonds
        // (4% interest at 22%) and then cash than stocks (1.5%, mostly qualified at 15%).
        let securities = dir.path().join("securities.csv");
        std::fs::write(&securities, "symbol,name,asset_class\nVTI,Total Stock,equity\nBND,Total Bond,fixed_income\n")
            .unwrap();
        cli(&["market", "securities", securities.to_str().unwrap()]);
        let l = json(&cli(&["tax", "location", "--household", "smith", "--wages", "100000", "--format", "json"]));
        let class =
            |name: &str| l["classes"].as_array().unwrap().iter().find(|c| c["asset_class"] == name).unwrap().clone();
        assert_eq!(
            (
                class("fixed_income")["suggested_traditional"].as_str(),
                class("fixed_income")["suggested_taxable"].as_str()
            ),
            (Some("3000.00"), Some("0.00")),
            "{l}"
        );
        assert_eq!(
            (class("equity")["traditional"].as_str(), class("equity")["suggested_taxable"].as_str()),
            (Some("1000.00"), Some("7000.00"))
        );
        let amount = |k: &str| l[k].as_str().unwrap().parse::<f64>().unwrap();
        assert!(
            amount("saving") > 0.0 && (amount("tax_now") - amount("tax_suggested") - amount("saving")).abs() < 0.005,
            "{l}"
        );
        // To 2/98 the short-term gain is left unless asked.
        cli(&["portfolio", "target", "--household", "smith", "--name", "core", "--weights", "VTI=0.02,BND=0.98"]);
        let held = rebalance(&["--as-of", "2026-12-01"]);
        assert_eq!(held["within"], false, "{held}");
        assert!(held["notes"][0].as_str().is_some_and(|n| n.contains("short-term")), "{held}");
        let asked = rebalance(&["--as-of", "2026-12-01", "--short-term"]);
        assert_eq!(asked["within"], true, "{asked}");

        // Over HTTP: today's proposal is the CLI's of today; refusals name their parameter.
        let today = rebalance(&[]);
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |path: &str| {
            let request = http.get(format!("{base}/v1/households/smith/{path}")).bearer_auth(&ana);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (status, body) = get("portfolios/core/rebalance?wages=100000").await;
        assert_eq!(status, 200, "{body}");
        for field in ["orders", "assets", "tax", "within", "notes"] {
            assert_eq!(body[field], today[field], "{field}");
        }
        let (status, body) = get("portfolios/nope/rebalance").await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = get("tax/location?wages=100000").await;
        assert_eq!((status, &body["classes"]), (200, &l["classes"]), "{body}");
        let (status, body) = get("portfolios/core/rebalance?cash=100&cash_account=Elsewhere").await;
        assert_eq!((status, body["field"].as_str()), (422, Some("cash_account")), "{body}");

        // Accepted: the orders become ledger rows, all at once, and the next proposal has
        // nothing left to do. Over HTTP (2/98 with short-term gains) ...
        let post = http
            .post(format!("{base}/v1/households/smith/portfolios/core/rebalance"))
            .bearer_auth(&ana)
            .json(&serde_json::json!({ "short_term": true, "wages": "100000" }))
            .send()
            .await
            .unwrap();
        assert_eq!(post.status().as_u16(), 201);
        let posted: Value = post.json().await.unwrap();
        let ids = posted["recorded"]["trade_ids"].as_array().map_or(0, Vec::len);
        assert!(ids > 0 && ids == posted["orders"].as_array().unwrap().len(), "{posted}");
        let at = posted["recorded"]["last_position"].as_u64().unwrap();
        let (_, after) =
            get(&format!("portfolios/core/rebalance?wages=100000&short_term=true&min_position={at}")).await;
        assert_eq!(
            (after["orders"].as_array().map(Vec::len), after["within"].as_bool()),
            (Some(0), Some(true)),
            "{after}"
        );
        // ... and by the CLI: new cash buys BND only (VTI was sold at a loss today).
        let booked = rebalance(&["--cash", "1000", "--accept"]);
        let orders = booked["orders"].as_array().unwrap();
        assert!(!orders.is_empty() && orders.iter().all(|o| o["side"] == "buy" && o["symbol"] == "BND"), "{booked}");
        assert_eq!(booked["recorded"]["trade_ids"].as_array().map(Vec::len), Some(orders.len()));
        let audit = cli(&["audit", "changes", "--from", "2000-01-01", "--to", "2999-01-01", "--format", "csv"]);
        assert!(audit.contains("rebalance"), "the rows say where they came from");
    }
}

/// A traditional IRA of 500,000 and 50,000 of taxable cash.
const ROTH: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2025-01-06,IRA,traditional_ira,deposit,,1,500000,0,\n\
    2025-01-06,Brokerage,taxable,deposit,,1,50000,0,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roth_plan_takes_the_households_balances_and_the_plan_files_choices() {
    for db in all_backends("roth plan").await {
        let (dir, env) = smith(&db.url, ROTH);
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        cli(&["ledger", "household", "--household", "smith", "--filing-status", "single"]);
        cli(&["ledger", "member", "--household", "smith", "--name", "Ana", "--born", "1960-06-15"]);
        let plan = dir.path().join("plan.toml");
        std::fs::write(
            &plan,
            "start_year = 2026\nend_age = 67\ngrowth = 0\ninflation = 0\nstrategy = \"bracket\"\nbracket = 0.12\n",
        )
        .unwrap();
        let chart = dir.path().join("roth.svg");
        let args = ["tax", "roth", "--household", "smith", "--plan", plan.to_str().unwrap()];
        let r = json(&cli(&[&args[..], &["--chart", chart.to_str().unwrap(), "--format", "json"]].concat()));
        // Filling the 12% bracket at 66 in 2026 and 2027 (as domain::roth's worked example):
        // 74,550 converted each year for 5,800 of tax, from the household's 500,000 and 50,000.
        assert_eq!(
            (r["inputs"]["traditional"].as_str(), r["inputs"]["born"].as_str()),
            (Some("500000"), Some("1960-06-15")),
            "{r}"
        );
        let first = &r["plan"]["years"][0];
        assert_eq!((first["conversion"].as_str(), first["tax"].as_str()), (Some("74550.00"), Some("5800.00")), "{r}");
        assert_eq!(
            (r["plan"]["after_tax_wealth"].as_str(), r["advantage"].as_str()),
            (Some("454184.00"), Some("24184.00"))
        );
        let svg = std::fs::read_to_string(&chart).unwrap();
        assert!(svg.contains("<svg") && svg.contains("Roth conversions"), "{}", &svg[..svg.len().min(400)]);
        let table = cli(&args);
        assert!(table.contains("74550.00") && table.contains("advantage"), "{table}");
        // On 400 Monte Carlo paths (5% expected, 15% volatility, seeded from the household):
        // percentiles in order, the same answer twice; with no volatility every path is the
        // deterministic plan.
        let mc = |extra: &[&str]| json(&cli(&[&args[..], extra, &["--paths", "400", "--format", "json"]].concat()));
        let m = mc(&["--volatility", "0.15"])["monte_carlo"].clone();
        assert_eq!((m["paths"].as_u64(), m["volatility"].as_str()), (Some(400), Some("0.15")), "{m}");
        let amount = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
        for side in ["plan", "baseline"] {
            let q = &m[side];
            assert!(amount(&q["p10"]) < amount(&q["p50"]) && amount(&q["p50"]) < amount(&q["p90"]), "{m}");
        }
        let ahead: f64 = m["plan_ahead"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&ahead), "{m}");
        assert_eq!(mc(&["--volatility", "0.15"])["monte_carlo"], m, "seeded: the same answer");
        let flat = mc(&["--volatility", "0"]);
        assert_eq!(flat["monte_carlo"]["plan"]["p10"], flat["plan"]["after_tax_wealth_today"], "{flat}");
        assert_eq!(flat["monte_carlo"]["plan_ahead"], "1", "{flat}");
        // A bad plan file is refused naming the field.
        std::fs::write(&plan, "bracket = 0.12\nstrategy = \"bracket\"\nheirs = 0.3\n").unwrap();
        let out = common::cairn()
            .args(["--database-url", &db.url, "tax", "roth", "--household", "smith", "--plan", plan.to_str().unwrap()])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(!out.status.success() && common::stderr(&out).contains("heirs"), "{}", common::stderr(&out));

        // Over HTTP: the same plan from parameters; refusals name their parameter.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |query: &str| {
            let request = http.get(format!("{base}/v1/households/smith/tax/roth?{query}")).bearer_auth(&ana);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (status, body) = get("start_year=2026&end_age=67&growth=0&inflation=0&strategy=bracket&bracket=0.12").await;
        assert_eq!(status, 200, "{body}");
        for field in ["plan", "baseline", "advantage", "method"] {
            assert_eq!(body[field], r[field], "{field}");
        }
        let (status, body) = get(
            "start_year=2026&end_age=67&growth=0&inflation=0&strategy=bracket&bracket=0.12&paths=400&volatility=0.15",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["monte_carlo"], m, "the CLI's paths: the same seed");
        for (query, field) in [
            ("strategy=bracket&bracket=0.15", "bracket"),
            ("growth=2", "growth"),
            ("end_age=130", "end_age"),
            ("paths=0", "paths"),
            ("paths=many", "paths"),
        ] {
            let (status, body) = get(query).await;
            assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{query}: {body}");
        }
    }
}

/// VTI bought in 2025 at 250 (a 5,000 loss at 200) and ABC at 100 (a 1,000 loss at 80) in the
/// taxable account; a Roth IRA beside it.
const HARVESTING: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2025-01-06,Brokerage,taxable,deposit,,1,100000,0,\n\
    2025-01-06,Brokerage,taxable,buy,VTI,100,250,0,\n\
    2025-01-06,Brokerage,taxable,buy,ABC,50,100,0,\n\
    2025-01-06,IRA,roth_ira,deposit,,1,20000,0,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_instruction_blocks_a_harvest_and_an_accepted_harvest_is_booked() {
    for db in all_backends("harvest accept").await {
        let (dir, env) = smith(&db.url, HARVESTING);
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let fails = |args: &[&str]| {
            let out = common::cairn()
                .args(["--database-url", &db.url])
                .args(args)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output()
                .unwrap();
            assert!(!out.status.success(), "{args:?} should fail");
            common::stderr(&out)
        };
        let bars = dir.path().join("bars.csv");
        std::fs::write(
            &bars,
            "date,symbol,open,high,low,close,volume\n\
             2025-01-06,VTI,250,250,250,250,1000\n\
             2025-06-02,VTI,220,220,220,220,1000\n\
             2025-12-01,VTI,230,230,230,230,1000\n\
             2025-01-06,ABC,100,100,100,100,1000\n\
             2026-12-01,VTI,200,200,200,200,1000\n\
             2026-12-01,ITOT,100,100,100,100,1000\n\
             2026-12-01,ABC,80,80,80,80,1000\n",
        )
        .unwrap();
        cli(&["market", "import", bars.to_str().unwrap()]);

        // The back-test from the day both were bought (a 30,000 start): VTI harvested at 220
        // (3,000) and again at 200 (2,000 below its new 22,000 basis), ABC at 80 (1,000): 6,000,
        // 20% in all, over 694 days (1.9001 years) 10.53% a year.
        let tested = json(&cli(&[
            "tax",
            "harvest-backtest",
            "--household",
            "smith",
            "--from",
            "2025-01-06",
            "--to",
            "2026-12-02",
            "--min-loss",
            "100",
            "--format",
            "json",
        ]));
        assert_eq!(
            (tested["starting_balance"].as_str(), tested["harvested"].as_str(), tested["harvests"].as_u64()),
            (Some("30000.00"), Some("6000.00"), Some(3)),
            "{tested}"
        );
        assert_eq!(
            (tested["cumulative_yield"].as_str(), tested["years"].as_str(), tested["annualized_yield"].as_str()),
            (Some("0.2"), Some("1.9001"), Some("0.105258")),
            "{tested}"
        );
        assert_eq!(tested["by_year"][0]["harvested"], "3000.00", "{tested}");
        assert!(fails(&["tax", "harvest-backtest", "--household", "smith", "--from", "2020-01-02"]).contains("from"));

        // A monthly purchase of VTSAX (VTI's Admiral shares) in the IRA, due on the 15th.
        let set = ["recurring", "set", "--household", "smith", "--account", "IRA", "--symbol", "vtsax"];
        let monthly = [&set[..], &["--amount", "500", "--every", "month", "--first", "2026-01-15"]].concat();
        assert_eq!(json(&cli(&monthly))["recorded"], 1);
        assert_eq!(json(&cli(&monthly))["recorded"], 0, "the same instruction again records nothing");
        let list =
            json(&cli(&["recurring", "list", "--household", "smith", "--as-of", "2026-12-02", "--format", "json"]));
        assert_eq!(
            (list[0]["symbol"].as_str(), list[0]["next"].as_str(), list[0]["blocks_harvesting"].as_bool()),
            (Some("VTSAX"), Some("2026-12-15"), Some(true)),
            "{list}"
        );
        assert!(fails(&[&set[..], &["--amount", "0", "--every", "month", "--first", "2026-01-15"]].concat())
            .contains("amount"));
        assert!(fails(&[
            "recurring",
            "set",
            "--household",
            "smith",
            "--account",
            "Nope",
            "--symbol",
            "VTI",
            "--reinvest-dividends"
        ])
        .contains("account"));

        let harvest = |extra: &[&str]| {
            let args = ["tax", "harvest", "--household", "smith", "--as-of", "2026-12-02", "--min-loss", "100"];
            json(&cli(&[&args[..], extra, &["--format", "json"]].concat()))
        };
        let h = harvest(&[]);
        let vti = h["candidates"].as_array().unwrap().iter().find(|c| c["symbol"] == "VTI").unwrap().clone();
        let why = vti["blocked"].as_str().unwrap();
        assert!(why.contains("recurring purchase of VTSAX in IRA") && why.contains("due on 2026-12-15"), "{why}");
        let refused = fails(&["tax", "harvest", "--household", "smith", "--as-of", "2026-12-02", "--accept", "T2"]);
        assert!(refused.contains("lot_ids") && refused.contains("VTSAX"), "{refused}");

        // Paused: VTI is harvested into ITOT (a different index), both rows booked.
        let remove = ["recurring", "remove", "--household", "smith", "--account", "IRA", "--symbol", "VTSAX"];
        assert_eq!(json(&cli(&[&remove[..], &["--kind", "purchase"]].concat()))["recorded"], 1);
        let h = harvest(&["--accept", "T2"]);
        let orders = h["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 2, "{h}");
        assert_eq!(
            (
                orders[0]["side"].as_str(),
                orders[0]["symbol"].as_str(),
                orders[0]["amount"].as_str(),
                orders[0]["gain"].as_str()
            ),
            (Some("sell"), Some("VTI"), Some("20000.00"), Some("-5000.00"))
        );
        assert_eq!(
            (orders[1]["side"].as_str(), orders[1]["symbol"].as_str(), orders[1]["quantity"].as_str()),
            (Some("buy"), Some("ITOT"), Some("200"))
        );
        assert_eq!(h["recorded"]["trade_ids"], serde_json::json!(["T5", "T6"]), "{h}");
        let after = harvest(&[]);
        assert!(after["candidates"].as_array().unwrap().iter().all(|c| c["symbol"] != "VTI"), "{after}");

        // VTSAX bought in the IRA the next day is the same fund: 100 shares at 120 are worth 60
        // VTI at the sale's 200, so the loss on 60 of the 100 shares sold (3,000) is gone for
        // good (a Roth IRA: Rev. Rul. 2008-5).
        let buy = dir.path().join("buy.csv");
        std::fs::write(
            &buy,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n2026-12-03,IRA,roth_ira,buy,VTSAX,100,120,0\n",
        )
        .unwrap();
        cli(&["ledger", "import", buy.to_str().unwrap(), "--household", "smith"]);
        let wash = json(&cli(&["ledger", "wash-sales", "--household", "smith", "--format", "json"]));
        let w = &wash["wash_sales"][0];
        assert_eq!(
            (w["symbol"].as_str(), w["replacement_symbol"].as_str(), w["shares"].as_str()),
            (Some("VTI"), Some("VTSAX"), Some("60")),
            "{wash}"
        );
        assert_eq!(w["disallowed_loss"], "3000.00", "{wash}");
        assert_eq!(w["permanent"], "true", "the same on every backend: {wash}");

        // Over HTTP: a reinvestment set, listed, refused with a bad field, removed; a harvest
        // accepted today, and a lot that is no candidate refused.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
            let mut request = http.request(method, format!("{base}{path}")).bearer_auth(&ana);
            if let Some(b) = body {
                request = request.json(&b);
            }
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        use reqwest::Method;
        let path = "/v1/households/smith/recurring/IRA/VXUS/reinvest";
        let (status, body) = send(Method::PUT, path, Some(serde_json::json!({}))).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = send(
            Method::PUT,
            "/v1/households/smith/recurring/IRA/VXUS/purchase",
            Some(serde_json::json!({ "amount": "100", "every": "fortnight", "first": "2026-01-05" })),
        )
        .await;
        assert_eq!((status, body["field"].as_str()), (422, Some("every")), "{body}");
        // The server sees the CLI's writes at its next poll.
        let mut listed = Value::Null;
        for _ in 0..50 {
            listed = send(Method::GET, "/v1/households/smith/recurring", None).await.1;
            if listed["recurring"].as_array().is_some_and(|l| !l.is_empty()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let r = &listed["recurring"][0];
        assert_eq!(
            (r["symbol"].as_str(), r["kind"].as_str(), r["blocks_harvesting"].as_bool()),
            (Some("VXUS"), Some("reinvest"), Some(true)),
            "{listed}"
        );
        assert!(r["basis"].as_str().is_some_and(|b| b.contains("cannot be told")), "{listed}");
        assert_eq!(send(Method::DELETE, path, None).await.0, 201);
        assert_eq!(send(Method::DELETE, path, None).await.0, 404);

        let (status, body) = send(
            Method::GET,
            "/v1/households/smith/tax/harvest/backtest?from=2025-01-06&to=2026-12-02&min_loss=100",
            None,
        )
        .await;
        assert_eq!((status, body["harvested"].as_str()), (200, Some("6000.00")), "{body}");
        let (status, body) = send(Method::GET, "/v1/households/smith/tax/harvest/backtest", None).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("from")), "{body}");
        let harvest = "/v1/households/smith/tax/harvest";
        let (status, body) =
            send(Method::POST, harvest, Some(serde_json::json!({ "lot_ids": ["T99"], "min_loss": "100" }))).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("lot_ids")), "{body}");
        let (status, body) =
            send(Method::POST, harvest, Some(serde_json::json!({ "lot_ids": ["T3"], "min_loss": "100" }))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["orders"].as_array().map(Vec::len), Some(1), "ABC has no replacement: {body}");
        assert_eq!(
            (body["orders"][0]["gain"].as_str(), body["recorded"]["trade_ids"][0].as_str()),
            (Some("-1000.00"), Some("T8")),
            "{body}"
        );
    }
}

/// A retired couple's accounts: 500,000 in a traditional IRA, 100,000 of cash in a brokerage
/// account, 50,000 in a Roth IRA and 10,000 in an HSA.
const COUPLE: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2025-01-06,IRA,traditional_ira,deposit,,1,500000,0,\n\
    2025-01-06,Brokerage,taxable,deposit,,1,100000,0,\n\
    2025-01-06,Roth,roth_ira,deposit,,1,50000,0,\n\
    2025-01-06,Health,hsa,deposit,,1,10000,0,\n";

/// `cairn simulate PLAN --household`: the ledger's accounts are the plan's starting wealth, its
/// filing status and members' birth dates the person's; the plan file's accounts of the same
/// name add their contributions, and a plan that contradicts the ledger is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_plan_starts_from_the_ledgers_accounts() {
    use chrono::Datelike;
    for db in all_backends("household plan").await {
        let (dir, env) = smith(&db.url, COUPLE);
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        cli(&["ledger", "household", "--household", "smith", "--filing-status", "married_filing_jointly"]);
        cli(&["ledger", "member", "--household", "smith", "--name", "Ana", "--born", "1960-06-15"]);
        cli(&["ledger", "member", "--household", "smith", "--name", "Ben", "--born", "1962-02-01"]);
        // A still market (no return, no volatility, no inflation): the money is exact.
        let market = "years = 3\npaths = 8\n[cash_flows]\nannual_withdrawal = 60000.0\n\
             [model]\n[[model.assets]]\nname = \"cash\"\nexpected_return = 0.0\nvolatility = 0.0\nweight = 1.0\n";
        let plan = dir.path().join("plan.toml");
        std::fs::write(&plan, market).unwrap();
        let simulate = |file: &std::path::Path| {
            common::cairn()
                .args(["--database-url", &db.url, "simulate", file.to_str().unwrap(), "--household", "smith"])
                .args(["--format", "json"])
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output()
                .unwrap()
        };
        let out = simulate(&plan);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let h = json(&common::stdout(&out));
        let this_year = chrono::Utc::now().year();
        assert_eq!(
            (h["starting_wealth"].as_f64(), h["start_year"].as_i64()),
            (Some(660_000.0), Some(this_year.into()))
        );
        // Retired (no [household] in the plan): spending from the first year, taxable first,
        // the brokerage's cash at its own basis: no gain, no tax.
        let first = &h["median_years"][0];
        assert_eq!((first["from_taxable"].as_f64(), first["tax"].as_f64()), (Some(60_000.0), Some(0.0)), "{h}");
        assert_eq!(first["age"].as_i64(), Some(i64::from(this_year - 1960)));
        assert_eq!(h["success_probability"].as_f64(), Some(1.0));
        let names: Vec<&str> =
            h["accounts"]["accounts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Brokerage", "Health", "IRA", "Roth"], "{h}");
        // Working two more years, saving 12,000 a year into the brokerage account named as in
        // the ledger: no spending until retirement, and the savings arrive at year end.
        std::fs::write(
            &plan,
            format!(
                "{}[cash_flows]\nannual_withdrawal = 60000.0\nretire_after_years = 2\n[model]\n[[model.assets]]\n\
                 name = \"cash\"\nexpected_return = 0.0\nvolatility = 0.0\nweight = 1.0\n\
                 [household.person]\nsalary = 100000.0\nretirement_age = {}\n\
                 [[household.accounts]]\nname = \"Brokerage\"\nkind = \"taxable\"\ncontribution = 12000.0\n",
                "years = 3\npaths = 8\n",
                this_year - 1960 + 2
            ),
        )
        .unwrap();
        let out = simulate(&plan);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let h = json(&common::stdout(&out));
        let first = &h["median_years"][0];
        assert_eq!((first["spending"].as_f64(), first["taxable"].as_f64()), (Some(0.0), Some(112_000.0)), "{h}");
        // A plan account that contradicts the ledger, and a starting wealth beside the ledger's.
        std::fs::write(
            &plan,
            format!("{market}[household.person]\nretirement_age = 60\n[[household.accounts]]\nname = \"IRA\"\nkind = \"roth_ira\"\n"),
        )
        .unwrap();
        let out = simulate(&plan);
        assert!(
            !out.status.success() && common::stderr(&out).contains("household.accounts"),
            "{}",
            common::stderr(&out)
        );
        std::fs::write(&plan, format!("initial_wealth = 5.0\n{market}")).unwrap();
        let out = simulate(&plan);
        assert!(!out.status.success() && common::stderr(&out).contains("initial_wealth"), "{}", common::stderr(&out));

        // Over HTTP: the same retired plan from parameters; refusals name their parameter.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |query: &str| {
            let request = http.get(format!("{base}/v1/households/smith/plan?{query}")).bearer_auth(&ana);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let still = "spending=60000&expected_return=0&volatility=0&inflation=0&years=3&paths=8";
        let (status, body) = get(still).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["starting_wealth"].as_f64(), Some(660_000.0), "{body}");
        assert_eq!(body["median_years"][0]["from_taxable"].as_f64(), Some(60_000.0), "{body}");
        assert_eq!(
            (body["inputs"]["filing_status"].as_str(), body["units"]["after_tax_bands"].as_str()),
            (Some("married_filing_jointly"), Some("today's money"))
        );
        assert_eq!(get(still).await.1["after_tax_bands"], body["after_tax_bands"], "seeded from the household");
        // Bracket-filling at 12%: Ana is past 59½, so traditional money pays first (a couple's
        // 12% bracket tops at 100,800 of taxable income, far above 60,000 of spending).
        let (status, filled) = get(&format!("{still}&order=bracket&bracket=0.12")).await;
        assert_eq!(status, 200, "{filled}");
        assert!(filled["median_years"][0]["from_traditional"].as_f64().unwrap() > 60_000.0, "{filled}");
        for (query, field) in [
            ("order=bracket", "bracket"),
            ("paths=0", "paths"),
            ("heirs_rate=1", "heirs_rate"),
            ("order=roth", "order"),
        ] {
            let (status, body) = get(query).await;
            assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{query}: {body}");
        }
    }
}

/// `cairn estate tax`: Form 706's arithmetic on the household's accounts at the latest close
/// plus the plan file's assets, debts and bequests, worked by hand from 2026's amounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estate_tax_starts_from_the_households_accounts() {
    for db in all_backends("estate tax").await {
        // A taxable account: 800,000 cash and 1,000 VTI closing at 250 (1,050,000); an IRA of
        // 500,000 (in the estate, not liquid).
        let (dir, env) = smith(
            &db.url,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-01-02,Brokerage,taxable,deposit,,1,1000000,0\n\
             2025-01-02,Brokerage,taxable,buy,VTI,1000,200,0\n\
             2025-01-02,IRA,traditional_ira,deposit,,1,500000,0\n",
        );
        let bars = dir.path().join("bars.csv");
        std::fs::write(&bars, "date,symbol,open,high,low,close,volume\n2025-12-01,VTI,250,250,250,250,1000\n").unwrap();
        run_with_input(&db.url, &env, &["market", "import", bars.to_str().unwrap()], "");
        let plan = dir.path().join("estate.toml");
        std::fs::write(&plan, "[estate]\nyear = 2026\nother_assets = 18450000\ndebts = 1000000\n").unwrap();
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let estate = |plan: &std::path::Path| {
            json(&cli(&["estate", "tax", "--household", "smith", "--plan", plan.to_str().unwrap(), "--format", "json"]))
        };
        let answer = estate(&plan);
        // Gross 1,550,000 + 18,450,000 = 20,000,000; taxable 19,000,000; tentative tax
        // 345,800 + 40% of 18,000,000 = 7,545,800; less the 5,945,800 credit: 1,600,000.
        assert_eq!(amount(&answer, "accounts"), "1550000".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "gross_estate"), "20000000".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "taxable_estate"), "19000000".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "tentative_tax"), "7545800".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "applicable_credit"), "5945800".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "net_estate_tax"), "1600000".parse().unwrap(), "{answer}");
        // Due at death 2,600,000 against 1,050,000 liquid.
        assert_eq!(amount(&answer, "liquid_assets"), "1050000".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "liquidity_shortfall"), "1550000".parse().unwrap(), "{answer}");
        assert!(answer["source"].as_str().unwrap().contains("2025-32"), "{answer}");

        // As a table, and with the year from the flag: 2024's credit is 5,389,800.
        let table = cli(&[
            "estate",
            "tax",
            "--household",
            "smith",
            "--plan",
            plan.to_str().unwrap(),
            "--year",
            "2024",
            "--format",
            "csv",
        ]);
        assert!(table.contains("applicable_credit,5389800"), "{table}");

        // Over HTTP, the same plan as parameters; half the accounts with a $2M DSUE and
        // everything else to a citizen spouse: 775,000 + 18,450,000 − 1,000,000 − 18,000,000 =
        // 225,000 taxable, nothing due, and the exclusion left for the spouse.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |query: &str| get_smith(&http, &base, &ana, format!("estate/tax?{query}"));
        let (status, body) = get("year=2026&other_assets=18450000&debts=1000000").await;
        assert_eq!((status, body["net_estate_tax"].clone()), (200, answer["net_estate_tax"].clone()), "{body}");
        let (status, body) =
            get("year=2026&share=0.5&other_assets=18450000&debts=1000000&to_spouse=18000000&dsue=2000000").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(amount(&body, "taxable_estate"), "225000".parse().unwrap(), "{body}");
        assert_eq!(amount(&body, "net_estate_tax"), rust_decimal::Decimal::ZERO, "{body}");
        assert_eq!(amount(&body, "dsue_for_survivor"), "15000000".parse().unwrap(), "{body}");
        let (status, body) = get("year=2023").await;
        assert_eq!((status, body["field"].as_str()), (422, Some("year")), "{body}");
        let (status, body) = get("share=2").await;
        assert_eq!((status, body["field"].as_str()), (422, Some("share")), "{body}");

        // Lifetime gifts in the plan: 2025's $1,019,000 to Ann ($1,000,000 taxable after the
        // $19,000 exclusion, no tax within the exclusion) and $50,000 to charity (deducted).
        // At death in 2026 the gift is an adjusted taxable gift: 20,000,000 taxed, 2,000,000.
        let gifts = dir.path().join("gifts.toml");
        std::fs::write(
            &gifts,
            "[estate]\nyear = 2026\nother_assets = 18450000\ndebts = 1000000\n\
             [[estate.gifts]]\nyear = 2025\ndonee = \"ann\"\namount = 1019000\n\
             [[estate.gifts]]\nyear = 2025\ndonee = \"red cross\"\nkind = \"charity\"\namount = 50000\n",
        )
        .unwrap();
        let with_gifts = estate(&gifts);
        assert_eq!(amount(&with_gifts, "net_estate_tax"), "2000000".parse().unwrap(), "{with_gifts}");
        assert_eq!(amount(&with_gifts, "adjusted_taxable_gifts"), "1000000".parse().unwrap(), "{with_gifts}");
        let form709 = cli(&["estate", "gifts", "--plan", gifts.to_str().unwrap(), "--format", "csv"]);
        assert!(form709.contains("2025,1069000,19000,0,50000,1000000,0,"), "{form709}");
        assert!(form709.contains(",12990000,0,0,0,0,13990000,false"), "{form709}");

        // Bad input names its field; nothing is computed.
        let fails = |args: &[&str]| {
            let out = common::cairn().arg("--database-url").arg(&db.url).args(args).envs(env.clone()).output().unwrap();
            assert!(!out.status.success(), "{args:?}");
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let err = fails(&["estate", "tax", "--household", "smith", "--year", "2023"]);
        assert!(err.contains("year") && err.contains("2024, 2025, 2026"), "{err}");
        std::fs::write(&plan, "[estate]\nshare = 2\n").unwrap();
        let err = fails(&["estate", "tax", "--household", "smith", "--plan", plan.to_str().unwrap()]);
        assert!(err.contains("share"), "{err}");
        std::fs::write(&plan, "[estate]\nhouse = 1\n").unwrap();
        let err = fails(&["estate", "tax", "--household", "smith", "--plan", plan.to_str().unwrap()]);
        assert!(err.contains("house"), "{err}");
        db.remove().await;
    }
}

#[tokio::test]
async fn gifts_recorded_on_the_ledger_fold_into_the_exclusion_and_the_estate_of_the_member_who_dies() {
    for db in all_backends("recorded gifts").await {
        // Ann's brokerage account (1,000,000), a joint one no member owns (2,000,000) and Bob's
        // IRA (500,000).
        let (_dir, env) = smith(
            &db.url,
            "trade_date,account,account_type,owner,action,symbol,quantity,price,fees\n\
             2025-01-02,Brokerage,taxable,ann,deposit,,1,1000000,0\n\
             2025-01-02,Joint,taxable,,deposit,,1,2000000,0\n\
             2025-01-02,IRA,traditional_ira,bob,deposit,,1,500000,0\n",
        );
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let fails = |args: &[&str]| {
            let out = common::cairn().arg("--database-url").arg(&db.url).args(args).envs(env.clone()).output().unwrap();
            assert!(!out.status.success(), "{args:?}");
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let member = |name: &str, extra: &[&str]| {
            cli(&[&["ledger", "member", "--household", "smith", "--name", name][..], extra].concat());
        };
        member("ann", &["--relationship", "principal", "--born", "1950-01-01", "--domicile", "ny"]);
        member("bob", &["--relationship", "spouse", "--citizen", "false"]);
        member("cara", &["--relationship", "child"]);
        let err = fails(&["ledger", "member", "--household", "smith", "--name", "cara", "--relationship", "spouse"]);
        assert!(err.contains("relationship") && err.contains("bob is already the spouse"), "{err}");

        fn gift<'a>(args: &[&'a str]) -> Vec<&'a str> {
            [&["estate", "gift", "--household", "smith"][..], args].concat()
        }
        // 2025: $1,019,000 from Ann to Cara; Bob gives Cara $38,000 split with Ann (each half
        // $19,000). 2026: $200,000 from Ann to Bob, who is not a citizen (the $194,000
        // exclusion, not the marital deduction), and $50,000 to charity.
        let g1 =
            json(&cli(&gift(&["--donor", "ann", "--donee", "cara", "--amount", "1019000", "--date", "2025-03-01"])));
        assert_eq!(g1["recorded"]["id"], "G1", "{g1}");
        cli(&gift(&["--donor", "bob", "--donee", "cara", "--amount", "38000", "--date", "2025-06-01", "--split"]));
        let g3 = json(&cli(&gift(&["--donor", "ann", "--donee", "bob", "--amount", "200000", "--date", "2026-01-05"])));
        assert_eq!(g3["recorded"]["kind"], "noncitizen_spouse", "{g3}");
        cli(&gift(&[
            "--donor",
            "ann",
            "--donee",
            "red cross",
            "--kind",
            "charity",
            "--amount",
            "50000",
            "--date",
            "2026-02-01",
        ]));
        // Bad gifts name their field and record nothing.
        for (args, field) in [
            (gift(&["--donor", "zed", "--donee", "cara", "--amount", "1", "--date", "2025-01-01"]), "donor"),
            (gift(&["--donor", "cara", "--donee", "dan", "--amount", "1", "--date", "2025-01-01", "--split"]), "split"),
            (
                gift(&[
                    "--donor",
                    "ann",
                    "--donee",
                    "bob",
                    "--kind",
                    "charity",
                    "--amount",
                    "1",
                    "--date",
                    "2025-01-01",
                ]),
                "kind",
            ),
            (gift(&["--donor", "ann", "--donee", "cara", "--amount", "1", "--date", "2099-01-01"]), "date"),
            (gift(&["--donor", "ann", "--donee", "cara", "--amount", "0", "--date", "2025-01-01"]), "amount"),
        ] {
            let err = fails(&args);
            assert!(err.contains(field), "{field}: {err}");
        }

        // Form 709 year by year: Ann's 2025 is her $1,019,000 and her half of Bob's split gift,
        // one $19,000 exclusion for Cara: $1,019,000 taxable; 2026 $6,000 (200,000 − 194,000).
        let gifts = json(&cli(&["estate", "gifts", "--household", "smith", "--format", "json"]));
        let donors: Vec<&str> =
            gifts["donors"].as_array().unwrap().iter().map(|d| d["donor"].as_str().unwrap()).collect();
        assert_eq!(donors, ["ann", "bob"], "{gifts}");
        let ann = &gifts["donors"][0]["years"];
        assert_eq!(amount(&ann[0], "gifts"), "1038000".parse().unwrap(), "{ann}");
        assert_eq!(amount(&ann[0], "taxable_gifts"), "1019000".parse().unwrap(), "{ann}");
        assert_eq!(amount(&ann[1], "exclusions"), "194000".parse().unwrap(), "{ann}");
        assert_eq!(amount(&ann[1], "charitable_deduction"), "50000".parse().unwrap(), "{ann}");
        assert_eq!(amount(&ann[1], "taxable_gifts"), "6000".parse().unwrap(), "{ann}");
        assert_eq!(amount(&ann[1], "exclusion_left"), "13975000".parse().unwrap(), "{ann}");
        let bob = &gifts["donors"][1]["years"][0];
        assert_eq!((amount(bob, "gifts"), amount(bob, "taxable_gifts")), ("19000".parse().unwrap(), 0.into()), "{bob}");

        // Ann dies in 2026: her account and half the joint one (2,000,000, all liquid), her
        // $1,025,000 of adjusted taxable gifts: 3,025,000 taxed, 1,155,800 before the credit.
        let estate = |extra: &[&str]| {
            let base = ["estate", "tax", "--household", "smith", "--death-of", "ann", "--year", "2026"];
            json(&cli(&[&base[..], extra, &["--format", "json"]].concat()))
        };
        let answer = estate(&[]);
        assert_eq!(answer["decedent"], "ann", "{answer}");
        assert_eq!(amount(&answer, "accounts"), "2000000".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "adjusted_taxable_gifts"), "1025000".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "tentative_tax"), "1155800".parse().unwrap(), "{answer}");
        assert_eq!(amount(&answer, "liquid_assets"), "2000000".parse().unwrap(), "{answer}");
        // Ann's recorded domicile is New York: its taxable estate takes her gifts of the last
        // three years (3,025,000), under its exclusion, so no New York tax.
        assert_eq!((answer["domicile"].as_str(), amount(&answer, "state_tax")), (Some("NY"), 0.into()), "{answer}");
        assert_eq!(amount(&answer["state"], "gifts_added"), "1025000".parse().unwrap(), "{answer}");
        // Domiciled in Oregon: 10% of 500,000 and 10.25% of the next 500,000 over $1,000,000,
        // deducted from the federal taxable estate (§2058) and due at death.
        let oregon = estate(&["--domicile", "or"]);
        assert_eq!(amount(&oregon, "state_tax"), "101250".parse().unwrap(), "{oregon}");
        assert_eq!(amount(&oregon, "state_death_tax_deduction"), "101250".parse().unwrap(), "{oregon}");
        assert_eq!(amount(&oregon, "taxable_estate"), "1898750".parse().unwrap(), "{oregon}");
        assert_eq!(amount(&oregon, "liquidity_needed"), "101250".parse().unwrap(), "{oregon}");
        let err = fails(&["estate", "tax", "--household", "smith", "--death-of", "ann", "--domicile", "zz"]);
        assert!(err.contains("domicile"), "{err}");
        let err = fails(&["estate", "tax", "--household", "smith", "--death-of", "zed"]);
        assert!(err.contains("death_of"), "{err}");

        // Over HTTP: Bob's recorded citizenship denies the marital deduction without a QDOT.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |path: &str| get_smith(&http, &base, &ana, path.to_owned());
        let (status, body) = get("estate/tax?year=2026&death_of=ann&to_spouse=1000000").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(amount(&body, "marital_deduction"), 0.into(), "{body}");
        let (_, body) = get("estate/tax?year=2026&death_of=ann&to_spouse=1000000&qdot=true").await;
        assert_eq!(amount(&body, "marital_deduction"), "1000000".parse().unwrap(), "{body}");
        let (status, body) = get("estate/tax?year=2026&death_of=ann&domicile=WA").await;
        assert_eq!((status, amount(&body, "state_tax")), (200, 0.into()), "{body}");
        let (status, body) = get("estate/tax?year=2026&death_of=ann&domicile=XX").await;
        assert_eq!((status, body["field"].as_str()), (422, Some("domicile")), "{body}");
        let (status, body) = get("estate/gifts?donor=bob").await;
        assert_eq!((status, body["donors"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
        let (status, body) = get("estate/gifts?donor=zed").await;
        assert_eq!((status, body["field"].as_str()), (422, Some("donor")), "{body}");

        let post = |path: &str, body: Value| {
            let r = http.post(format!("{base}/v1/households/smith/{path}")).bearer_auth(&ana).json(&body);
            async move {
                let r = r.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (status, body) =
            post("gifts", serde_json::json!({"donor": "ann", "donee": "dan", "amount": "10000", "date": "2026-03-01"}))
                .await;
        assert_eq!((status, body["gift_ids"][0].as_str()), (201, Some("G5")), "{body}");
        let (status, body) =
            post("gifts", serde_json::json!({"donor": "zed", "donee": "dan", "amount": "1", "date": "2026-03-01"}))
                .await;
        assert_eq!((status, body["field"].as_str()), (422, Some("donor")), "{body}");
        // Removing Ann's large gift leaves her 2025 within the exclusion.
        let (status, removed) = post("gifts/G1/remove", serde_json::json!({"reason": "recorded twice"})).await;
        assert_eq!(status, 201, "{removed}");
        let (status, body) = post("gifts/G1/remove", serde_json::json!({"reason": "again"})).await;
        assert_eq!((status, body["field"].as_str()), (404, Some("id")), "{body}");
        let (_, body) = get(&format!("estate/gifts?donor=ann&min_position={}", removed["last_position"])).await;
        let years = &body["donors"][0]["years"];
        assert_eq!(amount(&years[0], "taxable_gifts"), 0.into(), "{body}");
        assert_eq!(amount(&years[1], "taxable_gifts"), "6000".parse().unwrap(), "{body}");

        // A member's details over HTTP, bad ones named.
        let put = |body: Value| {
            let r = http.put(format!("{base}/v1/households/smith/members/cara")).bearer_auth(&ana).json(&body);
            async move {
                let r = r.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        assert_eq!(put(serde_json::json!({"domicile": "CA"})).await.0, 201);
        let (status, body) = put(serde_json::json!({"domicile": "ZZ"})).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("domicile")), "{body}");
        let (status, body) = put(serde_json::json!({"relationship": "principal"})).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("relationship")), "{body}");

        // A grandchild is a skip person: 2026's $2,019,000 to Dora is a $2,000,000 direct skip,
        // exempt; a $14,000,000 bequest to skip persons finds 13,000,000 of exemption left:
        // fraction .929 (13/14 rounded), ratio .071, GST tax 14,000,000 × 40% × .071.
        member("dora", &["--relationship", "grandchild", "--born", "2010-05-05"]);
        let dora = gift(&["--donor", "ann", "--donee", "dora", "--amount", "2019000", "--date", "2026-03-02"]);
        cli(&dora);
        let gifts = json(&cli(&["estate", "gifts", "--household", "smith", "--donor", "ann", "--format", "json"]));
        let y2026 = &gifts["donors"][0]["years"][1];
        assert_eq!(amount(y2026, "direct_skips"), "2000000".parse().unwrap(), "{y2026}");
        assert_eq!(amount(y2026, "gst_tax"), 0.into(), "{y2026}");
        assert_eq!(amount(y2026, "gst_exemption_left"), "13000000".parse().unwrap(), "{y2026}");
        let plan = _dir.path().join("skip.toml");
        std::fs::write(&plan, "[estate]\nto_skip_persons = 14000000\n").unwrap();
        let answer = estate(&["--plan", plan.to_str().unwrap()]);
        assert_eq!(answer["gst"]["applicable_fraction"], "0.929", "{answer}");
        assert_eq!(amount(&answer, "gst_tax"), "397600".parse().unwrap(), "{answer}");

        // Trusts and businesses: Ann's 40% of a $10,000,000 FLP at 25% and 30% discounts is
        // $2,100,000 in her estate; a GRAT she funded in 2025 for three years is in it whole
        // while the annuity needs more than the trust; a dynasty trust is out.
        let before = estate(&[]);
        let entity = |args: &[&str]| json(&cli(&[&["estate", "entity", "--household", "smith"][..], args].concat()));
        let flp = entity(&[
            "--name",
            "Smith FLP",
            "--kind",
            "flp",
            "--value",
            "10000000",
            "--owner",
            "ann=0.4",
            "--owner",
            "bob=0.4",
            "--lack-of-control",
            "0.25",
            "--lack-of-marketability",
            "0.30",
        ]);
        assert_eq!(flp["set"]["kind"], "flp", "{flp}");
        entity(&[
            "--name",
            "GRAT 2025",
            "--kind",
            "grat",
            "--value",
            "5000000",
            "--grantor",
            "ann",
            "--funded-on",
            "2025-03-01",
            "--term-years",
            "3",
            "--annuity",
            "1000000",
        ]);
        entity(&[
            "--name",
            "Dynasty",
            "--kind",
            "dynasty_trust",
            "--value",
            "9000000",
            "--grantor",
            "ann",
            "--gst-exempt",
        ]);
        let err = fails(&[
            "estate",
            "entity",
            "--household",
            "smith",
            "--name",
            "X",
            "--kind",
            "slat",
            "--value",
            "1",
            "--grantor",
            "zed",
        ]);
        assert!(err.contains("grantor"), "{err}");
        let after = estate(&[]);
        assert_eq!(amount(&after, "entities_included"), "7100000".parse().unwrap(), "{after}");
        assert_eq!(
            amount(&after, "gross_estate") - amount(&before, "gross_estate"),
            "7100000".parse().unwrap(),
            "{after}"
        );
        let dynasty = after["entities"].as_array().unwrap().iter().find(|i| i["entity"] == "Dynasty").unwrap();
        assert_eq!(amount(dynasty, "included"), 0.into(), "{dynasty}");
        let listed = json(&cli(&["estate", "entities", "--household", "smith", "--format", "json"]));
        let interests = &listed["entities"][2]["interests"];
        assert_eq!(amount(&interests[0], "discounted"), "2100000".parse().unwrap(), "{listed}");
        assert_eq!(amount(&listed, "businesses_value"), "10000000".parse().unwrap(), "{listed}");
        // Over HTTP: an LLC the dynasty trust owns; the trust cannot go while it owns it.
        let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
            let mut r = http.request(method, format!("{base}/v1/households/smith/{path}")).bearer_auth(&ana);
            if let Some(b) = body {
                r = r.json(&b);
            }
            async move {
                let r = r.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let llc =
            serde_json::json!({"kind": "llc", "value": "2000000", "owners": [{"owner": "Dynasty", "share": "1"}]});
        let (status, body) = send(reqwest::Method::PUT, "entities/Farm%20LLC", Some(llc)).await;
        assert_eq!(status, 201, "{body}");
        let bad = serde_json::json!({"kind": "llc", "value": "1", "owners": [{"owner": "nobody", "share": "0.5"}]});
        let (status, body) = send(reqwest::Method::PUT, "entities/Bad", Some(bad)).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("owners")), "{body}");
        let (status, body) = send(reqwest::Method::DELETE, "entities/Dynasty", None).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("name")), "{body}");
        let (status, body) = send(reqwest::Method::DELETE, "entities/Farm%20LLC", None).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = get(&format!("estate/entities?min_position={}", body["last_position"])).await;
        assert_eq!((status, body["entities"].as_array().map(Vec::len)), (200, Some(3)), "{body}");

        // An ILIT Ann funded in 2025 paying a $60,000 premium that year, Cara and Dora holding
        // Crummey powers: $30,000 each, present interests. Dora's takes 2025's $19,000
        // exclusion ($11,000 taxable); Cara's is all taxable, her exclusion gone to the
        // $1,019,000 gift: $41,000 more taxable in 2025. Each lapse passes the $5,000 floor
        // (5% of $100,000 is less) by $25,000 (§2514(e)).
        let ann_gifts =
            || json(&cli(&["estate", "gifts", "--household", "smith", "--donor", "ann", "--format", "json"]));
        let before = ann_gifts();
        entity(&[
            "--name",
            "ILIT",
            "--kind",
            "ilit",
            "--value",
            "100000",
            "--grantor",
            "ann",
            "--funded-on",
            "2025-01-15",
            "--premium",
            "60000",
            "--premium-years",
            "1",
            "--crummey",
            "--beneficiary",
            "cara",
            "--beneficiary",
            "dora",
        ]);
        let after = ann_gifts();
        let premiums = after["donors"][0]["ilit_premiums"].as_array().unwrap();
        assert_eq!(premiums.len(), 2, "{after}");
        assert_eq!(amount(&premiums[1], "amount"), "30000".parse().unwrap(), "{after}");
        assert_eq!(amount(&premiums[1], "lapse_beyond_5_and_5"), "25000".parse().unwrap(), "{after}");
        let taxable_2025 = |g: &Value| amount(&g["donors"][0]["years"][0], "taxable_gifts");
        assert_eq!(taxable_2025(&after) - taxable_2025(&before), "41000".parse().unwrap(), "{after}");
        let err = fails(&[
            "estate",
            "entity",
            "--household",
            "smith",
            "--name",
            "Bad",
            "--kind",
            "slat",
            "--value",
            "1",
            "--grantor",
            "ann",
            "--premium",
            "10",
        ]);
        assert!(err.contains("premium"), "{err}");
        // $1,000,000 to the dynasty trust in 2026 with as much GST exemption allocated on the
        // return (§2632(a)): not a direct skip, yet the exemption is used, after the direct
        // skip's $2,000,000.
        let body = serde_json::json!({"donor": "ann", "donee": "Dynasty", "amount": "1000000", "date": "2026-04-01", "gst_allocation": "1000001"});
        let (status, body) = send(reqwest::Method::POST, "gifts", Some(body)).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("gst_allocation")), "{body}");
        cli(&gift(&[
            "--donor",
            "ann",
            "--donee",
            "Dynasty",
            "--amount",
            "1000000",
            "--date",
            "2026-04-01",
            "--gst-allocation",
            "1000000",
        ]));
        let y2026 = &ann_gifts()["donors"][0]["years"][1];
        assert_eq!(
            (amount(y2026, "direct_skips"), amount(y2026, "gst_elected"), amount(y2026, "gst_exemption_allocated")),
            ("2000000".parse().unwrap(), "1000000".parse().unwrap(), "3000000".parse().unwrap()),
            "{y2026}"
        );

        // Strategies side by side: the ledger says married, two heirs (Cara, Dora), New York.
        let s = json(&cli(&["estate", "strategies", "--household", "smith", "--format", "json"]));
        assert_eq!(
            (s["married"].as_bool(), s["donees"].as_u64(), s["domicile"].as_str()),
            (Some(true), Some(2), Some("NY")),
            "{s}"
        );
        let names: Vec<&str> =
            s["outcomes"].as_array().unwrap().iter().filter_map(|o| o["strategy"].as_str()).collect();
        assert_eq!(names, ["no_planning", "annual_gifts", "grat_programme", "dynasty_trust", "charitable_lead_trust"]);
        assert_eq!(s["dynasty"].as_array().map(Vec::len), Some(3), "{s}");
        // No years given: to Ann's expected death by Table 2010CM (Bob has no birth date).
        let h = &s["horizon"];
        assert_eq!(
            (h["from"].as_str(), h["source"].as_str(), h["members"][0].as_str()),
            (Some("life_expectancy"), Some("table2010cm"), Some("ann")),
            "{s}"
        );
        let expectancy = amount(h, "expectancy");
        assert!(expectancy > 5.into() && expectancy < 15.into(), "{s}");
        let whole = expectancy.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        assert_eq!(rust_decimal::Decimal::from(s["years"].as_u64().unwrap()), whole, "{s}");
        // Bob's birth date and the age he is expected to live to: the later death ends it.
        let (status, body) =
            send(reqwest::Method::PUT, "members/bob", Some(serde_json::json!({"lives_to": 121}))).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("lives_to")), "{body}");
        let bob = serde_json::json!({"born": "1952-01-01", "lives_to": 100});
        let (status, body) = send(reqwest::Method::PUT, "members/bob", Some(bob)).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = get(&format!("estate/strategies?min_position={}", body["last_position"])).await;
        let h = &body["horizon"];
        assert_eq!(
            (status, h["from"].as_str(), h["source"].as_str(), h["members"][1].as_str()),
            (200, Some("second_death"), Some("given"), Some("bob")),
            "{body}"
        );
        // To Bob's 100th birthday (1 January 2052), rounded to whole years.
        let expectancy = amount(h, "expectancy");
        let whole = expectancy.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        assert_eq!(rust_decimal::Decimal::from(body["years"].as_u64().unwrap()), whole, "{body}");
        let to_2052 =
            (chrono::NaiveDate::from_ymd_opt(2052, 1, 1).unwrap() - chrono::Utc::now().date_naive()).num_days();
        assert!(
            (expectancy - rust_decimal::Decimal::from(to_2052) / rust_decimal::Decimal::new(36525, 2)).abs()
                < rust_decimal::Decimal::new(2, 2),
            "{body}"
        );
        let (status, body) = get("estate/strategies?years=10&clat_years=10").await;
        assert_eq!((status, body["years"].as_u64()), (200, Some(10)), "{body}");
        let (status, body) = get("estate/strategies?years=10&clat_years=30").await;
        assert_eq!((status, body["field"].as_str()), (422, Some("clat_years")), "{body}");

        // §2651(e): Dora's parent died on 2026-01-10, before the $2,019,000 of 2026-03-02: she
        // moves up to a child's generation, and the gift is no longer a direct skip.
        member("dora", &["--parent-died", "2026-01-10"]);
        let gifts = json(&cli(&["estate", "gifts", "--household", "smith", "--donor", "ann", "--format", "json"]));
        let y2026 = &gifts["donors"][0]["years"][1];
        assert_eq!((amount(y2026, "direct_skips"), amount(y2026, "gst_tax")), (0.into(), 0.into()), "{y2026}");

        // Every change is on the ledger stream, as audit changes shows it.
        let changes = common::household_changes(&db.url, &env, "smith");
        for kind in ["MemberSet", "GiftRecorded", "GiftRemoved", "EntitySet", "EntityRemoved"] {
            assert!(changes.contains(kind), "{kind}: {changes}");
        }
        db.remove().await;
    }
}

#[tokio::test]
async fn education_funding_reads_a_529_account_and_the_credits_phase_out() {
    use chrono::Datelike;
    for db in all_backends("education").await {
        let (dir, env) = smith(
            &db.url,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-01-02,College 529,529,deposit,,1,20000,0\n",
        );
        let enrolment = chrono::Utc::now().year() + 10;
        let plan = dir.path().join("education.toml");
        std::fs::write(
            &plan,
            format!(
                "[education]\nmagi = 165000\nfiling_status = \"married_filing_jointly\"\nqualified_expenses = 4000\nstate = \"il\"\n\
                 [[education.beneficiaries]]\nname = \"cara\"\ncost_today = 30000\nenrolment = {enrolment}\n\
                 account = \"College 529\"\nmonthly = 500\n"
            ),
        )
        .unwrap();
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let run = || {
            let args = ["estate", "education", "--household", "smith", "--plan", plan.to_str().unwrap()];
            json(&cli(&[&args[..], &["--format", "json"]].concat()))
        };
        let answer = run();
        let cara = &answer["beneficiaries"][0];
        // The account's value is the balance; the first year costs 30,000 × 1.05^10.
        assert_eq!(amount(cara, "balance"), "20000".parse().unwrap(), "{cara}");
        assert_eq!(cara["costs"][0][1], "48866.84", "{cara}");
        let p: f64 = cara["probability"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "{cara}");
        assert!(amount(cara, "gap") > 0.into(), "{cara}");
        assert!(amount(cara, "monthly_at_probability") > amount(cara, "monthly_to_close"), "{cara}");
        assert_eq!(run(), answer, "seeded: the same answer again");
        // Filing jointly at 165,000, three quarters of each credit is kept.
        // Illinois deducts this year's $6,000 of saving (under $20,000 a joint return), at 4.95%.
        let state = &answer["state_deduction"];
        assert_eq!(
            (amount(state, "deduction"), amount(state, "tax_saved")),
            ("6000".parse().unwrap(), "297".parse().unwrap()),
            "{state}"
        );
        // A Coverdell account at $165,000 jointly: under $190,000, the whole $2,000.
        assert_eq!(amount(&answer, "coverdell_limit"), "2000".parse().unwrap(), "{answer}");
        let credits = &answer["credits"];
        assert_eq!(
            (amount(&credits[0], "allowed"), amount(&credits[0], "refundable")),
            ("1875".parse().unwrap(), "750".parse().unwrap()),
            "{credits}"
        );
        assert_eq!(amount(&credits[1], "allowed"), "600".parse().unwrap(), "{credits}");
        let csv =
            cli(&["estate", "education", "--household", "smith", "--plan", plan.to_str().unwrap(), "--format", "csv"]);
        assert!(csv.starts_with("name,balance,monthly,total_cost"), "{csv}");

        // Over HTTP, one beneficiary as parameters; a bad account is named.
        let (_server, base, ana) = signed_in(&db.url, &env).await;
        let http = reqwest::Client::new();
        let get = |query: String| get_smith(&http, &base, &ana, format!("estate/education?{query}"));
        let (status, body) =
            get(format!("name=cara&cost_today=30000&enrolment={enrolment}&account=College%20529&monthly=500")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["beneficiaries"][0]["probability"], cara["probability"], "{body}");
        let (status, body) = get(format!("cost_today=30000&enrolment={enrolment}&account=Brokerage")).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("account")), "{body}");
        // A custodial account: $3,000 of income, $300 above $2,700 at the parents' 32%.
        let utma = format!("cost_today=30000&enrolment={enrolment}&utma=100000&utma_yield=0.03");
        let (status, body) = get(format!("{utma}&parent_rate=0.32")).await;
        assert_eq!(status, 200, "{body}");
        let u = &body["beneficiaries"][0]["utma"];
        assert_eq!(
            (u["years"][0]["net_unearned"].as_str(), u["years"][0]["tax"].as_str()),
            (Some("300.00"), Some("231.00")),
            "{u}"
        );
        assert_eq!(amount(u, "aid_assessed"), amount(u, "at_enrolment") * rust_decimal::Decimal::new(2, 1), "{u}");
        let gap = amount(&body["beneficiaries"][0], "gap") - amount(u, "at_enrolment");
        assert_eq!(amount(&body["beneficiaries"][0], "gap_after_utma"), gap.max(rust_decimal::Decimal::ZERO), "{body}");
        let (status, body) = get(utma).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("parent_rate")), "{body}");
        let (status, body) = get("cost_today=30000".into()).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("enrolment")), "{body}");
        let (status, body) = get(String::new()).await;
        assert_eq!((status, body["beneficiaries"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
        db.remove().await;
    }
}

#[tokio::test]
async fn charitable_trusts_are_valued_by_the_irs_tables_and_tested() {
    let db = common::sqlite().await;
    let (_dir, env) = smith(
        &db.url,
        "trade_date,account,account_type,action,symbol,quantity,price,fees\n2025-01-02,Brokerage,taxable,deposit,,1,100,0\n",
    );
    let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
    // The regulation's unitrust (§1.664-4(e)(6)): $100,000, 8% quarterly for 12 years at 9.6%.
    let crut = ["estate", "charitable", "--kind", "crut", "--funding", "100000", "--payout-rate", "0.08"];
    let t = json(&cli(
        &[&crut[..], &["--years", "12", "--frequency", "4", "--rate", "0.096", "--format", "json"]].concat()
    ));
    assert_eq!(amount(&t, "remainder_value"), "38950.30".parse().unwrap(), "{t}");
    assert_eq!(amount(&t, "adjusted_payout_rate"), "0.07557".parse().unwrap(), "{t}");
    assert_eq!(t["qualifies"], true, "{t}");
    // A couple's unitrust, 5% at 5% until the last of 65 and 62 dies: Table U(2) between .31811
    // (4.6%) and .30316 (4.8%) at the adjusted 4.762%, .306.
    let couple = ["estate", "charitable", "--kind", "crut", "--funding", "1000000", "--payout-rate", "0.05"];
    let t = json(&cli(&[&couple[..], &["--age", "65", "--age2", "62", "--rate", "0.05", "--format", "json"]].concat()));
    assert_eq!(amount(&t, "factor"), "0.306".parse().unwrap(), "{t}");
    assert_eq!(amount(&t, "remainder_value"), "306000.00".parse().unwrap(), "{t}");
    assert_eq!(
        (t["age"].as_u64(), t["age2"].as_u64(), &t["qualifies"]),
        (Some(65), Some(62), &Value::Bool(true)),
        "{t}"
    );
    // One aged 60 at 2.2%, $50,000 a year on $1,000,000: the remainder passes the 10% test but
    // the trust would run dry at 87, which she reaches with probability 38.7%.
    let crat = ["estate", "charitable", "--kind", "crat", "--funding", "1000000", "--payment", "50000"];
    let t = json(&cli(&[&crat[..], &["--age", "60", "--rate", "0.022", "--format", "json"]].concat()));
    assert_eq!(amount(&t, "charitable_deduction"), "136410.00".parse().unwrap(), "{t}");
    assert_eq!(t["exhaustion"]["years"], 27, "{t}");
    assert_eq!(t["qualifies"], false, "{t}");
    let failed: Vec<&str> = t["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["passes"] == false)
        .filter_map(|x| x["name"].as_str())
        .collect();
    assert_eq!(failed, ["exhaustion_probability_at_most_5_percent"], "{t}");
    let table = cli(&[&crat[..], &["--age", "60", "--month", "2026-05", "--format", "csv"]].concat());
    assert!(table.contains("rate,0.050") || table.contains("rate,0.05"), "{table}");
    let out = common::cairn()
        .arg("--database-url")
        .arg(&db.url)
        .args([&crat[..], &["--age", "60", "--years", "10"]].concat())
        .envs(env.clone())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("age"), "{out:?}");

    // Over HTTP: a zeroed-out lead annuity trust leaves the family no gift.
    let (_server, base_url, ana) = signed_in(&db.url, &env).await;
    let http = reqwest::Client::new();
    let get = |query: &str| {
        let r = http.get(format!("{base_url}/v1/estate/charitable?{query}")).bearer_auth(&ana);
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = get("kind=clat&funding=1000000&years=20&rate=0.05").await;
    assert_eq!((status, body["annual_payment"].as_str()), (200, Some("80242.66")), "{body}");
    assert_eq!(amount(&body, "taxable_gift"), 0.into(), "{body}");
    let (status, body) = get("kind=crut&funding=100000&payout_rate=0.05&age=77&rate=0.032").await;
    assert_eq!((status, amount(&body, "remainder_value")), (200, "61232.70".parse().unwrap()), "{body}");
    let (status, body) = get("kind=crut&funding=100000&payout_rate=0.05&rate=0.032").await;
    assert_eq!((status, body["field"].as_str()), (422, Some("years")), "{body}");
    // The couple's unitrust over HTTP; a second age alone, past Table 2010CM or not a number is
    // named.
    let (status, body) = get("kind=crut&funding=1000000&payout_rate=0.05&age=65&age2=62&rate=0.05").await;
    assert_eq!((status, amount(&body, "remainder_value")), (200, "306000.00".parse().unwrap()), "{body}");
    for bad in ["age2=62", "age=65&age2=115", "age=65&age2=sixty", "years=10&age2=62"] {
        let (status, body) = get(&format!("kind=crut&funding=1000000&payout_rate=0.05&rate=0.05&{bad}")).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("age2")), "{bad}: {body}");
    }
    let (status, body) = get("kind=trust&funding=100000").await;
    assert_eq!((status, body["field"].as_str()), (422, Some("kind")), "{body}");

    // Strategies for a $50,000,000 estate with no household: a large estate saves by every
    // transfer strategy; the dynasty trust the most.
    let s = json(&cli(&[
        "estate",
        "strategies",
        "--estate",
        "50000000",
        "--married",
        "true",
        "--donees",
        "4",
        "--rate",
        "0.05",
        "--format",
        "json",
    ]));
    let saved = |name: &str| {
        let o = s["outcomes"].as_array().unwrap().iter().find(|o| o["strategy"] == name).unwrap();
        amount(o, "saved")
    };
    assert!(saved("annual_gifts") > 0.into() && saved("grat_programme") > 0.into(), "{s}");
    assert!(saved("dynasty_trust") > saved("annual_gifts"), "{s}");

    // A business's succession over HTTP: the example's plan as JSON; a bad share is named.
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/succession.toml"))
            .unwrap();
    let plan: toml::Value = toml::from_str(&text).unwrap();
    let body = serde_json::to_value(&plan["succession"]).unwrap();
    let r = http.post(format!("{base_url}/v1/estate/succession")).bearer_auth(&ana).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(amount(&answer["valuation"], "market_value"), "11000000".parse().unwrap(), "{answer}");
    let esop = answer["paths"].as_array().unwrap().iter().find(|p| p["path"] == "esop").unwrap();
    assert_eq!(amount(esop, "capital_gain_tax"), 0.into(), "{answer}");
    let mut bad = body.clone();
    bad["business"]["share"] = serde_json::json!(1.5);
    let r = http.post(format!("{base_url}/v1/estate/succession")).bearer_auth(&ana).json(&bad).send().await.unwrap();
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["field"], "share", "{problem}");

    // A giving plan: $20,000 a year for ten years from 2026 on $400,000 with $10,000 of other
    // itemized deductions. Yearly gifts never beat the $32,200 standard deduction; five years'
    // gifts at once into a donor-advised fund itemize twice and save tax.
    let giving = [
        "estate",
        "philanthropy",
        "--income",
        "400000",
        "--income-growth",
        "0",
        "--annual",
        "20000",
        "--years",
        "10",
        "--start",
        "2026",
        "--other-itemized",
        "10000",
    ];
    let plan = json(&cli(&[&giving[..], &["--format", "json"]].concat()));
    let vehicle =
        |name: &str| plan["vehicles"].as_array().unwrap().iter().find(|v| v["vehicle"] == name).unwrap().clone();
    assert_eq!(amount(&vehicle("direct"), "tax_saved"), 0.into(), "{plan}");
    assert!(amount(&vehicle("donor_advised_fund"), "tax_saved") > "30000".parse().unwrap(), "{plan}");
    let table = cli(&[&giving[..], &["--format", "csv"]].concat());
    assert!(table.lines().any(|l| l.starts_with("private_foundation,200000")), "{table}");
    // Over HTTP: $200,000 of appreciated stock a year on $400,000: 30% of AGI to a public
    // charity ($120,000 less the 0.5% floor), 20% to a foundation ($80,000 less it).
    let r = http.get(format!(
        "{base_url}/v1/estate/philanthropy?income=400000&annual=200000&property=appreciated&years=3&start=2026&income_growth=0"
    ));
    let body: Value = r.bearer_auth(&ana).send().await.unwrap().json().await.unwrap();
    let first = |name: &str| {
        let v = body["vehicles"].as_array().unwrap().iter().find(|v| v["vehicle"] == name).unwrap();
        amount(&v["years"][0], "deduction")
    };
    assert_eq!(first("direct"), "118000".parse().unwrap(), "{body}");
    assert_eq!(first("private_foundation"), "78000".parse().unwrap(), "{body}");
    let r = http.get(format!("{base_url}/v1/estate/philanthropy?income=400000&annual=1&property=land"));
    let body: Value = r.bearer_auth(&ana).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["field"], "property", "{body}");
    db.remove().await;
}

#[tokio::test]
async fn a_grat_is_valued_at_the_published_rate_and_projected() {
    let db = common::sqlite().await;
    let (_dir, env) = smith(
        &db.url,
        "trade_date,account,account_type,action,symbol,quantity,price,fees\n2025-01-02,Brokerage,taxable,deposit,,1,100,0\n",
    );
    let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
    // $10,000,000 for two years at June 2024's 5.6%: zeroed out, 5,423,813.23 a year; at 10% a
    // year 709,992.22 passes, and without volatility every path says so.
    let base = ["estate", "grat", "--funding", "10000000", "--years", "2", "--expected-return", "0.10"];
    let g = json(&cli(&[&base[..], &["--month", "2024-06", "--volatility", "0", "--format", "json"]].concat()));
    assert_eq!(amount(&g, "rate"), "0.056".parse().unwrap(), "{g}");
    assert!(g["rate_source"].as_str().unwrap().contains("Rev. Rul. 2024-12"), "{g}");
    assert_eq!(amount(&g, "taxable_gift"), 0.into(), "{g}");
    assert_eq!(g["payments"][0], "5423813.23", "{g}");
    assert_eq!(amount(&g, "remainder_at_expected_return"), "709992.22".parse().unwrap(), "{g}");
    assert_eq!(g["remainder_paths"]["probability_of_remainder"], 1.0, "{g}");
    let table = cli(&[&base[..], &["--rate", "0.056", "--payment", "4000000", "--format", "csv"]].concat());
    assert!(table.contains("taxable_gift,2625114.78"), "{table}");
    let out = common::cairn()
        .arg("--database-url")
        .arg(&db.url)
        .args([&base[..], &["--month", "1999-01"]].concat())
        .envs(env.clone())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("month"), "{out:?}");

    // A plan file's [grat] with the options laid over it: --years and --month win.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("grat.toml");
    std::fs::write(&plan, "[grat]\nfunding = 10000000\nyears = 5\nexpected_return = 0.10\nvolatility = 0\n").unwrap();
    let plan = plan.to_str().unwrap();
    let g = json(&cli(&["estate", "grat", "--plan", plan, "--years", "2", "--month", "2024-06", "--format", "json"]));
    assert_eq!((g["years"].as_u64(), g["payments"][0].as_str()), (Some(2), Some("5423813.23")), "{g}");
    let refused = |text: &str, args: &[&str]| {
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let bad = dir.path().join("bad.toml");
        let out = common::cairn()
            .args([&["estate", "grat", "--plan", bad.to_str().unwrap()], args].concat())
            .envs(env.clone())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = refused("[grat]\nfunding = \"ten\"\nyears = 2\n", &[]);
    assert!(e.contains("bad.toml [grat] funding: invalid value"), "{e}");
    let e = refused("[grat]\nfunding = 1000\nyear = 2\n", &[]);
    assert!(e.contains("[grat] year: unknown field `year`"), "{e}");
    let e = refused("[grat]\nfunding = 1000\n", &[]);
    assert!(e.contains("--years (or `years` in --plan's [grat]) is required"), "{e}");

    // Over HTTP: 120% of the AFR rounded (5.61% → 5.6%); a missing term is named.
    let (_server, base_url, ana) = signed_in(&db.url, &env).await;
    let http = reqwest::Client::new();
    let get = |query: &str| {
        let r = http.get(format!("{base_url}/v1/estate/grat?{query}")).bearer_auth(&ana);
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = get("funding=10000000&years=2&afr_120=0.0561").await;
    assert_eq!((status, amount(&body, "rate")), (200, "0.056".parse().unwrap()), "{body}");
    assert_eq!(body["payments"][1], "5423813.23", "{body}");
    let (status, body) = get("funding=10000000").await;
    assert_eq!((status, body["field"].as_str()), (422, Some("years")), "{body}");
    let (status, body) = get("funding=10000000&years=2&step_up=0.5").await;
    assert_eq!((status, body["field"].as_str()), (422, Some("step_up")), "{body}");
    db.remove().await;
}
