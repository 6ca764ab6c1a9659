//! The `holdings` projector: everything derived from household ledgers, portfolios and prices.
//!
//! Tables (each scoped by `household`, the ledger's household key): `households`, `members`,
//! `accounts`, `positions` (per account and symbol), `lots` (open tax lots), `gains` (Form 8949
//! rows), `wash_sales` (the register of adjustments the lot engine derived), `contributions`
//! (against each member's limits), `valuations` (each position at its symbol's latest close,
//! with the global position of the bar used), `portfolios` and `allocations` (weights vs target,
//! drift, `needs_rebalancing`).
//!
//! A household's rows are derived from its whole ledger by the domain's lot engine, as the
//! ledger itself does, so the read model can never disagree with the decider. Events are
//! absorbed into in-memory state per household; when a batch is written, each household touched
//! has its rows replaced, and its state is saved beside them (in `cairn_projector_state`, same
//! transaction) so that a restarted runner, or one fed from NATS, picks up where it stopped.
//! A new price revalues only the households holding the symbol.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use domain::ledger::lots::{Book, WashSale};
use domain::ledger::types::id_order;
use domain::ledger::{apply, Ledger, LedgerEvent};
use domain::market::MarketEvent;
use domain::portfolio::{Portfolio, PortfolioEvent};
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
    columns: &[col("household", Text), col("member", Text), col("born", Date), col("hsa_coverage", Text)],
    key: &["household", "member"],
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
/// in the order they were numbered, see [`domain::ledger::types::id_order`]).
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

/// Tables rewritten when only prices moved.
const PRICED: [&Table; 3] = [&VALUATIONS, &PORTFOLIOS, &ALLOCATIONS];

/// Places shown for weights and drift.
const WEIGHT_DP: u32 = 6;

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

