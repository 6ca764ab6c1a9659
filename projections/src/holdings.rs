//! The `holdings` projector: everything derived from household ledgers, portfolios and prices.
//!
//! Tables (each scoped by `household`, the ledger's household key): `households`, `members`,
//! `accounts`, `positions` (per account and symbol), `lots` (open tax lots), `contributions`
//! (against each member's limits), `valuations` (each position at its symbol's latest close,
//! with the global position of the bar used; a close in another currency in dollars at the
//! latest rate, see `domain::fx`), `portfolios` and `allocations` (weights vs target,
//! drift, `needs_rebalancing`).
//!
//! A household's rows are derived from its whole ledger by the domain's lot engine, as the
//! ledger itself does, so the read model can never disagree with the decider. Events are
//! absorbed into in-memory state per household; when a batch is written, each household touched
//! has its rows replaced, and its state is saved beside them (in `cairn_projector_state`, same
//! transaction) so that a restarted runner, or one fed from NATS, picks up where it stopped.
//! A new price revalues only the households holding the symbol.
//!
//! Two tables are [`DERIVED`] rather than stored: `gains` (Form 8949 rows of every sale) and
//! `wash_sales` (the register of adjustments the lot engine derived). They are the largest
//! (more rows than every stored table together, nearly all of them history no one reads at
//! once), so writing them made most of a rebuild's cost; instead a read computes one
//! household's rows from its saved state, in the same snapshot as the stored rows
//! ([`derived_rows`]), and `projections digest` covers them the same way ([`derived_digest`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use domain::ledger::lots::{Book, WashSale};
use domain::ledger::types::id_order;
use domain::ledger::{apply, Ledger, LedgerEvent};
use domain::market::MarketEvent;
use domain::portfolio::{Portfolio, PortfolioEvent};
use domain::streams::Parts;
use event_store::{StoredEvent, Upcasters};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::db::{col, Db, Kind::*, Row, Table, Tx};
use crate::{row, Error, Result};

pub const HOUSEHOLDS: Table = Table {
    name: "households",
    columns: &[
        col("household", Text),
        col("name", Text),
        col("filing_status", Text),
        col("base_currency", Text),
        col("members", Int),
        col("accounts", Int),
        col("trades", Int),
        col("cancelled", Int),
        col("open_lots", Int),
        col("position", Int),
        col("problem", Text),
    ],
    key: &["household"],
    scope: "household",
    time_series: false,
};

pub const MEMBERS: Table = Table {
    name: "members",
    columns: &[
        col("household", Text),
        col("member", Text),
        col("born", Date),
        col("hsa_coverage", Text),
        col("relationship", Text),
        col("citizen", Text),
        col("domicile", Text),
        col("lives_to", Int),
        col("parent_died", Date),
    ],
    key: &["household", "member"],
    scope: "household",
    time_series: false,
};

/// The household's goals (`accounts`: the labels set aside for it as a JSON array, empty for
/// every account; `expected_return` and `volatility` empty when the household's settings
/// apply).
pub const GOALS: Table = Table {
    name: "goals",
    columns: &[
        col("household", Text),
        col("goal", Text),
        col("target", Money),
        col("date", Date),
        col("accounts", Text),
        col("monthly_contribution", Money),
        col("expected_return", Dec),
        col("volatility", Dec),
    ],
    key: &["household", "goal"],
    scope: "household",
    time_series: false,
};

/// The household members' lifetime gifts in force (`domain::gifts::RecordedGift`).
pub const GIFTS: Table = Table {
    name: "gifts",
    columns: &[
        col("household", Text),
        col("gift", Text),
        col("date", Date),
        col("donor", Text),
        col("donee", Text),
        col("kind", Text),
        col("amount", Money),
        col("present_interest", Text),
        col("split", Text),
        col("superfund_529", Text),
        col("gst_allocation", Money),
    ],
    key: &["household", "gift"],
    scope: "household",
    time_series: false,
};

/// The household's trusts and businesses (`domain::entities::Entity`, whole as JSON in
/// `detail`).
pub const ENTITIES: Table = Table {
    name: "entities",
    columns: &[
        col("household", Text),
        col("entity", Text),
        col("kind", Text),
        col("value", Money),
        col("valued_on", Date),
        col("grantor", Text),
        col("detail", Text),
    ],
    key: &["household", "entity"],
    scope: "household",
    time_series: false,
};

pub const ACCOUNTS: Table = Table {
    name: "accounts",
    columns: &[
        col("household", Text),
        col("account", Text),
        col("account_type", Text),
        col("owner", Text),
        col("lot_method", Text),
        col("institution", Text),
        col("closed_on", Date),
        col("cash", Money),
    ],
    key: &["household", "account"],
    scope: "household",
    time_series: false,
};

pub const POSITIONS: Table = Table {
    name: "positions",
    columns: &[
        col("household", Text),
        col("account", Text),
        col("symbol", Text),
        col("quantity", Dec),
        col("cost_basis", Money),
        col("lots", Int),
        col("first_acquired", Date),
    ],
    key: &["household", "account", "symbol"],
    scope: "household",
    time_series: false,
};

