//! OFX investment statements (the `.ofx` or `.qfx` download many brokers offer for Quicken and
//! other money managers), mapped to ledger rows of one account. Both versions are read: 1.x
//! (SGML: `KEY:VALUE` header lines such as `OFXHEADER:100` and `DATA:OFXSGML`, then `<OFX>`,
//! whose leaf elements are usually not closed: `<FITID>123` and a newline) and 2.x (XML:
//! `<?xml …?><?OFX OFXHEADER="200" VERSION="220" …?>`, then well-formed XML).
//!
//! One small reader of OFX's tag syntax takes both. A leaf's value is the text after its start
//! tag, ending at its end tag if it has one and else at the next tag; an element still open
//! when its parent closes (an empty SGML leaf, `<MEMO>` followed directly by `<UNITS>`) is a
//! leaf, and what followed it belongs to its parent. Element names are matched ignoring case;
//! `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric references are decoded,
//! and a file that is not UTF-8 is read as Latin-1 (OFX 1.x's `CHARSET:1252`).
//!
//! What is read is the investment statement, `INVSTMTMSGSRSV1/INVSTMTTRNRS/INVSTMTRS` (one
//! account's; several statements of the same account are read together), and its
//! `INVTRANLIST`. A transaction's security (`SECID`: `UNIQUEID`, `UNIQUEIDTYPE`) takes its
//! symbol from `SECLISTMSGSRSV1/SECLIST` (`STOCKINFO`, `MFINFO`, `OTHERINFO`, … → `SECINFO`:
//! `SECID`, `TICKER`, `SECNAME`); a security without a `TICKER`, or missing from the list,
//! takes its `UNIQUEID` (usually the CUSIP) as its symbol. Dates are
//! `YYYYMMDD[HHMMSS[.XXX]][[-5:EST]]`, of which the date is taken as written. Amounts are plain
//! decimals, taken in the statement's currency (`CURDEF`) as written; a comma decimal separator
//! (`12,50`, in some European files) is read as a point.
//!
//! | OFX transaction | ledger row |
//! | --- | --- |
//! | BUYSTOCK, BUYMF, BUYOTHER (INVBUY) | `buy` of UNITS at UNITPRICE, COMMISSION + TAXES + FEES + LOAD as fees, DTSETTLE as the settlement date |
//! | SELLSTOCK, SELLMF, SELLOTHER (INVSELL) | `sell` of UNITS (negative in OFX) at UNITPRICE, fees as for a buy |
//! | INCOME | by INCOMETYPE, of TOTAL: DIV an ordinary `dividend`, INTEREST `interest`, CGLONG and CGSHORT an ordinary `dividend` described as a (long- or short-term) capital gain distribution |
//! | REINVEST | two rows: the income, as INCOME, of TOTAL's absolute value, then a `buy` of UNITS at UNITPRICE (fees as for a buy): the cash comes in and goes straight back out, and the income is counted as income |
//! | TRANSFER | `transfer_in` (TFERACTION IN) or `transfer_out` (OUT) of UNITS, at UNITPRICE if given (an unpaired `transfer_in` needs it: the ledger reads it as the basis per share) |
//! | SPLIT | `split` with ratio NUMERATOR:DENOMINATOR; FRACCASH, cash in lieu, is the price of the fractional share OLDUNITS × NUMERATOR ÷ DENOMINATOR leaves |
//! | INVBANKTRAN (STMTTRN), by TRNTYPE | CREDIT, DEBIT, DEP, DIRECTDEP, DIRECTDEBIT, XFER, ATM, CASH, CHECK, PAYMENT, POS: a `deposit` of a positive TRNAMT, a `withdrawal` of a negative one; INT `interest`, DIV a `dividend` (money in); FEE, SRVCHG a `fee` (money out) |
//!
//! Each row's `id` is `BROKERID/ACCTID/FITID` of its transaction (a REINVEST's income row takes
//! `…/FITID:income`): a FITID is unique within one account at one institution, so scoped by the
//! statement's account it is the transaction's identity in the household, and a transaction in
//! two overlapping downloads (January to March, then February to April) is recorded once. A row's description is the element (with its type) and the transaction's
//! MEMO, else the security's name (a bank entry's NAME and MEMO). OFX does not say whether a
//! dividend qualifies: a dividend is ordinary unless the broker's MEMO says `qualified` (the
//! ledger reads a dividend whose description says so as qualified). Income whose amount is
//! money out, or a fee that is money in (a reversal, a refund), refuses the file, naming its
//! line. Rows are recorded oldest first: by date, then in the file's order.
//!
//! A file whose sign-on or statement answer has `<SEVERITY>ERROR`, with no investment statement
//! (a bank or credit card statement), or with statements of more than one account is refused.
//! Any other transaction (BUYDEBT, SELLDEBT, BUYOPT, SELLOPT, CLOSUREOPT, JRNLFUND, JRNLSEC,
//! MARGININTEREST, RETOFCAP, INVEXPENSE, short sales and their covers, INCOMETYPE MISC,
//! TRNTYPE OTHER, an element OFX adds later) stops the import, all or nothing, naming the line
//! and the element, unless the caller asks to skip such entries; skipped entries are listed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::broker::{rows, same_way, Converted, Entry, Skipped};
use super::csv::bad;
use crate::CommandError;

