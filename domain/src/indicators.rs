//! Technical indicators over daily closes (and highs and lows), in `Decimal`, on TA-Lib's
//! default conventions (`TA_COMPATIBILITY_DEFAULT`, no unstable period).
//!
//! Every function returns one value per input, aligned with it: `None` until the first index
//! with enough data, then `Some`. An input too short for any value gives all `None`, not an
//! error; a parameter out of range is an [`IndicatorError`] naming it. Nothing is rounded: the
//! values carry `Decimal`'s 28 digits, and a caller rounds only to show them.
//!
//! - **SMA(n)** ([`sma`]): the mean of the `n` closes ending at `i`. First value at index
//!   `n - 1` (TA-Lib `TA_SMA`).
//! - **EMA(n)** ([`ema`]): `k = 2 / (n + 1)`, `EMA_i = EMA_{i-1} + k × (x_i - EMA_{i-1})`. With
//!   [`Seeding::TaLib`], `EMA_{n-1}` is the SMA of the first `n` closes and the first value is
//!   at index `n - 1` (TA-Lib `TA_EMA`). With [`Seeding::FirstValue`], `EMA_0 = x_0` and there
//!   is a value from index 0 on (Tulip Indicators' `ti_ema`; Metastock's seed, which TA-Lib's
//!   `TA_COMPATIBILITY_METASTOCK` also uses, though TA-Lib still hides the first `n - 1`).
//! - **RSI(n)** ([`rsi`]), Wilder's: the changes `d_i = x_i - x_{i-1}` split into gains
//!   (`d_i > 0`) and losses (`-d_i` for `d_i < 0`). The first averages are the simple means of
//!   the first `n` gains and losses (changes 1 to `n`), so the first value is at index `n`;
//!   after that each average is `(previous × (n - 1) + today) / n`. `RSI = 100 × AG / (AG + AL)`,
//!   which is `100 - 100 / (1 + AG / AL)` written so that an average loss of 0 gives 100. When
//!   both averages are 0 (no change over the seed and none since), the RSI is **0**, as TA-Lib
//!   writes it (`TA_RSI`: "if( !TA_IS_ZERO(tempValue1) ) … else outReal = 0.0", where TA-Lib's
//!   zero is anything within 10⁻⁸ and here it is exact zero). Some libraries give 50 or no
//!   value; 0 is kept for agreement with TA-Lib. TA-Lib takes periods from 2 up (and, forced to
//!   period 1, copies the input); here period 1 follows the formula: 100 on a rise, 0 on a fall
//!   or no change. Wilder's averages remember the whole series, so a value depends on where the
//!   series starts (TA-Lib's "unstable period", 0 by default): it starts at the first input.
//! - **MACD(fast, slow, signal)** ([`macd`]), as TA-Lib `TA_MACD`: both EMAs start at index
//!   `slow - 1`. The slow one is seeded there with the SMA of the first `slow` closes; the fast
//!   one is seeded at the same index with the SMA of the `fast` closes ending there, not at
//!   index `fast - 1`, so it differs from a stand-alone [`ema`] of `fast` until the seed's weight
//!   fades. The MACD line is fast − slow from index `slow - 1`; the signal is the EMA(signal) of
//!   the line seeded with the SMA of its first `signal` values; the histogram is line − signal.
//!   All three start at index `slow - 1 + signal - 1` (33 for 12, 26, 9). The fast period must
//!   be shorter than the slow one (TA-Lib swaps them silently; here that is an error).
//! - **Bollinger bands(n, k)** ([`bollinger`]): middle = SMA(n); upper and lower = middle ± k ×
//!   the **population** standard deviation of the same `n` closes, `sqrt(Σ (x - mean)² / n)`
//!   (TA-Lib `TA_BBANDS` with its SMA, whose deviation is `TA_STDDEV`, divided by `n`; John
//!   Bollinger, "Bollinger on Bollinger Bands", 2001, uses the population form too). First
//!   value at index `n - 1`. The defaults here are Bollinger's 20 and 2 (TA-Lib's are 5 and 2).
//! - **ATR(n)** ([`atr`]), Wilder's: the true range `TR_i = max(H_i - L_i, |H_i - C_{i-1}|,
//!   |L_i - C_{i-1}|)` needs the close before, so bar 0 has none (TA-Lib `TA_TRANGE`). The first
//!   ATR is the mean of `TR_1 … TR_n`, at index `n`; after that `ATR_i = (ATR_{i-1} × (n - 1) +
//!   TR_i) / n` (TA-Lib `TA_ATR`; J. Welles Wilder, "New Concepts in Technical Trading
//!   Systems", 1978).
//! - **Volatility(n)** ([`volatility`]): the **sample** standard deviation (divided by `n - 1`)
//!   of the `n` daily log returns `ln(C_i / C_{i-1})` ending at `i`, annualized by `sqrt(252)`
//!   trading days, as a fraction (`0.2` is 20 %). First value at index `n` (it needs `n + 1`
//!   closes); `n` is at least 2 and every close above 0 (John C. Hull, "Options, Futures, and
//!   Other Derivatives", "Estimating volatility from historical data"). TA-Lib has no such
//!   function.
//!
//! [`Indicator`] reads a spec such as `rsi:14` or `macd:12:26:9`, and [`Indicator::compute`]
//! runs it over [`Bar`]s into named columns for a CLI or report to print.
//!
//! Sources: the TA-Lib C sources (`ta_SMA.c`, `ta_EMA.c`, `ta_RSI.c`, `ta_MACD.c`,
//! `ta_BBANDS.c`, `ta_STDDEV.c`, `ta_TRANGE.c`, `ta_ATR.c`); Tulip Indicators
//! (tulipindicators.org/ema); StockCharts ChartSchool, "Relative Strength Index (RSI)", whose
//! worked example is a test below.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::{Decimal, MathematicalOps};

use crate::market::Bar;

/// Trading days in a year, for annualizing daily volatility.
pub const TRADING_DAYS_PER_YEAR: u32 = 252;

/// Why an indicator cannot be computed, or a spec not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndicatorError {
    /// A parameter out of its range, by name (`the period must be at least 1`).
    #[error("the {parameter} {problem}")]
    Parameter { parameter: &'static str, problem: String },
    /// A close at or below 0 where a log return is needed.
    #[error("the close at index {index} is {value}: log returns need closes above 0")]
    NotPositive { index: usize, value: Decimal },
    /// Bars out of date order, or two on one date.
    #[error("the bar of {date} does not come after the bar before it")]
    Unordered { date: NaiveDate },
    /// A spec that does not read, quoted, and why (`"rsi:0": the period must be at least 1`).
    #[error("{spec:?}: {problem}")]
    Spec { spec: String, problem: String },
}

