//! Tax-aware rebalancing: the trades that bring a portfolio's weights back within its drift
//! threshold at the least tax, as a proposal (nothing is booked).
//!
//! **How much of each asset.** Assets are the portfolio's targets: a holding counts under its
//! symbol when that is targeted, else under its asset class when that is, else under its own
//! symbol with a target of zero (as the drift rule counts them). The total is the positions at
//! the latest closes plus the new cash to invest. An asset whose weight of that total is off
//! its target by more than the threshold is brought halfway into its band (to `target ± half the
//! threshold`), so that a small move does not trip it again and less is traded than going back
//! to target; assets within their band are left as they are. What that leaves over (new cash,
//! or more sold than bought) goes to the assets below their target in proportion to their
//! shortfall, and what it lacks is taken from the assets above their target in proportion to
//! their excess, so every asset stays within its band.
//!
//! **Which lots to sell**, cheapest tax per dollar first: lots at a loss in taxable accounts
//! (the loss saves tax at the marginal rate of its term; a short-term loss saves more), then
//! lots in tax-sheltered accounts (IRAs, 401(k)s, HSAs, 529s: no tax), and a loss that a purchase
//! of substantially identical shares in the last 30 days would wash (no tax either way), then
//! long-term gains with the least gain per dollar (the highest basis first, HIFO), and
//! short-term gains only when asked: otherwise the asset is left over its band and the plan says
//! so. A sale is of specific lots, so its gain is the one shown.
//!
//! **What to buy, where.** A sale's proceeds stay in its account (money cannot move between a
//! taxable account and an IRA without a distribution or a contribution), and the new cash goes
//! to the account named (the portfolio's first taxable account otherwise); buys spend each
//! account's cash, the account with the most first. An asset targeted by class is bought as the
//! class's largest holding in the portfolio. No symbol sold at a loss in the last 30 days (or in
//! the plan itself), nor one substantially identical to it, is bought: that would make the loss
//! a wash sale (IRC §1091); the plan names the day it may be.
//!
//! Quantities are in shares to [`QUANTITY_DP`] places (fractional shares; a whole lot is sold
//! whole), sells rounded up and buys down, so no account spends cash it does not have.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::harvest::{identical, recent_purchase};
use crate::ledger::lots::{term, Lot, Term, WASH_SALE_WINDOW_DAYS};
use crate::ledger::types::AccountType;
use crate::ledger::Ledger;
use crate::market::AssetClass;
use crate::portfolio::Portfolio;
use crate::DomainError;

/// Places of the share quantities traded.
pub const QUANTITY_DP: u32 = 4;

/// What a rebalance takes beside the ledger and the portfolio.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The trade date: lots, holding periods and wash-sale windows as of it.
    pub as_of: NaiveDate,
    /// The latest close of each symbol.
    pub closes: &'a BTreeMap<String, Decimal>,
    /// Each symbol's asset class (the security master), for targets by class.
    pub classes: &'a BTreeMap<String, AssetClass>,
    /// New money to invest, and the account it arrives in.
    pub cash: Decimal,
    pub cash_account: Option<&'a str>,
    /// The marginal rates (short-term, long-term) gains are taxed at.
    pub rates: (Decimal, Decimal),
    /// Whether short-term gains may be realized.
    pub short_term: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Sell,
    Buy,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sell => "sell",
            Self::Buy => "buy",
        }
    }
}

/// One trade of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub account: String,
    pub side: Side,
    pub symbol: String,
    /// The asset of the portfolio it counts under.
    pub asset: String,
    pub quantity: Decimal,
    pub price: Decimal,
    /// `quantity × price`, to the cent.
    pub amount: Decimal,
    /// The lot a sale is of.
    pub lot_id: Option<String>,
    pub term: Option<Term>,
    /// A sale's gain (negative: a loss), and the tax it costs at the marginal rate (negative:
    /// saved); zero in a sheltered account or for a washed loss.
    pub gain: Decimal,
    pub tax: Decimal,
    pub note: Option<String>,
}

impl Order {
    /// The ledger row that books this order on `date` at its price: a sale is of its lot by
    /// specific identification, so the gain booked is the one shown.
    pub fn row(&self, date: NaiveDate, line: u64, description: &str) -> crate::ledger::RowInput {
        use crate::ledger::types::{Action, LotMethod};
        let sale = self.side == Side::Sell;
        let action = if sale { Action::Sell } else { Action::Buy };
        crate::ledger::RowInput {
            line,
            symbol: Some(self.symbol.clone()),
            quantity: self.quantity,
            price: self.price,
            lot_method: sale.then_some(LotMethod::Specific),
            lot_ids: self.lot_id.iter().cloned().collect(),
            description: Some(description.to_owned()),
            ..crate::ledger::RowInput::new(date, &self.account, action)
        }
    }
}

/// An asset before and after the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetResult {
    pub asset: String,
    pub target: Decimal,
    pub value_before: Decimal,
    pub weight_before: Decimal,
    pub value_after: Decimal,
    pub weight_after: Decimal,
    pub drift_after: Decimal,
}