/// Whether `bytes` look like OFX: a 1.x header (`OFXHEADER:` first), or an `<?OFX` processing
/// instruction or an `<OFX>` element in the first 4 KiB.
pub fn recognizes(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_ascii_uppercase();
    head.trim_start().starts_with("OFXHEADER:") || head.contains("<?OFX") || head.contains("<OFX>")
}

/// Converts an OFX investment statement into rows of `account` (`account_type` where the
/// account is new). With `skip_unknown`, transactions this mapping does not know are skipped
/// and listed instead of refusing the file.
pub fn parse(
    bytes: &[u8],
    account: &str,
    account_type: Option<&str>,
    skip_unknown: bool,
) -> Result<Converted, CommandError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().copied().map(char::from).collect()),
    };
    let document = document(&text)?;
    let ofx = document.child("OFX").ok_or_else(|| bad(1, "OFX", "no <OFX> element: this is not an OFX file"))?;
    if let Some(signon) = ofx.path(&["SIGNONMSGSRSV1", "SONRS"]) {
        status(signon)?;
    }
    let answers: Vec<&Element> =
        ofx.child("INVSTMTMSGSRSV1").map(|m| m.children("INVSTMTTRNRS").collect()).unwrap_or_default();
    for answer in &answers {
        status(answer)?;
    }
    let statements: Vec<&Element> = answers.iter().flat_map(|a| a.children("INVSTMTRS")).collect();
    let Some(first) = statements.first() else {
        return Err(bad(
            ofx.line,
            "INVSTMTRS",
            "the file holds no investment statement (INVSTMTMSGSRSV1/INVSTMTTRNRS/INVSTMTRS); \
             a bank or credit card statement is not read",
        ));
    };
    let account_of = |s: &Element| {
        let from = s.child("INVACCTFROM");
        let field = |name| from.and_then(|f| f.text(name)).unwrap_or("").to_owned();
        format!("{}/{}", field("BROKERID"), field("ACCTID"))
    };
    if let Some(other) = statements.iter().find(|s| account_of(s) != account_of(first)) {
        return Err(bad(
            other.line,
            "INVACCTFROM",
            format!(
                "the file holds statements of more than one account ({:?} and {:?}); import each account's file on its own",
                account_of(first),
                account_of(other)
            ),
        ));
    }
    let securities = securities(ofx);
    let mut pending: Vec<Entry> = Vec::new();
    let mut skipped = Vec::new();
    let transactions = statements.iter().filter_map(|s| s.child("INVTRANLIST")).flat_map(|l| l.children.iter());
    for tx in transactions.filter(|tx| !matches!(tx.name.as_str(), "DTSTART" | "DTEND")) {
        match transaction(tx, &securities)? {
            Mapped::Entries(entries) => pending.extend(entries),
            Mapped::Unknown { action, problem, .. } if skip_unknown => {
                skipped.push(Skipped { line: tx.line, action, why: problem });
            }
            Mapped::Unknown { field, problem, .. } => {
                return Err(bad(tx.line, field, format!("{problem}; --skip-unknown skips such entries")));
            }
        }
    }
    // Oldest first (a stable sort: a day's entries keep the file's order), so that an account
    // opens on its first row.
    pending.sort_by_key(|e| e.date);
    // A FITID is unique only within one account at one institution (OFX 2.2, 3.2.1), while a
    // row's identity is the household's: scope it by the statement's BROKERID and ACCTID.
    let scope = account_of(first);
    for e in &mut pending {
        if let Some(id) = &mut e.id {
            *id = format!("{scope}/{id}");
        }
    }
    let rows = rows(&pending, account, account_type)?;
    if rows.is_empty() && skipped.is_empty() {
        return Err(bad(first.line, "INVTRANLIST", "the statement holds no transactions"));
    }
    Ok(Converted { rows, skipped })
}

/// How one element of `INVTRANLIST` is recorded.
enum Mapped {
    Entries(Vec<Entry>),
    /// Not a transaction this mapping records: the element or type (`BUYOPT`, `INCOME MISC`),
    /// the field that says so, and why.
    Unknown {
        field: &'static str,
        action: String,
        problem: String,
    },
}

fn transaction(tx: &Element, securities: &Securities) -> Result<Mapped, CommandError> {
    match tx.name.as_str() {
        "BUYSTOCK" | "BUYMF" | "BUYOTHER" | "SELLSTOCK" | "SELLMF" | "SELLOTHER" => trade(tx, securities),
        "INCOME" => income(tx, securities),
        "REINVEST" => reinvest(tx, securities),
        "TRANSFER" => transfer(tx, securities),
        "SPLIT" => split(tx, securities),
        "INVBANKTRAN" => bank(tx),
        name => Ok(Mapped::Unknown {
            field: "INVTRANLIST",
            action: name.to_owned(),
            problem: format!("<{name}> is not a transaction the OFX mapping records"),
        }),
    }
}