pub const LOTS: Table = Table {
    name: "lots",
    columns: &[
        col("household", Text),
        col("seq", Int),
        col("lot_id", Text),
        col("account", Text),
        col("symbol", Text),
        col("quantity", Dec),
        col("acquired", Date),
        col("purchased", Date),
        col("basis", Money),
        col("wash_adjustment", Money),
    ],
    key: &["household", "seq"],
    scope: "household",
    time_series: false,
};

/// Form 8949 rows, in `seq` order (the lot engine's order of sales). [`DERIVED`]: computed on
/// read, never stored.
pub const GAINS: Table = Table {
    name: "gains",
    columns: &[
        col("household", Text),
        col("seq", Int),
        col("sale_id", Text),
        col("lot_id", Text),
        col("account", Text),
        col("symbol", Text),
        col("quantity", Dec),
        col("date_acquired", Date),
        col("date_sold", Date),
        col("proceeds", Money),
        col("cost_basis", Money),
        col("adjustment_code", Text),
        col("adjustment_amount", Money),
        col("gain_loss", Money),
        col("term", Text),
        col("reportable", Bool),
    ],
    key: &["household", "seq"],
    scope: "household",
    time_series: false,
};

/// The wash-sale register, in `seq` order: by sale date, then sale, then replacement lot (ids
/// in the order they were numbered, see [`domain::ledger::types::id_order`]). [`DERIVED`]:
/// computed on read, never stored.
pub const WASH_SALES: Table = Table {
    name: "wash_sales",
    columns: &[
        col("household", Text),
        col("seq", Int),
        col("id", Text),
        col("sale_id", Text),
        col("sale_date", Date),
        col("symbol", Text),
        col("sold_lot_id", Text),
        col("replacement_lot_id", Text),
        col("replacement_account", Text),
        col("replacement_symbol", Text),
        col("shares", Dec),
        col("disallowed_loss", Money),
        col("basis_adjustment", Money),
        col("holding_period_days", Int),
        col("permanent", Bool),
    ],
    key: &["household", "seq"],
    scope: "household",
    time_series: false,
};

pub const CONTRIBUTIONS: Table = Table {
    name: "contributions",
    columns: &[
        col("household", Text),
        col("member", Text),
        col("tax_year", Int),
        col("limit_kind", Text),
        col("limit_amount", Money),
        col("contributed", Money),
        col("remaining", Money),
    ],
    key: &["household", "member", "tax_year", "limit_kind"],
    scope: "household",
    time_series: false,
};

pub const VALUATIONS: Table = Table {
    name: "valuations",
    columns: &[
        col("household", Text),
        col("account", Text),
        col("symbol", Text),
        col("quantity", Dec),
        col("cost_basis", Money),
        col("price", Dec),
        col("price_date", Date),
        col("price_position", Int),
        col("currency", Text),
        col("fx_rate", Dec),
        col("market_value", Money),
        col("unrealized_gain", Money),
    ],
    key: &["household", "account", "symbol"],
    scope: "household",
    time_series: false,
};

pub const PORTFOLIOS: Table = Table {
    name: "portfolios",
    columns: &[
        col("household", Text),
        col("portfolio", Text),
        col("name", Text),
        col("accounts", Text),
        col("drift_threshold", Dec),
        col("own_threshold", Bool),
        col("auto_rebalance", Bool),
        col("market_value", Money),
        col("unpriced_positions", Int),
        col("max_drift", Dec),
        col("needs_rebalancing", Bool),
    ],
    key: &["household", "portfolio"],
    scope: "household",
    time_series: false,
};

/// A portfolio's assets against its target: `beyond_threshold` when the asset's own drift is
/// beyond the portfolio's threshold (the portfolio `needs_rebalancing` when any is).
pub const ALLOCATIONS: Table = Table {
    name: "allocations",
    columns: &[
        col("household", Text),
        col("portfolio", Text),
        col("asset", Text),
        col("market_value", Money),
        col("weight", Dec),
        col("target", Dec),
        col("drift", Dec),
        col("beyond_threshold", Bool),
    ],
    key: &["household", "portfolio", "asset"],
    scope: "household",
    time_series: false,
};

/// Tables whose rows are computed on read from a household's saved state (see the module
/// documentation), in the same column layout as a stored table.
pub const DERIVED: &[&Table] = &[&GAINS, &WASH_SALES];

/// Whether `table` is one of the [`DERIVED`] tables.
pub fn is_derived(table: &Table) -> bool {
    DERIVED.iter().any(|t| t.name == table.name)
}

/// Tables rewritten when only prices moved.
const PRICED: [&Table; 3] = [&VALUATIONS, &PORTFOLIOS, &ALLOCATIONS];

/// The latest close of a symbol and the event that recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub date: NaiveDate,
    pub close: Decimal,
    pub position: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct HouseholdState {
    ledger: Ledger,
    /// By portfolio key.
    portfolios: BTreeMap<String, Portfolio>,
    /// The last event applied.
    position: u64,
}

/// One position, kept in memory for revaluation.
#[derive(Debug, Clone)]
struct Position {
    account: String,
    symbol: String,
    quantity: Decimal,
    basis: Decimal,
}

