//! End-to-end tests of the HTTP API against a real `cairn serve` (SQLite and PostgreSQL):
//! sign-in with lockout, MFA, refresh rotation and reuse detection, sign-out; every role
//! against every endpoint group; commands with Idempotency-Key and version conflicts; queries
//! stamped with positions, as-of replays; problem documents for bad input; security headers;
//! live events; the OpenAPI document.

mod common;

use std::process::Child;
use std::time::Duration;

use common::{all_backends, run_with_input, server_env, TestDb};
use serde_json::{json, Value};
use sha2::Digest as _;

const PASSWORD: &str = "Tr0ub4dor&3-horse-staple";

/// A running server and what it needs.
struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(db: &TestDb) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (child, base) = common::serve(&db.url, server_env(dir.path()));
        Self { child, base, dir, url: db.url.clone() }
    }

    /// Runs the CLI against the same database and keys; `stdin` is fed to it.
    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        run_with_input(&self.url, &server_env(self.dir.path()), args, stdin.unwrap_or(""))
    }
}

/// A server built in-process by `api::startup` (as `serve` builds it: projectors, risk worker,
/// HTTP) on a free port over a test's fresh database, zero2prod's `spawn_app`: for the tests
/// that need no separate process. The CLI runs beside it on the same database and keys.
struct App {
    base: String,
    dir: tempfile::TempDir,
    url: String,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn spawn_app(db: &TestDb) -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = api::config::Config {
        database_url: db.url.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        master_key: api::config::MasterKeySource::File(dir.path().join("master.key")),
        jwt_key_file: dir.path().join("jwt-ed25519.pem"),
        hash_cost: commands::security::password::HashCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            concurrency: 4,
        },
        relay: None,
        risk_worker: true,
        providers: None,
        ops: None,
        audit_key_file: dir.path().join("audit-ed25519.pem"),
        audit_heads_file: Some(dir.path().join("audit-heads.jsonl")),
    };
    let app = api::startup::Application::build(config).await.expect("the application builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    let stop = app.stopper();
    let mut stopping = stop.subscribe();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopping.wait_for(|s| *s).await;
    }));
    App { base, dir, url: db.url.clone(), stop }
}

/// A server the tests drive: in-process ([`App`]) or a `cairn serve` process ([`Server`]).
trait Host {
    /// Runs the CLI against the same database and keys; `stdin` is fed to it.
    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String;
}

impl Host for App {
    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        run_with_input(&self.url, &server_env(self.dir.path()), args, stdin.unwrap_or(""))
    }
}

impl Host for Server {
    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        Server::cli(self, args, stdin)
    }
}

/// A client that remembers nothing: each call says its token.
struct Api {
    http: reqwest::Client,
    base: String,
    /// The device cookie the server set, sent back to `/v1/auth` as a browser would.
    device: std::sync::Mutex<Option<String>>,
}

/// A response: status, headers, JSON body (or Null).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn problem(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }
}

impl Api {
    fn new(base: &str, agent: &str) -> Self {
        Self {
            http: reqwest::Client::builder().user_agent(agent).build().unwrap(),
            base: base.to_owned(),
            device: std::sync::Mutex::new(None),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let cookie = self.device.lock().unwrap().clone();
        if let Some(c) = cookie.filter(|_| path.starts_with("/v1/auth")) {
            req = req.header("cookie", c);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        if let Some(set) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/v1/auth"),
                "{set}"
            );
            *self.device.lock().unwrap() = set.split(';').next().map(str::to_owned);
        }
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status >= 400 {
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "{method} {path} → {status}: every error is a problem document ({text})"
            );
        }
        Answer { status, headers, body }
    }

    /// A CSV import request (sent by the caller).
    fn import(&self, household: &str, token: &str, csv: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/v1/households/{household}/imports", self.base))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv)
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.send("GET", path, Some(token), None, &[]).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.send("POST", path, token, Some(body), &[]).await
    }

    async fn login(&self, email: &str, password: &str) -> Answer {
        self.post("/v1/auth/login", None, json!({ "email": email, "password": password })).await
    }

    async fn token(&self, email: &str) -> String {
        let a = self.login(email, PASSWORD).await;
        assert_eq!(a.status, 200, "{email} signs in: {}", a.body);
        a.body["access_token"].as_str().unwrap().to_owned()
    }
}

/// An admin made with the CLI (the bootstrap path), signed in over HTTP.
async fn bootstrap(server: &impl Host, api: &Api) -> String {
    let out = server.cli(&["user", "register", "--name", "Ada Admin", "--email", "ada@example.com"], None);
    let id: Value = serde_json::from_str(out.trim()).unwrap();
    let id = id["user_id"].as_str().unwrap().to_owned();
    server.cli(&["user", "password", "--user", &id], Some(&format!("{PASSWORD}\n")));
    server.cli(&["user", "role", "--user", &id, "grant", "--role", "admin"], None);
    api.token("ada@example.com").await
}

const WASH_CSV: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
2026-01-05,brokerage,taxable,buy,VTI,10,200,0\n\
2026-03-02,brokerage,taxable,sell,VTI,10,180,0\n\
2026-03-10,brokerage,taxable,buy,VTI,10,185,0\n";

fn trade(day: &str, action: &str, quantity: &str, price: &str) -> Value {
    json!({ "trade_date": day, "account": "side", "account_type": "taxable", "action": action,
            "symbol": "VTI", "quantity": quantity, "price": price, "fees": "0" })
}

/// The households most tests need, in an in-process server over a fresh database: an admin
/// (made with the CLI), clients of `smith` and `jones`, an advisor of `smith`, an auditor, and
/// their tokens.
struct Smith {
    server: App,
    api: Api,
    admin: String,
    ids: std::collections::BTreeMap<String, String>,
    sam: String,
    avi: String,
    aud: String,
    jo: String,
}

impl Smith {
    async fn new(db: &TestDb) -> Self {
        let server = spawn_app(db).await;
        let api = Api::new(&server.base, "laptop/1.0");
        let admin = bootstrap(&server, &api).await;
        let ids = users(&api, &admin, &[]).await;
        let sam = api.token("sam@example.com").await;
        let avi = api.token("avi@example.com").await;
        let aud = api.token("aud@example.com").await;
        let jo = api.token("jo@example.com").await;
        Self { server, api, admin, ids, sam, avi, aud, jo }
    }
}

/// Records sam's trade of 5 VTI in `side` and imports [`WASH_CSV`]; returns the trade's answer
/// and the import's last position.
async fn trade_and_import(api: &Api, sam: &str) -> (Answer, u64) {
    let first = api.post("/v1/households/smith/trades", Some(sam), trade("2025-06-02", "buy", "5", "150")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let import = api.import("smith", sam, WASH_CSV).send().await.unwrap();
    assert_eq!(import.status().as_u16(), 201);
    let import: Value = import.json().await.unwrap();
    (first, import["last_position"].as_u64().unwrap())
}

/// An email signs in one user; a breached or weak password is refused, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_one_per_email_and_weak_passwords_are_refused() {
    for db in all_backends("unique emails").await {
        let Smith { server, api, admin, .. } = Smith::new(&db).await;
        let taken = api.post("/v1/users", Some(&admin), json!({ "name": "Dup", "email": "SAM@example.com" })).await;
        assert_eq!((taken.status, taken.body["field"].as_str()), (422, Some("email")), "an email signs in one user");
        let weak = api
            .post(
                "/v1/auth/register",
                None,
                json!({ "name": "W", "email": "w@example.com", "password": "qwerty123456" }),
            )
            .await;
        assert_eq!((weak.status, weak.body["field"].as_str()), (422, Some("password")), "{}", weak.body);

        drop(server);
        db.remove().await;
    }
}

/// A command sent twice with one Idempotency-Key is recorded once; a bad row is refused naming its
/// field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_with_an_idempotency_key_is_recorded_once_and_rows_come_from_typed_fields() {
    for db in all_backends("idempotent trades").await {
        let Smith { server, api, sam, .. } = Smith::new(&db).await;
        // A trade with an Idempotency-Key, sent twice: one trade, the first answer twice.
        let key = [("Idempotency-Key", "trade-0001")];
        let first = api
            .send("POST", "/v1/households/smith/trades", Some(&sam), Some(trade("2025-06-02", "buy", "5", "150")), &key)
            .await;
        assert_eq!(first.status, 201, "{}", first.body);
        let again = api
            .send("POST", "/v1/households/smith/trades", Some(&sam), Some(trade("2025-06-02", "buy", "5", "150")), &key)
            .await;
        assert_eq!((again.status, &again.body), (201, &first.body), "a retry gets the first answer");
        assert_eq!(again.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
        let other = api
            .send("POST", "/v1/households/smith/trades", Some(&sam), Some(trade("2025-06-02", "buy", "6", "150")), &key)
            .await;
        assert_eq!((other.status, other.problem()), (422, "/problems/idempotency-key-reused"));
        let bad = api.post("/v1/households/smith/trades", Some(&sam), trade("2025-06-02", "buy", "five", "150")).await;
        assert_eq!((bad.status, bad.body["field"].as_str()), (422, Some("quantity")), "{}", bad.body);
        let wrong_kind =
            api.post("/v1/households/smith/trades", Some(&sam), trade("2025-06-02", "split", "1", "1")).await;
        assert_eq!((wrong_kind.status, wrong_kind.body["field"].as_str()), (422, Some("action")));
        // The row is built from its typed fields, with no CSV in between: a leading `#` (a CSV
        // comment) is only a bad date, named as such, on the request's one line.
        let mut hashed = trade("2025-06-02", "buy", "1", "150");
        hashed["trade_date"] = json!("#2025-06-02");
        let hashed = api.post("/v1/households/smith/trades", Some(&sam), hashed).await;
        assert_eq!(
            (hashed.status, hashed.body["field"].as_str(), hashed.body["line"].as_u64()),
            (422, Some("trade_date"), Some(1)),
            "{}",
            hashed.body
        );

        drop(server);
        db.remove().await;
    }
}

