//! The household ledger's questions that both shells ask the same way.

/// A read model filter: a column (with an optional operator, `"date_sold >="`) and its value.
pub type Filter = (&'static str, Option<String>);

/// The filters of a household's Form 8949 rows: its reportable sales (those of taxable
/// accounts; a sale inside an IRA, 401(k), HSA or 529 is not reported), sold in `year` when
/// one is given. `cairn ledger gains` and `GET /v1/households/{h}/gains` both read these.
pub fn gains(household_key: &str, year: Option<i32>) -> Vec<Filter> {
    let mut filters = vec![("household", Some(household_key.to_owned())), ("reportable", Some("1".to_owned()))];
    if let Some(year) = year {
        filters.push(("date_sold >=", Some(format!("{year:04}-01-01"))));
        filters.push(("date_sold <=", Some(format!("{year:04}-12-31"))));
    }
    filters
}
