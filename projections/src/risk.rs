//! The risk worker and its read model, `portfolio_risk`: one row per portfolio with its VaR and
//! CVaR, volatility and Monte Carlo probability of success, stamped with the global position its
//! inputs reflect.
//!
//! The worker follows the log by position, as the projectors do, and keeps its own checkpoint
//! (`cairn_projector_checkpoints`, name `risk`). It recognizes the events that change a
//! portfolio ([`trigger`]): a ledger row of an account (trades, cash, contributions, corporate
//! actions) changes every portfolio spanning that account; a split (which adjusts the symbol's
//! price history wherever it is held), a correction, a cancellation or a closed account every
//! portfolio of the household; a portfolio event that portfolio; a bar
//! every portfolio holding the symbol ([`Index::affected`]). Bursts are gathered per portfolio
//! ([`Coalescer`]: computed after a quiet period, or after a longest delay under a steady
//! stream). Before mapping a batch of events, the worker waits until the `holdings` and `prices`
//! read models have reached its last trigger, so the portfolios, positions and prices it reads
//! reflect it; the figures themselves are computed on the blocking pool
//! ([`simulations::portfolio_risk`]). A row's `position` is the smaller of the two read models'
//! checkpoints in the snapshot it was computed from: every event up to it is in the figures.
//!
//! The checkpoint only moves past an event once every portfolio it changed has been written,
//! so a restarted worker recomputes exactly the portfolios changed since (the first start scans
//! the whole log and computes every portfolio once).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{Datelike as _, NaiveDate, Utc};
use domain::ledger::types::Action;
use domain::ledger::{Ledger, LedgerEvent};
use domain::market::MarketEvent;
use event_store::{EventStore as _, StoredEvent, Upcasters};
use rust_decimal::prelude::FromPrimitive as _;
use rust_decimal::Decimal;
use simulations::portfolio_risk::{self, Bar, Holding, Settings, Split};

use crate::db::{col, Db, Kind::*, Row, Table};
use crate::holdings::{ledger_of, PORTFOLIOS, POSITIONS, VALUATIONS};
use crate::prices::PRICES;
use crate::query::{records, Record};
use crate::runner::{checkpoint, register, registration, Runner};
use crate::{row, Error, Result};

pub const PORTFOLIO_RISK: Table = Table {
    name: "portfolio_risk",
    columns: &[
        col("household", Text),
        col("portfolio", Text),
        col("name", Text),
        col("market_value", Money),
        col("weights", Text),
        col("coverage", Dec),
        col("notes", Text),
        col("basis", Text),
        col("observations", Int),
        col("first_day", Date),
        col("last_day", Date),
        col("volatility", Dec),
        col("var_95_1d", Dec),
        col("cvar_95_1d", Dec),
        col("var_99_1d", Dec),
        col("cvar_99_1d", Dec),
        col("parametric_var_95_1d", Dec),
        col("parametric_cvar_95_1d", Dec),
        col("parametric_var_99_1d", Dec),
        col("parametric_cvar_99_1d", Dec),
        col("var_95_21d", Dec),
        col("cvar_95_21d", Dec),
        col("var_99_21d", Dec),
        col("cvar_99_21d", Dec),
        col("var_95_1d_amount", Money),
        col("var_99_1d_amount", Money),
        col("success_probability", Dec),
        col("mc_years", Int),
        col("mc_paths", Int),
        col("withdrawal", Money),
        col("position", Int),
        col("computed_at", Time),
    ],
    key: &["household", "portfolio"],
    scope: "household",
    time_series: false,
};

pub const NAME: &str = "risk";
/// Bump to recompute every row into a fresh table (2: split-adjusted histories, parametric
/// figures on log returns, the `basis` column).
pub const VERSION: i64 = 2;
pub const TABLES: &[&Table] = &[&PORTFOLIO_RISK];

