//! Consolidated holdings: every symbol the household holds, across its accounts, at the latest
//! close, described by the security master (`securities`: name, asset class, sector, region),
//! and the allocation by asset class, sector, region and account, cash included. For `cairn
//! ledger holdings`, `GET /v1/households/{h}/holdings` and the web page's pies.

use std::collections::BTreeMap;

use projections::db::Db;
use projections::holdings::{ACCOUNTS, HOUSEHOLDS, VALUATIONS};
use projections::prices::SECURITIES;
use projections::query::records;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use crate::reports::{cents, money, quantity, Report};

/// What a symbol without a description is filed under.
pub const UNCLASSIFIED: &str = "unclassified";

/// One symbol across the household's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Holding {
    pub symbol: String,
    /// From the security master; absent for a symbol not described.
    pub name: Option<String>,
    /// `equity`, `fixed_income`, `cash`, `real_estate`, `commodity`, `alternative`,
    /// `multi_asset`, or `unclassified`.
    pub asset_class: String,
    pub sector: String,
    pub region: String,
    /// Shares held in all accounts together (exact).
    pub quantity: String,
    /// At the latest close, in US dollars; absent without a price.
    pub market_value: Option<String>,
    /// The same in the household's base currency, at its latest rate (absent for a household
    /// in US dollars).
    pub market_value_base: Option<String>,
    /// Of the household's total (positions priced plus cash), six decimals.
    pub weight: Option<String>,
    /// The accounts holding it.
    pub accounts: Vec<String>,
}

/// One slice of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Slice {
    pub name: String,
    pub value: String,
    pub weight: Option<String>,
}

/// A household's consolidated holdings and allocations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Holdings {
    pub household: String,
    /// Positions at market value plus cash, in US dollars.
    pub total: String,
    pub cash: String,
    /// The household's base currency (ISO 4217); the amounts above are US dollars, and for a
    /// household in another currency `total_base` and each holding's `market_value_base` are
    /// in it, at `usd_per_unit` (its pair's latest close, of `rate_date`).
    pub currency: String,
    pub usd_per_unit: Option<String>,
    pub rate_date: Option<chrono::NaiveDate>,
    pub total_base: Option<String>,
    /// Symbols held without a price (not counted in the total or the weights).
    pub unpriced: u64,
    /// Symbols held without a description in the security master (`unclassified`).
    pub unclassified: u64,
    pub holdings: Vec<Holding>,
    /// Cash is its own class (with money-market funds described as `cash`).
    pub by_asset_class: Vec<Slice>,
    pub by_sector: Vec<Slice>,
    pub by_region: Vec<Slice>,
    pub by_account: Vec<Slice>,
}

/// A breakdown of [`Holdings`] (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Symbol,
    AssetClass,
    Sector,
    Region,
    Account,
}

fn weight(value: Decimal, total: Decimal) -> Option<String> {
    (total > Decimal::ZERO).then(|| format!("{:.6}", (value / total).round_dp(6)))
}

/// Slices largest first (then by name), from values by name.
fn slices(values: BTreeMap<String, Decimal>, total: Decimal) -> Vec<Slice> {
    let mut v: Vec<(String, Decimal)> = values.into_iter().filter(|(_, v)| !v.is_zero()).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(name, value)| Slice { name, value: money(value), weight: weight(value, total) }).collect()
}

/// Each described symbol's asset class, from the security master.
pub async fn asset_classes(db: &Db) -> projections::Result<BTreeMap<String, String>> {
    let described = records(db, &SECURITIES, &[]).await?;
    Ok(described
        .into_iter()
        .filter_map(|r| Some((r.str("symbol").to_owned(), r.text("asset_class")?.to_owned())))
        .collect())
}

/// The latest close of the pair of `currency` (US dollars per unit) and its day; `None` for US
/// dollars, or with no rate recorded.
async fn base_rate(db: &Db, currency: &str) -> projections::Result<Option<(Decimal, chrono::NaiveDate)>> {
    if currency == domain::fx::USD {
        return Ok(None);
    }
    let far = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    let closes = projections::prices::closes(db, &[domain::fx::pair(currency)], far).await?;
    Ok(closes.into_iter().max_by_key(|(_, day, _)| *day).map(|(_, day, close)| (close, day)))
}

