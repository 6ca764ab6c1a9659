//! Liability analytics for liability-driven investing: a stream of liability cash flows
//! (pension benefits, insurance claims, an endowment's spending) valued on a yield curve
//! ([`crate::curve`]), with its interest-rate risk, and a plan's funded status and hedge
//! ratio against it.
//!
//! - Present value: each flow discounted on the curve.
//! - The flows' internal rate of return y (annually compounded, the flat rate giving the same
//!   present value) and, at it, the classic measures (Fabozzi, "Bond Markets, Analysis and
//!   Strategies", ch. 4): Macaulay duration Σ t·CFₜ·vᵗ / PV, modified duration Macaulay/(1 + y),
//!   and convexity Σ t(t+1)·CFₜ·vᵗ⁺² / PV, v = 1/(1 + y). For a level annuity of n years the
//!   Macaulay duration is (1 + y)/y − n/((1 + y)ⁿ − 1).
//! - Effective measures on the curve: the curve's input rates (zero rates or par yields, which
//!   are then bootstrapped again) moved together by ±1 basis point; DV01 = (PV₋ − PV₊)/2 (the
//!   value gained when rates fall one basis point), effective duration DV01/(PV·0.0001), and
//!   effective convexity (PV₊ + PV₋ − 2·PV)/(PV·0.0001²).
//! - Key-rate DV01s (Ho, "Key Rate Durations", Journal of Fixed Income, 1992): each input rate
//!   of the curve moved alone by ±1 basis point; between nodes the interpolation spreads the
//!   move as a tent to the neighbouring nodes (exactly so for flat forward and linear zero).
//!   With flat forward or linear zero interpolation on zero rates they add up to the parallel
//!   DV01. Beyond the last node the curve's extrapolation carries the move: with flat forward,
//!   flows past it load the last key by more than one and the key before by less than nothing
//!   (the last forward is steepened); with linear zero, the last key alone.
//! - With the plan's assets (value, and their DV01 and inflation DV01 where known): funded
//!   ratio assets/PV, surplus, the interest-rate hedge ratio (the assets' DV01 over the
//!   liabilities') and, for flows indexed to inflation, the inflation hedge ratio.

use serde::{Deserialize, Serialize};

use crate::curve::{Curve, CurveSpec, Node};
use crate::{invalid, SimError};

/// One liability payment.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Years from today (0 to 100).
    pub time: f64,
    /// The payment (positive), in today's terms when `inflation_indexed`.
    pub amount: f64,
}

/// The plan's assets against the liabilities.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assets {
    /// Market value.
    pub value: f64,
    /// Value gained when rates fall one basis point (0 when absent).
    pub dv01: Option<f64>,
    /// Value gained when expected inflation rises one basis point (0 when absent).
    pub inflation_dv01: Option<f64>,
}

/// `cairn quant liabilities`: a liability stream on a curve.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiabilityRequest {
    pub curve: CurveSpec,
    /// The payments, or instead `annuity`.
    #[serde(default)]
    pub cash_flows: Vec<Flow>,
    /// A level or growing benefit: `amount` a year for `years` years from `start` (years from
    /// today to the first payment, 1 by default), growing by `growth` a year (0).
    pub annuity: Option<Annuity>,
    /// The payments grow with inflation at `inflation` a year (a flat expected inflation):
    /// each amount is today's, paid as amount·(1 + inflation)ᵗ. The inflation DV01 moves it.
    pub inflation: Option<f64>,
    pub assets: Option<Assets>,
}

/// A benefit paid yearly.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Annuity {
    pub amount: f64,
    pub years: u32,
    pub start: Option<f64>,
    pub growth: Option<f64>,
}

/// One key rate's DV01.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct KeyRate {
    pub tenor: f64,
    pub dv01: f64,
}

/// The plan against its liabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FundedStatus {
    pub assets: f64,
    pub funded_ratio: f64,
    pub surplus: f64,
    /// The assets' DV01 over the liabilities' (null when the liabilities have none: every
    /// payment due today).
    pub interest_rate_hedge_ratio: Option<f64>,
    /// The assets' inflation DV01 over the liabilities' (null for nominal liabilities).
    pub inflation_hedge_ratio: Option<f64>,
}