/// How long a portfolio must see no new change before it is computed.
pub const QUIET: Duration = Duration::from_millis(300);
/// The longest a changed portfolio waits under a steady stream of changes.
pub const MAX_DELAY: Duration = Duration::from_secs(3);
/// Events read per query.
const PAGE: usize = 10_000;
/// Price history used: the last three years before the latest bar.
const HISTORY_DAYS: i64 = 3 * 366;
/// Above this many symbols changed at once, the positions are read whole rather than per symbol.
const SYMBOL_QUERIES: usize = 16;
/// Places kept for ratios.
const RATIO_DP: u32 = 8;
/// What the row's figures are computed from (its `basis` column).
pub const BASIS: &str =
    "daily returns of split-adjusted closes (adjusted closes where both days have one, else closes \
    with the ledger's splits); historical VaR/CVaR from those returns; normal VaR/CVaR on their log returns \
    (21 days: mean x 21, sd x sqrt 21), transformed to simple losses (1 - e^q); all fractions of the value";

/// A portfolio: its household key and its own key.
pub type Key = (String, String);

/// What an event changes, before it is known which portfolios that touches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    /// Holdings of one account moved.
    Account { household: String, account: String },
    /// Holdings of any account of the household may have moved.
    Household(String),
    /// The portfolio itself changed (created, accounts, targets).
    Portfolio(Key),
    /// A bar of the symbol was recorded or revised.
    Symbol(String),
}

/// What `e` changes, if it changes any portfolio's risk.
pub fn trigger(upcasters: &Upcasters, e: &StoredEvent) -> Result<Option<Trigger>> {
    let id = e.stream_id.as_str();
    let decode = |x: event_store::StoreError| Error::Decode { position: e.global_position, problem: x.to_string() };
    Ok(match e.stream_id.category() {
        "ledger" => {
            let household = id["ledger-".len()..].to_owned();
            match upcasters.decode_versioned::<LedgerEvent>(e, domain::ledger::SCHEMA_VERSION).map_err(decode)? {
                LedgerEvent::TradeRecorded(t) if t.action == Action::Split => Some(Trigger::Household(household)),
                LedgerEvent::TradeRecorded(t) => Some(Trigger::Account { household, account: t.account }),
                LedgerEvent::TradeCorrected { .. }
                | LedgerEvent::TradeCancelled { .. }
                | LedgerEvent::AccountClosed { .. } => Some(Trigger::Household(household)),
                _ => None,
            }
        }
        "portfolio" => {
            let (household, portfolio) = id["portfolio-".len()..].split_once("--").ok_or_else(|| Error::Decode {
                position: e.global_position,
                problem: "portfolio stream id without `--`".into(),
            })?;
            Some(Trigger::Portfolio((household.to_owned(), portfolio.to_owned())))
        }
        "market" => {
            match upcasters.decode_versioned::<MarketEvent>(e, domain::market::SCHEMA_VERSION).map_err(decode)? {
                MarketEvent::BarRecorded { symbol, .. } | MarketEvent::BarRevised { symbol, .. } => {
                    Some(Trigger::Symbol(symbol))
                }
            }
        }
        _ => None,
    })
}

/// Which portfolios span which accounts, and who holds which symbols: enough of the read models
/// to map [`Trigger`]s to portfolios.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// Per household: each portfolio and the accounts it spans.
    pub spans: BTreeMap<String, Vec<(String, BTreeSet<String>)>>,
    /// Per symbol: the (household, account) pairs holding it.
    pub holders: BTreeMap<String, BTreeSet<(String, String)>>,
}

impl Index {
    /// The portfolios a trigger changes.
    pub fn affected(&self, t: &Trigger) -> BTreeSet<Key> {
        let spanning = |household: &str, account: Option<&str>| -> Vec<Key> {
            self.spans
                .get(household)
                .into_iter()
                .flatten()
                .filter(|(_, accounts)| account.is_none_or(|a| accounts.contains(a)))
                .map(|(p, _)| (household.to_owned(), p.clone()))
                .collect()
        };
        match t {
            Trigger::Account { household, account } => {
                spanning(household, Some(account.as_str())).into_iter().collect()
            }
            Trigger::Household(household) => spanning(household, None).into_iter().collect(),
            Trigger::Portfolio(key) => BTreeSet::from([key.clone()]),
            Trigger::Symbol(symbol) => self
                .holders
                .get(symbol)
                .into_iter()
                .flatten()
                .flat_map(|(h, a)| spanning(h, Some(a.as_str())))
                .collect(),
        }
    }

