//! Option strategies: their legs, net premium, profit at the horizon, maximum profit and
//! loss, breakevens, probability of profit under the lognormal model and net Greeks; and a
//! selector that proposes strategies for a market view.
//!
//! Every leg is opened at its Black-Scholes-Merton price with the market's volatility, rate
//! and dividend yield. The horizon is the (near) expiry: there every option expiring then is
//! worth its intrinsic value and a later-expiring option (the calendar spread's far leg) is
//! worth its Black-Scholes-Merton price for the time left, with the same volatility, rate
//! and dividend yield. Profit is the legs' value at the horizon less what was paid for them
//! (interest on the premium is ignored). Money is per unit of the underlying times each leg's
//! quantity (a listed contract is usually 100 units).

use serde::{Deserialize, Serialize};

use super::{bsm, check_market, norm_cdf, BsInput, OptionKind};
use crate::{invalid, SimError};

/// The strategies this module builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    /// Long the underlying, short a call (strikes: [call]).
    CoveredCall,
    /// Long the underlying, long a put (strikes: [put]).
    ProtectivePut,
    /// Long the underlying, long a put, short a call (strikes: [put, call]).
    Collar,
    /// Long a call, short a call of a higher strike (strikes: [long, short]).
    BullCallSpread,
    /// Long a put, short a put of a lower strike (strikes: [short, long]).
    BearPutSpread,
    /// Long a call and a put of the same strike (strikes: [strike]).
    LongStraddle,
    /// Long a put and a call of a higher strike (strikes: [put, call]).
    LongStrangle,
    /// Long a call, short two calls, long a call, strikes equally spaced (strikes: [low,
    /// middle, high]).
    Butterfly,
    /// Long a put, short a put, short a call, long a call (strikes: [long put, short put,
    /// short call, long call]).
    IronCondor,
    /// Long a put, short a put and a call at the middle strike, long a call (strikes: [low,
    /// middle, high]).
    IronButterfly,
    /// Short a near call, long a far call of the same strike (strikes: [strike]).
    CalendarSpread,
}

impl StrategyName {
    /// Every strategy, in a fixed order.
    pub const ALL: [StrategyName; 11] = [
        StrategyName::CoveredCall,
        StrategyName::ProtectivePut,
        StrategyName::Collar,
        StrategyName::BullCallSpread,
        StrategyName::BearPutSpread,
        StrategyName::LongStraddle,
        StrategyName::LongStrangle,
        StrategyName::Butterfly,
        StrategyName::IronCondor,
        StrategyName::IronButterfly,
        StrategyName::CalendarSpread,
    ];

    /// How many strikes the strategy takes.
    pub fn strike_count(self) -> usize {
        match self {
            StrategyName::CoveredCall
            | StrategyName::ProtectivePut
            | StrategyName::LongStraddle
            | StrategyName::CalendarSpread => 1,
            StrategyName::Collar
            | StrategyName::BullCallSpread
            | StrategyName::BearPutSpread
            | StrategyName::LongStrangle => 2,
            StrategyName::Butterfly | StrategyName::IronButterfly => 3,
            StrategyName::IronCondor => 4,
        }
    }

    /// Default strikes from the volatility: multiples of one standard deviation of the
    /// log-price to the horizon, `spot·exp(k·σ√T)`, rounded to the strike grid.
    pub fn default_strikes(self, spot: f64, volatility: f64, expiry: f64) -> Vec<f64> {
        let sd = volatility * expiry.sqrt();
        let at = |k: f64| round_strike(spot * (k * sd).exp(), spot);
        match self {
            StrategyName::CoveredCall => vec![at(1.0)],
            StrategyName::ProtectivePut => vec![at(-1.0)],
            StrategyName::Collar => vec![at(-1.0), at(1.0)],
            StrategyName::BullCallSpread => vec![at(0.0), at(1.0)],
            StrategyName::BearPutSpread => vec![at(-1.0), at(0.0)],
            StrategyName::LongStraddle | StrategyName::CalendarSpread => vec![at(0.0)],
            StrategyName::LongStrangle => vec![at(-0.5), at(0.5)],
            StrategyName::Butterfly | StrategyName::IronButterfly => {
                let (mid, wing) = (at(0.0), (spot * sd).max(strike_step(spot)));
                let wing = round_strike(wing, spot).max(strike_step(spot));
                vec![mid - wing, mid, mid + wing]
            }
            StrategyName::IronCondor => vec![at(-2.0), at(-1.0), at(1.0), at(2.0)],
        }
    }
}

/// The spacing of listed strikes near `spot`: 0.5 below 25, 1 below 200, 5 above.
pub fn strike_step(spot: f64) -> f64 {
    if spot < 25.0 {
        0.5
    } else if spot < 200.0 {
        1.0
    } else {
        5.0
    }
}

fn round_strike(strike: f64, spot: f64) -> f64 {
    let step = strike_step(spot);
    ((strike / step).round() * step).max(step)
}

/// What a leg holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Instrument {
    Call,
    Put,
    /// The underlying itself.
    Underlying,
}

/// Bought or sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Long,
    Short,
}