/// The snapshot bytes of household states kept in memory once caught up: past this, `trim`
/// lets them all go (each is in `cairn_projector_state` and is read again when its household
/// next changes). A state takes about five times its snapshot in memory, so this keeps an idle
/// server's household states near 80 MiB however large the practice.
pub const RESIDENT_STATE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Default)]
pub struct Holdings {
    households: HashMap<String, HouseholdState>,
    /// The snapshot size of each household state in memory.
    sizes: HashMap<String, usize>,
    positions: HashMap<String, Vec<Position>>,
    prices: Option<BTreeMap<String, Price>>,
    dirty: BTreeSet<String>,
    dirty_symbols: BTreeSet<String>,
    upcasters: Upcasters,
}

const PRICES_KEY: &str = "#prices";

fn decode_err(e: &StoredEvent, problem: impl std::fmt::Display) -> Error {
    Error::Decode { position: e.global_position, problem: problem.to_string() }
}

/// Bars decoded per unit of work.
const BAR_CHUNK: usize = 4_096;
/// Events below which a batch is absorbed on the calling thread (starting threads costs more).
const PARALLEL_FROM: usize = 2_048;

/// A piece of absorbing that runs on its own: one household's events applied to its state, or
/// a run of bars decoded.
enum Unit<'a> {
    Household { household: String, state: Box<HouseholdState>, events: Vec<&'a StoredEvent> },
    Bars { events: &'a [&'a StoredEvent], decoded: Vec<(String, Price)> },
}

impl Unit<'_> {
    fn size(&self) -> usize {
        match self {
            Self::Household { events, .. } => events.len(),
            Self::Bars { events, .. } => events.len(),
        }
    }

    fn run(mut self, upcasters: &Upcasters) -> Result<Self> {
        match &mut self {
            Self::Household { state, events, .. } => {
                for e in events.iter() {
                    if e.stream_id.category() == "ledger" {
                        let event: LedgerEvent = upcasters
                            .decode_versioned(e, domain::ledger::SCHEMA_VERSION)
                            .map_err(|x| decode_err(e, x))?;
                        state.ledger = apply(std::mem::take(&mut state.ledger), event);
                    } else {
                        let event: PortfolioEvent = upcasters
                            .decode_versioned(e, domain::portfolio::SCHEMA_VERSION)
                            .map_err(|x| decode_err(e, x))?;
                        let portfolio = match Parts::of(e.stream_id.as_str()) {
                            Some(Parts::Portfolio(_, p)) => p,
                            _ => "",
                        };
                        let p = state.portfolios.remove(portfolio).unwrap_or_default();
                        state.portfolios.insert(portfolio.to_owned(), domain::portfolio::evolve(p, &event));
                    }
                    state.position = e.global_position;
                }
            }
            Self::Bars { events, decoded } => {
                for e in events.iter() {
                    let event: MarketEvent =
                        upcasters.decode_versioned(e, domain::market::SCHEMA_VERSION).map_err(|x| decode_err(e, x))?;
                    // A security's description moves no price.
                    if let MarketEvent::BarRecorded { symbol, bar, .. } | MarketEvent::BarRevised { symbol, bar, .. } =
                        event
                    {
                        decoded.push((symbol, Price { date: bar.date, close: bar.close, position: e.global_position }));
                    }
                }
            }
        }
        Ok(self)
    }
}