/// A liability stream valued.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LiabilityResult {
    pub present_value: f64,
    /// Undiscounted payments, in all.
    pub total_payments: f64,
    /// The flat annually compounded rate giving the same present value.
    pub internal_rate: f64,
    pub macaulay_duration: f64,
    pub modified_duration: f64,
    pub convexity: f64,
    /// Value gained when the curve's rates fall one basis point together.
    pub dv01: f64,
    pub effective_duration: f64,
    pub effective_convexity: f64,
    pub key_rates: Vec<KeyRate>,
    /// Value gained when expected inflation rises one basis point (indexed flows only).
    pub inflation_dv01: Option<f64>,
    pub funded_status: Option<FundedStatus>,
}

const BP: f64 = 1e-4;

/// The payments a request gives, in nominal terms at `inflation`.
pub fn flows(req: &LiabilityRequest) -> Result<Vec<Flow>, SimError> {
    let mut out = match (&req.annuity, req.cash_flows.is_empty()) {
        (Some(_), false) => return Err(invalid("annuity", "give cash_flows or annuity, not both")),
        (None, true) => return Err(invalid("cash_flows", "give the payments (cash_flows) or an annuity")),
        (None, false) => req.cash_flows.clone(),
        (Some(a), true) => {
            let start = a.start.unwrap_or(1.0);
            let growth = a.growth.unwrap_or(0.0);
            if !(a.amount > 0.0 && a.amount <= 1e12) {
                return Err(invalid("annuity.amount", format!("{} is not above 0 (at most 1e12)", a.amount)));
            }
            if !(0.0..=100.0).contains(&start) {
                return Err(invalid("annuity.start", format!("{start} is not 0 to 100 years")));
            }
            if !(1..=100).contains(&a.years) || start + f64::from(a.years - 1) > 100.0 {
                return Err(invalid("annuity.years", format!("{} is not 1 to 100 years ending by year 100", a.years)));
            }
            if !(-0.5..=0.5).contains(&growth) {
                return Err(invalid("annuity.growth", format!("{growth} is not from -0.5 to 0.5")));
            }
            (0..a.years)
                .map(|k| Flow { time: start + f64::from(k), amount: a.amount * (1.0 + growth).powi(k as i32) })
                .collect()
        }
    };
    if out.len() > 10_000 {
        return Err(invalid("cash_flows", format!("{} payments; at most 10,000", out.len())));
    }
    for (i, f) in out.iter().enumerate() {
        if !(0.0..=100.0).contains(&f.time) {
            return Err(invalid(format!("cash_flows[{i}].time"), format!("{} is not 0 to 100 years", f.time)));
        }
        if !(f.amount > 0.0 && f.amount <= 1e15) {
            return Err(invalid(
                format!("cash_flows[{i}].amount"),
                format!("{} is not above 0 (at most 1e15)", f.amount),
            ));
        }
    }
    if let Some(i) = req.inflation {
        if !(-0.1..=0.5).contains(&i) {
            return Err(invalid("inflation", format!("{i} is not from -0.1 to 0.5")));
        }
        for f in &mut out {
            f.amount *= (1.0 + i).powf(f.time);
        }
    }
    Ok(out)
}

pub(crate) fn present_value(curve: &Curve, flows: &[Flow]) -> f64 {
    flows.iter().map(|f| f.amount * curve.discount(f.time)).sum()
}

/// The curve with its input rates moved: all by `shift`, or only node `only`.
fn shifted(spec: &CurveSpec, shift: f64, only: Option<usize>) -> Result<Curve, SimError> {
    let mut s = spec.clone();
    let nodes: &mut Vec<Node> = if s.zero_rates.is_empty() { &mut s.par_yields } else { &mut s.zero_rates };
    for (i, n) in nodes.iter_mut().enumerate() {
        if only.is_none_or(|k| k == i) {
            n.rate += shift;
        }
    }
    Curve::bumped(&s)
}

