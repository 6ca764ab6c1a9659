//! `POST /v1/quant/…`: the institutional calculators of `cairn quant`, one JSON request per
//! call (the CLI's JSON-lines request, whole), answered as the CLI answers a line. Nothing is
//! read from the store or recorded.

use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

use axum::extract::State;

use crate::http::auth::Principal;
use crate::http::problem::ProblemKind;
use crate::http::problem::{Body, Problem};
use crate::http::AppState;

/// Reads the request apart from the JSON so a value of the wrong kind is a 422 naming its
/// field, and computes it off the runtime's threads (`f` turns the engine's refusal into a 422
/// naming the field it names: [`refused`]).
async fn answer<Req, Resp>(
    body: serde_json::Value,
    f: impl FnOnce(Req) -> Result<Resp, Problem> + Send + 'static,
) -> Result<Json<Resp>, Problem>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
{
    let request: Req = serde_path_to_error::deserialize(body).map_err(|e| {
        let field = e.path().to_string();
        Problem::field(&field, format!("{field}: {}", e.into_inner()))
    })?;
    let result = tokio::task::spawn_blocking(move || f(request)).await.map_err(Problem::internal)?;
    result.map(Json)
}

/// The engine's refusal: a 422 naming the field it names.
fn refused(e: simulations::SimError) -> Problem {
    match &e {
        simulations::SimError::Invalid { field, .. } => Problem::field(field, e.to_string()),
    }
}

/// Reads a request's `companies_csv` (a provider CSV file) into its companies, so that a bad
/// file is a 422 naming `companies_csv` with the line (`line` member) and column.
fn read_companies_csv(request: &mut impl simulations::esg::Universe) -> Result<(), Problem> {
    let Some(text) = request.companies_csv_mut().take() else { return Ok(()) };
    if !request.companies_mut().is_empty() {
        return Err(Problem::field(
            "companies_csv",
            "companies_csv: give the companies either as companies or as companies_csv, not both",
        ));
    }
    let companies = simulations::esg::parse_companies_csv(&text)
        .map_err(|e| Problem::field("companies_csv", format!("companies_csv: {e}")).with("line", e.line))?;
    *request.companies_mut() = companies;
    Ok(())
}

