//! The web page in a real headless Chromium, driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them): sign in with MFA, import a CSV, see the total
//! with the cash, amounts in dollars, flags as yes/no, the user's name, the wash sale in the
//! gains and wash-sale tables with the totals per term in view at 1280 px, take screenshots.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const PASSWORD: &str = "Tr0ub4dor&3-horse-staple";
const CSV: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
2026-01-02,brokerage,taxable,deposit,,1,5000,0\n\
2026-01-05,brokerage,taxable,buy,VTI,10,200,0\n\
2026-03-02,brokerage,taxable,sell,VTI,10,180,0\n\
2026-03-10,brokerage,taxable,buy,VTI,10,185,0\n";

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cli(url: &str, dir: &std::path::Path, args: &[&str], stdin: &str) -> String {
    common::run_with_input(url, &common::server_env(dir), args, stdin)
}

/// A tiny WebDriver client.
struct Driver {
    http: reqwest::Client,
    session: String,
}

impl Driver {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"]["error"].is_null(), "{path}: {v}");
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// The element with this CSS selector, waiting for it to exist.
    async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            let r: Value = self
                .http
                .post(format!("{}/elements", self.session))
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(first) = r["value"].as_array().and_then(|a| a.first()) {
                return first.as_object().unwrap().values().next().unwrap().as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css}");
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    async fn clear(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    /// The element's text; `None` when the page replaced it meanwhile (a re-rendered table).
    async fn text(&self, css: &str) -> Option<String> {
        let id = self.find(css).await;
        let v: Value =
            self.http.get(format!("{}/element/{id}/text", self.session)).send().await.unwrap().json().await.unwrap();
        v["value"].as_str().map(str::to_owned)
    }

    /// Runs `script` (a function body) in the page; its return value.
    async fn execute(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    /// A screenshot, kept beside the build for a person to look at; its path.
    async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&shot, &bytes).unwrap();
        eprintln!("screenshot: {}", shot.display());
        shot
    }

