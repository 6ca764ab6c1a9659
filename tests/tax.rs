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
        let dir = tempfile::tempdir().unwrap();
        let env = server_env(dir.path());
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let file = dir.path().join("ledger.csv");
        std::fs::write(&file, LEDGER).unwrap();
        cli(&["ledger", "import", file.to_str().unwrap(), "--household", "smith"]);
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
        register(&db.url, &env, "Ana Smith", "ana@smith.test", "smith", "correct horse battery staple");
        let (child, base) = common::serve(&db.url, env.clone());
        let _server = common::Kill(child);
        let ana = common::login(&base, "ana@smith.test", "correct horse battery staple").await;
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