/// A buy or a sale: INVBUY or INVSELL inside the element, with BUYTYPE or SELLTYPE after it.
fn trade(tx: &Element, securities: &Securities) -> Result<Mapped, CommandError> {
    let buy = tx.name.starts_with("BUY");
    let (inner, kind, plain) = if buy { ("INVBUY", "BUYTYPE", "BUY") } else { ("INVSELL", "SELLTYPE", "SELL") };
    if let Some(other) = tx.text(kind).filter(|k| !k.eq_ignore_ascii_case(plain)) {
        return Ok(Mapped::Unknown {
            field: kind,
            action: format!("{} {}", tx.name, other.to_ascii_uppercase()),
            problem: format!(
                "<{}> of {kind} {other:?} (a short position) is not a trade the OFX mapping records",
                tx.name
            ),
        });
    }
    let inner = tx.required_child(inner)?;
    let head = Head::of(inner)?;
    let (symbol, name) = security(inner, securities)?;
    Ok(Mapped::Entries(vec![Entry {
        line: tx.line,
        date: head.date,
        action: if buy { "buy" } else { "sell" },
        symbol,
        quantity: inner.required_decimal("UNITS")?.abs(),
        price: inner.required_decimal("UNITPRICE")?,
        fees: fees(inner)?,
        description: describe(&tx.name, &[head.memo.as_deref().or(name)]),
        id: Some(head.fitid),
        settlement_date: head.settle,
        ..Entry::default()
    }]))
}

/// Commission, taxes, fees and load: what a trade costs besides its shares.
fn fees(e: &Element) -> Result<Decimal, CommandError> {
    let mut total = Decimal::ZERO;
    for name in ["COMMISSION", "TAXES", "FEES", "LOAD"] {
        total += e.decimal(name)?.unwrap_or_default();
    }
    Ok(total)
}

fn income(tx: &Element, securities: &Securities) -> Result<Mapped, CommandError> {
    let (action, label) = match income_type(tx)? {
        Ok(kind) => kind,
        Err(unknown) => return Ok(unknown),
    };
    let head = Head::of(tx)?;
    let (symbol, name) = security(tx, securities)?;
    let (text, line) = tx.required("TOTAL")?;
    let total = amount(line, "TOTAL", text)?;
    if total < Decimal::ZERO {
        return Err(bad(line, "TOTAL", format!("{text:?} is money out; an INCOME entry is money in")));
    }
    Ok(Mapped::Entries(vec![Entry {
        line: tx.line,
        date: head.date,
        action,
        symbol,
        quantity: Decimal::ONE,
        price: total,
        description: describe(&label, &[head.memo.as_deref().or(name)]),
        id: Some(head.fitid),
        ..Entry::default()
    }]))
}

/// Income reinvested: the income, then the buy it paid for.
fn reinvest(tx: &Element, securities: &Securities) -> Result<Mapped, CommandError> {
    let (action, label) = match income_type(tx)? {
        Ok(kind) => kind,
        Err(unknown) => return Ok(unknown),
    };
    let head = Head::of(tx)?;
    let (symbol, name) = security(tx, securities)?;
    let text = head.memo.as_deref().or(name);
    let income = Entry {
        line: tx.line,
        date: head.date,
        action,
        symbol: symbol.clone(),
        quantity: Decimal::ONE,
        price: tx.required_decimal("TOTAL")?.abs(),
        description: describe(&label, &[text]),
        id: Some(format!("{}:income", head.fitid)),
        ..Entry::default()
    };
    let buy = Entry {
        line: tx.line,
        date: head.date,
        action: "buy",
        symbol,
        quantity: tx.required_decimal("UNITS")?.abs(),
        price: tx.required_decimal("UNITPRICE")?,
        fees: fees(tx)?,
        description: describe("REINVEST", &[text]),
        id: Some(head.fitid),
        settlement_date: head.settle,
        ..Entry::default()
    };
    Ok(Mapped::Entries(vec![income, buy]))
}

/// The ledger action and the description's label for INCOMETYPE, or why it is not recorded.
fn income_type(tx: &Element) -> Result<Result<(&'static str, String), Mapped>, CommandError> {
    let (kind, _) = tx.required("INCOMETYPE")?;
    let kind = kind.to_ascii_uppercase();
    let label = format!("{} {kind}", tx.name);
    Ok(Ok(match kind.as_str() {
        "DIV" => ("dividend", label),
        "INTEREST" => ("interest", label),
        "CGLONG" => ("dividend", format!("{label} (long-term capital gain distribution)")),
        "CGSHORT" => ("dividend", format!("{label} (short-term capital gain distribution)")),
        _ => {
            return Ok(Err(Mapped::Unknown {
                field: "INCOMETYPE",
                problem: format!("<{}> of INCOMETYPE {kind:?} is not income the OFX mapping records", tx.name),
                action: label,
            }))
        }
    }))
}

fn transfer(tx: &Element, securities: &Securities) -> Result<Mapped, CommandError> {
    let head = Head::of(tx)?;
    let (symbol, name) = security(tx, securities)?;
    let (direction, line) = tx.required("TFERACTION")?;
    let action = match direction.to_ascii_uppercase().as_str() {
        "IN" => "transfer_in",
        "OUT" => "transfer_out",
        _ => return Err(bad(line, "TFERACTION", format!("{direction:?} is neither IN nor OUT"))),
    };
    Ok(Mapped::Entries(vec![Entry {
        line: tx.line,
        date: head.date,
        action,
        symbol,
        quantity: tx.required_decimal("UNITS")?.abs(),
        price: tx.decimal("UNITPRICE")?.unwrap_or_default(),
        description: describe(
            &format!("TRANSFER {}", direction.to_ascii_uppercase()),
            &[head.memo.as_deref().or(name)],
        ),
        id: Some(head.fitid),
        ..Entry::default()
    }]))
}