impl Side {
    fn sign(self) -> f64 {
        match self {
            Side::Long => 1.0,
            Side::Short => -1.0,
        }
    }
}

/// One leg of a strategy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    pub instrument: Instrument,
    /// Strike (`None` for the underlying).
    pub strike: Option<f64>,
    /// Expiry in years (`None` for the underlying).
    pub expiry: Option<f64>,
    /// Units of the underlying the leg is on.
    pub quantity: f64,
    pub side: Side,
    /// Price per unit when opened: the Black-Scholes-Merton price, or the spot for the
    /// underlying.
    pub premium: f64,
}

/// The market a strategy is opened in: rates continuously compounded, volatility per year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Market {
    pub spot: f64,
    pub volatility: f64,
    pub rate: f64,
    pub dividend: f64,
}

/// Net Greeks of the position (sums over the legs times quantity and side), in the units of
/// [`super::Greeks`]; the underlying has delta 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NetGreeks {
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
    pub rho: f64,
}

/// A strategy ready to analyse: its legs in a market.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    pub name: StrategyName,
    pub market: Market,
    pub legs: Vec<Leg>,
    /// The horizon in years: the earliest expiry.
    pub horizon: f64,
}

impl Strategy {
    /// Builds the named strategy on `quantity` units with the given strikes (ascending, as
    /// listed on [`StrategyName`]), expiry in years and, for the calendar spread, the far
    /// expiry.
    pub fn build(
        name: StrategyName,
        market: Market,
        strikes: &[f64],
        expiry: f64,
        far_expiry: Option<f64>,
        quantity: f64,
    ) -> Result<Strategy, SimError> {
        check_market(market.spot, 1.0, market.rate, market.dividend, expiry)?;
        if !(market.volatility.is_finite() && market.volatility > 0.0) {
            return Err(invalid("volatility", "must be a positive number"));
        }
        check_spread(market.volatility, far_expiry.unwrap_or(expiry).max(expiry))?;
        if !(quantity.is_finite() && quantity > 0.0) {
            return Err(invalid("quantity", "must be a positive number"));
        }
        if strikes.len() != name.strike_count() {
            return Err(invalid(
                "strikes",
                format!("{name:?} takes {} strikes, not {}", name.strike_count(), strikes.len()),
            ));
        }
        if strikes.iter().any(|k| !(k.is_finite() && *k > 0.0)) {
            return Err(invalid("strikes", "must be positive numbers"));
        }
        if strikes.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid("strikes", "must be strictly increasing"));
        }
        if name == StrategyName::Butterfly || name == StrategyName::IronButterfly {
            let (a, b) = (strikes[1] - strikes[0], strikes[2] - strikes[1]);
            if (a - b).abs() > 1e-9 * strikes[2] {
                return Err(invalid("strikes", "a butterfly's strikes must be equally spaced"));
            }
        }
        let far = match (name, far_expiry) {
            (StrategyName::CalendarSpread, Some(far)) if far.is_finite() && far > expiry => far,
            (StrategyName::CalendarSpread, _) => {
                return Err(invalid("far_days", "the calendar spread needs a far expiry after the near one"));
            }
            (_, Some(_)) => return Err(invalid("far_days", "only the calendar spread takes a far expiry")),
            (_, None) => expiry,
        };
        use Instrument::{Call, Put, Underlying};
        use Side::{Long, Short};
        let k = strikes;
        let spec: Vec<(Instrument, Option<f64>, f64, f64, Side)> = match name {
            StrategyName::CoveredCall => {
                vec![(Underlying, None, 0.0, 1.0, Long), (Call, Some(k[0]), expiry, 1.0, Short)]
            }
            StrategyName::ProtectivePut => {
                vec![(Underlying, None, 0.0, 1.0, Long), (Put, Some(k[0]), expiry, 1.0, Long)]
            }
            StrategyName::Collar => vec![
                (Underlying, None, 0.0, 1.0, Long),
                (Put, Some(k[0]), expiry, 1.0, Long),
                (Call, Some(k[1]), expiry, 1.0, Short),
            ],
            StrategyName::BullCallSpread => {
                vec![(Call, Some(k[0]), expiry, 1.0, Long), (Call, Some(k[1]), expiry, 1.0, Short)]
            }
            StrategyName::BearPutSpread => {
                vec![(Put, Some(k[1]), expiry, 1.0, Long), (Put, Some(k[0]), expiry, 1.0, Short)]
            }
            StrategyName::LongStraddle => {
                vec![(Call, Some(k[0]), expiry, 1.0, Long), (Put, Some(k[0]), expiry, 1.0, Long)]
            }
            StrategyName::LongStrangle => {
                vec![(Put, Some(k[0]), expiry, 1.0, Long), (Call, Some(k[1]), expiry, 1.0, Long)]
            }
            StrategyName::Butterfly => vec![
                (Call, Some(k[0]), expiry, 1.0, Long),
                (Call, Some(k[1]), expiry, 2.0, Short),
                (Call, Some(k[2]), expiry, 1.0, Long),
            ],
            StrategyName::IronCondor => vec![
                (Put, Some(k[0]), expiry, 1.0, Long),
                (Put, Some(k[1]), expiry, 1.0, Short),
                (Call, Some(k[2]), expiry, 1.0, Short),
                (Call, Some(k[3]), expiry, 1.0, Long),
            ],
            StrategyName::IronButterfly => vec![
                (Put, Some(k[0]), expiry, 1.0, Long),
                (Put, Some(k[1]), expiry, 1.0, Short),
                (Call, Some(k[1]), expiry, 1.0, Short),
                (Call, Some(k[2]), expiry, 1.0, Long),
            ],
            StrategyName::CalendarSpread => {
                vec![(Call, Some(k[0]), expiry, 1.0, Short), (Call, Some(k[0]), far, 1.0, Long)]
            }
        };
        let legs = spec
            .into_iter()
            .map(|(instrument, strike, t, q, side)| {
                let (premium, expiry) = match (instrument, strike) {
                    (Underlying, _) | (_, None) => (market.spot, None),
                    (_, Some(strike)) => (option_value(instrument, market, market.spot, strike, t), Some(t)),
                };
                Leg { instrument, strike, expiry, quantity: q * quantity, side, premium }
            })
            .collect();
        Ok(Strategy { name, market, legs, horizon: expiry })
    }

    /// Cash paid to open the position (positive, a debit) or received (negative, a credit),
    /// the underlying's price included.
    pub fn net_premium(&self) -> f64 {
        self.legs.iter().map(|l| l.side.sign() * l.quantity * l.premium).sum()
    }

    /// Value of the legs at the horizon when the underlying is at `price`.
    pub fn payoff(&self, price: f64) -> f64 {
        self.legs.iter().map(|l| l.side.sign() * l.quantity * self.leg_value(l, price)).sum()
    }

    /// Profit at the horizon: [`Strategy::payoff`] less the net premium.
    pub fn profit(&self, price: f64) -> f64 {
        self.legs.iter().map(|l| l.side.sign() * l.quantity * (self.leg_value(l, price) - l.premium)).sum()
    }

    fn leg_value(&self, leg: &Leg, price: f64) -> f64 {
        match (leg.strike, leg.expiry) {
            (Some(strike), Some(expiry)) => {
                let left = expiry - self.horizon;
                if left <= 1e-12 {
                    match leg.instrument {
                        Instrument::Put => (strike - price).max(0.0),
                        _ => (price - strike).max(0.0),
                    }
                } else {
                    option_value(leg.instrument, self.market, price, strike, left)
                }
            }
            _ => price,
        }
    }

    /// Slope of the profit as the price goes to infinity (per unit of price).
    fn slope_at_infinity(&self) -> f64 {
        self.legs
            .iter()
            .map(|l| {
                let slope = match (l.instrument, l.expiry) {
                    (Instrument::Put, _) => 0.0,
                    (Instrument::Underlying, _) | (_, None) => 1.0,
                    (Instrument::Call, Some(t)) => (-self.market.dividend * (t - self.horizon).max(0.0)).exp(),
                };
                l.side.sign() * l.quantity * slope
            })
            .sum()
    }

    /// Whether the profit is piecewise linear in the price (every option expires at the
    /// horizon).
    fn piecewise_linear(&self) -> bool {
        self.legs.iter().all(|l| l.expiry.is_none_or(|t| t - self.horizon <= 1e-12))
    }

    /// Prices where the profit is evaluated to find its extremes and zeros: 0, the strikes,
    /// and a fine grid up to well past the largest strike.
    fn scan_points(&self) -> Vec<f64> {
        let m = self.market;
        let strikes = self.legs.iter().filter_map(|l| l.strike);
        let top = strikes.clone().fold(m.spot, f64::max);
        let far = self.legs.iter().filter_map(|l| l.expiry).fold(self.horizon, f64::max);
        let upper = top * (8.0 * m.volatility * far.sqrt()).exp() * 1.5;
        let n = if self.piecewise_linear() { 64 } else { 4_000 };
        let mut points: Vec<f64> = (0..=n).map(|i| upper * f64::from(i) / f64::from(n)).chain(strikes).collect();
        points.sort_by(f64::total_cmp);
        points.dedup();
        points
    }

    /// The largest profit, `None` where it is unbounded.
    pub fn max_profit(&self) -> Option<f64> {
        if self.slope_at_infinity() > 1e-12 {
            return None;
        }
        Some(self.extreme(1.0))
    }

    /// The largest loss as a positive amount, `None` where it is unbounded.
    pub fn max_loss(&self) -> Option<f64> {
        if self.slope_at_infinity() < -1e-12 {
            return None;
        }
        Some(-self.extreme(-1.0))
    }

    /// max over prices of `sign·profit`, times `sign`.
    fn extreme(&self, sign: f64) -> f64 {
        let points = self.scan_points();
        let values: Vec<f64> = points.iter().map(|&p| sign * self.profit(p)).collect();
        let (best, &value) = values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("points are not empty");
        if self.piecewise_linear() {
            return sign * value;
        }
        // Smooth profit: refine the grid's best point by golden-section search.
        let (mut a, mut b) = (points[best.saturating_sub(1)], points[(best + 1).min(points.len() - 1)]);
        let g = 0.5 * (5.0_f64.sqrt() - 1.0);
        let f = |p: f64| sign * self.profit(p);
        let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
        for _ in 0..100 {
            if f(c) > f(d) {
                b = d;
            } else {
                a = c;
            }
            c = b - g * (b - a);
            d = a + g * (b - a);
        }
        sign * value.max(f(0.5 * (a + b)))
    }

    /// Prices at which the profit at the horizon is zero, ascending.
    pub fn breakevens(&self) -> Vec<f64> {
        let points = self.scan_points();
        let values: Vec<f64> = points.iter().map(|&p| self.profit(p)).collect();
        let mut roots = Vec::new();
        for i in 0..points.len() - 1 {
            let (a, b, fa, fb) = (points[i], points[i + 1], values[i], values[i + 1]);
            if fa == 0.0 && (i == 0 || values[i - 1] != 0.0) && a > 0.0 {
                roots.push(a);
            } else if fa * fb < 0.0 {
                roots.push(self.bisect(a, b, fa));
            }
        }
        let (last, f_last) = (points[points.len() - 1], values[values.len() - 1]);
        let slope = self.slope_at_infinity();
        if f_last == 0.0 && values[values.len() - 2] != 0.0 {
            roots.push(last);
        } else if f_last * slope < 0.0 {
            // The profit is (asymptotically) linear beyond the scan: one more zero.
            roots.push(self.bisect(last, last - 2.0 * f_last / slope, f_last));
        }
        roots
    }

    fn bisect(&self, mut a: f64, mut b: f64, fa: f64) -> f64 {
        let fa_positive = fa > 0.0;
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if m <= a || m >= b {
                break;
            }
            let fm = self.profit(m);
            if fm == 0.0 {
                return m;
            }
            if (fm > 0.0) == fa_positive {
                a = m;
            } else {
                b = m;
            }
        }
        // The crossing of the chord, exact on a linear segment.
        let (fa, fb) = (self.profit(a), self.profit(b));
        if fa == fb {
            0.5 * (a + b)
        } else {
            a - fa * (b - a) / (fb - fa)
        }
    }

    /// Probability that the profit at the horizon is positive when the price is lognormal
    /// with drift `drift` (per year, continuously compounded; the rate gives the risk-neutral
    /// probability) less the dividend yield, and the market's volatility.
    pub fn probability_of_profit(&self, drift: f64) -> f64 {
        let m = self.market;
        let sd = m.volatility * self.horizon.sqrt();
        let mean = (drift - m.dividend - 0.5 * m.volatility * m.volatility) * self.horizon;
        let cdf = |x: f64| if x <= 0.0 { 0.0 } else { norm_cdf(((x / m.spot).ln() - mean) / sd) };
        let roots = self.breakevens();
        let mut edges = vec![0.0];
        edges.extend(&roots);
        let mut p = 0.0;
        for (i, &a) in edges.iter().enumerate() {
            let b = edges.get(i + 1).copied();
            let inside = match b {
                Some(b) => 0.5 * (a + b),
                None => (2.0 * a).max(a + m.spot),
            };
            if self.profit(inside) > 0.0 {
                p += b.map_or(1.0, cdf) - cdf(a);
            }
        }
        p.clamp(0.0, 1.0)
    }

    /// Net Greeks at opening.
    pub fn greeks(&self) -> NetGreeks {
        let m = self.market;
        let mut g = NetGreeks { delta: 0.0, gamma: 0.0, vega: 0.0, theta: 0.0, rho: 0.0 };
        for l in &self.legs {
            let w = l.side.sign() * l.quantity;
            match (l.instrument, l.strike, l.expiry) {
                (Instrument::Call | Instrument::Put, Some(strike), Some(expiry)) => {
                    let kind = if l.instrument == Instrument::Call { OptionKind::Call } else { OptionKind::Put };
                    let o = bsm(&BsInput {
                        kind,
                        spot: m.spot,
                        strike,
                        rate: m.rate,
                        dividend: m.dividend,
                        volatility: m.volatility,
                        expiry,
                    });
                    g.delta += w * o.delta;
                    g.gamma += w * o.gamma;
                    g.vega += w * o.vega;
                    g.theta += w * o.theta;
                    g.rho += w * o.rho;
                }
                _ => g.delta += w,
            }
        }
        g
    }

    /// The full analysis, with a profit table over `table` when given.
    pub fn report(&self, drift: f64, table: Option<&TableSpec>) -> Result<StrategyReport, SimError> {
        let payoff_table = table.map(|t| self.table(t)).transpose()?;
        Ok(StrategyReport {
            strategy: self.name,
            legs: self.legs.clone(),
            horizon: self.horizon,
            net_premium: self.net_premium(),
            max_profit: self.max_profit(),
            max_loss: self.max_loss(),
            breakevens: self.breakevens(),
            probability_of_profit: self.probability_of_profit(drift),
            greeks: self.greeks(),
            payoff_table,
        })
    }

    /// Payoff and profit at the horizon on an evenly spaced price grid.
    pub fn table(&self, t: &TableSpec) -> Result<Vec<PayoffRow>, SimError> {
        if !(t.from.is_finite() && t.from >= 0.0 && t.to.is_finite() && t.to > t.from) {
            return Err(invalid("table", "needs 0 <= from < to"));
        }
        if !(2..=10_001).contains(&t.points) {
            return Err(invalid("table", "points must be from 2 to 10001"));
        }
        let step = (t.to - t.from) / (t.points - 1) as f64;
        Ok((0..t.points)
            .map(|i| {
                let price = t.from + step * i as f64;
                PayoffRow { price, payoff: self.payoff(price), profit: self.profit(price) }
            })
            .collect())
    }
}