/// A handler per calculator: `POST /v1/quant/{path}` answering `$f` of the request.
macro_rules! calculator {
    ($(#[$doc:meta])* $name:ident, $req:ty, $resp:ty, $f:path) => {
        $(#[$doc])*
        pub async fn $name(_: Principal, Body(body): Body<serde_json::Value>) -> Result<Json<$resp>, Problem> {
            answer(body, |r: $req| $f(&r).map_err(refused)).await
        }
    };
}

/// A handler per ESG calculator, whose request may carry its companies as a provider CSV file
/// (`companies_csv`).
macro_rules! esg_calculator {
    ($(#[$doc:meta])* $name:ident, $req:ty, $resp:ty, $f:path) => {
        $(#[$doc])*
        pub async fn $name(_: Principal, Body(body): Body<serde_json::Value>) -> Result<Json<$resp>, Problem> {
            answer(body, |mut r: $req| {
                read_companies_csv(&mut r)?;
                $f(&r).map_err(refused)
            })
            .await
        }
    };
}

calculator!(
    /// `POST /v1/quant/curve` (`cairn quant curve`).
    curve, simulations::curve::CurveRequest, simulations::curve::CurveResult, simulations::curve::read
);
calculator!(
    /// `POST /v1/quant/liabilities` (`cairn quant liabilities`).
    liabilities,
    simulations::liabilities::LiabilityRequest,
    simulations::liabilities::LiabilityResult,
    simulations::liabilities::analyse
);
calculator!(
    /// `POST /v1/quant/hedge` (`cairn quant hedge`).
    hedge, simulations::ldi::HedgeRequest, simulations::ldi::HedgeResult, simulations::ldi::hedge
);
calculator!(
    /// `POST /v1/quant/bond` (`cairn quant bond`).
    bond, simulations::bonds::BondRequest, simulations::bonds::BondResult, simulations::bonds::analyse
);
calculator!(
    /// `POST /v1/quant/almgren-chriss` (`cairn quant almgren-chriss`).
    almgren_chriss,
    simulations::execution::AcRequest,
    simulations::execution::AcResult,
    simulations::execution::almgren_chriss
);
calculator!(
    /// `POST /v1/quant/schedule` (`cairn quant schedule`).
    schedule,
    simulations::execution::ScheduleRequest,
    simulations::execution::ScheduleResult,
    simulations::execution::schedule
);
calculator!(
    /// `POST /v1/quant/tca` (`cairn quant tca`).
    tca, simulations::execution::TcaRequest, simulations::execution::TcaResult, simulations::execution::tca
);
calculator!(
    /// `POST /v1/quant/glide-path` (`cairn quant glide-path`).
    glide_path, simulations::glide::GlideRequest, simulations::glide::GlideResult, simulations::glide::evaluate
);
calculator!(
    /// `POST /v1/quant/factor-risk` (`cairn quant factor-risk`).
    factor_risk,
    simulations::risk_budget::FactorRequest,
    simulations::risk_budget::FactorResult,
    simulations::risk_budget::factors
);
calculator!(
    /// `POST /v1/quant/vol-target` (`cairn quant vol-target`).
    vol_target,
    simulations::risk_budget::VolTargetRequest,
    simulations::risk_budget::VolTargetResult,
    simulations::risk_budget::vol_target
);
calculator!(
    /// `POST /v1/quant/stress` (`cairn quant stress`).
    stress, simulations::stress::StressRequest, simulations::stress::StressResult, simulations::stress::stress
);
calculator!(
    /// `POST /v1/quant/overlay` (`cairn quant overlay`).
    overlay, simulations::overlays::OverlayRequest, simulations::overlays::OverlayResult, simulations::overlays::overlay
);
esg_calculator!(
    /// `POST /v1/quant/esg-carbon` (`cairn quant esg-carbon`).
    esg_carbon, simulations::esg::CarbonRequest, simulations::esg::CarbonResult, simulations::esg::carbon
);
esg_calculator!(
    /// `POST /v1/quant/esg-screen` (`cairn quant esg-screen`).
    esg_screen, simulations::esg::ScreenRequest, simulations::esg::ScreenResult, simulations::esg::screen
);
esg_calculator!(
    /// `POST /v1/quant/esg-optimise` (`cairn quant esg-optimise`).
    esg_optimise, simulations::esg::OptimiseRequest, simulations::esg::OptimiseResult, simulations::esg::optimise
);
esg_calculator!(
    /// `POST /v1/quant/impact-report` (`cairn quant impact-report`).
    impact_report, simulations::esg::ImpactRequest, simulations::esg::ImpactReport, simulations::esg::impact_report
);
calculator!(
    /// `POST /v1/quant/alm` (`cairn quant alm`).
    alm, simulations::alm::AlmRequest, simulations::alm::AlmResult, simulations::alm::project
);
calculator!(
    /// `POST /v1/quant/alm-optimise` (`cairn quant alm-optimise`).
    alm_optimise, simulations::alm::AlmOptRequest, simulations::alm::AlmOptResult, simulations::alm::optimise
);
calculator!(
    /// `POST /v1/quant/crypto` (`cairn quant crypto`).
    crypto, simulations::alternatives::CryptoRequest, simulations::alternatives::CryptoResult, simulations::alternatives::crypto
);
calculator!(
    /// `POST /v1/quant/inflation-beta` (`cairn quant inflation-beta`).
    inflation_beta,
    simulations::alternatives::InflationRequest,
    simulations::alternatives::InflationResult,
    simulations::alternatives::inflation_beta
);
calculator!(
    /// `POST /v1/quant/reit-sectors` (`cairn quant reit-sectors`).
    reit_sectors,
    simulations::alternatives::ReitRequest,
    simulations::alternatives::ReitResult,
    simulations::alternatives::reit_sectors
);
calculator!(
    /// `POST /v1/quant/liquidity` (`cairn quant liquidity`).
    liquidity,
    simulations::alternatives::LiquidityRequest,
    simulations::alternatives::LiquidityResult,
    simulations::alternatives::liquidity
);

/// `POST /v1/quant/pe-pacing` (`cairn quant pe-pacing`): for staff, and for a client whose
/// accredited-investor status is recorded (`domain::user::may_see_private_markets`).
pub async fn pe_pacing(
    State(state): State<AppState>,
    p: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::alternatives::PacingResult>, Problem> {
    let (_, stream) = commands::user::canonical(p.user_id())?;
    let (user, _) = commands::aggregate::load::<domain::user::UserDecider, _>(&state.commands, &stream).await?;
    if !domain::user::may_see_private_markets(&user) {
        return Err(Problem::new(
            ProblemKind::Forbidden,
            "private-equity pacing is for accredited investors (SEC Rule 501(a)); an advisor records the status with \
             `cairn user accredit`",
        ));
    }
    answer(body, |r: simulations::alternatives::PacingRequest| simulations::alternatives::pacing(&r).map_err(refused))
        .await
}
