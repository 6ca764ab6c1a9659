//! The ledger's vocabulary: account types, lot relief methods, filing status, trades.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What kind of account; tax-advantaged accounts report no gains, and a wash-sale replacement
/// bought in one disallows the loss for good (Rev. Rul. 2008-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountType {
    #[serde(rename = "taxable")]
    Taxable,
    #[serde(rename = "traditional_401k")]
    Traditional401k,
    #[serde(rename = "roth_401k")]
    Roth401k,
    #[serde(rename = "traditional_403b")]
    Traditional403b,
    #[serde(rename = "traditional_ira")]
    TraditionalIra,
    #[serde(rename = "roth_ira")]
    RothIra,
    #[serde(rename = "sep_ira")]
    SepIra,
    #[serde(rename = "simple_ira")]
    SimpleIra,
    #[serde(rename = "529")]
    Plan529,
    #[serde(rename = "hsa")]
    Hsa,
}

impl AccountType {
    pub const ALL: [AccountType; 10] = [
        Self::Taxable,
        Self::Traditional401k,
        Self::Roth401k,
        Self::Traditional403b,
        Self::TraditionalIra,
        Self::RothIra,
        Self::SepIra,
        Self::SimpleIra,
        Self::Plan529,
        Self::Hsa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Taxable => "taxable",
            Self::Traditional401k => "traditional_401k",
            Self::Roth401k => "roth_401k",
            Self::Traditional403b => "traditional_403b",
            Self::TraditionalIra => "traditional_ira",
            Self::RothIra => "roth_ira",
            Self::SepIra => "sep_ira",
            Self::SimpleIra => "simple_ira",
            Self::Plan529 => "529",
            Self::Hsa => "hsa",
        }
    }

    /// Every type but `taxable` shelters its gains.
    pub fn is_tax_advantaged(self) -> bool {
        self != Self::Taxable
    }
}

impl fmt::Display for AccountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown account type {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// How a sale picks the lots it relieves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotMethod {
    /// First in, first out (the IRS default).
    #[default]
    Fifo,
    /// Last in, first out.
    Lifo,
    /// Highest cost per share first.
    Hifo,
    /// The lots named on the sale (`lot_ids`).
    Specific,
    /// Average cost (mutual funds): every share carries the pool's average basis; shares
    /// leave first in, first out for holding periods.
    Average,
}

impl LotMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fifo => "fifo",
            Self::Lifo => "lifo",
            Self::Hifo => "hifo",
            Self::Specific => "specific",
            Self::Average => "average",
        }
    }
}

impl FromStr for LotMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "fifo" => Ok(Self::Fifo),
            "lifo" => Ok(Self::Lifo),
            "hifo" => Ok(Self::Hifo),
            "specific" | "specific_id" => Ok(Self::Specific),
            "average" | "average_cost" => Ok(Self::Average),
            other => Err(format!("unknown lot method {other:?}; expected fifo, lifo, hifo, specific or average")),
        }
    }
}

/// The household's filing status for federal income tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilingStatus {
    #[default]
    Single,
    MarriedFilingJointly,
    MarriedFilingSeparately,
    HeadOfHousehold,
    QualifyingSurvivingSpouse,
}

impl FilingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::MarriedFilingJointly => "married_filing_jointly",
            Self::MarriedFilingSeparately => "married_filing_separately",
            Self::HeadOfHousehold => "head_of_household",
            Self::QualifyingSurvivingSpouse => "qualifying_surviving_spouse",
        }
    }
}

impl FromStr for FilingStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "single" => Ok(Self::Single),
            "married_filing_jointly" | "mfj" => Ok(Self::MarriedFilingJointly),
            "married_filing_separately" | "mfs" => Ok(Self::MarriedFilingSeparately),
            "head_of_household" | "hoh" => Ok(Self::HeadOfHousehold),
            "qualifying_surviving_spouse" | "qss" => Ok(Self::QualifyingSurvivingSpouse),
            other => Err(format!(
                "unknown filing status {other:?}; expected single, married_filing_jointly, married_filing_separately, \
                 head_of_household or qualifying_surviving_spouse"
            )),
        }
    }
}

