//! Ledger reports as tables that render to JSON, CSV or aligned text. Amounts are strings with
//! two decimals (rounded half away from zero, as on tax forms); quantities are exact.

use chrono::Datelike;
use domain::ledger::benefits::Vesting;
use domain::ledger::contributions::Tally;
use domain::ledger::lots::{Book, Term};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value};

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Table,
}

/// Columns and rows of strings, plus named totals rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub name: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub totals: Vec<(String, Vec<String>)>,
}

pub fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

pub fn quantity(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Open lots: lot id, account, symbol, quantity, acquired (after tacking), adjusted basis.
pub fn lots(book: &Book) -> Report {
    let columns = vec![
        "lot_id",
        "account",
        "symbol",
        "quantity",
        "acquired",
        "purchased",
        "adjusted_basis",
        "wash_sale_adjustment",
    ];
    let rows = book
        .lots
        .iter()
        .map(|l| {
            vec![
                l.lot_id.clone(),
                l.account.clone(),
                l.symbol.clone(),
                quantity(l.quantity),
                l.acquired.to_string(),
                l.purchased.to_string(),
                money(l.basis),
                money(l.wash_adjustment),
            ]
        })
        .collect();
    Report { name: "lots", columns, rows, totals: Vec::new() }
}

/// Form 8949-style rows of the sales in taxable accounts dated in `year`, with totals per term.
pub fn gains(book: &Book, year: i32) -> Report {
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
    ];
    let mut rows = Vec::new();
    let mut totals = [(Term::Short, [Decimal::ZERO; 4]), (Term::Long, [Decimal::ZERO; 4])];
    for s in book.sales.iter().filter(|s| s.reportable && s.date_sold.year() == year) {
        let rounded = [s.proceeds, s.cost_basis, s.adjustment_amount, s.gain_loss]
            .map(|d| d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero));
        let t = &mut totals.iter_mut().find(|(term, _)| *term == s.term).expect("two terms").1;
        for (acc, v) in t.iter_mut().zip(rounded) {
            *acc += v;
        }
        // Cash paid in a merger (boot) disposes of no shares; fractions are shown to 6 places.
        let description = if s.quantity.is_zero() {
            format!("{} (cash)", s.symbol)
        } else {
            format!("{} {}", quantity(s.quantity.round_dp(6)), s.symbol)
        };
        rows.push(vec![
            description,
            s.account.clone(),
            s.date_acquired.to_string(),
            s.date_sold.to_string(),
            money(s.proceeds),
            money(s.cost_basis),
            s.adjustment_code.clone().unwrap_or_default(),
            money(s.adjustment_amount),
            money(s.gain_loss),
            term_name(s.term).to_owned(),
        ]);
    }
    let totals = totals
        .into_iter()
        .map(|(term, [p, b, a, g])| {
            let label = term_name(term).to_owned();
            (label.clone(), vec![money(p), money(b), money(a), money(g)])
        })
        .collect();
    Report { name: "gains", columns, rows, totals }
}

/// Contributions against each member's limits in a tax year.
pub fn contributions(tallies: &[Tally]) -> Report {
    let columns = vec!["member", "tax_year", "limit_kind", "limit", "contributed", "remaining"];
    let rows = tallies
        .iter()
        .map(|t| {
            vec![
                t.member.clone(),
                t.tax_year.to_string(),
                t.kind.as_str().to_owned(),
                t.limit.map(money).unwrap_or_default(),
                money(t.contributed),
                t.remaining().map(money).unwrap_or_default(),
            ]
        })
        .collect();
    Report { name: "contributions", columns, rows, totals: Vec::new() }
}

/// The household's accounts.
pub fn accounts(views: &[commands::ledger::AccountView]) -> Report {
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
                v.closed_on.map(|d| d.to_string()).unwrap_or_default(),
                money(v.cash),
            ]
        })
        .collect();
    Report { name: "accounts", columns, rows, totals: Vec::new() }
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
    Report { name: "bars", columns, rows, totals: Vec::new() }
}

fn term_name(t: Term) -> &'static str {
    match t {
        Term::Short => "short",
        Term::Long => "long",
    }
}

const TOTAL_COLUMNS: [&str; 4] = ["proceeds", "cost_basis", "adjustment_amount", "gain_loss"];

impl Report {
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => self.json().to_string(),
            Format::Csv => self.csv(),
            Format::Table => self.table(),
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
        out
    }
}