/// Reads carry the position they reflect, are kept until the household's rows change, and the audit
/// trail says who recorded what.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_stamped_with_positions_kept_until_the_rows_change_and_audited() {
    for db in all_backends("stamped reads").await {
        let Smith { server, api, ids, sam, avi, .. } = Smith::new(&db).await;
        // A trade, then a CSV import that makes a wash sale; read it back at the import's position.
        let first = api.post("/v1/households/smith/trades", Some(&sam), trade("2025-06-02", "buy", "5", "150")).await;
        assert_eq!(first.status, 201, "{}", first.body);
        let import = api.import("smith", &sam, WASH_CSV).send().await.unwrap();
        assert_eq!(import.status().as_u16(), 201);
        let import: Value = import.json().await.unwrap();
        assert_eq!(import["wash_sales_adjusted"], 1, "{import}");
        let at = import["last_position"].as_u64().unwrap();
        let gains = api.get(&format!("/v1/households/smith/gains?year=2026&min_position={at}"), &sam).await;
        assert_eq!(gains.status, 200, "{}", gains.body);
        assert!(gains.body["position"].as_u64().unwrap() >= at, "stamped with the position it reflects");
        assert_eq!(gains.body["rows"].as_array().unwrap().len(), 1);
        let wash = api.get(&format!("/v1/households/smith/wash-sales?year=2026&min_position={at}"), &sam).await;
        assert_eq!(wash.body["rows"][0]["disallowed_loss"], "200.00", "{}", wash.body);
        let positions = api.get(&format!("/v1/households/smith/positions?min_position={at}"), &sam).await;
        let held: Vec<(&str, &str)> = positions.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["account"].as_str().unwrap(), r["quantity"].as_str().unwrap()))
            .collect();
        assert_eq!(held, [("brokerage", "10"), ("side", "5")], "the trade and what the import left");
        // Asked again, the same rows (kept by the household's version token); after another
        // trade, the new rows, not the kept ones.
        let again = api.get(&format!("/v1/households/smith/positions?min_position={at}"), &sam).await;
        assert_eq!(again.body["rows"], positions.body["rows"]);
        let more = api.post("/v1/households/smith/trades", Some(&sam), trade("2025-06-03", "buy", "2", "151")).await;
        let at = more.body["last_position"].as_u64().unwrap();
        let after = api.get(&format!("/v1/households/smith/positions?min_position={at}"), &sam).await;
        let side = after.body["rows"].as_array().unwrap().iter().find(|r| r["account"] == "side").cloned().unwrap();
        assert_eq!(side["quantity"], "7", "{side}");

        // The audit trail: each event with who recorded it, through what, under which command.
        let trail = api.get("/v1/households/smith/events", &avi).await;
        let rows = trail.body["rows"].as_array().unwrap();
        let trade_row = rows.iter().find(|r| r["event_type"] == "TradeRecorded").unwrap();
        assert_eq!(trade_row["actor"].as_str(), Some(format!("user:{}", ids["sam@example.com"]).as_str()));
        assert_eq!(trade_row["source"], "http");
        assert!(rows.iter().any(|r| r["event_type"] == "WashSaleAdjusted"), "{rows:?}");
        assert_eq!(trail.body["position"].as_u64().map(|p| p >= at), Some(true));

        drop(server);
        db.remove().await;
    }
}

/// Who may see what: a guessed household is 404 (and logged), an advisor sees theirs, auditors read
/// everything and write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_and_changes_only_what_it_may() {
    for db in all_backends("roles").await {
        let Smith { server, api, ids, sam, avi, aud, jo, .. } = Smith::new(&db).await;
        // Who may see what: a guessed household is 404 (and logged); an advisor sees theirs.
        let guessed = api.get("/v1/households/jones/positions", &sam).await;
        assert_eq!((guessed.status, guessed.problem()), (404, "/problems/not-found"));
        assert_eq!(
            api.get("/v1/households/nobody-here/positions", &sam).await.status,
            404,
            "the same answer as a missing one"
        );
        let (_, at) = trade_and_import(&api, &sam).await;
        assert_eq!(api.get(&format!("/v1/households/smith/lots?min_position={at}"), &avi).await.status, 200);
        assert_eq!(api.get("/v1/households/jones/lots", &avi).await.status, 404);
        assert_eq!(api.get("/v1/households/jones/lots", &aud).await.status, 200, "auditors read everything");
        let aud_write = api.post("/v1/households/smith/trades", Some(&aud), trade("2025-06-03", "buy", "1", "1")).await;
        assert_eq!((aud_write.status, aud_write.problem()), (403, "/problems/forbidden"), "auditors are read-only");
        assert_eq!(
            api.post("/v1/households/smith/trades", Some(&jo), trade("2025-06-03", "buy", "1", "1")).await.status,
            404
        );
        let listed = api.get("/v1/households", &sam).await;
        let names: Vec<&str> =
            listed.body["rows"].as_array().unwrap().iter().filter_map(|r| r["household"].as_str()).collect();
        assert_eq!(names, ["smith"], "a client lists only their household");
        assert_eq!(
            api.post("/v1/users", Some(&sam), json!({ "name": "x", "email": "x@example.com" })).await.status,
            403
        );
        assert_eq!(api.get("/v1/audit/verify", &sam).await.status, 403);
        let verified = api.get("/v1/audit/verify", &aud).await;
        assert_eq!(verified.body["ok"], true, "{}", verified.body);
        wait_for(&api, &aud, &format!("/v1/audit/security?user={}", ids["sam@example.com"]), |rows| {
            rows.iter().any(|r| r["kind"] == "access_refused" && r["detail"].as_str().unwrap_or("").contains("jones"))
        })
        .await;

        drop(server);
        db.remove().await;
    }
}

/// As-of replays: before the household's first event it did not exist; a bare date is all of that
/// day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_replays_are_for_auditors_and_say_when_a_household_did_not_exist() {
    for db in all_backends("as-of replays").await {
        let Smith { server, api, sam, aud, .. } = Smith::new(&db).await;
        let (_, at) = trade_and_import(&api, &sam).await;
        // As of an instant before the household's first event: the auditor is told it did not
        // exist then (not shown an empty ledger); a client may not ask.
        let before = (chrono::Utc::now() - chrono::Duration::days(3650)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        for what in ["gains", "lots", "allocations"] {
            let old = api.get(&format!("/v1/households/smith/{what}?as_of={before}"), &aud).await;
            assert_eq!((old.status, old.problem()), (404, "/problems/not-found"), "{what}: {}", old.body);
            let detail = old.body["detail"].as_str().unwrap();
            let prefix = format!("household smith did not exist at {before} (its first event was recorded at ");
            assert!(detail.starts_with(&prefix), "{detail}");
        }
        assert_eq!(api.get("/v1/households/smith/gains?as_of=2020-01-01", &sam).await.status, 403);
        // A bare date is all of that day, as the CLI reads it: as of today, today's rows are in.
        let today = chrono::Utc::now().date_naive();
        let as_of_today = api.get(&format!("/v1/households/smith/lots?as_of={today}"), &aud).await;
        let current = api.get(&format!("/v1/households/smith/lots?min_position={at}"), &aud).await;
        assert_eq!(as_of_today.status, 200, "{}", as_of_today.body);
        assert_eq!(as_of_today.body["rows"], current.body["rows"], "{}", as_of_today.body);
        assert_eq!(as_of_today.body["as_of"], format!("{today}T23:59:59.999999Z"));

        drop(server);
        db.remove().await;
    }
}

/// A command conditional on the version it read is refused with 409 once something else was
/// recorded; every command takes an Idempotency-Key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_conditional_on_a_version_are_refused_once_it_moved() {
    for db in all_backends("conditional commands").await {
        let Smith { server, api, sam, .. } = Smith::new(&db).await;
        // A trade conditional on the ledger's version: refused once something else was recorded.
        trade_and_import(&api, &sam).await;
        let more = api.post("/v1/households/smith/trades", Some(&sam), trade("2025-06-03", "buy", "2", "151")).await;
        let version = more.body["version"].as_u64().unwrap();
        let v = version.to_string();
        let stale = api
            .send(
                "POST",
                "/v1/households/smith/trades",
                Some(&sam),
                Some(trade("2025-06-04", "buy", "1", "150")),
                &[("If-Match", "1")],
            )
            .await;
        assert_eq!((stale.status, stale.body["current_version"].as_u64()), (409, Some(version)), "{}", stale.body);
        let fresh = api
            .send(
                "POST",
                "/v1/households/smith/trades",
                Some(&sam),
                Some(trade("2025-06-04", "buy", "1", "150")),
                &[("If-Match", v.as_str())],
            )
            .await;
        assert_eq!(fresh.status, 201, "{}", fresh.body);

        // Portfolio targets with a stale version: 409 naming the current one.
        // Every command takes an Idempotency-Key: creating the portfolio twice with one key
        // answers the first creation twice (without it, the second would be refused).
        let core = json!({ "name": "core", "accounts": ["brokerage"] });
        let key = [("Idempotency-Key", "create-core")];
        let created = api.send("POST", "/v1/households/smith/portfolios", Some(&sam), Some(core.clone()), &key).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let retried = api.send("POST", "/v1/households/smith/portfolios", Some(&sam), Some(core), &key).await;
        assert_eq!((retried.status, &retried.body), (201, &created.body));
        assert_eq!(retried.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
        let v = created.body["version"].as_u64().unwrap();
        let set = api
            .send(
                "PUT",
                "/v1/households/smith/portfolios/core/targets",
                Some(&sam),
                Some(json!({ "targets": { "VTI": "1" }, "expected_version": v })),
                &[],
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
        let stale = api
            .send(
                "PUT",
                "/v1/households/smith/portfolios/core/targets",
                Some(&sam),
                Some(json!({ "targets": { "VTI": "1" }, "expected_version": v })),
                &[],
            )
            .await;
        assert_eq!((stale.status, stale.body["current_version"].as_u64()), (409, Some(v + 1)), "{}", stale.body);

        drop(server);
        db.remove().await;
    }
}

/// Malformed JSON, a wrong content type, an unknown field, an oversized body and an unknown route
/// each answer a problem document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_problem_document_never_a_500() {
    for db in all_backends("problem documents").await {
        let Smith { server, api, sam, .. } = Smith::new(&db).await;
        // Bad input is a problem document, never a 500.
        let raw = |body: &'static str, ct: &'static str| {
            api.http
                .post(format!("{}/v1/households/smith/trades", server.base))
                .bearer_auth(&sam)
                .header("content-type", ct)
                .body(body)
                .send()
        };
        let r = raw("{not json", "application/json").await.unwrap();
        assert_eq!(
            (r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()),
            (400, "application/problem+json")
        );
        assert_eq!(raw("{}", "text/plain").await.unwrap().status().as_u16(), 415);
        let mut unknown = trade("2025-06-02", "buy", "1", "1");
        unknown["colour"] = json!("red");
        let u = api.post("/v1/households/smith/trades", Some(&sam), unknown).await;
        assert!(u.status == 400 && u.body["detail"].as_str().unwrap().contains("colour"), "{}", u.body);
        // (The server answers before reading the whole body and closes the connection, so
        // this request asks not to reuse it.)
        let oversized = json!({ "description": "x".repeat(200_000) });
        let huge = api
            .send("POST", "/v1/households/smith/trades", Some(&sam), Some(oversized), &[("connection", "close")])
            .await;
        assert_eq!((huge.status, huge.problem()), (413, "/problems/payload-too-large"));
        assert_eq!(api.get("/v1/nowhere", &sam).await.problem(), "/problems/not-found");
        assert_eq!(api.send("GET", "/v1/households/smith/positions", None, None, &[]).await.status, 401);

        drop(server);
        db.remove().await;
    }
}

