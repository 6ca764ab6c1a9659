//! `cairn quant …`: calculators for analysts, over JSON lines. Each reads one request per
//! line from stdin (or `--input FILE`) and writes one JSON result per line to stdout, in the
//! same order; a line that cannot be read or computed gets `{"line": N, "error": "..."}`
//! (N counts from 1) and the run goes on. Blank lines are skipped. Lines are computed in
//! parallel, in blocks, and written in order.

use std::fmt::Display;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use simulations::options;

#[derive(Debug, Subcommand)]
pub(crate) enum QuantCmd {
    /// Black-Scholes-Merton price and Greeks of European options (continuous dividend yield).
    ///
    /// Request: {"kind": "call"|"put", "spot", "strike", "rate", "dividend", "volatility",
    /// "expiry"}: rate and dividend continuously compounded per year (0.05 is 5%), volatility
    /// per year (0.2 is 20%), expiry in years.
    ///
    /// Result: {"price", "delta", "gamma", "vega", "theta", "rho"}: Greeks per unit change;
    /// vega per 1.00 of volatility, theta per year of calendar time (the price's change as
    /// time passes, usually negative), rho per 1.00 of the rate.
    ///
    /// Example: examples/quant/black-scholes.jsonl.
    #[command(verbatim_doc_comment)]
    BlackScholes(LinesArgs),
    /// Implied volatility of European options (Jäckel's "Let's Be Rational", to about 1e-15).
    ///
    /// Request: {"kind": "call"|"put", "spot", "strike", "rate", "dividend", "expiry",
    /// "price"}: the black-scholes fields without "volatility", plus the option's price (its
    /// present value). Rate and dividend continuously compounded per year, expiry in years.
    ///
    /// Result: {"volatility"}: per year (0.2 is 20%).
    ///
    /// A price at or below the intrinsic value of the discounted forward (for a call
    /// max(spot·e^(-dividend·expiry) - strike·e^(-rate·expiry), 0)) or at or above the upper
    /// bound (spot·e^(-dividend·expiry) for a call, strike·e^(-rate·expiry) for a put) has no
    /// volatility: the line gets an error naming "price" (also within 4 units of double
    /// rounding, 4·2.2e-16 of the larger discounted spot or strike, above the intrinsic value).
    ///
    /// Example: examples/quant/implied-vol.jsonl.
    #[command(verbatim_doc_comment)]
    ImpliedVol(LinesArgs),
    /// American options by the Bjerksund-Stensland approximations.
    ///
    /// Request: the black-scholes request, {"kind", "spot", "strike", "rate", "dividend",
    /// "volatility", "expiry"}, plus an optional "method": "bs1993" (the default: the flat
    /// exercise boundary of 1993, the method of QuantLib's
    /// BjerksundStenslandApproximationEngine, which it matches to 1e-10) or "bs2002" (the
    /// two-step boundary of 2002, usually closer to the true price; not in QuantLib). A put is
    /// priced as the call with spot and strike, rate and dividend swapped; where early
    /// exercise never pays (a call with dividend <= 0, a put with rate <= 0) the price is the
    /// European one. bs1993 refuses a call with rate < dividend < 0 (and a put with dividend
    /// < rate < 0), where the exercise region has two boundaries.
    ///
    /// Result: {"price", "delta", "gamma", "vega", "theta", "rho", "dividend_rho",
    /// "exercise_boundary"}, in the black-scholes units: vega per 1.00 of volatility, theta
    /// per year of calendar time, rho and dividend_rho per 1.00 of the rate and of the
    /// dividend yield. For bs1993 the Greeks are the exact derivatives of the approximate
    /// price (as QuantLib's engine returns them); for bs2002 they are central finite
    /// differences of its price (spot ±0.01%, gamma from spot ±0.1%, volatility, rate and
    /// dividend ±1e-5, expiry ±0.01%). exercise_boundary is the spot at which the
    /// approximation exercises at once (at or above it for a call, at or below it for a
    /// put), null where early exercise never pays.
    ///
    /// Example: examples/quant/american.jsonl.
    #[command(verbatim_doc_comment)]
    American(LinesArgs),
    /// Option strategies: analyse a named strategy, or propose strategies for a market view.
    ///
    /// Request, common fields: "spot", "volatility" (per year), "rate" and "dividend"
    /// (continuously compounded per year; default 0), "days" (calendar days to the expiry;
    /// years = days/365), "drift" (the price's expected growth per year for the probability
    /// of profit; default the rate, i.e. risk-neutral). Then either:
    ///
    /// - "strategy": one of covered_call, protective_put, collar, bull_call_spread,
    ///   bear_put_spread, long_straddle, long_strangle, butterfly, iron_condor,
    ///   iron_butterfly, calendar_spread; with optional "strikes" (ascending: covered_call
    ///   [call]; protective_put [put]; collar [put, call]; bull_call_spread [long call, short
    ///   call]; bear_put_spread [short put, long put]; long_straddle [strike]; long_strangle
    ///   [put, call]; butterfly (calls) and iron_butterfly [low, middle, high], equally
    ///   spaced; iron_condor [long put, short put, short call, long call]; calendar_spread
    ///   [strike], short the near call, long the far call); by default strikes are
    ///   spot·exp(k·volatility·sqrt(years)) for k a few multiples of one standard deviation,
    ///   rounded to 0.5 (spot < 25), 1 (spot < 200) or 5. "far_days": the calendar spread's
    ///   far expiry (default 2·days). "quantity": units of the underlying per leg (default
    ///   1; a listed contract is usually 100; the butterfly's middle leg is twice it).
    ///   "table": {"from", "to", "points"} adds a payoff table over that price grid.
    ///   Result: {"strategy", "legs": [{"instrument": "call"|"put"|"underlying", "strike",
    ///   "expiry" (years), "quantity", "side": "long"|"short", "premium" (per unit: the
    ///   Black-Scholes-Merton price, or the spot for the underlying)}], "horizon" (years to
    ///   the near expiry), "net_premium" (paid to open, the underlying included; negative for
    ///   a credit), "max_profit" and "max_loss" (at the horizon, max_loss a positive amount;
    ///   null where unbounded), "breakevens" (prices where the profit at the horizon is zero),
    ///   "probability_of_profit" (the price lognormal with the drift, less the dividend, and
    ///   the volatility), "greeks": {"delta", "gamma", "vega", "theta", "rho"} (sums over the
    ///   legs, the underlying's delta 1), "payoff_table": [{"price", "payoff" (the legs'
    ///   value), "profit" (payoff less net_premium)}] when asked}. At the horizon options
    ///   expiring then are worth their intrinsic value; the calendar spread's far call is
    ///   valued by Black-Scholes-Merton for the time left at the same volatility, rate and
    ///   dividend. Interest on the premium is ignored.
    ///
    /// - "view": bullish, bearish, neutral, volatile or range_bound; with "capital" (money
    ///   available) and "contract_size" (units per contract, default 100). The selector
    ///   builds candidates for the view (bullish: bull call spreads, covered call, collar,
    ///   protective put; bearish: bear put spreads; neutral: butterfly, iron butterfly,
    ///   calendar spread with the far expiry at 2·days; volatile: long straddle and
    ///   strangles; range_bound: iron condors, wide butterfly and iron butterfly) with strikes
    ///   from the volatility as above, sizes each to the most contracts whose capital
    ///   (contracts · contract_size · max(max loss, net premium) per unit) fits, leaves out
    ///   those that do not fit one contract or whose loss is unbounded, and ranks them by
    ///   score = probability_of_profit · reward_to_risk, where reward_to_risk = max_profit /
    ///   max_loss (for an unbounded profit, the profit at a two-standard-deviation move in the
    ///   better direction stands for max_profit).
    ///   Result: {"view", "proposals": [{"contracts", "capital_required", "reward_to_risk",
    ///   "score", "report": the named-strategy result for the whole position}]}, best first.
    ///
    /// Example: examples/quant/strategy.jsonl.
    #[command(verbatim_doc_comment)]
    Strategy(LinesArgs),
}

