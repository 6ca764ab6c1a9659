//! The tasks themselves: cairn's own work, each reading the read models (caught up first) or
//! the store, and answering a one-line summary of what it did.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use commands::aggregate::Caller;
use domain::calendar::Session;
use event_store::{EventStore as _, Store};
use projections::db::Db;
use projections::holdings::{PORTFOLIOS, POSITIONS};
use projections::query::records;
use projections::{Runner, Source};
use queries::read::Reader;
use rust_decimal::Decimal;

use super::{Env, Outcome};
use crate::market::fetch::{fetch, Request};

/// A read snapshot of the read model `name`, caught up to the log's head.
async fn snapshot(env: &Env, name: &str) -> Result<Db, String> {
    let mut reader = Reader::with_db(env.cx.store().clone(), env.db.clone());
    let head = env.cx.store().head().await.map_err(|e| e.to_string())?.map_or(0, |h| h.position);
    reader.at_least(name, head, env.follower).await.map_err(|e| e.to_string())?;
    Ok(reader.db)
}

/// The symbols held in any household now, and the configured ones.
async fn symbols(env: &Env) -> Result<Vec<String>, String> {
    let db = snapshot(env, "holdings").await?;
    let mut symbols: BTreeSet<String> = env.settings.symbols.iter().cloned().collect();
    for r in records(&db, &POSITIONS, &[]).await.map_err(|e| e.to_string())? {
        if r.dec("quantity").is_some_and(|q| !q.is_zero()) {
            symbols.insert(r.str("symbol").to_owned());
        }
    }
    Ok(symbols.into_iter().collect())
}

/// Daily bars of every symbol held (and the configured ones) from the providers, for the
/// `lookback_days` before `to` through `to`.
pub(super) async fn prices(env: &Env, to: NaiveDate) -> Result<Outcome, String> {
    let Some(selector) = &env.selector else {
        return Ok(Outcome::NotConfigured("no market data providers are configured (CAIRN_PROVIDERS)".into()));
    };
    let symbols = symbols(env).await?;
    if symbols.is_empty() {
        return Ok(Outcome::Done("no symbol is held or configured: nothing to fetch".into()));
    }
    let request = Request {
        symbols,
        from: to - chrono::Duration::days(i64::from(env.settings.lookback_days)),
        to,
        mode: env.settings.mode,
        concurrency: crate::market::fetch::CONCURRENT_SYMBOLS,
    };
    let caller = Caller { actor: "cairn ops".into(), source: "ops".into() };
    let report = fetch(&env.cx, selector, &request, &env.settings.quality, &caller).await.map_err(|e| e.to_string())?;
    let summary = format!(
        "{} symbols from {} to {}: {} recorded, {} revised, {} unchanged, {} rejected, {} flagged",
        report.symbols.len(),
        request.from,
        to,
        report.recorded,
        report.revised,
        report.unchanged,
        report.rejected,
        report.flagged
    );
    if report.failed > 0 {
        let failed: Vec<&str> =
            report.symbols.iter().filter(|s| s.providers.is_empty()).map(|s| s.symbol.as_str()).collect();
        return Err(format!("{summary}; no provider answered for {}", failed.join(", ")));
    }
    Ok(Outcome::Done(summary))
}

/// The bars of the last session before `session` as recorded: how many of the held symbols
/// have one, how many are flagged, and the refusals of that day.
pub(super) async fn data_quality(env: &Env, session: &Session) -> Result<Outcome, String> {
    let day = domain::calendar::previous_session(session.date);
    let symbols = symbols(env).await?;
    let db = snapshot(env, "prices").await?;
    let (mut missing, mut flagged, mut refused) = (Vec::new(), Vec::new(), 0usize);
    for symbol in &symbols {
        let q = queries::market::quality(&db, symbol, Some(day), Some(day)).await.map_err(|e| e.to_string())?;
        let json = q.report(false).json();
        let rows = json["quality"].as_array().cloned().unwrap_or_default();
        if !rows.iter().any(|r| r["status"] != "refused") {
            missing.push(symbol.clone());
        }
        if rows.iter().any(|r| r["status"] != "refused" && r["checks"].as_str().is_some_and(|c| !c.is_empty())) {
            flagged.push(symbol.clone());
        }
        refused += rows.iter().filter(|r| r["status"] == "refused").count();
    }
    let mut summary = format!(
        "{day}: {} of {} symbols have a bar, {} flagged, {refused} bars refused",
        symbols.len() - missing.len(),
        symbols.len(),
        flagged.len()
    );
    if !missing.is_empty() {
        summary.push_str(&format!("; missing: {}", missing.join(", ")));
    }
    if !flagged.is_empty() {
        summary.push_str(&format!("; flagged: {}", flagged.join(", ")));
    }
    Ok(Outcome::Done(summary))
}