/// The proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Sells first, then buys.
    pub orders: Vec<Order>,
    pub assets: Vec<AssetResult>,
    pub threshold: Decimal,
    /// The tax the sales cost (negative: saved), and the gains they realize by term in
    /// taxable accounts.
    pub tax: Decimal,
    pub short_term_gain: Decimal,
    pub long_term_gain: Decimal,
    /// Cash each account is left with that the plan could not invest.
    pub cash_left: BTreeMap<String, Decimal>,
    pub max_drift_before: Decimal,
    pub max_drift_after: Decimal,
    /// Every weight after the plan is within the threshold.
    pub within: bool,
    pub notes: Vec<String>,
}

/// To the cent, halves away from zero.
pub(crate) fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn refuse(field: &str, problem: String) -> DomainError {
    DomainError::Rejected { line: None, field: field.into(), problem }
}

/// The asset a symbol counts under in `p`.
fn asset_of(p: &Portfolio, classes: &BTreeMap<String, AssetClass>, symbol: &str) -> String {
    if p.target.contains_key(symbol) {
        return symbol.to_owned();
    }
    match classes.get(symbol).map(|c| c.as_str()).filter(|c| p.target.contains_key(*c)) {
        Some(class) => class.to_owned(),
        None => symbol.to_owned(),
    }
}

/// How a loss sold today would be washed by a purchase in the last 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Washed {
    No,
    /// Replaced in a taxable account: the loss moves into the replacement's basis.
    Deferred,
    /// Replaced in an IRA or other sheltered account: the loss is gone for good (Rev. Rul.
    /// 2008-5).
    Lost,
}

/// A lot that could be sold, and how cheaply.
struct Candidate<'a> {
    category: u8,
    /// Tax per dollar sold, within the category.
    key: Decimal,
    lot: &'a Lot,
    close: Decimal,
    term: Term,
    sheltered: bool,
    washed: Washed,
}

/// How cheap a lot is to sell, per dollar: (category, tax per dollar). A loss lost for good
/// costs the tax it would have saved, like a gain.
fn cost_of(tax_per_dollar: Decimal, sheltered: bool, washed: Washed, t: Term, gain: Decimal) -> (u8, Decimal) {
    match (sheltered, washed, gain < Decimal::ZERO, t) {
        (true, ..) | (false, Washed::Deferred, ..) => (1, Decimal::ZERO),
        (false, Washed::Lost, ..) => (2, -tax_per_dollar),
        (false, Washed::No, true, _) => (0, tax_per_dollar),
        (false, Washed::No, false, Term::Long) => (2, tax_per_dollar),
        (false, Washed::No, false, Term::Short) => (3, tax_per_dollar),
    }
}