fn split(tx: &Element, securities: &Securities) -> Result<Mapped, CommandError> {
    let head = Head::of(tx)?;
    let (symbol, name) = security(tx, securities)?;
    let (new, old) = (tx.required_decimal("NUMERATOR")?, tx.required_decimal("DENOMINATOR")?);
    // Cash in lieu: the ledger pays the fraction the split leaves at the row's price per share.
    let mut price = Decimal::ZERO;
    if let Some((text, line)) = tx.leaf("FRACCASH") {
        let cash = amount(line, "FRACCASH", text)?.abs();
        let fraction =
            if old.is_zero() { Decimal::ZERO } else { (tx.required_decimal("OLDUNITS")?.abs() * new / old).fract() };
        if !cash.is_zero() && fraction.is_zero() {
            return Err(bad(
                line,
                "FRACCASH",
                "cash in lieu, but OLDUNITS × NUMERATOR ÷ DENOMINATOR leaves no fraction of a share",
            ));
        }
        if !cash.is_zero() {
            price = (cash / fraction).round_dp(6).normalize();
        }
    }
    Ok(Mapped::Entries(vec![Entry {
        line: tx.line,
        date: head.date,
        action: "split",
        symbol,
        price,
        description: describe("SPLIT", &[head.memo.as_deref().or(name)]),
        id: Some(head.fitid),
        ratio: Some(format!("{new}:{old}")),
        ..Entry::default()
    }]))
}

/// Cash in or out of the account: STMTTRN inside INVBANKTRAN.
fn bank(tx: &Element) -> Result<Mapped, CommandError> {
    #[derive(PartialEq)]
    enum Way {
        In,
        Out,
        Either,
    }
    let st = tx.required_child("STMTTRN")?;
    let (kind, _) = st.required("TRNTYPE")?;
    let kind = kind.to_ascii_uppercase();
    let (action, way) = match kind.as_str() {
        "CREDIT" | "DEBIT" | "DEP" | "DIRECTDEP" | "DIRECTDEBIT" | "XFER" | "ATM" | "CASH" | "CHECK" | "PAYMENT"
        | "POS" => ("deposit", Way::Either),
        "INT" => ("interest", Way::In),
        "DIV" => ("dividend", Way::In),
        "FEE" | "SRVCHG" => ("fee", Way::Out),
        _ => {
            return Ok(Mapped::Unknown {
                field: "TRNTYPE",
                action: format!("INVBANKTRAN {kind}"),
                problem: format!("<INVBANKTRAN> of TRNTYPE {kind:?} is not an entry the OFX mapping records"),
            })
        }
    };
    let (fitid, _) = st.required("FITID")?;
    let (text, line) = st.required("TRNAMT")?;
    let amount = amount(line, "TRNAMT", text)?;
    let out = amount < Decimal::ZERO;
    if way != Way::Either {
        same_way(line, "TRNAMT", text, amount, way == Way::In, &format!("a TRNTYPE {kind} entry"))?;
    }
    Ok(Mapped::Entries(vec![Entry {
        line: tx.line,
        date: st.required_date("DTPOSTED")?,
        action: if way == Way::Either && out { "withdrawal" } else { action },
        quantity: Decimal::ONE,
        price: amount.abs(),
        description: describe(&format!("INVBANKTRAN {kind}"), &[st.text("NAME"), st.text("MEMO")]),
        id: Some(fitid.to_owned()),
        ..Entry::default()
    }]))
}

/// `label: text, text`, or the label alone.
fn describe(label: &str, texts: &[Option<&str>]) -> String {
    let texts: Vec<&str> = texts.iter().flatten().copied().collect();
    if texts.is_empty() {
        label.to_owned()
    } else {
        format!("{label}: {}", texts.join(", "))
    }
}

/// What INVTRAN says of a transaction.
struct Head {
    fitid: String,
    date: NaiveDate,
    settle: Option<NaiveDate>,
    memo: Option<String>,
}

impl Head {
    fn of(e: &Element) -> Result<Self, CommandError> {
        let tran = e.required_child("INVTRAN")?;
        Ok(Self {
            fitid: tran.required("FITID")?.0.to_owned(),
            date: tran.required_date("DTTRADE")?,
            settle: tran.date("DTSETTLE")?,
            memo: tran.text("MEMO").map(str::to_owned),
        })
    }
}

/// Each security of the list by `(UNIQUEIDTYPE, UNIQUEID)`: its ticker and name.
type Securities = HashMap<(String, String), (Option<String>, Option<String>)>;

