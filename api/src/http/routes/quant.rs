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
/// field, computes it off the runtime's threads, and turns the engine's refusal into a 422
/// naming the field it names.
async fn answer<Req, Resp>(
    body: serde_json::Value,
    f: impl FnOnce(Req) -> Result<Resp, simulations::SimError> + Send + 'static,
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
    result.map(Json).map_err(|e| match &e {
        simulations::SimError::Invalid { field, .. } => Problem::field(field, e.to_string()),
    })
}

/// A handler per calculator: `POST /v1/quant/{path}` answering `$f` of the request.
macro_rules! calculator {
    ($(#[$doc:meta])* $name:ident, $req:ty, $resp:ty, $f:path) => {
        $(#[$doc])*
        pub async fn $name(_: Principal, Body(body): Body<serde_json::Value>) -> Result<Json<$resp>, Problem> {
            answer(body, |r: $req| $f(&r)).await
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
calculator!(
    /// `POST /v1/quant/esg-carbon` (`cairn quant esg-carbon`).
    esg_carbon, simulations::esg::CarbonRequest, simulations::esg::CarbonResult, simulations::esg::carbon
);
calculator!(
    /// `POST /v1/quant/esg-screen` (`cairn quant esg-screen`).
    esg_screen, simulations::esg::ScreenRequest, simulations::esg::ScreenResult, simulations::esg::screen
);
calculator!(
    /// `POST /v1/quant/esg-optimise` (`cairn quant esg-optimise`).
    esg_optimise, simulations::esg::OptimiseRequest, simulations::esg::OptimiseResult, simulations::esg::optimise
);
calculator!(
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
    answer(body, |r: simulations::alternatives::PacingRequest| simulations::alternatives::pacing(&r)).await
}