/// BSM value of a call or put (the underlying is never passed here); a zero price gives the
/// limit.
fn option_value(instrument: Instrument, m: Market, price: f64, strike: f64, expiry: f64) -> f64 {
    if price <= 0.0 {
        return match instrument {
            Instrument::Put => strike * (-m.rate * expiry).exp(),
            _ => 0.0,
        };
    }
    let kind = if instrument == Instrument::Put { OptionKind::Put } else { OptionKind::Call };
    bsm(&BsInput { kind, spot: price, strike, rate: m.rate, dividend: m.dividend, volatility: m.volatility, expiry })
        .price
}

/// A price grid for the payoff table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub from: f64,
    pub to: f64,
    pub points: usize,
}

/// One row of the payoff table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PayoffRow {
    pub price: f64,
    pub payoff: f64,
    pub profit: f64,
}

/// A strategy's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyReport {
    pub strategy: StrategyName,
    pub legs: Vec<Leg>,
    /// Years to the horizon (the near expiry).
    pub horizon: f64,
    pub net_premium: f64,
    /// `None` (null) where unbounded.
    pub max_profit: Option<f64>,
    /// A positive amount; `None` (null) where unbounded.
    pub max_loss: Option<f64>,
    pub breakevens: Vec<f64>,
    pub probability_of_profit: f64,
    pub greeks: NetGreeks,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payoff_table: Option<Vec<PayoffRow>>,
}