/// How [`ema`] starts (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seeding {
    /// The SMA of the first `n` values, at index `n - 1` (TA-Lib).
    #[default]
    TaLib,
    /// The first value, at index 0 (Metastock, Tulip Indicators).
    FirstValue,
}

/// One MACD value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Macd {
    /// Fast EMA − slow EMA.
    pub macd: Decimal,
    /// The EMA of the MACD line.
    pub signal: Decimal,
    /// `macd - signal`.
    pub histogram: Decimal,
}

/// One set of Bollinger bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    pub upper: Decimal,
    pub middle: Decimal,
    pub lower: Decimal,
}

/// The longest period any indicator takes: a century of trading days, far past any use, and
/// small enough that no arithmetic on it can overflow.
pub const MAX_PERIOD: usize = 25_200;

fn at_least(parameter: &'static str, value: usize, min: usize) -> Result<(), IndicatorError> {
    if value < min {
        return Err(IndicatorError::Parameter { parameter, problem: format!("must be at least {min}") });
    }
    if value > MAX_PERIOD {
        return Err(IndicatorError::Parameter { parameter, problem: format!("must be at most {MAX_PERIOD}") });
    }
    Ok(())
}

fn mean(xs: &[Decimal]) -> Decimal {
    xs.iter().sum::<Decimal>() / Decimal::from(xs.len())
}

/// The square root of `x` (0 for `x <= 0`) by Newton's method. rust_decimal 1.43's own
/// `sqrt` panics when the iteration cycles between two neighbours in the last digit
/// (paupino/rust-decimal#721, e.g. `4.0000000000000000000000000003`); this one stops after a
/// bounded number of steps and keeps the candidate whose square is nearest `x`.
fn sqrt(x: Decimal) -> Decimal {
    if x <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let mut r = x / Decimal::TWO;
    if r.is_zero() {
        r = x;
    }
    let mut before = Decimal::ZERO;
    for _ in 0..300 {
        let next = (r + x / r) / Decimal::TWO;
        if next == r {
            return r;
        }
        if next == before {
            // A two-value cycle: take the better of the two.
            let off = |c: Decimal| c.checked_mul(c).map_or(Decimal::MAX, |sq| (sq - x).abs());
            return if off(next) < off(r) { next } else { r };
        }
        before = r;
        r = next;
    }
    r
}

/// The EMA with factor `k` of `xs`, seeded with `seed` at index `at` (which must be inside
/// `xs`) and run to the end.
fn ema_from(xs: &[Decimal], at: usize, seed: Decimal, k: Decimal) -> Vec<Option<Decimal>> {
    let mut out = vec![None; xs.len()];
    let mut prev = seed;
    out[at] = Some(seed);
    for (i, x) in xs.iter().enumerate().skip(at + 1) {
        prev += (x - prev) * k;
        out[i] = Some(prev);
    }
    out
}

fn ema_factor(period: usize) -> Decimal {
    Decimal::TWO / Decimal::from(period + 1)
}

/// The simple moving average of `period` closes; the first value at index `period - 1`.
pub fn sma(closes: &[Decimal], period: usize) -> Result<Vec<Option<Decimal>>, IndicatorError> {
    at_least("period", period, 1)?;
    let n = Decimal::from(period);
    let mut out = vec![None; closes.len()];
    let mut sum = Decimal::ZERO;
    for (i, x) in closes.iter().enumerate() {
        sum += x;
        if i >= period {
            sum -= closes[i - period];
        }
        if i + 1 >= period {
            out[i] = Some(sum / n);
        }
    }
    Ok(out)
}

/// The exponential moving average with `k = 2 / (period + 1)`, seeded as `seeding` says.
pub fn ema(closes: &[Decimal], period: usize, seeding: Seeding) -> Result<Vec<Option<Decimal>>, IndicatorError> {
    at_least("period", period, 1)?;
    let k = ema_factor(period);
    Ok(match seeding {
        Seeding::TaLib if closes.len() >= period => ema_from(closes, period - 1, mean(&closes[..period]), k),
        Seeding::FirstValue if !closes.is_empty() => ema_from(closes, 0, closes[0], k),
        _ => vec![None; closes.len()],
    })
}

/// Wilder's relative strength index, 0 to 100; the first value at index `period`.
pub fn rsi(closes: &[Decimal], period: usize) -> Result<Vec<Option<Decimal>>, IndicatorError> {
    at_least("period", period, 1)?;
    let mut out = vec![None; closes.len()];
    if closes.len() <= period {
        return Ok(out);
    }
    let n = Decimal::from(period);
    let kept = Decimal::from(period - 1);
    let split = |i: usize| {
        let d = closes[i] - closes[i - 1];
        if d > Decimal::ZERO {
            (d, Decimal::ZERO)
        } else {
            (Decimal::ZERO, -d)
        }
    };
    let value = |gain: Decimal, loss: Decimal| {
        let total = gain + loss;
        if total.is_zero() {
            Decimal::ZERO
        } else {
            Decimal::ONE_HUNDRED * gain / total
        }
    };
    let (mut gain, mut loss) = (Decimal::ZERO, Decimal::ZERO);
    for i in 1..=period {
        let (g, l) = split(i);
        gain += g;
        loss += l;
    }
    gain /= n;
    loss /= n;
    out[period] = Some(value(gain, loss));
    for (i, slot) in out.iter_mut().enumerate().skip(period + 1) {
        let (g, l) = split(i);
        gain = (gain * kept + g) / n;
        loss = (loss * kept + l) / n;
        *slot = Some(value(gain, loss));
    }
    Ok(out)
}

