//! The ledger CSV format: parsed whole, before anything is recorded, so a bad row refuses the
//! entire file with `line N: <field>: <problem>`.
//!
//! Columns (header row required, any order): `trade_date,account,account_type,action,symbol,
//! quantity,price,fees`, and optionally `settlement_date,lot_method,lot_ids,ratio,description,owner,
//! new_symbol,fmv,allocation,commission,sec_fee,taf_fee,cusip,isin,currency,fx_rate`.
//! Dates are `YYYY-MM-DD`; amounts are plain decimals (`1234.56`, no thousands separators);
//! `lot_ids` are separated by spaces or `;`; `ratio` is `new:old` (`2:1`, `1:10`). Also
//! `order_id` (the broker's order: buys of one account, symbol and date with the same order id
//! are one purchase) and `id` (the broker's transaction id, the row's identity for duplicates).
//! Header names are matched ignoring case; blank lines and lines starting with `#` are skipped.

use std::str::FromStr;

use chrono::NaiveDate;
use domain::ledger::{ByHolding, RowInput};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::csv::{bad, open, ticker};
use crate::CommandError;

pub const REQUIRED_COLUMNS: [&str; 8] =
    ["trade_date", "account", "account_type", "action", "symbol", "quantity", "price", "fees"];
pub const OPTIONAL_COLUMNS: [&str; 18] = [
    "settlement_date",
    "lot_method",
    "lot_ids",
    "ratio",
    "description",
    "owner",
    "new_symbol",
    "fmv",
    "allocation",
    "commission",
    "sec_fee",
    "taf_fee",
    "cusip",
    "isin",
    "currency",
    "fx_rate",
    "order_id",
    "id",
];

fn parsed<T>(line: u64, field: &str, result: Result<T, String>) -> Result<T, CommandError> {
    result.map_err(|e| bad(line, field, e))
}

/// Parses a whole file; the first error ends it.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<RowInput>, CommandError> {
    let (mut reader, index, lines) = open(bytes, &REQUIRED_COLUMNS, &OPTIONAL_COLUMNS)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        rows.push(parse_row(line, &|c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or(""))?);
    }
    if rows.is_empty() {
        return Err(bad(2, "row", "the file has a header but no rows"));
    }
    Ok(rows)
}

