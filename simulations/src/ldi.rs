//! Liability hedging: the hedge portfolio that matches a liability's key-rate DV01s at least
//! cost, and a de-risking glide path that sets the hedge ratio from the funded ratio.
//!
//! - The liabilities and the candidate instruments (zero-coupon or coupon bonds, priced on the
//!   curve) get their key-rate DV01s as [`crate::liabilities`] computes them: each input rate
//!   of the curve moved alone by ±1 basis point.
//! - The hedge is a linear program (Clarabel): face amounts uⱼ ≥ 0 minimising the money spent,
//!   Σ uⱼ·priceⱼ·(1 + costⱼ), such that at every key tenor k the hedge's DV01 is within
//!   `tolerance` (a share, 2% by default) of h × the liability's, h the target hedge ratio,
//!   and, when the plan's assets are given, the money spent is at most the assets. Where no
//!   mix meets every key rate (too few instruments, or not enough money), the answer is the
//!   mix closest in the least-squares sense (each key's miss relative to its target), marked
//!   `exact: false`. At least cost a key's DV01 sits at the low edge of its tolerance; give a
//!   tolerance of 0 for an exact match.
//! - The glide path is a table of funded-ratio triggers, each with the hedge ratio and the
//!   return-seeking share to hold from it on (the highest trigger reached applies); the hedge
//!   ratio the plan should hold is read from it unless given (below the first trigger, the
//!   first stage). The common industry practice is
//!   to lock in gains as funding improves (Society of Actuaries, "Pension Plan De-Risking"
//!   reports; the glide path's numbers are the plan's policy, not a rule of law).

use serde::{Deserialize, Serialize};

use crate::curve::Curve;
use crate::liabilities::{self, Flow, KeyRate, LiabilityRequest};
use crate::optimize::conic::Program;
use crate::{invalid, SimError};

/// A bond the hedge may buy, per 100 of face.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    pub name: String,
    /// Years to maturity (above 0, at most 100).
    pub maturity: f64,
    /// Annual coupon rate (0 for a zero-coupon STRIPS), paid `frequency` times a year (2).
    #[serde(default)]
    pub coupon: f64,
    pub frequency: Option<u32>,
    /// The cost of trading it, in basis points of its price (0).
    #[serde(default)]
    pub cost_bps: f64,
}

/// A stage of the glide path.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// From this funded ratio on (0.9 is 90% funded).
    pub funded_ratio: f64,
    /// The share of the liabilities' interest-rate risk to hedge (0 to 1.5).
    pub hedge_ratio: f64,
    /// The share of the assets in return-seeking assets (0 to 1).
    pub return_seeking: f64,
}

/// `cairn quant hedge`: the liability stream, the instruments, and the hedge ratio or a glide
/// path.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HedgeRequest {
    /// The liabilities and the curve, as `quant liabilities` takes them (with `assets` for the
    /// funded ratio and the budget).
    pub liabilities: LiabilityRequest,
    pub instruments: Vec<Instrument>,
    /// The hedge ratio to reach; else the glide path's at the funded ratio (assets needed),
    /// else 1.
    pub hedge_ratio: Option<f64>,
    #[serde(default)]
    pub glide_path: Vec<Stage>,
    /// How far each key rate's DV01 may miss its target, as a share of it (0.02).
    pub tolerance: Option<f64>,
}

/// One instrument in the hedge.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Holding {
    pub name: String,
    /// Price per 100 of face on the curve.
    pub price: f64,
    /// Face amount to buy.
    pub face: f64,
    pub market_value: f64,
    /// Market value plus the trading cost.
    pub cost: f64,
    /// DV01 per 100 of face.
    pub dv01_per_100: f64,
}

/// A key tenor's target and what the hedge holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct KeyMatch {
    pub tenor: f64,
    pub liability_dv01: f64,
    pub target_dv01: f64,
    pub hedge_dv01: f64,
}

/// The hedge found.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HedgeResult {
    pub liability_value: f64,
    pub liability_dv01: f64,
    pub funded_ratio: Option<f64>,
    /// The glide path's stage at the funded ratio, when one applies.
    pub stage: Option<Stage>,
    pub hedge_ratio: f64,
    /// Whether every key rate is within the tolerance (else the least-squares mix).
    pub exact: bool,
    pub holdings: Vec<Holding>,
    pub keys: Vec<KeyMatch>,
    /// Money spent, trading costs included, and the hedge's DV01.
    pub total_cost: f64,
    pub hedge_dv01: f64,
    /// The hedge's DV01 over the liabilities'.
    pub achieved_hedge_ratio: f64,
}

