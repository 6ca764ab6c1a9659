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

/// The household reports, read from the `holdings` read models: `cairn ledger <report>` and
/// `GET /v1/households/{h}/reports/{report}` build them here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HouseholdReport {
    /// Contributions of a tax year against each member's limits (needs a year).
    Contributions,
    /// Open tax lots (as at a trade date when one is given).
    Lots,
    /// A tax year's Form 8949 rows with totals per term (needs a year).
    Gains,
    /// Positions at the latest close.
    Positions,
    /// Positions at market value plus cash.
    Value,
    /// The wash-sale register.
    WashSales,
}

impl HouseholdReport {
    pub const ALL: [HouseholdReport; 6] =
        [Self::Contributions, Self::Lots, Self::Gains, Self::Positions, Self::Value, Self::WashSales];

    /// The report's name in URLs (`wash-sales`).
    pub fn slug(self) -> &'static str {
        match self {
            Self::Contributions => "contributions",
            Self::Lots => "lots",
            Self::Gains => "gains",
            Self::Positions => "positions",
            Self::Value => "value",
            Self::WashSales => "wash-sales",
        }
    }

    /// Whether the report is of one tax year.
    pub fn takes_year(self) -> bool {
        matches!(self, Self::Contributions | Self::Gains)
    }
}

/// What a report was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The household's name as given (its key is derived).
    pub household: String,
    /// The tax year, for the reports of one year.
    pub year: Option<i32>,
    /// Lots as at this trade date.
    pub lots_as_of: Option<chrono::NaiveDate>,
}

/// A report built: the report, its parameters (as recorded in `ReportGenerated`) and the
/// position of the log the rows reflect.
#[derive(Debug, Clone)]
pub struct Built {
    pub report: crate::reports::Report,
    pub parameters: Vec<(&'static str, String)>,
    pub position: u64,
}

/// Why a report cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A parameter is missing or wrong (`field: problem`).
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    /// The household has no ledger.
    #[error("household: no ledger for {0:?}; import one with `cairn ledger import`")]
    NoLedger(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<projections::Error> for ReportError {
    fn from(e: projections::Error) -> Self {
        Self::Other(e.into())
    }
}

/// Builds `which` for the request from the read models behind `reader`, which reflect the log
/// up to `position` (the caller caught them up: the CLI itself, the server's followers).
pub async fn report(
    reader: &crate::read::Reader,
    which: HouseholdReport,
    request: &Request,
    position: u64,
) -> Result<Built, ReportError> {
    use projections::holdings::{CONTRIBUTIONS, GAINS, HOUSEHOLDS, LOTS, VALUATIONS, WASH_SALES};
    use projections::query::records;

    use crate::reports;
    let household = &request.household;
    let key = domain::ledger::household_key(household);
    let scope = [("household", Some(key.clone()))];
    let year = || {
        request.year.ok_or(ReportError::Invalid {
            field: "year",
            problem: format!("the {} report is of one tax year", which.slug()),
        })
    };
    let mut parameters = vec![("household", household.clone())];
    let report = match which {
        HouseholdReport::Contributions => {
            let year = year()?;
            parameters.push(("year", year.to_string()));
            let filters = [scope[0].clone(), ("tax_year", Some(year.to_string()))];
            reports::contributions(&records(&reader.db, &CONTRIBUTIONS, &filters).await?)
        }
        HouseholdReport::Lots => match request.lots_as_of {
            Some(date) => {
                // As at a trade date: the lot engine over the rows dated up to it, from the
                // ledger state the projection holds.
                let ledger = projections::holdings::ledger_of(&reader.db, &key)
                    .await?
                    .ok_or_else(|| ReportError::NoLedger(household.clone()))?;
                let book = ledger.book(Some(date)).map_err(anyhow::Error::from)?;
                let lots = projections::holdings::lot_rows(&key, &book);
                parameters.push(("as_of_trade_date", date.to_string()));
                reports::lots(&projections::query::records_of(&LOTS, lots))
            }
            None => reports::lots(&records(&reader.db, &LOTS, &scope).await?),
        },
        HouseholdReport::Gains => {
            let year = year()?;
            parameters.push(("year", year.to_string()));
            let sales = records(&reader.db, &GAINS, &gains(&key, Some(year))).await?;
            reports::gains(&sales, &crate::tax::boxes(&reader.db, &key, &sales).await?)
        }
        HouseholdReport::Positions => reports::positions(&records(&reader.db, &VALUATIONS, &scope).await?),
        HouseholdReport::Value => crate::household::value(&reader.db, &key).await?.report(),
        HouseholdReport::WashSales => reports::wash_sales(&records(&reader.db, &WASH_SALES, &scope).await?),
    };
    if records(&reader.db, &HOUSEHOLDS, &scope).await?.is_empty() {
        return Err(ReportError::NoLedger(household.clone()));
    }
    Ok(Built { report, parameters, position })
}

/// What a caller's vault made of a sealed field: the plain bytes, or nothing when the key was
/// destroyed (the data is erased for good).
pub type Opened = Option<Vec<u8>>;

/// Every account of the household as `cairn ledger accounts` lists it: its details, its cash,
/// and its sealed account and routing numbers shown masked to their last four characters, or
/// `erased`. `open(field, sealed)` opens a field (`<account>:account_number`) with the caller's
/// vault; the query itself holds no key.
pub async fn accounts<F, Fut>(
    ledger: &domain::ledger::Ledger,
    mut open: F,
) -> anyhow::Result<Vec<domain::ledger::types::AccountView>>
where
    F: FnMut(String, domain::Sealed) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Opened>>,
{
    let book = ledger.book(None)?;
    let mut out = Vec::with_capacity(ledger.accounts.len());
    for (label, info) in &ledger.accounts {
        let details = ledger.details.get(label).cloned().unwrap_or_default();
        let mut shown = Vec::with_capacity(2);
        for (field, sealed) in [("account_number", details.account_number), ("routing_number", details.routing_number)]
        {
            shown.push(match sealed {
                None => None,
                Some(sealed) => Some(match open(format!("{label}:{field}"), sealed).await? {
                    Some(plain) => masked(&plain),
                    None => "erased".to_owned(),
                }),
            });
        }
        let routing_number = shown.pop().flatten();
        let account_number = shown.pop().flatten();
        out.push(domain::ledger::types::AccountView {
            info: info.clone(),
            institution: details.institution,
            account_number,
            routing_number,
            plaid_linked: details.plaid_access_token.is_some(),
            employer_match: details.employer_match,
            vesting: details.vesting,
            basis_reporting: details.basis_reporting,
            closed_on: ledger.closed.get(label).copied(),
            cash: book.cash.get(label).copied().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// `****` and the last four characters.
fn masked(plain: &[u8]) -> String {
    let text = String::from_utf8_lossy(plain);
    let chars: Vec<char> = text.chars().collect();
    let shown: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{shown}")
}