/// Where the requests come from.
#[derive(Debug, Args)]
pub(crate) struct LinesArgs {
    /// Read the requests from this file (JSON lines) instead of stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
}

pub(crate) fn quant(cmd: QuantCmd) -> anyhow::Result<()> {
    match cmd {
        QuantCmd::BlackScholes(io) => run_lines(&io, |r: options::BsInput| options::black_scholes(&r)),
        QuantCmd::ImpliedVol(io) => {
            run_lines(&io, |r: options::implied::ImpliedVolInput| options::implied::implied_volatility(&r))
        }
        QuantCmd::American(io) => {
            run_lines(&io, |r: options::american::AmericanInput| options::american::american_request(&r))
        }
        QuantCmd::Strategy(io) => run_lines(&io, |r: options::strategy::StrategyRequest| options::strategy::run(&r)),
    }
}

/// Bytes read per block; a block's lines are computed in parallel and written in order.
const BLOCK_BYTES: usize = 4 << 20;
/// Lines per parallel task.
const TASK_LINES: usize = 2048;

/// Reads JSON-lines requests, computes each with `f` and writes one JSON line per request.
fn run_lines<Req, Resp, E>(args: &LinesArgs, f: impl Fn(Req) -> Result<Resp, E> + Sync) -> anyhow::Result<()>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Display,
{
    let input: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => Box::new(std::io::stdin().lock()),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    process(BufReader::with_capacity(1 << 16, input), &mut out, &f)?;
    out.flush().context("cannot write the results")?;
    Ok(())
}

