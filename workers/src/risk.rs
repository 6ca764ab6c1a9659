//! The risk worker: keeps the read model `portfolio_risk` current, one row per portfolio with its VaR and
//! CVaR, volatility and Monte Carlo probability of success, stamped with the global position its
//! inputs reflect.
//!
//! The worker follows the log by position, as the projectors do, and keeps its own checkpoint
//! (`cairn_projector_checkpoints`, name `risk`) and writes the read model `portfolio_risk`
//! (`projections::risk`). It recognizes the events that change a
//! portfolio ([`trigger`]): a ledger row of an account (trades, cash, contributions, corporate
//! actions) changes every portfolio spanning that account; a split (which adjusts the symbol's
//! price history wherever it is held), a correction, a cancellation or a closed account every
//! portfolio of the household; a portfolio event that portfolio; a bar
//! every portfolio holding the symbol ([`Index::affected`]). Bursts are gathered per portfolio
//! ([`Coalescer`]: computed after a quiet period, or after a longest delay under a steady
//! stream). Before mapping a batch of events, the worker waits until the `holdings` and `prices`
//! read models have reached its last trigger, so the portfolios, positions and prices it reads
//! reflect it; the figures themselves are computed by [`queries::risk::assess`] on the
//! blocking pool. A row's `position` is the smaller of the two read models'
//! checkpoints in the snapshot it was computed from: every event up to it is in the figures.
//!
//! The checkpoint only moves past an event once every portfolio it changed has been written,
//! so a restarted worker recomputes exactly the portfolios changed since (the first start scans
//! the whole log and computes every portfolio once).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use domain::ledger::types::Action;
use domain::ledger::LedgerEvent;
use domain::market::MarketEvent;
use domain::streams::Parts;
use event_store::{EventStore as _, StoredEvent, Upcasters};
use projections::db::Db;
use projections::holdings::{PORTFOLIOS, POSITIONS};
use projections::query::records;
use projections::risk::{inputs_position, open, save, save_checkpoint, NAME};
use projections::runner::checkpoint;
use projections::{Error, Result};
use queries::risk::{accounts_of, assess};

/// How long a portfolio must see no new change before it is computed.
pub const QUIET: Duration = Duration::from_millis(300);
/// The longest a changed portfolio waits under a steady stream of changes.
pub const MAX_DELAY: Duration = Duration::from_secs(3);
/// Events read per query.
const PAGE: usize = 10_000;
/// Above this many symbols changed at once, the positions are read whole rather than per symbol.
const SYMBOL_QUERIES: usize = 16;

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
    let decode = |x: event_store::StoreError| Error::Decode { position: e.global_position, problem: x.to_string() };
    Ok(match Parts::of(e.stream_id.as_str()) {
        Some(Parts::Ledger(household)) => {
            let household = household.to_owned();
            match upcasters.decode_versioned::<LedgerEvent>(e, domain::ledger::SCHEMA_VERSION).map_err(decode)? {
                LedgerEvent::TradeRecorded(t) if t.action == Action::Split => Some(Trigger::Household(household)),
                LedgerEvent::TradeRecorded(t) => Some(Trigger::Account { household, account: t.account }),
                LedgerEvent::TradeCorrected { .. }
                | LedgerEvent::TradeCancelled { .. }
                | LedgerEvent::AccountClosed { .. } => Some(Trigger::Household(household)),
                _ => None,
            }
        }
        Some(Parts::Portfolio(household, portfolio)) => {
            Some(Trigger::Portfolio((household.to_owned(), portfolio.to_owned())))
        }
        None if e.stream_id.category() == "portfolio" => {
            return Err(Error::Decode {
                position: e.global_position,
                problem: "portfolio stream id without `--`".into(),
            })
        }
        Some(Parts::Market(_)) => {
            match upcasters.decode_versioned::<MarketEvent>(e, domain::market::SCHEMA_VERSION).map_err(decode)? {
                MarketEvent::BarRecorded { symbol, .. } | MarketEvent::BarRevised { symbol, .. } => {
                    Some(Trigger::Symbol(symbol))
                }
                // A description or a refused bar moves no price and so no risk figure.
                MarketEvent::SecurityDescribed { .. } | MarketEvent::BarRejected { .. } => None,
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
