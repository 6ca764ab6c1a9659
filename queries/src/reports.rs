//! Ledger reports as tables that render to JSON, CSV or aligned text. Amounts are strings with
//! two decimals (rounded half away from zero, as on tax forms); quantities are exact.

use std::borrow::Cow;

use domain::ledger::benefits::Vesting;
use projections::db::Kind;
use projections::query::Record;
use rust_decimal::{Decimal, RoundingStrategy};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Table,
    /// Tax Exchange Format (TXF v042), for tax software: the gains report only ([`txf`]).
    Txf,
}

/// Columns and rows of strings, plus named totals rows and facts about the whole report
/// (`summary`: top-level fields in JSON, a line under the table, left out of CSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub name: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub totals: Vec<(String, Vec<String>)>,
    pub summary: Vec<(&'static str, Value)>,
}

/// An answer's fields named by `keys`, as text (a string as it is, nothing for null).
pub fn fields<T: Serialize>(answer: &T, keys: &[&str]) -> Result<Vec<String>, crate::ledger::ReportError> {
    let value = serde_json::to_value(answer).map_err(|x| crate::ledger::ReportError::Other(x.into()))?;
    Ok(keys
        .iter()
        .map(|k| match &value[*k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .collect())
}

/// An answer's fields named by `keys`, one row each (`line`, `amount`), for CSV and tables.
pub fn lines<T: Serialize>(
    name: &'static str,
    answer: &T,
    keys: &[&str],
) -> Result<Report, crate::ledger::ReportError> {
    let shown = fields(answer, keys)?;
    let rows = keys.iter().zip(shown).map(|(k, v)| vec![(*k).to_owned(), v]).collect();
    Ok(Report { name, columns: vec!["line", "amount"], rows, totals: Vec::new(), summary: Vec::new() })
}

/// An amount rounded to cents, half away from zero (as on tax forms).
pub fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

pub fn money(d: Decimal) -> String {
    format!("{:.2}", cents(d))
}

/// A read-model value as reports and HTTP answers show it: amounts ([`Kind::Money`]) with two
/// decimals ([`money`]), everything else as stored.
pub fn shown(kind: Kind, value: Option<&str>) -> Option<Cow<'_, str>> {
    match (kind, value) {
        (Kind::Money, Some(v)) => Some(v.parse().map_or(Cow::Borrowed(v), |d| Cow::Owned(money(d)))),
        (_, v) => v.map(Cow::Borrowed),
    }
}

pub fn quantity(d: Decimal) -> String {
    d.normalize().to_string()
}

/// How a column of a read model is shown.
#[derive(Debug, Clone, Copy)]
pub enum Show {
    /// As stored.
    Raw,
    /// Two decimals, half away from zero.
    Money,
    /// Exact, trailing zeros dropped.
    Quantity,
    /// A flag: `true` or `false`.
    Flag,
}

/// A report's columns: `(heading, read-model column, how it is shown)`.
type Spec = &'static [(&'static str, &'static str, Show)];

/// A report of read-model records: each `(heading, column, show)` becomes a column.
pub fn table(name: &'static str, records: &[Record], spec: &[(&'static str, &str, Show)]) -> Report {
    let rows = records
        .iter()
        .map(|r| {
            spec.iter()
                .map(|(_, column, show)| match show {
                    Show::Raw => r.str(column).to_owned(),
                    Show::Money => r.dec(column).map(money).unwrap_or_default(),
                    Show::Quantity => r.dec(column).map(quantity).unwrap_or_default(),
                    Show::Flag => r.flag(column).to_string(),
                })
                .collect()
        })
        .collect();
    Report { name, columns: spec.iter().map(|(h, _, _)| *h).collect(), rows, totals: Vec::new(), summary: Vec::new() }
}

/// Open lots: lot id, account, symbol, quantity, acquired (after tacking), adjusted basis.
pub fn lots(records: &[Record]) -> Report {
    table("lots", records, LOTS)
}

const LOTS: Spec = &[
    ("lot_id", "lot_id", Show::Raw),
    ("account", "account", Show::Raw),
    ("symbol", "symbol", Show::Raw),
    ("quantity", "quantity", Show::Quantity),
    ("acquired", "acquired", Show::Raw),
    ("purchased", "purchased", Show::Raw),
    ("adjusted_basis", "basis", Show::Money),
    ("wash_sale_adjustment", "wash_adjustment", Show::Money),
];