/// The instrument's flows per 100 of face.
fn bond_flows(i: &Instrument, at: usize) -> Result<Vec<Flow>, SimError> {
    let f = i.frequency.unwrap_or(2);
    if ![1, 2, 4, 12].contains(&f) {
        return Err(invalid(format!("instruments[{at}].frequency"), format!("{f} is not 1, 2, 4 or 12")));
    }
    if !(i.maturity > 0.0 && i.maturity <= 100.0) {
        return Err(invalid(
            format!("instruments[{at}].maturity"),
            format!("{} is not above 0 and at most 100 years", i.maturity),
        ));
    }
    if !(0.0..=1.0).contains(&i.coupon) {
        return Err(invalid(format!("instruments[{at}].coupon"), format!("{} is not a rate from 0 to 1", i.coupon)));
    }
    if !(0.0..=1_000.0).contains(&i.cost_bps) {
        return Err(invalid(format!("instruments[{at}].cost_bps"), format!("{} is not 0 to 1,000", i.cost_bps)));
    }
    let period = 1.0 / f64::from(f);
    let mut flows = vec![Flow { time: i.maturity, amount: 100.0 }];
    if i.coupon > 0.0 {
        let mut t = i.maturity;
        while t > 1e-9 {
            flows.push(Flow { time: t, amount: 100.0 * i.coupon * period });
            t -= period;
        }
    }
    Ok(flows)
}

/// The stage of `path` at `funded`: the highest trigger reached.
pub fn stage(path: &[Stage], funded: f64) -> Option<Stage> {
    path.iter().filter(|s| s.funded_ratio <= funded).max_by(|a, b| a.funded_ratio.total_cmp(&b.funded_ratio)).copied()
}