/// Security headers; the page, the docs and the OpenAPI document work offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_docs_load_nothing_from_elsewhere_behind_security_headers() {
    for db in all_backends("security headers").await {
        let Smith { server, api, .. } = Smith::new(&db).await;
        // Security headers, the page and the docs work offline.
        let page = api.http.get(format!("{}/", server.base)).send().await.unwrap();
        for h in ["strict-transport-security", "x-content-type-options", "x-frame-options", "content-security-policy"] {
            assert!(page.headers().contains_key(h), "{h}");
        }
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
        for path in ["/", "/app.js", "/app.css", "/docs", "/docs.js"] {
            let text = api.http.get(format!("{}{path}", server.base)).send().await.unwrap().text().await.unwrap();
            // The only absolute URL allowed is the SVG namespace (an identifier, never fetched).
            let outside = text.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !outside.contains("https://") && !outside.contains("http://"),
                "{path} loads nothing from elsewhere"
            );
        }
        let doc =
            api.http.get(format!("{}/openapi.json", server.base)).send().await.unwrap().json::<Value>().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/v1/auth/login",
            "/v1/households/{household}/gains",
            "/v1/households/{household}/imports",
            "/v1/audit/security",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} is documented");
        }
        assert!(
            doc["components"]["schemas"]["Row"]["properties"]["trade_date"].is_object(),
            "body schemas come from the types"
        );

        drop(server);
        db.remove().await;
    }
}

/// Amounts whose exact values have more than two decimals: 3 shares at 10.3333, two sales of
/// one share at 12.5555 (short term), 2 shares held over a year (long term), and a sale in an
/// IRA (not reportable); one close for the valuations.
const CENTS_CSV: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
2024-01-08,main,taxable,buy,BND,2,70.1234,0\n\
2025-01-06,main,taxable,buy,VTI,3,10.3333,0\n\
2025-02-03,main,taxable,sell,VTI,1,12.5555,0\n\
2025-02-04,main,taxable,sell,VTI,1,12.5555,0\n\
2025-03-04,main,taxable,sell,BND,2,71.9876,0\n\
2025-01-06,ira,traditional_ira,buy,VTI,1,10,0\n\
2025-02-05,ira,traditional_ira,sell,VTI,1,20.005,0\n";

