//! `cairn simulate PLAN.toml`: a Monte Carlo run of a plan file (see examples/retirement.toml).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use simulations::accounts;
use simulations::monte_carlo::household::{self, HouseholdOutcome};
use simulations::monte_carlo::{self, Band, Outcome, Plan};
use simulations::scenario::{self, Economy};

use super::{chart, out, outln};

/// Run a Monte Carlo simulation of a plan: assets with expected returns, volatilities,
/// weights and correlations; normal, Student-t or Hansen skewed-t shocks, GARCH(1,1)
/// volatility, Markov regimes or the economic scenario generator, Merton jumps, black-swan
/// crashes; monthly, weekly or daily steps over up to 100 years; contributions, income
/// streams (Social Security, pensions) from an age, fees, and withdrawals by a strategy
/// (constant, fixed percentage, Guyton-Klinger, VPW, RMD); antithetic variates and a control
/// variate. Prints the probability of success, wealth (nominal) and spending (today's money)
/// percentiles (5/25/50/75/95) per year, terminal wealth (nominal) and maximum drawdown
/// distributions, VaR/CVaR of the portfolio's return over each horizon as shares of its value
/// (simulated; normal and Cornish-Fisher fitted to the log returns and transformed back to
/// simple losses, 1 - e^q, so never above 100%), the variance reduction of each technique
/// alone and together, and the household's account projections (nominal) when the plan has a
/// `[household]`. JSON output says each figure's unit under `units`. The plan's format, field
/// by field, is in examples/retirement.toml.
#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// The plan file (TOML).
    plan: PathBuf,
    /// Number of paths (overrides the plan's `paths`).
    #[arg(long)]
    paths: Option<usize>,
    /// Random seed (overrides the plan's `seed`); the same seed gives the same results on any
    /// number of threads.
    #[arg(long)]
    seed: Option<u64>,
    /// Threads (0: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// `table` (for reading) or `json`.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    /// Draw a fan chart of the wealth percentiles per year to this file (.svg or .png).
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// Horizons in years for VaR and CVaR of the portfolio's compounded return (each path's
    /// first years), comma-separated; capped at the plan's years.
    #[arg(long, value_delimiter = ',', default_value = "1,5,10")]
    horizons: Vec<u32>,
    /// Confidence levels for VaR and CVaR, comma-separated, each between 0 and 1.
    #[arg(long, value_delimiter = ',', default_value = "0.95,0.99")]
    confidence: Vec<f64>,
    /// Plan this household of the ledger (`--database-url`): its open accounts at the latest
    /// closes (taxable basis included), filing status and members' birth dates fill the plan's
    /// `[household]`; the plan file gives the market, the spending, and under `[household]` the
    /// person's pay and retirement age (retired when there is no `[household]`), the
    /// withdrawals, and contributions for accounts named as in the ledger.
    #[arg(long)]
    household: Option<String>,
}

/// Reads and checks a TOML file; errors name the line and the field.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))
}

/// Risk of the portfolio's compounded return over one horizon.
#[derive(Debug, Serialize)]
struct HorizonRisk {
    years: u32,
    #[serde(flatten)]
    risk: simulations::risk::Summary,
}

fn horizon_risk(outcome: &Outcome, horizons: &[u32], confidence: &[f64]) -> anyhow::Result<Vec<HorizonRisk>> {
    let mut years: Vec<u32> = horizons.iter().map(|h| (*h).clamp(1, outcome.years)).collect();
    years.dedup();
    years
        .into_iter()
        .map(|h| {
            let risk = simulations::risk::summarize(&outcome.horizon_returns(h), 1.0 / f64::from(h), confidence)
                .map_err(|e| anyhow::anyhow!("risk over {h} years: {e}"))?;
            Ok(HorizonRisk { years: h, risk })
        })
        .collect()
}

