//! `POST /v1/quant/…`: the institutional calculators of `cairn quant`, one JSON request per
//! call (the CLI's JSON-lines request, whole), answered as the CLI answers a line. Nothing is
//! read from the store or recorded.

use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::http::auth::Principal;
use crate::http::problem::{Body, Problem};

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

/// `POST /v1/quant/curve` (`cairn quant curve`).
pub async fn curve(
    _: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::curve::CurveResult>, Problem> {
    answer(body, |r: simulations::curve::CurveRequest| simulations::curve::read(&r)).await
}

/// `POST /v1/quant/liabilities` (`cairn quant liabilities`).
pub async fn liabilities(
    _: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::liabilities::LiabilityResult>, Problem> {
    answer(body, |r: simulations::liabilities::LiabilityRequest| simulations::liabilities::analyse(&r)).await
}

/// `POST /v1/quant/bond` (`cairn quant bond`).
pub async fn bond(
    _: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::bonds::BondResult>, Problem> {
    answer(body, |r: simulations::bonds::BondRequest| simulations::bonds::analyse(&r)).await
}

/// `POST /v1/quant/almgren-chriss` (`cairn quant almgren-chriss`).
pub async fn almgren_chriss(
    _: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::execution::AcResult>, Problem> {
    answer(body, |r: simulations::execution::AcRequest| simulations::execution::almgren_chriss(&r)).await
}

/// `POST /v1/quant/schedule` (`cairn quant schedule`).
pub async fn schedule(
    _: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::execution::ScheduleResult>, Problem> {
    answer(body, |r: simulations::execution::ScheduleRequest| simulations::execution::schedule(&r)).await
}

/// `POST /v1/quant/tca` (`cairn quant tca`).
pub async fn tca(
    _: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::execution::TcaResult>, Problem> {
    answer(body, |r: simulations::execution::TcaRequest| simulations::execution::tca(&r)).await
}

/// `POST /v1/quant/hedge` (`cairn quant hedge`).
pub async fn hedge(
    _: Principal,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<simulations::ldi::HedgeResult>, Problem> {
    answer(body, |r: simulations::ldi::HedgeRequest| simulations::ldi::hedge(&r)).await
}
