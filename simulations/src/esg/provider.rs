//! The provider CSV file: a universe of companies as an ESG data provider delivers it, one row
//! per company, read whole before anything is computed, so a bad cell refuses the entire file
//! with `line N, column C: <problem>` (lines numbered as a text editor numbers them).
//!
//! # Format
//!
//! A header row names the columns, in any order, matched ignoring case; `id` is required, every
//! other column is optional, and a column not listed here, or one named twice, refuses the
//! file. Blank lines and lines starting with `#` are skipped; a cell may be quoted
//! (`"Acme, Inc."`); an empty cell is a value not reported. Every row has as many cells as the
//! header.
//!
//! | column | value | [`Company`] field |
//! |---|---|---|
//! | `id` | ticker, ISIN or the provider's id; not empty, unique in the file | `id` |
//! | `name` | display name | `name` |
//! | `sector` | any classification, compared exactly | `sector` |
//! | `e_score`, `s_score`, `g_score`, `esg_score` | 0-100, all four or none | `scores` |
//! | `controversy` | whole number 0-5 | `controversy` |
//! | `norms_violation` | `true`/`false`, `yes`/`no`, `1`/`0`; false when empty | `norms_violation` |
//! | `revenue` | dollars a year | `revenue` |
//! | `scope1`, `scope2`, `scope3` | tCO2e a year | `emissions` |
//! | `evic` | enterprise value including cash, dollars | `evic` |
//! | `total_debt`, `total_equity` | dollars | `total_debt`, `total_equity` |
//! | `market_cap`, `enterprise_value`, `cash`, `total_assets` | dollars | the same |
//! | `sdg` | `GOAL:SHARE` pairs separated by `;`, goal 1-17 with or without `SDG` | `sdg` |
//! | `themes` | names separated by `;` | `themes` |
//! | `temperature` | `TIME_FRAME/SCOPE:°C` separated by `;` | `temperature` |
//! | `pcaf_quality` | whole number 1-5 | `pcaf_quality` |
//!
//! Amounts are plain decimal numbers (`1250000`, `1.25e6`; no thousands separators or currency
//! signs), in one currency for the whole file, like the JSON request's. List cells: `sdg`
//! `SDG7:0.25;SDG13:0.10` (shares of revenue, 0-1, summing to at most 1); `themes`
//! `clean_energy;water` (each trimmed; empty pieces are skipped); `temperature`
//! `short/S1S2:1.8;mid/S1S2S3:2.1`, the time frame `short`, `mid` or `long` and the scope
//! `S1S2`, `S3` or `S1S2S3` (ignoring case). Each row is then checked as a JSON company is
//! ([`super::data::validate_company`]); a refusal names the row's line and the column.
//!
//! ```text
//! id,name,sector,e_score,s_score,g_score,esg_score,controversy,revenue,scope1,scope2,evic,sdg,themes
//! SUNW,Sunwind Power,utilities,82,71,77,76,1,12000000000,90000,10000,25000000000,SDG7:0.8,clean_energy
//! OILX,Oilex,energy,25,40,55,38,4,50000000000,40000000,3000000,60000000000,,
//! ```

use std::collections::HashMap;
use std::fmt;

use super::data::{
    validate_company, Company, Emissions, EsgScores, SdgShare, TemperatureEntry, TemperatureScope, TimeFrame,
    MAX_COMPANIES,
};
use crate::{invalid, SimError};

/// Every column the format knows, in the order of the documentation.
pub const COLUMNS: [&str; 24] = [
    "id",
    "name",
    "sector",
    "e_score",
    "s_score",
    "g_score",
    "esg_score",
    "controversy",
    "norms_violation",
    "revenue",
    "scope1",
    "scope2",
    "scope3",
    "evic",
    "total_debt",
    "total_equity",
    "market_cap",
    "enterprise_value",
    "cash",
    "total_assets",
    "sdg",
    "themes",
    "temperature",
    "pcaf_quality",
];