/// Runs CPU-bound work that borrows from its caller without holding a Tokio worker thread: on a
/// multi-threaded runtime the thread becomes a blocking one for the while
/// (`block_in_place`, its other tasks move to the other workers); elsewhere it simply runs.
pub(crate) fn off_the_runtime<R>(work: impl FnOnce() -> R) -> R {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Runs `f` over the units on every core (the largest first, each to the least loaded core),
/// returning the results in the units' order; on the calling thread when there is little work.
fn on_every_core<'a, R: Send>(units: Vec<Unit<'a>>, f: impl Fn(Unit<'a>) -> R + Sync) -> Vec<R> {
    let total: usize = units.iter().map(Unit::size).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(units.len());
    if threads <= 1 || total < PARALLEL_FROM {
        return units.into_iter().map(f).collect();
    }
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(units[i].size()));
    let mut bins: Vec<(usize, Vec<(usize, Unit<'a>)>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    let mut slots: Vec<Option<Unit<'a>>> = units.into_iter().map(Some).collect();
    for i in order {
        let unit = slots[i].take().expect("each unit once");
        let bin = bins.iter_mut().min_by_key(|(load, _)| *load).expect("at least one thread");
        bin.0 += unit.size();
        bin.1.push((i, unit));
    }
    let f = &f;
    let mut results: Vec<(usize, R)> = off_the_runtime(|| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = bins
                .into_iter()
                .map(|(_, bin)| scope.spawn(move || bin.into_iter().map(|(i, u)| (i, f(u))).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("absorbing does not panic")).collect()
        })
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

impl Holdings {
    pub const NAME: &'static str = "holdings";
    /// 2: the wash-sale register ordered by sale date (`seq`). 3: each allocation's own
    /// drift flag (`beyond_threshold`). 4: `gains` and `wash_sales` computed on read
    /// ([`DERIVED`]) instead of stored. 5: a valuation's `currency` and `fx_rate` (a close in
    /// another currency valued in dollars). 6: a household's `base_currency`. 7: `goals`.
    /// 8: a portfolio's `own_threshold` (a drift threshold set, not the default). 9: members'
    /// `relationship`, `citizen` and `domicile`; `gifts`. 10: `entities`. 11: members'
    /// `lives_to` and `parent_died`; gifts' `gst_allocation`.
    pub const VERSION: i64 = 11;
    pub const CATEGORIES: &'static [&'static str] = &["ledger", "portfolio", "market"];
    pub const TABLES: &'static [&'static Table] = &[
        &HOUSEHOLDS,
        &MEMBERS,
        &GOALS,
        &GIFTS,
        &ENTITIES,
        &ACCOUNTS,
        &POSITIONS,
        &LOTS,
        &CONTRIBUTIONS,
        &VALUATIONS,
        &PORTFOLIOS,
        &ALLOCATIONS,
    ];

    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// Lets the household states in memory go when their snapshots pass
    /// [`RESIDENT_STATE_BYTES`] (called once caught up, when everything absorbed is written).
    pub(crate) fn trim(&mut self) {
        if self.dirty.is_empty() && self.sizes.values().sum::<usize>() > RESIDENT_STATE_BYTES {
            let prices = self.prices.take();
            *self = Self { prices, ..Self::default() };
        }
    }

    /// Loads the saved states of those of `households` not in memory, in few statements.
    async fn load_states(&mut self, db: &Db, generation: i64, households: &BTreeSet<String>) -> Result<()> {
        let missing: Vec<String> = households.iter().filter(|h| !self.households.contains_key(*h)).cloned().collect();
        for (household, bytes) in db.load_states(Self::NAME, generation, &missing).await? {
            self.sizes.insert(household.clone(), bytes.len());
            let state = decode_state(&household, &bytes)?;
            self.households.insert(household, state);
        }
        Ok(())
    }

    async fn state<'a>(&'a mut self, db: &Db, generation: i64, household: &str) -> Result<&'a mut HouseholdState> {
        if !self.households.contains_key(household) {
            self.load_states(db, generation, &BTreeSet::from([household.to_owned()])).await?;
        }
        Ok(self.households.entry(household.to_owned()).or_default())
    }

    pub(crate) async fn absorb(&mut self, db: &Db, generation: i64, events: &[StoredEvent]) -> Result<()> {
        if self.prices.is_none() {
            self.prices = Some(match db.load_state(Self::NAME, generation, PRICES_KEY).await? {
                Some(bytes) => {
                    rmp_serde::from_slice(&bytes).map_err(|e| Error::Config(format!("holdings prices: {e}")))?
                }
                None => BTreeMap::new(),
            });
        }
        // Each household's events in log order, and the bars; the states are loaded first.
        let mut by_household: BTreeMap<&str, Vec<&StoredEvent>> = BTreeMap::new();
        let mut bars: Vec<&StoredEvent> = Vec::new();
        for e in events {
            let household = match Parts::of(e.stream_id.as_str()) {
                Some(Parts::Ledger(household) | Parts::Portfolio(household, _)) => household,
                Some(Parts::Market(_)) => {
                    bars.push(e);
                    continue;
                }
                None if e.stream_id.category() == "portfolio" => {
                    return Err(decode_err(e, "portfolio stream id without `--`"))
                }
                _ => continue,
            };
            if !by_household.contains_key(household) && !self.dirty.contains(household) {
                self.dirty.insert(household.to_owned());
            }
            by_household.entry(household).or_default().push(e);
        }
        let touched: BTreeSet<String> = by_household.keys().map(|h| (*h).to_owned()).collect();
        self.load_states(db, generation, &touched).await?;
        for household in &touched {
            self.households.entry(household.clone()).or_default();
        }
        let mut work: Vec<Unit> = by_household
            .into_iter()
            .map(|(household, events)| {
                let state = Box::new(self.households.remove(household).expect("loaded above"));
                Unit::Household { household: household.to_owned(), state, events }
            })
            .collect();
        work.extend(bars.chunks(BAR_CHUNK).map(|events| Unit::Bars { events, decoded: Vec::new() }));
        // Households are independent, and decoding a bar changes nothing: on every core.
        let upcasters = &self.upcasters;
        let done = on_every_core(work, |unit| unit.run(upcasters));
        let mut failed: Option<Error> = None;
        for unit in done {
            match unit {
                Ok(Unit::Household { household, state, .. }) => {
                    self.households.insert(household, *state);
                }
                Ok(Unit::Bars { decoded, .. }) => {
                    let prices = self.prices.get_or_insert_with(BTreeMap::new);
                    for (symbol, price) in decoded {
                        if prices.get(&symbol).is_none_or(|p| price.date >= p.date) {
                            self.dirty_symbols.insert(symbol.clone());
                            prices.insert(symbol, price);
                        }
                    }
                }
                // The first failure in log order is the one reported; the runner forgets all
                // of this batch on any failure.
                Err(e) => {
                    let position = |e: &Error| match e {
                        Error::Decode { position, .. } => *position,
                        _ => u64::MAX,
                    };
                    if failed.as_ref().is_none_or(|f| position(&e) < position(f)) {
                        failed = Some(e);
                    }
                }
            }
        }
        failed.map_or(Ok(()), Err)
    }

    pub(crate) async fn flush(&mut self, db: &Db, tx: &mut Tx, generation: i64) -> Result<()> {
        let prices_moved = !self.dirty_symbols.is_empty();
        // Households whose valuations move with a new price, without a ledger change.
        let mut revalue: BTreeSet<String> = BTreeSet::new();
        for symbol in std::mem::take(&mut self.dirty_symbols) {
            for h in db.scopes_where(&POSITIONS, generation, "symbol", &symbol).await? {
                revalue.insert(h);
            }
            // A rate (`EUR.USD`) moves the positions quoted in its currency.
            if let Some(currency) = domain::fx::currency_of_pair(&symbol) {
                revalue.extend(db.scopes_where(&VALUATIONS, generation, "currency", currency).await?);
                for (h, state) in &self.households {
                    if state.ledger.trades.iter().any(|t| t.currency.as_deref() == Some(currency)) {
                        revalue.insert(h.clone());
                    }
                }
            }
            for (h, positions) in &self.positions {
                if positions.iter().any(|p| p.symbol == symbol) {
                    revalue.insert(h.clone());
                }
            }
        }
        let dirty = std::mem::take(&mut self.dirty);
        revalue.retain(|h| !dirty.contains(h));
        self.load_states(db, generation, &revalue).await?;
        for h in &revalue {
            self.state(db, generation, h).await?;
        }
        let started = std::time::Instant::now();
        let prices = std::sync::Arc::new(self.prices.clone().unwrap_or_default());
        // Every row of the households rewritten goes before the first new one (not sooner: on
        // SQLite the first write takes the lock that appends wait for, so the first household
        // is derived without holding it).
        let dirty_list: Vec<String> = dirty.iter().cloned().collect();
        let revalue_list: Vec<String> = revalue.iter().cloned().collect();
        let mut cleared = false;
        let mut clear = async |tx: &mut Tx| -> Result<()> {
            if std::mem::replace(&mut cleared, true) {
                return Ok(());
            }
            for table in Self::TABLES {
                let scopes = if PRICED.iter().any(|t| t.name == table.name) {
                    [dirty_list.as_slice(), revalue_list.as_slice()].concat()
                } else {
                    dirty_list.clone()
                };
                db.delete_scopes(tx, table, generation, &scopes).await?;
            }
            Ok(())
        };
        // The lot engine and the state's snapshot per household on blocking threads, one per
        // core (households are independent), while the rows already derived are written.
        let states: Vec<(String, HouseholdState)> = dirty
            .iter()
            .map(|h| (h.clone(), self.households.remove(h).expect("dirty households are loaded")))
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(states.len().max(1));
        let per = states.len().div_ceil(threads).max(1);
        let (sender, mut derived) = tokio::sync::mpsc::unbounded_channel::<Derived>();
        let mut states = states.into_iter();
        let mut workers = Vec::with_capacity(threads);
        loop {
            let chunk: Vec<(String, HouseholdState)> = states.by_ref().take(per).collect();
            if chunk.is_empty() {
                break;
            }
            let (sender, prices) = (sender.clone(), prices.clone());
            workers.push(tokio::task::spawn_blocking(move || {
                for (household, state) in &chunk {
                    let (mut rows, positions) = derive(household, state);
                    rows.extend(priced(household, state, &positions, &prices));
                    let snapshot = rmp_serde::to_vec_named(state).map_err(|e| Error::Config(e.to_string()));
                    let done = Derived { household: household.clone(), rows, positions, snapshot };
                    if sender.send(done).is_err() {
                        break; // the flush failed: nothing waits for the rest
                    }
                }
                chunk
            }));
        }
        drop(sender);
        let mut written = 0usize;
        while let Some(first) = derived.recv().await {
            // What has arrived since goes in the same statements.
            let mut batch = vec![first];
            while let Ok(more) = derived.try_recv() {
                batch.push(more);
            }
            clear(tx).await?;
            let mut rows: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
            for d in batch {
                for (table, r) in d.rows {
                    rows.entry(table).or_default().extend(r);
                }
                let bytes = d.snapshot?;
                tx.save_state(Self::NAME, generation, &d.household, &bytes).await?;
                self.sizes.insert(d.household.clone(), bytes.len());
                self.positions.insert(d.household, d.positions);
            }
            written += self.write(db, tx, generation, &rows).await?;
        }
        for worker in workers {
            let chunk = worker.await.map_err(|e| Error::Config(format!("the lot engine failed: {e}")))?;
            self.households.extend(chunk);
        }
        // Households whose prices moved: their positions (derived again only when not in memory)
        // at the new prices.
        let mut rows: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
        for household in &revalue {
            let state = self.households.get(household).expect("loaded above");
            if !self.positions.contains_key(household) {
                let (_, positions) = derive(household, state);
                self.positions.insert(household.clone(), positions);
            }
            let positions = self.positions.get(household).map_or(&[][..], Vec::as_slice);
            for (table, r) in priced(household, state, positions, &prices) {
                rows.entry(table).or_default().extend(r);
            }
        }
        clear(tx).await?;
        written += self.write(db, tx, generation, &rows).await?;
        if prices_moved {
            let bytes = rmp_serde::to_vec_named(&*prices).map_err(|e| Error::Config(e.to_string()))?;
            tx.save_state(Self::NAME, generation, PRICES_KEY, &bytes).await?;
        }
        tracing::debug!(
            households = dirty.len(),
            revalued = revalue.len(),
            rows = written,
            ms = started.elapsed().as_millis() as u64,
            "holdings flushed"
        );
        Ok(())
    }

    /// Inserts rows by table (their scopes already cleared); returns how many.
    async fn write(
        &self,
        db: &Db,
        tx: &mut Tx,
        generation: i64,
        rows: &BTreeMap<&'static str, Vec<Row>>,
    ) -> Result<usize> {
        let mut written = 0;
        for table in Self::TABLES {
            if let Some(rows) = rows.get(table.name) {
                db.insert(tx, table, generation, rows, false).await?;
                written += rows.len();
            }
        }
        Ok(written)
    }
}