/// MACD on TA-Lib's alignment; the first value at index `slow - 1 + signal - 1`.
pub fn macd(closes: &[Decimal], fast: usize, slow: usize, signal: usize) -> Result<Vec<Option<Macd>>, IndicatorError> {
    at_least("fast period", fast, 1)?;
    at_least("slow period", slow, 1)?;
    at_least("signal period", signal, 1)?;
    if fast >= slow {
        return Err(IndicatorError::Parameter {
            parameter: "fast period",
            problem: format!("({fast}) must be shorter than the slow period ({slow})"),
        });
    }
    let mut out = vec![None; closes.len()];
    let start = slow - 1;
    if closes.len() < start + signal {
        return Ok(out);
    }
    let slow_ema = ema_from(closes, start, mean(&closes[..slow]), ema_factor(slow));
    let fast_ema = ema_from(closes, start, mean(&closes[start + 1 - fast..=start]), ema_factor(fast));
    let line: Vec<Decimal> = fast_ema[start..]
        .iter()
        .zip(&slow_ema[start..])
        .map(|(f, s)| f.unwrap_or_default() - s.unwrap_or_default())
        .collect();
    let signal_ema = ema_from(&line, signal - 1, mean(&line[..signal]), ema_factor(signal));
    for (j, s) in signal_ema.iter().enumerate().skip(signal - 1) {
        let (m, s) = (line[j], s.unwrap_or_default());
        out[start + j] = Some(Macd { macd: m, signal: s, histogram: m - s });
    }
    Ok(out)
}

/// Bollinger bands: the SMA of `period` closes ± `k` population standard deviations; the first
/// value at index `period - 1`.
pub fn bollinger(closes: &[Decimal], period: usize, k: Decimal) -> Result<Vec<Option<Bands>>, IndicatorError> {
    at_least("period", period, 1)?;
    if k <= Decimal::ZERO {
        return Err(IndicatorError::Parameter {
            parameter: "number of standard deviations",
            problem: "must be above 0".into(),
        });
    }
    let n = Decimal::from(period);
    let mut out = vec![None; closes.len()];
    for (i, slot) in out.iter_mut().enumerate().skip(period - 1) {
        let window = &closes[i + 1 - period..=i];
        let middle = mean(window);
        let variance = window.iter().map(|x| (x - middle) * (x - middle)).sum::<Decimal>() / n;
        let width = k * sqrt(variance);
        *slot = Some(Bands { upper: middle + width, middle, lower: middle - width });
    }
    Ok(out)
}

/// Wilder's average true range of `(high, low, close)` bars; the first value at index `period`.
pub fn atr(bars: &[(Decimal, Decimal, Decimal)], period: usize) -> Result<Vec<Option<Decimal>>, IndicatorError> {
    at_least("period", period, 1)?;
    let mut out = vec![None; bars.len()];
    if bars.len() <= period {
        return Ok(out);
    }
    let true_range = |i: usize| {
        let (high, low, _) = bars[i];
        let prev_close = bars[i - 1].2;
        (high - low).max((high - prev_close).abs()).max((low - prev_close).abs())
    };
    let n = Decimal::from(period);
    let kept = Decimal::from(period - 1);
    let mut avg = (1..=period).map(true_range).sum::<Decimal>() / n;
    out[period] = Some(avg);
    for (i, slot) in out.iter_mut().enumerate().skip(period + 1) {
        avg = (avg * kept + true_range(i)) / n;
        *slot = Some(avg);
    }
    Ok(out)
}

/// Annualized volatility: the sample standard deviation of `period` daily log returns times
/// `sqrt(252)`; the first value at index `period`.
pub fn volatility(closes: &[Decimal], period: usize) -> Result<Vec<Option<Decimal>>, IndicatorError> {
    at_least("period", period, 2)?;
    if let Some((index, value)) = closes.iter().enumerate().find(|(_, c)| **c <= Decimal::ZERO) {
        return Err(IndicatorError::NotPositive { index, value: *value });
    }
    // returns[j] is the return into close j + 1.
    let returns: Vec<Decimal> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let annual = Decimal::from(TRADING_DAYS_PER_YEAR);
    let mut out = vec![None; closes.len()];
    for (i, slot) in out.iter_mut().enumerate().skip(period) {
        let window = &returns[i - period..i];
        let m = mean(window);
        let variance = window.iter().map(|r| (r - m) * (r - m)).sum::<Decimal>() / Decimal::from(period - 1);
        *slot = Some(sqrt(variance * annual));
    }
    Ok(out)
}

/// An indicator and its parameters, read from a spec such as `rsi:14` (see [`FromStr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indicator {
    Sma { period: usize },
    Ema { period: usize },
    Rsi { period: usize },
    Macd { fast: usize, slow: usize, signal: usize },
    Bollinger { period: usize, k: Decimal },
    Atr { period: usize },
    Volatility { period: usize },
}

/// One named output of an indicator, aligned with the bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub values: Vec<Option<Decimal>>,
}

impl Indicator {
    /// The names of the indicators a spec may start with.
    pub const NAMES: [&'static str; 7] = ["sma", "ema", "rsi", "macd", "bbands", "atr", "vol"];

    /// The names of its output columns: `sma_20`, `ema_12`, `rsi_14`, `atr_14`, `vol_20`;
    /// `macd`, `macd_signal`, `macd_hist`; `bb_upper`, `bb_middle`, `bb_lower`.
    pub fn column_names(&self) -> Vec<String> {
        match *self {
            Self::Sma { period } => vec![format!("sma_{period}")],
            Self::Ema { period } => vec![format!("ema_{period}")],
            Self::Rsi { period } => vec![format!("rsi_{period}")],
            Self::Atr { period } => vec![format!("atr_{period}")],
            Self::Volatility { period } => vec![format!("vol_{period}")],
            Self::Macd { .. } => ["macd", "macd_signal", "macd_hist"].map(String::from).to_vec(),
            Self::Bollinger { .. } => ["bb_upper", "bb_middle", "bb_lower"].map(String::from).to_vec(),
        }
    }

    /// Runs the indicator over `bars` (in date order; their `close`, and for ATR `high` and
    /// `low`; `adj_close` is not used) into [`Self::column_names`]' columns, each aligned with
    /// the bars.
    pub fn compute(&self, bars: &[Bar]) -> Result<Vec<Column>, IndicatorError> {
        if let Some(w) = bars.windows(2).find(|w| w[1].date <= w[0].date) {
            return Err(IndicatorError::Unordered { date: w[1].date });
        }
        let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
        let columns: Vec<Vec<Option<Decimal>>> = match *self {
            Self::Sma { period } => vec![sma(&closes, period)?],
            Self::Ema { period } => vec![ema(&closes, period, Seeding::TaLib)?],
            Self::Rsi { period } => vec![rsi(&closes, period)?],
            Self::Volatility { period } => vec![volatility(&closes, period)?],
            Self::Atr { period } => {
                let hlc: Vec<(Decimal, Decimal, Decimal)> = bars.iter().map(|b| (b.high, b.low, b.close)).collect();
                vec![atr(&hlc, period)?]
            }
            Self::Macd { fast, slow, signal } => {
                let m = macd(&closes, fast, slow, signal)?;
                vec![
                    m.iter().map(|v| v.map(|v| v.macd)).collect(),
                    m.iter().map(|v| v.map(|v| v.signal)).collect(),
                    m.iter().map(|v| v.map(|v| v.histogram)).collect(),
                ]
            }
            Self::Bollinger { period, k } => {
                let b = bollinger(&closes, period, k)?;
                vec![
                    b.iter().map(|v| v.map(|v| v.upper)).collect(),
                    b.iter().map(|v| v.map(|v| v.middle)).collect(),
                    b.iter().map(|v| v.map(|v| v.lower)).collect(),
                ]
            }
        };
        Ok(self.column_names().into_iter().zip(columns).map(|(name, values)| Column { name, values }).collect())
    }

    /// The parameters' rules, as the functions check them.
    fn check(&self) -> Result<(), IndicatorError> {
        match *self {
            Self::Sma { period } | Self::Ema { period } | Self::Rsi { period } | Self::Atr { period } => {
                at_least("period", period, 1)
            }
            Self::Volatility { period } => at_least("period", period, 2),
            Self::Macd { fast, slow, signal } => macd(&[], fast, slow, signal).map(|_| ()),
            Self::Bollinger { period, k } => bollinger(&[], period, k).map(|_| ()),
        }
    }
}

/// Reads `name[:parameter…]`, case-insensitive: `sma:20`, `ema:12`, `rsi:14`, `atr:14`,
/// `vol:20`, `macd:12:26:9` (fast, slow, signal), `bbands:20:2` (period, standard deviations).
/// `rsi` and `atr` default to 14, `macd` to 12, 26, 9 and `bbands` to 20, 2, and trailing
/// parameters with defaults may be left off (`macd:5:35` has signal 9); `sma`, `ema` and `vol`
/// need their period.
impl FromStr for Indicator {
    type Err = IndicatorError;