/// A market view for the selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    Bullish,
    Bearish,
    Neutral,
    Volatile,
    RangeBound,
}

/// Candidates the selector considers for a view: a strategy and its strikes as multiples of
/// one standard deviation σ√T of the log-price (rounded to the strike grid).
fn candidates(view: View) -> Vec<(StrategyName, Vec<f64>)> {
    use StrategyName as S;
    match view {
        View::Bullish => vec![
            (S::BullCallSpread, vec![0.0, 1.0]),
            (S::BullCallSpread, vec![0.5, 1.5]),
            (S::CoveredCall, vec![1.0]),
            (S::Collar, vec![-1.0, 1.5]),
            (S::ProtectivePut, vec![-1.0]),
        ],
        View::Bearish => vec![
            (S::BearPutSpread, vec![-1.0, 0.0]),
            (S::BearPutSpread, vec![-1.5, -0.5]),
            (S::BearPutSpread, vec![-2.0, 0.0]),
        ],
        View::Neutral => vec![
            (S::Butterfly, vec![-1.0, 0.0, 1.0]),
            (S::IronButterfly, vec![-1.0, 0.0, 1.0]),
            (S::CalendarSpread, vec![0.0]),
        ],
        View::Volatile => {
            vec![(S::LongStraddle, vec![0.0]), (S::LongStrangle, vec![-0.5, 0.5]), (S::LongStrangle, vec![-1.0, 1.0])]
        }
        View::RangeBound => vec![
            (S::IronCondor, vec![-2.0, -1.0, 1.0, 2.0]),
            (S::IronCondor, vec![-1.5, -0.5, 0.5, 1.5]),
            (S::Butterfly, vec![-1.5, 0.0, 1.5]),
            (S::IronButterfly, vec![-1.5, 0.0, 1.5]),
        ],
    }
}