fn securities(ofx: &Element) -> Securities {
    let mut list = Securities::new();
    let infos = ofx.path(&["SECLISTMSGSRSV1", "SECLIST"]).map(|l| l.children.as_slice()).unwrap_or_default();
    for info in infos.iter().filter_map(|i| i.child("SECINFO")) {
        if let Some(key) = info.child("SECID").and_then(security_key) {
            let text = |name| info.text(name).map(str::to_owned);
            list.insert(key, (text("TICKER").map(|t| t.to_ascii_uppercase()), text("SECNAME")));
        }
    }
    list
}

fn security_key(secid: &Element) -> Option<(String, String)> {
    let id = secid.text("UNIQUEID")?.to_ascii_uppercase();
    Some((secid.text("UNIQUEIDTYPE").unwrap_or("").to_ascii_uppercase(), id))
}

/// The symbol of `e`'s SECID (its ticker, else its UNIQUEID) and the security's name.
fn security<'s>(e: &Element, securities: &'s Securities) -> Result<(String, Option<&'s str>), CommandError> {
    let secid = e.required_child("SECID")?;
    secid.required("UNIQUEID")?;
    let key = security_key(secid).expect("UNIQUEID is there");
    Ok(match securities.get(&key) {
        Some((ticker, name)) => (ticker.clone().unwrap_or(key.1), name.as_deref()),
        None => (key.1, None),
    })
}

/// Refuses an answer whose STATUS is an error.
fn status(answer: &Element) -> Result<(), CommandError> {
    let Some(status) = answer.child("STATUS") else { return Ok(()) };
    if !status.text("SEVERITY").is_some_and(|s| s.eq_ignore_ascii_case("ERROR")) {
        return Ok(());
    }
    let code = status.text("CODE").unwrap_or("none");
    let message = status.text("MESSAGE").map(|m| format!(": {m}")).unwrap_or_default();
    Err(bad(
        status.line,
        "STATUS",
        format!("the institution answered <{}> with an error (code {code}{message}), not a statement", answer.name),
    ))
}

/// An OFX amount: a plain decimal, with a point or a comma as its decimal separator.
fn amount(line: u64, field: &str, text: &str) -> Result<Decimal, CommandError> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let plain = if t.contains('.') { t.replace(',', "") } else { t.replace(',', ".") };
    Decimal::from_str(&plain).map(|d| d.normalize()).map_err(|_| bad(line, field, format!("{text:?} is not a number")))
}

/// The date of an OFX date-time: `YYYYMMDD`, then an optional time and zone.
fn date(line: u64, field: &str, text: &str) -> Result<NaiveDate, CommandError> {
    text.trim()
        .get(..8)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
        .ok_or_else(|| bad(line, field, format!("{text:?} is not an OFX date (YYYYMMDD, then an optional time)")))
}

/// An element of the file: a leaf with its value, or an aggregate with its children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    /// The line of its start tag.
    line: u64,
    value: Option<String>,
    children: Vec<Element>,
}

impl Element {
    fn children<'e, 'n>(&'e self, name: &'n str) -> impl Iterator<Item = &'e Element> + use<'e, 'n> {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children(name).next()
    }

    fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |e, name| e.child(name))
    }

    fn required_child(&self, name: &str) -> Result<&Element, CommandError> {
        self.child(name).ok_or_else(|| bad(self.line, name, format!("missing in <{}>", self.name)))
    }

    /// A leaf child's value (not empty) and its line.
    fn leaf(&self, name: &str) -> Option<(&str, u64)> {
        let child = self.child(name)?;
        child.value.as_deref().filter(|v| !v.is_empty()).map(|v| (v, child.line))
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.leaf(name).map(|(v, _)| v)
    }

    fn required(&self, name: &str) -> Result<(&str, u64), CommandError> {
        self.leaf(name).ok_or_else(|| bad(self.line, name, format!("missing in <{}>", self.name)))
    }

    fn decimal(&self, name: &str) -> Result<Option<Decimal>, CommandError> {
        self.leaf(name).map(|(v, line)| amount(line, name, v)).transpose()
    }

    fn required_decimal(&self, name: &str) -> Result<Decimal, CommandError> {
        let (v, line) = self.required(name)?;
        amount(line, name, v)
    }

    fn date(&self, name: &str) -> Result<Option<NaiveDate>, CommandError> {
        self.leaf(name).map(|(v, line)| date(line, name, v)).transpose()
    }

    fn required_date(&self, name: &str) -> Result<NaiveDate, CommandError> {
        let (v, line) = self.required(name)?;
        date(line, name, v)
    }
}