    fn from_str(spec: &str) -> Result<Self, IndicatorError> {
        let fail = |problem: String| IndicatorError::Spec { spec: spec.to_owned(), problem };
        let mut parts = spec.trim().split(':');
        let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let params: Vec<&str> = parts.map(str::trim).collect();
        let (names, defaults): (&[&str], &[&str]) = match name.as_str() {
            "sma" | "ema" | "vol" => (&["period"], &[]),
            "rsi" | "atr" => (&["period"], &["14"]),
            "macd" => (&["fast period", "slow period", "signal period"], &["12", "26", "9"]),
            "bbands" => (&["period", "number of standard deviations"], &["20", "2"]),
            _ => return Err(fail(format!("{name:?} is not an indicator; expected one of {}", Self::NAMES.join(", ")))),
        };
        if params.len() > names.len() {
            let takes = if names.len() == 1 { "1 parameter".to_owned() } else { format!("{} parameters", names.len()) };
            return Err(fail(format!("{name} takes {takes} ({}), not {}", names.join(", "), params.len())));
        }
        if params.len() < names.len() && defaults.is_empty() {
            return Err(fail(format!("{name} needs a period, e.g. {name}:20")));
        }
        let text = |i: usize| params.get(i).copied().unwrap_or_else(|| defaults[i]);
        let whole = |i: usize| {
            text(i)
                .parse::<usize>()
                .map_err(|_| fail(format!("the {} must be a whole number, not {:?}", names[i], text(i))))
        };
        let indicator = match name.as_str() {
            "sma" => Self::Sma { period: whole(0)? },
            "ema" => Self::Ema { period: whole(0)? },
            "vol" => Self::Volatility { period: whole(0)? },
            "rsi" => Self::Rsi { period: whole(0)? },
            "atr" => Self::Atr { period: whole(0)? },
            "macd" => Self::Macd { fast: whole(0)?, slow: whole(1)?, signal: whole(2)? },
            _ => {
                let k = Decimal::from_str(text(1))
                    .map_err(|_| fail(format!("the {} must be a number, not {:?}", names[1], text(1))))?;
                Self::Bollinger { period: whole(0)?, k }
            }
        };
        indicator.check().map_err(|e| fail(e.to_string()))?;
        Ok(indicator)
    }
}

/// The spec again, with every parameter: `rsi:14`, `macd:12:26:9`, `bbands:20:2`.
impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sma { period } => write!(f, "sma:{period}"),
            Self::Ema { period } => write!(f, "ema:{period}"),
            Self::Rsi { period } => write!(f, "rsi:{period}"),
            Self::Atr { period } => write!(f, "atr:{period}"),
            Self::Volatility { period } => write!(f, "vol:{period}"),
            Self::Macd { fast, slow, signal } => write!(f, "macd:{fast}:{slow}:{signal}"),
            Self::Bollinger { period, k } => write!(f, "bbands:{period}:{}", k.normalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn d(xs: &[&str]) -> Vec<Decimal> {
        xs.iter().map(|x| Decimal::from_str(x).unwrap()).collect()
    }

    fn near(a: Decimal, b: Decimal, within: Decimal) -> bool {
        (a - b).abs() <= within
    }

    const TINY: Decimal = dec!(0.0000000000000000000001);

    /// StockCharts ChartSchool's RSI(14) example, with the closes of its spreadsheet
    /// (cs-rsi.xls, four decimals) and its published RSI, two decimals, from the 15th close on.
    /// The first by hand: the first 14 changes are −0.2487, 0.0595, −0.5373, 0.7154, 0.4986,
    /// 0.2691, 0.3290, 0.4188, 0.2393, −0.1895, 0.1397, −0.4188, 0.6680, 0.0000; gains sum to
    /// 3.3374 (average 0.2384, published 0.24), losses to 1.3943 (0.0996, published 0.10);
    /// RS = 2.3936 (published 2.39); RSI = 100 × 3.3374 / 4.7317 = 70.5328 (published 70.53).
    const STOCKCHARTS_CLOSES: [&str; 33] = [
        "44.3389", "44.0902", "44.1497", "43.6124", "44.3278", "44.8264", "45.0955", "45.4245", "45.8433", "46.0826",
        "45.8931", "46.0328", "45.6140", "46.2820", "46.2820", "46.0028", "46.0328", "46.4116", "46.2222", "45.6439",
        "46.2122", "46.2521", "45.7137", "46.4515", "45.7835", "45.3548", "44.0288", "44.1783", "44.2181", "44.5672",
        "43.4205", "42.6628", "43.1314",
    ];
    const STOCKCHARTS_RSI: [&str; 19] = [
        "70.53", "66.32", "66.55", "69.41", "66.36", "57.97", "62.93", "63.26", "56.06", "62.38", "54.71", "50.42",
        "39.99", "41.46", "41.87", "45.46", "37.30", "33.08", "37.77",
    ];

    #[test]
    fn rsi_matches_stockcharts_published_example() {
        let r = rsi(&d(&STOCKCHARTS_CLOSES), 14).unwrap();
        assert!(r[..14].iter().all(Option::is_none));
        let published = d(&STOCKCHARTS_RSI);
        for (i, p) in published.iter().enumerate() {
            let v = r[14 + i].unwrap();
            assert!(near(v, *p, dec!(0.005)), "RSI at {}: {v} vs published {p}", 14 + i);
        }
        // The first value, by hand (see the constants' comment).
        let (mut g, mut l) = (Decimal::ZERO, Decimal::ZERO);
        let c = d(&STOCKCHARTS_CLOSES);
        for i in 1..=14 {
            let ch = c[i] - c[i - 1];
            if ch > Decimal::ZERO {
                g += ch
            } else {
                l -= ch
            }
        }
        assert_eq!((g, l), (dec!(3.3374), dec!(1.3943)));
        assert!(near(r[14].unwrap(), dec!(100) * g / (g + l), TINY));
    }

    /// The same example with the closes rounded to two decimals (as the ChartSchool table
    /// shows them) does not give the published values: they were computed from the four-decimal
    /// closes. Two decimals give 70.46 first (the value some reproductions show), by hand:
    /// changes −0.25, 0.06, −0.54, 0.72, 0.50, 0.27, 0.32, 0.42, 0.24, −0.19, 0.14, −0.42, 0.67,
    /// 0.00; gains sum to 3.34, losses to 1.40; RSI = 100 × 3.34 / 4.74 = 70.4641.
    /// Next change −0.28: AG = 3.34 × 13 / 196, AL = (1.40 × 13 + 0.28 × 14) / 196 = 22.12 / 196;
    /// RSI = 100 × 43.42 / 65.54 = 66.2496 (published 66.32).
    #[test]
    fn rsi_of_the_two_decimal_closes_is_worked_by_hand() {
        let closes: Vec<Decimal> = d(&STOCKCHARTS_CLOSES).iter().map(|c| c.round_dp(2)).collect();
        assert_eq!(closes[0], dec!(44.34));
        assert_eq!(closes[32], dec!(43.13));
        let r = rsi(&closes, 14).unwrap();
        assert!(near(r[14].unwrap(), dec!(334) / dec!(4.74), TINY));
        assert_eq!(r[14].unwrap().round_dp(2), dec!(70.46));
        assert!(near(r[15].unwrap(), dec!(4342) / dec!(65.54), TINY));
    }

    #[test]
    fn rsi_edges_follow_ta_lib() {
        // No change at all: both averages are 0, and TA-Lib writes 0.
        let flat = rsi(&[dec!(10); 6], 3).unwrap();
        assert_eq!(flat, vec![None, None, None, Some(dec!(0)), Some(dec!(0)), Some(dec!(0))]);
        // Only rises: 100; only falls: 0.
        let up = rsi(&d(&["1", "2", "3", "4", "5"]), 3).unwrap();
        assert_eq!(up[3..], [Some(dec!(100)), Some(dec!(100))]);
        let down = rsi(&d(&["5", "4", "3", "2"]), 3).unwrap();
        assert_eq!(down[3], Some(dec!(0)));
        // Period 3 over 3 closes has two changes only: no value.
        assert_eq!(rsi(&d(&["1", "2", "3"]), 3).unwrap(), vec![None; 3]);
        // Period 1: 100 on a rise, 0 on a fall or no change.
        assert_eq!(
            rsi(&d(&["1", "2", "1", "1"]), 1).unwrap(),
            vec![None, Some(dec!(100)), Some(dec!(0)), Some(dec!(0))]
        );
        // Wilder smoothing, period 2: changes +2, −1, +1.
        // Seed: AG = 2/2 = 1, AL = 1/2 = 0.5 → 100 × 1 / 1.5 = 66.67 at index 2.
        // Next: AG = (1 × 1 + 1) / 2 = 1, AL = (0.5 × 1 + 0) / 2 = 0.25 → 100 / 1.25 = 80.
        let r = rsi(&d(&["10", "12", "11", "12"]), 2).unwrap();
        assert!(near(r[2].unwrap(), dec!(200) / dec!(3), TINY));
        assert_eq!(r[3], Some(dec!(80)));
    }

    #[test]
    fn sma_is_worked_by_hand() {
        // Closes 2, 4, 6, 8, 12; SMA(3): (2+4+6)/3 = 4, (4+6+8)/3 = 6, (6+8+12)/3 = 26/3.
        let r = sma(&d(&["2", "4", "6", "8", "12"]), 3).unwrap();
        assert_eq!(r[..3], [None, None, Some(dec!(4))]);
        assert_eq!(r[3], Some(dec!(6)));
        assert_eq!(r[4], Some(dec!(26) / dec!(3)));
        assert_eq!(sma(&d(&["2", "4"]), 3).unwrap(), vec![None, None]);
        assert_eq!(sma(&d(&["2", "4"]), 1).unwrap(), vec![Some(dec!(2)), Some(dec!(4))]);
    }

    #[test]
    fn ema_is_worked_by_hand() {
        // EMA(3): k = 2/4 = 0.5. TA-Lib seed at index 2: (2+4+6)/3 = 4;
        // index 3: 4 + 0.5 × (8 − 4) = 6; index 4: 6 + 0.5 × (12 − 6) = 9.
        let closes = d(&["2", "4", "6", "8", "12"]);
        let r = ema(&closes, 3, Seeding::TaLib).unwrap();
        assert_eq!(r, vec![None, None, Some(dec!(4)), Some(dec!(6)), Some(dec!(9))]);
        assert_eq!(r[2], sma(&closes, 3).unwrap()[2]);
        // First-value seed: 2; 2 + 0.5 × 2 = 3; 3 + 0.5 × 3 = 4.5; 4.5 + 0.5 × 3.5 = 6.25;
        // 6.25 + 0.5 × 5.75 = 9.125.
        let r = ema(&closes, 3, Seeding::FirstValue).unwrap();
        assert_eq!(r, [dec!(2), dec!(3), dec!(4.5), dec!(6.25), dec!(9.125)].map(Some).to_vec());
        // EMA(4): k = 2/5 = 0.4; seed (1+2+3+4)/4 = 2.5; 2.5 + 0.4 × 2.5 = 3.5; 3.5 + 0.4 × 2.5 = 4.5.
        let r = ema(&d(&["1", "2", "3", "4", "5", "6"]), 4, Seeding::TaLib).unwrap();
        assert_eq!(r[3..], [Some(dec!(2.5)), Some(dec!(3.5)), Some(dec!(4.5))]);
        assert_eq!(ema(&d(&["1", "2"]), 4, Seeding::TaLib).unwrap(), vec![None, None]);
        assert_eq!(ema(&[], 4, Seeding::FirstValue).unwrap(), vec![]);
    }

    #[test]
    fn macd_starts_at_33_with_the_defaults_and_is_zero_on_a_constant() {
        let ramp: Vec<Decimal> = (1..=40).map(Decimal::from).collect();
        let m = macd(&ramp, 12, 26, 9).unwrap();
        assert!(m[..33].iter().all(Option::is_none));
        assert!(m[33..].iter().all(Option::is_some));
        assert_eq!(macd(&ramp[..33], 12, 26, 9).unwrap(), vec![None; 33]);

        let flat = macd(&[dec!(42.5); 50], 12, 26, 9).unwrap();
        for v in flat[33..].iter().map(|v| v.unwrap()) {
            assert_eq!((v.macd, v.signal, v.histogram), (dec!(0), dec!(0), dec!(0)));
        }
    }

    /// MACD(2, 3, 2) on 3, 6, 12, 6, 3, by hand, on TA-Lib's alignment.
    /// Slow EMA(3), k = 0.5, from index 2: (3+6+12)/3 = 7; 7 + 0.5 × (6 − 7) = 6.5;
    /// 6.5 + 0.5 × (3 − 6.5) = 4.75.
    /// Fast EMA(2), k = 2/3, seeded at index 2 too, with (6+12)/2 = 9 (not from index 1);
    /// 9 + 2/3 × (6 − 9) = 7; 7 + 2/3 × (3 − 7) = 13/3.
    /// Line: 2, 0.5, 13/3 − 4.75 = −5/12. Signal EMA(2), k = 2/3: seed (2 + 0.5)/2 = 1.25 at
    /// index 3; 1.25 + 2/3 × (−5/12 − 1.25) = 5/36. Histogram: −0.75, −5/12 − 5/36 = −5/9.
    #[test]
    fn macd_is_worked_by_hand_on_ta_lib_alignment() {
        let m = macd(&d(&["3", "6", "12", "6", "3"]), 2, 3, 2).unwrap();
        assert_eq!(m[..3], [None, None, None]);
        let v = m[3].unwrap();
        assert!(near(v.macd, dec!(0.5), TINY) && near(v.signal, dec!(1.25), TINY));
        assert!(near(v.histogram, dec!(-0.75), TINY));
        let v = m[4].unwrap();
        assert!(near(v.macd, dec!(-5) / dec!(12), TINY), "{v:?}");
        assert!(near(v.signal, dec!(5) / dec!(36), TINY), "{v:?}");
        assert!(near(v.histogram, dec!(-5) / dec!(9), TINY), "{v:?}");
    }

    #[test]
    fn bollinger_uses_the_population_standard_deviation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
        // population variance 32/8 = 4, deviation 2 (the sample one would be √(32/7) = 2.14).
        let closes = d(&["2", "4", "4", "4", "5", "5", "7", "9"]);
        let b = bollinger(&closes, 8, dec!(2)).unwrap();
        assert!(b[..7].iter().all(Option::is_none));
        assert_eq!(b[7], Some(Bands { upper: dec!(9), middle: dec!(5), lower: dec!(1) }));
        // Period 4 over 2, 4, 4, 4: mean 3.5; squared deviations 2.25 + 0.25 × 3 = 3;
        // variance 3/4 = 0.75; bands 3.5 ± 2 × √0.75 (√0.75 = 0.8660254037844386…).
        let b = bollinger(&closes, 4, dec!(2)).unwrap();
        let v = b[3].unwrap();
        assert_eq!(v.middle, dec!(3.5));
        let half = (v.upper - v.middle) / dec!(2);
        assert!(near(half * half, dec!(0.75), TINY));
        assert_eq!(v.upper.round_dp(6), dec!(5.232051));
        assert_eq!(v.middle - v.lower, v.upper - v.middle);
        // The window ending at index 5 is 4, 4, 5, 5: mean 4.5, deviations ±0.5, variance 0.25,
        // deviation 0.5, bands 4.5 ± 1.
        assert_eq!(b[5], Some(Bands { upper: dec!(5.5), middle: dec!(4.5), lower: dec!(3.5) }));
    }