/// What the selector needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectorInput {
    pub view: View,
    pub market: Market,
    /// Years to expiry (the near expiry; the calendar's far leg is twice as far).
    pub expiry: f64,
    /// Money available; a proposal's capital is what it can lose at most (or its net debit
    /// if larger).
    pub capital: f64,
    /// Units of the underlying per contract (usually 100).
    pub contract_size: f64,
    /// Drift of the price for the probability of profit (the rate for risk-neutral).
    pub drift: f64,
}

/// One proposed strategy, sized within the capital.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Contracts of each leg (each of `contract_size` units).
    pub contracts: u64,
    /// Capital the position ties up: contracts × contract size × max(max loss, net debit)
    /// per unit.
    pub capital_required: f64,
    /// Max profit over max loss; where the profit is unbounded, the profit at a move of two
    /// standard deviations (the better direction) stands for the max profit.
    pub reward_to_risk: f64,
    /// probability_of_profit × reward_to_risk: the ranking key, highest first.
    pub score: f64,
    /// The position's analysis, for all the contracts.
    pub report: StrategyReport,
}

/// Proposes strategies for a view, ranked by score, each sized to the most contracts the
/// capital allows. Left out: strategies that even one contract of would exceed the capital,
/// and those whose loss is unbounded under the model (a calendar spread when the dividend
/// yield is positive: its far call then rises more slowly than the near call it is short).
pub fn select(input: &SelectorInput) -> Result<Vec<Proposal>, SimError> {
    let m = input.market;
    if !(input.capital.is_finite() && input.capital > 0.0) {
        return Err(invalid("capital", "must be a positive number"));
    }
    if !(input.contract_size.is_finite() && input.contract_size > 0.0) {
        return Err(invalid("contract_size", "must be a positive number"));
    }
    check_market(m.spot, 1.0, m.rate, m.dividend, input.expiry)?;
    if !(m.volatility.is_finite() && m.volatility > 0.0) {
        return Err(invalid("volatility", "must be a positive number"));
    }
    // The calendar spread's far expiry is twice the near one.
    check_spread(m.volatility, 2.0 * input.expiry)?;
    let sd = m.volatility * input.expiry.sqrt();
    let mut proposals = Vec::new();
    let mut cheapest = f64::INFINITY;
    for (name, multiples) in candidates(input.view) {
        let mut strikes: Vec<f64> = multiples.iter().map(|k| round_strike(m.spot * (k * sd).exp(), m.spot)).collect();
        if name == StrategyName::Butterfly || name == StrategyName::IronButterfly {
            // Equal wings: the wider of the two rounded distances.
            let wing = (strikes[1] - strikes[0]).max(strikes[2] - strikes[1]).max(strike_step(m.spot));
            strikes = vec![strikes[1] - wing, strikes[1], strikes[1] + wing];
        }
        strikes.dedup();
        if strikes.len() != name.strike_count() || strikes[0] <= 0.0 {
            continue;
        }
        let far = (name == StrategyName::CalendarSpread).then_some(2.0 * input.expiry);
        let unit = Strategy::build(name, m, &strikes, input.expiry, far, 1.0)?;
        let Some(max_loss) = unit.max_loss() else { continue };
        let per_unit = max_loss.max(unit.net_premium()).max(1e-12);
        let per_contract = per_unit * input.contract_size;
        cheapest = cheapest.min(per_contract);
        let contracts = (input.capital / per_contract).floor();
        if contracts < 1.0 {
            continue;
        }
        let reward = unit.max_profit().unwrap_or_else(|| {
            let up = unit.profit(m.spot * (2.0 * sd).exp());
            let down = unit.profit(m.spot * (-2.0 * sd).exp());
            up.max(down)
        });
        let reward_to_risk = (reward / max_loss.max(1e-12)).max(0.0);
        let pop = unit.probability_of_profit(input.drift);
        let position = Strategy::build(name, m, &strikes, input.expiry, far, contracts * input.contract_size)?;
        proposals.push(Proposal {
            contracts: contracts as u64,
            capital_required: contracts * per_contract,
            reward_to_risk,
            score: pop * reward_to_risk,
            report: position.report(input.drift, None)?,
        });
    }
    if proposals.is_empty() {
        return Err(invalid(
            "capital",
            format!(
                "{} is too little for one contract of any strategy for this view (the cheapest needs {cheapest:.2})",
                input.capital
            ),
        ));
    }
    proposals.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(proposals)
}