/// `cairn simulate`: the plan file alone, or laid over a household of the ledger.
pub(crate) async fn simulate(args: SimulateArgs, url: &str) -> anyhow::Result<()> {
    let mut plan: Plan = read_toml(&args.plan)?;
    if let Some(household) = &args.household {
        let store = event_store::Store::open_existing(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open database {url}: {e}"))?;
        let (reader, key) = super::tax::read_models(store, url, &["prices", "holdings"], household).await?;
        let today = workers::market::intraday::today();
        for note in queries::plan::from_ledger(&reader.db, &key, &mut plan, today).await? {
            eprintln!("note: {note}");
        }
    }
    tokio::task::block_in_place(|| run_plan(&args, plan))
}

fn run_plan(args: &SimulateArgs, mut plan: Plan) -> anyhow::Result<()> {
    if let Some(p) = args.paths {
        plan.paths = p;
    }
    if let Some(s) = args.seed {
        plan.seed = s;
    }
    if let Some(c) = args.confidence.iter().find(|c| !(**c > 0.0 && **c < 1.0)) {
        anyhow::bail!("--confidence: {c} is not between 0 and 1");
    }
    let accounts = plan.household.as_ref().map(|h| accounts::project(h, plan.years)).transpose()?;
    let started = Instant::now();
    let (outcome, household) = if plan.household.is_some() {
        let (o, h) = household::run(&plan, args.threads)?;
        (o, Some(h))
    } else {
        (monte_carlo::run(&plan, args.threads)?, None)
    };
    let seconds = started.elapsed().as_secs_f64();
    for w in household.as_ref().map_or(&outcome.warnings, |h| &h.warnings) {
        eprintln!("warning: {w}");
    }
    // A plan without volatility has no return distribution to measure.
    let risk = match horizon_risk(&outcome, &args.horizons, &args.confidence) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("note: no VaR/CVaR: {e}");
            Vec::new()
        }
    };
    if let Some(path) = &args.chart {
        let fan = match &household {
            Some(h) => chart::Fan {
                paths: h.paths,
                years: h.years,
                success_probability: h.success_probability,
                bands: &h.bands,
                initial: h.starting_wealth,
            },
            None => chart::Fan {
                paths: outcome.paths,
                years: outcome.years,
                success_probability: outcome.success_probability,
                bands: &outcome.bands,
                initial: plan.starting_wealth()?,
            },
        };
        chart::fan_chart(&fan, path)?;
    }
    if args.format == "json" {
        let mut value = match &household {
            Some(h) => serde_json::to_value(h)?,
            None => serde_json::to_value(&outcome)?,
        };
        value["horizon_risk"] = serde_json::to_value(&risk)?;
        value["accounts"] = serde_json::to_value(&accounts)?;
        value["seed"] = serde_json::json!(plan.seed);
        value["seconds"] = serde_json::json!(seconds);
        value["units"]["horizon_risk"] = serde_json::json!("fraction of the portfolio's value");
        value["units"]["accounts"] = serde_json::json!(monte_carlo::NOMINAL);
        outln!("{value}")?;
    } else {
        match &household {
            Some(h) => out!("{}", household_table(&plan, &outcome, h, &risk, seconds))?,
            None => out!("{}", table(&plan, &outcome, &risk, seconds))?,
        }
        if let Some(p) = &accounts {
            out!("\naccount projections at the accounts' assumed returns (nominal)\n{}", accounts::table(p))?;
        }
    }
    Ok(())
}