fn process<Req, Resp, E>(
    mut input: impl BufRead,
    out: &mut impl Write,
    f: &(impl Fn(Req) -> Result<Resp, E> + Sync),
) -> anyhow::Result<()>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Display,
{
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK_BYTES + (1 << 16));
    let mut first_line = 1usize;
    loop {
        // Fill the block up to BLOCK_BYTES, then to the end of the line in progress.
        let mut eof = false;
        while block.len() < BLOCK_BYTES {
            let buf = input.fill_buf().context("cannot read the requests")?;
            if buf.is_empty() {
                eof = true;
                break;
            }
            let n = buf.len().min(BLOCK_BYTES - block.len());
            block.extend_from_slice(&buf[..n]);
            input.consume(n);
        }
        if !eof && input.read_until(b'\n', &mut block).context("cannot read the requests")? == 0 {
            eof = true;
        }
        if block.is_empty() {
            return Ok(());
        }
        let lines: Vec<&[u8]> = block.strip_suffix(b"\n").unwrap_or(&block).split(|&b| b == b'\n').collect();
        let outputs: Vec<Vec<u8>> = lines
            .par_chunks(TASK_LINES)
            .enumerate()
            .map(|(task, chunk)| {
                let mut buf = Vec::with_capacity(chunk.len() * 128);
                for (i, line) in chunk.iter().enumerate() {
                    answer(first_line + task * TASK_LINES + i, line, &mut buf, f);
                }
                buf
            })
            .collect();
        for buf in &outputs {
            out.write_all(buf).context("cannot write the results")?;
        }
        first_line += lines.len();
        block.clear();
        if eof {
            return Ok(());
        }
    }
}

/// Appends the answer to one line (nothing for a blank line).
fn answer<Req, Resp, E>(number: usize, line: &[u8], buf: &mut Vec<u8>, f: &impl Fn(Req) -> Result<Resp, E>)
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Display,
{
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let result = match serde_json::from_slice::<Req>(line) {
        Err(e) => Err(parse_error(&e)),
        Ok(request) => f(request).map_err(|e| e.to_string()),
    };
    let written = match result {
        Ok(response) => serde_json::to_writer(&mut *buf, &response).map_err(|e| e.to_string()),
        Err(message) => Err(message),
    };
    if let Err(message) = written {
        serde_json::to_writer(&mut *buf, &serde_json::json!({ "line": number, "error": message }))
            .expect("a JSON object of a number and a string always serializes");
    }
    buf.push(b'\n');
}

/// serde_json's message without its "at line 1 column C" (every request is one line), with
/// the column kept for syntax errors.
fn parse_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
    if e.is_syntax() || e.is_eof() {
        format!("invalid JSON: {message} (column {})", e.column())
    } else {
        message.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        process(input.as_bytes(), &mut out, &|r: options::BsInput| options::black_scholes(&r)).unwrap();
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn answers_in_order_with_errors_naming_the_line_and_field() {
        let good = r#"{"kind":"call","spot":100,"strike":100,"rate":0.05,"dividend":0,"volatility":0.2,"expiry":1}"#;
        let input =
            format!("{good}\n\n{{\"kind\":\"put\",\"spot\":100}}\nnot json\n{}\n{good}", good.replace("0.2", "-0.2"));
        let out = run(&input);
        assert_eq!(out.len(), 5);
        assert!((out[0]["price"].as_f64().unwrap() - 10.450_583_572_185_565).abs() < 1e-12);
        assert_eq!(out[1]["line"], 3);
        assert_eq!(out[1]["error"], "missing field `strike`");
        assert_eq!(out[2]["line"], 4);
        assert!(out[2]["error"].as_str().unwrap().starts_with("invalid JSON"));
        assert_eq!(out[3], serde_json::json!({"line": 5, "error": "volatility: must be a positive number"}));
        assert_eq!(out[4], out[0]);
    }

    #[test]
    fn many_blocks_keep_order_and_line_numbers() {
        let line = |i: usize| {
            format!(
                r#"{{"kind":"call","spot":{},"strike":100,"rate":0.01,"dividend":0,"volatility":0.2,"expiry":1}}"#,
                if i % 1000 == 7 { -1.0 } else { 50.0 + i as f64 * 1e-3 }
            )
        };
        let n = 60_000; // about 6 MB: more than one block
        let input: String = (0..n).map(|i| line(i) + "\n").collect();
        let out = run(&input);
        assert_eq!(out.len(), n);
        for (i, v) in out.iter().enumerate() {
            if i % 1000 == 7 {
                assert_eq!(v["line"], i + 1);
            } else {
                assert!(v["price"].is_number(), "line {}: {v}", i + 1);
            }
        }
        assert!(out[n - 1]["price"].as_f64().unwrap() > out[0]["price"].as_f64().unwrap());
    }
}