/// One household's rows, positions and state snapshot, derived off the async runtime.
struct Derived {
    household: String,
    rows: Vec<(&'static str, Vec<Row>)>,
    positions: Vec<Position>,
    snapshot: Result<Vec<u8>>,
}

/// The rows of a household that do not depend on prices, and its positions.
fn derive(household: &str, state: &HouseholdState) -> (Vec<(&'static str, Vec<Row>)>, Vec<Position>) {
    let ledger = &state.ledger;
    let (book, mut problem) = match ledger.book(None) {
        Ok(b) => (b, None),
        Err(e) => (Book::default(), Some(e.to_string())),
    };
    let tallies = match ledger.contributions(None) {
        Ok(t) => t,
        Err(e) => {
            problem.get_or_insert(e.to_string());
            Vec::new()
        }
    };
    let (name, filing_status) =
        ledger.household.as_ref().map_or((None, None), |(n, s)| (Some(n.clone()), Some(s.as_str().to_owned())));
    let households = vec![row![
        household,
        name,
        filing_status,
        ledger.base_currency(),
        ledger.members.len(),
        ledger.accounts.len(),
        ledger.trades.len(),
        ledger.cancelled.len(),
        book.lots.len(),
        state.position,
        problem,
    ]];
    let members = ledger
        .members
        .values()
        .map(|m| {
            let relationship = m.relationship.map(|r| r.as_str());
            row![
                household,
                m.name,
                m.born,
                m.hsa_coverage.as_str(),
                relationship,
                m.citizen,
                m.domicile,
                m.lives_to,
                m.parent_died
            ]
        })
        .collect();
    let gifts = ledger
        .gifts
        .values()
        .map(|g| {
            row![
                household,
                g.id,
                g.date,
                g.donor,
                g.donee,
                g.kind.as_str(),
                g.amount,
                g.present_interest,
                g.split,
                g.superfund_529,
                g.gst_allocation
            ]
        })
        .collect();
    let entities = ledger
        .entities
        .values()
        .map(|e| {
            let detail = serde_json::to_string(e).unwrap_or_default();
            row![household, e.name, e.kind.as_str(), e.value, e.valued_on, e.grantor, detail]
        })
        .collect();
    let goals = ledger
        .goals
        .values()
        .map(|g| {
            let accounts = serde_json::to_string(&g.accounts).unwrap_or_default();
            row![household, g.name, g.target, g.date, accounts, g.monthly_contribution, g.expected_return, g.volatility]
        })
        .collect();
    let accounts = ledger
        .accounts
        .values()
        .map(|a| {
            let institution = ledger.details.get(&a.label).and_then(|d| d.institution.clone());
            row![
                household,
                a.label,
                a.account_type.as_str(),
                a.owner,
                a.lot_method.as_str(),
                institution,
                ledger.closed.get(&a.label),
                book.cash.get(&a.label).copied().unwrap_or_default(),
            ]
        })
        .collect();
    let (positions, position_rows) = positions_with_lots(&book)
        .into_iter()
        .map(|(p, lots, first)| {
            let r = row![household, p.account, p.symbol, p.quantity, p.basis, lots, first];
            (p, r)
        })
        .unzip();
    let lots = lot_rows(household, &book);
    let contributions = tallies
        .iter()
        .map(|t| row![household, t.member, t.tax_year, t.kind.as_str(), t.limit, t.contributed, t.remaining()])
        .collect();
    (
        vec![
            (HOUSEHOLDS.name, households),
            (MEMBERS.name, members),
            (GOALS.name, goals),
            (GIFTS.name, gifts),
            (ENTITIES.name, entities),
            (ACCOUNTS.name, accounts),
            (POSITIONS.name, position_rows),
            (LOTS.name, lots),
            (CONTRIBUTIONS.name, contributions),
        ],
        positions,
    )
}

/// The `lots` rows of a book. Also used for "as at a trade date" reports, which compute a book
/// from the ledger rather than read the projection.
pub fn lot_rows(household: &str, book: &Book) -> Vec<Row> {
    book.lots
        .iter()
        .enumerate()
        .map(|(i, l)| {
            row![
                household,
                i,
                l.lot_id,
                l.account,
                l.symbol,
                l.quantity,
                l.acquired,
                l.purchased,
                l.basis,
                l.wash_adjustment
            ]
        })
        .collect()
}

/// The `gains` rows of a book: every sale's Form 8949 row, in the engine's order.
fn gain_rows(household: &str, book: &Book) -> Vec<Row> {
    book.sales
        .iter()
        .enumerate()
        .map(|(i, s)| {
            row![
                household,
                i,
                s.sale_id,
                s.lot_id,
                s.account,
                s.symbol,
                s.quantity,
                s.date_acquired,
                s.date_sold,
                s.proceeds,
                s.cost_basis,
                s.adjustment_code,
                s.adjustment_amount,
                s.gain_loss,
                s.term.as_str(),
                s.reportable,
            ]
        })
        .collect()
}

/// The `wash_sales` rows of a book: by sale date, then sale, then replacement lot.
fn wash_rows(household: &str, book: &Book) -> Vec<Row> {
    let mut register: Vec<&WashSale> = book.wash_sales.iter().collect();
    register.sort_by(|a, b| {
        a.sale_date
            .cmp(&b.sale_date)
            .then_with(|| id_order(&a.sale_id, &b.sale_id))
            .then_with(|| id_order(&a.replacement_lot_id, &b.replacement_lot_id))
            .then_with(|| id_order(&a.sold_lot_id, &b.sold_lot_id))
    });
    register
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            row![
                household,
                i,
                w.id,
                w.sale_id,
                w.sale_date,
                w.symbol,
                w.sold_lot_id,
                w.replacement_lot_id,
                w.replacement_account,
                w.replacement_symbol.as_ref().unwrap_or(&w.symbol),
                w.shares,
                w.disallowed_loss,
                w.basis_adjustment,
                w.holding_period_days,
                w.permanent,
            ]
        })
        .collect()
}