/// Builds the least-cost hedge.
pub fn hedge(req: &HedgeRequest) -> Result<HedgeResult, SimError> {
    if req.instruments.is_empty() || req.instruments.len() > 200 {
        return Err(invalid("instruments", "give 1 to 200 instruments"));
    }
    for (i, s) in req.glide_path.iter().enumerate() {
        for (name, v, most) in [
            ("funded_ratio", s.funded_ratio, 5.0),
            ("hedge_ratio", s.hedge_ratio, 1.5),
            ("return_seeking", s.return_seeking, 1.0),
        ] {
            if !(0.0..=most).contains(&v) {
                return Err(invalid(format!("glide_path[{i}].{name}"), format!("{v} is not 0 to {most}")));
            }
        }
    }
    let tolerance = req.tolerance.unwrap_or(0.02);
    if !(0.0..=1.0).contains(&tolerance) {
        return Err(invalid("tolerance", format!("{tolerance} is not a share from 0 to 1")));
    }
    let flows = liabilities::flows(&req.liabilities)?;
    let curve = Curve::build(&req.liabilities.curve)?;
    let pv = liabilities::present_value(&curve, &flows);
    let assets = req.liabilities.assets.map(|a| a.value);
    if assets.is_some_and(|a| !(0.0..=1e15).contains(&a)) {
        return Err(invalid("assets.value", "must be 0 to 1e15"));
    }
    let funded_ratio = assets.map(|a| a / pv);
    if req.hedge_ratio.is_none() && !req.glide_path.is_empty() && funded_ratio.is_none() {
        return Err(invalid("liabilities.assets", "the glide path needs the plan's assets for its funded ratio"));
    }
    // Below the first trigger the first stage still applies: de-risking never starts higher.
    let stage = funded_ratio.and_then(|f| {
        stage(&req.glide_path, f)
            .or_else(|| req.glide_path.iter().min_by(|a, b| a.funded_ratio.total_cmp(&b.funded_ratio)).copied())
    });
    let hedge_ratio = req.hedge_ratio.or(stage.map(|s| s.hedge_ratio)).unwrap_or(1.0);
    if !(0.0..=1.5).contains(&hedge_ratio) {
        return Err(invalid("hedge_ratio", format!("{hedge_ratio} is not 0 to 1.5")));
    }
    let bonds: Vec<Vec<Flow>> =
        req.instruments.iter().enumerate().map(|(j, i)| bond_flows(i, j)).collect::<Result<_, _>>()?;
    let mut streams: Vec<&[Flow]> = vec![&flows];
    streams.extend(bonds.iter().map(Vec::as_slice));
    let keys = liabilities::key_rates(&req.liabilities.curve, &streams)?;
    let (liability_keys, instrument_keys) = (&keys[0], &keys[1..]);
    let prices: Vec<f64> = bonds.iter().map(|b| liabilities::present_value(&curve, b)).collect();
    let unit_cost: Vec<f64> = prices.iter().zip(&req.instruments).map(|(p, i)| p * (1.0 + i.cost_bps / 1e4)).collect();
    let targets: Vec<f64> = liability_keys.iter().map(|k| hedge_ratio * k.dv01).collect();
    let scale = targets.iter().map(|t| t.abs()).fold(0.0, f64::max).max(1e-12);
    // Units of 100 of face, scaled so the program's numbers are near 1.
    let n = req.instruments.len();
    let unit = scale.max(1.0);
    let column =
        |k: usize| -> Vec<(usize, f64)> { (0..n).map(|j| (j, instrument_keys[j][k].dv01 * unit / scale)).collect() };
    let mut lp = Program::new(n);
    for (j, c) in unit_cost.iter().enumerate() {
        lp.add_q(j, c * unit / pv.max(1e-12));
        lp.ge(vec![(j, 1.0)], 0.0);
    }
    for (k, t) in targets.iter().enumerate() {
        let room = tolerance * t.abs() / scale + 1e-12;
        lp.le(column(k), t / scale + room);
        lp.ge(column(k), t / scale - room);
    }
    if let Some(a) = assets {
        lp.le((0..n).map(|j| (j, unit_cost[j] * unit / pv.max(1e-12))).collect(), a / pv.max(1e-12));
    }
    let (units, exact) = match lp.solve() {
        Ok(u) => (u, true),
        Err(_) => {
            // The nearest mix: least squares of each key's relative miss.
            let mut qp = Program::new(n);
            for (k, t) in targets.iter().enumerate() {
                let weight = 1.0 / (t.abs() / scale).max(1e-3);
                let col = column(k);
                // ½uᵀPu + qᵀu = ½Σ w²(a·u − t)² less a constant: P = Σ w²aaᵀ, q = −Σ w²t·a.
                for &(i, a) in &col {
                    for &(j, b) in col.iter().filter(|(j, _)| *j >= i) {
                        qp.add_p(i, j, weight * weight * a * b);
                    }
                    qp.add_q(i, -weight * weight * a * t / scale);
                }
            }
            for j in 0..n {
                qp.ge(vec![(j, 1.0)], 0.0);
            }
            if let Some(a) = assets {
                qp.le((0..n).map(|j| (j, unit_cost[j] * unit / pv.max(1e-12))).collect(), a / pv.max(1e-12));
            }
            let u = qp.solve().map_err(|_| invalid("instruments", "no mix of these instruments can be found"))?;
            (u, false)
        }
    };
    let face: Vec<f64> = units.iter().map(|u| (u * unit * 100.0).max(0.0)).collect();
    let holdings: Vec<Holding> = req
        .instruments
        .iter()
        .enumerate()
        .map(|(j, i)| Holding {
            name: i.name.clone(),
            price: prices[j],
            face: face[j],
            market_value: prices[j] * face[j] / 100.0,
            cost: unit_cost[j] * face[j] / 100.0,
            dv01_per_100: instrument_keys[j].iter().map(|k| k.dv01).sum(),
        })
        .collect();
    let keys: Vec<KeyMatch> = liability_keys
        .iter()
        .enumerate()
        .map(|(k, KeyRate { tenor, dv01 })| KeyMatch {
            tenor: *tenor,
            liability_dv01: *dv01,
            target_dv01: targets[k],
            hedge_dv01: (0..n).map(|j| instrument_keys[j][k].dv01 * face[j] / 100.0).sum(),
        })
        .collect();
    let liability_dv01: f64 = liability_keys.iter().map(|k| k.dv01).sum();
    let hedge_dv01: f64 = keys.iter().map(|k| k.hedge_dv01).sum();
    Ok(HedgeResult {
        liability_value: pv,
        liability_dv01,
        funded_ratio,
        stage,
        hedge_ratio,
        exact,
        total_cost: holdings.iter().map(|h| h.cost).sum(),
        holdings,
        keys,
        hedge_dv01,
        achieved_hedge_ratio: if liability_dv01 > 0.0 { hedge_dv01 / liability_dv01 } else { 0.0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curve::{Compounding, CurveSpec, Interpolation, Node};
    use crate::liabilities::{Annuity, Assets};

    fn request(instruments: Vec<Instrument>) -> HedgeRequest {
        HedgeRequest {
            liabilities: LiabilityRequest {
                curve: CurveSpec {
                    zero_rates: [2.0, 5.0, 10.0, 30.0].iter().map(|&tenor| Node { tenor, rate: 0.04 }).collect(),
                    par_yields: Vec::new(),
                    coupon_frequency: None,
                    compounding: Compounding::Annual,
                    interpolation: Interpolation::FlatForward,
                },
                cash_flows: Vec::new(),
                annuity: Some(Annuity { amount: 1e6, years: 30, start: None, growth: None }),
                inflation: None,
                assets: None,
            },
            instruments,
            hedge_ratio: None,
            glide_path: Vec::new(),
            tolerance: Some(0.0),
        }
    }

    fn strip(maturity: f64) -> Instrument {
        Instrument { name: format!("{maturity}y strip"), maturity, coupon: 0.0, frequency: None, cost_bps: 0.0 }
    }

    #[test]
    fn strips_at_the_key_tenors_match_every_key_rate() {
        let r = hedge(&request(vec![strip(2.0), strip(5.0), strip(10.0), strip(30.0)])).unwrap();
        assert!(r.exact);
        for k in &r.keys {
            assert!((k.hedge_dv01 - k.target_dv01).abs() < 1e-6 * k.target_dv01.abs().max(1.0), "{k:?}");
        }
        assert!((r.achieved_hedge_ratio - 1.0).abs() < 1e-6);
        // A strip at a key tenor loads only that key: its face is the key's DV01 over the
        // strip's DV01 per 100.
        let ten = &r.holdings[2];
        assert!((ten.face / 100.0 * ten.dv01_per_100 - r.keys[2].liability_dv01).abs() < 1e-3, "{ten:?}");
    }

    #[test]
    fn the_cheaper_of_two_equivalent_instruments_is_bought() {
        let mut dear = strip(10.0);
        dear.name = "dear".into();
        dear.cost_bps = 50.0;
        let r = hedge(&request(vec![strip(2.0), strip(5.0), strip(10.0), dear, strip(30.0)])).unwrap();
        assert!(r.exact && r.holdings[3].face < 1e-3 * r.holdings[2].face, "{:?}", r.holdings);
    }

    #[test]
    fn too_few_instruments_give_the_nearest_mix_and_the_glide_path_sets_the_ratio() {
        let mut req = request(vec![strip(10.0)]);
        let r = hedge(&req).unwrap();
        assert!(!r.exact && r.holdings[0].face > 0.0);
        req.instruments = vec![strip(2.0), strip(5.0), strip(10.0), strip(30.0)];
        req.tolerance = None;
        req.glide_path = vec![
            Stage { funded_ratio: 0.0, hedge_ratio: 0.3, return_seeking: 0.7 },
            Stage { funded_ratio: 0.9, hedge_ratio: 0.6, return_seeking: 0.4 },
            Stage { funded_ratio: 1.05, hedge_ratio: 0.9, return_seeking: 0.1 },
        ];
        let pv = liabilities::analyse(&req.liabilities).unwrap().present_value;
        req.liabilities.assets = Some(Assets { value: 0.95 * pv, dv01: None, inflation_dv01: None });
        let r = hedge(&req).unwrap();
        assert_eq!(r.stage.unwrap().hedge_ratio, 0.6);
        // Below every trigger the first stage holds, never a full hedge.
        let mut low = req.clone();
        low.glide_path.remove(0);
        low.liabilities.assets = Some(Assets { value: 0.7 * pv, dv01: None, inflation_dv01: None });
        assert_eq!(hedge(&low).unwrap().hedge_ratio, 0.6);
        // At least cost every key sits at the low edge of the 2% tolerance.
        assert!(r.exact && (r.achieved_hedge_ratio - 0.6 * 0.98).abs() < 1e-9, "{}", r.achieved_hedge_ratio);
        assert!(r.total_cost <= 0.95 * pv);
        req.instruments[0].frequency = Some(3);
        assert!(hedge(&req).unwrap_err().to_string().starts_with("instruments[0].frequency"));
    }
}