/// Every portfolio's drift against its target, from the `holdings` read model.
pub(super) async fn drift(env: &Env) -> Result<Outcome, String> {
    let db = snapshot(env, "holdings").await?;
    let portfolios = records(&db, &PORTFOLIOS, &[]).await.map_err(|e| e.to_string())?;
    let beyond: Vec<String> = portfolios
        .iter()
        .filter(|p| p.flag("needs_rebalancing"))
        .map(|p| {
            format!(
                "{}/{} (drift {} over {})",
                p.str("household"),
                p.str("portfolio"),
                percent(p.dec("max_drift").unwrap_or_default()),
                percent(p.dec("drift_threshold").unwrap_or_default())
            )
        })
        .collect();
    Ok(Outcome::Done(match beyond.len() {
        0 => format!("{} portfolios, none beyond its drift threshold", portfolios.len()),
        n => format!("{} portfolios, {n} need rebalancing: {}", portfolios.len(), beyond.join(", ")),
    }))
}

/// Open lots in taxable accounts below their basis at the latest close (the harvesting
/// candidates before the tax engine weighs them).
pub(super) async fn losses(env: &Env, session: &Session) -> Result<Outcome, String> {
    let db = snapshot(env, "holdings").await?;
    snapshot(env, "prices").await?;
    let lots = queries::monitoring::lots(&db, None, session.date).await.map_err(|e| e.to_string())?;
    let (mut count, mut total) = (0usize, Decimal::ZERO);
    let mut by_household: BTreeMap<String, Decimal> = BTreeMap::new();
    for (household, lot) in lots.iter().filter(|(_, l)| l.taxable && l.value < l.cost) {
        count += 1;
        total += lot.cost - lot.value;
        *by_household.entry(household.clone()).or_default() += lot.cost - lot.value;
    }
    let largest: Vec<String> = {
        let mut v: Vec<(&String, &Decimal)> = by_household.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.iter().take(5).map(|(h, l)| format!("{h} {}", queries::reports::money(**l))).collect()
    };
    Ok(Outcome::Done(match count {
        0 => "no open lot in a taxable account is below its basis".into(),
        _ => format!(
            "{count} lots in taxable accounts below their basis, {} of unrealized losses; largest: {}",
            queries::reports::money(total),
            largest.join(", ")
        ),
    }))
}

/// Every portfolio's risk computed again from the read models and saved to `portfolio_risk`.
pub(super) async fn risk(env: &Env) -> Result<Outcome, String> {
    let db = snapshot(env, "holdings").await?;
    snapshot(env, "prices").await?;
    let portfolios = records(&db, &PORTFOLIOS, &[]).await.map_err(|e| e.to_string())?;
    let mut computed = 0;
    for p in &portfolios {
        let (household, portfolio) = (p.str("household"), p.str("portfolio"));
        if let Some(row) = queries::risk::assess(&env.db, household, portfolio).await.map_err(|e| e.to_string())? {
            projections::risk::save(&env.db, &row).await.map_err(|e| e.to_string())?;
            computed += 1;
        }
    }
    Ok(Outcome::Done(format!("risk of {computed} of {} portfolios computed", portfolios.len())))
}