/// Form 8949-style rows (the caller picks the reportable sales of one year) with each one's box
/// (`boxes`, in the same order: [`crate::tax::boxes`]), with totals per term.
pub fn gains(records: &[Record], boxes: &[domain::form8949::FormBox]) -> Report {
    let columns = vec![
        "description",
        "account",
        "date_acquired",
        "date_sold",
        "proceeds",
        "cost_basis",
        "adjustment_code",
        "adjustment_amount",
        "gain_loss",
        "term",
        "box",
    ];
    let mut rows = Vec::new();
    for (s, form_box) in records.iter().zip(boxes) {
        let amounts = TOTAL_COLUMNS.map(|c| s.dec(c).unwrap_or_default());
        // Cash paid in a merger (boot) disposes of no shares; fractions are shown to 6 places.
        let shares = s.dec("quantity").unwrap_or_default();
        let description = if shares.is_zero() {
            format!("{} (cash)", s.str("symbol"))
        } else {
            format!("{} {}", quantity(shares.round_dp(6)), s.str("symbol"))
        };
        rows.push(vec![
            description,
            s.str("account").to_owned(),
            s.str("date_acquired").to_owned(),
            s.str("date_sold").to_owned(),
            money(amounts[0]),
            money(amounts[1]),
            s.str("adjustment_code").to_owned(),
            money(amounts[2]),
            money(amounts[3]),
            s.str("term").to_owned(),
            form_box.as_str().to_owned(),
        ]);
    }
    let totals = gain_totals(records).rows();
    Report { name: "gains", columns, rows, totals, summary: Vec::new() }
}

/// The Form 8949 rows of a [`gains`] report in the Tax Exchange Format that tax software imports
/// (TXF v042, taxdataexchange.org): a header (`V042`, the program, the day written) and one
/// `TD` record per row: the reference number of its box
/// ([`domain::form8949::FormBox::txf_reference`]), copy and line 1, the description, the dates
/// acquired and sold (MM/DD/YYYY), cost basis and proceeds, and the wash sale's disallowed
/// loss (record format 5) when the row has one (format 4 otherwise). Lines end in CR LF, as the
/// format recommends. A report without the gains columns gives the header alone.
pub fn txf(report: &Report, written: chrono::NaiveDate) -> String {
    use domain::form8949::FormBox;
    let column = |name: &str| report.columns.iter().position(|c| *c == name);
    let mut out = format!("V042\r\nAcairn {}\r\nD{}\r\n^\r\n", env!("CARGO_PKG_VERSION"), written.format("%m/%d/%Y"));
    let (Some(description), Some(acquired), Some(sold), Some(proceeds), Some(cost), Some(adjustment), Some(form_box)) = (
        column("description"),
        column("date_acquired"),
        column("date_sold"),
        column("proceeds"),
        column("cost_basis"),
        column("adjustment_amount"),
        column("box"),
    ) else {
        return out;
    };
    let date =
        |s: &str| s.parse::<chrono::NaiveDate>().map_or_else(|_| s.to_owned(), |d| d.format("%m/%d/%Y").to_string());
    for r in &report.rows {
        let Some(b) = FormBox::ALL.into_iter().find(|b| b.as_str() == r[form_box]) else { continue };
        out.push_str(&format!(
            "TD\r\nN{}\r\nC1\r\nL1\r\nP{}\r\nD{}\r\nD{}\r\n${}\r\n${}\r\n",
            b.txf_reference(),
            r[description],
            date(&r[acquired]),
            date(&r[sold]),
            r[cost],
            r[proceeds],
        ));
        if r[adjustment].parse::<Decimal>().is_ok_and(|a| !a.is_zero()) {
            out.push_str(&format!("${}\r\n", r[adjustment]));
        }
        out.push_str("^\r\n");
    }
    out
}

/// One term's totals of reportable sales, each amount with two decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TermTotals {
    pub proceeds: String,
    pub cost_basis: String,
    pub adjustment_amount: String,
    pub gain_loss: String,
}