/// The rows of a [`DERIVED`] table for one book.
fn derived_of(table: &Table, household: &str, book: &Book) -> Result<Vec<Row>> {
    match table.name {
        n if n == GAINS.name => Ok(gain_rows(household, book)),
        n if n == WASH_SALES.name => Ok(wash_rows(household, book)),
        other => Err(Error::Config(format!("{other} is not derived on read"))),
    }
}

/// The book of a saved ledger, as the stored rows were derived from it (an inconsistent
/// ledger, reported in `households.problem`, has an empty book). The lot engine runs on a
/// blocking thread.
async fn book_of(ledger: Ledger) -> Result<Book> {
    tokio::task::spawn_blocking(move || ledger.book(None).unwrap_or_default())
        .await
        .map_err(|e| Error::Config(format!("the lot engine failed: {e}")))
}

/// The rows of a [`DERIVED`] table (`gains`, `wash_sales`) for one household, computed from
/// the state the projection in service saved with its stored rows (read in the same snapshot
/// on a pinned handle), in `seq` order; none for a household without a ledger.
pub async fn derived_rows(db: &Db, table: &Table, household: &str) -> Result<Vec<Row>> {
    let Some(ledger) = ledger_of(db, household).await? else { return Ok(Vec::new()) };
    derived_of(table, household, &book_of(ledger).await?)
}