/// Each household's value at the session's close and its change from the session before, from
/// the `valuation_history` read model.
pub(super) async fn valuation(env: &Env, session: &Session) -> Result<Outcome, String> {
    let db = snapshot(env, "valuation_history").await?;
    let rows = records(&db, &projections::valuation_history::VALUE_HISTORY, &[]).await.map_err(|e| e.to_string())?;
    let mut by_household: BTreeMap<&str, Vec<(NaiveDate, Decimal, Decimal)>> = BTreeMap::new();
    for r in &rows {
        if let (Some(date), Some(value)) = (r.date("date"), r.dec("value")) {
            if date <= session.date {
                by_household.entry(r.str("household")).or_default().push((
                    date,
                    value,
                    r.dec("flow").unwrap_or_default(),
                ));
            }
        }
    }
    let (mut total, mut change, mut valued) = (Decimal::ZERO, Decimal::ZERO, 0usize);
    for days in by_household.values_mut() {
        days.sort_by_key(|d| d.0);
        let Some(&(date, value, flow)) = days.last() else { continue };
        if date != session.date {
            continue;
        }
        valued += 1;
        total += value;
        // The day's gain: the change in value less the money that came in or went out.
        if let Some(&(_, before, _)) = days.iter().rev().nth(1) {
            change += value - before - flow;
        }
    }
    if valued == 0 && !by_household.is_empty() {
        return Err(format!("no household has a value on {}: the session's closes are not recorded", session.date));
    }
    Ok(Outcome::Done(format!(
        "{valued} of {} households valued on {}: {} in all, {} on the day",
        by_household.len(),
        session.date,
        queries::reports::money(total),
        queries::reports::money(change)
    )))
}

/// Recomputes the hash chain of the whole log.
pub(super) async fn verify(store: &Store) -> Result<Outcome, String> {
    let v = store.verify().await.map_err(|e| e.to_string())?;
    match v.broken {
        None => Ok(Outcome::Done(format!("ok {} events", v.checked))),
        Some(b) => Err(format!("broken at position {}: {b} ({} events before it are intact)", b.position(), v.checked)),
    }
}

/// Each projector's read model against a rebuild from the log into a scratch database, up to
/// the same position: equal digests, or the tables that differ.
pub(super) async fn digests(env: &Env) -> Result<Outcome, String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let rebuilt =
        Db::open(&format!("sqlite://{}/digest.db", scratch.path().display()), true).await.map_err(|e| e.to_string())?;
    let mut shown = Vec::new();
    for projection in projections::all() {
        let name = projection.name();
        let mut live = Runner::open(env.db.clone(), projections::by_name(name).map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
        live.catch_up(&mut Source::store(env.cx.store().clone()), &mut |_| {}).await.map_err(|e| e.to_string())?;
        let at = live.status(None).await.map_err(|e| e.to_string())?.checkpoint;
        let (live_tables, live_all) = live.digest().await.map_err(|e| e.to_string())?;
        if live.status(None).await.map_err(|e| e.to_string())?.checkpoint != at {
            return Err(format!("{name} moved while its digest was taken; the next attempt takes it again"));
        }
        let mut fresh = Runner::open(rebuilt.clone(), projection).await.map_err(|e| e.to_string())?;
        let mut source = Source::Store { store: env.cx.store().clone(), until: Some(at) };
        fresh.catch_up(&mut source, &mut |_| {}).await.map_err(|e| e.to_string())?;
        let (fresh_tables, fresh_all) = fresh.digest().await.map_err(|e| e.to_string())?;
        if fresh_all != live_all {
            let differ: Vec<&str> =
                live_tables.iter().filter(|(t, d)| fresh_tables.get(*t) != Some(*d)).map(|(t, _)| *t).collect();
            return Err(format!(
                "{name} at position {at} differs from a rebuild from the log: tables {}",
                differ.join(", ")
            ));
        }
        shown.push(format!("{name} {}", &live_all[..12.min(live_all.len())]));
    }
    Ok(Outcome::Done(format!("read models equal a rebuild from the log: {}", shown.join(", "))))
}

fn percent(d: Decimal) -> String {
    format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(1).normalize())
}

/// The session's tasks and outcomes so far as a JSON report, recorded as `ReportGenerated`
/// with its SHA-256 (an auditor regenerates it from the `ops-<date>` stream).
pub(super) async fn summary(env: &Env, session: &Session) -> Result<Outcome, String> {
    let state = commands::ops::state(&env.cx, session.date).await.map_err(|e| e.to_string())?;
    let report = queries::ops::report(session.date, &state);
    let position = env.cx.store().head().await.map_err(|e| e.to_string())?.map_or(0, |h| h.position);
    let delivered = queries::reports::deliver(
        &report,
        queries::reports::Format::Json,
        &[("session", session.date.to_string())],
        position,
        None,
    );
    let Some(event) = delivered.event else { return Err("the report was not rendered as JSON".into()) };
    let sha = match &event {
        domain::report::ReportEvent::ReportGenerated { sha256, .. } => sha256.clone(),
    };
    let caller = Caller { actor: "cairn ops".into(), source: "ops".into() };
    let (stream, _) = commands::report::record(&env.cx, event, &caller).await.map_err(|e| e.to_string())?;
    Ok(Outcome::Done(format!("{} tasks reported in {stream}, sha256 {sha}", report.rows.len())))
}