    /// ATR(3) by hand. True ranges (high, low, close; previous close):
    /// 1: (11, 9, 10; 9): max(2, 2, 0) = 2. 2: (13, 12, 12.5; 10): max(1, 3, 2) = 3.
    /// 3: (12, 9, 9.5; 12.5): max(3, 0.5, 3.5) = 3.5. 4: (10, 9.5, 9.8; 9.5): max(0.5, 0.5, 0) = 0.5.
    /// 5: (11, 10.5, 11; 9.8): max(0.5, 1.2, 0.7) = 1.2.
    /// ATR at 3: (2 + 3 + 3.5)/3 = 8.5/3; at 4: (8.5/3 × 2 + 0.5)/3 = 18.5/9;
    /// at 5: (18.5/9 × 2 + 1.2)/3 = 47.8/27.
    #[test]
    fn atr_is_worked_by_hand() {
        let bars = [
            (dec!(10), dec!(8), dec!(9)),
            (dec!(11), dec!(9), dec!(10)),
            (dec!(13), dec!(12), dec!(12.5)),
            (dec!(12), dec!(9), dec!(9.5)),
            (dec!(10), dec!(9.5), dec!(9.8)),
            (dec!(11), dec!(10.5), dec!(11)),
        ];
        let a = atr(&bars, 3).unwrap();
        assert_eq!(a[..3], [None, None, None]);
        assert!(near(a[3].unwrap(), dec!(8.5) / dec!(3), TINY));
        assert!(near(a[4].unwrap(), dec!(18.5) / dec!(9), TINY));
        assert!(near(a[5].unwrap(), dec!(47.8) / dec!(27), TINY));
        assert_eq!(atr(&bars[..3], 3).unwrap(), vec![None; 3]);
        // Period 1 is the true range itself.
        assert_eq!(atr(&bars, 1).unwrap()[1..3], [Some(dec!(2)), Some(dec!(3))]);
    }