/// Whether `v` is an amount as answers show it: a string with exactly two decimals.
fn cents(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let (units, decimals) = s.trim_start_matches('-').split_once('.').unwrap_or(("", ""));
        !units.is_empty() && units.bytes().all(|b| b.is_ascii_digit()) && decimals.len() == 2
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_have_two_decimals_and_gains_carry_the_clis_totals() {
    for db in all_backends("amounts over HTTP").await {
        let server = spawn_app(&db).await;
        let api = Api::new(&server.base, "t");
        let admin = bootstrap(&server, &api).await;
        let bars = server.dir.path().join("bars.csv");
        std::fs::write(
            &bars,
            "date,symbol,open,high,low,close,volume\n2025-03-04,VTI,11.1111,11.1111,11.1111,11.1111,100\n",
        )
        .unwrap();
        server.cli(&["market", "import", &bars.display().to_string()], None);
        let import = api.import("lee", &admin, CENTS_CSV).send().await.unwrap();
        assert_eq!(import.status().as_u16(), 201);
        let at = import.json::<Value>().await.unwrap()["last_position"].as_u64().unwrap();

        // Every money column is a two-decimal string; quantities and prices stay exact.
        let mut answers = std::collections::BTreeMap::new();
        for what in ["accounts", "positions", "valuations", "lots", "gains", "wash-sales", "contributions"] {
            let a = api.get(&format!("/v1/households/lee/{what}?min_position={at}"), &admin).await;
            assert_eq!(a.status, 200, "{what}: {}", a.body);
            let columns = a.body["columns"].as_array().unwrap();
            let rows = a.body["rows"].as_array().unwrap();
            for column in columns.iter().filter(|c| c["kind"] == "money") {
                let name = column["name"].as_str().unwrap();
                for row in rows.iter().filter(|r| !r[name].is_null()) {
                    assert!(cents(&row[name]), "{what}.{name} has two decimals: {row}");
                }
            }
            answers.insert(what, a.body);
        }
        let kinds: std::collections::BTreeMap<&str, &str> = answers["gains"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(
            (kinds["gain_loss"], kinds["quantity"], kinds["reportable"], kinds["date_sold"]),
            ("money", "decimal", "flag", "date")
        );
        let row = |what: &str, column: &str, value: &str| -> Value {
            let rows = answers[what]["rows"].as_array().unwrap();
            rows.iter().find(|r| r[column] == value && r["account"] == "main").cloned().unwrap()
        };
        let vti = row("positions", "symbol", "VTI");
        assert_eq!((&vti["quantity"], &vti["cost_basis"]), (&json!("1"), &json!("10.33")), "{vti}");
        let valued = row("valuations", "symbol", "VTI");
        assert_eq!(
            (&valued["price"], &valued["market_value"], &valued["unrealized_gain"]),
            (&json!("11.1111"), &json!("11.11"), &json!("0.78")),
            "{valued}"
        );
        let lot = row("lots", "symbol", "VTI");
        assert_eq!((&lot["basis"], &lot["wash_adjustment"]), (&json!("10.33"), &json!("0.00")), "{lot}");
        let sale = row("gains", "date_sold", "2025-02-03");
        assert_eq!(
            (&sale["proceeds"], &sale["cost_basis"], &sale["gain_loss"]),
            (&json!("12.56"), &json!("10.33"), &json!("2.22")),
            "{sale}"
        );
        let main = row("accounts", "account", "main");
        assert!(cents(&main["cash"]), "{main}");

        // The gains' totals per term are the CLI's: each row rounded to cents, then added; the
        // IRA's sale is not reportable and counts in neither.
        let gains = api.get(&format!("/v1/households/lee/gains?year=2025&min_position={at}"), &admin).await;
        let out = server.cli(&["ledger", "gains", "--household", "lee", "--year", "2025", "--format", "json"], None);
        let report: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(gains.body["totals"], report["totals"], "HTTP: {} CLI: {out}", gains.body);
        assert_eq!(gains.body["totals"]["short"]["proceeds"], "25.12", "12.56 twice, not 25.111 rounded");
        assert_eq!(gains.body["totals"]["long"]["gain_loss"], "3.73", "{}", gains.body);
        // The same Form 8949 rows as the CLI: reportable sales only (the IRA's sale is not one).
        let sales = |rows: &Value| -> Vec<(String, String, String)> {
            let mut v: Vec<_> = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["account"].to_string(), r["date_sold"].to_string(), r["proceeds"].to_string()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(sales(&gains.body["rows"]), sales(&report["gains"]), "HTTP: {} CLI: {out}", gains.body);
        assert_eq!(sales(&gains.body["rows"]).len(), 3, "{}", gains.body);
        assert!(gains.body["rows"].as_array().unwrap().iter().all(|r| r["reportable"] == "1"), "{}", gains.body);
        // What the household is worth comes from the server: the valuations' and accounts'
        // amounts added (the page does no arithmetic), the same figures as the CLI's.
        let cents_of = |v: &Value| -> i64 {
            let s = v.as_str().unwrap();
            let (units, decimals) = s.trim_start_matches('-').split_once('.').unwrap();
            let n = units.parse::<i64>().unwrap() * 100 + decimals.parse::<i64>().unwrap();
            if s.starts_with('-') {
                -n
            } else {
                n
            }
        };
        let sum = |what: &str, column: &str| -> i64 {
            answers[what]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| !r[column].is_null())
                .map(|r| cents_of(&r[column]))
                .sum()
        };
        let value = api.get(&format!("/v1/households/lee/value?min_position={at}"), &admin).await;
        assert_eq!(value.status, 200, "{}", value.body);
        assert_eq!(cents_of(&value.body["positions"]), sum("valuations", "market_value"), "{}", value.body);
        assert_eq!(cents_of(&value.body["cash"]), sum("accounts", "cash"), "{}", value.body);
        assert_eq!(
            cents_of(&value.body["total"]),
            sum("valuations", "market_value") + sum("accounts", "cash"),
            "{}",
            value.body
        );
        assert_eq!(value.body["positions"], "11.11", "1 VTI at 11.1111: {}", value.body);
        let out = server.cli(&["ledger", "value", "--household", "lee", "--format", "json"], None);
        let cli: Value = serde_json::from_str(out.trim()).unwrap();
        for field in ["positions", "cash", "total"] {
            assert_eq!(cli["value"][0][field], value.body[field], "{field}: HTTP {} CLI {out}", value.body);
        }
        // A report to keep: the CLI's JSON and CSV, signed, and recorded with the caller as actor.
        let path = format!("/v1/households/lee/reports/gains?year=2025&min_position={at}");
        let kept = api.get(&path, &admin).await;
        assert_eq!(kept.status, 200, "{}", kept.body);
        assert_eq!((&kept.body["gains"], &kept.body["totals"]), (&report["gains"], &report["totals"]), "as the CLI");
        assert_eq!(kept.body["generated"]["parameters"], json!({ "household": "lee", "year": "2025" }));
        let mut unsigned = kept.body.clone();
        let carried = unsigned.as_object_mut().unwrap().remove("sha256").unwrap();
        assert_eq!(carried.as_str().unwrap(), hex::encode(sha2::Sha256::digest(unsigned.to_string())));
        let csv = api.http.get(format!("{}{path}&format=csv", server.base)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        let (body, signature) = csv.rsplit_once("# sha256:").unwrap();
        assert_eq!(signature.trim(), hex::encode(sha2::Sha256::digest(body)), "{csv}");
        assert!(body.starts_with("description,account,date_acquired,date_sold,"), "{csv}");
        let changes =
            server.cli(&["audit", "changes", "--from", "2000-01-01", "--to", "2999-01-01", "--format", "json"], None);
        let changes: Value = serde_json::from_str(changes.trim()).unwrap();
        let recorded: Vec<&Value> = changes["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["event_type"] == "ReportGenerated" && r["source"] == "http")
            .collect();
        assert_eq!(recorded.len(), 2, "the JSON and the CSV: {changes}");
        assert!(recorded.iter().all(|r| r["actor"].as_str().unwrap().starts_with("user:")), "{recorded:?}");
        let no_year = api.get("/v1/households/lee/reports/gains", &admin).await;
        assert_eq!((no_year.status, no_year.body["field"].as_str()), (422, Some("year")), "{}", no_year.body);
        assert_eq!(api.get("/v1/households/lee/reports/nonsense", &admin).await.status, 404);
        let lots_with_year = api.get("/v1/households/lee/reports/lots?year=2025", &admin).await;
        assert_eq!((lots_with_year.status, lots_with_year.body["field"].as_str()), (422, Some("year")));
        // Asked again, the kept answer carries them too.
        let again = api.get(&format!("/v1/households/lee/gains?year=2025&min_position={at}"), &admin).await;
        assert_eq!(again.body["totals"], gains.body["totals"]);

        // The document describes the totals; /v1/me names the user.
        let doc =
            api.http.get(format!("{}/openapi.json", server.base)).send().await.unwrap().json::<Value>().await.unwrap();
        let ok = &doc["paths"]["/v1/households/{household}/gains"]["get"]["responses"]["200"];
        assert_eq!(ok["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/GainRows", "{ok}");
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["GainRows"]["properties"]["totals"].is_object(), "{}", schemas["GainRows"]);
        assert!(schemas["TermTotals"]["properties"]["gain_loss"].is_object(), "{}", schemas["TermTotals"]);
        let me = api.get("/v1/me", &admin).await;
        assert_eq!(me.body["name"], "Ada Admin", "{}", me.body);
        drop(server);
        db.remove().await;
    }
}

/// Performance and income over HTTP are the CLI's figures, and bad parameters are refused by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_and_income_over_http_are_the_clis() {
    for db in all_backends("performance over HTTP").await {
        let server = spawn_app(&db).await;
        let api = Api::new(&server.base, "t");
        let admin = bootstrap(&server, &api).await;
        let bars = server.dir.path().join("bars.csv");
        std::fs::write(
            &bars,
            "date,symbol,open,high,low,close,volume\n2026-01-05,VTI,200,200,200,200,1\n2026-01-06,VTI,210,210,210,210,1\n\
             2026-01-07,VTI,205,205,205,205,1\n2026-01-08,VTI,220,220,220,220,1\n",
        )
        .unwrap();
        server.cli(&["market", "import", &bars.display().to_string()], None);
        let csv = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
                   2026-01-05,brokerage,taxable,deposit,,1,10000,0,\n2026-01-05,brokerage,,buy,VTI,50,200,0,\n\
                   2026-01-07,brokerage,,dividend,VTI,1,20,0,qualified dividend\n2026-01-08,brokerage,,deposit,,1,1000,0,\n";
        let import = api.import("ng", &admin, csv).send().await.unwrap();
        assert_eq!(import.status().as_u16(), 201);
        let at = import.json::<Value>().await.unwrap()["last_position"].as_u64().unwrap();

        let path = format!("/v1/households/ng/performance?to=2026-01-08&benchmark=VTI&min_position={at}");
        let http = api.get(&path, &admin).await;
        assert_eq!(http.status, 200, "{}", http.body);
        let out = server.cli(
            &["performance", "--household", "ng", "--to", "2026-01-08", "--benchmark", "VTI", "--format", "json"],
            None,
        );
        let cli: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(http.body["periods"], cli["periods"], "HTTP: {} CLI: {out}", http.body);
        assert_eq!(http.body["series"], cli["series"]);
        assert!(http.body["position"].as_u64().unwrap() >= at);
        let inception = http.body["periods"].as_array().unwrap().last().unwrap();
        assert_eq!((&inception["period"], &inception["time_weighted"]), (&json!("inception"), &json!("0.095345")));
        // Against itself (VTI held, cash aside) the excess is what the cash and the dividend did.
        assert_eq!(inception["benchmark_return"], "0.100000");
        // Per asset class, as the CLI has it: VTI alone (undescribed) with its dividend paid out.
        let by_class = api
            .get(&format!("/v1/households/ng/performance?to=2026-01-08&by=asset_class&min_position={at}"), &admin)
            .await;
        assert_eq!(by_class.status, 200, "{}", by_class.body);
        let out = server.cli(
            &["performance", "--household", "ng", "--to", "2026-01-08", "--by", "asset-class", "--format", "json"],
            None,
        );
        let cli: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(by_class.body["asset_classes"], cli["asset_classes"]);
        assert_eq!(by_class.body["asset_classes"][0]["asset_class"], "unclassified");

        let income =
            api.get(&format!("/v1/households/ng/income?to=2026-01-08&by=year&min_position={at}"), &admin).await;
        assert_eq!(income.status, 200, "{}", income.body);
        assert_eq!(
            (&income.body["rows"][0]["period"], &income.body["rows"][0]["total"]),
            (&json!("2026"), &json!("20.00"))
        );
        assert_eq!(income.body["trailing_twelve_months"], "20.00");

        // Consolidated holdings: the CLI's, VTI unclassified until the security master names it.
        let holdings = api.get(&format!("/v1/households/ng/holdings?min_position={at}"), &admin).await;
        assert_eq!(holdings.status, 200, "{}", holdings.body);
        assert_eq!((&holdings.body["total"], &holdings.body["unclassified"]), (&json!("12020.00"), &json!(1)));
        let out = server.cli(&["holdings", "--household", "ng", "--format", "json"], None);
        let cli: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(holdings.body["by_asset_class"], cli["by_asset_class"]);
        // Balance assertions: recorded over HTTP, checked as the CLI checks them.
        let body =
            json!({ "account": "brokerage", "date": "2026-01-08", "quantity": "1020.00", "source": "statement" });
        let recorded = api.post("/v1/households/ng/balances", Some(&admin), body).await;
        assert_eq!(recorded.status, 201, "{}", recorded.body);
        let shares = json!({ "account": "brokerage", "date": "2026-01-08", "symbol": "VTI", "quantity": 49 });
        assert_eq!(api.post("/v1/households/ng/balances", Some(&admin), shares).await.status, 201);
        let at = recorded.body["last_position"].as_u64().unwrap() + 1;
        let checked = api.get(&format!("/v1/households/ng/balances?min_position={at}"), &admin).await;
        assert_eq!(checked.status, 200, "{}", checked.body);
        assert_eq!(checked.body["mismatches"], 1, "{}", checked.body);
        let rows = checked.body["assertions"].as_array().unwrap();
        assert_eq!((&rows[0]["holding"], &rows[0]["status"]), (&json!("cash"), &json!("ok")));
        assert_eq!((&rows[1]["difference"], &rows[1]["status"]), (&json!("1"), &json!("mismatch")));
        let bad = json!({ "account": "brokerage", "date": "2026-01-08", "quantity": "lots" });
        let refused = api.post("/v1/households/ng/balances", Some(&admin), bad).await;
        assert_eq!((refused.status, refused.body["field"].as_str()), (422, Some("quantity")), "{}", refused.body);

        // A base currency: refused when not a code; in euros without a EUR.USD rate the
        // performance names what is missing; back in dollars it answers again.
        let bad = api.post("/v1/households/ng/base-currency", Some(&admin), json!({ "currency": "euros" })).await;
        assert_eq!((bad.status, bad.body["field"].as_str()), (422, Some("base_currency")), "{}", bad.body);
        let euro = api.post("/v1/households/ng/base-currency", Some(&admin), json!({ "currency": "EUR" })).await;
        assert_eq!((euro.status, euro.body["events"].as_u64()), (201, Some(1)), "{}", euro.body);
        let at = euro.body["last_position"].as_u64().unwrap();
        let no_rate = api.get(&format!("/v1/households/ng/performance?min_position={at}"), &admin).await;
        assert_eq!((no_rate.status, no_rate.body["field"].as_str()), (422, Some("base_currency")), "{}", no_rate.body);
        let usd = api.post("/v1/households/ng/base-currency", Some(&admin), json!({ "currency": "USD" })).await;
        assert_eq!(usd.status, 201, "{}", usd.body);

        let refused = api.get("/v1/households/ng/holdings?year=2026", &admin).await;
        assert_eq!((refused.status, refused.body["field"].as_str()), (422, Some("year")), "{}", refused.body);

        for (query, field) in [
            ("performance?benchmark=60%25%20VTI", "benchmark"),
            ("performance?flows=noon", "flows"),
            ("performance?by=year", "by"),
            ("performance?by=sector", "by"),
            ("performance?account=ira", "account"),
            ("performance?to=2999-01-01", "to"),
            ("performance?from=2026-02-01&to=2026-01-08", "from"),
            ("income?benchmark=VTI", "benchmark"),
            ("income?by=week", "by"),
        ] {
            let refused = api.get(&format!("/v1/households/ng/{query}"), &admin).await;
            assert_eq!(
                (refused.status, refused.body["field"].as_str()),
                (422, Some(field)),
                "{query}: {}",
                refused.body
            );
        }
        let none = api.get("/v1/households/nobody/performance", &admin).await;
        assert_eq!(none.status, 404, "{}", none.body);
        drop(server);
        db.remove().await;
    }
}

/// A broker's export over HTTP: the format named or recognised, its rows in the account named,
/// and the parameters only a broker's export takes refused for a ledger CSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brokers_export_imports_over_http() {
    let db = common::sqlite().await;
    let server = spawn_app(&db).await;
    let api = Api::new(&server.base, "t");
    let admin = bootstrap(&server, &api).await;
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/brokers/schwab-transactions.csv"))
            .unwrap();
    let post = |query: &'static str, body: String| {
        api.http
            .post(format!("{}/v1/households/doe/imports{query}", server.base))
            .bearer_auth(&admin)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    for (query, field) in [
        ("?format=quicken", "format"),
        ("?format=schwab", "account"),
        ("?account=Schwab", "account"),
        ("?skip_unknown=true", "skip_unknown"),
    ] {
        let r = post(query, sample.clone()).await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{query}: {body}");
    }
    let r = post("?format=auto&account=Schwab%20Brokerage&account_type=taxable", sample.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["format"].as_str(), body["rows"].as_u64()), (Some("schwab"), Some(8)), "{body}");
    assert_eq!(body["skipped"], json!([]));
    let again = post("?format=auto&account=Schwab%20Brokerage&account_type=taxable", sample.clone()).await.unwrap();
    assert_eq!(again.status().as_u16(), 200, "the same import again records nothing");
    let named = post("?format=schwab&account=Schwab%20Brokerage", sample).await.unwrap().json::<Value>().await.unwrap();
    assert_eq!((named["rows"].as_u64(), named["duplicates"].as_u64()), (Some(0), Some(8)), "{named}");
    let csv = post("", WASH_CSV.to_owned()).await.unwrap();
    assert_eq!(csv.status().as_u16(), 201);
    assert_eq!(csv.json::<Value>().await.unwrap()["format"], "csv");
    drop(server);
    db.remove().await;
}

/// An OFX statement may be sent as OFX (`application/x-ofx`, Quicken's
/// `application/vnd.intu.qfx`) and is then read as OFX without `?format=`; other media types
/// are still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ofx_statement_imports_over_http_by_its_media_type() {
    let db = common::sqlite().await;
    let server = spawn_app(&db).await;
    let api = Api::new(&server.base, "t");
    let admin = bootstrap(&server, &api).await;
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/brokers/ofx-investment-v2.ofx"))
            .unwrap();
    let post = |media: &'static str, query: &'static str| {
        api.http
            .post(format!("{}/v1/households/roe/imports?account=Brokerage{query}", server.base))
            .bearer_auth(&admin)
            .header("content-type", media)
            .body(sample.clone())
            .send()
    };
    let r = post("application/x-ofx", "&account_type=taxable").await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["format"].as_str(), body["rows"].as_u64()), (Some("ofx"), Some(15)), "{body}");
    let qfx = post("application/vnd.intu.qfx", "&account_type=taxable&format=auto").await.unwrap();
    assert_eq!(qfx.status().as_u16(), 200, "the same file again records nothing");
    let named = post("text/csv", "&format=ofx").await.unwrap().json::<Value>().await.unwrap();
    assert_eq!((named["rows"].as_u64(), named["duplicates"].as_u64()), (Some(0), Some(15)), "{named}");
    assert_eq!(post("application/xml", "").await.unwrap().status().as_u16(), 415);
    drop(server);
    db.remove().await;
}