/// A household plan's answer, for reading.
fn household_table(plan: &Plan, o: &Outcome, h: &HouseholdOutcome, risk: &[HorizonRisk], seconds: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} paths x {} years ({} steps a year), seed {}, {:.2} s",
        h.paths, h.years, o.steps_per_year, plan.seed, seconds
    );
    let _ = writeln!(
        s,
        "household plan from {}: starting wealth {} ({}), withdrawals {}",
        h.start_year,
        money(h.starting_wealth),
        h.units.starting_wealth,
        h.order
    );
    let _ = writeln!(
        s,
        "probability of success: {:.1}% (every year's spending paid in full)",
        h.success_probability * 100.0
    );
    let row = |v: [f64; 5]| v.map(money).join(" / ");
    let _ = writeln!(
        s,
        "after-tax wealth at the end ({}), 5/25/50/75/95%: {}",
        h.units.terminal_after_tax,
        row(h.terminal_after_tax)
    );
    let _ = writeln!(
        s,
        "after-tax wealth at the end ({}), 5/25/50/75/95%: {}",
        h.units.terminal_after_tax_nominal,
        row(h.terminal_after_tax_nominal)
    );
    let _ = writeln!(s, "lifetime tax ({}), 5/25/50/75/95%: {}", h.units.lifetime_tax, row(h.lifetime_tax));
    percentile_rows(&mut s, &format!("wealth ({})", h.units.bands), &h.bands, h.years);
    percentile_rows(&mut s, &format!("after-tax wealth ({})", h.units.after_tax_bands), &h.after_tax_bands, h.years);
    if !h.spending_bands.is_empty() {
        percentile_rows(&mut s, &format!("spending paid ({})", h.units.spending_bands), &h.spending_bands, h.years);
    }
    percentile_rows(&mut s, &format!("tax paid ({})", h.units.tax_bands), &h.tax_bands, h.years);
    let _ = writeln!(
        s,
        "\nmedians by year ({}; each figure's own median over the paths)\n{:>5} {:>4} {:>10} {:>10} {:>9} {:>12} {:>11} {:>10} {:>9} {:>9} {:>9} {:>8}",
        h.units.median_years,
        "year", "age", "spending", "income", "RMD", "from taxable", "from trad.", "from Roth", "from HSA", "tax", "10% tax", "IRMAA"
    );
    let first = h.median_years.first().map_or(0, |y| y.year);
    let last = h.median_years.last().map_or(0, |y| y.year);
    for y in h.median_years.iter().filter(|y| (y.year - first) % 5 == 0 || y.year == last) {
        let _ = writeln!(
            s,
            "{:>5} {:>4} {:>10} {:>10} {:>9} {:>12} {:>11} {:>10} {:>9} {:>9} {:>9} {:>8}",
            y.year,
            y.age,
            money(y.spending),
            money(y.income),
            money(y.rmd),
            money(y.from_taxable),
            money(y.from_traditional),
            money(y.from_roth),
            money(y.from_hsa),
            money(y.tax),
            money(y.additional_tax),
            money(y.irmaa)
        );
    }
    let _ = writeln!(s, "\nhow the household is modelled:");
    for m in &h.method {
        let _ = writeln!(s, "  - {m}");
    }
    risk_rows(&mut s, risk);
    s
}

/// Run the economic scenario generator alone: a Markov chain of economic regimes (expansion,
/// recession, recovery, stagflation in the built-in "us" economy) with mean-reverting paths of
/// GDP growth, inflation, unemployment and the short rate. Prints each variable's percentiles
/// of its yearly average and the share of paths in each regime, per year. The economy's format
/// is in examples/economy.toml; plans use the same under `[model.economy]` (or
/// `model.economy = "us"`) to drive asset returns and inflation.
#[derive(Debug, Args)]
pub(crate) struct EconomyArgs {
    /// An economy file (TOML, as examples/economy.toml); the built-in US economy when omitted.
    file: Option<PathBuf>,
    #[arg(long, default_value_t = 30)]
    years: u32,
    #[arg(long, default_value_t = 10_000)]
    paths: usize,
    /// 1, 4, 12, 52 or 252.
    #[arg(long, default_value_t = 12)]
    steps_per_year: u32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads (0: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// `table` or `json`.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
}

pub(crate) fn economy(args: EconomyArgs) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        economy: Economy,
    }
    let economy = match &args.file {
        Some(path) => read_toml::<File>(path)?.economy,
        None => Economy::us_default(),
    };
    let outcome = scenario::generate(&economy, args.years, args.steps_per_year, args.paths, args.seed, args.threads)?;
    if args.format == "json" {
        outln!("{}", serde_json::to_string(&outcome)?)?;
    } else {
        out!("{}", scenario::table(&outcome))?;
    }
    Ok(())
}