    #[test]
    fn volatility_is_the_annualized_sample_deviation_of_log_returns() {
        // 100, 200, 100, 200: log returns ln 2, −ln 2, ln 2. Two returns: mean 0, sample
        // variance (ln²2 + ln²2)/(2 − 1) = 2 ln²2; annualized variance 504 ln²2.
        let ln2 = dec!(0.6931471805599453094172321215);
        let v = volatility(&d(&["100", "200", "100", "200"]), 2).unwrap();
        assert_eq!(v[..2], [None, None]);
        for x in [v[2].unwrap(), v[3].unwrap()] {
            assert!(near(x * x, dec!(504) * ln2 * ln2, dec!(0.00000000000000000001)), "{x}");
        }
        assert_eq!(v[2].unwrap().round_dp(6), dec!(15.561116));
        // Three returns ln 2, −ln 2, ln 2: mean ln2/3; deviations 2/3, −4/3, 2/3 of ln 2;
        // squares sum to 24/9 ln²2; over 2 → 4/3 ln²2; annualized 336 ln²2.
        let v = volatility(&d(&["100", "200", "100", "200"]), 3).unwrap();
        assert!(near(v[3].unwrap() * v[3].unwrap(), dec!(336) * ln2 * ln2, dec!(0.00000000000000000001)));
        // A constant series has none.
        assert!(volatility(&[dec!(7.5); 6], 3).unwrap()[3..].iter().all(|x| *x == Some(dec!(0))));
        assert_eq!(
            volatility(&d(&["1", "0", "2"]), 2).unwrap_err().to_string(),
            "the close at index 1 is 0: log returns need closes above 0"
        );
    }

