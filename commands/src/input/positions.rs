//! A statement of positions as balance assertions: `date,account,symbol,quantity`, optionally
//! `source`; a row whose symbol is empty or `cash` asserts the account's cash. Parsed whole,
//! a bad line refusing the file, before anything is recorded.

use domain::ledger::balances::Assertion;
use rust_decimal::Decimal;

use super::csv::{bad, open, ticker};
use crate::CommandError;

const REQUIRED: [&str; 4] = ["date", "account", "symbol", "quantity"];
const OPTIONAL: [&str; 1] = ["source"];

/// The file's assertions; `source` names the statement where a row does not.
pub fn parse_positions(bytes: &[u8], source: Option<&str>) -> Result<Vec<Assertion>, CommandError> {
    let (mut reader, index, lines) = open(bytes, &REQUIRED, &OPTIONAL)?;
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        let get = |c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or("").trim();
        let date = chrono::NaiveDate::parse_from_str(get("date"), "%Y-%m-%d")
            .map_err(|_| bad(line, "date", format!("{:?} is not a date (YYYY-MM-DD)", get("date"))))?;
        let account = get("account");
        if account.is_empty() {
            return Err(bad(line, "account", "is required"));
        }
        let symbol = match get("symbol") {
            s if s.is_empty() || s.eq_ignore_ascii_case("cash") => None,
            s => ticker(line, "symbol", Some(s))?,
        };
        let text: String = get("quantity").chars().filter(|c| *c != ',').collect();
        let quantity: Decimal = text
            .parse()
            .map_err(|_| bad(line, "quantity", format!("{:?} is not a decimal number", get("quantity"))))?;
        let source = Some(get("source")).filter(|s| !s.is_empty()).or(source).map(str::to_owned);
        out.push(Assertion { account: account.to_owned(), date, symbol, quantity, source });
    }
    if out.is_empty() {
        return Err(bad(2, "row", "the file has a header but no rows"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_assertions_of_shares_or_cash() {
        let file = "date,account,symbol,quantity\n2026-01-31,brokerage,vti,\"1,000.5\"\n2026-01-31,brokerage,CASH,2500.00\n2026-01-31,ira,,0\n";
        let a = parse_positions(file.as_bytes(), Some("January statement")).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].symbol.as_deref(), a[0].quantity.to_string()), (Some("VTI"), "1000.5".into()));
        assert_eq!((a[1].symbol.as_deref(), a[1].quantity.to_string()), (None, "2500.00".into()));
        assert_eq!(a[2].source.as_deref(), Some("January statement"));
        let bad = parse_positions(b"date,account,symbol,quantity\n2026-01-31,brokerage,VTI,lots\n", None);
        assert!(bad.unwrap_err().to_string().contains("line 2: quantity"));
    }
}