/// A `cairn quant strategy` request: either a named strategy (`strategy`) or the selector
/// (`view`), never both. Expiries are calendar days (years = days / 365).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct StrategyRequest {
    pub strategy: Option<StrategyName>,
    pub view: Option<View>,
    pub spot: f64,
    pub volatility: f64,
    #[serde(default)]
    pub rate: f64,
    #[serde(default)]
    pub dividend: f64,
    pub days: f64,
    /// The calendar spread's far expiry (default twice `days`).
    pub far_days: Option<f64>,
    /// Strikes, ascending (default: from the volatility, see [`StrategyName::default_strikes`]).
    pub strikes: Option<Vec<f64>>,
    /// Units of the underlying per leg (default 1).
    pub quantity: Option<f64>,
    /// Drift for the probability of profit (default: the rate, risk-neutral).
    pub drift: Option<f64>,
    pub table: Option<TableSpec>,
    pub capital: Option<f64>,
    /// Units per contract for the selector (default 100).
    pub contract_size: Option<f64>,
}

/// The answer to a [`StrategyRequest`]: one analysis, or the selector's ranked proposals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StrategyResponse {
    Strategy(Box<StrategyReport>),
    Selection { view: View, proposals: Vec<Proposal> },
}

/// Answers a [`StrategyRequest`].
pub fn run(request: &StrategyRequest) -> Result<StrategyResponse, SimError> {
    let r = request;
    if !(r.days.is_finite() && r.days > 0.0) {
        return Err(invalid("days", "must be a positive number of days"));
    }
    let market = Market { spot: r.spot, volatility: r.volatility, rate: r.rate, dividend: r.dividend };
    let expiry = r.days / 365.0;
    let drift = r.drift.unwrap_or(r.rate);
    if !drift.is_finite() {
        return Err(invalid("drift", "must be a finite number"));
    }
    match (r.strategy, r.view) {
        (Some(_), Some(_)) => Err(invalid("view", "give either a strategy or a view, not both")),
        (None, None) => Err(invalid("strategy", "give a strategy to analyse or a view to select for")),
        (Some(name), None) => {
            for (field, given) in [("capital", r.capital.is_some()), ("contract_size", r.contract_size.is_some())] {
                if given {
                    return Err(invalid(field, "only the selector (a view) takes it"));
                }
            }
            check_market(r.spot, 1.0, r.rate, r.dividend, expiry)?;
            let strikes = match &r.strikes {
                Some(k) => k.clone(),
                None => name.default_strikes(r.spot, r.volatility, expiry),
            };
            let far = match (name, r.far_days) {
                (StrategyName::CalendarSpread, None) => Some(2.0 * expiry),
                (_, far) => far.map(|d| d / 365.0),
            };
            let strategy = Strategy::build(name, market, &strikes, expiry, far, r.quantity.unwrap_or(1.0))?;
            Ok(StrategyResponse::Strategy(Box::new(strategy.report(drift, r.table.as_ref())?)))
        }
        (None, Some(view)) => {
            for (field, given) in [
                ("strikes", r.strikes.is_some()),
                ("quantity", r.quantity.is_some()),
                ("table", r.table.is_some()),
                ("far_days", r.far_days.is_some()),
            ] {
                if given {
                    return Err(invalid(field, "only a named strategy takes it"));
                }
            }
            let capital = r.capital.ok_or_else(|| invalid("capital", "the selector needs the capital available"))?;
            let input =
                SelectorInput { view, market, expiry, capital, contract_size: r.contract_size.unwrap_or(100.0), drift };
            Ok(StrategyResponse::Selection { view, proposals: select(&input)? })
        }
    }
}