/// The consolidated holdings of the household `key` from the read models behind `db`.
pub async fn holdings(db: &Db, key: &str) -> projections::Result<Holdings> {
    let filters = [("household", Some(key.to_owned()))];
    let described: BTreeMap<String, projections::query::Record> =
        records(db, &SECURITIES, &[]).await?.into_iter().map(|r| (r.str("symbol").to_owned(), r)).collect();
    struct Sum {
        quantity: Decimal,
        value: Option<Decimal>,
        accounts: Vec<String>,
    }
    let mut by_symbol: BTreeMap<String, Sum> = BTreeMap::new();
    let mut by_account: BTreeMap<String, Decimal> = BTreeMap::new();
    for v in records(db, &VALUATIONS, &filters).await? {
        let q = v.dec("quantity").unwrap_or_default();
        if q.is_zero() {
            continue;
        }
        let sum = by_symbol.entry(v.str("symbol").to_owned()).or_insert(Sum {
            quantity: Decimal::ZERO,
            value: Some(Decimal::ZERO),
            accounts: Vec::new(),
        });
        sum.quantity += q;
        let value = v.dec("market_value").map(cents);
        sum.value = sum.value.zip(value).map(|(a, b)| a + b);
        sum.accounts.push(v.str("account").to_owned());
        *by_account.entry(v.str("account").to_owned()).or_default() += value.unwrap_or_default();
    }
    let mut cash = Decimal::ZERO;
    for a in records(db, &ACCOUNTS, &filters).await? {
        let c = a.dec("cash").map(cents).unwrap_or_default();
        cash += c;
        *by_account.entry(a.str("account").to_owned()).or_default() += c;
    }
    let total = cash + by_symbol.values().filter_map(|s| s.value).sum::<Decimal>();
    let currency = records(db, &HOUSEHOLDS, &filters)
        .await?
        .first()
        .and_then(|h| h.text("base_currency").map(str::to_owned))
        .unwrap_or_else(|| domain::fx::USD.to_owned());
    let rate = base_rate(db, &currency).await?;
    let in_base = |usd: Decimal| rate.map(|(r, _)| money(usd / r));
    let (mut classes, mut sectors, mut regions) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (map, name) in [(&mut classes, "cash"), (&mut sectors, "Cash"), (&mut regions, "Cash")] {
        map.insert(name.to_owned(), cash);
    }
    let (mut unpriced, mut unclassified) = (0, 0);
    let mut rows = Vec::with_capacity(by_symbol.len());
    for (symbol, sum) in by_symbol {
        let security = described.get(&symbol);
        let text = |c: &str, default: &str| security.and_then(|r| r.text(c)).unwrap_or(default).to_owned();
        let asset_class = text("asset_class", UNCLASSIFIED);
        let (sector, region) = if security.is_none() {
            unclassified += 1;
            (UNCLASSIFIED.to_owned(), UNCLASSIFIED.to_owned())
        } else if asset_class == "cash" {
            ("Cash".to_owned(), "Cash".to_owned())
        } else {
            (text("sector", UNCLASSIFIED), text("region", UNCLASSIFIED))
        };
        match sum.value {
            Some(v) => {
                *classes.entry(asset_class.clone()).or_default() += v;
                *sectors.entry(sector.clone()).or_default() += v;
                *regions.entry(region.clone()).or_default() += v;
            }
            None => unpriced += 1,
        }
        rows.push(Holding {
            name: security.and_then(|r| r.text("name")).map(str::to_owned),
            asset_class,
            sector,
            region,
            quantity: quantity(sum.quantity),
            market_value: sum.value.map(money),
            market_value_base: sum.value.and_then(in_base),
            weight: sum.value.and_then(|v| weight(v, total)),
            accounts: sum.accounts,
            symbol,
        });
    }
    rows.sort_by(|a, b| {
        let value = |h: &Holding| h.market_value.as_deref().and_then(|v| v.parse::<Decimal>().ok()).unwrap_or_default();
        value(b).cmp(&value(a)).then_with(|| a.symbol.cmp(&b.symbol))
    });
    Ok(Holdings {
        household: key.to_owned(),
        total: money(total),
        cash: money(cash),
        total_base: in_base(total),
        usd_per_unit: rate.map(|(r, _)| r.normalize().to_string()),
        rate_date: rate.map(|(_, d)| d),
        currency,
        unpriced,
        unclassified,
        holdings: rows,
        by_asset_class: slices(classes, total),
        by_sector: slices(sectors, total),
        by_region: slices(regions, total),
        by_account: slices(by_account, total),
    })
}

impl Holdings {
    /// One breakdown as a report (`cairn ledger holdings --by …`).
    pub fn report(&self, by: By) -> Report {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let (mut columns, mut rows): (Vec<&str>, Vec<Vec<String>>) = match by {
            By::Symbol => (
                vec![
                    "symbol",
                    "name",
                    "asset_class",
                    "sector",
                    "region",
                    "quantity",
                    "market_value",
                    "weight",
                    "accounts",
                ],
                self.holdings
                    .iter()
                    .map(|h| {
                        vec![
                            h.symbol.clone(),
                            text(&h.name),
                            h.asset_class.clone(),
                            h.sector.clone(),
                            h.region.clone(),
                            h.quantity.clone(),
                            text(&h.market_value),
                            text(&h.weight),
                            h.accounts.join(" "),
                        ]
                    })
                    .collect(),
            ),
            _ => {
                let (heading, slices) = match by {
                    By::AssetClass => ("asset_class", &self.by_asset_class),
                    By::Sector => ("sector", &self.by_sector),
                    By::Region => ("region", &self.by_region),
                    _ => ("account", &self.by_account),
                };
                (
                    vec![heading, "value", "weight"],
                    slices.iter().map(|s| vec![s.name.clone(), s.value.clone(), text(&s.weight)]).collect(),
                )
            }
        };
        let foreign = self.currency != domain::fx::USD;
        if foreign && by == By::Symbol {
            // Beside the dollars, the base currency's value.
            columns.insert(7, "market_value_base");
            for (row, h) in rows.iter_mut().zip(&self.holdings) {
                row.insert(7, text(&h.market_value_base));
            }
        }
        let mut summary = vec![("total", serde_json::json!(self.total)), ("cash", serde_json::json!(self.cash))];
        if foreign {
            summary.push(("currency", serde_json::json!(self.currency)));
            summary.push(("total_base", serde_json::json!(self.total_base)));
            summary.push(("usd_per_unit", serde_json::json!(self.usd_per_unit)));
        }
        if self.unpriced > 0 {
            summary.push(("unpriced", serde_json::json!(self.unpriced)));
        }
        if self.unclassified > 0 {
            summary.push(("unclassified", serde_json::json!(self.unclassified)));
        }
        Report { name: "holdings", columns, rows, totals: Vec::new(), summary }
    }
}