/// Reads the file's elements (under a nameless document element), SGML or XML: the header
/// (1.x `KEY:VALUE` lines, 2.x processing instructions), comments and declarations are passed
/// over.
fn document(text: &str) -> Result<Element, CommandError> {
    // The elements open now, the document first.
    let mut open = vec![Element::default()];
    let mut line = 1;
    let mut rest = text;
    while !rest.is_empty() {
        if rest.starts_with("<?") || rest.starts_with("<!") {
            let end = if rest.starts_with("<!--") {
                "-->"
            } else if rest.starts_with("<?") {
                "?>"
            } else {
                ">"
            };
            let len = rest.find(end).map_or(rest.len(), |i| i + end.len());
            line += newlines(&rest[..len]);
            rest = &rest[len..];
        } else if rest.starts_with('<') {
            let at = line;
            let end = rest.find('>').ok_or_else(|| bad(at, "tag", "a tag that never ends (no >)"))?;
            let tag = &rest[1..end];
            line += newlines(tag);
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                close(&mut open, &name.trim().to_ascii_uppercase(), at)?;
            } else {
                let name = tag.trim_end_matches('/').split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                if name.is_empty() {
                    return Err(bad(at, "tag", format!("<{tag}> has no element name")));
                }
                end_leaf(&mut open);
                let element = Element { name, line: at, ..Element::default() };
                if tag.ends_with('/') {
                    attach(&mut open, element);
                } else {
                    open.push(element);
                }
            }
        } else {
            let len = rest.find('<').unwrap_or(rest.len());
            let value = rest[..len].trim();
            line += newlines(&rest[..len]);
            rest = &rest[len..];
            // A value belongs to the element just opened; text outside every element (the 1.x
            // header) or between an aggregate's children is not a value.
            let inside = open.len() > 1;
            let top = open.last_mut().expect("the document");
            if inside && !value.is_empty() && top.children.is_empty() && top.value.is_none() {
                top.value = Some(unescape(value));
            }
        }
    }
    // A leaf needs no end tag; an aggregate does: one left open means the file was cut short.
    if let Some(cut) = open[1..].iter().find(|e| !e.children.is_empty()) {
        return Err(bad(cut.line, &cut.name, format!("<{}> is never closed: the file ends inside it", cut.name)));
    }
    while open.len() > 1 {
        let leaf = open.pop().expect("more than the document");
        attach(&mut open, leaf);
    }
    Ok(open.pop().expect("the document"))
}

fn attach(open: &mut [Element], element: Element) {
    open.last_mut().expect("the document").children.push(element);
}

/// A leaf with a value ends where the next tag starts (SGML leaves have no end tag).
fn end_leaf(open: &mut Vec<Element>) {
    if open.len() > 1 && open.last().is_some_and(|e| e.value.is_some()) {
        let leaf = open.pop().expect("more than the document");
        attach(open, leaf);
    }
}

/// Closes the open element `name`: those opened after it and still open are leaves without an
/// end tag, and what followed an empty one (`<MEMO>` then `<UNITS>`) belongs to its parent.
fn close(open: &mut Vec<Element>, name: &str, line: u64) -> Result<(), CommandError> {
    if !open[1..].iter().any(|e| e.name == name) {
        return Err(bad(line, name, format!("</{name}> closes no open <{name}>")));
    }
    loop {
        let mut element = open.pop().expect("an open element of that name");
        if element.name == name {
            attach(open, element);
            return Ok(());
        }
        let after = std::mem::take(&mut element.children);
        attach(open, element);
        open.last_mut().expect("the document").children.extend(after);
    }
}

/// Line breaks: `\n`, `\r\n` or a lone `\r`.
fn newlines(text: &str) -> u64 {
    let b = text.as_bytes();
    let breaks = b.iter().enumerate().filter(|(i, c)| **c == b'\n' || (**c == b'\r' && b.get(i + 1) != Some(&b'\n')));
    breaks.count() as u64
}