/// What a ledger row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Buy,
    Sell,
    /// Qualified when the row's description says "qualified"; ordinary otherwise.
    Dividend,
    Interest,
    Deposit,
    Withdrawal,
    Fee,
    /// Shares arriving: from another account of the household when paired with a
    /// `transfer_out` of the same symbol, quantity and date (lots keep basis and dates);
    /// otherwise from outside, as a new lot at `price` per share.
    TransferIn,
    /// Shares leaving: to the paired `transfer_in`, or out of the household (no sale).
    TransferOut,
    /// A stock split of `ratio` (new:old) on the account's lots; a fraction left over is
    /// paid in cash at `price` per post-split share (a sale).
    Split,
    /// The account's lots of `symbol` become lots of `new_symbol`; nothing else changes.
    SymbolChange,
    /// A merger: each share of `symbol` becomes `ratio` (new:old) shares of `new_symbol`, plus
    /// `price` in cash per old share (boot). Gain is recognized up to the boot (never a loss),
    /// which needs `fmv`, the fair market value of a new share; the rest of the basis and the
    /// acquisition dates carry over. With no new shares (ratio 0:1) it is a cash sale.
    Merger,
    /// A spin-off: `ratio` shares of `new_symbol` per share of `symbol`, taking `allocation`
    /// percent of each lot's basis and its acquisition date; a fraction left over is paid in
    /// cash at `price` per new share.
    Spinoff,
    /// Money paid into a retirement, HSA or 529 account, counted against the owner's limits:
    /// by the employer when the description says "employer", for the tax year the description
    /// names ("tax year 2025") or else the year of the trade date.
    Contribution,
}

/// What kind of row an action records. Each kind is entered its own way (the HTTP API has an
/// endpoint per kind); a file import takes every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// Trades and cash movements: buy, sell, dividend, interest, deposit, withdrawal, fee,
    /// transfers.
    Trade,
    /// Money paid into a retirement, HSA or 529 account.
    Contribution,
    /// Splits, symbol changes, mergers, spin-offs.
    CorporateAction,
}

impl ActionKind {
    /// The names of the actions of this kind, in [`Action::ALL`] order.
    pub fn names(self) -> Vec<&'static str> {
        Action::ALL.iter().filter(|a| a.kind() == self).map(|a| a.as_str()).collect()
    }
}

impl Action {
    /// What kind of row the action records.
    pub const fn kind(self) -> ActionKind {
        match self {
            Self::Buy
            | Self::Sell
            | Self::Dividend
            | Self::Interest
            | Self::Deposit
            | Self::Withdrawal
            | Self::Fee
            | Self::TransferIn
            | Self::TransferOut => ActionKind::Trade,
            Self::Contribution => ActionKind::Contribution,
            Self::Split | Self::SymbolChange | Self::Merger | Self::Spinoff => ActionKind::CorporateAction,
        }
    }

    pub const ALL: [Action; 14] = [
        Self::Buy,
        Self::Sell,
        Self::Dividend,
        Self::Interest,
        Self::Deposit,
        Self::Withdrawal,
        Self::Fee,
        Self::TransferIn,
        Self::TransferOut,
        Self::Split,
        Self::SymbolChange,
        Self::Merger,
        Self::Spinoff,
        Self::Contribution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
            Self::Dividend => "dividend",
            Self::Interest => "interest",
            Self::Deposit => "deposit",
            Self::Withdrawal => "withdrawal",
            Self::Fee => "fee",
            Self::TransferIn => "transfer_in",
            Self::TransferOut => "transfer_out",
            Self::Split => "split",
            Self::SymbolChange => "symbol_change",
            Self::Merger => "merger",
            Self::Spinoff => "spinoff",
            Self::Contribution => "contribution",
        }
    }

    /// Actions that move shares of a symbol.
    pub fn moves_shares(self) -> bool {
        matches!(
            self,
            Self::Buy
                | Self::Sell
                | Self::TransferIn
                | Self::TransferOut
                | Self::Split
                | Self::SymbolChange
                | Self::Merger
                | Self::Spinoff
        )
    }

    /// Corporate actions, which act on every lot of the symbol in the account.
    pub fn is_corporate_action(self) -> bool {
        matches!(self, Self::Split | Self::SymbolChange | Self::Merger | Self::Spinoff)
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown action {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// A split ratio: `new` shares for every `old` share (2:1 doubles, 1:10 is a reverse split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    pub new: Decimal,
    pub old: Decimal,
}

impl FromStr for Ratio {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, o) = s.split_once(':').ok_or_else(|| format!("{s:?} is not a ratio like 2:1"))?;
        let parse = |x: &str| x.trim().parse::<Decimal>().map_err(|_| format!("{s:?} is not a ratio like 2:1"));
        let (new, old) = (parse(n)?, parse(o)?);
        if new < Decimal::ZERO || old <= Decimal::ZERO {
            return Err(format!("{s:?}: the old side must be positive and the new side not negative"));
        }
        let limit = Decimal::from(1_000_000);
        if new > limit || old > limit {
            return Err(format!("{s:?}: each side must be at most 1,000,000"));
        }
        Ok(Self { new, old })
    }
}

