//! ESG and impact analytics over provider data: carbon metrics ([`carbon`]: TCFD's weighted
//! average carbon intensity, PCAF financed emissions, footprint and data quality, SBTi
//! portfolio temperature scores and carbon value at risk), screens ([`screen`]: exclusions,
//! best-in-class, thematic minimums), an ESG-tilted mean-variance optimiser with its frontier
//! ([`optimise`]) and an impact report ([`impact_report`]). Every request takes its companies
//! as JSON (`companies`) or as a provider CSV file (`companies_csv`, the format of
//! [`provider`]).
//!
//! # Definitions
//!
//! All money is in one currency ("dollars"); emissions are tCO2e a year. With holding values
//! Vᵢ, portfolio value V = ΣVᵢ and weights wᵢ = Vᵢ/V:
//!
//! - WACI (TCFD, 2017 Implementing the Recommendations, table 2) = Σ wᵢ·Eᵢ/(Rᵢ/10⁶), tCO2e per
//!   $M of revenue, re-weighted over the holdings that have both emissions and revenue.
//! - Financed emissions (PCAF, The Global GHG Accounting and Reporting Standard Part A, 2nd
//!   ed. 2022, listed equity and corporate bonds) = Σ Aᵢ·Eᵢ with the attribution factor
//!   Aᵢ = Vᵢ/EVICᵢ (or Vᵢ/(debtᵢ + equityᵢ) without EVIC); the economic emissions intensity
//!   (TCFD's carbon footprint) is financed emissions per $M invested over the covered holdings;
//!   TCFD's carbon intensity is financed emissions per $M of financed revenue ΣAᵢRᵢ; the data
//!   quality is the value-weighted PCAF score.
//! - Temperature scores: company scores (reported, or the 3.2 °C default) per time frame and
//!   scope, aggregated as the SBTi finance tool does (WATS, TETS, MOTS, EOTS, ECOTS, AOTS, ROTS;
//!   see [`temperature`]).
//! - Carbon VaR: the present value of each company's carbon cost Σₜ pₜ·E·(1+g)^(t−1)·(1−π)/(1+r)^t
//!   (scope 1, plus scope 2 by default) as a share of its market cap (capped at 1), times the
//!   holding's value.

pub mod carbon;
pub mod data;
pub mod optimise;
pub mod provider;
pub mod report;
pub mod screen;
pub mod temperature;

pub use carbon::{carbon, CarbonPrice, CarbonRequest, CarbonResult, Covered, HoldingCarbon, Scopes};
pub use data::{Company, Emissions, EsgScores, Holding, SdgShare, TemperatureEntry, TemperatureScope, TimeFrame};
pub use optimise::{
    optimise, optimise_with, EsgPortfolio, FactorModel, OptimiseRequest, OptimiseResult, SectorCap, VarianceForm,
};
pub use provider::{parse_companies_csv, CsvError, Universe};
pub use report::{impact_report, ImpactReport, ImpactRequest, WeightedScores, TCO2E_PER_CAR_YEAR};
pub use screen::{screen, BestInClass, Exclusion, ScoreKind, ScreenRequest, ScreenResult, ThemeCheck, ThemeMinimum};
pub use temperature::{AggregationMethod, TemperatureOptions, TemperatureResult, DEFAULT_SCORE};
