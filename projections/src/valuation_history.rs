//! The `valuation_history` projector: each household's daily valuation history, from its
//! ledger and every close the market streams recorded.
//!
//! Tables (scoped by `household`):
//! - `value_history`: one row per calendar day from the household's first row to its last day,
//!   for all its accounts together (a transfer between two of them cancels out). The columns
//!   are [`domain::performance::history::Valuation`]'s, whose documentation gives the rules
//!   (value at the latest close, external flows, fees apart for gross-of-fees returns).
//!   Amounts are exact, never rounded: the returns read from the rows are the returns computed
//!   from the ledger. One account's history is computed when asked for (it costs what the
//!   household's does); storing every account's would multiply the rows, and the rebuild, by
//!   the number of accounts.
//! - `value_history_symbols`: the symbols each household's rows name (and the pairs of their
//!   currencies, `EUR.USD`), so that a new close
//!   finds the households it revalues without reading every ledger.
//!
//! A household's last day is the later of its last row and the last close of a symbol it
//! names: the history runs as far as its data does (a reader extends it to a later day by
//! carrying the last value forward, since nothing moved it). A household's rows are computed
//! from its whole ledger, as every projector here does: a new row or a corrected one, or a
//! revised close of a symbol it names, recomputes them all (one lot-engine run, then one pass
//! over the days per scope). A new day's closes, all after a household's stored last day with
//! its ledger unchanged, write only the days after it: a day's row reads only the rows and
//! closes up to that day, so the stored ones stand (the daily price run writes a row per
//! household, not its whole history). The states (each household's ledger, each symbol's
//! closes) are saved beside the rows in the same transaction, so a restarted runner carries on.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use domain::ledger::{apply, Ledger, LedgerEvent};
use domain::market::MarketEvent;
use domain::performance::history::{replay, Closes, Replayed, Valuation};
use domain::streams::Parts;
use event_store::{StoredEvent, Upcasters};
use rust_decimal::Decimal;

use crate::db::{col, Db, Kind::*, Row, Table, Tx};
use crate::{row, Error, Result};

pub const VALUE_HISTORY: Table = Table {
    name: "value_history",
    columns: &[
        col("household", Text),
        col("date", Date),
        col("value", Money),
        col("cash", Money),
        col("flow", Money),
        col("inflow", Money),
        col("outflow", Money),
        col("fee_flow", Money),
        col("fees", Money),
        col("qualified_dividends", Money),
        col("ordinary_dividends", Money),
        col("interest", Money),
        col("unpriced", Int),
    ],
    key: &["household", "date"],
    scope: "household",
    time_series: false,
};

/// The first columns of [`VALUE_HISTORY`], read alone: a day's value, cash and external flow
/// (what the monitoring rules read of every household's every day, without the eight columns
/// they do not). Not a table of its own: reads of it select from `value_history`.
pub const VALUE_DAYS: Table = Table {
    name: VALUE_HISTORY.name,
    columns: VALUE_HISTORY.columns.split_at(5).0,
    key: VALUE_HISTORY.key,
    scope: VALUE_HISTORY.scope,
    time_series: VALUE_HISTORY.time_series,
};

pub const VALUE_HISTORY_SYMBOLS: Table = Table {
    name: "value_history_symbols",
    columns: &[col("household", Text), col("symbol", Text)],
    key: &["household", "symbol"],
    scope: "household",
    time_series: false,
};

/// The state key of a symbol's closes (household keys never start with `#`).
fn closes_key(symbol: &str) -> String {
    format!("#closes:{symbol}")
}

fn decode_err(e: &StoredEvent, problem: impl std::fmt::Display) -> Error {
    Error::Decode { position: e.global_position, problem: problem.to_string() }
}

#[derive(Default)]
pub struct ValuationHistory {
    ledgers: HashMap<String, Ledger>,
    /// The snapshot size of each ledger in memory.
    sizes: HashMap<String, usize>,
    closes: Closes,
    /// Symbols whose closes are in `closes` as saved (or none were saved).
    loaded: BTreeSet<String>,
    dirty: BTreeSet<String>,
    dirty_symbols: BTreeSet<String>,
    /// The earliest day of the closes absorbed since the last flush, by symbol.
    moved_from: BTreeMap<String, NaiveDate>,
    /// The last day of each household's stored history, as this projector last wrote it.
    last_day: HashMap<String, NaiveDate>,
    upcasters: Upcasters,
}