/// A user of the people most tests need, made by the admin: clients of `smith` and `jones`, an
/// advisor assigned to `smith`, an auditor, and `more`; their ids by email.
async fn users(
    api: &Api,
    admin: &str,
    more: &[(&str, &str, Option<&str>, Vec<&str>)],
) -> std::collections::BTreeMap<String, String> {
    let mut ids = std::collections::BTreeMap::new();
    let people = [
        ("Sam Smith", "sam@example.com", Some("smith"), vec![]),
        ("Jo Jones", "jo@example.com", Some("jones"), vec![]),
        ("Avi Advisor", "avi@example.com", None, vec!["advisor"]),
        ("Aud Itor", "aud@example.com", None, vec!["auditor"]),
    ];
    for (name, email, household, roles) in people.iter().chain(more) {
        let body =
            json!({ "name": name, "email": email, "password": PASSWORD, "household": household, "roles": roles });
        let a = api.post("/v1/users", Some(admin), body).await;
        assert_eq!(a.status, 201, "{}", a.body);
        ids.insert((*email).to_owned(), a.body["user_id"].as_str().unwrap().to_owned());
    }
    let assigned = api
        .post(&format!("/v1/users/{}/households", ids["avi@example.com"]), Some(admin), json!({ "household": "smith" }))
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    ids
}