fn money(v: f64) -> String {
    let rounded = v.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Percentiles per year under `title` (which says the unit).
fn percentile_rows(s: &mut String, title: &str, bands: &[Band], years: u32) {
    let _ =
        writeln!(s, "\n{title}\n{:>5} {:>14} {:>14} {:>14} {:>14} {:>14}", "year", "5%", "25%", "50%", "75%", "95%");
    let first = bands.first().map_or(1, |b| b.year);
    for b in bands.iter().filter(|b| b.year % 5 == 0 || b.year == first || b.year == years) {
        let _ = write!(s, "{:>5}", b.year);
        for w in b.wealth {
            let _ = write!(s, " {:>14}", money(w));
        }
        s.push('\n');
    }
}

fn table(plan: &Plan, o: &Outcome, risk: &[HorizonRisk], seconds: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} paths x {} years ({} steps a year), seed {}, {:.2} s",
        o.paths, o.years, o.steps_per_year, plan.seed, seconds
    );
    let _ = writeln!(s, "probability of success: {:.1}%", o.success_probability * 100.0);
    let v = &o.variance;
    let _ = writeln!(
        s,
        "terminal wealth ({}): mean {} (standard error {}; antithetic {}, control variate {})",
        o.units.terminal_mean,
        money(v.estimate),
        money(v.standard_error),
        if v.antithetic { "on" } else { "off" },
        if v.control_variate { "on" } else { "off" },
    );
    let tw = o.terminal_percentiles.map(money);
    let _ = writeln!(s, "terminal wealth ({}), 5/25/50/75/95%: {}", o.units.terminal_percentiles, tw.join(" / "));
    let r = &v.reduction;
    let reductions: Vec<String> =
        [("antithetic alone", r.antithetic), ("control variate alone", r.control_variate), ("both", r.both)]
            .into_iter()
            .filter_map(|(name, f)| f.map(|f| format!("{name} {f:.1}x")))
            .collect();
    if !reductions.is_empty() {
        let _ = writeln!(s, "variance reduced: {}", reductions.join(", "));
    }
    for note in &v.notes {
        let _ = writeln!(s, "  ({note})");
    }
    percentile_rows(&mut s, &format!("wealth ({})", o.units.bands), &o.bands, o.years);
    if !o.spending_bands.is_empty() {
        percentile_rows(&mut s, &format!("withdrawals ({})", o.units.spending_bands), &o.spending_bands, o.years);
    }
    let dd = o.max_drawdown_percentiles.map(|d| format!("{:.1}%", d * 100.0));
    let _ =
        writeln!(s, "\nmaximum drawdown ({}), 5/25/50/75/95%: {}", o.units.max_drawdown_percentiles, dd.join(" / "));
    risk_rows(&mut s, risk);
    s
}

/// VaR and CVaR of the portfolio's return over each horizon.
fn risk_rows(s: &mut String, risk: &[HorizonRisk]) {
    let opt = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{:.2}%", v * 100.0));
    if let Some(first) = risk.first() {
        let _ = writeln!(
            *s,
            "\nVaR / CVaR as shares of the portfolio's value; simulated: the paths' returns; normal and Cornish-Fisher: {}",
            first.risk.basis
        );
    }
    for h in risk {
        let r = &h.risk;
        let _ = writeln!(
            *s,
            "\nportfolio return over {} year{}: mean {:.2}%, volatility {:.2}% a year, skewness {:.2}, excess kurtosis {:.2}",
            h.years,
            if h.years == 1 { "" } else { "s" },
            r.mean * 100.0,
            r.volatility * 100.0,
            r.skewness,
            r.excess_kurtosis
        );
        let _ = writeln!(
            *s,
            "{:>10} {:>20} {:>20} {:>20}",
            "confidence", "VaR / CVaR simulated", "normal", "Cornish-Fisher"
        );
        for t in &r.tail {
            let _ = writeln!(
                s,
                "{:>9.1}% {:>20} {:>20} {:>20}",
                t.confidence * 100.0,
                format!("{:.2}% / {:.2}%", t.historical_var * 100.0, t.historical_cvar * 100.0),
                format!("{} / {}", opt(t.parametric_var), opt(t.parametric_cvar)),
                format!("{} / {}", opt(t.cornish_fisher_var), opt(t.cornish_fisher_cvar)),
            );
        }
        // Why a figure is n/a, once per horizon and reason.
        let mut reasons: Vec<String> = Vec::new();
        for t in &r.tail {
            for (method, why) in
                [("normal", &t.parametric_unavailable), ("Cornish-Fisher", &t.cornish_fisher_unavailable)]
            {
                if let Some(why) = why {
                    let line = format!("{method} unavailable: {why}");
                    if !reasons.contains(&line) {
                        reasons.push(line);
                    }
                }
            }
        }
        for line in reasons {
            let _ = writeln!(*s, "  {line}");
        }
    }
}