/// Totals per term of the reportable sales (taxable accounts), as Form 8949 sums them: each
/// row's amounts rounded to cents, then added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct GainTotals {
    pub short: TermTotals,
    pub long: TermTotals,
}

impl GainTotals {
    /// As a report's totals rows: `(term, amounts in TOTAL_COLUMNS order)`.
    fn rows(&self) -> Vec<(String, Vec<String>)> {
        [("short", &self.short), ("long", &self.long)]
            .into_iter()
            .map(|(term, t)| {
                let amounts = [&t.proceeds, &t.cost_basis, &t.adjustment_amount, &t.gain_loss];
                (term.to_owned(), amounts.into_iter().cloned().collect())
            })
            .collect()
    }
}

/// The totals of the reportable rows among `records` (rows of the `gains` read model).
pub fn gain_totals(records: &[Record]) -> GainTotals {
    let mut totals = [("short", [Decimal::ZERO; 4]), ("long", [Decimal::ZERO; 4])];
    for s in records.iter().filter(|s| s.flag("reportable")) {
        let rounded = TOTAL_COLUMNS.map(|c| cents(s.dec(c).unwrap_or_default()));
        if let Some((_, t)) = totals.iter_mut().find(|(term, _)| *term == s.str("term")) {
            for (acc, v) in t.iter_mut().zip(rounded) {
                *acc += v;
            }
        }
    }
    let [short, long] = totals.map(|(_, [p, b, a, g])| TermTotals {
        proceeds: money(p),
        cost_basis: money(b),
        adjustment_amount: money(a),
        gain_loss: money(g),
    });
    GainTotals { short, long }
}

/// Contributions against each member's limits.
pub fn contributions(records: &[Record]) -> Report {
    table("contributions", records, CONTRIBUTIONS)
}

const CONTRIBUTIONS: Spec = &[
    ("member", "member", Show::Raw),
    ("tax_year", "tax_year", Show::Raw),
    ("limit_kind", "limit_kind", Show::Raw),
    ("limit", "limit_amount", Show::Money),
    ("contributed", "contributed", Show::Money),
    ("remaining", "remaining", Show::Money),
];

/// Positions per account and symbol at the latest price (the valuations read model).
pub fn positions(records: &[Record]) -> Report {
    table("positions", records, POSITIONS)
}

const POSITIONS: Spec = &[
    ("account", "account", Show::Raw),
    ("symbol", "symbol", Show::Raw),
    ("quantity", "quantity", Show::Quantity),
    ("cost_basis", "cost_basis", Show::Money),
    ("price", "price", Show::Quantity),
    ("price_date", "price_date", Show::Raw),
    ("currency", "currency", Show::Raw),
    ("fx_rate", "fx_rate", Show::Quantity),
    ("market_value", "market_value", Show::Money),
    ("unrealized_gain", "unrealized_gain", Show::Money),
    ("price_position", "price_position", Show::Raw),
];

/// The wash-sale register.
pub fn wash_sales(records: &[Record]) -> Report {
    table("wash_sales", records, WASH_SALES)
}

const WASH_SALES: Spec = &[
    ("id", "id", Show::Raw),
    ("sale_date", "sale_date", Show::Raw),
    ("symbol", "symbol", Show::Raw),
    ("sold_lot_id", "sold_lot_id", Show::Raw),
    ("replacement_lot_id", "replacement_lot_id", Show::Raw),
    ("replacement_account", "replacement_account", Show::Raw),
    ("replacement_symbol", "replacement_symbol", Show::Raw),
    ("shares", "shares", Show::Quantity),
    ("disallowed_loss", "disallowed_loss", Show::Money),
    ("basis_adjustment", "basis_adjustment", Show::Money),
    ("holding_period_days", "holding_period_days", Show::Raw),
    ("permanent", "permanent", Show::Flag),
];

/// A portfolio's allocation against its target, per asset with its own drift flag; the
/// portfolio's threshold and verdict (`needs_rebalancing`: any asset beyond it) once, in the
/// summary.
pub fn allocation(portfolio: &Record, records: &[Record]) -> Report {
    let mut report = table("allocation", records, ALLOCATION);
    report.summary = vec![
        ("drift_threshold", Value::String(quantity(portfolio.dec("drift_threshold").unwrap_or_default()))),
        ("needs_rebalancing", Value::Bool(portfolio.flag("needs_rebalancing"))),
    ];
    report
}