/// Decodes the character references of a value.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16).ok())
                    .unwrap_or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use domain::ledger::RowInput;

    use super::super::broker::Broker;
    use super::*;

    const V1: &str = include_str!("../../../examples/brokers/ofx-investment-v1.ofx");
    const V2: &str = include_str!("../../../examples/brokers/ofx-investment-v2.ofx");

    /// A row as `date action symbol quantity price fees id [ratio]`.
    fn brief(r: &RowInput) -> String {
        let ratio = r.ratio.map(|r| format!(" {}:{}", r.new, r.old)).unwrap_or_default();
        format!(
            "{} {} {} {} {} {} {}{ratio}",
            r.trade_date,
            r.action.as_str(),
            r.symbol.as_deref().unwrap_or("-"),
            r.quantity,
            r.price,
            r.fees,
            r.identity.as_deref().unwrap_or("-")
        )
    }

    /// The line of the file where `text` first appears.
    fn line_of(file: &str, text: &str) -> u64 {
        file[..file.find(text).unwrap()].matches('\n').count() as u64 + 1
    }

    #[test]
    fn both_samples_map_to_the_same_rows_oldest_first() {
        let expected = [
            "2025-01-02 deposit - 1 50000 0 id:example.com/000012345/B-0102-1",
            "2025-01-03 buy ACME 100 45.2 4.95 id:example.com/000012345/T-0103-1",
            "2025-01-06 buy VFIAX 20 500 0 id:example.com/000012345/T-0106-1",
            "2025-01-10 buy VTI 10 280.5 0 id:example.com/000012345/T-0110-1",
            "2025-01-15 transfer_in 99999AAB7 50 10 0 id:example.com/000012345/X-0115-1",
            "2025-03-20 dividend ACME 1 25 0 id:example.com/000012345/D-0320-1",
            "2025-03-27 dividend VFIAX 1 156.6 0 id:example.com/000012345/R-0327-1:income",
            "2025-03-27 buy VFIAX 0.3 522 0 id:example.com/000012345/R-0327-1",
            "2025-03-31 interest - 1 12.34 0 id:example.com/000012345/B-0331-1",
            "2025-03-31 fee - 1 25 0 id:example.com/000012345/B-0331-2",
            "2025-04-10 split ACME 0 0 0 id:example.com/000012345/S-0410-1 2:1",
            "2025-04-15 sell ACME 50 24.1 4.97 id:example.com/000012345/T-0415-1",
            "2025-04-22 sell VFIAX 5 530 0 id:example.com/000012345/T-0422-1",
            "2025-04-30 dividend VFIAX 1 40 0 id:example.com/000012345/D-0430-1",
            "2025-05-01 withdrawal - 1 1000 0 id:example.com/000012345/B-0501-1",
        ];
        let mut read = Vec::new();
        for file in [V1, V2] {
            assert!(recognizes(file.as_bytes()));
            let c = parse(file.as_bytes(), "Brokerage", Some("taxable"), false).unwrap();
            assert_eq!(c.skipped, []);
            assert_eq!(c.rows.iter().map(brief).collect::<Vec<_>>(), expected);
            read.push(c.rows);
        }
        let (v1, v2) = (&read[0], &read[1]);
        assert_eq!(v1[0].line, line_of(V1, "<INVBANKTRAN>"), "each row names the line of its transaction");
        assert_eq!(v2[0].line, line_of(V2, "<INVBANKTRAN>"));
        let unlined = |rows: &[RowInput]| rows.iter().map(|r| RowInput { line: 0, ..r.clone() }).collect::<Vec<_>>();
        assert_eq!(unlined(v1), unlined(v2), "SGML and XML read alike, descriptions and dates included");

        assert_eq!(v1[0].account_type.map(|t| t.as_str()), Some("taxable"), "the first row opens the account");
        assert!(v1[1..].iter().all(|r| r.account_type.is_none() && r.account == "Brokerage"));
        let description = |i: usize| v1[i].description.as_deref().unwrap();
        assert_eq!(description(0), "INVBANKTRAN CREDIT: ACH DEPOSIT, FROM CHECKING & SAVINGS ...6789");
        assert_eq!(description(1), "BUYSTOCK: BOUGHT 100 ACME WIDGETS INC");
        assert_eq!(description(2), "BUYMF: VANGUARD 500 INDEX FUND ADMIRAL", "no MEMO: the security's name");
        assert_eq!(description(4), "TRANSFER IN: TRANSFER OF ASSETS RECEIVED");
        assert_eq!(description(6), "REINVEST DIV: DIVIDEND REINVESTMENT");
        assert_eq!(description(13), "INCOME CGLONG (long-term capital gain distribution): LONG TERM CAP GAIN");
        assert!(v1.iter().all(|r| !r.description.as_deref().unwrap().to_lowercase().contains("qualified")));
        let settle = |i: usize| v1[i].settlement_date.map(|d| d.to_string());
        assert_eq!((settle(1), settle(11), settle(5)), (Some("2025-01-06".into()), Some("2025-04-16".into()), None));
    }

    #[test]
    fn sgml_leaves_without_end_tags_parse_however_they_are_written() {
        // One line, as many 1.x files are: leaves closed or not, an empty <MEMO> directly
        // followed by a sibling, lower-case names, a comma decimal separator, a Latin-1 byte.
        let file = b"OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\n\r\n<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS>\
<INVSTMTRS><INVTRANLIST><BUYSTOCK><INVBUY><INVTRAN><FITID>A-1</FITID><MEMO><DTTRADE>20250203</INVTRAN>\
<secid><uniqueid>921937835<uniqueidtype>CUSIP</secid><UNITS>10</UNITS><UNITPRICE>12,50<FEES>0,25\
<TOTAL>-125,25</INVBUY><BUYTYPE>BUY</BUYSTOCK><INVBANKTRAN><STMTTRN><TRNTYPE>DEP<DTPOSTED>20250131\
<TRNAMT>1000<FITID>A-0<NAME>D\xe9p\xf4t</STMTTRN></INVBANKTRAN></INVTRANLIST></INVSTMTRS></INVSTMTTRNRS>\
</INVSTMTMSGSRSV1></OFX>";
        assert!(recognizes(file));
        let rows = parse(file, "Brokerage", Some("taxable"), false).unwrap().rows;
        assert_eq!(
            rows.iter().map(brief).collect::<Vec<_>>(),
            ["2025-01-31 deposit - 1 1000 0 id://A-0", "2025-02-03 buy 921937835 10 12.5 0.25 id://A-1"],
            "no security list: the CUSIP is the symbol"
        );
        assert_eq!(rows[0].description.as_deref(), Some("INVBANKTRAN DEP: D\u{e9}p\u{f4}t"));
        assert_eq!((rows[0].line, rows[1].line), (5, 5));
        assert_eq!(rows[1].description.as_deref(), Some("BUYSTOCK"), "the empty MEMO");
    }

    #[test]
    fn an_unknown_transaction_stops_the_file_or_is_skipped_and_listed() {
        let option = "<BUYOPT>\n<INVBUY>\n<INVTRAN>\n<FITID>O-1\n<DTTRADE>20250305\n</INVTRAN>\n</INVBUY>\n\
<OPTBUYTYPE>BUYTOOPEN\n<SHPERCTRCT>100\n</BUYOPT>\n";
        let file = V1.replacen("<INCOME>", &format!("{option}<INCOME>"), 1);
        let line = line_of(&file, "<BUYOPT>");
        let e = parse(file.as_bytes(), "Brokerage", None, false).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "line {line}: INVTRANLIST: <BUYOPT> is not a transaction the OFX mapping records; --skip-unknown skips such entries"
            )
        );
        let c = parse(file.as_bytes(), "Brokerage", None, true).unwrap();
        assert_eq!(c.rows.len(), 15);
        assert_eq!((c.skipped[0].line, c.skipped[0].action.as_str()), (line, "BUYOPT"));

        let misc = V1.replace("<INCOMETYPE>CGLONG", "<INCOMETYPE>MISC");
        let line = line_of(&misc, "<INCOME>\n<INVTRAN>\n<FITID>D-0430-1");
        let e = parse(misc.as_bytes(), "Brokerage", None, false).unwrap_err().to_string();
        assert!(e.starts_with(&format!("line {line}: INCOMETYPE: <INCOME> of INCOMETYPE \"MISC\"")), "{e}");
        let c = parse(misc.as_bytes(), "Brokerage", None, true).unwrap();
        assert_eq!((c.rows.len(), c.skipped[0].action.as_str()), (14, "INCOME MISC"));

        let short = V1.replace("<SELLTYPE>SELL\n</SELLSTOCK>", "<SELLTYPE>SELLSHORT\n</SELLSTOCK>");
        let e = parse(short.as_bytes(), "Brokerage", None, false).unwrap_err().to_string();
        assert!(e.contains("SELLTYPE: <SELLSTOCK> of SELLTYPE \"SELLSHORT\" (a short position)"), "{e}");
    }

    #[test]
    fn errors_statements_of_other_kinds_and_bad_values_are_refused() {
        let error = V1.replacen("<CODE>0\n<SEVERITY>INFO", "<CODE>15500\n<SEVERITY>ERROR\n<MESSAGE>Signon invalid", 1);
        assert_eq!(
            parse(error.as_bytes(), "B", None, false).unwrap_err().to_string(),
            "line 14: STATUS: the institution answered <SONRS> with an error (code 15500: Signon invalid), not a statement"
        );
        let bank = "<?xml version=\"1.0\"?><?OFX OFXHEADER=\"200\" VERSION=\"220\"?>\n<OFX><BANKMSGSRSV1><STMTTRNRS>\
<STMTRS><CURDEF>USD</CURDEF></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>";
        assert!(recognizes(bank.as_bytes()));
        assert!(parse(bank.as_bytes(), "B", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 2: INVSTMTRS: the file holds no investment statement"));
        let refund = V1.replace("<TRNAMT>-25.00", "<TRNAMT>25.00");
        assert_eq!(
            parse(refund.as_bytes(), "B", None, false).unwrap_err().to_string(),
            format!(
                "line {}: TRNAMT: \"25.00\" is money in; a TRNTYPE FEE entry is money out",
                line_of(&refund, "<TRNAMT>25.00")
            )
        );
        let price = V1.replace("<UNITPRICE>24.10", "<UNITPRICE>24.1O");
        assert_eq!(
            parse(price.as_bytes(), "B", None, false).unwrap_err().to_string(),
            format!("line {}: UNITPRICE: \"24.1O\" is not a number", line_of(&price, "<UNITPRICE>24.1O"))
        );
        let cut = &V2[..V2.find("</INVTRANLIST>").unwrap()];
        assert!(parse(cut.as_bytes(), "B", None, false).unwrap_err().to_string().contains("is never closed"));
    }

    #[test]
    fn cash_in_lieu_of_a_fraction_is_the_splits_price() {
        let file = V1.replace(
            "<OLDUNITS>100\n<NEWUNITS>200\n<NUMERATOR>2\n<DENOMINATOR>1",
            "<OLDUNITS>100\n<NEWUNITS>66\n<NUMERATOR>2\n<DENOMINATOR>3\n<FRACCASH>16.00",
        );
        let rows = parse(file.as_bytes(), "B", None, false).unwrap().rows;
        let split = rows.iter().find(|r| r.action.as_str() == "split").unwrap();
        assert_eq!(
            brief(split),
            "2025-04-10 split ACME 0 24 0 id:example.com/000012345/S-0410-1 2:3",
            "66.67 shares: 2/3 of one at 24"
        );
    }

    #[test]
    fn only_ofx_is_recognized() {
        assert!(recognizes(V1.as_bytes()) && recognizes(V2.as_bytes()));
        assert!(recognizes(format!("\u{feff}{V1}").as_bytes()));
        for file in [V1, V2] {
            assert_eq!(Broker::recognize(file.as_bytes()), Some(Broker::Ofx), "no other format claims it");
        }
        assert!(!recognizes(include_bytes!("../../../examples/brokers/schwab-transactions.csv")));
        assert!(!recognizes(b"trade_date,account,account_type,action,symbol,quantity,price,fees\n"));
        assert!(parse(b"trade_date,account\n", "B", None, false).unwrap_err().to_string().contains("no <OFX> element"));
    }
}