impl Holdings {
    pub const NAME: &'static str = "holdings";
    /// 2: the wash-sale register ordered by sale date (`seq`). 3: each allocation's own
    /// drift flag (`beyond_threshold`).
    pub const VERSION: i64 = 3;
    pub const CATEGORIES: &'static [&'static str] = &["ledger", "portfolio", "market"];
    pub const TABLES: &'static [&'static Table] = &[
        &HOUSEHOLDS,
        &MEMBERS,
        &ACCOUNTS,
        &POSITIONS,
        &LOTS,
        &GAINS,
        &WASH_SALES,
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

    async fn state<'a>(&'a mut self, db: &Db, generation: i64, household: &str) -> Result<&'a mut HouseholdState> {
        if !self.households.contains_key(household) {
            let state = match db.load_state(Self::NAME, generation, household).await? {
                Some(bytes) => {
                    self.sizes.insert(household.to_owned(), bytes.len());
                    rmp_serde::from_slice(&bytes)
                        .map_err(|e| Error::Config(format!("holdings state of {household}: {e}")))?
                }
                None => HouseholdState::default(),
            };
            self.households.insert(household.to_owned(), state);
        }
        Ok(self.households.get_mut(household).expect("inserted above"))
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
        for e in events {
            let id = e.stream_id.as_str();
            match e.stream_id.category() {
                "ledger" => {
                    let event: LedgerEvent = self
                        .upcasters
                        .decode_versioned(e, domain::ledger::SCHEMA_VERSION)
                        .map_err(|x| decode_err(e, x))?;
                    let household = &id["ledger-".len()..];
                    let state = self.state(db, generation, household).await?;
                    state.ledger = apply(std::mem::take(&mut state.ledger), event);
                    state.position = e.global_position;
                    if !self.dirty.contains(household) {
                        self.dirty.insert(household.to_owned());
                    }
                }
                "portfolio" => {
                    let event: PortfolioEvent = self
                        .upcasters
                        .decode_versioned(e, domain::portfolio::SCHEMA_VERSION)
                        .map_err(|x| decode_err(e, x))?;
                    let rest = &id["portfolio-".len()..];
                    let Some((household, portfolio)) = rest.split_once("--") else {
                        return Err(decode_err(e, "portfolio stream id without `--`"));
                    };
                    let state = self.state(db, generation, household).await?;
                    let p = state.portfolios.remove(portfolio).unwrap_or_default();
                    state.portfolios.insert(portfolio.to_owned(), domain::portfolio::evolve(p, &event));
                    state.position = e.global_position;
                    self.dirty.insert(household.to_owned());
                }
                "market" => {
                    let event: MarketEvent = self
                        .upcasters
                        .decode_versioned(e, domain::market::SCHEMA_VERSION)
                        .map_err(|x| decode_err(e, x))?;
                    let (MarketEvent::BarRecorded { symbol, bar } | MarketEvent::BarRevised { symbol, bar, .. }) =
                        &event;
                    let prices = self.prices.get_or_insert_with(BTreeMap::new);
                    if prices.get(symbol).is_none_or(|p| bar.date >= p.date) {
                        prices.insert(
                            symbol.clone(),
                            Price { date: bar.date, close: bar.close, position: e.global_position },
                        );
                        self.dirty_symbols.insert(symbol.clone());
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub(crate) async fn flush(&mut self, db: &Db, tx: &mut Tx, generation: i64) -> Result<()> {
        let prices_moved = !self.dirty_symbols.is_empty();
        // Households whose valuations move with a new price, without a ledger change.
        let mut revalue: BTreeSet<String> = BTreeSet::new();
        for symbol in std::mem::take(&mut self.dirty_symbols) {
            for h in db.scopes_where(&POSITIONS, generation, "symbol", &symbol).await? {
                revalue.insert(h);
            }
            for (h, positions) in &self.positions {
                if positions.iter().any(|p| p.symbol == symbol) {
                    revalue.insert(h.clone());
                }
            }
        }
        let dirty = std::mem::take(&mut self.dirty);
        revalue.retain(|h| !dirty.contains(h));
        for h in &revalue {
            self.state(db, generation, h).await?;
        }
        let started = std::time::Instant::now();
        let prices = self.prices.clone().unwrap_or_default();
        let mut rows: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
        // The lot engine per household, on every core: households are independent.
        let work: Vec<(&String, &HouseholdState)> =
            dirty.iter().map(|h| (h, self.households.get(h).expect("dirty households are loaded"))).collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(work.len().max(1));
        let per = work.len().div_ceil(threads).max(1);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = work
                .chunks(per)
                .map(|chunk| {
                    scope.spawn(move || chunk.iter().map(|(h, s)| ((*h).clone(), derive(h, s))).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("the lot engine does not panic")).collect()
        });
        for (household, (derived, positions)) in results {
            for (table, r) in derived {
                rows.entry(table).or_default().extend(r);
            }
            self.positions.insert(household, positions);
        }
        for household in &revalue {
            if !self.positions.contains_key(household) {
                let state = self.households.get(household).expect("loaded above");
                let (_, positions) = derive(household, state);
                self.positions.insert(household.clone(), positions);
            }
        }
        for household in dirty.iter().chain(&revalue) {
            let state = self.households.get(household).expect("loaded above");
            let positions = self.positions.get(household).map_or(&[][..], Vec::as_slice);
            for (table, r) in priced(household, state, positions, &prices) {
                rows.entry(table).or_default().extend(r);
            }
        }
        let derived_at = std::time::Instant::now();
        let dirty_list: Vec<String> = dirty.iter().cloned().collect();
        let revalue_list: Vec<String> = revalue.iter().cloned().collect();
        for table in Self::TABLES {
            let scopes = if PRICED.iter().any(|t| t.name == table.name) {
                [dirty_list.as_slice(), revalue_list.as_slice()].concat()
            } else {
                dirty_list.clone()
            };
            db.delete_scopes(tx, table, generation, &scopes).await?;
            let t = std::time::Instant::now();
            let written = rows.get(table.name).map_or(&[][..], Vec::as_slice);
            db.insert(tx, table, generation, written, false).await?;
            tracing::debug!(
                table = table.name,
                rows = written.len(),
                ms = t.elapsed().as_millis() as u64,
                "rows written"
            );
        }
        let snapshots = std::time::Instant::now();
        for household in &dirty {
            let state = self.households.get(household).expect("loaded above");
            let bytes = rmp_serde::to_vec_named(state).map_err(|e| Error::Config(e.to_string()))?;
            tx.save_state(Self::NAME, generation, household, &bytes).await?;
            self.sizes.insert(household.clone(), bytes.len());
        }
        if prices_moved {
            let bytes = rmp_serde::to_vec_named(&prices).map_err(|e| Error::Config(e.to_string()))?;
            tx.save_state(Self::NAME, generation, PRICES_KEY, &bytes).await?;
        }
        tracing::debug!(
            households = dirty.len(),
            revalued = revalue.len(),
            derive_ms = (derived_at - started).as_millis() as u64,
            tables_ms = (snapshots - derived_at).as_millis() as u64,
            snapshots_ms = snapshots.elapsed().as_millis() as u64,
            "holdings flushed"
        );
        Ok(())
    }
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
        ledger.members.len(),
        ledger.accounts.len(),
        ledger.trades.len(),
        ledger.cancelled.len(),
        book.lots.len(),
        state.position,
        problem,
    ]];
    let members = ledger.members.values().map(|m| row![household, m.name, m.born, m.hsa_coverage.as_str()]).collect();
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
    let (lots, gains, wash) = book_rows(household, &book);
    let contributions = tallies
        .iter()
        .map(|t| row![household, t.member, t.tax_year, t.kind.as_str(), t.limit, t.contributed, t.remaining()])
        .collect();
    (
        vec![
            (HOUSEHOLDS.name, households),
            (MEMBERS.name, members),
            (ACCOUNTS.name, accounts),
            (POSITIONS.name, position_rows),
            (LOTS.name, lots),
            (GAINS.name, gains),
            (WASH_SALES.name, wash),
            (CONTRIBUTIONS.name, contributions),
        ],
        positions,
    )
}

/// The `lots`, `gains` and `wash_sales` rows of a book. Also used for "as at a trade date"
/// reports, which compute a book from the ledger rather than read the projection.
pub fn book_rows(household: &str, book: &Book) -> (Vec<Row>, Vec<Row>, Vec<Row>) {
    let lots = book
        .lots
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
        .collect();
    let gains = book
        .sales
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
        .collect();
    let mut register: Vec<&WashSale> = book.wash_sales.iter().collect();
    register.sort_by(|a, b| {
        a.sale_date
            .cmp(&b.sale_date)
            .then_with(|| id_order(&a.sale_id, &b.sale_id))
            .then_with(|| id_order(&a.replacement_lot_id, &b.replacement_lot_id))
            .then_with(|| id_order(&a.sold_lot_id, &b.sold_lot_id))
    });
    let wash = register
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
                w.shares,
                w.disallowed_loss,
                w.basis_adjustment,
                w.holding_period_days,
                w.permanent,
            ]
        })
        .collect();
    (lots, gains, wash)
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
    let valuations = positions
        .iter()
        .map(|p| {
            let price = prices.get(&p.symbol);
            let value = price.map(|x| x.close * p.quantity);
            row![
                household,
                p.account,
                p.symbol,
                p.quantity,
                p.basis,
                price.map(|x| x.close),
                price.map(|x| x.date),
                price.map(|x| x.position),
                value,
                value.map(|v| v - p.basis),
            ]
        })
        .collect();
    let mut portfolios = Vec::new();
    let mut allocations = Vec::new();
    for (key, p) in &state.portfolios {
        let mut by_asset: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut unpriced = 0usize;
        for pos in positions.iter().filter(|pos| p.accounts.contains(&pos.account)) {
            match prices.get(&pos.symbol) {
                Some(price) => *by_asset.entry(pos.symbol.clone()).or_default() += price.close * pos.quantity,
                None => unpriced += 1,
            }
        }
        for asset in p.target.keys() {
            by_asset.entry(asset.clone()).or_default();
        }
        let total: Decimal = by_asset.values().sum();
        // Drift means something only against a target, with something valued.
        let measured = !p.target.is_empty() && !total.is_zero();
        let mut max_drift = Decimal::ZERO;
        for (asset, value) in &by_asset {
            let weight = if total.is_zero() { Decimal::ZERO } else { (value / total).round_dp(WEIGHT_DP) };
            let target = p.target.get(asset).copied().unwrap_or_default();
            let drift = weight - target;
            max_drift = max_drift.max(drift.abs());
            let beyond = measured && drift.abs() > p.drift_threshold;
            allocations.push(row![household, key, asset, value, weight, target, drift, beyond]);
        }
        let needs = measured && max_drift > p.drift_threshold;
        portfolios.push(row![
            household,
            key,
            p.name,
            p.accounts.join(","),
            p.drift_threshold,
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
    match db.load_state(Holdings::NAME, generation, household).await? {
        Some(bytes) => {
            let state: HouseholdState = rmp_serde::from_slice(&bytes)
                .map_err(|e| Error::Config(format!("holdings state of {household}: {e}")))?;
            Ok(Some(state.ledger))
        }
        None => Ok(None),
    }
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
