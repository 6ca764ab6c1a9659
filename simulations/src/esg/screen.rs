//! Screens: exclusions, best-in-class by sector and thematic minimums.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::data::{validate_companies, validate_holdings, Company, Holding};
use super::provider::universe;
use crate::{invalid, SimError};

/// Which score ranks companies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// The overall ESG score.
    #[default]
    Total,
    /// The environmental pillar.
    Environmental,
    /// The social pillar.
    Social,
    /// The governance pillar.
    Governance,
    /// The SDG-aligned share of revenue × 100 (0-100).
    Sdg,
}

impl ScoreKind {
    /// The company's score on a 0-100 scale; none when not reported (SDG: 0 when none listed).
    pub fn of(self, c: &Company) -> Option<f64> {
        match self {
            ScoreKind::Total => c.scores.map(|s| s.total),
            ScoreKind::Environmental => c.scores.map(|s| s.environmental),
            ScoreKind::Social => c.scores.map(|s| s.social),
            ScoreKind::Governance => c.scores.map(|s| s.governance),
            ScoreKind::Sdg => Some(100.0 * c.sdg_total()),
        }
    }
}

/// Best-in-class selection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BestInClass {
    /// Share of each sector's companies to keep, (0, 1]: the top ⌈share·n⌉ by score.
    pub keep_share: f64,
    /// The ranking score; the total ESG score when absent.
    #[serde(default)]
    pub score: ScoreKind,
}

/// A thematic requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThemeMinimum {
    /// The theme, as in `companies[].themes`.
    pub theme: String,
    /// Least share of the portfolio's value (after exclusions), 0 to 1.
    pub min_share: f64,
}

/// A screening request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    /// The universe (up to 5,000 companies); may be left out when `companies_csv` lists them.
    #[serde(default)]
    pub companies: Vec<Company>,
    /// The companies as a provider CSV file instead of `companies`: a header row of named
    /// columns (`id` required), one row per company, as `cairn quant esg-carbon --help` and
    /// `simulations::esg::provider` describe; none when absent. A refusal names the line and
    /// the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companies_csv: Option<String>,
    /// Sectors excluded outright; none when absent.
    #[serde(default)]
    pub exclude_sectors: Vec<String>,
    /// Companies with a controversy level at or above this (0-5) are excluded; none when
    /// absent.
    #[serde(default)]
    pub controversy_threshold: Option<u8>,
    /// Whether companies flagged for breaching international norms are excluded; false when
    /// absent.
    #[serde(default)]
    pub exclude_norms_violations: bool,
    /// Least ESG score (0-100) by `best_in_class.score` or the total; none when absent.
    /// Companies without scores fail it.
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Best-in-class selection within each sector (companies without a sector form one group);
    /// none when absent.
    #[serde(default)]
    pub best_in_class: Option<BestInClass>,
    /// A portfolio to check the thematic minimums on (its holdings of excluded companies are
    /// dropped); none when absent.
    #[serde(default)]
    pub holdings: Option<Vec<Holding>>,
    /// Thematic minimums, checked on `holdings`; none when absent.
    #[serde(default)]
    pub themes: Vec<ThemeMinimum>,
}

/// A company excluded and why.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Exclusion {
    /// The company's id.
    pub id: String,
    /// Every reason that applies, in plain words.
    pub reasons: Vec<String>,
}

/// A thematic requirement checked.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ThemeCheck {
    /// The theme.
    pub theme: String,
    /// Its share of the screened portfolio's value, 0-1.
    pub share: f64,
    /// The required minimum.
    pub min_share: f64,
    /// Whether the minimum is met.
    pub met: bool,
}

/// The result of a screen.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScreenResult {
    /// Ids that pass, in the universe's order.
    pub passing: Vec<String>,
    /// Ids excluded with their reasons, in the universe's order.
    pub excluded: Vec<Exclusion>,
    /// Thematic checks, when holdings were given.
    pub themes: Vec<ThemeCheck>,
}