    /// Reads what `triggers` need from the read models.
    pub async fn load(db: &Db, triggers: &BTreeSet<Trigger>) -> Result<Self> {
        let mut index = Self::default();
        let mut households = BTreeSet::new();
        let symbols: BTreeSet<&str> = triggers
            .iter()
            .filter_map(|t| match t {
                Trigger::Symbol(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        // A few symbols: their positions; a day's bars for many: every position, read once.
        let positions = if symbols.len() <= SYMBOL_QUERIES {
            let mut rows = Vec::new();
            for s in &symbols {
                rows.extend(records(db, &POSITIONS, &[("symbol", Some((*s).to_owned()))]).await?);
            }
            rows
        } else {
            records(db, &POSITIONS, &[]).await?
        };
        for r in positions.iter().filter(|r| symbols.contains(r.str("symbol"))) {
            households.insert(r.str("household").to_owned());
            let holders = index.holders.entry(r.str("symbol").to_owned()).or_default();
            holders.insert((r.str("household").to_owned(), r.str("account").to_owned()));
        }
        for t in triggers {
            if let Trigger::Account { household, .. } | Trigger::Household(household) = t {
                households.insert(household.clone());
            }
        }
        for h in households {
            let portfolios = records(db, &PORTFOLIOS, &[("household", Some(h.clone()))]).await?;
            let spans = portfolios.iter().map(|p| (p.str("portfolio").to_owned(), accounts_of(p))).collect();
            index.spans.insert(h, spans);
        }
        Ok(index)
    }
}

fn accounts_of(portfolio: &Record) -> BTreeSet<String> {
    portfolio.str("accounts").split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

/// Changed portfolios waiting to be computed: each is due once no change has come for
/// `quiet`, or `max_delay` after its first change, whichever is sooner.
#[derive(Debug, Clone)]
pub struct Coalescer {
    quiet: Duration,
    max_delay: Duration,
    pending: BTreeMap<Key, Pending>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    first: Instant,
    last: Instant,
    /// The first position that changed it and is not yet in its row.
    since: u64,
}

impl Coalescer {
    pub fn new(quiet: Duration, max_delay: Duration) -> Self {
        Self { quiet, max_delay, pending: BTreeMap::new() }
    }

    /// A change of `key` at `position`, seen at `now`.
    pub fn add(&mut self, key: Key, position: u64, now: Instant) {
        self.pending
            .entry(key)
            .and_modify(|p| {
                p.last = now;
                p.since = p.since.min(position);
            })
            .or_insert(Pending { first: now, last: now, since: position });
    }

    fn due_at(&self, p: &Pending) -> Instant {
        (p.last + self.quiet).min(p.first + self.max_delay)
    }

    /// Takes the portfolios due at `now`, each with the first position it waits for (give it
    /// back with [`Coalescer::add`] if computing it fails).
    pub fn take_due(&mut self, now: Instant) -> Vec<(Key, u64)> {
        let due: Vec<Key> =
            self.pending.iter().filter(|(_, p)| self.due_at(p) <= now).map(|(k, _)| k.clone()).collect();
        due.into_iter().map(|k| (k.clone(), self.pending.remove(&k).expect("listed above").since)).collect()
    }

    /// When the next portfolio falls due.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|p| self.due_at(p)).min()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The checkpoint when every event up to `scanned` has been mapped: just before the first
    /// change still waiting.
    pub fn checkpoint(&self, scanned: u64) -> u64 {
        self.pending.values().map(|p| p.since - 1).min().map_or(scanned, |c| c.min(scanned))
    }
}

/// The worker's figures for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub checkpoint: AtomicU64,
    pub pending: AtomicU64,
    pub computed: AtomicU64,
    pub failures: AtomicU64,
    pub last_compute_micros: AtomicU64,
}

/// Registers the worker's table on first use; a stored version other than [`VERSION`] gets a
/// fresh generation with the checkpoint at 0, so every row is computed again. Returns the
/// generation in service.
pub async fn open(db: &Db) -> Result<i64> {
    match registration(db, NAME).await? {
        None => register(db, NAME, VERSION, TABLES).await?,
        Some(r) if r.version != VERSION => {
            let generation = r.generation + 1;
            let mut tx = db.begin().await?;
            let claimed = tx
                .execute(
                    "UPDATE cairn_projectors SET version = CAST($2 AS BIGINT), generation = CAST($3 AS BIGINT) \
                     WHERE name = $1 AND generation = CAST($4 AS BIGINT)",
                    &[
                        Some(NAME.to_owned()),
                        Some(VERSION.to_string()),
                        Some(generation.to_string()),
                        Some(r.generation.to_string()),
                    ],
                )
                .await?;
            if claimed == 1 {
                db.create_tables(&mut tx, TABLES, generation).await?;
                for t in TABLES {
                    db.point_view(&mut tx, t, generation).await?;
                    tx.execute(&format!("DROP TABLE IF EXISTS {}", t.physical(r.generation)), &[]).await?;
                }
                tx.execute(
                    "INSERT INTO cairn_projector_checkpoints (name, generation, position) VALUES ($1, CAST($2 AS BIGINT), 0)",
                    &[Some(NAME.to_owned()), Some(generation.to_string())],
                )
                .await?;
                tx.commit().await?;
                tracing::info!(
                    from = r.version,
                    to = VERSION,
                    "risk worker version changed; recomputing every portfolio"
                );
            }
        }
        Some(_) => {}
    }
    Ok(registration(db, NAME).await?.map_or(1, |r| r.generation))
}

/// The worker's checkpoint (0 when it never ran): every portfolio changed by an event up to it
/// has a row reflecting that event.
pub async fn worker_checkpoint(db: &Db) -> Result<u64> {
    match db.generation(NAME).await? {
        Some(g) => checkpoint(db, NAME, g).await,
        None => Ok(0),
    }
}

async fn save_checkpoint(db: &Db, generation: i64, position: u64) -> Result<()> {
    db.execute(
        "UPDATE cairn_projector_checkpoints SET position = CAST($3 AS BIGINT) \
         WHERE name = $1 AND generation = CAST($2 AS BIGINT)",
        &[Some(NAME.to_owned()), Some(generation.to_string()), Some(position.to_string())],
    )
    .await?;
    Ok(())
}

/// The position every input of a computation reflects: the smaller of the `holdings` and
/// `prices` checkpoints (read through `db`, a pinned snapshot when the rows are read from it).
pub async fn inputs_position(db: &Db) -> Result<u64> {
    let mut position = u64::MAX;
    for name in ["holdings", "prices"] {
        let status = Runner::inspect(db.clone(), crate::by_name(name)?).status(None).await?;
        position = position.min(status.checkpoint);
    }
    Ok(position)
}

/// The stored row of a portfolio, if computed.
pub async fn stored(db: &Db, household: &str, portfolio: &str) -> Result<Vec<Record>> {
    let filters = [("household", Some(household.to_owned())), ("portfolio", Some(portfolio.to_owned()))];
    records(db, &PORTFOLIO_RISK, &filters).await
}

fn ratio(x: Option<f64>) -> Option<Decimal> {
    x.filter(|v| v.is_finite()).and_then(Decimal::from_f64).map(|d| d.round_dp(RATIO_DP).normalize())
}

fn to_f64(d: Decimal) -> f64 {
    rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN)
}

/// The splits of `symbol` among the ledger's rows in force (every account: a split is the
/// security's): each row's trade date and ratio, new shares per old.
pub fn splits_of(ledger: &Ledger, symbol: &str) -> Vec<Split> {
    ledger
        .trades
        .iter()
        .filter(|t| t.action == Action::Split && t.symbol.as_deref() == Some(symbol))
        .filter_map(|t| {
            let r = t.ratio?;
            (!r.old.is_zero()).then(|| Split { day: day_number(t.trade_date), ratio: to_f64(r.new / r.old) })
        })
        .collect()
}

fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn day_of(n: i64) -> Option<NaiveDate> {
    i32::try_from(n).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Computes the risk row of one portfolio from the read models behind `db` (pin it, so that the
/// portfolio, its valuations, the prices and the position stated all come from one snapshot).
/// `None` when the household has no such portfolio. The numbers are computed on the blocking
/// pool.
pub async fn assess(db: &Db, household: &str, portfolio: &str) -> Result<Option<Row>> {
    let position = inputs_position(db).await?;
    let filters = [("household", Some(household.to_owned())), ("portfolio", Some(portfolio.to_owned()))];
    let Some(p) = records(db, &PORTFOLIOS, &filters).await?.into_iter().next() else { return Ok(None) };
    let accounts = accounts_of(&p);
    // Market value per symbol over the portfolio's accounts, at the latest close.
    let mut values: BTreeMap<String, (Decimal, Option<NaiveDate>)> = BTreeMap::new();
    let mut unpriced = BTreeSet::new();
    for v in records(db, &VALUATIONS, &[("household", Some(household.to_owned()))]).await? {
        if !accounts.contains(v.str("account")) || v.dec("quantity").is_none_or(|q| q.is_zero()) {
            continue;
        }
        match v.dec("market_value") {
            Some(mv) => {
                let entry = values.entry(v.str("symbol").to_owned()).or_insert((Decimal::ZERO, None));
                entry.0 += mv;
                entry.1 = entry.1.max(v.date("price_date"));
            }
            None => {
                unpriced.insert(v.str("symbol").to_owned());
            }
        }
    }
    let total: Decimal = values.values().map(|(v, _)| *v).sum();
    // The splits the household's ledger knows of, for the price histories.
    let ledger = ledger_of(db, household).await?.unwrap_or_default();
    let mut holdings = Vec::new();
    for (symbol, (value, latest)) in &values {
        let mut filters = vec![("symbol", Some(symbol.clone()))];
        if let Some(latest) = latest {
            filters.push(("day >=", Some((*latest - chrono::Duration::days(HISTORY_DAYS)).to_string())));
        }
        let bars = records(db, &PRICES, &filters).await?;
        // Each return from adjusted closes where both bars have one, else from closes with the
        // ledger's splits applied (portfolio_risk::adjusted_closes).
        let bars = bars
            .iter()
            .filter_map(|b| {
                Some(Bar {
                    day: day_number(b.date("day")?),
                    close: to_f64(b.dec("close")?),
                    adj_close: b.dec("adj_close").map(to_f64),
                })
            })
            .collect();
        holdings.push(Holding {
            symbol: symbol.clone(),
            value: to_f64(*value),
            bars,
            splits: splits_of(&ledger, symbol),
        });
    }
    let settings = Settings::default();
    let s = settings.clone();
    let assessment = tokio::task::spawn_blocking(move || portfolio_risk::assess(&holdings, &s))
        .await
        .map_err(|e| Error::Config(format!("risk computation failed: {e}")))?;
    let weights: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .filter(|_| !total.is_zero())
        .map(|(s, (v, _))| (s.clone(), serde_json::Value::String((v / total).round_dp(6).normalize().to_string())))
        .collect();
    let mut notes: Vec<String> = unpriced.iter().map(|s| format!("{s}: no price, not valued")).collect();
    notes.extend(assessment.notes.iter().cloned());
    let tail = |c: f64| assessment.tail.iter().find(|t| t.confidence == c);
    let (t95, t99) = (tail(0.95), tail(0.99));
    let amount = |x: Option<f64>| ratio(x).map(|r| (r * total).round_dp(2));
    let withdrawal = (total * Decimal::from_f64(settings.withdrawal_rate).unwrap_or_default()).round_dp(2);
    Ok(Some(row![
        household,
        portfolio,
        p.str("name"),
        total,
        serde_json::Value::Object(weights).to_string(),
        ratio(Some(assessment.coverage)),
        (!notes.is_empty()).then(|| notes.join("; ")),
        BASIS,
        assessment.observations,
        assessment.first_day.and_then(day_of),
        assessment.last_day.and_then(day_of),
        ratio(assessment.volatility),
        ratio(t95.map(|t| t.historical_var)),
        ratio(t95.map(|t| t.historical_cvar)),
        ratio(t99.map(|t| t.historical_var)),
        ratio(t99.map(|t| t.historical_cvar)),
        ratio(t95.map(|t| t.parametric_var)),
        ratio(t95.map(|t| t.parametric_cvar)),
        ratio(t99.map(|t| t.parametric_var)),
        ratio(t99.map(|t| t.parametric_cvar)),
        ratio(t95.map(|t| t.horizon_var)),
        ratio(t95.map(|t| t.horizon_cvar)),
        ratio(t99.map(|t| t.horizon_var)),
        ratio(t99.map(|t| t.horizon_cvar)),
        amount(t95.map(|t| t.historical_var)),
        amount(t99.map(|t| t.historical_var)),
        ratio(assessment.success_probability),
        settings.years,
        settings.paths,
        withdrawal,
        position,
        Utc::now(),
    ]))
}

/// Writes a computed row, unless the stored one reflects a later position. Returns whether it
/// was written.
pub async fn save(db: &Db, row: &Row) -> Result<bool> {
    let generation = open(db).await?;
    db.upsert_unless_newer(&PORTFOLIO_RISK, generation, row, "position").await
}

/// Computes and saves one portfolio from a fresh snapshot of the read models.
async fn recompute(db: &Db, key: &Key) -> Result<()> {
    let pinned = db.pinned().await?;
    let row = assess(&pinned, &key.0, &key.1).await?;
    drop(pinned);
    if let Some(row) = row {
        save(db, &row).await?;
    }
    Ok(())
}

/// Waits until the `holdings` and `prices` read models reflect `position`; false when stopped.
async fn inputs_reach(db: &Db, position: u64, stop: &mut tokio::sync::watch::Receiver<bool>) -> Result<bool> {
    let started = Instant::now();
    let mut warned = false;
    loop {
        if inputs_position(db).await? >= position {
            return Ok(true);
        }
        if !warned && started.elapsed() > Duration::from_secs(30) {
            tracing::warn!(position, "risk worker: still waiting for the holdings and prices read models");
            warned = true;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
            _ = stop.wait_for(|s| *s) => return Ok(false),
        }
    }
}

/// Keeps `portfolio_risk` up to date until `stop` turns true (see the module documentation).
/// A failure is logged and the worker starts again from its stored checkpoint after five
/// seconds.
pub async fn follow(
    db: Db,
    store: event_store::Store,
    metrics: std::sync::Arc<Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match run(&db, &store, &metrics, &mut stop).await {
            Ok(()) => return,
            Err(e) => {
                metrics.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "risk worker failed; retrying in 5 s");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn run(
    db: &Db,
    store: &event_store::Store,
    metrics: &Metrics,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let generation = open(db).await?;
    let mut saved = checkpoint(db, NAME, generation).await?;
    let mut scanned = saved;
    let mut pending = Coalescer::new(QUIET, MAX_DELAY);
    let upcasters = Upcasters::default();
    let mut commits = store.commits();
    let tick = store.fallback_tick().unwrap_or(Duration::from_secs(30));
    let publish = |checkpoint: u64, pending: usize| {
        metrics.checkpoint.store(checkpoint, Ordering::Relaxed);
        metrics.pending.store(pending as u64, Ordering::Relaxed);
        store.metrics().set_subscriber_position(&format!("worker:{NAME}"), checkpoint);
    };
    publish(saved, 0);
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        commits.borrow_and_update();
        // What is new: map each change to the portfolios it touches.
        let page = store.read_all(scanned + 1, PAGE).await?;
        let full = page.len() == PAGE;
        let mut triggers: BTreeMap<Trigger, u64> = BTreeMap::new();
        for e in &page {
            if let Some(t) = trigger(&upcasters, e)? {
                triggers.entry(t).or_insert(e.global_position);
            }
        }
        if let Some(&last) = triggers.values().max() {
            if !inputs_reach(db, last, stop).await? {
                return Ok(());
            }
            let index = Index::load(db, &triggers.keys().cloned().collect()).await?;
            let now = Instant::now();
            for (t, position) in &triggers {
                for key in index.affected(t) {
                    pending.add(key, *position, now);
                }
            }
        }
        if let Some(last) = page.last() {
            scanned = last.global_position;
        }
        // What is due: compute it.
        for (key, since) in pending.take_due(Instant::now()) {
            let started = Instant::now();
            if let Err(e) = recompute(db, &key).await {
                pending.add(key, since, Instant::now());
                return Err(e);
            }
            metrics.last_compute_micros.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            metrics.computed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                household = key.0,
                portfolio = key.1,
                ms = started.elapsed().as_millis() as u64,
                "risk computed"
            );
        }
        let position = pending.checkpoint(scanned);
        if position != saved {
            save_checkpoint(db, generation, position).await?;
            saved = position;
        }
        publish(saved, pending.len());
        if full {
            continue;
        }
        // Sleep until a commit, the next portfolio due, the fallback tick, or shutdown.
        let wake = pending.next_due().map_or(tick, |at| at.saturating_duration_since(Instant::now()).min(tick));
        tokio::select! {
            _ = tokio::time::timeout(wake, commits.changed()) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(h: &str, p: &str) -> Key {
        (h.to_owned(), p.to_owned())
    }

    #[test]
    fn triggers_map_to_the_portfolios_they_change() {
        let set = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<String>>();
        let index = Index {
            spans: BTreeMap::from([
                (
                    "smith".to_owned(),
                    vec![("core".to_owned(), set(&["ira", "brokerage"])), ("kids".to_owned(), set(&["529"]))],
                ),
                ("jones".to_owned(), vec![("all".to_owned(), set(&["main"]))]),
            ]),
            holders: BTreeMap::from([(
                "VTI".to_owned(),
                BTreeSet::from([key("smith", "ira"), key("jones", "main"), key("jones", "old")]),
            )]),
        };
        let account = |h: &str, a: &str| Trigger::Account { household: h.into(), account: a.into() };
        assert_eq!(index.affected(&account("smith", "ira")), BTreeSet::from([key("smith", "core")]));
        assert_eq!(index.affected(&account("smith", "529")), BTreeSet::from([key("smith", "kids")]));
        assert!(index.affected(&account("smith", "checking")).is_empty());
        assert!(index.affected(&account("nobody", "x")).is_empty());
        assert_eq!(
            index.affected(&Trigger::Household("smith".into())),
            BTreeSet::from([key("smith", "core"), key("smith", "kids")])
        );
        assert_eq!(
            index.affected(&Trigger::Symbol("VTI".into())),
            BTreeSet::from([key("smith", "core"), key("jones", "all")])
        );
        assert!(index.affected(&Trigger::Symbol("BND".into())).is_empty());
        assert_eq!(index.affected(&Trigger::Portfolio(key("lee", "new"))), BTreeSet::from([key("lee", "new")]));
    }

    #[test]
    fn bursts_are_coalesced_per_portfolio_with_a_longest_delay() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut c = Coalescer::new(Duration::from_millis(300), Duration::from_millis(1000));
        assert_eq!(c.checkpoint(10), 10);
        c.add(key("a", "p"), 11, ms(0));
        c.add(key("a", "p"), 12, ms(200));
        c.add(key("b", "q"), 13, ms(250));
        assert_eq!(c.len(), 2);
        assert_eq!(c.checkpoint(13), 10);
        assert_eq!(c.next_due(), Some(ms(500)));
        assert!(c.take_due(ms(499)).is_empty());
        assert_eq!(c.take_due(ms(500)), vec![(key("a", "p"), 11)]);
        assert_eq!(c.checkpoint(13), 12);
        // A steady stream: b changes every 200 ms, but is due 1 s after its first change.
        for n in [450, 650, 850, 1050, 1200] {
            c.add(key("b", "q"), n, ms(n));
            assert!(c.take_due(ms(n)).is_empty());
        }
        assert_eq!(c.next_due(), Some(ms(1250)));
        assert_eq!(c.take_due(ms(1250)), vec![(key("b", "q"), 13)]);
        assert!(c.is_empty());
        assert_eq!(c.checkpoint(1200), 1200);
    }
}