const ALLOCATION: Spec = &[
    ("asset", "asset", Show::Raw),
    ("market_value", "market_value", Show::Money),
    ("weight", "weight", Show::Quantity),
    ("target", "target", Show::Quantity),
    ("drift", "drift", Show::Quantity),
    ("beyond_threshold", "beyond_threshold", Show::Flag),
];

/// A portfolio's risk row, one measure per line (the columns of `portfolio_risk`).
pub fn risk(record: &Record) -> Report {
    let rows = projections::risk::PORTFOLIO_RISK
        .columns
        .iter()
        .map(|c| vec![c.name.to_owned(), shown(c.kind, record.text(c.name)).unwrap_or_default().into_owned()])
        .collect();
    Report { name: "risk", columns: vec!["measure", "value"], rows, totals: Vec::new(), summary: Vec::new() }
}

/// Every KYC status change: who, when, with which documents.
pub fn kyc(records: &[Record]) -> Report {
    table(
        "kyc",
        records,
        &[
            ("user_id", "user_id", Show::Raw),
            ("position", "position", Show::Raw),
            ("status", "status", Show::Raw),
            ("actor", "actor", Show::Raw),
            ("at", "at", Show::Raw),
            ("documents", "documents", Show::Raw),
            ("reason", "reason", Show::Raw),
            ("expires_at", "expires_at", Show::Raw),
            ("recorded_at", "recorded_at", Show::Raw),
        ],
    )
}