impl Ratio {
    /// The split that turned `held` shares into `after` shares, for a broker that reports the
    /// shares a split delivered and never its ratio. Splits are announced as small ratios of
    /// whole numbers (2:1, 3:2, 1:10, 1:250: each side at most 1,000, the smaller at most 10),
    /// and a fraction a split leaves is paid in cash, so the ratio is the first of:
    /// 1. an announced one that is exact: `held × new / old = after`;
    /// 2. an announced one that leaves a fraction: `held × new / old` has whole part `after` (a
    ///    whole number) and a fraction;
    /// 3. `after:held` itself, exact.
    ///
    /// Each takes the smallest `old`. Where the broker paid cash in lieu of a fraction
    /// (`fraction_paid`), 2 comes first: 3 shares made 1 with cash paid is 1:2, with none 1:3.
    pub fn delivering(held: Decimal, after: Decimal, fraction_paid: bool) -> Option<Ratio> {
        if held <= Decimal::ZERO || after <= Decimal::ZERO && !fraction_paid {
            return None;
        }
        let (most, smaller) = (Decimal::from(1000), Decimal::TEN);
        let search = |fraction: bool| {
            (1..=1000).map(Decimal::from).find_map(|old| {
                // The least `new` whose shares reach `after`.
                let new = (after.trunc() * old / held).ceil().max(Decimal::ONE);
                let shares = held * new / old;
                let fits = if fraction {
                    after.fract().is_zero() && shares.trunc() == after && !shares.fract().is_zero()
                } else {
                    shares == after
                };
                (fits && new <= most && new.min(old) <= smaller).then_some(Ratio { new, old })
            })
        };
        let found =
            if fraction_paid { search(true).or_else(|| search(false)) } else { search(false).or_else(|| search(true)) };
        found.or_else(|| (!after.is_zero()).then_some(Ratio { new: after, old: held }))
    }
}

/// One recorded ledger row. `trade_id` is `T<n>`, numbered in recording order within the
/// household; the lot a buy opens carries the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub trade_id: String,
    pub account: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub quantity: Decimal,
    pub price: Decimal,
    /// Other fees (the CSV's `fees` column).
    pub fees: Decimal,
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub commission: Decimal,
    /// The SEC's Section 31 fee on sales.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub sec_fee: Decimal,
    /// FINRA's Trading Activity Fee on sales.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub taf_fee: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cusip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isin: Option<String>,
    /// The currency the row was traded or paid in (ISO 4217), when not US dollars. Its price,
    /// fees and amounts are kept in US dollars all the same, translated when recorded at
    /// `fx_rate` (the row as given is in `currency`): lots, gains and Form 8949 are in dollars,
    /// as US tax requires (IRC §985: the dollar is an individual's functional currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// US dollars per unit of `currency`: the rate the row's amounts were translated at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fx_rate: Option<Decimal>,
    pub trade_date: NaiveDate,
    pub settlement_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_method: Option<LotMethod>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lot_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    /// For a symbol change, merger or spin-off: the symbol of the new shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_symbol: Option<String>,
    /// For a merger with boot: the fair market value of one new share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmv: Option<Decimal>,
    /// For a spin-off: the percentage of basis that goes to the new shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<Decimal>,
    /// For a paired transfer: the other row's trade id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The line of the imported file this row came from, for error messages and audits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_line: Option<u64>,
    /// The broker order this row filled (the CSV's `order_id`): buys of one account, symbol and
    /// trade date with the same order id (or none) are one purchase (Rev. Rul. 56-602).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The row's identity for duplicate detection: `id:<the CSV's id column>` (the broker's
    /// transaction id) or `sha256:<digest of the row's fields>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_id: Option<String>,
}