    /// Waits until the text of `css` satisfies `check`; returns it.
    async fn wait_text(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..150 {
            if let Some(text) = self.text(css).await {
                if check(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never matched; last text: {last:?}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn sign_in_import_and_see_the_wash_sale_in_chromium() {
    let (Ok(chromium), Ok(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        common::skipped("the web page in Chromium", "chromium and chromedriver are not installed");
        return;
    };
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();

    // A client with a password, made with the CLI.
    let out = cli(
        &db.url,
        dir.path(),
        &["user", "register", "--name", "Sam Smith", "--email", "sam@example.com", "--household", "smith"],
        "",
    );
    let id = serde_json::from_str::<Value>(out.trim()).unwrap()["user_id"].as_str().unwrap().to_owned();
    cli(&db.url, dir.path(), &["user", "password", "--user", &id], &format!("{PASSWORD}\n"));
    // A close for VTI, so the position has a market value.
    let bars = dir.path().join("bars.csv");
    std::fs::write(
        &bars,
        "date,symbol,open,high,low,close,volume\n2026-03-10,VTI,190.125,190.125,190.125,190.125,100\n",
    )
    .unwrap();
    cli(&db.url, dir.path(), &["market", "import", &bars.display().to_string()], "");

    let (server, base) = common::serve(&db.url, common::server_env(dir.path()));
    let _server = Kill(server);

    let port = free_port();
    let _driver = Kill(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let profile = tempfile::tempdir().unwrap();
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", format!("--user-data-dir={}", profile.path().display())],
        },
    } } });
    let mut session = Value::Null;
    for _ in 0..100 {
        if let Ok(r) = http.post(format!("http://127.0.0.1:{port}/session")).json(&capabilities).send().await {
            session = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let session_id =
        session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_owned();
    let d = Driver { http: http.clone(), session: format!("http://127.0.0.1:{port}/session/{session_id}") };

    // MFA on, over the API.
    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": "sam@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    let setup: Value = http
        .post(format!("{base}/v1/me/mfa"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = commands::security::totp::base32_decode(setup["secret"].as_str().unwrap()).unwrap();

    // Sign in: the page asks for the code after the password, then lets the user in.
    d.go(&format!("{base}/")).await;
    d.type_into("#login-email", "sam@example.com").await;
    d.type_into("#login-password", PASSWORD).await;
    d.click("#login-submit").await;
    d.wait_text("#login-error", |t| !t.is_empty()).await;
    let step = chrono::Utc::now().timestamp() as u64 / commands::security::totp::STEP_SECONDS;
    d.type_into(
        "#login-totp",
        &format!("{:06}", commands::security::totp::code(&secret, step, commands::security::totp::DIGITS)),
    )
    .await;
    d.click("#login-submit").await;
    d.wait_text("#user-roles", |t| t.contains("client")).await;
    d.wait_text("#user-name", |t| t == "Sam Smith").await;

    // Import the CSV through the file input.
    let file = dir.path().join("trades.csv");
    std::fs::write(&file, CSV).unwrap();
    d.click("#nav-import").await;
    d.type_into("#import-file", &file.display().to_string()).await;
    d.click("#import-submit").await;
    let result = d.wait_text("#import-result", |t| t.starts_with("Imported") || t.contains("failed")).await;
    assert!(result.starts_with("Imported 4 rows, 1 wash sale adjusted"), "{result}");

    // The overview's total is the positions at market value (10 × 190.125) plus the cash
    // (5,000 − 2,000 + 1,800 − 1,850), and says so; amounts are dollars with separators.
    d.click("#nav-overview").await;
    let total = d.wait_text("#total-value", |t| t == "$4,851.25").await;
    let note = d.text("#total-value-note").await.unwrap_or_default();
    assert_eq!(note, "positions at market value $1,901.25 + cash $2,950.00", "{total}");
    let positions = d.wait_text("#positions-table tbody", |t| t.contains("$1,901.25")).await;
    assert!(
        positions.contains("190.125") && positions.contains("$2,050.00"),
        "cost basis in dollars, price exact: {positions}"
    );
    let accounts = d.wait_text("#accounts-table tbody", |t| t.contains("$2,950.00")).await;
    assert!(accounts.contains("brokerage"), "{accounts}");
    d.screenshot("web-overview.png").await;

    // The wash sale appears in the gains for 2026.
    d.click("#nav-gains").await;
    d.clear("#gains-year").await;
    d.type_into("#gains-year", "2026").await;
    d.click("#gains-load").await;
    let wash = d.wait_text("#wash-sales-table tbody", |t| t.contains("VTI")).await;
    assert!(wash.contains("200"), "the disallowed loss: {wash}");
    let gains = d.wait_text("#gains-table tbody", |t| t.contains("VTI")).await;
    assert!(gains.contains("2026-03-02") && gains.contains("$1,800.00"), "{gains}");
    assert_eq!(d.text("#gains-table tbody td[data-column='reportable']").await.as_deref(), Some("yes"));
    assert_eq!(d.text("#wash-sales-table tbody td[data-column='permanent']").await.as_deref(), Some("no"));
    // The totals per term, from the answer's totals: the wash sale's loss of 200 is disallowed.
    let short = d.wait_text("#gains-table tfoot tr[data-term='short']", |t| t.contains("$")).await;
    assert!(short.starts_with("Short-term total"), "{short}");
    assert!(short.contains("$1,800.00") && short.contains("$2,000.00") && short.contains("$200.00"), "{short}");
    let long = d.text("#gains-table tfoot tr[data-term='long']").await.unwrap_or_default();
    assert!(long.starts_with("Long-term total") && long.contains("$0.00"), "{long}");
    // Internal columns are not shown; gain/loss is in view in a 1280 px window.
    let internal = d
        .execute(
            "return [...document.querySelectorAll('#app th[data-column]')].map((th) => th.dataset.column)\
             .filter((c) => ['household', 'seq', 'position', 'price_position', 'sale_id'].includes(c));",
        )
        .await;
    assert_eq!(internal, json!([]), "no internal columns");
    let headings = d.text("#gains-table thead").await.unwrap_or_default();
    assert!(headings.contains("Gain/loss") && !headings.contains("Position"), "{headings}");
    let edges = d
        .execute(
            "const cells = [...document.querySelectorAll('#gains-table [data-column=gain_loss]')];\
             return { width: window.innerWidth, rights: cells.map((c) => c.getBoundingClientRect().right) };",
        )
        .await;
    let rights = edges["rights"].as_array().unwrap();
    assert!(rights.len() >= 3, "the heading, a row and the totals: {edges}");
    assert!(rights.iter().all(|r| r.as_f64().unwrap() <= 1280.0), "gain/loss in view: {edges}");

    d.screenshot("web-gains.png").await;

    // A portfolio: the allocation shows its name, not its key, and its flags as yes/no.
    let created = http
        .post(format!("{base}/v1/households/smith/portfolios"))
        .bearer_auth(token)
        .json(&json!({ "name": "Core", "accounts": ["brokerage"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    d.click("#nav-allocation").await;
    let portfolios = d.wait_text("#portfolios-table tbody", |t| t.contains("Core")).await;
    assert!(portfolios.contains("$1,901.25") && portfolios.contains("no"), "{portfolios}");
    let allocation = d.wait_text("#allocation-table tbody", |t| t.contains("VTI")).await;
    assert_eq!(d.text("#allocation-table td[data-column='portfolio']").await.as_deref(), Some("Core"), "{allocation}");
    d.screenshot("web-allocation.png").await;

    // The API reference renders the OpenAPI document, offline.
    d.go(&format!("{base}/docs")).await;
    let ops = d.wait_text("#docs-operations", |t| t.contains("/v1/households/{household}/imports")).await;
    assert!(
        ops.contains("/v1/auth/login") && ops.contains("Idempotency-Key"),
        "the reference lists operations and headers"
    );
    let _ = http.delete(d.session.clone()).send().await;
    db.remove().await;
}

fn which(program: &str) -> Result<String, ()> {
    let out = Command::new("which").arg(program).output().map_err(|_| ())?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && !path.is_empty() {
        Ok(path)
    } else {
        Err(())
    }
}
