//! The lot engine: replays a household's rows in trade-date order and derives open lots,
//! realized sales (Form 8949 rows) and wash-sale adjustments. Pure and deterministic: the same
//! rows always give the same book, which is what lets a late or corrected row be absorbed by
//! recomputing and recording only the difference.
//!
//! Wash sales follow IRS Publication 550: a loss on a sale in a taxable account is disallowed
//! to the extent substantially identical shares (the same symbol, or another share class of the
//! same fund: [`super::identical`]) are bought within 30 days before or after the sale, in any
//! account of the household. Another share class trades at its own price, so its shares are
//! counted in the sold shares by value: a replacement lot's cost per share (fees included)
//! over the sale's price, a replacement worth as much as the sold shares replacing them all. Replacement shares are
//! matched in the order they were bought, share by share, each absorbing at most one wash sale;
//! the loss goes pro rata to the matched shares. In a taxable account the disallowed loss is
//! added to the replacement shares' basis and the sold shares' holding period is tacked onto
//! theirs; in a tax-advantaged account (IRA, 401(k), …) the loss is lost for good
//! (Rev. Rul. 2008-5) and nothing is adjusted. Shares bought before the sale count only while
//! still held at the sale; shares that arrive by transfer are not purchases. Shares of the
//! purchase the sold shares came from never replace them (Rev. Rul. 56-602): buy rows of one
//! account, symbol and trade date with the same order id (or none) are one purchase, so selling
//! part of it at a loss and keeping the rest is not a wash sale. Replacement shares are counted
//! in the sale's shares: a purchase made after a split that came after the sale replaces its
//! shares carried back through the split (100 bought after a 2:1 split replace 50 sold before
//! it), and the portion carved from it is in its own shares. The splits counted are the
//! symbol's, one per date and ratio however many accounts record them.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::identical;
use super::types::{AccountInfo, Action, LotMethod, Ratio, Trade};

/// Days before and after a loss sale in which a purchase makes it a wash sale.
pub const WASH_SALE_WINDOW_DAYS: i64 = 30;

/// An open lot (or a portion of one, after a split for a wash sale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The id of the row that opened it (`T7`), with `.k` for portions split off it.
    pub lot_id: String,
    pub account: String,
    pub symbol: String,
    pub quantity: Decimal,
    /// Total adjusted basis (cost plus fees plus wash-sale adjustments).
    pub basis: Decimal,
    /// Acquisition date for holding periods, after tacking.
    pub acquired: NaiveDate,
    /// The trade date of the row that opened it.
    pub purchased: NaiveDate,
    /// Wash-sale losses added to the basis.
    pub wash_adjustment: Decimal,
    /// This portion already absorbed a wash sale.
    pub replacement_used: bool,
    /// Bought (as opposed to transferred in); only purchases replace sold shares.
    pub is_purchase: bool,
    /// The purchase the shares came from: the trade id of its first row. Buy rows of one
    /// account, symbol and trade date with the same `order_id` (or none) are one purchase. Kept
    /// through portions, splits, symbol changes and transfers: shares of one purchase never
    /// replace one another (Rev. Rul. 56-602).
    pub purchase: String,
    seq: u64,
}

impl Lot {
    fn key(&self) -> (NaiveDate, u64) {
        (self.purchased, self.seq)
    }

    /// Splits `n` shares off, with their pro-rata basis and adjustment; `self` keeps the rest.
    fn take(&mut self, n: Decimal) -> Lot {
        if n >= self.quantity {
            let all = self.clone();
            self.quantity = Decimal::ZERO;
            self.basis = Decimal::ZERO;
            self.wash_adjustment = Decimal::ZERO;
            return all;
        }
        let basis = self.basis * n / self.quantity;
        let adjustment = self.wash_adjustment * n / self.quantity;
        self.quantity -= n;
        self.basis -= basis;
        self.wash_adjustment -= adjustment;
        Lot { quantity: n, basis, wash_adjustment: adjustment, ..self.clone() }
    }
}

/// Short or long term: long when sold after the one-year anniversary of acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    Short,
    Long,
}

impl Term {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Long => "long",
        }
    }
}

pub fn term(acquired: NaiveDate, sold: NaiveDate) -> Term {
    let anniversary = acquired.checked_add_months(Months::new(12)).unwrap_or(acquired);
    if sold > anniversary {
        Term::Long
    } else {
        Term::Short
    }
}

/// One lot portion disposed of by a sale (a Form 8949 row when `reportable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleRow {
    pub sale_id: String,
    pub lot_id: String,
    pub account: String,
    pub symbol: String,
    pub quantity: Decimal,
    pub date_acquired: NaiveDate,
    pub date_sold: NaiveDate,
    pub proceeds: Decimal,
    pub cost_basis: Decimal,
    /// `W` when part of the loss was disallowed as a wash sale.
    pub adjustment_code: Option<String>,
    /// The disallowed loss (positive), added back to the gain.
    pub adjustment_amount: Decimal,
    /// `proceeds - cost_basis + adjustment_amount`.
    pub gain_loss: Decimal,
    pub term: Term,
    /// In a taxable account (gains in sheltered accounts are not reported).
    pub reportable: bool,
}