/// Why a provider file was refused: the line (1 for the header) and, for a cell, its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// The line, counted from 1 as a text editor counts them.
    pub line: u64,
    /// The column of the cell at fault; none for the header or a whole row.
    pub column: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

impl std::error::Error for CsvError {}

impl From<CsvError> for SimError {
    /// A file sent in a request's `companies_csv`.
    fn from(e: CsvError) -> Self {
        invalid("companies_csv", e)
    }
}

fn at(line: u64, column: Option<&str>, problem: impl Into<String>) -> CsvError {
    CsvError { line, column: column.map(str::to_owned), problem: problem.into() }
}

/// Where each line of the text ends, to number records by their first byte
/// ([`domain::lines::LineIndex`]).
struct Lines<'t>(domain::lines::LineIndex<'t>);

impl<'t> Lines<'t> {
    fn of(text: &'t str) -> Self {
        Self(domain::lines::LineIndex::of(text.as_bytes()))
    }

    fn at(&self, offset: u64) -> u64 {
        self.0.at(offset)
    }

    fn of_record(&self, record: &csv::StringRecord) -> u64 {
        record.position().map_or(1, |p| self.at(p.byte()))
    }

    fn error(&self, e: &csv::Error) -> CsvError {
        let line = e.position().map_or(1, |p| self.at(p.byte()));
        match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                at(line, None, format!("the row has {len} cells; the header has {expected_len}"))
            }
            csv::ErrorKind::Utf8 { .. } => at(line, None, "not valid UTF-8"),
            _ => at(line, None, e.to_string()),
        }
    }
}

/// Reads a provider CSV file (the format above) into companies, in the file's order: every
/// row parsed and checked, ids unique, at most [`MAX_COMPANIES`] rows and at least one.
pub fn parse_companies_csv(text: &str) -> Result<Vec<Company>, CsvError> {
    let lines = Lines::of(text);
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).comment(Some(b'#')).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| lines.error(&e))?.clone();
    let header_line = lines.of_record(&headers);
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.to_lowercase();
        if !COLUMNS.contains(&name.as_str()) {
            return Err(at(
                header_line,
                None,
                format!("unknown column {h:?} (the columns are {})", COLUMNS.join(", ")),
            ));
        }
        if index.insert(name, i).is_some() {
            return Err(at(header_line, None, format!("column {h:?} appears twice")));
        }
    }
    if !index.contains_key("id") {
        return Err(at(header_line, None, "missing column \"id\""));
    }
    let mut companies: Vec<Company> = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(lines.error(&e)),
        }
        let line = lines.of_record(&record);
        if companies.len() == MAX_COMPANIES {
            return Err(at(line, None, format!("at most {MAX_COMPANIES} companies (rows) in a file")));
        }
        let get = |c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or("");
        let company = row(line, &get)?;
        if let Some(first) = first_line.get(&company.id) {
            return Err(at(line, Some("id"), format!("{:?} appears again (first on line {first})", company.id)));
        }
        first_line.insert(company.id.clone(), line);
        companies.push(company);
    }
    if companies.is_empty() {
        return Err(at(header_line + 1, None, "the file has a header but no rows"));
    }
    Ok(companies)
}