/// The key-rate DV01s of each of `streams` of flows: each input rate of the curve moved alone
/// by ±1 basis point (the curve built twice per node, whatever the number of streams).
pub(crate) fn key_rates(spec: &CurveSpec, streams: &[&[Flow]]) -> Result<Vec<Vec<KeyRate>>, SimError> {
    let nodes = if spec.zero_rates.is_empty() { &spec.par_yields } else { &spec.zero_rates };
    let mut out = vec![Vec::with_capacity(nodes.len()); streams.len()];
    for (k, node) in nodes.iter().enumerate() {
        let (up, down) = (shifted(spec, BP, Some(k))?, shifted(spec, -BP, Some(k))?);
        for (flows, keys) in streams.iter().zip(&mut out) {
            let dv01 = (present_value(&down, flows) - present_value(&up, flows)) / 2.0;
            keys.push(KeyRate { tenor: node.tenor, dv01 });
        }
    }
    Ok(out)
}

/// The flat annually compounded rate at which `flows` are worth `pv`, by bisection.
pub(crate) fn internal_rate(flows: &[Flow], pv: f64) -> f64 {
    let value = |y: f64| flows.iter().map(|f| f.amount * (1.0 + y).powf(-f.time)).sum::<f64>();
    let (mut lo, mut hi) = (-0.99_f64, 10.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if value(mid) > pv {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Values a liability stream and its rate risk, and the plan's funded status.
pub fn analyse(req: &LiabilityRequest) -> Result<LiabilityResult, SimError> {
    let flows = flows(req)?;
    let curve = Curve::build(&req.curve)?;
    let pv = present_value(&curve, &flows);
    if !(pv.is_finite() && pv > 0.0) {
        return Err(invalid("curve", "the payments have no finite present value on this curve"));
    }
    let total_payments = flows.iter().map(|f| f.amount).sum();
    let y = internal_rate(&flows, pv);
    let v = 1.0 / (1.0 + y);
    let weighted =
        |g: &dyn Fn(f64) -> f64| flows.iter().map(|f| g(f.time) * f.amount * v.powf(f.time)).sum::<f64>() / pv;
    let macaulay_duration = weighted(&|t| t);
    let convexity = weighted(&|t| t * (t + 1.0) * v * v);
    let (up, down) = (
        present_value(&shifted(&req.curve, BP, None)?, &flows),
        present_value(&shifted(&req.curve, -BP, None)?, &flows),
    );
    let dv01 = (down - up) / 2.0;
    let key_rates = key_rates(&req.curve, &[&flows])?.remove(0);
    let inflation_dv01 = req.inflation.map(|i| {
        let at = |infl: f64| {
            flows
                .iter()
                .map(|f| f.amount * ((1.0 + infl) / (1.0 + i)).powf(f.time) * curve.discount(f.time))
                .sum::<f64>()
        };
        (at(i + BP) - at(i - BP)) / 2.0
    });
    let funded_status = match req.assets {
        None => None,
        Some(a) => {
            for (field, x) in
                [("assets.value", Some(a.value)), ("assets.dv01", a.dv01), ("assets.inflation_dv01", a.inflation_dv01)]
            {
                if x.is_some_and(|x| x.abs() > 1e15 || x.is_nan()) || (field == "assets.value" && a.value < 0.0) {
                    return Err(invalid(field, "must be a finite amount (at most 1e15; the value not negative)"));
                }
            }
            Some(FundedStatus {
                assets: a.value,
                funded_ratio: a.value / pv,
                surplus: a.value - pv,
                interest_rate_hedge_ratio: (dv01 > 0.0).then(|| a.dv01.unwrap_or(0.0) / dv01),
                inflation_hedge_ratio: inflation_dv01.filter(|l| *l > 0.0).map(|l| a.inflation_dv01.unwrap_or(0.0) / l),
            })
        }
    };
    Ok(LiabilityResult {
        present_value: pv,
        total_payments,
        internal_rate: y,
        macaulay_duration,
        modified_duration: macaulay_duration / (1.0 + y),
        convexity,
        dv01,
        effective_duration: dv01 / (pv * BP),
        effective_convexity: (up + down - 2.0 * pv) / (pv * BP * BP),
        key_rates,
        inflation_dv01,
        funded_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curve::{Compounding, Interpolation};

    fn flat(rate: f64, compounding: Compounding) -> CurveSpec {
        CurveSpec {
            zero_rates: [1.0, 2.0, 5.0, 10.0, 20.0, 30.0].iter().map(|&tenor| Node { tenor, rate }).collect(),
            par_yields: Vec::new(),
            coupon_frequency: None,
            compounding,
            interpolation: Interpolation::FlatForward,
        }
    }

    fn request(curve: CurveSpec, annuity: Annuity) -> LiabilityRequest {
        LiabilityRequest { curve, cash_flows: Vec::new(), annuity: Some(annuity), inflation: None, assets: None }
    }

    #[test]
    fn a_level_annuity_has_the_closed_form_macaulay_duration() {
        let y: f64 = 0.05;
        let n = 10;
        let r = analyse(&request(
            flat(y, Compounding::Annual),
            Annuity { amount: 100.0, years: n, start: None, growth: None },
        ))
        .unwrap();
        let closed = (1.0 + y) / y - f64::from(n) / ((1.0 + y).powi(n as i32) - 1.0);
        assert!((r.macaulay_duration - closed).abs() < 1e-10, "{} {closed}", r.macaulay_duration);
        assert!((r.internal_rate - y).abs() < 1e-12);
        // The annuity's value: 100·(1 − 1.05⁻¹⁰)/0.05.
        assert!((r.present_value - 100.0 * (1.0 - 1.05_f64.powi(-10)) / 0.05).abs() < 1e-9);
        // On a flat annual curve moved in annual terms, effective duration is the modified one.
        assert!(
            (r.effective_duration - r.modified_duration).abs() < 1e-6,
            "{} {}",
            r.effective_duration,
            r.modified_duration
        );
        assert!((r.effective_convexity - r.convexity).abs() / r.convexity < 1e-4);
    }

    #[test]
    fn key_rate_dv01s_add_up_to_the_parallel_dv01() {
        let mut req = request(
            flat(0.04, Compounding::Continuous),
            Annuity { amount: 1e6, years: 40, start: Some(0.5), growth: Some(0.02) },
        );
        req.curve.zero_rates[3].rate = 0.045;
        let r = analyse(&req).unwrap();
        let sum: f64 = r.key_rates.iter().map(|k| k.dv01).sum();
        assert!((sum - r.dv01).abs() / r.dv01 < 1e-6, "{sum} {}", r.dv01);
        // Flows beyond 30 years load the last key rate; none falls on the first.
        assert!(r.key_rates[5].dv01 > r.key_rates[0].dv01);
        // A zero-coupon liability has its maturity as its Macaulay duration.
        let zero = LiabilityRequest {
            curve: flat(0.03, Compounding::Annual),
            cash_flows: vec![Flow { time: 12.0, amount: 1000.0 }],
            annuity: None,
            inflation: None,
            assets: Some(Assets { value: 800.0, dv01: Some(0.5), inflation_dv01: None }),
        };
        let z = analyse(&zero).unwrap();
        assert!((z.macaulay_duration - 12.0).abs() < 1e-12);
        let fs = z.funded_status.unwrap();
        assert!((fs.funded_ratio - 800.0 / (1000.0 / 1.03_f64.powi(12))).abs() < 1e-12);
        assert!((fs.interest_rate_hedge_ratio.unwrap() - 0.5 / z.dv01).abs() < 1e-12);
    }

    #[test]
    fn indexed_flows_have_an_inflation_dv01_and_bad_input_is_named() {
        let mut req =
            request(flat(0.04, Compounding::Annual), Annuity { amount: 100.0, years: 20, start: None, growth: None });
        req.inflation = Some(0.025);
        let r = analyse(&req).unwrap();
        let infl = r.inflation_dv01.unwrap();
        assert!(infl > 0.0 && (infl - r.dv01).abs() / r.dv01 < 0.05, "{infl} {}", r.dv01);
        req.cash_flows = vec![Flow { time: 1.0, amount: 1.0 }];
        assert!(analyse(&req).unwrap_err().to_string().starts_with("annuity"));
        req.annuity = None;
        req.cash_flows[0].amount = -1.0;
        assert!(analyse(&req).unwrap_err().to_string().starts_with("cash_flows[0].amount"));
    }
}