/// One wash-sale match: `shares` of a loss sale replaced by shares of another lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WashSale {
    /// `<sale>:<sold lot>:<replacement lot>`; stable while the rows behind it do not change.
    pub id: String,
    pub sale_id: String,
    pub sale_date: NaiveDate,
    pub symbol: String,
    pub sold_lot_id: String,
    pub replacement_lot_id: String,
    pub replacement_account: String,
    /// The replacement's symbol when it is another share class of the sold fund
    /// ([`super::identical`]); `None` for the sold symbol itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement_symbol: Option<String>,
    /// The sold shares replaced, counted in the shares of the sale: after a split between the
    /// sale and the replacement's purchase, the replacement portion holds these shares times
    /// the split's ratio; shares of another share class count by value (see `lots.rs`).
    pub shares: Decimal,
    /// The loss disallowed on these shares (positive).
    pub disallowed_loss: Decimal,
    /// Added to the replacement shares' basis (zero when permanent).
    pub basis_adjustment: Decimal,
    /// Days of the sold shares' holding period tacked onto the replacement (zero when permanent).
    pub holding_period_days: i64,
    /// The replacement was bought in a tax-advantaged account: the loss is gone for good.
    pub permanent: bool,
}

/// Everything the engine derives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    /// Open lots, by account, symbol and purchase order.
    pub lots: Vec<Lot>,
    pub sales: Vec<SaleRow>,
    pub wash_sales: Vec<WashSale>,
    /// Cash per account: deposits, dividends, interest and sale proceeds in; withdrawals, fees
    /// and purchases out.
    pub cash: BTreeMap<String, Decimal>,
    /// Dividends per account: (qualified, ordinary).
    pub dividends: BTreeMap<String, (Decimal, Decimal)>,
    /// Buys, withdrawals and fees that left their account's cash below zero, in replay order.
    pub overdrafts: Vec<Overdraft>,
    /// What each row left its accounts holding, in replay order: filled by [`timeline`] only.
    pub timeline: Vec<Holding>,
}

/// An account's holding of one symbol (or of cash) after a row, as [`timeline`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub date: NaiveDate,
    /// The row that left it ([`Trade::seq`]).
    pub seq: u64,
    pub account: String,
    /// `None` for the account's cash.
    pub symbol: Option<String>,
    /// Shares held, or the cash balance.
    pub quantity: Decimal,
}

/// A row that took its account's cash below zero (margin, or a deposit not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdraft {
    pub trade_id: String,
    pub account: String,
    /// The account's cash after the row.
    pub balance: Decimal,
}

/// A row the engine cannot apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError {
    pub trade_id: String,
    pub source_line: Option<u64>,
    pub field: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone)]
struct Pending {
    lot_id: String,
    /// The portion's shares, in the purchase's own shares.
    shares: Decimal,
    basis_add: Decimal,
    tack_days: i64,
}

#[derive(Debug, Clone)]
struct Purchase {
    date: NaiveDate,
    seq: u64,
    trade_id: String,
    /// The purchase this row belongs to (see [`Lot::purchase`]).
    purchase: String,
    account: String,
    quantity: Decimal,
    /// Cost per share, fees included: what a replacement of another share class is worth in
    /// the sold shares (see [`Engine::wash`]).
    cost: Decimal,
}

struct Engine<'a> {
    accounts: &'a BTreeMap<String, AccountInfo>,
    /// symbol → account → open lots in purchase order.
    lots: HashMap<String, BTreeMap<String, Vec<Lot>>>,
    /// symbol → purchases in (date, seq) order, for the look-ahead.
    purchases: HashMap<String, Vec<Purchase>>,
    /// Replacement shares promised to purchases not yet processed.
    pending: HashMap<String, Vec<Pending>>,
    reserved: HashMap<String, Decimal>,
    splits: HashMap<String, u32>,
    trades_by_id: HashMap<&'a str, &'a Trade>,
    /// Buy row → the purchase it belongs to (the trade id of the purchase's first row).
    purchase_of: HashMap<String, String>,
    /// symbol → its splits in replay order, for counting replacement shares across them.
    split_events: HashMap<String, Vec<SplitEvent>>,
    book: Book,
}

/// A split of a symbol, at the first row that records it.
#[derive(Debug, Clone, Copy)]
struct SplitEvent {
    date: NaiveDate,
    seq: u64,
    ratio: Ratio,
}

/// Each symbol's splits in replay order. A split is a row per account (`Action::Split` acts on
/// the row's account), but it is one event of the security: rows of a symbol with the same date
/// and the same ratio (2:1 and 4:2 alike) count once, at the first of them, so that a purchase
/// in an account that held none of the shares at the split (and so has no split row) is still
/// counted in post-split shares.
fn split_events(order: &[&Trade]) -> HashMap<String, Vec<SplitEvent>> {
    let mut events: HashMap<String, Vec<SplitEvent>> = HashMap::new();
    for t in order {
        if let (Action::Split, Some(symbol), Some(ratio)) = (t.action, &t.symbol, t.ratio) {
            let known = events.entry(symbol.clone()).or_default();
            let same = |e: &SplitEvent| e.date == t.trade_date && e.ratio.new * ratio.old == ratio.new * e.ratio.old;
            if !known.iter().any(same) {
                known.push(SplitEvent { date: t.trade_date, seq: t.seq(), ratio });
            }
        }
    }
    events
}

