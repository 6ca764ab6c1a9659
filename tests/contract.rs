//! The HTTP contract: schemathesis (from PyPI, pinned in `tests/contract/requirements.txt`,
//! installed by this test into a virtual environment under cargo's target folder) runs every
//! check against `/openapi.json` of a running `cairn serve`, signed in as a client and as an
//! admin, over a household with accounts, trades and a portfolio. The test fails on any 5xx,
//! any answer that breaks the schema, and any schema-valid request refused, except the refusals
//! `tests/contract/schemathesis.toml` lists with their reasons (rules of the ledger a JSON
//! Schema cannot state). It prints the operations and test cases each run covered.
//!
//! `CAIRN_CONTRACT_SECONDS` (default 75) bounds each run; `CAIRN_CONTRACT_EXAMPLES` (default
//! 40) is the number of examples per operation and phase.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run_with_input, server_env};
use serde_json::{json, Value};

const PASSWORD: &str = "Tr0ub4dor&3-horse-staple";

const LEDGER: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
2025-01-06,brokerage,taxable,deposit,,1,50000,0\n\
2025-01-07,brokerage,taxable,buy,VTI,100,250,0\n\
2025-01-07,brokerage,taxable,buy,BND,200,72,0\n\
2025-02-03,brokerage,taxable,sell,VTI,10,240,0\n\
2025-02-10,ira,roth_ira,contribution,,,7000,0\n";

const BARS: &str = "date,symbol,open,high,low,close,volume\n\
2025-02-03,VTI,241,242,239,240,1000\n\
2025-02-04,VTI,240,245,240,244,1000\n\
2025-02-03,BND,72,73,71,72.5,1000\n\
2025-02-04,BND,72.5,73,72,72.8,1000\n";

/// A virtual environment with the pinned schemathesis, made once per target folder.
fn schemathesis() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/contract");
    let requirements = std::fs::read_to_string(root.join("requirements.txt")).unwrap();
    let pin = requirements.lines().find(|l| l.starts_with("schemathesis==")).expect("a pinned schemathesis");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(pin.replace("==", "-"));
    let st = venv.join("bin/st");
    if !st.exists() {
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 runs");
        assert!(ok.success(), "python3 -m venv {} (Debian: apt-get install python3-venv)", venv.display());
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(root.join("requirements.txt"))
            .status()
            .expect("pip runs");
        assert!(ok.success(), "pip install -r tests/contract/requirements.txt");
    }
    st
}

fn cli(url: &str, dir: &Path, args: &[&str], stdin: &str) -> String {
    run_with_input(url, &server_env(dir), args, stdin)
}

async fn send(http: &reqwest::Client, req: reqwest::RequestBuilder) -> Value {
    let r = http.execute(req.build().unwrap()).await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn token(http: &reqwest::Client, base: &str, email: &str) -> String {
    let req = http.post(format!("{base}/v1/auth/login")).json(&json!({ "email": email, "password": PASSWORD }));
    send(http, req).await["access_token"].as_str().unwrap().to_owned()
}

/// One schemathesis run as `who`; returns its summary lines.
fn run(st: &Path, base: &str, bearer: &str, who: &str, dir: &Path) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/contract");
    let seconds = std::env::var("CAIRN_CONTRACT_SECONDS").unwrap_or_else(|_| "75".into());
    let examples = std::env::var("CAIRN_CONTRACT_EXAMPLES").unwrap_or_else(|_| "40".into());
    let report = dir.join(format!("{who}.ndjson"));
    let out = Command::new(st)
        .arg("--config-file")
        .arg(root.join("schemathesis.toml"))
        .args(["run", &format!("{base}/openapi.json"), "--checks", "all", "--max-time", &seconds])
        .args(["--max-examples", &examples, "--seed", "20261202", "--no-color"])
        .arg("--report-ndjson-path")
        .arg(&report)
        .args(["--report", "ndjson"])
        .env("PYTHONPATH", &root)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("CAIRN_CONTRACT_TOKEN", bearer)
        .env("HOME", dir)
        // schemathesis keeps a cache in its working folder.
        .current_dir(dir)
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "schemathesis as {who} found failures:\n{stdout}\n{stderr}");
    // The summary section: operations selected and tested, phases, test cases run.
    let summary: Vec<String> = stdout
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.contains("Reports:") && !l.contains(".ndjson") && !l.starts_with("=="))
        .map(|l| format!("{who}: {}", l.trim()))
        .collect();
    let cases = summary.iter().find(|l| l.contains(" generated")).unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    assert!(!cases.contains(" 0 generated"), "{cases}");
    summary
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_keeps_its_openapi_contract() {
    let st = schemathesis();
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = common::serve(&db.url, server_env(dir.path()));
    // Killed when the test ends, however it ends.
    let server = common::Kill(child);
    let http = reqwest::Client::new();

    // An admin (from the CLI), a client of household smith, its ledger, prices and a portfolio.
    let out = cli(&db.url, dir.path(), &["user", "register", "--name", "Ada Admin", "--email", "ada@example.com"], "");
    let admin_id = serde_json::from_str::<Value>(out.trim()).unwrap()["user_id"].as_str().unwrap().to_owned();
    cli(&db.url, dir.path(), &["user", "password", "--user", &admin_id], &format!("{PASSWORD}\n"));
    cli(&db.url, dir.path(), &["user", "role", "--user", &admin_id, "grant", "--role", "admin"], "");
    let bars = dir.path().join("bars.csv");
    std::fs::write(&bars, BARS).unwrap();
    cli(&db.url, dir.path(), &["market", "import", bars.to_str().unwrap()], "");
    let admin = token(&http, &base, "ada@example.com").await;
    let client = json!({ "name": "Cy Client", "email": "cy@example.com", "password": PASSWORD, "household": "smith" });
    send(&http, http.post(format!("{base}/v1/users")).bearer_auth(&admin).json(&client)).await;
    let cy = token(&http, &base, "cy@example.com").await;
    let import = http
        .post(format!("{base}/v1/households/smith/imports"))
        .bearer_auth(&cy)
        .header("content-type", "text/csv")
        .body(LEDGER);
    send(&http, import).await;
    let portfolio = json!({ "name": "core", "accounts": ["brokerage"] });
    send(&http, http.post(format!("{base}/v1/households/smith/portfolios")).bearer_auth(&cy).json(&portfolio)).await;
    let targets = json!({ "targets": { "VTI": "0.6", "BND": "0.4" } });
    let put = http.put(format!("{base}/v1/households/smith/portfolios/core/targets")).bearer_auth(&cy).json(&targets);
    send(&http, put).await;

    let mut summary = run(&st, &base, &cy, "client", dir.path());
    summary.extend(run(&st, &base, &admin, "admin", dir.path()));
    for line in &summary {
        println!("{line}");
    }
    // The server is still up and its log intact after both runs.
    let health = send(&http, http.get(format!("{base}/health"))).await;
    assert_eq!(health["status"], "ok", "{health}");
    let verify = send(&http, http.get(format!("{base}/v1/audit/verify")).bearer_auth(&admin)).await;
    assert_eq!(verify["ok"], true, "{verify}");
    drop(server);
    db.remove().await;
}