/// One row: each cell parsed, then the company checked as a JSON one is.
fn row<'r>(line: u64, get: &dyn Fn(&str) -> &'r str) -> Result<Company, CsvError> {
    let cell = |c: &str| Some(get(c)).filter(|v| !v.is_empty());
    let bad = |c: &str, problem: String| at(line, Some(c), problem);
    let number = |c: &str| -> Result<Option<f64>, CsvError> {
        cell(c)
            .map(|v| match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(bad(c, format!("not a number: {v:?}"))),
            })
            .transpose()
    };
    let whole = |c: &str| -> Result<Option<u8>, CsvError> {
        cell(c).map(|v| v.parse::<u8>().map_err(|_| bad(c, format!("not a whole number 0-255: {v:?}")))).transpose()
    };
    let id = get("id");
    if id.is_empty() {
        return Err(bad("id", "must not be empty".into()));
    }
    let pillars = ["e_score", "s_score", "g_score", "esg_score"];
    let values = [number(pillars[0])?, number(pillars[1])?, number(pillars[2])?, number(pillars[3])?];
    let scores = match values {
        [Some(environmental), Some(social), Some(governance), Some(total)] => {
            Some(EsgScores { environmental, social, governance, total })
        }
        [None, None, None, None] => None,
        _ => {
            let k = values.iter().position(Option::is_none).expect("one score is missing");
            return Err(bad(
                pillars[k],
                "missing: a row gives all four of e_score, s_score, g_score and esg_score, or none".into(),
            ));
        }
    };
    let norms_violation = match cell("norms_violation").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "no" | "0") => false,
        Some("true" | "yes" | "1") => true,
        Some(_) => {
            return Err(bad(
                "norms_violation",
                format!("not true or false (yes/no, 1/0): {:?}", get("norms_violation")),
            ))
        }
    };
    let (scope1, scope2, scope3) = (number("scope1")?, number("scope2")?, number("scope3")?);
    let emissions =
        (scope1.is_some() || scope2.is_some() || scope3.is_some()).then_some(Emissions { scope1, scope2, scope3 });
    let pieces = |c: &str| get(c).split(';').map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<&str>>();
    let mut sdg = Vec::new();
    for piece in pieces("sdg") {
        let (goal, share) =
            piece.split_once(':').ok_or_else(|| bad("sdg", format!("not GOAL:SHARE (SDG7:0.25): {piece:?}")))?;
        let digits = goal.trim();
        let digits = match digits.get(..3) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sdg") => &digits[3..],
            _ => digits,
        };
        let goal = digits.trim().parse::<u8>().map_err(|_| bad("sdg", format!("not a goal 1-17: {goal:?}")))?;
        let share = share.trim();
        let share = match share.parse::<f64>() {
            Ok(x) if x.is_finite() => x,
            _ => return Err(bad("sdg", format!("not a number: {share:?} (in {piece:?})"))),
        };
        sdg.push(SdgShare { goal, share });
    }
    let mut temperature = Vec::new();
    for piece in pieces("temperature") {
        let shape = || bad("temperature", format!("not TIME_FRAME/SCOPE:SCORE (mid/S1S2:2.1): {piece:?}"));
        let (key, score) = piece.split_once(':').ok_or_else(shape)?;
        let (tf, scope) = key.split_once('/').ok_or_else(shape)?;
        let time_frame = match tf.trim().to_ascii_lowercase().as_str() {
            "short" => TimeFrame::Short,
            "mid" => TimeFrame::Mid,
            "long" => TimeFrame::Long,
            _ => return Err(bad("temperature", format!("not a time frame (short, mid, long): {:?}", tf.trim()))),
        };
        let scope = match scope.trim().to_ascii_uppercase().as_str() {
            "S1S2" => TemperatureScope::S1S2,
            "S3" => TemperatureScope::S3,
            "S1S2S3" => TemperatureScope::S1S2S3,
            _ => return Err(bad("temperature", format!("not a scope (S1S2, S3, S1S2S3): {:?}", scope.trim()))),
        };
        let score = match score.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => x,
            _ => return Err(bad("temperature", format!("not a number: {:?} (in {piece:?})", score.trim()))),
        };
        temperature.push(TemperatureEntry { time_frame, scope, score });
    }
    let company = Company {
        id: id.to_owned(),
        name: cell("name").map(str::to_owned),
        sector: cell("sector").map(str::to_owned),
        scores,
        controversy: whole("controversy")?,
        norms_violation,
        revenue: number("revenue")?,
        emissions,
        evic: number("evic")?,
        total_debt: number("total_debt")?,
        total_equity: number("total_equity")?,
        market_cap: number("market_cap")?,
        enterprise_value: number("enterprise_value")?,
        cash: number("cash")?,
        total_assets: number("total_assets")?,
        sdg,
        themes: pieces("themes").into_iter().map(str::to_owned).collect(),
        temperature,
        pcaf_quality: whole("pcaf_quality")?,
    };
    validate_company(&company).map_err(|(field, problem)| bad(column_of(&field), problem))?;
    Ok(company)
}

