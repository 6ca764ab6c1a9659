//! `cairn simulate PLAN.toml`: a Monte Carlo run of a plan file (see examples/retirement.toml).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use simulations::monte_carlo::{self, Outcome, Plan};

/// Run a Monte Carlo simulation of a plan: assets with expected returns, volatilities,
/// weights and correlations; normal or Student-t shocks, Markov regimes, Merton jumps;
/// monthly, weekly or daily steps; contributions, then inflation-adjusted withdrawals.
/// Prints the probability of success, wealth percentiles (5/25/50/75/95) per year, the
/// terminal wealth and maximum drawdown distributions, and risk metrics of the simulated
/// annual returns. The plan's format, field by field, is in examples/retirement.toml.
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
}

/// Reads and checks a plan file; errors name the line and the field.
pub(crate) fn read_plan(path: &std::path::Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))
}

pub(crate) fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let mut plan = read_plan(&args.plan)?;
    if let Some(p) = args.paths {
        plan.paths = p;
    }
    if let Some(s) = args.seed {
        plan.seed = s;
    }
    let started = Instant::now();
    let outcome = monte_carlo::run(&plan, args.threads)?;
    let seconds = started.elapsed().as_secs_f64();
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    let risk = simulations::risk::summarize(&outcome.annual_returns, 1.0, &[0.95, 0.99])
        .map_err(|e| anyhow::anyhow!("risk metrics: {e}"))?;
    if args.format == "json" {
        let mut value = serde_json::to_value(&outcome)?;
        // The paths' annual returns pooled: a distribution, not one series, so no drawdown of
        // its own (each path's maximum drawdown is in max_drawdown_percentiles).
        let mut pooled = serde_json::to_value(&risk)?;
        if let Some(o) = pooled.as_object_mut() {
            o.remove("max_drawdown");
        }
        value["annual_return_risk"] = pooled;
        value["seed"] = serde_json::json!(plan.seed);
        value["seconds"] = serde_json::json!(seconds);
        println!("{value}");
    } else {
        print!("{}", table(&plan, &outcome, &risk, seconds));
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

fn table(plan: &Plan, o: &Outcome, risk: &simulations::risk::Summary, seconds: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} paths x {} years ({} steps a year), seed {}, {:.2} s",
        o.paths, o.years, o.steps_per_year, plan.seed, seconds
    );
    let _ = writeln!(s, "probability of success: {:.1}%", o.success_probability * 100.0);
    let _ = writeln!(s, "terminal wealth: mean {}", money(o.terminal_mean));
    let _ = writeln!(s, "\n{:>5} {:>14} {:>14} {:>14} {:>14} {:>14}", "year", "5%", "25%", "50%", "75%", "95%");
    for b in o.bands.iter().filter(|b| b.year % 5 == 0 || b.year == 1 || b.year == o.years) {
        let _ = write!(s, "{:>5}", b.year);
        for w in b.wealth {
            let _ = write!(s, " {:>14}", money(w));
        }
        s.push('\n');
    }
    let dd = o.max_drawdown_percentiles.map(|d| format!("{:.1}%", d * 100.0));
    let _ = writeln!(s, "\nmaximum drawdown (5/25/50/75/95%): {}", dd.join(" / "));
    let opt = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{:.2}%", v * 100.0));
    let _ = writeln!(
        s,
        "annual returns (all paths): mean {:.2}%, volatility {:.2}%, Sharpe {:.2}, Sortino {}, skewness {:.2}, excess kurtosis {:.2}",
        risk.mean * 100.0,
        risk.volatility * 100.0,
        risk.sharpe,
        risk.sortino.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
        risk.skewness,
        risk.excess_kurtosis
    );
    let _ = writeln!(
        s,
        "
{:>10} {:>16} {:>16} {:>16}",
        "confidence", "VaR / CVaR hist.", "normal", "Cornish-Fisher"
    );
    for t in &risk.tail {
        let _ = writeln!(
            s,
            "{:>9.0}% {:>16} {:>16} {:>16}",
            t.confidence * 100.0,
            format!("{:.2}% / {:.2}%", t.historical_var * 100.0, t.historical_cvar * 100.0),
            format!("{:.2}% / {:.2}%", t.parametric_var * 100.0, t.parametric_cvar * 100.0),
            format!("{} / {}", opt(t.cornish_fisher_var), opt(t.cornish_fisher_cvar)),
        );
    }
    s
}