/// For each company, the reasons it fails the screen (empty when it passes).
pub(crate) fn reasons(req: &ScreenRequest, companies: &[Company]) -> Result<Vec<Vec<String>>, SimError> {
    validate_companies(companies)?;
    if req.exclude_sectors.len() > 1_000 {
        return Err(invalid("exclude_sectors", "at most 1,000 sectors"));
    }
    if let Some(t) = req.controversy_threshold {
        if t > 5 {
            return Err(invalid("controversy_threshold", format!("must be 0 to 5, got {t}")));
        }
    }
    if let Some(m) = req.min_score {
        if !(0.0..=100.0).contains(&m) {
            return Err(invalid("min_score", format!("must be 0 to 100, got {m}")));
        }
    }
    if let Some(b) = req.best_in_class {
        if !(b.keep_share > 0.0 && b.keep_share <= 1.0) {
            return Err(invalid(
                "best_in_class.keep_share",
                format!("must be above 0 and at most 1, got {}", b.keep_share),
            ));
        }
    }
    let kind = req.best_in_class.map(|b| b.score).unwrap_or_default();
    let mut out: Vec<Vec<String>> = vec![Vec::new(); companies.len()];
    for (i, c) in companies.iter().enumerate() {
        let r = &mut out[i];
        if let Some(s) = &c.sector {
            if req.exclude_sectors.iter().any(|x| x == s) {
                r.push(format!("sector {s:?} is excluded"));
            }
        }
        if let (Some(t), Some(level)) = (req.controversy_threshold, c.controversy) {
            if level >= t {
                r.push(format!("controversy level {level} is at or above {t}"));
            }
        }
        if req.exclude_norms_violations && c.norms_violation {
            r.push("breaches international norms".into());
        }
        if let Some(m) = req.min_score {
            match kind.of(c) {
                Some(s) if s >= m => {}
                Some(s) => r.push(format!("{kind:?} score {s} is below {m}")),
                None => r.push(format!("no {kind:?} score for the minimum of {m}")),
            }
        }
    }
    if let Some(b) = req.best_in_class {
        // Rank within each sector among the companies that passed so far.
        let mut sectors: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
        for (i, c) in companies.iter().enumerate() {
            if out[i].is_empty() {
                sectors.entry(c.sector.as_deref()).or_default().push(i);
            }
        }
        for (sector, mut members) in sectors {
            let keep = ((b.keep_share * members.len() as f64).ceil() as usize).max(1);
            members.sort_by(|&x, &y| {
                let (sx, sy) = (b.score.of(&companies[x]), b.score.of(&companies[y]));
                sy.partial_cmp(&sx).unwrap_or(std::cmp::Ordering::Equal).then(x.cmp(&y))
            });
            let n = members.len();
            for (rank, &i) in members.iter().enumerate() {
                let name = sector.unwrap_or("(no sector)");
                match b.score.of(&companies[i]) {
                    None => out[i].push(format!("no {:?} score to rank it in {name}", b.score)),
                    Some(s) if rank >= keep => out[i].push(format!(
                        "{:?} score {s} ranks {} of {n} in {name}, outside the top {keep}",
                        b.score,
                        rank + 1
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    Ok(out)
}

/// Screens the universe.
pub fn screen(req: &ScreenRequest) -> Result<ScreenResult, SimError> {
    let companies = universe(&req.companies, req.companies_csv.as_deref())?;
    let companies = &companies[..];
    let why = reasons(req, companies)?;
    let mut passing = Vec::new();
    let mut excluded = Vec::new();
    for (c, r) in companies.iter().zip(&why) {
        if r.is_empty() {
            passing.push(c.id.clone());
        } else {
            excluded.push(Exclusion { id: c.id.clone(), reasons: r.clone() });
        }
    }
    let mut themes = Vec::new();
    if req.themes.len() > 1_000 {
        return Err(invalid("themes", "at most 1,000 themes"));
    }
    for (k, t) in req.themes.iter().enumerate() {
        if !(0.0..=1.0).contains(&t.min_share) {
            return Err(invalid(format!("themes[{k}].min_share"), format!("must be 0 to 1, got {}", t.min_share)));
        }
    }
    match &req.holdings {
        Some(h) => {
            let index = validate_companies(companies)?;
            let (held, _) = validate_holdings(h, &index)?;
            let kept: Vec<(usize, f64)> = held.into_iter().filter(|&(i, _)| why[i].is_empty()).collect();
            let total: f64 = kept.iter().map(|&(_, v)| v).sum();
            for t in &req.themes {
                let v: f64 =
                    kept.iter().filter(|&&(i, _)| companies[i].themes.contains(&t.theme)).map(|&(_, v)| v).sum();
                let share = if total > 0.0 { v / total } else { 0.0 };
                themes.push(ThemeCheck {
                    theme: t.theme.clone(),
                    share,
                    min_share: t.min_share,
                    met: share >= t.min_share,
                });
            }
        }
        None if !req.themes.is_empty() => return Err(invalid("holdings", "thematic minimums need holdings")),
        None => {}
    }
    Ok(ScreenResult { passing, excluded, themes })
}