/// The column that holds a company's field (`emissions.scope1` → `scope1`, `sdg[2].share` →
/// `sdg`).
fn column_of(field: &str) -> &str {
    let base = field.split(['[', '.']).next().unwrap_or(field);
    match field {
        "scores.environmental" => "e_score",
        "scores.social" => "s_score",
        "scores.governance" => "g_score",
        "scores.total" => "esg_score",
        f if f.starts_with("emissions.") => &f["emissions.".len()..],
        _ => base,
    }
}

/// Where a request's companies come from: `companies` as JSON or `companies_csv` as a provider
/// file, not both, and at least one company.
pub fn universe<'a>(companies: &'a [Company], csv: Option<&str>) -> Result<std::borrow::Cow<'a, [Company]>, SimError> {
    match csv {
        Some(_) if !companies.is_empty() => {
            Err(invalid("companies_csv", "give the companies either as companies or as companies_csv, not both"))
        }
        Some(text) => Ok(std::borrow::Cow::Owned(parse_companies_csv(text)?)),
        None if companies.is_empty() => {
            Err(invalid("companies", "missing: give the companies as companies (JSON) or companies_csv (CSV)"))
        }
        None => Ok(std::borrow::Cow::Borrowed(companies)),
    }
}

/// A request that carries a universe of companies, as JSON (`companies`) or as a provider CSV
/// file (`companies_csv`).
pub trait Universe {
    /// The companies given as JSON.
    fn companies_mut(&mut self) -> &mut Vec<Company>;
    /// The provider file given as text.
    fn companies_csv_mut(&mut self) -> &mut Option<String>;
}

macro_rules! universe {
    ($($t:ty),*) => {$(
        impl Universe for $t {
            fn companies_mut(&mut self) -> &mut Vec<Company> {
                &mut self.companies
            }
            fn companies_csv_mut(&mut self) -> &mut Option<String> {
                &mut self.companies_csv
            }
        }
    )*};
}