/// Row counts and digests of the [`DERIVED`] tables of one generation, over every household in
/// key order, exactly as if they were stored (see [`crate::db::digest_rows`]).
pub async fn derived_digest(db: &Db, generation: i64) -> Result<Vec<(&'static str, (u64, String))>> {
    let sql = format!("SELECT household FROM {}", HOUSEHOLDS.physical(generation));
    let mut households: Vec<String> = db.fetch(&sql, &[]).await?.into_iter().filter_map(|mut r| r.remove(0)).collect();
    households.sort_unstable();
    let mut rows: Vec<Vec<Row>> = vec![Vec::new(); DERIVED.len()];
    for household in &households {
        let Some(ledger) = saved_ledger(db, generation, household).await? else { continue };
        let book = book_of(ledger).await?;
        for (table, rows) in DERIVED.iter().zip(&mut rows) {
            rows.extend(derived_of(table, household, &book)?);
        }
    }
    Ok(DERIVED.iter().zip(rows).map(|(t, rows)| (t.name, crate::db::digest_rows(&rows))).collect())
}

fn positions_with_lots(book: &Book) -> Vec<(Position, usize, Option<NaiveDate>)> {
    let mut by: BTreeMap<(&str, &str), (Position, usize, Option<NaiveDate>)> = BTreeMap::new();
    for l in &book.lots {
        let entry = by.entry((&l.account, &l.symbol)).or_insert_with(|| {
            (
                Position {
                    account: l.account.clone(),
                    symbol: l.symbol.clone(),
                    quantity: Decimal::ZERO,
                    basis: Decimal::ZERO,
                },
                0,
                None,
            )
        });
        entry.0.quantity += l.quantity;
        entry.0.basis += l.basis;
        entry.1 += 1;
        entry.2 = Some(entry.2.map_or(l.acquired, |d: NaiveDate| d.min(l.acquired)));
    }
    by.into_values().collect()
}