impl ValuationHistory {
    pub const NAME: &'static str = "valuation_history";
    pub const VERSION: i64 = 1;
    pub const CATEGORIES: &'static [&'static str] = &["ledger", "market"];
    pub const TABLES: &'static [&'static Table] = &[&VALUE_HISTORY, &VALUE_HISTORY_SYMBOLS];

    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// Lets the ledgers in memory go when their snapshots pass
    /// [`crate::holdings::RESIDENT_STATE_BYTES`] (each is saved and read again when needed).
    pub(crate) fn trim(&mut self) {
        if self.dirty.is_empty() && self.sizes.values().sum::<usize>() > crate::holdings::RESIDENT_STATE_BYTES {
            self.ledgers.clear();
            self.sizes.clear();
        }
    }

    /// Loads the saved ledgers of those of `households` not in memory, in few statements.
    async fn load_ledgers(&mut self, db: &Db, generation: i64, households: &BTreeSet<String>) -> Result<()> {
        let missing: Vec<String> = households.iter().filter(|h| !self.ledgers.contains_key(*h)).cloned().collect();
        for (household, bytes) in db.load_states(Self::NAME, generation, &missing).await? {
            self.sizes.insert(household.clone(), bytes.len());
            let ledger = rmp_serde::from_slice(&bytes)
                .map_err(|e| Error::Config(format!("valuation history state of {household}: {e}")))?;
            self.ledgers.insert(household, ledger);
        }
        Ok(())
    }

    async fn load_ledger(&mut self, db: &Db, generation: i64, household: &str) -> Result<()> {
        if !self.ledgers.contains_key(household) {
            self.load_ledgers(db, generation, &BTreeSet::from([household.to_owned()])).await?;
            self.ledgers.entry(household.to_owned()).or_default();
        }
        Ok(())
    }

    async fn load_closes(&mut self, db: &Db, generation: i64, symbol: &str) -> Result<()> {
        if !self.loaded.contains(symbol) {
            self.loaded.insert(symbol.to_owned());
            if let Some(bytes) = db.load_state(Self::NAME, generation, &closes_key(symbol)).await? {
                let saved: Vec<(NaiveDate, Decimal)> = rmp_serde::from_slice(&bytes)
                    .map_err(|e| Error::Config(format!("valuation history closes of {symbol}: {e}")))?;
                // Closes absorbed before the saved ones were read (none, in practice) win.
                let newer: Vec<(NaiveDate, Decimal)> = self.closes.series(symbol).to_vec();
                self.closes.set_series(symbol.to_owned(), saved);
                for (day, close) in newer {
                    self.closes.insert(symbol, day, close);
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn absorb(&mut self, db: &Db, generation: i64, events: &[StoredEvent]) -> Result<()> {
        let mut bars: Vec<&StoredEvent> = Vec::new();
        let mut by_household: BTreeMap<&str, Vec<&StoredEvent>> = BTreeMap::new();
        for e in events {
            match Parts::of(e.stream_id.as_str()) {
                Some(Parts::Ledger(household)) => by_household.entry(household).or_default().push(e),
                Some(Parts::Market(_)) => bars.push(e),
                _ => {}
            }
        }
        // Each household's events applied to its ledger in log order, households on every core.
        let mut work: Vec<(String, Ledger, Vec<&StoredEvent>)> = Vec::with_capacity(by_household.len());
        let touched: BTreeSet<String> = by_household.keys().map(|h| (*h).to_owned()).collect();
        self.load_ledgers(db, generation, &touched).await?;
        for (household, events) in by_household {
            let ledger = self.ledgers.remove(household).unwrap_or_default();
            work.push((household.to_owned(), ledger, events));
        }
        let upcasters = &self.upcasters;
        let applied = in_parallel(&mut work, |(_, ledger, events)| {
            for e in events.iter() {
                let event: LedgerEvent =
                    upcasters.decode_versioned(e, domain::ledger::SCHEMA_VERSION).map_err(|x| decode_err(e, x))?;
                *ledger = apply(std::mem::take(ledger), event);
            }
            Ok::<_, Error>(())
        });
        for (household, ledger, _) in work {
            self.ledgers.insert(household.clone(), ledger);
            self.dirty.insert(household);
        }
        // The first failure in log order is the one reported (the runner forgets the batch).
        if let Some(e) = applied.into_iter().filter_map(Result::err).min_by_key(|e| match e {
            Error::Decode { position, .. } => *position,
            _ => u64::MAX,
        }) {
            return Err(e);
        }
        // Bars are decoded on every core (a close changes no other state), then applied in
        // log order.
        let mut chunks: Vec<&[&StoredEvent]> = bars.chunks(4_096).collect();
        let decoded = in_parallel(&mut chunks, |chunk| {
            let mut closes = Vec::with_capacity(chunk.len());
            for e in chunk.iter() {
                let event: MarketEvent =
                    upcasters.decode_versioned(e, domain::market::SCHEMA_VERSION).map_err(|x| decode_err(e, x))?;
                if let MarketEvent::BarRecorded { symbol, bar, .. } | MarketEvent::BarRevised { symbol, bar, .. } =
                    event
                {
                    closes.push((symbol, bar.date, bar.close));
                }
            }
            Ok::<_, Error>(closes)
        });
        for chunk in decoded {
            for (symbol, date, close) in chunk? {
                self.load_closes(db, generation, &symbol).await?;
                self.closes.insert(&symbol, date, close);
                let from = self.moved_from.entry(symbol.clone()).or_insert(date);
                *from = (*from).min(date);
                if !self.dirty_symbols.contains(&symbol) {
                    self.dirty_symbols.insert(symbol);
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn flush(&mut self, db: &Db, tx: &mut Tx, generation: i64) -> Result<()> {
        let started = std::time::Instant::now();
        let changed = std::mem::take(&mut self.dirty);
        let moved = std::mem::take(&mut self.dirty_symbols);
        // Households whose history moves with a close: those naming the symbol, saved or in
        // memory.
        let mut todo = changed.clone();
        for symbol in &moved {
            todo.extend(db.scopes_where(&VALUE_HISTORY_SYMBOLS, generation, "symbol", symbol).await?);
        }
        if !moved.is_empty() {
            for (household, ledger) in &self.ledgers {
                if names_of(ledger).iter().any(|s| moved.contains(s)) {
                    todo.insert(household.clone());
                }
            }
        }
        self.load_ledgers(db, generation, &todo).await?;
        for household in &todo {
            self.load_ledger(db, generation, household).await?;
            let symbols = names_of(&self.ledgers[household]);
            for symbol in symbols {
                self.load_closes(db, generation, &symbol).await?;
            }
        }
        // A household whose ledger did not change, and whose new closes all fall after the last
        // day of its stored history, keeps its stored days (each day's row reads only the rows
        // and closes up to that day): only the days after it are written.
        let moved_from = std::mem::take(&mut self.moved_from);
        // The stored last days, read once when this projector has not written them itself.
        if !moved.is_empty() && todo.iter().any(|h| !changed.contains(h) && !self.last_day.contains_key(h)) {
            for (household, day) in db.max_by_scope(&VALUE_HISTORY, generation, "date").await? {
                if let Ok(day) = day.parse::<NaiveDate>() {
                    self.last_day.entry(household).or_insert(day);
                }
            }
        }
        let after: HashMap<&str, NaiveDate> = todo
            .iter()
            .filter(|h| !changed.contains(*h))
            .filter_map(|h| {
                let last = *self.last_day.get(h)?;
                let from = names_of(&self.ledgers[h]).iter().filter_map(|s| moved_from.get(s)).min().copied()?;
                (from > last).then_some((h.as_str(), last))
            })
            .collect();
        let scopes: Vec<String> = todo.iter().filter(|h| !after.contains_key(h.as_str())).cloned().collect();
        for table in Self::TABLES {
            db.delete_scopes(tx, table, generation, &scopes).await?;
        }
        // A few households per core at a time, on every core; then their rows are written.
        let closes = &self.closes;
        let mut households: Vec<(&str, &Ledger)> = todo.iter().map(|h| (h.as_str(), &self.ledgers[h])).collect();
        let per_group = 4 * std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut written = 0;
        // Rows are written a large piece at a time, not a group at a time: on PostgreSQL each
        // statement is a round trip, and a day's closes extend thousands of households by a row.
        let (mut rows, mut symbols): (Vec<Row>, Vec<Row>) = (Vec::new(), Vec::new());
        for group in households.chunks_mut(per_group) {
            // Each household's rows, and the snapshot of a ledger that changed.
            let computed = in_parallel(group, |(household, ledger)| {
                let days = replay_to_last_day(ledger, closes).map_or_else(Vec::new, |r| r.history(closes, None));
                let last = days.last().map(|d| d.date);
                let kept = after.get(household).copied();
                let new = days.iter().position(|d| kept.is_none_or(|k| d.date > k)).unwrap_or(days.len());
                let rows = history_rows(household, &days[new..]);
                let snapshot = changed.contains(*household).then(|| rmp_serde::to_vec_named(ledger));
                (rows, snapshot, last)
            });
            for ((household, _), (history, snapshot, last)) in group.iter().zip(computed) {
                written += history.len();
                rows.extend(history);
                match last {
                    Some(day) => self.last_day.insert((*household).to_owned(), day),
                    None => self.last_day.remove(*household),
                };
                if let Some(bytes) = snapshot {
                    let bytes = bytes.map_err(|e| Error::Config(e.to_string()))?;
                    tx.save_state(Self::NAME, generation, household, &bytes).await?;
                    self.sizes.insert((*household).to_owned(), bytes.len());
                }
            }
            symbols.extend(
                group
                    .iter()
                    .filter(|(household, _)| !after.contains_key(household))
                    .flat_map(|(household, ledger)| names_of(ledger).into_iter().map(move |s| row![household, s])),
            );
            if rows.len() >= PIECE {
                db.insert(tx, &VALUE_HISTORY, generation, &std::mem::take(&mut rows), false).await?;
            }
            if symbols.len() >= PIECE {
                db.insert(tx, &VALUE_HISTORY_SYMBOLS, generation, &std::mem::take(&mut symbols), false).await?;
            }
        }
        db.insert(tx, &VALUE_HISTORY, generation, &rows, false).await?;
        db.insert(tx, &VALUE_HISTORY_SYMBOLS, generation, &symbols, false).await?;
        for symbol in &moved {
            let bytes = rmp_serde::to_vec(self.closes.series(symbol)).map_err(|e| Error::Config(e.to_string()))?;
            tx.save_state(Self::NAME, generation, &closes_key(symbol), &bytes).await?;
        }
        tracing::debug!(
            households = todo.len(),
            extended = after.len(),
            symbols = moved.len(),
            rows = written,
            ms = started.elapsed().as_millis() as u64,
            "valuation history flushed"
        );
        Ok(())
    }
}

/// The rows written in one statement.
const PIECE: usize = 50_000;

/// `f` over `items` on every core, in the items' order (on the calling thread for a few).
fn in_parallel<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if threads <= 1 {
        return items.iter_mut().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    crate::holdings::off_the_runtime(|| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks_mut(per)
                .map(|chunk| scope.spawn(move || chunk.iter_mut().map(f).collect::<Vec<R>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("projecting does not panic")).collect()
        })
    })
}

/// The symbols whose closes value a ledger (those its rows name, and the pairs of their
/// currencies).
fn names_of(ledger: &Ledger) -> BTreeSet<String> {
    domain::fx::priced_symbols(&ledger.trades)
}

/// A ledger replayed to its last day: the later of its last row and the last close of a
/// symbol it names. `None` without rows, or for a ledger the lot engine refuses (which its
/// decider never lets happen; the `holdings` projector reports the problem): no rows rather
/// than a stopped projector.
fn replay_to_last_day(ledger: &Ledger, closes: &Closes) -> Option<Replayed> {
    let last_row = ledger.trades.iter().map(|t| t.trade_date).max()?;
    let last_close = names_of(ledger).iter().filter_map(|s| closes.series(s).last().map(|(d, _)| *d)).max();
    replay(ledger, last_row.max(last_close.unwrap_or(last_row))).ok()
}

/// The `value_history` rows of a household's days.
fn history_rows(household: &str, days: &[Valuation]) -> Vec<Row> {
    days.iter()
        .map(|d| {
            row![
                household,
                d.date,
                d.value,
                d.cash,
                d.flow,
                d.inflow,
                d.outflow,
                d.fee_flow,
                d.fees,
                d.qualified_dividends,
                d.ordinary_dividends,
                d.interest,
                d.unpriced,
            ]
        })
        .collect()
}

/// The stored history of a household, days up to `end`, oldest first.
pub async fn stored(db: &Db, household: &str, end: NaiveDate) -> Result<Vec<Valuation>> {
    let filters = [("household", Some(household.to_owned())), ("date <=", Some(end.to_string()))];
    let rows = crate::query::records(db, &VALUE_HISTORY, &filters).await?;
    let mut days = Vec::with_capacity(rows.len());
    for r in &rows {
        let dec = |c: &str| r.dec(c).unwrap_or_default();
        let Some(date) = r.date("date") else { return Err(Error::Config("a value_history row without a date".into())) };
        days.push(Valuation {
            date,
            value: dec("value"),
            cash: dec("cash"),
            flow: dec("flow"),
            inflow: dec("inflow"),
            outflow: dec("outflow"),
            fee_flow: dec("fee_flow"),
            fees: dec("fees"),
            qualified_dividends: dec("qualified_dividends"),
            ordinary_dividends: dec("ordinary_dividends"),
            interest: dec("interest"),
            unpriced: r.text("unpriced").and_then(|v| v.parse().ok()).unwrap_or_default(),
        });
    }
    days.sort_by_key(|d| d.date);
    Ok(days)
}