/// The plan for portfolio `p` of `ledger` ([module docs](self)).
pub fn plan(ledger: &Ledger, p: &Portfolio, r: &Request<'_>) -> Result<Plan, DomainError> {
    if p.target.is_empty() {
        return Err(refuse("target", "the portfolio has no target allocation to rebalance to".into()));
    }
    if r.cash < Decimal::ZERO {
        return Err(refuse("cash", "must not be negative".into()));
    }
    let taxable = |account: &str| taxable_account(ledger, account);
    let cash_account = match r.cash_account {
        Some(a) if p.accounts.iter().any(|x| x == a) => a.to_owned(),
        Some(a) => return Err(refuse("cash_account", format!("{a} is not one of the portfolio's accounts"))),
        None => {
            let mut accounts: Vec<&String> = p.accounts.iter().collect();
            accounts.sort();
            accounts.iter().find(|a| taxable(a)).or(accounts.first()).map(|a| (*a).clone()).unwrap_or_default()
        }
    };
    let book = ledger.book(Some(r.as_of))?;
    let mut notes = Vec::new();
    let lots: Vec<&Lot> =
        book.lots.iter().filter(|l| l.quantity > Decimal::ZERO && p.accounts.contains(&l.account)).collect();
    let mut unpriced = BTreeSet::new();
    let mut before: BTreeMap<String, Decimal> = p.target.keys().map(|a| (a.clone(), Decimal::ZERO)).collect();
    for l in &lots {
        match r.closes.get(&l.symbol) {
            Some(close) => *before.entry(asset_of(p, r.classes, &l.symbol)).or_default() += l.quantity * close,
            None => {
                unpriced.insert(l.symbol.clone());
            }
        }
    }
    if !unpriced.is_empty() {
        notes
            .push(format!("not counted, without a close: {}", unpriced.iter().cloned().collect::<Vec<_>>().join(", ")));
    }
    let positions: Decimal = before.values().sum();
    let total = positions + r.cash;
    if total <= Decimal::ZERO {
        return Err(refuse("portfolio", "nothing is valued and no cash is given: nothing to rebalance".into()));
    }
    let threshold = p.drift_threshold;
    let half = threshold / Decimal::TWO;
    let target = |a: &str| p.target.get(a).copied().unwrap_or_default();

    // What each asset would be bought as, or why it cannot be: a targeted symbol itself, or a
    // targeted class's largest holding; never one sold at a loss in the last 30 days.
    let window = r.as_of - Duration::days(WASH_SALE_WINDOW_DAYS);
    let mut sold_at_loss: Vec<(String, NaiveDate)> = book
        .sales
        .iter()
        .filter(|s| s.reportable && s.date_sold >= window && s.proceeds < s.cost_basis)
        .map(|s| (s.symbol.clone(), s.date_sold))
        .collect();
    let buy_choice = |asset: &str, sold_at_loss: &[(String, NaiveDate)]| -> Result<(String, Decimal), Vec<String>> {
        let symbols: Vec<String> =
            if p.target.contains_key(asset) && AssetClass::ALL.iter().all(|c| c.as_str() != asset) {
                vec![asset.to_owned()]
            } else {
                let mut held: BTreeMap<&str, Decimal> = BTreeMap::new();
                for l in lots.iter().filter(|l| asset_of(p, r.classes, &l.symbol) == asset) {
                    if let Some(close) = r.closes.get(&l.symbol) {
                        *held.entry(&l.symbol).or_default() += l.quantity * close;
                    }
                }
                let mut held: Vec<(&str, Decimal)> = held.into_iter().collect();
                held.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                held.into_iter().map(|(s, _)| s.to_owned()).collect()
            };
        if symbols.is_empty() {
            return Err(vec![format!(
                "no holding of {asset} in the portfolio to buy more of: target a symbol instead"
            )]);
        }
        let mut why = Vec::new();
        for symbol in &symbols {
            let blocked = sold_at_loss.iter().filter(|(s, _)| identical(s, symbol)).max_by_key(|(_, d)| *d);
            match (blocked, r.closes.get(symbol)) {
                (Some((sold, day)), _) => why.push(format!(
                    "{symbol} is not bought: {sold} was sold at a loss on {day}, and buying it before {} would make that a wash sale",
                    *day + Duration::days(WASH_SALE_WINDOW_DAYS + 1)
                )),
                (None, None) => why.push(format!("{symbol} is not bought: it has no close")),
                (None, Some(close)) => return Ok((symbol.clone(), *close)),
            }
        }
        Err(why)
    };
    // Assets that cannot be bought keep their value (nothing is sold to buy them).
    let mut frozen = BTreeSet::new();
    for asset in p.target.keys() {
        if let Err(why) = buy_choice(asset, &sold_at_loss) {
            // Said only of an asset below its target, which would want buying.
            if before.get(asset).copied().unwrap_or_default() < target(asset) * total {
                notes.extend(why);
            }
            frozen.insert(asset.clone());
        }
    }

    // How much of each asset to hold after.
    let mut after: BTreeMap<String, Decimal> = before
        .iter()
        .map(|(a, v)| {
            let t = target(a);
            let aim = if (*v / total - t).abs() > threshold {
                (*v).clamp(((t - half) * total).max(Decimal::ZERO), (t + half) * total)
            } else {
                *v
            };
            (a.clone(), if frozen.contains(a) { aim.min(*v) } else { aim })
        })
        .collect();
    let gap = total - after.values().sum::<Decimal>();
    if gap > Decimal::ZERO {
        let short: Vec<(String, Decimal)> = after
            .iter()
            .filter(|(a, _)| !frozen.contains(*a))
            .map(|(a, v)| (a.clone(), (target(a) * total - *v).max(Decimal::ZERO)))
            .filter(|(_, s)| *s > Decimal::ZERO)
            .collect();
        let shortfall: Decimal = short.iter().map(|(_, s)| *s).sum();
        let open: Vec<(&String, &Decimal)> = p.target.iter().filter(|(a, _)| !frozen.contains(*a)).collect();
        let weight: Decimal = open.iter().map(|(_, t)| **t).sum();
        if gap <= shortfall {
            for (a, s) in &short {
                *after.entry(a.clone()).or_default() += gap * s / shortfall;
            }
        } else if weight > Decimal::ZERO {
            for (a, s) in &short {
                *after.entry(a.clone()).or_default() += s;
            }
            let rest = gap - shortfall;
            for (a, t) in open {
                *after.entry(a.clone()).or_default() += rest * t / weight;
            }
        } else {
            // Nothing can be bought: sell only what new cash does not already cover, less in
            // proportion to what each asset was to sell.
            let selling: Vec<(String, Decimal)> = before
                .iter()
                .map(|(a, v)| (a.clone(), *v - after.get(a).copied().unwrap_or_default()))
                .filter(|(_, d)| *d > Decimal::ZERO)
                .collect();
            let sold: Decimal = selling.iter().map(|(_, d)| *d).sum();
            let give_back = gap.min(sold);
            for (a, d) in &selling {
                *after.entry(a.clone()).or_default() += give_back * d / sold;
            }
        }
    } else if gap < Decimal::ZERO {
        let excess: Vec<(String, Decimal)> = after
            .iter()
            .map(|(a, v)| (a.clone(), (*v - target(a) * total).max(Decimal::ZERO)))
            .filter(|(_, e)| *e > Decimal::ZERO)
            .collect();
        let over: Decimal = excess.iter().map(|(_, e)| *e).sum();
        for (a, e) in &excess {
            *after.entry(a.clone()).or_default() += gap * e / over;
        }
    }

    // Sells: the cheapest tax per dollar first.
    let mut orders = Vec::new();
    let mut cash: BTreeMap<String, Decimal> = BTreeMap::new();
    if r.cash > Decimal::ZERO {
        cash.insert(cash_account.clone(), r.cash);
    }
    let mut sold: BTreeMap<String, Decimal> = BTreeMap::new();
    for (asset, v) in &before {
        let need = *v - after.get(asset).copied().unwrap_or_default();
        if need <= Decimal::ZERO {
            continue;
        }
        let mut candidates: Vec<Candidate<'_>> = lots
            .iter()
            .filter(|l| asset_of(p, r.classes, &l.symbol) == *asset)
            .filter_map(|l| {
                let close = *r.closes.get(&l.symbol)?;
                let value = l.quantity * close;
                let gain = value - l.basis;
                let t = term(l.acquired, r.as_of);
                let sheltered = !taxable(&l.account);
                let washed = match recent_purchase(ledger, &l.symbol, r.as_of, &l.purchase) {
                    Some(t) if !sheltered && gain < Decimal::ZERO => {
                        if taxable(&t.account) {
                            Washed::Deferred
                        } else {
                            Washed::Lost
                        }
                    }
                    _ => Washed::No,
                };
                let rate = if t == Term::Short { r.rates.0 } else { r.rates.1 };
                let per_dollar = if value.is_zero() { Decimal::ZERO } else { gain / value * rate };
                let (category, key) = cost_of(per_dollar, sheltered, washed, t, gain);
                Some(Candidate { category, key, lot: l, close, term: t, sheltered, washed })
            })
            .collect();
        candidates.sort_by(|a, b| {
            (a.category, a.key, &a.lot.account, &a.lot.lot_id).cmp(&(b.category, b.key, &b.lot.account, &b.lot.lot_id))
        });
        let mut left = need;
        let mut held_back = Decimal::ZERO;
        for Candidate { category, lot, close, term: t, sheltered, washed, .. } in candidates {
            if left <= Decimal::ZERO {
                break;
            }
            let value = lot.quantity * close;
            if category == 3 && !r.short_term {
                held_back += value.min(left);
                continue;
            }
            let quantity = if value <= left {
                lot.quantity
            } else {
                (left / close).round_dp_with_strategy(QUANTITY_DP, RoundingStrategy::AwayFromZero).min(lot.quantity)
            };
            let amount = quantity * close;
            let basis = if quantity == lot.quantity { lot.basis } else { lot.basis * quantity / lot.quantity };
            let gain = cents(amount - basis);
            let rate = if t == Term::Short { r.rates.0 } else { r.rates.1 };
            let (tax, note) = match (sheltered, washed) {
                (true, _) => (Decimal::ZERO, None),
                (false, Washed::Deferred) => (Decimal::ZERO, Some(WASHED_DEFERRED.to_owned())),
                (false, Washed::Lost) => (
                    Decimal::ZERO,
                    Some(
                        "washed by a purchase in a sheltered account in the last 30 days: the loss is lost for good"
                            .to_owned(),
                    ),
                ),
                (false, Washed::No) => (cents(gain * rate), None),
            };
            if !sheltered && gain < Decimal::ZERO {
                sold_at_loss.push((lot.symbol.clone(), r.as_of));
            }
            left -= amount;
            *cash.entry(lot.account.clone()).or_default() += amount;
            *sold.entry(asset.clone()).or_default() += amount;
            orders.push(Order {
                account: lot.account.clone(),
                side: Side::Sell,
                symbol: lot.symbol.clone(),
                asset: asset.clone(),
                quantity,
                price: close,
                amount: cents(amount),
                lot_id: Some(lot.lot_id.clone()),
                term: Some(t),
                gain: if sheltered { Decimal::ZERO } else { gain },
                tax,
                note,
            });
        }
        if held_back > Decimal::ZERO && left > Decimal::ZERO {
            notes.push(format!(
                "{} of {asset} left unsold: only lots with short-term gains remain (allow short-term gains to sell them)",
                cents(left.min(held_back))
            ));
        }
    }

    carry_washed_losses(ledger, r, &lots, &mut orders);

    // Buys: each account's cash, the account with the most first.
    let mut bought: BTreeMap<String, Decimal> = BTreeMap::new();
    for (asset, v) in &before {
        let mut need = after.get(asset).copied().unwrap_or_default() - *v;
        if need <= Decimal::ZERO {
            continue;
        }
        let (symbol, close) = match buy_choice(asset, &sold_at_loss) {
            Ok(choice) => choice,
            Err(why) => {
                notes.extend(why);
                continue;
            }
        };
        let mut accounts: Vec<(String, Decimal)> = cash.iter().map(|(a, c)| (a.clone(), *c)).collect();
        accounts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (account, available) in accounts {
            if need <= Decimal::ZERO {
                break;
            }
            let spend = need.min(available);
            let quantity = (spend / close).round_dp_with_strategy(QUANTITY_DP, RoundingStrategy::ToZero);
            if quantity <= Decimal::ZERO {
                continue;
            }
            let amount = quantity * close;
            need -= amount;
            *cash.entry(account.clone()).or_default() -= amount;
            *bought.entry(asset.clone()).or_default() += amount;
            orders.push(Order {
                account,
                side: Side::Buy,
                symbol: symbol.clone(),
                asset: asset.clone(),
                quantity,
                price: close,
                amount: cents(amount),
                lot_id: None,
                term: None,
                gain: Decimal::ZERO,
                tax: Decimal::ZERO,
                note: None,
            });
        }
    }

    // The weights before and after, over the positions.
    let weigh = |values: &BTreeMap<String, Decimal>| {
        let total: Decimal = values.values().sum();
        values
            .iter()
            .map(|(a, v)| (a.clone(), if total.is_zero() { Decimal::ZERO } else { *v / total }))
            .collect::<BTreeMap<_, _>>()
    };
    let finished: BTreeMap<String, Decimal> = before
        .iter()
        .map(|(a, v)| {
            let out = sold.get(a).copied().unwrap_or_default();
            let inn = bought.get(a).copied().unwrap_or_default();
            (a.clone(), *v - out + inn)
        })
        .collect();
    let (weights_before, weights_after) = (weigh(&before), weigh(&finished));
    let dp = crate::portfolio::WEIGHT_DP;
    let assets: Vec<AssetResult> = before
        .iter()
        .map(|(a, v)| {
            let w_after = weights_after[a];
            AssetResult {
                asset: a.clone(),
                target: target(a),
                value_before: cents(*v),
                weight_before: weights_before[a].round_dp(dp),
                value_after: cents(finished[a]),
                weight_after: w_after.round_dp(dp),
                drift_after: (w_after - target(a)).round_dp(dp),
            }
        })
        .collect();
    let max_drift = |w: &BTreeMap<String, Decimal>| {
        w.iter().map(|(a, x)| (*x - target(a)).abs()).max().unwrap_or_default().round_dp(dp)
    };
    let (max_drift_before, max_drift_after) = (max_drift(&weights_before), max_drift(&weights_after));
    let mut seen = BTreeSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    if orders.is_empty() && notes.is_empty() {
        notes.push("every weight is within the threshold and no cash is given: nothing to trade".into());
    }
    // Gains realized in taxable accounts (a sheltered sale's is zero; a washed loss is not
    // allowed this year).
    let gain_of = |t: Term| -> Decimal {
        orders.iter().filter(|o| o.side == Side::Sell && o.term == Some(t) && o.note.is_none()).map(|o| o.gain).sum()
    };
    Ok(Plan {
        tax: orders.iter().map(|o| o.tax).sum(),
        short_term_gain: gain_of(Term::Short),
        long_term_gain: gain_of(Term::Long),
        orders,
        assets,
        threshold,
        cash_left: cash.into_iter().filter(|(_, c)| *c > Decimal::ZERO).map(|(a, c)| (a, cents(c))).collect(),
        within: max_drift_after <= threshold,
        max_drift_before,
        max_drift_after,
        notes,
    })
}