/// The household's accounts.
pub fn accounts(views: &[domain::ledger::types::AccountView]) -> Report {
    let columns = vec![
        "account",
        "account_type",
        "owner",
        "lot_method",
        "institution",
        "account_number",
        "routing_number",
        "plaid_linked",
        "employer_match",
        "vesting",
        "basis_reporting",
        "closed_on",
        "cash",
    ];
    let rows = views
        .iter()
        .map(|v| {
            let tiers = v.employer_match.as_ref().map(|m| {
                m.tiers
                    .iter()
                    .map(|t| {
                        format!(
                            "{}:{}",
                            quantity(t.rate * Decimal::ONE_HUNDRED),
                            quantity(t.of_pay * Decimal::ONE_HUNDRED)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            });
            let vesting = v.vesting.map(|x| match x {
                Vesting::Immediate => "immediate".to_owned(),
                Vesting::Cliff { years } => format!("cliff:{years}"),
                Vesting::Graded { start, percent_per_year } => format!("graded:{start}:{}", quantity(percent_per_year)),
            });
            vec![
                v.info.label.clone(),
                v.info.account_type.as_str().to_owned(),
                v.info.owner.clone().unwrap_or_else(|| "primary".into()),
                v.info.lot_method.as_str().to_owned(),
                v.institution.clone().unwrap_or_default(),
                v.account_number.clone().unwrap_or_default(),
                v.routing_number.clone().unwrap_or_default(),
                v.plaid_linked.to_string(),
                tiers.unwrap_or_default(),
                vesting.unwrap_or_default(),
                v.basis_reporting.unwrap_or_default().as_str().to_owned(),
                v.closed_on.map(|d| d.to_string()).unwrap_or_default(),
                money(v.cash),
            ]
        })
        .collect();
    Report { name: "accounts", columns, rows, totals: Vec::new(), summary: Vec::new() }
}

/// Daily (or resampled) bars of one symbol.
pub fn bars(symbol: &str, bars: &[domain::market::Bar]) -> Report {
    let columns = vec!["symbol", "date", "open", "high", "low", "close", "adj_close", "volume", "vwap", "source"];
    let price = |d: Decimal| d.normalize().to_string();
    let rows = bars
        .iter()
        .map(|b| {
            vec![
                symbol.to_owned(),
                b.date.to_string(),
                price(b.open),
                price(b.high),
                price(b.low),
                price(b.close),
                b.adj_close.map(price).unwrap_or_default(),
                quantity(b.volume),
                b.vwap.map(|v| price(v.round_dp(4))).unwrap_or_default(),
                b.source.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Report { name: "bars", columns, rows, totals: Vec::new(), summary: Vec::new() }
}

/// A report as delivered: its text, and, for JSON and CSV, the `ReportGenerated` event that
/// makes it part of the audit trail (a table is for reading on screen and is not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub text: String,
    pub event: Option<domain::report::ReportEvent>,
}

/// Renders `report` as delivered by the CLI and HTTP alike. JSON carries `generated` (the
/// report's name, its parameters, the position it reflects and the as-of instant of a replay)
/// and then `sha256`, the SHA-256 of the compact JSON without it; CSV ends with a
/// `# sha256:<digest of everything above>` line.
pub fn deliver(
    report: &Report,
    format: Format,
    parameters: &[(&str, String)],
    position: u64,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Delivered {
    use sha2::Digest as _;
    let parameters: std::collections::BTreeMap<String, String> =
        parameters.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let newline = |mut s: String| {
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    };
    let (text, sha256, kind) = match format {
        Format::Table => return Delivered { text: newline(report.render(format)), event: None },
        Format::Json => {
            let mut value = report.json();
            value["generated"] = serde_json::json!({
                "report": report.name,
                "parameters": parameters,
                "position": position,
                "as_of": as_of,
            });
            let sha = hex::encode(sha2::Sha256::digest(value.to_string()));
            value["sha256"] = Value::String(sha.clone());
            (newline(value.to_string()), sha, "json")
        }
        Format::Csv => {
            let body = newline(report.render(format));
            let sha = hex::encode(sha2::Sha256::digest(&body));
            (format!("{body}# sha256:{sha}\n"), sha, "csv")
        }
        // Tax software reads the file as it is: the digest is in the event only.
        Format::Txf => {
            let body = txf(report, as_of.unwrap_or_else(chrono::Utc::now).date_naive());
            let sha = hex::encode(sha2::Sha256::digest(&body));
            (body, sha, "txf")
        }
    };
    let event = domain::report::ReportEvent::ReportGenerated {
        report: report.name.to_owned(),
        parameters,
        format: kind.to_owned(),
        sha256,
        rows: report.rows.len() as u64,
        position,
        as_of,
        tree_root: None,
    };
    Delivered { text, event: Some(event) }
}

const TOTAL_COLUMNS: [&str; 4] = ["proceeds", "cost_basis", "adjustment_amount", "gain_loss"];

impl Report {
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => self.json().to_string(),
            Format::Csv => self.csv(),
            Format::Table => self.table(),
            Format::Txf => txf(self, chrono::Utc::now().date_naive()),
        }
    }

    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                Value::Object(
                    self.columns.iter().zip(r).map(|(c, v)| ((*c).to_owned(), Value::String(v.clone()))).collect(),
                )
            })
            .collect();
        let mut out = Map::new();
        out.insert(self.name.to_owned(), Value::Array(rows));
        if !self.totals.is_empty() {
            let totals: Map<String, Value> = self
                .totals
                .iter()
                .map(|(label, values)| {
                    let obj =
                        TOTAL_COLUMNS.iter().zip(values).map(|(c, v)| ((*c).to_owned(), Value::String(v.clone())));
                    (label.clone(), Value::Object(obj.collect()))
                })
                .collect();
            out.insert("totals".into(), Value::Object(totals));
        }
        for (key, value) in &self.summary {
            out.insert((*key).to_owned(), value.clone());
        }
        Value::Object(out)
    }

    fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    fn table(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.len()).collect();
        for r in &self.rows {
            for (w, v) in widths.iter_mut().zip(r) {
                *w = (*w).max(v.chars().count());
            }
        }
        let line = |cells: &[String]| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut out = String::new();
        out.push_str(&line(&self.columns.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        for (label, values) in &self.totals {
            let pairs: Vec<String> = TOTAL_COLUMNS.iter().zip(values).map(|(c, v)| format!("{c} {v}")).collect();
            out.push_str(&format!("total {label}: {}\n", pairs.join(", ")));
        }
        if !self.summary.is_empty() {
            let facts: Vec<String> = self
                .summary
                .iter()
                .map(|(key, value)| match value {
                    Value::String(s) => format!("{key} {s}"),
                    v => format!("{key} {v}"),
                })
                .collect();
            out.push_str(&format!("{}: {}\n", self.name, facts.join(", ")));
        }
        out
    }
}