impl Trade {
    /// Commission, SEC fee, TAF fee and other fees together: added to a purchase's basis,
    /// taken from a sale's proceeds.
    pub fn total_fees(&self) -> Decimal {
        self.fees + self.commission + self.sec_fee + self.taf_fee
    }

    /// A dividend reported as qualified (taxed at the capital-gain rates): one whose
    /// description says "qualified" (and not "non-qualified"); other dividends are ordinary.
    pub fn is_qualified_dividend(&self) -> bool {
        let text = self.description.as_deref().unwrap_or_default().to_ascii_lowercase();
        self.action == Action::Dividend && text.contains("qualified") && !text.contains("non-qualified")
    }

    /// The number in `T<n>`, which orders rows recorded on the same trade date.
    pub fn seq(&self) -> u64 {
        self.trade_id.trim_start_matches('T').parse().unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
impl Trade {
    /// A row for tests: `T<n>`, `quantity` of `symbol` at `price` on `date` (its settlement
    /// date too), nothing else set.
    pub(crate) fn test_row(
        n: u64,
        date: NaiveDate,
        account: &str,
        action: Action,
        symbol: Option<&str>,
        quantity: Decimal,
        price: Decimal,
    ) -> Trade {
        Trade {
            trade_id: format!("T{n}"),
            account: account.into(),
            action,
            symbol: symbol.map(Into::into),
            quantity,
            price,
            fees: Decimal::ZERO,
            commission: Decimal::ZERO,
            sec_fee: Decimal::ZERO,
            taf_fee: Decimal::ZERO,
            cusip: None,
            isin: None,
            currency: None,
            fx_rate: None,
            trade_date: date,
            settlement_date: date,
            lot_method: None,
            lot_ids: Vec::new(),
            ratio: None,
            new_symbol: None,
            fmv: None,
            allocation: None,
            counterpart: None,
            description: None,
            source_line: None,
            order_id: None,
            row_id: None,
        }
    }
}

/// An account as a reader sees it: numbers opened and masked to their last four characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub info: AccountInfo,
    pub institution: Option<String>,
    pub account_number: Option<String>,
    pub routing_number: Option<String>,
    pub plaid_linked: bool,
    pub employer_match: Option<crate::ledger::benefits::MatchFormula>,
    pub vesting: Option<crate::ledger::benefits::Vesting>,
    /// Whether the broker files Form 1099-B with basis (`reported` when not said).
    pub basis_reporting: Option<crate::form8949::BasisReporting>,
    pub closed_on: Option<chrono::NaiveDate>,
    pub cash: rust_decimal::Decimal,
}

/// A household account as the lot engine needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub label: String,
    pub account_type: AccountType,
    pub lot_method: LotMethod,
    /// The household member whose limits the account's contributions count against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// HSA coverage, which sets the HSA limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HsaCoverage {
    #[default]
    SelfOnly,
    Family,
}

impl HsaCoverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfOnly => "self",
            Self::Family => "family",
        }
    }
}

impl FromStr for HsaCoverage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "self" | "self_only" => Ok(Self::SelfOnly),
            "family" => Ok(Self::Family),
            other => Err(format!("unknown HSA coverage {other:?}; expected self or family")),
        }
    }
}

/// A member of the household: age-based catch-up limits, HSA coverage, and the family details
/// the transfer taxes read (`crate::family`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born: Option<NaiveDate>,
    #[serde(default)]
    pub hsa_coverage: HsaCoverage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<crate::family::Relationship>,
    /// A U.S. citizen (unknown when absent; the planners take a citizen then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizen: Option<bool>,
    /// The state of domicile (a USPS code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domicile: Option<String>,
    /// The age the member is expected to live to, given (Table 2010CM's expectation when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lives_to: Option<u32>,
    /// When the member's parent (the principal's or spouse's descendant) died (§2651(e)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_died: Option<NaiveDate>,
}