universe!(super::CarbonRequest, super::ScreenRequest, super::OptimiseRequest, super::ImpactRequest);

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "id,name,sector,e_score,s_score,g_score,esg_score,revenue,scope1,scope2,scope3,sdg,themes,temperature";

    fn refused(text: &str) -> String {
        parse_companies_csv(text).expect_err("refused").to_string()
    }

    #[test]
    fn reads_every_column_into_the_company() {
        let text = "\u{feff}ID,Name,sector,e_score,s_score,g_score,esg_score,controversy,norms_violation,revenue,scope1,\
                    scope2,scope3,evic,total_debt,total_equity,market_cap,enterprise_value,cash,total_assets,sdg,themes,\
                    temperature,pcaf_quality\r\n\
                    A,\"Acme, Inc.\",utilities,40,50,60,52,3,Yes,1e9,100,50,,2e9,1,2,3,4,5,6,SDG7:0.25; sdg13:0.1,\
                    clean energy;water;,short/s1s2:1.5;MID/S1S2S3:2.5,4\r\n";
        let c = parse_companies_csv(text).unwrap();
        let expected = Company {
            id: "A".into(),
            name: Some("Acme, Inc.".into()),
            sector: Some("utilities".into()),
            scores: Some(EsgScores { environmental: 40.0, social: 50.0, governance: 60.0, total: 52.0 }),
            controversy: Some(3),
            norms_violation: true,
            revenue: Some(1e9),
            emissions: Some(Emissions { scope1: Some(100.0), scope2: Some(50.0), scope3: None }),
            evic: Some(2e9),
            total_debt: Some(1.0),
            total_equity: Some(2.0),
            market_cap: Some(3.0),
            enterprise_value: Some(4.0),
            cash: Some(5.0),
            total_assets: Some(6.0),
            sdg: vec![SdgShare { goal: 7, share: 0.25 }, SdgShare { goal: 13, share: 0.1 }],
            themes: vec!["clean energy".into(), "water".into()],
            temperature: vec![
                TemperatureEntry { time_frame: TimeFrame::Short, scope: TemperatureScope::S1S2, score: 1.5 },
                TemperatureEntry { time_frame: TimeFrame::Mid, scope: TemperatureScope::S1S2S3, score: 2.5 },
            ],
            pcaf_quality: Some(4),
        };
        assert_eq!(c, vec![expected]);
        // Only the id is needed; every empty cell is a value not reported.
        let c = parse_companies_csv("id,revenue,scope3\nB,,\n").unwrap();
        assert_eq!(c, vec![Company { id: "B".into(), ..Default::default() }]);
        assert_eq!(parse_companies_csv("id,scope3\nB,7\n").unwrap()[0].scope3(), Some(7.0));
    }

    #[test]
    fn a_bad_cell_names_its_line_and_column() {
        // Comment and blank lines count as lines, as an editor counts them.
        let text = format!("# provider export\n{HEADER}\n\nA,,,1,2,3,4,10,abc,,,,,\n");
        assert_eq!(refused(&text), "line 4, column scope1: not a number: \"abc\"");
        let row = |cells: &str| refused(&format!("{HEADER}\n{cells}\n"));
        assert_eq!(
            row("A,,,1,2,,4,,,,,,,"),
            "line 2, column g_score: missing: a row gives all four of e_score, s_score, g_score and esg_score, or none"
        );
        assert_eq!(row("A,,,1,2,3,120,,,,,,,"), "line 2, column esg_score: must be between 0 and 100, got 120");
        assert_eq!(row("A,,,,,,,-5,,,,,,"), "line 2, column revenue: must be between 0 and 1e15, got -5");
        assert_eq!(row("A,,,,,,,,,,inf,,,"), "line 2, column scope3: not a number: \"inf\"");
        assert_eq!(
            row("A,,,,,,,,,,,SDG7:0.7;SDG8:0.6,,"),
            "line 2, column sdg: shares sum to 1.2999999999999998, above 1"
        );
        assert_eq!(row("A,,,,,,,,,,,SDG18:0.1,,"), "line 2, column sdg: must be 1 to 17, got 18");
        assert_eq!(row("A,,,,,,,,,,,7=0.1,,"), "line 2, column sdg: not GOAL:SHARE (SDG7:0.25): \"7=0.1\"");
        assert_eq!(row("A,,,,,,,,,,,a€:0.1,,"), "line 2, column sdg: not a goal 1-17: \"a€\"");
        assert_eq!(
            row("A,,,,,,,,,,,,,mid:2"),
            "line 2, column temperature: not TIME_FRAME/SCOPE:SCORE (mid/S1S2:2.1): \"mid:2\""
        );
        assert_eq!(
            row("A,,,,,,,,,,,,,soon/S1S2:2"),
            "line 2, column temperature: not a time frame (short, mid, long): \"soon\""
        );
        assert_eq!(row("A,,,,,,,,,,,,,mid/S1:2"), "line 2, column temperature: not a scope (S1S2, S3, S1S2S3): \"S1\"");
        assert_eq!(row("A,,,,,,,,,,,,,mid/S1S2:12"), "line 2, column temperature: must be between 0 and 10 °C, got 12");
        assert_eq!(
            row("A,,,,,,,,,,,,,mid/S3:2;Mid/s3:3"),
            "line 2, column temperature: time frame and scope appear twice"
        );
        assert_eq!(row(",,,,,,,,,,,,,"), "line 2, column id: must not be empty");
        assert_eq!(row("A,,,,,,,,,"), "line 2: the row has 10 cells; the header has 14");
        assert_eq!(refused("id,controversy\nA,6\n"), "line 2, column controversy: must be 0 to 5, got 6");
        assert_eq!(refused("id,controversy\nA,-1\n"), "line 2, column controversy: not a whole number 0-255: \"-1\"");
        assert_eq!(refused("id,pcaf_quality\nA,0\n"), "line 2, column pcaf_quality: must be 1 to 5, got 0");
        assert_eq!(
            refused("id,norms_violation\nA,maybe\n"),
            "line 2, column norms_violation: not true or false (yes/no, 1/0): \"maybe\""
        );
    }

    #[test]
    fn the_header_and_the_ids_are_checked_before_anything_is_used() {
        assert!(refused("id,name,colour\nA,x,red\n")
            .starts_with("line 1: unknown column \"colour\" (the columns are id, name,"));
        assert_eq!(refused("id,Name,NAME\nA,x,y\n"), "line 1: column \"NAME\" appears twice");
        assert_eq!(refused("name,sector\nx,y\n"), "line 1: missing column \"id\"");
        assert_eq!(refused("id,name\n"), "line 2: the file has a header but no rows");
        assert_eq!(refused(""), "line 1: missing column \"id\"");
        assert_eq!(refused("id\nA\nB\n\nA\n"), "line 5, column id: \"A\" appears again (first on line 2)");
        let many: String =
            std::iter::once("id\n".to_owned()).chain((0..=MAX_COMPANIES).map(|i| format!("C{i}\n"))).collect();
        assert_eq!(refused(&many), format!("line {}: at most 5000 companies (rows) in a file", MAX_COMPANIES + 2));
    }

    #[test]
    fn any_text_is_read_or_refused_without_a_panic() {
        // Cells and separators a fuzzer would send: multi-byte letters where prefixes are cut,
        // quotes left open, lone carriage returns, comment marks, huge and odd numbers.
        let pieces = [
            "id",
            "sdg",
            "temperature",
            "themes",
            "esg_score",
            "scope1",
            ",",
            ";",
            ":",
            "/",
            "\"",
            "\n",
            "\r",
            "#",
            "€",
            "é",
            "SDG",
            "sdg€",
            "mid",
            "S1S2",
            "1e308",
            "-0",
            "NaN",
            "7",
            "0.5",
            " ",
            "\u{feff}",
            "é:0.1",
            "x",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..3000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            for k in 0..len {
                let pick = (state.rotate_left(5 * k as u32) % pieces.len() as u64) as usize;
                text.push_str(pieces[pick]);
            }
            if let Err(e) = parse_companies_csv(&text) {
                assert!(e.line >= 1, "{text:?}: {e}");
            }
            let _ = parse_companies_csv(&format!("id,sdg,temperature,themes\nA,{text}"));
        }
    }

    #[test]
    fn a_request_takes_its_companies_from_one_place() {
        let a = Company { id: "A".into(), ..Default::default() };
        assert_eq!(universe(std::slice::from_ref(&a), None).unwrap().len(), 1);
        assert_eq!(universe(&[], Some("id\nA\nB\n")).unwrap().len(), 2);
        let both = universe(std::slice::from_ref(&a), Some("id\nA\n")).unwrap_err();
        assert!(matches!(&both, SimError::Invalid { field, .. } if field == "companies_csv"), "{both}");
        let none = universe(&[], None).unwrap_err();
        assert!(matches!(&none, SimError::Invalid { field, .. } if field == "companies"), "{none}");
        let bad = universe(&[], Some("id,scope1\nA,x\n")).unwrap_err();
        assert_eq!(bad.to_string(), "companies_csv: line 2, column scope1: not a number: \"x\"");
    }
}