/// The largest volatility × √years accepted: the payoff is scanned to eight standard
/// deviations above the strikes, which must stay a finite price.
const MAX_SPREAD: f64 = 20.0;

fn check_spread(volatility: f64, years: f64) -> Result<(), SimError> {
    if volatility * years.sqrt() > MAX_SPREAD {
        return Err(invalid(
            "volatility",
            format!("times the square root of the years to expiry must be at most {MAX_SPREAD}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> Market {
        Market { spot: 100.0, volatility: 0.25, rate: 0.03, dividend: 0.01 }
    }

    fn all_strategies() -> Vec<Strategy> {
        let m = market();
        StrategyName::ALL
            .iter()
            .map(|&name| {
                let strikes = name.default_strikes(m.spot, m.volatility, 0.25);
                let far = (name == StrategyName::CalendarSpread).then_some(0.5);
                Strategy::build(name, m, &strikes, 0.25, far, 1.0).unwrap()
            })
            .collect()
    }

    /// Brute-force value of each leg at the horizon.
    fn brute_payoff(s: &Strategy, price: f64) -> f64 {
        let mut total = 0.0;
        for l in &s.legs {
            let sign = if l.side == Side::Long { 1.0 } else { -1.0 };
            let value = match (l.instrument, l.strike, l.expiry) {
                (Instrument::Underlying, _, _) => price,
                (i, Some(k), Some(t)) if t > s.horizon + 1e-9 => option_value(i, s.market, price, k, t - s.horizon),
                (Instrument::Call, Some(k), _) => (price - k).max(0.0),
                (Instrument::Put, Some(k), _) => (k - price).max(0.0),
                _ => unreachable!(),
            };
            total += sign * l.quantity * value;
        }
        total
    }

    fn grid() -> Vec<f64> {
        (0..=40_000).map(|i| f64::from(i) * 0.01).collect()
    }

    #[test]
    fn payoffs_are_the_sums_of_the_legs() {
        for s in all_strategies() {
            for p in grid().into_iter().step_by(37) {
                let brute = brute_payoff(&s, p);
                assert!((s.payoff(p) - brute).abs() < 1e-12 * (1.0 + brute.abs()), "{:?} at {p}", s.name);
                assert!((s.profit(p) - (brute - s.net_premium())).abs() < 1e-10, "{:?} at {p}", s.name);
            }
        }
    }

    #[test]
    fn breakevens_are_zeros_of_the_profit_and_the_only_sign_changes() {
        for s in all_strategies() {
            let b = s.breakevens();
            assert!(!b.is_empty(), "{:?}", s.name);
            for &x in &b {
                // A zero to rounding: the profit changes sign within a relative 1e-9 of x.
                let (lo, hi) = (s.profit(x * (1.0 - 1e-9)), s.profit(x * (1.0 + 1e-9)));
                assert!(s.profit(x).abs() < 1e-9 && lo * hi <= 0.0, "{:?}: {x} gives {}", s.name, s.profit(x));
            }
            let g = grid();
            let changes = g.windows(2).filter(|w| s.profit(w[0]) * s.profit(w[1]) < 0.0).count();
            assert_eq!(changes, b.iter().filter(|&&x| x < 400.0).count(), "{:?}: {b:?}", s.name);
        }
    }

    #[test]
    fn max_profit_and_loss_are_the_grid_extremes_or_unbounded() {
        for s in all_strategies() {
            let g = grid();
            let values: Vec<f64> = g.iter().map(|&p| s.profit(p)).collect();
            let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            // Unbounded: the profit keeps growing (or falling) at the end of the grid.
            let rising = values[values.len() - 1] - values[values.len() - 101] > 1e-6;
            let falling = values[values.len() - 1] - values[values.len() - 101] < -1e-6;
            match s.max_profit() {
                None => assert!(rising, "{:?}", s.name),
                Some(mp) => {
                    assert!(!rising, "{:?}", s.name);
                    assert!(mp >= hi - 1e-9 && mp - hi < 1e-6, "{:?}: {mp} vs grid {hi}", s.name);
                }
            }
            match s.max_loss() {
                None => assert!(falling, "{:?}", s.name),
                Some(ml) => {
                    assert!(!falling, "{:?}", s.name);
                    assert!(ml >= -lo - 1e-9 && ml + lo < 1e-6, "{:?}: {ml} vs grid {lo}", s.name);
                }
            }
        }
        let names: Vec<_> = all_strategies().iter().filter(|s| s.max_profit().is_none()).map(|s| s.name).collect();
        assert_eq!(names, [StrategyName::ProtectivePut, StrategyName::LongStraddle, StrategyName::LongStrangle]);
    }

    #[test]
    fn probability_of_profit_matches_numerical_integration_of_the_lognormal_density() {
        for drift in [0.03, 0.12, -0.05] {
            for s in all_strategies() {
                let m = s.market;
                let sd = m.volatility * s.horizon.sqrt();
                let mean = (m.spot.ln()) + (drift - m.dividend - 0.5 * m.volatility * m.volatility) * s.horizon;
                // Integrate the density of ln S over ±10 standard deviations (Simpson).
                let n = 200_000;
                let (a, b) = (mean - 10.0 * sd, mean + 10.0 * sd);
                let h = (b - a) / f64::from(n);
                let mut sum = 0.0;
                for i in 0..=n {
                    let y = a + h * f64::from(i);
                    let w = if i == 0 || i == n {
                        1.0
                    } else if i % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    let density = (-0.5 * ((y - mean) / sd).powi(2)).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt());
                    if s.profit(y.exp()) > 0.0 {
                        sum += w * density;
                    }
                }
                let numeric = sum * h / 3.0;
                let pop = s.probability_of_profit(drift);
                assert!((pop - numeric).abs() < 1e-4, "{:?} drift {drift}: {pop} vs {numeric}", s.name);
            }
        }
    }

    #[test]
    fn net_greeks_are_the_sums_of_the_legs() {
        let s = &all_strategies()[8]; // iron condor
        assert_eq!(s.name, StrategyName::IronCondor);
        let g = s.greeks();
        let h = 1e-4;
        let value = |spot: f64| {
            let m = Market { spot, ..s.market };
            s.legs
                .iter()
                .map(|l| {
                    l.side.sign()
                        * l.quantity
                        * option_value(l.instrument, m, spot, l.strike.unwrap(), l.expiry.unwrap())
                })
                .sum::<f64>()
        };
        assert!(((value(100.0 + h) - value(100.0 - h)) / (2.0 * h) - g.delta).abs() < 1e-7);
        assert!(g.vega < 0.0 && g.theta > 0.0, "a short condor is short volatility: {g:?}");
    }

    #[test]
    fn the_selector_proposes_strategies_consistent_with_the_view() {
        let m = market();
        let expiry: f64 = 30.0 / 365.0;
        let sd = m.volatility * expiry.sqrt();
        for view in [View::Bullish, View::Bearish, View::Neutral, View::Volatile, View::RangeBound] {
            let input =
                SelectorInput { view, market: m, expiry, capital: 10_000.0, contract_size: 100.0, drift: m.rate };
            let proposals = select(&input).unwrap();
            assert!(!proposals.is_empty());
            for w in proposals.windows(2) {
                assert!(w[0].score >= w[1].score);
            }
            for p in &proposals {
                let r = &p.report;
                assert!(p.capital_required <= 10_000.0 + 1e-9 && p.contracts >= 1, "{view:?} {:?}", r.strategy);
                let s = Strategy::build(
                    r.strategy,
                    m,
                    &{
                        let mut k: Vec<f64> = r.legs.iter().filter_map(|l| l.strike).collect();
                        k.sort_by(f64::total_cmp);
                        k.dedup();
                        k
                    },
                    expiry,
                    (r.strategy == StrategyName::CalendarSpread).then_some(2.0 * expiry),
                    1.0,
                )
                .unwrap();
                let at = |k: f64| s.profit(m.spot * (k * sd).exp());
                match view {
                    View::Bullish => assert!(at(1.0) > at(-1.0) && r.greeks.delta > 0.0, "{:?}", r.strategy),
                    View::Bearish => assert!(at(-1.0) > at(1.0) && r.greeks.delta < 0.0, "{:?}", r.strategy),
                    View::Neutral | View::RangeBound => {
                        assert!(at(0.0) > at(2.0) && at(0.0) > at(-2.0) && at(0.0) > 0.0, "{view:?} {:?}", r.strategy)
                    }
                    View::Volatile => {
                        assert!(at(0.0) < at(2.0) && at(0.0) < at(-2.0) && r.greeks.vega > 0.0, "{:?}", r.strategy)
                    }
                }
            }
        }
        let poor = SelectorInput {
            view: View::Volatile,
            market: m,
            expiry,
            capital: 1.0,
            contract_size: 100.0,
            drift: m.rate,
        };
        assert!(select(&poor).unwrap_err().to_string().starts_with("capital: "));
    }
}