/// The rows that depend on prices: valuations, portfolios and their allocations.
fn priced(
    household: &str,
    state: &HouseholdState,
    positions: &[Position],
    prices: &BTreeMap<String, Price>,
) -> Vec<(&'static str, Vec<Row>)> {
    // A close in another currency is valued in dollars at the latest rate (`domain::fx`).
    let quotes = domain::fx::Quotes::of(&state.ledger.trades);
    let latest = |symbol: &str, _: NaiveDate| prices.get(symbol).map(|x| x.close);
    let in_dollars = |symbol: &str| prices.get(symbol).map(|x| (x, quotes.in_dollars(symbol, x.close, x.date, latest)));
    let valuations = positions
        .iter()
        .map(|p| {
            let price = in_dollars(&p.symbol);
            let value = price.map(|(_, (close, _))| close * p.quantity);
            row![
                household,
                p.account,
                p.symbol,
                p.quantity,
                p.basis,
                price.map(|(x, _)| x.close),
                price.map(|(x, _)| x.date),
                price.map(|(x, _)| x.position),
                quotes.currency(&p.symbol),
                price.and_then(|(_, (_, rate))| rate),
                value,
                value.map(|v| v - p.basis),
            ]
        })
        .collect();
    let mut portfolios = Vec::new();
    let mut allocations = Vec::new();
    for (key, p) in &state.portfolios {
        let held = positions.iter().map(|pos| (pos.account.as_str(), pos.symbol.as_str(), pos.quantity));
        let (by_asset, unpriced) = domain::portfolio::values(p, held, |s| in_dollars(s).map(|(_, (close, _))| close));
        let a = domain::portfolio::allocation(p, by_asset, unpriced);
        for w in &a.assets {
            allocations.push(row![household, key, w.asset, w.value, w.weight, w.target, w.drift, w.beyond_threshold]);
        }
        let (total, max_drift, needs) = (a.total, a.max_drift, a.needs_rebalancing);
        portfolios.push(row![
            household,
            key,
            p.name,
            p.accounts.join(","),
            p.drift_threshold,
            p.own_threshold,
            p.auto_rebalance,
            total,
            unpriced,
            max_drift,
            needs,
        ]);
    }
    vec![(VALUATIONS.name, valuations), (PORTFOLIOS.name, portfolios), (ALLOCATIONS.name, allocations)]
}

/// A household's ledger as the projection in service holds it (its saved state), for reports
/// that need the rows themselves, such as lots as at a trade date.
pub async fn ledger_of(db: &Db, household: &str) -> Result<Option<Ledger>> {
    let Some(generation) = db.generation(Holdings::NAME).await? else { return Ok(None) };
    saved_ledger(db, generation, household).await
}

/// A household's ledger and one of its portfolios (by key) as the projection in service holds
/// them, from one saved state; `None` when either is missing.
pub async fn portfolio_of(db: &Db, household: &str, portfolio: &str) -> Result<Option<(Ledger, Portfolio)>> {
    let Some(generation) = db.generation(Holdings::NAME).await? else { return Ok(None) };
    let Some(bytes) = db.load_state(Holdings::NAME, generation, household).await? else { return Ok(None) };
    let mut state = decode_state(household, &bytes)?;
    Ok(state.portfolios.remove(portfolio).map(|p| (state.ledger, p)))
}

/// The ledger in a household's state saved in `generation`, if any.
async fn saved_ledger(db: &Db, generation: i64, household: &str) -> Result<Option<Ledger>> {
    match db.load_state(Holdings::NAME, generation, household).await? {
        Some(bytes) => Ok(Some(decode_state(household, &bytes)?.ledger)),
        None => Ok(None),
    }
}

fn decode_state(household: &str, bytes: &[u8]) -> Result<HouseholdState> {
    rmp_serde::from_slice(bytes).map_err(|e| Error::Config(format!("holdings state of {household}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resident(sizes: &[usize]) -> Holdings {
        let mut h = Holdings::default();
        for (i, &size) in sizes.iter().enumerate() {
            h.households.insert(format!("h{i}"), HouseholdState::default());
            h.positions.insert(format!("h{i}"), Vec::new());
            h.sizes.insert(format!("h{i}"), size);
        }
        h.prices = Some(BTreeMap::new());
        h
    }

    #[test]
    fn a_caught_up_projector_lets_large_household_states_go() {
        let mut small = resident(&[1 << 20, 2 << 20]);
        small.trim();
        assert_eq!(small.households.len(), 2, "under the bound, states stay for the next batch");

        let mut large = resident(&[7 << 20, 7 << 20, 7 << 20]);
        large.dirty.insert("h0".into());
        large.trim();
        assert_eq!(large.households.len(), 3, "nothing goes while a change is unwritten");

        large.dirty.clear();
        large.trim();
        assert!(large.households.is_empty() && large.positions.is_empty() && large.sizes.is_empty());
        assert!(large.prices.is_some(), "the latest prices stay");
    }
}