/// `quantity` carried through `ratios` (new:old each), or back through them; `None` past
/// `Decimal`'s range.
fn through_splits(quantity: Decimal, ratios: &[Ratio], back: bool) -> Option<Decimal> {
    ratios.iter().try_fold(quantity, |q, r| {
        let (times, per) = if back { (r.old, r.new) } else { (r.new, r.old) };
        q.checked_mul(times)?.checked_div(per)
    })
}

/// `amount` per share of `quantity` (zero for none).
fn per_share(amount: Decimal, quantity: Decimal) -> Decimal {
    if quantity.is_zero() {
        Decimal::ZERO
    } else {
        amount / quantity
    }
}

/// Decimal places kept when shares of one share class are counted in another's.
const EQUIVALENT_SHARES_DP: u32 = 8;

/// Shares of another share class counted in the sold shares, by value: `shares` at `cost`
/// each stand for `shares × cost ÷ sale_price` sold shares (`back`: the other way). One for one
/// when either amount is not positive (a worthless sale, a free share).
fn in_sold_shares(shares: Decimal, cost: Decimal, sale_price: Decimal, back: bool) -> Decimal {
    if sale_price <= Decimal::ZERO || cost <= Decimal::ZERO {
        return shares;
    }
    let (times, per) = if back { (sale_price, cost) } else { (cost, sale_price) };
    (shares * times / per).round_dp(EQUIVALENT_SHARES_DP)
}

/// The error for splits too large to count shares across.
fn too_large(t: &Trade, symbol: &str, p: &Purchase) -> EngineError {
    fail(t, "ratio", format!("the splits of {symbol} between this sale and {} are too large to count", p.trade_id))
}

/// One replacement found for a loss sale.
struct Match {
    lot_id: String,
    account: String,
    /// The replacement's symbol: the sold one, or another share class of its fund.
    symbol: String,
    /// Sold shares replaced (the sale's shares).
    shares: Decimal,
    /// The replacement portion's shares (the purchase's own shares).
    portion: Decimal,
    purchased: NaiveDate,
    /// A purchase still to come in the replay (else an open lot).
    future: bool,
}

/// The purchase each buy row belongs to, by trade id: buy rows of one account, symbol and trade
/// date with equal order ids (`None` equal to `None`) are one purchase, named after its first
/// row in replay order. Rev. Rul. 56-602 (1956-2 C.B. 527): shares bought in one lot are not
/// replacements for one another, so a loss on part of a lot kept in part is allowed. A broker
/// that fills one order in several rows (partial fills) reports them under one order id or
/// none; a distinct order id on the same day is a separate purchase.
fn purchase_groups(order: &[&Trade]) -> HashMap<String, String> {
    let mut first: HashMap<(&str, &str, NaiveDate, Option<&str>), &str> = HashMap::new();
    let mut of = HashMap::new();
    for t in order {
        if let (Action::Buy, Some(symbol)) = (t.action, &t.symbol) {
            let key = (t.account.as_str(), symbol.as_str(), t.trade_date, t.order_id.as_deref());
            let group = *first.entry(key).or_insert(t.trade_id.as_str());
            of.insert(t.trade_id.clone(), group.to_owned());
        }
    }
    of
}

/// Replays `trades` (those on or before `as_of`, when given) into a [`Book`].
pub fn compute(
    accounts: &BTreeMap<String, AccountInfo>,
    trades: &[Trade],
    as_of: Option<NaiveDate>,
) -> Result<Book, EngineError> {
    replay(accounts, trades, as_of, false)
}

/// [`compute`] over every row, also recording in [`Book::timeline`] what each row left its
/// accounts holding: after every row, the cash of its account and the shares of each symbol it
/// touched (`symbol` and `new_symbol`) in its account and, for a paired transfer, in the other
/// account. Daily valuations are built from it.
pub fn timeline(accounts: &BTreeMap<String, AccountInfo>, trades: &[Trade]) -> Result<Book, EngineError> {
    replay(accounts, trades, None, true)
}