/// Every monitoring rule over every household as of the session, findings into alerts.
pub(super) async fn monitoring(env: &Env, session: &Session) -> Result<Outcome, String> {
    let benchmark = env.settings.benchmark.as_deref();
    let e = crate::alerts::evaluate(&env.cx, &env.db, None, session.date, env.clock.now(), env.follower, benchmark)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Outcome::Done(format!(
        "{} households, {} findings: {} alerts raised, {} escalated, {} resolved (read models at position {})",
        e.households, e.findings, e.raised, e.escalated, e.resolved, e.position
    )))
}

/// Each configured broker statement of positions ([`super::config::Reconcile`]): its rows
/// recorded as balance assertions on the household's ledger (a statement recorded before
/// records nothing again), checked against the ledger's rows, and the disagreements decided
/// into alerts (`domain::monitoring::reconciliation`); a holding that agrees again resolves its
/// alert. A file that does not parse fails the task, naming its line, with nothing recorded.
pub(super) async fn reconcile(env: &Env) -> Result<Outcome, String> {
    if env.settings.reconcile.is_empty() {
        return Ok(Outcome::NotConfigured("no broker position file is configured ([[ops.reconcile]])".into()));
    }
    let caller = Caller { actor: "cairn ops".into(), source: "ops".into() };
    let mut done = Vec::new();
    for r in &env.settings.reconcile {
        let shown = r.file.display();
        let bytes = std::fs::read(&r.file).map_err(|e| format!("{shown}: {e}"))?;
        let source = r.file.file_name().map(|n| n.to_string_lossy().into_owned());
        let assertions = commands::input::positions::parse_positions(&bytes, source.as_deref())
            .map_err(|e| format!("{shown}: {e}"))?;
        let rows = assertions.len();
        commands::ledger::assert_balances(&env.cx, &r.household, assertions, &caller)
            .await
            .map_err(|e| format!("{shown}: {e}"))?;
        let (ledger, _) = commands::ledger::load(&env.cx, &r.household).await.map_err(|e| e.to_string())?;
        let checked = domain::ledger::balances::check(&ledger).map_err(|e| e.to_string())?;
        let key = domain::ledger::household_key(&r.household);
        let findings = domain::monitoring::reconciliation(&key, &checked);
        let disagree = findings.len();
        let position = env.cx.store().head().await.map_err(|e| e.to_string())?.map_or(0, |h| h.position);
        let command = domain::alerts::AlertCommand::Evaluate {
            findings,
            rules: vec![domain::monitoring::Rule::Reconciliation],
            position,
            at: env.clock.now(),
            policy: domain::alerts::Policy::default(),
        };
        commands::alerts::execute(&env.cx, &key, &command, &caller).await.map_err(|e| e.to_string())?;
        done.push(format!("{key}: {disagree} holdings disagree with {rows} statement rows"));
    }
    Ok(Outcome::Done(done.join("; ")))
}

/// The log's new events sealed into the configured backup folder.
pub(super) async fn backup(env: &Env) -> Result<Outcome, String> {
    let (Some(dir), Some(key_file)) = (&env.settings.backup_dir, &env.settings.backup_key_file) else {
        return Ok(Outcome::NotConfigured("no backup folder is configured (ops.backup_dir)".into()));
    };
    let key = event_store::backup::BackupKey::load_or_create(key_file).map_err(|e| e.to_string())?;
    let made =
        crate::backup::create(env.cx.store(), Some(&env.db), dir, &key, None).await.map_err(|e| e.to_string())?;
    Ok(Outcome::Done(format!(
        "{} events ({} to {}) into {}, root {}",
        made["events"],
        made["from"],
        made["to"],
        made["dir"].as_str().unwrap_or_default(),
        made["root"].as_str().unwrap_or_default()
    )))
}