/// Parses one row from its columns' values (`get` gives a column's trimmed value, empty when
/// absent): the rules of a file's rows, for a file's record or a row sent as typed fields
/// (`POST /v1/households/{h}/trades`, whose row is its line 1).
pub fn parse_row<'v>(line: u64, get: &dyn Fn(&str) -> &'v str) -> Result<RowInput, CommandError> {
    let opt = |c: &str| Some(get(c)).filter(|v| !v.is_empty());
    let date = |c: &str| -> Result<Option<NaiveDate>, CommandError> {
        opt(c)
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| bad(line, c, format!("{v:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    };
    let decimal = |c: &str| -> Result<Decimal, CommandError> {
        match opt(c) {
            None => Ok(Decimal::ZERO),
            Some(v) => Decimal::from_str(v).map_err(|_| bad(line, c, format!("{v:?} is not a decimal number"))),
        }
    };
    let symbol = ticker(line, "symbol", opt("symbol"))?;
    let account = get("account").to_owned();
    if account.is_empty() {
        return Err(bad(line, "account", "must not be empty"));
    }
    Ok(RowInput {
        line,
        trade_date: date("trade_date")?.ok_or_else(|| bad(line, "trade_date", "must not be empty"))?,
        account,
        account_type: opt("account_type").map(|v| parsed(line, "account_type", v.parse())).transpose()?,
        action: parsed(line, "action", get("action").parse())?,
        symbol,
        quantity: decimal("quantity")?,
        price: decimal("price")?,
        fees: decimal("fees")?,
        commission: decimal("commission")?,
        sec_fee: decimal("sec_fee")?,
        taf_fee: decimal("taf_fee")?,
        cusip: opt("cusip").map(str::to_ascii_uppercase),
        isin: opt("isin").map(str::to_ascii_uppercase),
        currency: opt("currency").map(str::to_ascii_uppercase),
        fx_rate: opt("fx_rate").map(|_| decimal("fx_rate")).transpose()?,
        settlement_date: date("settlement_date")?,
        lot_method: opt("lot_method").map(|v| parsed(line, "lot_method", v.parse())).transpose()?,
        lot_ids: get("lot_ids").split([' ', ';']).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        ratio: opt("ratio").map(|v| parsed(line, "ratio", v.parse())).transpose()?,
        description: opt("description").map(str::to_owned),
        owner: opt("owner").map(str::to_owned),
        new_symbol: ticker(line, "new_symbol", opt("new_symbol"))?,
        fmv: opt("fmv").map(|_| decimal("fmv")).transpose()?,
        allocation: opt("allocation").map(|_| decimal("allocation")).transpose()?,
        order_id: opt("order_id").map(str::to_owned),
        identity: opt("id").map(|v| format!("id:{v}")),
        by_holding: None,
    })
}

/// Gives each row without a broker transaction id (the `id` column) the digest of its fields
/// as its identity, so the same transaction in another file (other line endings, a byte-order
/// mark, an overlapping export, columns in another order) is found again. The fields are those
/// of the transaction itself, as parsed (decimals normalized, symbols upper-cased): date,
/// account, action, symbol, quantity, price, every fee, settlement date, corporate-action terms,
/// lot instructions, description and order id; not `account_type` or `owner`, which only
/// describe the account and may be left empty once it exists.
pub fn identify(rows: &mut [RowInput]) {
    fn text<T: ToString>(v: &Option<T>) -> String {
        v.as_ref().map(ToString::to_string).unwrap_or_default()
    }
    for row in rows.iter_mut().filter(|r| r.identity.is_none()) {
        let dec = |d: Decimal| d.normalize().to_string();
        let mut fields = vec![
            row.trade_date.to_string(),
            row.account.clone(),
            row.action.as_str().to_owned(),
            text(&row.symbol),
            dec(row.quantity),
            dec(row.price),
            dec(row.fees),
            dec(row.commission),
            dec(row.sec_fee),
            dec(row.taf_fee),
            text(&row.cusip),
            text(&row.isin),
            text(&row.settlement_date),
            text(&row.lot_method.map(|m| m.as_str())),
            row.lot_ids.join(" "),
            text(&row.ratio.map(|r| format!("{}:{}", r.new.normalize(), r.old.normalize()))),
            text(&row.description),
            text(&row.new_symbol),
            text(&row.fmv.map(dec)),
            text(&row.allocation.map(dec)),
            text(&row.order_id),
        ];
        // Only where given, so that a dollar row's identity is what it always was.
        if row.currency.is_some() || row.fx_rate.is_some() {
            fields.extend([text(&row.currency), text(&row.fx_rate.map(dec))]);
        }
        match row.by_holding {
            Some(ByHolding::Split { removed, delivered, fraction_paid }) => {
                fields.extend([text(&removed.map(dec)), dec(delivered), fraction_paid.to_string()])
            }
            Some(ByHolding::CashInLieu) => fields.push("cash in lieu".into()),
            None => {}
        }
        let mut hash = Sha256::new();
        for f in &fields {
            hash.update((f.len() as u64).to_le_bytes());
            hash.update(f.as_bytes());
        }
        row.identity = Some(format!("sha256:{}", hex::encode(hash.finalize())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n";

    #[test]
    fn a_good_file_parses_with_line_numbers() {
        let csv = format!(
            "{HEADER}2025-01-02,Brokerage,taxable,buy,vti,10,250.10,0\n2025-01-03,Brokerage,,sell,VTI,5,251,0.01\n"
        );
        let rows = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[1].line), (2, 3));
        assert_eq!(rows[0].symbol.as_deref(), Some("VTI"));
        assert_eq!(rows[1].account_type, None);
        assert_eq!(rows[1].fees, Decimal::new(1, 2));
    }

    #[test]
    fn a_bad_field_names_its_line_and_column() {
        let csv = format!("{HEADER}2025-01-02,B,taxable,buy,VTI,10,250,0\n2025-13-02,B,taxable,buy,VTI,10,250,0\n");
        assert_eq!(
            parse_csv(csv.as_bytes()).unwrap_err().to_string(),
            "line 3: trade_date: \"2025-13-02\" is not a date (YYYY-MM-DD)"
        );
        let csv = format!("{HEADER}2025-01-02,B,taxable,purchase,VTI,10,250,0\n");
        assert!(parse_csv(csv.as_bytes()).unwrap_err().to_string().starts_with("line 2: action: unknown action"));
        let csv = format!("{HEADER}2025-01-02,B,taxable,buy,VTI,ten,250,0\n");
        assert_eq!(
            parse_csv(csv.as_bytes()).unwrap_err().to_string(),
            "line 2: quantity: \"ten\" is not a decimal number"
        );
    }

    #[test]
    fn a_missing_or_unknown_column_is_refused() {
        let err = parse_csv(b"trade_date,account\n2025-01-02,B\n").unwrap_err().to_string();
        assert_eq!(err, "line 1: header: missing column \"account_type\"");
        let csv = "trade_date,account,account_type,action,symbol,quantity,price,fees,colour\n";
        assert_eq!(parse_csv(csv.as_bytes()).unwrap_err().to_string(), "line 1: header: unknown column \"colour\"");
    }
}