fn replay(
    accounts: &BTreeMap<String, AccountInfo>,
    trades: &[Trade],
    as_of: Option<NaiveDate>,
    record: bool,
) -> Result<Book, EngineError> {
    let mut order: Vec<&Trade> = trades.iter().filter(|t| as_of.is_none_or(|d| t.trade_date <= d)).collect();
    order.sort_by_key(|t| (t.trade_date, t.seq()));
    let purchase_of = purchase_groups(&order);
    let split_events = split_events(&order);
    let mut purchases: HashMap<String, Vec<Purchase>> = HashMap::new();
    for t in &order {
        if let (Action::Buy, Some(symbol)) = (t.action, &t.symbol) {
            purchases.entry(symbol.clone()).or_default().push(Purchase {
                date: t.trade_date,
                seq: t.seq(),
                trade_id: t.trade_id.clone(),
                purchase: purchase_of[&t.trade_id].clone(),
                account: t.account.clone(),
                quantity: t.quantity,
                cost: per_share(t.quantity * t.price + t.total_fees(), t.quantity),
            });
        }
    }
    let mut engine = Engine {
        accounts,
        lots: HashMap::new(),
        purchases,
        pending: HashMap::new(),
        reserved: HashMap::new(),
        splits: HashMap::new(),
        trades_by_id: trades.iter().map(|t| (t.trade_id.as_str(), t)).collect(),
        purchase_of,
        split_events,
        book: Book::default(),
    };
    for t in order {
        engine.apply(t)?;
        if record {
            engine.record(t);
        }
    }
    let mut lots: Vec<Lot> =
        engine.lots.into_values().flat_map(|by_account| by_account.into_values().flatten()).collect();
    lots.sort_by(|a, b| (&a.account, &a.symbol, a.key(), &a.lot_id).cmp(&(&b.account, &b.symbol, b.key(), &b.lot_id)));
    engine.book.lots = lots;
    Ok(engine.book)
}

/// The row's lot method: as given, specific identification when it names lots, else the
/// account's.
fn method_of(t: &Trade, account: &AccountInfo) -> LotMethod {
    match t.lot_method {
        Some(m) => m,
        None if !t.lot_ids.is_empty() => LotMethod::Specific,
        None => account.lot_method,
    }
}

fn fail(t: &Trade, field: &'static str, problem: String) -> EngineError {
    EngineError { trade_id: t.trade_id.clone(), source_line: t.source_line, field, problem }
}