fn taxable_account(ledger: &Ledger, account: &str) -> bool {
    ledger.accounts.get(account).is_some_and(|a| a.account_type == AccountType::Taxable)
}

/// The note of a sale whose loss a purchase of the last 30 days washes (its basis takes it).
const WASHED_DEFERRED: &str = "washed by a purchase in the last 30 days: the loss moves into that purchase's basis";

/// A loss the plan washes into a purchase of the last 30 days moves into that lot's basis
/// (IRC §1091(d); the earliest purchase first, Treas. Reg. §1.1091-1(c)); when the plan sells
/// that lot too, the moved loss is realized with it, and washed again by any other purchase of
/// the window (else it lowers the sale's tax).
fn carry_washed_losses(ledger: &Ledger, r: &Request<'_>, lots: &[&Lot], orders: &mut [Order]) {
    let window = r.as_of - Duration::days(WASH_SALE_WINDOW_DAYS);
    let symbols: BTreeSet<String> = orders
        .iter()
        .filter(|o| o.side == Side::Sell && o.note.as_deref() == Some(WASHED_DEFERRED))
        .map(|o| o.symbol.clone())
        .collect();
    for symbol in symbols {
        let (mut shares, mut loss) = orders
            .iter()
            .filter(|o| o.side == Side::Sell && o.symbol == symbol && o.note.as_deref() == Some(WASHED_DEFERRED))
            .fold((Decimal::ZERO, Decimal::ZERO), |(q, l), o| (q + o.quantity, l - o.gain));
        let mut replacements: Vec<(NaiveDate, usize, &Lot)> = orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.side == Side::Sell && o.symbol == symbol && o.note.is_none())
            .filter_map(|(i, o)| {
                let lot = lots.iter().find(|l| Some(&l.lot_id) == o.lot_id.as_ref() && l.account == o.account)?;
                (taxable_account(ledger, &lot.account) && lot.purchased >= window).then_some((lot.purchased, i, *lot))
            })
            .collect();
        replacements.sort_by_key(|(purchased, i, _)| (*purchased, *i));
        for (_, i, lot) in replacements {
            if shares <= Decimal::ZERO {
                break;
            }
            let o = &mut orders[i];
            let moved = o.quantity.min(shares);
            let carried = cents(loss * moved / shares);
            (shares, loss) = (shares - moved, loss - carried);
            // The moved shares' own result, and the rest of the sale's.
            let per_share = if lot.quantity.is_zero() { Decimal::ZERO } else { lot.basis / lot.quantity };
            let moved_result = cents(moved * (o.price - per_share) - carried);
            let rest = o.gain - cents(moved * (o.price - per_share));
            o.gain -= carried;
            let rate = if o.term == Some(Term::Short) { r.rates.0 } else { r.rates.1 };
            if recent_purchase(ledger, &symbol, r.as_of, &lot.purchase).is_some() && moved_result < Decimal::ZERO {
                // The moved shares' loss is washed again; the rest is taxed.
                o.tax = cents(rest * rate);
                o.note = Some(
                    "carries a loss this plan washes into it, washed again by another purchase in the last 30 days"
                        .to_owned(),
                );
            } else {
                o.tax = cents(o.gain * rate);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ledger::types::{Action, LotMethod, Trade};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Brokerage (taxable): VTI bought in 2020 at 40 (T2), in 2022 at 90 (T3), in March 2026 at
    /// 120 (T4, a short-term loss at 100) and in October 2026 at 80 (T5, a short-term gain);
    /// BND at 100. IRA: VTI at 50 and BND at 100. At 100 each: VTI 7,000, BND 3,000.
    fn ledger(extra: &[(u64, &str, &str, Action, &str, Decimal, Decimal)]) -> Ledger {
        let mut l = Ledger::with_accounts(&[("Brokerage", AccountType::Taxable), ("IRA", AccountType::TraditionalIra)]);
        let row = |n, date: &str, account: &str, action, symbol: Option<&str>, q: Decimal, p: Decimal| {
            Trade::test_row(n, d(date), account, action, symbol, q, p)
        };
        l.trades = vec![
            row(1, "2020-01-02", "Brokerage", Action::Deposit, None, dec!(1), dec!(100000)),
            row(2, "2020-01-02", "Brokerage", Action::Buy, Some("VTI"), dec!(20), dec!(40)),
            row(3, "2022-01-03", "Brokerage", Action::Buy, Some("VTI"), dec!(20), dec!(90)),
            row(4, "2026-03-02", "Brokerage", Action::Buy, Some("VTI"), dec!(10), dec!(120)),
            row(5, "2026-10-15", "Brokerage", Action::Buy, Some("VTI"), dec!(10), dec!(80)),
            row(6, "2020-01-02", "Brokerage", Action::Buy, Some("BND"), dec!(10), dec!(100)),
            row(7, "2020-01-02", "IRA", Action::Deposit, None, dec!(1), dec!(10000)),
            row(8, "2020-01-02", "IRA", Action::Buy, Some("VTI"), dec!(10), dec!(50)),
            row(9, "2020-01-02", "IRA", Action::Buy, Some("BND"), dec!(20), dec!(100)),
        ];
        for (n, date, account, action, symbol, q, p) in extra {
            l.trades.push(row(*n, date, account, *action, Some(symbol), *q, *p));
        }
        l
    }

    fn portfolio(target: &[(&str, Decimal)]) -> Portfolio {
        Portfolio {
            accounts: vec!["Brokerage".into(), "IRA".into()],
            target: target.iter().map(|(a, w)| ((*a).to_owned(), *w)).collect(),
            ..Portfolio::default()
        }
    }

    fn closes() -> BTreeMap<String, Decimal> {
        [("VTI".into(), dec!(100)), ("BND".into(), dec!(100))].into()
    }

    fn run(ledger: &Ledger, target: &[(&str, Decimal)], cash: Decimal, short_term: bool) -> Plan {
        let (closes, classes) = (closes(), BTreeMap::new());
        let request = Request {
            as_of: d("2026-12-01"),
            closes: &closes,
            classes: &classes,
            cash,
            cash_account: None,
            rates: (dec!(0.24), dec!(0.15)),
            short_term,
        };
        plan(ledger, &portfolio(target), &request).unwrap()
    }

    /// (side, account, symbol, lot, quantity, gain, tax) of an order.
    type Line<'a> = (Side, &'a str, &'a str, Option<&'a str>, Decimal, Decimal, Decimal);

    fn orders(p: &Plan) -> Vec<Line<'_>> {
        p.orders
            .iter()
            .map(|o| (o.side, o.account.as_str(), o.symbol.as_str(), o.lot_id.as_deref(), o.quantity, o.gain, o.tax))
            .collect()
    }

    #[test]
    fn a_loss_is_sold_first_and_its_proceeds_buy_in_the_same_account() {
        // 70/30 against 60/40: VTI to 62.5% (halfway into the band), 750 sold from the lot at a
        // loss (7.5 × (100 − 120) = −150, saving 24%: 36), BND bought with it.
        let p = run(&ledger(&[]), &[("VTI", dec!(0.6)), ("BND", dec!(0.4))], dec!(0), false);
        assert_eq!(
            orders(&p),
            [
                (Side::Sell, "Brokerage", "VTI", Some("T4"), dec!(7.5), dec!(-150), dec!(-36)),
                (Side::Buy, "Brokerage", "BND", None, dec!(7.5), dec!(0), dec!(0)),
            ]
        );
        assert_eq!((p.tax, p.short_term_gain, p.long_term_gain), (dec!(-36), dec!(-150), dec!(0)));
        assert_eq!((p.assets[1].asset.as_str(), p.assets[1].weight_after), ("VTI", dec!(0.625)));
        assert_eq!((p.max_drift_before, p.max_drift_after, p.within), (dec!(0.1), dec!(0.025), true));
    }

    #[test]
    fn then_the_ira_then_long_term_gains_from_the_highest_basis() {
        // 40/60: VTI to 42.5%, 2,750 sold: the loss (1,000), the IRA's shares (1,000, no tax),
        // then 750 of the 2022 lot (basis 90: a gain of 10 a share at 15%) before the 2020 lot.
        let p = run(&ledger(&[]), &[("VTI", dec!(0.4)), ("BND", dec!(0.6))], dec!(0), false);
        assert_eq!(
            orders(&p),
            [
                (Side::Sell, "Brokerage", "VTI", Some("T4"), dec!(10), dec!(-200), dec!(-48)),
                (Side::Sell, "IRA", "VTI", Some("T8"), dec!(10), dec!(0), dec!(0)),
                (Side::Sell, "Brokerage", "VTI", Some("T3"), dec!(7.5), dec!(75), dec!(11.25)),
                (Side::Buy, "Brokerage", "BND", None, dec!(17.5), dec!(0), dec!(0)),
                (Side::Buy, "IRA", "BND", None, dec!(10), dec!(0), dec!(0)),
            ]
        );
        assert_eq!((p.tax, p.short_term_gain, p.long_term_gain), (dec!(-36.75), dec!(-200), dec!(75)));
        assert!(p.within && p.cash_left.is_empty(), "{p:?}");
    }

    #[test]
    fn short_term_gains_are_realized_only_when_asked() {
        // 2/98: 6,550 of VTI to sell; the loss, the IRA and both long-term lots make 6,000; the
        // last 550 would be a short-term gain.
        let ledger = ledger(&[]);
        let p = run(&ledger, &[("VTI", dec!(0.02)), ("BND", dec!(0.98))], dec!(0), false);
        assert!(p.orders.iter().all(|o| o.lot_id.as_deref() != Some("T5")), "{p:?}");
        assert_eq!(
            p.notes,
            ["550.00 of VTI left unsold: only lots with short-term gains remain (allow short-term gains to sell them)"]
        );
        assert_eq!((p.assets[1].weight_after, p.within), (dec!(0.1), false));
        let asked = run(&ledger, &[("VTI", dec!(0.02)), ("BND", dec!(0.98))], dec!(0), true);
        let last_sale = asked.orders.iter().rfind(|o| o.side == Side::Sell).unwrap();
        assert_eq!(
            (last_sale.lot_id.as_deref(), last_sale.quantity, last_sale.tax),
            (Some("T5"), dec!(5.5), dec!(26.4))
        );
        assert_eq!((asked.assets[1].weight_after, asked.within), (dec!(0.045), true));
    }

    #[test]
    fn a_symbol_sold_at_a_loss_in_the_last_30_days_is_not_bought() {
        // BND sold at a loss on 2026-11-20: buying it before 2026-12-21 would wash that loss, so
        // nothing is sold to buy it either (the proceeds would sit in cash).
        let ledger = ledger(&[(10, "2026-11-20", "Brokerage", Action::Sell, "BND", dec!(10), dec!(90))]);
        let p = run(&ledger, &[("VTI", dec!(0.6)), ("BND", dec!(0.4))], dec!(0), false);
        assert!(p.orders.is_empty(), "{p:?}");
        assert_eq!(
            p.notes,
            ["BND is not bought: BND was sold at a loss on 2026-11-20, and buying it before 2026-12-21 would make that a wash sale"]
        );
        assert!(p.cash_left.is_empty() && !p.within, "{p:?}");
        // New cash still goes where it can: to VTI, though above its target, rather than idle.
        let p = run(&ledger, &[("VTI", dec!(0.6)), ("BND", dec!(0.4))], dec!(1000), false);
        assert!(p.orders.iter().all(|o| o.side == Side::Buy && o.symbol == "VTI"), "{p:?}");
    }

    #[test]
    fn new_cash_is_invested_before_anything_is_sold() {
        // 70/30 at target; 1,000 new brings the total to 11,000: VTI to 7,700 and BND to 3,300,
        // bought with the cash alone.
        let p = run(&ledger(&[]), &[("VTI", dec!(0.7)), ("BND", dec!(0.3))], dec!(1000), false);
        assert_eq!(
            orders(&p),
            [
                (Side::Buy, "Brokerage", "BND", None, dec!(3), dec!(0), dec!(0)),
                (Side::Buy, "Brokerage", "VTI", None, dec!(7), dec!(0), dec!(0)),
            ]
        );
        assert_eq!((p.tax, p.max_drift_after), (dec!(0), dec!(0)));
        // Nothing to do without cash.
        let idle = run(&ledger(&[]), &[("VTI", dec!(0.7)), ("BND", dec!(0.3))], dec!(0), false);
        assert!(idle.orders.is_empty() && idle.within, "{idle:?}");
    }

    /// The plan replayed through the ledger's own lot engine: the weights it reports are the
    /// book's, within the threshold when it says so; no sale of today is a wash sale; a
    /// short-term gain is realized only when asked, and then only once nothing cheaper of the
    /// asset is left.
    fn replayed(
        lots: &[(usize, usize, u32, u32, usize)],
        closes_in: [u32; 3],
        weights: [u32; 3],
        cash: u32,
        short_term: bool,
    ) {
        const SYMBOLS: [&str; 3] = ["VTI", "BND", "VXUS"];
        const ACCOUNTS: [&str; 2] = ["Brokerage", "IRA"];
        const DATES: [&str; 6] = ["2019-03-01", "2021-06-01", "2024-02-01", "2026-03-02", "2026-11-10", "2026-11-25"];
        let mut ledger = Ledger::with_accounts(&[("Brokerage", AccountType::Taxable), ("IRA", AccountType::RothIra)]);
        let mut n = 0;
        let mut row = |date: &str, account: &str, action, symbol: Option<&str>, q: Decimal, p: Decimal| {
            n += 1;
            Trade::test_row(n, d(date), account, action, symbol, q, p)
        };
        let mut trades = vec![
            row("2019-01-02", "Brokerage", Action::Deposit, None, dec!(1), dec!(10000000)),
            row("2019-01-02", "IRA", Action::Deposit, None, dec!(1), dec!(10000000)),
        ];
        for &(symbol, account, quantity, price, date) in lots {
            let (q, p) = (Decimal::from(quantity), Decimal::from(price));
            trades.push(row(DATES[date], ACCOUNTS[account], Action::Buy, Some(SYMBOLS[symbol]), q, p));
        }
        trades.sort_by_key(|t| t.trade_date);
        ledger.trades = trades;
        let closes: BTreeMap<String, Decimal> =
            SYMBOLS.iter().zip(closes_in).map(|(s, c)| ((*s).to_owned(), Decimal::from(c))).collect();
        let sum: u32 = weights.iter().sum();
        let mut target: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut given = Decimal::ZERO;
        for (i, w) in weights.iter().enumerate() {
            let weight =
                if i == 2 { Decimal::ONE - given } else { (Decimal::from(*w) / Decimal::from(sum)).round_dp(2) };
            given += weight;
            if weight > Decimal::ZERO {
                target.insert(SYMBOLS[i].to_owned(), weight);
            }
        }
        let p =
            Portfolio { accounts: ACCOUNTS.iter().map(|a| (*a).to_owned()).collect(), target, ..Portfolio::default() };
        let classes = BTreeMap::new();
        let as_of = d("2026-12-01");
        let request = Request {
            as_of,
            closes: &closes,
            classes: &classes,
            cash: Decimal::from(cash),
            cash_account: Some("Brokerage"),
            rates: (dec!(0.32), dec!(0.15)),
            short_term,
        };
        let plan = plan(&ledger, &p, &request).unwrap();

        // A short-term gain only when asked, and only after every cheaper lot of its asset.
        let book = ledger.book(Some(as_of)).unwrap();
        for o in plan.orders.iter().filter(|o| o.side == Side::Sell && o.account == "Brokerage") {
            if o.term == Some(Term::Short) && o.gain > Decimal::ZERO {
                assert!(short_term, "a short-term gain unasked: {o:?}");
                for other in book.lots.iter().filter(|l| l.symbol == o.symbol) {
                    let gain = other.quantity * closes[&other.symbol] - other.basis;
                    let cheaper =
                        other.account == "IRA" || gain <= Decimal::ZERO || term(other.acquired, as_of) == Term::Long;
                    if cheaper {
                        let sold: Decimal = plan
                            .orders
                            .iter()
                            .filter(|x| x.lot_id.as_deref() == Some(&other.lot_id))
                            .map(|x| x.quantity)
                            .sum();
                        assert_eq!(
                            sold, other.quantity,
                            "{} left while a short-term gain was sold: {plan:?}",
                            other.lot_id
                        );
                    }
                }
            }
        }

        // Replayed: the same weights, and no wash sale today.
        let next = ledger.trades.len() as u64;
        let mut replay = ledger.clone();
        if cash > 0 {
            replay.trades.push(Trade::test_row(
                next + 1,
                as_of,
                "Brokerage",
                Action::Deposit,
                None,
                dec!(1),
                Decimal::from(cash),
            ));
        }
        for (i, o) in plan.orders.iter().enumerate() {
            let action = if o.side == Side::Sell { Action::Sell } else { Action::Buy };
            let mut t =
                Trade::test_row(next + 2 + i as u64, as_of, &o.account, action, Some(&o.symbol), o.quantity, o.price);
            if let Some(lot) = &o.lot_id {
                t.lot_method = Some(LotMethod::Specific);
                t.lot_ids = vec![lot.clone()];
            }
            replay.trades.push(t);
        }
        let after = replay.book(Some(as_of)).unwrap();
        // No purchase of the plan washes a loss; a loss washed by an earlier purchase is one
        // the plan said so of.
        let row_of = |trade: &str| {
            trade.split('.').next().unwrap_or_default().trim_start_matches('T').parse::<u64>().unwrap_or(0)
        };
        for w in after.wash_sales.iter().filter(|w| w.sale_date == as_of) {
            assert!(row_of(&w.replacement_lot_id) <= next, "the plan's own purchase washes a loss: {w:?}");
            let order = &plan.orders[(row_of(&w.sale_id) - next - 2) as usize];
            assert!(order.note.as_deref().is_some_and(|n| n.contains("washed")), "{w:?}: {order:?}");
        }
        let mut values: BTreeMap<String, Decimal> = p.target.keys().map(|a| (a.clone(), Decimal::ZERO)).collect();
        for l in &after.lots {
            *values.entry(l.symbol.clone()).or_default() += l.quantity * closes[&l.symbol];
        }
        let total: Decimal = values.values().sum();
        for a in &plan.assets {
            let weight = if total.is_zero() { Decimal::ZERO } else { values[&a.asset] / total };
            assert!((weight - a.weight_after).abs() <= dec!(0.000001), "{}: {weight} vs {a:?}", a.asset);
            if plan.within {
                assert!(
                    (weight - a.target).abs() <= p.drift_threshold + dec!(0.000001),
                    "{}: {weight}: {plan:?}",
                    a.asset
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn a_plan_replays_through_the_ledger(
            lots in proptest::collection::vec((0usize..3, 0usize..2, 1u32..60, 20u32..200, 0usize..6), 1..14),
            closes in (20u32..200, 20u32..200, 20u32..200),
            weights in (0u32..10, 0u32..10, 1u32..10),
            cash in proptest::prop_oneof![proptest::strategy::Just(0u32), 0u32..5000],
            short_term in proptest::bool::ANY,
        ) {
            replayed(&lots, [closes.0, closes.1, closes.2], [weights.0, weights.1, weights.2], cash, short_term);
        }
    }
}