    #[test]
    fn parameters_out_of_range_are_named() {
        let c = d(&["1", "2", "3"]);
        assert_eq!(sma(&c, 0).unwrap_err().to_string(), "the period must be at least 1");
        assert_eq!(sma(&c, usize::MAX).unwrap_err().to_string(), "the period must be at most 25200");
        assert_eq!(ema(&c, usize::MAX, Seeding::TaLib).unwrap_err().to_string(), "the period must be at most 25200");
        assert_eq!(ema(&c, 0, Seeding::TaLib).unwrap_err().to_string(), "the period must be at least 1");
        assert_eq!(rsi(&c, 0).unwrap_err().to_string(), "the period must be at least 1");
        assert_eq!(atr(&[], 0).unwrap_err().to_string(), "the period must be at least 1");
        assert_eq!(volatility(&c, 1).unwrap_err().to_string(), "the period must be at least 2");
        assert_eq!(macd(&c, 12, 0, 9).unwrap_err().to_string(), "the slow period must be at least 1");
        assert_eq!(macd(&c, 12, 26, 0).unwrap_err().to_string(), "the signal period must be at least 1");
        assert_eq!(
            macd(&c, 26, 12, 9).unwrap_err().to_string(),
            "the fast period (26) must be shorter than the slow period (12)"
        );
        assert_eq!(
            bollinger(&c, 20, dec!(0)).unwrap_err().to_string(),
            "the number of standard deviations must be above 0"
        );
    }