impl Engine<'_> {
    fn account(&self, t: &Trade, label: &str) -> Result<&AccountInfo, EngineError> {
        self.accounts.get(label).ok_or_else(|| fail(t, "account", format!("no account labelled {label:?}")))
    }

    fn symbol(t: &Trade) -> Result<&str, EngineError> {
        t.symbol.as_deref().ok_or_else(|| fail(t, "symbol", "required for this action".into()))
    }

    /// The lot a buy or an outside transfer-in opens: its quantity at `price` plus fees. A buy
    /// belongs to its purchase group; shares from outside are a purchase of their own.
    fn new_lot(&self, t: &Trade, is_purchase: bool) -> Result<Lot, EngineError> {
        Ok(Lot {
            lot_id: t.trade_id.clone(),
            account: t.account.clone(),
            symbol: Self::symbol(t)?.to_owned(),
            quantity: t.quantity,
            basis: t.quantity * t.price + t.total_fees(),
            acquired: t.trade_date,
            purchased: t.trade_date,
            wash_adjustment: Decimal::ZERO,
            replacement_used: false,
            is_purchase,
            purchase: self.purchase_of.get(&t.trade_id).unwrap_or(&t.trade_id).clone(),
            seq: t.seq(),
        })
    }

    fn cash(&mut self, account: &str, delta: Decimal) {
        *self.book.cash.entry(account.to_owned()).or_default() += delta;
    }

    /// Appends to the timeline what `t` left its accounts holding (see [`timeline`]).
    fn record(&mut self, t: &Trade) {
        let cash = self.book.cash.get(&t.account).copied().unwrap_or_default();
        let mut accounts = vec![t.account.clone()];
        if let Some(other) = t.counterpart.as_deref().and_then(|c| self.trades_by_id.get(c)) {
            if other.account != t.account {
                accounts.push(other.account.clone());
            }
        }
        let symbols = [t.symbol.as_ref(), t.new_symbol.as_ref()];
        let mut holdings = vec![Holding {
            date: t.trade_date,
            seq: t.seq(),
            account: t.account.clone(),
            symbol: None,
            quantity: cash,
        }];
        for symbol in symbols.into_iter().flatten() {
            for account in &accounts {
                let lots = self.lots.get(symbol).and_then(|by| by.get(account));
                let quantity = lots.map_or(Decimal::ZERO, |ls| ls.iter().map(|l| l.quantity).sum());
                holdings.push(Holding {
                    date: t.trade_date,
                    seq: t.seq(),
                    account: account.clone(),
                    symbol: Some(symbol.clone()),
                    quantity,
                });
            }
        }
        self.book.timeline.extend(holdings);
    }

    fn apply(&mut self, t: &Trade) -> Result<(), EngineError> {
        let cash_before = self.book.cash.get(&t.account).copied().unwrap_or_default();
        self.apply_row(t)?;
        let cash_after = self.book.cash.get(&t.account).copied().unwrap_or_default();
        if matches!(t.action, Action::Buy | Action::Withdrawal | Action::Fee)
            && cash_after < Decimal::ZERO
            && cash_after < cash_before
        {
            self.book.overdrafts.push(Overdraft {
                trade_id: t.trade_id.clone(),
                account: t.account.clone(),
                balance: cash_after,
            });
        }
        Ok(())
    }

    fn apply_row(&mut self, t: &Trade) -> Result<(), EngineError> {
        let account = self.account(t, &t.account)?.clone();
        let amount = t.quantity * t.price;
        match t.action {
            Action::Deposit | Action::Interest | Action::Contribution => self.cash(&t.account, amount - t.total_fees()),
            Action::Withdrawal => self.cash(&t.account, -amount - t.total_fees()),
            Action::Fee => self.cash(&t.account, -amount - t.total_fees()),
            Action::Dividend => {
                self.cash(&t.account, amount - t.total_fees());
                let qualified = t.description.as_deref().is_some_and(|d| d.to_ascii_lowercase().contains("qualified"))
                    && !t.description.as_deref().is_some_and(|d| d.to_ascii_lowercase().contains("non-qualified"));
                let entry = self.book.dividends.entry(t.account.clone()).or_default();
                if qualified {
                    entry.0 += amount;
                } else {
                    entry.1 += amount;
                }
            }
            Action::Buy => {
                self.cash(&t.account, -amount - t.total_fees());
                let lot = self.new_lot(t, true)?;
                self.open_purchase(lot, account.account_type.is_tax_advantaged());
            }
            Action::TransferIn => {
                if t.counterpart.is_some() {
                    return Ok(()); // carried out with its transfer_out
                }
                let lot = self.new_lot(t, false)?;
                self.insert(lot);
            }
            Action::TransferOut => {
                let symbol = Self::symbol(t)?.to_owned();
                let taken = self.relieve(t, &t.account, &symbol, t.quantity, method_of(t, &account))?;
                if let Some(other) = &t.counterpart {
                    let to = self
                        .trades_by_id
                        .get(other.as_str())
                        .map(|o| o.account.clone())
                        .ok_or_else(|| fail(t, "account", format!("transfer counterpart {other} is missing")))?;
                    self.account(t, &to)?;
                    for mut lot in taken {
                        lot.account.clone_from(&to);
                        // A lot coming back to an account that still holds part of it gets its
                        // own id, so every open lot of an account has a distinct id.
                        let taken_ids = self.lots.get(&symbol).and_then(|a| a.get(&to));
                        if taken_ids.is_some_and(|ls| ls.iter().any(|l| l.lot_id == lot.lot_id)) {
                            lot.lot_id = self.next_portion_id(&lot.lot_id);
                        }
                        self.insert(lot);
                    }
                }
            }
            Action::Sell => {
                let symbol = Self::symbol(t)?.to_owned();
                let portions = self.relieve(t, &t.account, &symbol, t.quantity, method_of(t, &account))?;
                self.cash(&t.account, amount - t.total_fees());
                self.realize(t, &account, &symbol, portions, amount - t.total_fees())?;
            }
            Action::SymbolChange | Action::Merger | Action::Spinoff => self.reorganize(t, &account)?,
            Action::Split => {
                let symbol = Self::symbol(t)?.to_owned();
                let ratio = t.ratio.ok_or_else(|| fail(t, "ratio", "a split needs a ratio such as 2:1".into()))?;
                let lots = self.lots.entry(symbol.clone()).or_default().entry(t.account.clone()).or_default();
                let mut total = Decimal::ZERO;
                for lot in lots.iter_mut() {
                    lot.quantity = lot.quantity * ratio.new / ratio.old;
                    total += lot.quantity;
                }
                let fraction = total.fract();
                if fraction > Decimal::ZERO && t.price > Decimal::ZERO {
                    let method = t.lot_method.unwrap_or(account.lot_method);
                    let method = if method == LotMethod::Specific { LotMethod::Lifo } else { method };
                    let portions = self.relieve(t, &t.account, &symbol, fraction, method)?;
                    let proceeds = fraction * t.price;
                    self.cash(&t.account, proceeds);
                    self.realize(t, &account, &symbol, portions, proceeds)?;
                }
            }
        }
        Ok(())
    }

    /// Symbol changes, mergers and spin-offs: every lot of the symbol in the account.
    fn reorganize(&mut self, t: &Trade, account: &AccountInfo) -> Result<(), EngineError> {
        let symbol = Self::symbol(t)?.to_owned();
        let ratio = t.ratio.unwrap_or(super::types::Ratio { new: Decimal::ONE, old: Decimal::ONE });
        let all_cash = t.action == Action::Merger && ratio.new.is_zero();
        let new_symbol = match &t.new_symbol {
            Some(s) => s.clone(),
            None if all_cash => symbol.clone(),
            None => return Err(fail(t, "new_symbol", format!("required for {}", t.action.as_str()))),
        };
        let lots = self.lots.entry(symbol.clone()).or_default().remove(&t.account).unwrap_or_default();
        if lots.is_empty() {
            return Err(fail(t, "symbol", format!("account {} holds no {symbol}", t.account)));
        }
        match t.action {
            Action::SymbolChange => {
                for mut lot in lots {
                    lot.symbol.clone_from(&new_symbol);
                    self.insert(lot);
                }
            }
            Action::Merger if all_cash => {
                // All cash: a sale of every share at `price`.
                let shares: Decimal = lots.iter().map(|l| l.quantity).sum();
                let proceeds = shares * t.price - t.total_fees();
                self.cash(&t.account, proceeds);
                self.realize(t, account, &symbol, lots, proceeds)?;
            }
            Action::Merger => {
                let fmv = t.fmv.unwrap_or_default();
                for mut lot in lots {
                    let boot = lot.quantity * t.price;
                    lot.quantity = lot.quantity * ratio.new / ratio.old;
                    if boot > Decimal::ZERO {
                        // Gain is recognized up to the boot; a loss is not (IRC 356).
                        let realized = lot.quantity * fmv + boot - lot.basis;
                        let recognized = realized.max(Decimal::ZERO).min(boot);
                        self.cash(&t.account, boot);
                        self.book.sales.push(SaleRow {
                            sale_id: t.trade_id.clone(),
                            lot_id: lot.lot_id.clone(),
                            account: t.account.clone(),
                            symbol: symbol.clone(),
                            quantity: Decimal::ZERO,
                            date_acquired: lot.acquired,
                            date_sold: t.trade_date,
                            proceeds: boot,
                            cost_basis: boot - recognized,
                            adjustment_code: None,
                            adjustment_amount: Decimal::ZERO,
                            gain_loss: recognized,
                            term: term(lot.acquired, t.trade_date),
                            reportable: !account.account_type.is_tax_advantaged(),
                        });
                        lot.basis = lot.basis - boot + recognized;
                    }
                    lot.symbol.clone_from(&new_symbol);
                    self.insert(lot);
                }
            }
            _ => {
                let share = t.allocation.unwrap_or_default() / Decimal::ONE_HUNDRED;
                let mut total = Decimal::ZERO;
                for mut parent in lots {
                    let basis = parent.basis * share;
                    parent.basis -= basis;
                    let child = Lot {
                        lot_id: format!("{}-{new_symbol}", parent.lot_id),
                        symbol: new_symbol.clone(),
                        quantity: parent.quantity * ratio.new / ratio.old,
                        basis,
                        wash_adjustment: Decimal::ZERO,
                        is_purchase: false,
                        ..parent.clone()
                    };
                    total += child.quantity;
                    self.insert(parent);
                    self.insert(child);
                }
                let fraction = total.fract();
                if fraction > Decimal::ZERO && t.price > Decimal::ZERO {
                    let portions = self.relieve(t, &t.account, &new_symbol, fraction, LotMethod::Lifo)?;
                    let proceeds = fraction * t.price;
                    self.cash(&t.account, proceeds);
                    self.realize(t, account, &new_symbol, portions, proceeds)?;
                }
            }
        }
        Ok(())
    }

    /// Adds a lot in purchase order.
    fn insert(&mut self, lot: Lot) {
        let lots = self.lots.entry(lot.symbol.clone()).or_default().entry(lot.account.clone()).or_default();
        let at = lots.partition_point(|l| (l.key(), &l.lot_id) <= (lot.key(), &lot.lot_id));
        lots.insert(at, lot);
    }

    /// Opens a bought lot, first carving out the portions promised to earlier loss sales.
    fn open_purchase(&mut self, mut lot: Lot, sheltered: bool) {
        for p in self.pending.remove(&lot.lot_id).unwrap_or_default() {
            let mut portion = lot.take(p.shares);
            portion.lot_id = p.lot_id;
            portion.replacement_used = true;
            if !sheltered {
                portion.basis += p.basis_add;
                portion.wash_adjustment += p.basis_add;
                portion.acquired -= Duration::days(p.tack_days);
            }
            self.insert(portion);
        }
        if lot.quantity > Decimal::ZERO {
            self.insert(lot);
        }
    }

    fn next_portion_id(&mut self, base: &str) -> String {
        let k = self.splits.entry(base.to_owned()).or_insert(0);
        *k += 1;
        format!("{base}.{k}")
    }

    /// Removes `quantity` shares from the account's lots, by `method`.
    fn relieve(
        &mut self,
        t: &Trade,
        account: &str,
        symbol: &str,
        quantity: Decimal,
        method: LotMethod,
    ) -> Result<Vec<Lot>, EngineError> {
        let lots = self.lots.entry(symbol.to_owned()).or_default().entry(account.to_owned()).or_default();
        let held: Decimal = lots.iter().map(|l| l.quantity).sum();
        if quantity <= Decimal::ZERO {
            return Err(fail(t, "quantity", "must be positive".into()));
        }
        if held < quantity {
            return Err(fail(
                t,
                "quantity",
                format!("{quantity} {symbol} to remove, but account {account} holds {held}"),
            ));
        }
        let mut order: Vec<usize> = (0..lots.len()).collect();
        match method {
            LotMethod::Fifo => {}
            LotMethod::Lifo => order.reverse(),
            LotMethod::Hifo => order.sort_by(|&a, &b| {
                let per_share = |l: &Lot| l.basis / l.quantity;
                per_share(&lots[b]).cmp(&per_share(&lots[a])).then(a.cmp(&b))
            }),
            LotMethod::Average => {
                let total_basis: Decimal = lots.iter().map(|l| l.basis).sum();
                let mut left = total_basis;
                let n = lots.len();
                for (i, lot) in lots.iter_mut().enumerate() {
                    lot.basis = if i + 1 == n { left } else { total_basis * lot.quantity / held };
                    left -= lot.basis;
                }
            }
            LotMethod::Specific => {
                if t.lot_ids.is_empty() {
                    return Err(fail(t, "lot_ids", "specific identification needs lot_ids".into()));
                }
                let mut chosen = Vec::new();
                for id in &t.lot_ids {
                    let before = chosen.len();
                    let prefix = format!("{id}.");
                    for (i, lot) in lots.iter().enumerate() {
                        if (lot.lot_id == *id || lot.lot_id.starts_with(&prefix)) && !chosen.contains(&i) {
                            chosen.push(i);
                        }
                    }
                    if chosen.len() == before {
                        return Err(fail(t, "lot_ids", format!("no open lot {id} of {symbol} in account {account}")));
                    }
                }
                let available: Decimal = chosen.iter().map(|&i| lots[i].quantity).sum();
                if available < quantity {
                    return Err(fail(
                        t,
                        "lot_ids",
                        format!("lots {} hold {available} {symbol}; {quantity} to remove", t.lot_ids.join(" ")),
                    ));
                }
                order = chosen;
            }
        }
        let mut left = quantity;
        let mut taken = Vec::new();
        for i in order {
            if left <= Decimal::ZERO {
                break;
            }
            let n = left.min(lots[i].quantity);
            taken.push(lots[i].take(n));
            left -= n;
        }
        lots.retain(|l| l.quantity > Decimal::ZERO);
        Ok(taken)
    }

    /// Records the sale of `portions` for `proceeds` in all, applying the wash-sale rule.
    fn realize(
        &mut self,
        t: &Trade,
        account: &AccountInfo,
        symbol: &str,
        portions: Vec<Lot>,
        proceeds: Decimal,
    ) -> Result<(), EngineError> {
        let total: Decimal = portions.iter().map(|p| p.quantity).sum();
        let mut proceeds_left = proceeds;
        let count = portions.len();
        for (i, portion) in portions.into_iter().enumerate() {
            let share = if i + 1 == count { proceeds_left } else { proceeds * portion.quantity / total };
            proceeds_left -= share;
            let loss = portion.basis - share;
            let reportable = !account.account_type.is_tax_advantaged();
            let disallowed =
                if reportable && loss > Decimal::ZERO { self.wash(t, symbol, &portion, loss)? } else { Decimal::ZERO };
            self.book.sales.push(SaleRow {
                sale_id: t.trade_id.clone(),
                lot_id: portion.lot_id.clone(),
                account: t.account.clone(),
                symbol: symbol.to_owned(),
                quantity: portion.quantity,
                date_acquired: portion.acquired,
                date_sold: t.trade_date,
                proceeds: share,
                cost_basis: portion.basis,
                adjustment_code: (disallowed > Decimal::ZERO).then(|| "W".to_owned()),
                adjustment_amount: disallowed,
                gain_loss: share - portion.basis + disallowed,
                term: term(portion.acquired, t.trade_date),
                reportable,
            });
        }
        Ok(())
    }

    /// The splits of `symbol` after the row at `from` and before the row at `to`, in replay order
    /// (trade date, then row number).
    fn splits_between(&self, symbol: &str, from: (NaiveDate, u64), to: (NaiveDate, u64)) -> Vec<Ratio> {
        let events = self.split_events.get(symbol).map(Vec::as_slice).unwrap_or_default();
        events.iter().filter(|e| from < (e.date, e.seq) && (e.date, e.seq) < to).map(|e| e.ratio).collect()
    }

    /// Matches the loss on `sold` against replacement purchases; returns the loss disallowed.
    fn wash(&mut self, t: &Trade, symbol: &str, sold: &Lot, loss: Decimal) -> Result<Decimal, EngineError> {
        let date = t.trade_date;
        let window_start = date - Duration::days(WASH_SALE_WINDOW_DAYS);
        let window_end = date + Duration::days(WASH_SALE_WINDOW_DAYS);
        // The sold shares' holding period is tacked on, but the replacement's never starts before
        // they were acquired: a replacement bought before the sale overlaps it.
        let tack = |purchased: NaiveDate| (purchased.min(date) - sold.acquired).num_days().max(0);
        let mut need = sold.quantity;
        let mut disallowed_total = Decimal::ZERO;

        // Candidates in purchase order (Treas. Reg. §1.1091-1(b)): open lots bought in the
        // window before the sale, then purchases after it (still to come in the replay), of the
        // sold symbol and of the other share classes of its fund; never shares of the purchase
        // the sold shares came from (Rev. Rul. 56-602).
        let classes = identical::group(symbol);
        let mut before: Vec<(NaiveDate, u64, String, String, String, Decimal, Decimal)> = classes
            .iter()
            .filter_map(|s| self.lots.get(*s))
            .flat_map(|by_account| by_account.values().flatten())
            .filter(|l| {
                l.is_purchase && !l.replacement_used && l.purchased >= window_start && l.purchase != sold.purchase
            })
            .map(|l| {
                let cost = per_share(l.basis - l.wash_adjustment, l.quantity);
                (l.purchased, l.seq, l.lot_id.clone(), l.account.clone(), l.symbol.clone(), l.quantity, cost)
            })
            .collect();
        before.sort();
        let mut after: Vec<(&str, Purchase)> = Vec::new();
        for class in &classes {
            if let Some(ps) = self.purchases.get(*class) {
                let start = ps.partition_point(|p| (p.date, p.seq) <= (date, t.seq()));
                after.extend(
                    ps[start..]
                        .iter()
                        .take_while(|p| p.date <= window_end)
                        .filter(|p| p.purchase != sold.purchase)
                        .map(|p| (*class, p.clone())),
                );
            }
        }
        after.sort_by_key(|(_, p)| (p.date, p.seq));

        // Another share class trades at its own price, so its shares count by value: a
        // replacement worth as much as the sold shares at the sale's price replaces them all.
        let mut matched: Vec<Match> = Vec::new();
        for (purchased, _, lot_id, account, class, available, cost) in before {
            if need <= Decimal::ZERO {
                break;
            }
            // Open lots are already in the shares of the moment of the sale.
            let (n, portion) = if class == symbol {
                let n = need.min(available);
                (n, n)
            } else {
                let capacity = in_sold_shares(available, cost, t.price, false);
                if capacity <= need {
                    (capacity, available)
                } else {
                    (need, in_sold_shares(need, cost, t.price, true).min(available))
                }
            };
            matched.push(Match { lot_id, account, symbol: class, shares: n, portion, purchased, future: false });
            need -= n;
        }
        for (class, p) in after {
            if need <= Decimal::ZERO {
                break;
            }
            let reserved = self.reserved.get(&p.trade_id).copied().unwrap_or_default();
            let available = p.quantity - reserved;
            if available <= Decimal::ZERO {
                continue;
            }
            // A purchase after a split is in post-split shares: after a 2:1 split two new shares
            // stand where one old share stood (a split is a nontaxable distribution of stock, IRC
            // 305(a), and each old share's basis is spread over the shares it became, IRC 307(a),
            // Treas. Reg. 1.307-1(a)), so 100 new shares replace 50 sold before it. The sold
            // shares a purchase replaces are its shares carried back through the splits between
            // the sale and the purchase; the portion carved from it is in its own shares.
            // Another share class counts by value, which a split does not change.
            let same = class == symbol;
            let ratios = if same { self.splits_between(symbol, (date, t.seq()), (p.date, p.seq)) } else { Vec::new() };
            let capacity = if same {
                through_splits(available, &ratios, true).ok_or_else(|| too_large(t, symbol, &p))?
            } else {
                in_sold_shares(available, p.cost, t.price, false)
            };
            let (n, portion) = if capacity <= need {
                (capacity, available)
            } else if same {
                (need, through_splits(need, &ratios, false).ok_or_else(|| too_large(t, symbol, &p))?.min(available))
            } else {
                (need, in_sold_shares(need, p.cost, t.price, true).min(available))
            };
            if n > Decimal::ZERO {
                matched.push(Match {
                    lot_id: p.trade_id.clone(),
                    account: p.account.clone(),
                    symbol: class.to_owned(),
                    shares: n,
                    portion,
                    purchased: p.date,
                    future: true,
                });
                need -= n;
            }
        }

        let matched_shares: Decimal = matched.iter().map(|m| m.shares).sum();
        let mut loss_left = loss * matched_shares / sold.quantity;
        let count = matched.len();
        for (i, m) in matched.into_iter().enumerate() {
            let Match { lot_id, account, symbol: class, shares: n, portion: portion_shares, purchased, future } = m;
            let disallowed = if i + 1 == count { loss_left } else { loss * n / sold.quantity };
            loss_left -= disallowed;
            disallowed_total += disallowed;
            let permanent = self.accounts.get(&account).is_some_and(|a| a.account_type.is_tax_advantaged());
            let (basis_add, days) = if permanent { (Decimal::ZERO, 0) } else { (disallowed, tack(purchased)) };
            let portion_id = self.next_portion_id(&lot_id);
            if future {
                *self.reserved.entry(lot_id.clone()).or_default() += portion_shares;
                self.pending.entry(lot_id).or_default().push(Pending {
                    lot_id: portion_id.clone(),
                    shares: portion_shares,
                    basis_add,
                    tack_days: days,
                });
            } else {
                let lots = self.lots.get_mut(&class).and_then(|a| a.get_mut(&account)).expect("matched lot is open");
                let at = lots.iter().position(|l| l.lot_id == lot_id).expect("matched lot is open");
                let mut portion = lots[at].take(portion_shares);
                lots.retain(|l| l.quantity > Decimal::ZERO);
                portion.lot_id.clone_from(&portion_id);
                portion.replacement_used = true;
                portion.basis += basis_add;
                portion.wash_adjustment += basis_add;
                portion.acquired -= Duration::days(days);
                self.insert(portion);
            }
            self.book.wash_sales.push(WashSale {
                id: format!("{}:{}:{}", t.trade_id, sold.lot_id, portion_id),
                sale_id: t.trade_id.clone(),
                sale_date: date,
                symbol: symbol.to_owned(),
                sold_lot_id: sold.lot_id.clone(),
                replacement_lot_id: portion_id,
                replacement_account: account,
                replacement_symbol: (class != symbol).then_some(class),
                shares: n,
                disallowed_loss: disallowed,
                basis_adjustment: basis_add,
                holding_period_days: days,
                permanent,
            });
        }
        Ok(disallowed_total)
    }
}