/// Whether `cusip` is a valid CUSIP: 8 characters and the check digit (the "modulus 10 double
/// add double" of the CUSIP Global Services specification).
pub fn valid_cusip(cusip: &str) -> bool {
    let b = cusip.as_bytes();
    if b.len() != 9 || !b[8].is_ascii_digit() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in b[..8].iter().enumerate() {
        let mut v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'*' => 36,
            b'@' => 37,
            b'#' => 38,
            _ => return false,
        };
        if i % 2 == 1 {
            v *= 2;
        }
        sum += v / 10 + v % 10;
    }
    (10 - sum % 10) % 10 == u32::from(b[8] - b'0')
}

/// Whether `code` has the form of an ISO 4217 currency code: three capital letters (`EUR`).
pub fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether `isin` is a valid ISIN (ISO 6166): two letters, nine alphanumerics and a Luhn
/// check digit over the letters expanded to numbers.
pub fn valid_isin(isin: &str) -> bool {
    let b = isin.as_bytes();
    if b.len() != 12 || !b[..2].iter().all(u8::is_ascii_uppercase) || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let digits: Vec<u32> = b
        .iter()
        .flat_map(|&c| {
            let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
            if v >= 10 {
                vec![v / 10, v % 10]
            } else {
                vec![v]
            }
        })
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Whether `s` can be a ticker: 1 to 20 upper-case letters, digits, `.`, `-` or `/`.
pub fn is_ticker(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '/'))
}

/// Orders row and lot ids (`T2`, `T10`, `T7.1`, `T7-KID`) as they were numbered: runs of
/// digits compare as numbers, so `T2` comes before `T10` and `T7.2` before `T7.10`.
pub fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn runs(s: &str) -> impl Iterator<Item = &str> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digits = first.is_ascii_digit();
            let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
            let (run, tail) = rest.split_at(end);
            rest = tail;
            Some(run)
        })
    }
    let number = |r: &str| r.bytes().all(|b| b.is_ascii_digit());
    let (mut x, mut y) = (runs(a), runs(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) => {
                let order = if number(p) && number(q) {
                    let (p, q) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                    p.len().cmp(&q.len()).then_with(|| p.cmp(q))
                } else {
                    p.cmp(q)
                };
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_is_found_from_the_shares_it_delivered() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let ratio = |held: &str, after: &str, paid: bool| {
            Ratio::delivering(d(held), d(after), paid).map(|r| format!("{}:{}", r.new, r.old))
        };
        // Exact: 2:1 on 100, on a fractional holding too, and 1:10 on 250.
        assert_eq!(ratio("100", "200", false).as_deref(), Some("2:1"));
        assert_eq!(ratio("100.4521", "200.9042", false).as_deref(), Some("2:1"));
        assert_eq!(ratio("250", "25", false).as_deref(), Some("1:10"));
        // 3:2 on 101 leaves half a share: 151 whole shares, whether or not the cash is known,
        // never the exact but unannounced 151:101.
        assert_eq!(ratio("101", "151", true).as_deref(), Some("3:2"));
        assert_eq!(ratio("101", "151", false).as_deref(), Some("3:2"));
        // 1:10 on 101: 10 whole shares and a tenth.
        assert_eq!(ratio("101", "10", true).as_deref(), Some("1:10"));
        // 3 shares made 1: 1:3 exactly, or 1:2 where a fraction was paid in cash.
        assert_eq!(ratio("3", "1", false).as_deref(), Some("1:3"));
        assert_eq!(ratio("3", "1", true).as_deref(), Some("1:2"));
        // No small ratio: the shares themselves.
        assert_eq!(ratio("1000", "1997", false).as_deref(), Some("1997:1000"));
        assert_eq!(ratio("0", "10", false), None);
    }

    #[test]
    fn ids_order_by_their_numbers() {
        let mut ids = vec!["T10", "T2", "T7.10", "T7.2", "T7", "T7-KID", "T1"];
        ids.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, ["T1", "T2", "T7", "T7-KID", "T7.2", "T7.10", "T10"]);
        assert_eq!(id_order("T007", "T7"), "T007".cmp("T7"), "equal numbers fall back to the text");
    }

    #[test]
    fn real_identifiers_pass_their_check_digits_and_typos_do_not() {
        assert!(valid_cusip("037833100")); // Apple
        assert!(valid_cusip("922908769")); // Vanguard Total Stock Market ETF
        assert!(!valid_cusip("037833101"));
        assert!(valid_isin("US0378331005"));
        assert!(!valid_isin("US0378331006"));
        assert!(!valid_isin("0S0378331005"));
    }
}