    #[test]
    fn specs_are_read_with_defaults() {
        let read = |s: &str| s.parse::<Indicator>().unwrap();
        assert_eq!(read("sma:20"), Indicator::Sma { period: 20 });
        assert_eq!(read("ema:12"), Indicator::Ema { period: 12 });
        assert_eq!(read(" RSI:14 "), Indicator::Rsi { period: 14 });
        assert_eq!(read("rsi"), Indicator::Rsi { period: 14 });
        assert_eq!(read("atr:10"), Indicator::Atr { period: 10 });
        assert_eq!(read("atr"), Indicator::Atr { period: 14 });
        assert_eq!(read("vol:20"), Indicator::Volatility { period: 20 });
        assert_eq!(read("macd"), Indicator::Macd { fast: 12, slow: 26, signal: 9 });
        assert_eq!(read("macd:5:35"), Indicator::Macd { fast: 5, slow: 35, signal: 9 });
        assert_eq!(read("macd:12:26:9"), Indicator::Macd { fast: 12, slow: 26, signal: 9 });
        assert_eq!(read("bbands"), Indicator::Bollinger { period: 20, k: dec!(2) });
        assert_eq!(read("bbands:10:1.5"), Indicator::Bollinger { period: 10, k: dec!(1.5) });
        for spec in ["sma:20", "rsi:14", "macd:12:26:9", "bbands:20:2", "bbands:10:1.5", "atr:14", "vol:20", "ema:12"] {
            assert_eq!(read(spec).to_string(), spec);
        }
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let err = |s: &str| s.parse::<Indicator>().unwrap_err().to_string();
        assert_eq!(err("rsi:0"), r#""rsi:0": the period must be at least 1"#);
        assert_eq!(err("vol:1"), r#""vol:1": the period must be at least 2"#);
        assert_eq!(err("rsi:x"), r#""rsi:x": the period must be a whole number, not "x""#);
        assert_eq!(err("rsi:-3"), r#""rsi:-3": the period must be a whole number, not "-3""#);
        assert_eq!(err("rsi:"), r#""rsi:": the period must be a whole number, not """#);
        assert_eq!(err("sma"), r#""sma": sma needs a period, e.g. sma:20"#);
        assert_eq!(err("rsi:14:2"), r#""rsi:14:2": rsi takes 1 parameter (period), not 2"#);
        assert_eq!(
            err("macd:1:2:3:4"),
            r#""macd:1:2:3:4": macd takes 3 parameters (fast period, slow period, signal period), not 4"#
        );
        assert_eq!(
            err("macd:26:12:9"),
            r#""macd:26:12:9": the fast period (26) must be shorter than the slow period (12)"#
        );
        assert_eq!(err("macd:12:26:0"), r#""macd:12:26:0": the signal period must be at least 1"#);
        assert_eq!(err("bbands:20:0"), r#""bbands:20:0": the number of standard deviations must be above 0"#);
        assert_eq!(
            err("bbands:20:two"),
            r#""bbands:20:two": the number of standard deviations must be a number, not "two""#
        );
        assert_eq!(
            err("kama:10"),
            r#""kama:10": "kama" is not an indicator; expected one of sma, ema, rsi, macd, bbands, atr, vol"#
        );
        assert_eq!(err(""), r#""": "" is not an indicator; expected one of sma, ema, rsi, macd, bbands, atr, vol"#);
    }

    fn bars(closes: &[Decimal]) -> Vec<Bar> {
        let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        closes
            .iter()
            .enumerate()
            .map(|(i, c)| Bar {
                date: start + chrono::Duration::days(i as i64),
                open: *c,
                high: c + dec!(1),
                low: c - dec!(1),
                close: *c,
                volume: dec!(1000),
                adj_close: None,
                vwap: None,
                source: None,
            })
            .collect()
    }

    #[test]
    fn compute_gives_named_columns_aligned_with_the_bars() {
        let closes: Vec<Decimal> = (0..40).map(|i| dec!(100) + Decimal::from(i % 7)).collect();
        let b = bars(&closes);
        let names = |spec: &str| -> Vec<String> {
            let cols = spec.parse::<Indicator>().unwrap().compute(&b).unwrap();
            assert!(cols.iter().all(|c| c.values.len() == b.len()));
            cols.into_iter().map(|c| c.name).collect()
        };
        assert_eq!(names("rsi"), ["rsi_14"]);
        assert_eq!(names("sma:20"), ["sma_20"]);
        assert_eq!(names("ema:12"), ["ema_12"]);
        assert_eq!(names("atr:14"), ["atr_14"]);
        assert_eq!(names("vol:20"), ["vol_20"]);
        assert_eq!(names("macd"), ["macd", "macd_signal", "macd_hist"]);
        assert_eq!(names("bbands"), ["bb_upper", "bb_middle", "bb_lower"]);

        let rsi_col = Indicator::Rsi { period: 14 }.compute(&b).unwrap().remove(0);
        assert_eq!(rsi_col.values, rsi(&closes, 14).unwrap());
        // Every bar has high − low = 2 and moves at most 6 from the close before.
        let atr_col = Indicator::Atr { period: 3 }.compute(&b).unwrap().remove(0);
        let hlc: Vec<_> = b.iter().map(|x| (x.high, x.low, x.close)).collect();
        assert_eq!(atr_col.values, atr(&hlc, 3).unwrap());
        let m = Indicator::Macd { fast: 12, slow: 26, signal: 9 }.compute(&b).unwrap();
        let direct = macd(&closes, 12, 26, 9).unwrap();
        assert_eq!(m[2].values[33], direct[33].map(|v| v.histogram));
        assert_eq!(m[0].values[32], None);

        let mut unordered = b.clone();
        unordered.swap(3, 4);
        assert_eq!(
            Indicator::Sma { period: 2 }.compute(&unordered).unwrap_err().to_string(),
            "the bar of 2026-01-08 does not come after the bar before it"
        );
    }

    #[test]
    fn sqrt_settles_where_rust_decimal_cycles() {
        // rust_decimal 1.43's `sqrt` panics on this one (paupino/rust-decimal#721).
        let x = dec!(4.0000000000000000000000000003);
        assert!(near(sqrt(x), dec!(2), TINY));
        assert!(near(sqrt(dec!(400.00000000000000000000000003)), dec!(20), TINY));
        assert_eq!(sqrt(dec!(4)), dec!(2));
        assert_eq!(sqrt(dec!(0)), dec!(0));
        assert!(near(sqrt(dec!(0.0000000000000000000000000001)), dec!(0.00000000000001), TINY));
        let big = dec!(10000000000000000000000000001);
        assert!(near(sqrt(big), dec!(100000000000000), TINY));
        // Decimal::MAX is 2^96 − 1, just under (2^48)^2.
        assert!(near(sqrt(Decimal::MAX), dec!(281474976710656), dec!(0.000000001)));
    }

    fn price() -> impl proptest::strategy::Strategy<Value = Decimal> {
        use proptest::strategy::Strategy;
        (1i64..10_000_000).prop_map(|cents| Decimal::new(cents, 2))
    }

    proptest::proptest! {
        #[test]
        fn the_sma_of_a_constant_is_the_constant(c in price(), len in 1usize..60, period in 1usize..30) {
            let r = sma(&vec![c; len], period).unwrap();
            for (i, v) in r.iter().enumerate() {
                proptest::prop_assert_eq!(*v, (i + 1 >= period).then_some(c));
            }
        }

        #[test]
        fn the_rsi_is_between_0_and_100(closes in proptest::collection::vec(price(), 0..80), period in 1usize..20) {
            let r = rsi(&closes, period).unwrap();
            proptest::prop_assert_eq!(r.len(), closes.len());
            for (i, v) in r.iter().enumerate() {
                proptest::prop_assert_eq!(v.is_some(), i >= period);
                if let Some(v) = v {
                    proptest::prop_assert!(*v >= Decimal::ZERO && *v <= Decimal::ONE_HUNDRED, "{}", v);
                }
            }
        }

        #[test]
        fn bollinger_lower_is_below_middle_below_upper(
            closes in proptest::collection::vec(price(), 0..80),
            period in 1usize..25,
            tenths in 1i64..40,
        ) {
            let b = bollinger(&closes, period, Decimal::new(tenths, 1)).unwrap();
            let middles = sma(&closes, period).unwrap();
            for (v, m) in b.iter().zip(&middles) {
                proptest::prop_assert_eq!(v.is_some(), m.is_some());
                if let Some(v) = v {
                    proptest::prop_assert!(v.lower <= v.middle && v.middle <= v.upper, "{:?}", v);
                    proptest::prop_assert!((v.middle - m.unwrap()).abs() < TINY);
                }
            }
        }

        #[test]
        fn the_first_ema_is_the_sma_of_the_first_n(closes in proptest::collection::vec(price(), 1..60), period in 1usize..30) {
            let e = ema(&closes, period, Seeding::TaLib).unwrap();
            let s = sma(&closes, period).unwrap();
            let first = period - 1;
            proptest::prop_assert!(e.iter().take(first.min(e.len())).all(Option::is_none));
            if first < closes.len() {
                proptest::prop_assert_eq!(e[first], s[first]);
            }
        }

        #[test]
        fn macd_of_a_constant_is_zero(c in price(), len in 0usize..60) {
            for v in macd(&vec![c; len], 12, 26, 9).unwrap().into_iter().flatten() {
                proptest::prop_assert_eq!((v.macd, v.signal, v.histogram), (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO));
            }
        }
    }
}