/// Polls a rows endpoint until `check` holds (read models are eventually consistent).
async fn wait_for(api: &Api, token: &str, path: &str, check: impl Fn(&[Value]) -> bool) {
    for _ in 0..100 {
        let a = api.get(path, token).await;
        if a.body["rows"].as_array().is_some_and(|rows| check(rows)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never showed what was expected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_elsewhere_never_lock_the_owners_device_out_and_a_copied_user_agent_is_not_that_device() {
    let db = common::sqlite().await;
    let server = spawn_app(&db).await;
    let api = Api::new(&server.base, "laptop/1.0");
    let admin = bootstrap(&server, &api).await;
    let made = api
        .post("/v1/users", Some(&admin), json!({ "name": "Kim", "email": "kim@example.com", "password": PASSWORD }))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let owner = Api::new(&server.base, "laptop/1.0");
    assert_eq!(owner.login("kim@example.com", PASSWORD).await.status, 200);
    // An attacker keeps guessing: first wrong passwords, then the lockout, then the rate limit.
    let attacker = Api::new(&server.base, "attacker/0.1");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..21 {
        seen.insert(attacker.login("kim@example.com", "wrong-password-123").await.problem().to_owned());
    }
    assert!(seen.contains("/problems/locked-out") && seen.contains("/problems/rate-limited"), "{seen:?}");
    // The owner's own browser still signs in, with the right password.
    let back = owner.login("kim@example.com", PASSWORD).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.body["new_device"], false);
    // The same user agent from the same network, without the device cookie, is another device.
    let impostor = Api::new(&server.base, "laptop/1.0");
    let refused = impostor.login("kim@example.com", PASSWORD).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    // A cookie made for another account names no device of this one.
    let forged = Api::new(&server.base, "laptop/1.0");
    *forged.device.lock().unwrap() = api.device.lock().unwrap().clone();
    assert_eq!(forged.login("kim@example.com", PASSWORD).await.status, 429);
    drop(server);
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_mfa_refresh_reuse_lockout_and_sign_out() {
    let db = common::sqlite().await;
    let server = spawn_app(&db).await;
    let api = Api::new(&server.base, "laptop/1.0");
    let admin = bootstrap(&server, &api).await;
    let reg = api
        .post("/v1/auth/register", None, json!({ "name": "Mia", "email": "mia@example.com", "password": PASSWORD }))
        .await;
    assert_eq!((reg.status, reg.body["status"].as_str()), (202, Some("accepted")), "{}", reg.body);
    // Registering a taken email answers exactly the same, changes nothing, and tells the owner.
    let again = api
        .post(
            "/v1/auth/register",
            None,
            json!({ "name": "Eve", "email": "MIA@example.com", "password": "another long passphrase" }),
        )
        .await;
    assert_eq!((again.status, &again.body), (reg.status, &reg.body));
    // Ten registrations per address in ten minutes; the eleventh waits.
    for i in 0..8 {
        let body = json!({ "name": "N", "email": format!("n{i}@example.com"), "password": "a long enough passphrase" });
        assert_eq!(api.post("/v1/auth/register", None, body).await.status, 202);
    }
    let body = json!({ "name": "N", "email": "n9@example.com", "password": "a long enough passphrase" });
    let flood = api.post("/v1/auth/register", None, body).await;
    assert_eq!((flood.status, flood.problem()), (429, "/problems/rate-limited"), "{}", flood.body);

    // First sign-in: not a new device; from another browser it is, and it is logged.
    let first = api.login("mia@example.com", PASSWORD).await;
    assert_eq!((first.status, first.body["new_device"].as_bool()), (200, Some(false)));
    let mia_id = first.body["user"]["user_id"].as_str().unwrap().to_owned();
    let household = first.body["user"]["household"].as_str().unwrap().to_owned();
    assert!(household.starts_with('h'), "{}", first.body);
    wait_for(&api, &admin, &format!("/v1/audit/security?user={mia_id}"), |rows| {
        rows.iter().any(|r| {
            r["kind"] == "access_refused"
                && r["detail"].as_str().unwrap_or("").starts_with("self-registration with this account's email")
        })
    })
    .await;
    let phone = Api::new(&server.base, "phone/2.0");
    assert_eq!(phone.login("mia@example.com", PASSWORD).await.body["new_device"], true);
    let token = first.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&format!("/v1/households/{household}/positions"), &token).await.status, 200);

    // Refresh rotates; the rotated token used again revokes the whole session.
    let r1 = first.body["refresh_token"].as_str().unwrap().to_owned();
    let second = api.post("/v1/auth/refresh", None, json!({ "refresh_token": r1 })).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let r2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let reuse = api.post("/v1/auth/refresh", None, json!({ "refresh_token": r1 })).await;
    assert_eq!((reuse.status, reuse.problem()), (401, "/problems/token-reused"));
    assert_eq!(
        api.post("/v1/auth/refresh", None, json!({ "refresh_token": r2 })).await.status,
        401,
        "the family is revoked"
    );
    let revoked_access = second.body["access_token"].as_str().unwrap();
    assert_eq!(api.get("/v1/me", revoked_access).await.status, 401, "its access tokens stop too");

    // Sign out: the access token stops working at once.
    let s = api.login("mia@example.com", PASSWORD).await;
    let (access, refresh) =
        (s.body["access_token"].as_str().unwrap().to_owned(), s.body["refresh_token"].as_str().unwrap().to_owned());
    assert_eq!(api.get("/v1/me", &access).await.status, 200);
    assert_eq!(api.post("/v1/auth/logout", None, json!({ "refresh_token": refresh })).await.status, 204);
    assert_eq!(api.get("/v1/me", &access).await.status, 401);

    // MFA: a code is needed, works once, and a backup code works once.
    let t = api.token("mia@example.com").await;
    let setup = api.post("/v1/me/mfa", Some(&t), json!({})).await;
    assert_eq!(setup.status, 201, "{}", setup.body);
    let secret = commands::security::totp::base32_decode(setup.body["secret"].as_str().unwrap()).unwrap();
    let codes: Vec<String> = serde_json::from_value(setup.body["backup_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    let needed = api.login("mia@example.com", PASSWORD).await;
    assert_eq!((needed.status, needed.problem()), (401, "/problems/mfa-required"));
    let step = chrono::Utc::now().timestamp() as u64 / 30;
    let code = format!("{:06}", commands::security::totp::code(&secret, step, 6));
    let with = |c: &str, field: &str| json!({ "email": "mia@example.com", "password": PASSWORD, field: c });
    assert_eq!(api.post("/v1/auth/login", None, with(&code, "totp")).await.status, 200);
    let replay = api.post("/v1/auth/login", None, with(&code, "totp")).await;
    assert_eq!((replay.status, replay.problem()), (401, "/problems/invalid-mfa-code"), "a code is accepted once");
    assert_eq!(api.post("/v1/auth/login", None, with(&codes[3], "backup_code")).await.status, 200);
    assert_eq!(
        api.post("/v1/auth/login", None, with(&codes[3], "backup_code")).await.status,
        401,
        "a backup code is single-use"
    );

    // Five failures in a row (the reused backup code above, then four wrong passwords) lock
    // the account: 429 with Retry-After, even for the right password.
    let other = Api::new(&server.base, "attacker/0.1");
    for _ in 0..4 {
        assert_eq!(
            other.login("mia@example.com", "wrong-password-123").await.problem(),
            "/problems/invalid-credentials"
        );
    }
    let locked = other.login("mia@example.com", PASSWORD).await;
    assert_eq!((locked.status, locked.problem()), (429, "/problems/locked-out"), "{}", locked.body);
    assert!(locked.headers.get("retry-after").is_some());
    // The lock holds against devices that never signed in: the owner's laptop still gets to
    // the password (and, MFA being on, is asked for a code).
    let owner = api.login("mia@example.com", PASSWORD).await;
    assert_eq!((owner.status, owner.problem()), (401, "/problems/mfa-required"), "{}", owner.body);
    let unknown = other.login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.problem(), "/problems/invalid-credentials", "an unknown email reads like a wrong password");

    // Everything above is in the security log.
    let aud_id = api
        .post(
            "/v1/users",
            Some(&admin),
            json!({ "name": "Aud", "email": "aud@example.com", "password": PASSWORD, "roles": ["auditor"] }),
        )
        .await;
    assert_eq!(aud_id.status, 201);
    let aud = api.token("aud@example.com").await;
    wait_for(&api, &aud, &format!("/v1/audit/security?user={mia_id}"), |rows| {
        let kinds: Vec<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
        [
            "sign_in",
            "sign_in_new_device",
            "token_reuse",
            "signed_out",
            "mfa_enabled",
            "backup_codes_issued",
            "sign_in_failed",
            "locked_out",
        ]
        .iter()
        .all(|k| kinds.contains(k))
    })
    .await;
    drop(server);
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_are_forged_expired_early_or_for_another_audience_are_refused() {
    use api::http::auth::token::{Claims, Keys};
    let db = common::sqlite().await;
    let server = spawn_app(&db).await;
    let api = Api::new(&server.base, "t");
    let _ = bootstrap(&server, &api).await;
    let keys = Keys::load_or_create(&server.dir.path().join("jwt-ed25519.pem")).unwrap();
    let me = |c: &Claims| {
        let token = keys.sign(c).unwrap();
        let api = &api;
        async move { api.get("/v1/me", &token).await }
    };
    let good = Claims::new("0190c6f2-0000-7000-8000-000000000001", "s", vec![domain::user::Role::Client], None, vec![]);
    assert_eq!(me(&good).await.status, 200, "the server's own key signs valid tokens");
    let now = chrono::Utc::now().timestamp();
    for (claims, why) in [
        (Claims { exp: now - 120, nbf: now - 1000, iat: now - 1000, ..good.clone() }, "expired"),
        (Claims { nbf: now + 600, exp: now + 1200, ..good.clone() }, "not valid yet"),
        (Claims { aud: "elsewhere".into(), ..good.clone() }, "another audience"),
    ] {
        let a = me(&claims).await;
        assert_eq!((a.status, a.problem()), (401, "/problems/unauthorized"), "{why}: {}", a.body);
    }
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{}.", b64(json!({ "alg": "none" })), b64(serde_json::to_value(&good).unwrap()));
    assert_eq!(api.get("/v1/me", &none).await.status, 401, "alg none");
    drop(server);
    db.remove().await;
}

#[tokio::test]
async fn live_events_arrive_over_server_sent_events() {
    let db = common::sqlite().await;
    let server = Server::start(&db);
    let api = Api::new(&server.base, "t");
    let admin = bootstrap(&server, &api).await;
    let a = api
        .post(
            "/v1/users",
            Some(&admin),
            json!({ "name": "Sam", "email": "sam@example.com", "password": PASSWORD, "household": "smith" }),
        )
        .await;
    assert_eq!(a.status, 201);
    let sam = api.token("sam@example.com").await;
    let mut stream =
        api.http.get(format!("{}/v1/households/smith/stream", server.base)).bearer_auth(&sam).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let recorded = api.post("/v1/households/smith/trades", Some(&sam), trade("2025-06-02", "buy", "5", "150")).await;
    assert_eq!(recorded.status, 201);
    let last = recorded.body["last_position"].as_u64().unwrap();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains("TradeRecorded") {
        let chunk =
            tokio::time::timeout_at(deadline, stream.chunk()).await.expect("an event arrives").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"stream\":\"ledger-smith\""), "{seen}");
    let first = recorded.body["first_position"].as_u64().unwrap();
    assert!((first..=last).any(|p| seen.contains(&format!("id: {p}\n"))), "events carry their positions: {seen}");
    let others =
        api.http.get(format!("{}/v1/households/jones/stream", server.base)).bearer_auth(&sam).send().await.unwrap();
    assert_eq!(others.status().as_u16(), 404);
    assert_eq!(
        api.http
            .get(format!("{}/v1/events/stream", server.base))
            .bearer_auth(&sam)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );

    // SIGTERM with the stream still open: the stream ends and the server exits.
    #[cfg(unix)]
    {
        let mut server = server;
        let _ = std::process::Command::new("kill").arg(server.child.id().to_string()).status();
        let mut exited = None;
        for _ in 0..100 {
            exited = server.child.try_wait().unwrap();
            if exited.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(exited.is_some_and(|s| s.success()), "serve exits cleanly with a live stream open: {exited:?}");
        let rest = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await.expect("the stream ends");
        assert!(matches!(rest, Ok(None) | Err(_)), "no more events after shutdown");
    }
    db.remove().await;
}

/// A valid body for each command, so the answer shows the authorization decision, not a
/// parse error.
fn sample_body(method: &str, path: &str, tag: &str) -> Option<Value> {
    let body = match (method, path.rsplit('/').next().unwrap_or("")) {
        ("post", "trades") => trade("2025-06-02", "buy", "1", "100"),
        ("post", "contributions") => {
            json!({ "trade_date": "2025-02-03", "account": "roth", "account_type": "roth_ira", "action": "contribution", "quantity": "0", "price": "100", "fees": "0" })
        }
        ("post", "corporate-actions") => {
            json!({ "trade_date": "2025-07-01", "account": "side", "action": "split", "symbol": "VTI", "ratio": "2:1", "quantity": "0", "price": "0", "fees": "0" })
        }
        ("post", "correct") => json!({ "reason": "typo", "price": "101" }),
        ("post", "cancel") => json!({ "reason": "duplicate" }),
        ("post", "accounts") => json!({ "account": format!("new-{tag}"), "account_type": "taxable" }),
        ("post", "close") => json!({ "closed_on": "2030-01-01" }),
        ("post", "balances") => json!({ "account": "side", "date": "2025-06-02", "symbol": "VTI", "quantity": "5" }),
        ("post", "base-currency") => json!({ "currency": "USD" }),
        ("post", "portfolios") => json!({ "name": format!("p-{tag}"), "accounts": ["side"] }),
        ("put", "targets") => json!({ "targets": { "VTI": "1" } }),
        ("post", "rebalance") => json!({}),
        ("post", "harvest") => json!({ "lot_ids": ["T1"] }),
        ("post", "users") => json!({ "name": "New", "email": format!("new-{tag}@example.com") }),
        ("post", "roles") => json!({ "role": "advisor" }),
        ("post", "households") => json!({ "household": "smith" }),
        ("post", "kyc") if path.starts_with("/v1/users") => json!({ "decision": "start" }),
        ("post", "kyc") => json!({ "documents": [{ "kind": "passport", "reference": "vault://1" }] }),
        ("post", "mfa") => json!({}),
        ("post", "snooze") => json!({ "until": "2100-01-01T00:00:00Z" }),
        ("post", "dismiss") => json!({}),
        ("put", "alert-preferences") => json!({ "channels": { "email": "warning", "in_app": "info" } }),
        ("put", "{name}") if path.contains("/members/") => json!({ "domicile": "NY" }),
        ("put", "{name}") if path.contains("/entities/") => {
            json!({ "kind": "revocable_trust", "value": "1000000", "grantor": "tuition" })
        }
        ("put", "{name}") => json!({ "target": "50000", "date": "2040-06-01", "accounts": ["side"] }),
        ("post", "gifts") => json!({ "donor": "tuition", "donee": "dan", "amount": "100", "date": "2025-06-02" }),
        ("post", "remove") => json!({ "reason": "recorded twice" }),
        ("put", "{kind}") => json!({ "amount": "500", "every": "month", "first": "2026-01-15" }),
        _ => return None,
    };
    Some(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_endpoint_group() {
    use api::http::openapi::Group;
    let db = common::sqlite().await;
    let server = spawn_app(&db).await;
    let api = Api::new(&server.base, "t");
    let admin = bootstrap(&server, &api).await;
    let ids = users(&api, &admin, &[("Target", "target@example.com", None, vec![])]).await;
    let sam = api.token("sam@example.com").await;
    let first = api.post("/v1/households/smith/trades", Some(&sam), trade("2025-06-02", "buy", "5", "150")).await;
    assert_eq!(first.status, 201);
    // The portfolio the `{portfolio}` routes name (a missing one answers 404, like a refusal).
    let core =
        api.post("/v1/households/smith/portfolios", Some(&sam), json!({ "name": "core", "accounts": ["side"] })).await;
    assert_eq!(core.status, 201, "{}", core.body);
    // The alert the `{id}` routes name: a finding decided into an alert on smith's stream.
    let finding = domain::monitoring::Finding {
        rule: domain::monitoring::Rule::Concentration,
        severity: domain::monitoring::Severity::Warning,
        key: "concentration:smith:VTI".into(),
        household: "smith".into(),
        portfolio: None,
        subject: Some("VTI".into()),
        message: "VTI is all of the household".into(),
        values: Default::default(),
    };
    let evaluation = domain::alerts::AlertCommand::Evaluate {
        findings: vec![finding],
        rules: vec![domain::monitoring::Rule::Concentration],
        position: 1,
        at: chrono::Utc::now(),
        policy: Default::default(),
    };
    let caller = commands::aggregate::Caller { actor: "test".into(), source: "test".into() };
    commands::alerts::execute(&commands::Context::new(db.store.clone()), "smith", &evaluation, &caller).await.unwrap();
    let tokens = [
        ("client", Some(sam)),
        ("advisor", Some(api.token("avi@example.com").await)),
        ("auditor", Some(api.token("aud@example.com").await)),
        ("admin", Some(admin.clone())),
        ("other-client", Some(api.token("jo@example.com").await)),
        ("anonymous", None),
    ];
    let mut checked = 0;
    for (op, _) in api::http::routes::table() {
        if op.group == Group::Public {
            continue;
        }
        for (role, token) in &tokens {
            let mut path = op
                .path
                .replace("{household}", "smith")
                .replace("{trade_id}", "T1")
                .replace("{account}", "side")
                .replace("{portfolio}", "core")
                .replace("{user_id}", &ids["target@example.com"])
                .replace("{role}", "advisor")
                .replace("{symbol}", "VTI")
                .replace("{id}", "concentration:smith:VTI%231")
                .replace("{name}", "tuition")
                .replace("{kind}", "purchase");
            let method = op.method.to_uppercase();
            if op.path.contains("/gifts") {
                // A gift comes from a member; each role removes a gift of its own (a removed one
                // answers 404).
                let member = Some(json!({ "domicile": "NY" }));
                let set = api.send("PUT", "/v1/households/smith/members/tuition", Some(&admin), member, &[]).await;
                assert!([200, 201].contains(&set.status), "{}", set.body);
                if op.path.contains("{gift}") {
                    let gift = sample_body("post", "/v1/households/{household}/gifts", role);
                    let given = api.send("POST", "/v1/households/smith/gifts", Some(&admin), gift, &[]).await;
                    assert_eq!(given.status, 201, "{}", given.body);
                    path = path.replace("{gift}", given.body["gift_ids"][0].as_str().unwrap());
                }
            }
            if op.path.contains("/entities/") {
                // A trust's grantor is a member.
                let member = Some(json!({ "domicile": "NY" }));
                let set = api.send("PUT", "/v1/households/smith/members/tuition", Some(&admin), member, &[]).await;
                assert!([200, 201].contains(&set.status), "{}", set.body);
            }
            if method == "DELETE"
                && (op.path.ends_with("/goals/{name}")
                    || op.path.ends_with("/entities/{name}")
                    || op.path.ends_with("/{kind}"))
            {
                // The goal or instruction each role tries to remove is there (a missing one
                // answers 404).
                let set = api.send("PUT", &path, Some(&admin), sample_body("put", op.path, role), &[]).await;
                assert!([200, 201].contains(&set.status), "{}", set.body);
            }
            let a = if op.path.ends_with("/imports") {
                let mut req =
                    api.http.post(format!("{}{path}", server.base)).header("content-type", "text/csv").body(WASH_CSV);
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let r = req.send().await.unwrap();
                r.status().as_u16()
            } else if op.path.ends_with("/stream") {
                let mut req = api.http.get(format!("{}{path}", server.base));
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                req.send().await.unwrap().status().as_u16()
            } else {
                api.send(&method, &path, token.as_deref(), sample_body(op.method, op.path, role), &[]).await.status
            };
            let allowed = match (op.group, *role) {
                (_, "anonymous") => false,
                (Group::SignedIn | Group::Market, _) => true,
                (Group::HouseholdRead, r) => r != "other-client",
                (Group::HouseholdWrite, r) => matches!(r, "client" | "advisor" | "admin"),
                (Group::Admin, r) => r == "admin",
                (Group::Audit, r) => matches!(r, "auditor" | "admin"),
                (Group::Public, _) => unreachable!(),
            };
            let expected_refusal = match (op.group, *role) {
                (_, "anonymous") => 401,
                // Another client's household is not found, exactly like a missing one.
                (Group::HouseholdRead | Group::HouseholdWrite, "other-client") => 404,
                _ => 403,
            };
            if allowed {
                assert!(![401, 403, 404].contains(&a), "{role} {method} {path} is allowed but got {a}");
            } else {
                assert_eq!(a, expected_refusal, "{role} {method} {path}");
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked} checks");
    // The roles allowed snoozed and then dismissed the alert: recorded once each, with who.
    let alerts = api.get("/v1/households/smith/alerts", &admin).await;
    let alert = &alerts.body["alerts"][0];
    assert_eq!(
        (&alert["state"], &alert["snoozed_until"]),
        (&json!("dismissed"), &json!("2100-01-01T00:00:00Z")),
        "{}",
        alerts.body
    );
    assert_eq!(alerts.body["unread"], 0, "{}", alerts.body);
    let again = api
        .post(
            "/v1/households/smith/alerts/concentration:smith:VTI%231/snooze",
            Some(&admin),
            json!({ "until": "2100-01-02T00:00:00Z" }),
        )
        .await;
    assert_eq!(again.status, 409, "a dismissed alert is not snoozed: {}", again.body);
    drop(server);
    db.remove().await;
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_lets_the_command_in_flight_finish() {
    let db = common::sqlite().await;
    let mut server = Server::start(&db);
    let api = Api::new(&server.base, "t");
    let admin = bootstrap(&server, &api).await;
    let csv = commands::bench::generate_csv(20_000, 10, 100);
    let request = api.import("big", &admin, csv).send();
    let import = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let _ = std::process::Command::new("kill").arg(server.child.id().to_string()).status();
    let answer = import.await.unwrap().expect("the import is answered, not cut off");
    assert_eq!(answer.status().as_u16(), 201, "the import completes during shutdown");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly after SIGTERM: {status:?}");
    let verified = server.cli(&["verify"], None);
    assert!(verified.starts_with("ok "), "{verified}");
    let head: u64 = verified.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(head > 20_000, "the import's events are all recorded: {head}");
    db.remove().await;
}

/// Daily bars for `symbols` over `days` weekdays from 2025-01-02: a deterministic walk per
/// symbol (daily moves of up to ±`step` percent), as a `market import` CSV.
fn walk_bars(symbols: &[(&str, f64, f64)], days: usize) -> String {
    let mut csv = String::from("date,symbol,open,high,low,close,volume\n");
    for (s, (symbol, start, step)) in symbols.iter().enumerate() {
        let mut close = *start;
        let mut day = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap();
        for i in 0..days {
            while matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun) {
                day = day.succ_opt().unwrap();
            }
            let wiggle = ((i * 7 + s * 3) % 11) as f64 / 5.0 - 1.0; // -1 … 1
            close = (close * (1.0 + wiggle * step / 100.0) * 100.0).round() / 100.0;
            csv.push_str(&format!("{day},{symbol},{close},{close},{close},{close},1000\n"));
            day = day.succ_opt().unwrap();
        }
    }
    csv
}

/// The risk row of a portfolio, polled until `done` holds for it (60 s at most).
async fn risk_until(api: &Api, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let a = api.get(path, token).await;
        assert_eq!(a.status, 200, "{}", a.body);
        if let Some(row) = a.body["rows"].as_array().and_then(|r| r.first()) {
            if done(row) {
                return row.clone();
            }
        }
        assert!(std::time::Instant::now() < give_up, "the risk row never got there: {}", a.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn num(row: &Value, column: &str) -> f64 {
    row[column].as_str().unwrap_or_else(|| panic!("{column} in {row}")).parse().unwrap()
}

#[tokio::test]
async fn the_risk_worker_keeps_a_portfolio_risk_row_current() {
    for db in all_backends("risk worker").await {
        let mut server = Server::start(&db);
        let mut api = Api::new(&server.base, "t");
        let admin = bootstrap(&server, &api).await;
        let bars = server.dir.path().join("bars.csv");
        std::fs::write(&bars, walk_bars(&[("VTI", 250.0, 1.2), ("BND", 72.0, 0.3)], 160)).unwrap();
        server.cli(&["market", "import", &bars.display().to_string()], None);

        let buy = |day: &str, symbol: &str, quantity: &str, price: &str| {
            json!({ "trade_date": day, "account": "main", "account_type": "taxable", "action": "buy",
                    "symbol": symbol, "quantity": quantity, "price": price, "fees": "0" })
        };
        let first = api.post("/v1/households/lee/trades", Some(&admin), buy("2025-03-03", "VTI", "40", "250")).await;
        assert_eq!(first.status, 201, "{}", first.body);
        let mut side = buy("2025-03-03", "BND", "10", "72");
        side["account"] = json!("side");
        assert_eq!(api.post("/v1/households/lee/trades", Some(&admin), side).await.status, 201);
        let other = api
            .post("/v1/households/lee/portfolios", Some(&admin), json!({ "name": "other", "accounts": ["side"] }))
            .await;
        assert_eq!(other.status, 201, "{}", other.body);
        let created = api
            .post("/v1/households/lee/portfolios", Some(&admin), json!({ "name": "core", "accounts": ["main"] }))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let created_at = created.body["last_position"].as_u64().unwrap();

        // The worker computes the new portfolio on its own.
        let path = "/v1/households/lee/portfolios/core/risk";
        let row = risk_until(&api, &admin, path, |_| true).await;
        let position = row["position"].as_str().unwrap().parse::<u64>().unwrap();
        assert!(position >= created_at, "{row}");
        assert!(row["observations"].as_str().unwrap().parse::<u64>().unwrap() >= 150, "{row}");
        let (var, cvar, var99) = (num(&row, "var_95_1d"), num(&row, "cvar_95_1d"), num(&row, "var_99_1d"));
        assert!(var > 0.001 && var < 0.05, "1-day 95% VaR of a walk of ±1.2%: {row}");
        assert!(cvar >= var && var99 >= var, "{row}");
        assert!(num(&row, "var_95_21d") > var, "{row}");
        assert!(num(&row, "volatility") > 0.05 && num(&row, "volatility") < 0.5, "{row}");
        let p = num(&row, "success_probability");
        assert!((0.0..=1.0).contains(&p), "{row}");
        assert_eq!(row["weights"], r#"{"VTI":"1"}"#);
        assert!((num(&row, "var_95_1d_amount") - var * num(&row, "market_value")).abs() < 0.011, "{row}");

        // More trades: the row follows, and its position moves past them.
        let second = api.post("/v1/households/lee/trades", Some(&admin), buy("2025-04-01", "BND", "100", "72")).await;
        assert_eq!(second.status, 201, "{}", second.body);
        let third = api.post("/v1/households/lee/trades", Some(&admin), buy("2025-04-02", "BND", "50", "72")).await;
        let last = third.body["last_position"].as_u64().unwrap();
        let updated =
            risk_until(&api, &admin, path, |r| r["position"].as_str().unwrap().parse::<u64>().unwrap() >= last).await;
        assert!(updated["position"].as_str().unwrap().parse::<u64>().unwrap() > position);
        let weights: Value = serde_json::from_str(updated["weights"].as_str().unwrap()).unwrap();
        assert!(weights["BND"].is_string() && weights["VTI"].is_string(), "{updated}");
        assert!(num(&updated, "market_value") > num(&row, "market_value"));
        assert!(num(&updated, "volatility") < num(&row, "volatility"), "bonds calm it: {updated}");

        // Read your writes: with min_position the answer reflects the trade at once.
        let fourth = api.post("/v1/households/lee/trades", Some(&admin), buy("2025-04-03", "VTI", "1", "250")).await;
        let at = fourth.body["last_position"].as_u64().unwrap();
        let a = api.get(&format!("{path}?min_position={at}"), &admin).await;
        assert!(a.body["position"].as_u64().unwrap() >= at, "{}", a.body);
        let r = &a.body["rows"][0];
        assert!(r["position"].as_str().unwrap().parse::<u64>().unwrap() >= at, "{}", a.body);

        // A portfolio never computed answers no rows; its status is on /metrics.
        let none = api.get("/v1/households/lee/portfolios/nothing/risk", &admin).await;
        assert_eq!((none.status, none.body["rows"].as_array().map(Vec::len)), (200, Some(0)));
        let metrics = api.http.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("cairn_subscriber_position{subscriber=\"worker:risk\"}"), "{metrics}");
        assert!(metrics.contains("cairn_risk_pending_portfolios"), "{metrics}");
        assert!(metrics.contains("cairn_risk_last_compute_seconds"), "{metrics}");

        // An auditor's as-of read computes the row from the replay.
        let later = (chrono::Utc::now() + chrono::Duration::seconds(2)).format("%Y-%m-%dT%H:%M:%SZ");
        let replayed = api.get(&format!("{path}?as_of={later}"), &admin).await;
        assert_eq!(replayed.status, 200, "{}", replayed.body);
        assert_eq!(replayed.body["rows"][0]["portfolio"], "core", "{}", replayed.body);
        assert!(replayed.body["position"].as_u64().unwrap() >= at, "{}", replayed.body);

        // The CLI computes the same figures in-process.
        let out = server.cli(&["portfolio", "risk", "--household", "lee", "--name", "core", "--format", "json"], None);
        let report: Value = serde_json::from_str(out.trim()).unwrap();
        let measures: std::collections::BTreeMap<&str, &str> = report["risk"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["measure"].as_str().unwrap(), m["value"].as_str().unwrap()))
            .collect();
        let cli_var: f64 = measures["var_95_1d"].parse().unwrap();
        assert!(cli_var > 0.0 && measures["portfolio"] == "core", "{out}");
        assert!(report["generated"]["position"].as_u64().unwrap() >= at, "{out}");

        // A restart recomputes only what changed while the server was down.
        let checkpoint = |metrics: &str| -> u64 {
            let line = metrics.lines().find(|l| l.starts_with("cairn_risk_checkpoint ")).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        let give_up = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let metrics = api.http.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
            if checkpoint(&metrics) >= at {
                break;
            }
            assert!(std::time::Instant::now() < give_up, "the worker's checkpoint stays behind {at}: {metrics}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let other_before = risk_until(&api, &admin, "/v1/households/lee/portfolios/other/risk", |_| true).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let csv = server.dir.path().join("more.csv");
        std::fs::write(&csv, "trade_date,account,account_type,action,symbol,quantity,price,fees\n2025-04-04,main,taxable,buy,VTI,2,250,0\n")
            .unwrap();
        let imported: Value = serde_json::from_str(
            server.cli(&["ledger", "import", &csv.display().to_string(), "--household", "lee"], None).trim(),
        )
        .unwrap();
        let offline = imported["last_position"].as_u64().unwrap();
        (server.child, server.base) = common::serve(&db.url, server_env(server.dir.path()));
        api = Api::new(&server.base, "t");
        let admin = api.token("ada@example.com").await;
        risk_until(&api, &admin, path, |r| r["position"].as_str().unwrap().parse::<u64>().unwrap() >= offline).await;
        let metrics = api.http.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("\ncairn_risk_computed_total 1\n"), "only core is computed again: {metrics}");
        let other_after = risk_until(&api, &admin, "/v1/households/lee/portfolios/other/risk", |_| true).await;
        assert_eq!(other_after["computed_at"], other_before["computed_at"]);
        drop(server);
        db.remove().await;
    }
}

/// What the contract test found, one by one over the wire: typed query parameters, exact
/// numbers, rows without `account_type`, 404 for a missing row, 409 for MFA state, and body
/// errors naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_numbers_and_refusals_follow_the_schema() {
    let db = common::sqlite().await;
    let server = spawn_app(&db).await;
    let api = Api::new(&server.base, "t");
    let admin = bootstrap(&server, &api).await;
    users(&api, &admin, &[]).await;
    let sam = api.token("sam@example.com").await;

    for (query, field) in [
        ("min_position=", "min_position"),
        ("min_position=abc", "min_position"),
        ("min_position=1&min_position=2", "min_position"),
        ("as_of=yesterday", "as_of"),
        ("from=2025-01-01", "from"),
        ("colour=red", "colour"),
    ] {
        let a = api.get(&format!("/v1/households/smith/positions?{query}"), &admin).await;
        assert_eq!((a.status, a.body["field"].as_str()), (422, Some(field)), "{query}: {}", a.body);
        assert!(!a.body["detail"].as_str().unwrap_or("`").contains('`'), "{}", a.body);
    }

    // Numbers are read from their JSON text; a row for an existing account needs no type.
    // (The body is written as text: a Rust f64 literal would lose the digits before sending.)
    let first = r#"{"trade_date": "2025-06-02", "account": "side", "account_type": "taxable", "action": "buy",
        "symbol": "VTI", "quantity": 123456789.123456789, "price": 0.1}"#;
    let r = api
        .http
        .post(format!("{}/v1/households/smith/trades", server.base))
        .bearer_auth(&sam)
        .header("content-type", "application/json")
        .body(first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let at = r.json::<Value>().await.unwrap()["last_position"].as_u64().unwrap();
    let mut second = trade("2025-06-03", "buy", "2", "1e1");
    second.as_object_mut().unwrap().remove("account_type");
    second["price"] = json!(1e1);
    let a = api.post("/v1/households/smith/trades", Some(&sam), second).await;
    assert_eq!(a.status, 201, "a row for an open account without account_type: {}", a.body);
    let lots = api.get(&format!("/v1/households/smith/lots?min_position={}", at + 1_000_000), &sam).await;
    assert_eq!(lots.status, 200, "a position beyond the head waits for the head: {}", lots.body);
    let quantities: Vec<&str> =
        lots.body["rows"].as_array().unwrap().iter().filter_map(|r| r["quantity"].as_str()).collect();
    assert!(quantities.contains(&"123456789.123456789") && quantities.contains(&"2"), "{quantities:?}");

    let missing = api.post("/v1/households/smith/trades/T999/cancel", Some(&sam), json!({ "reason": "x" })).await;
    assert_eq!((missing.status, missing.body["field"].as_str()), (404, Some("trade")), "{}", missing.body);
    let bad = api.post("/v1/households/smith/trades/T1/cancel", Some(&sam), json!({ "reason": 7 })).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["detail"], "reason: expected a string, got integer 7", "{}", bad.body);

    let on = api.post("/v1/me/mfa", Some(&sam), json!({})).await;
    assert_eq!(on.status, 201, "{}", on.body);
    let again = api.post("/v1/me/mfa", Some(&sam), json!({})).await;
    assert_eq!((again.status, again.body["field"].as_str()), (409, Some("mfa")), "{}", again.body);
    let off = api.send("DELETE", "/v1/me/mfa", Some(&sam), None, &[]).await;
    assert_eq!(off.status, 204);
    let off_again = api.send("DELETE", "/v1/me/mfa", Some(&sam), None, &[]).await;
    assert_eq!(off_again.status, 409, "{}", off_again.body);
    db.remove().await;
}
