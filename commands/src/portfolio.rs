//! Portfolio commands. The household's account labels are looked up here and handed to the
//! decider; a caller may pass the version it last saw (`expected`), which the append enforces.

use std::collections::{BTreeMap, BTreeSet};

use domain::portfolio::{decide, Portfolio, PortfolioCommand, PortfolioEvent};
use event_store::{EventStore, StreamId};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::aggregate::{self, Caller, Executed};
use crate::{CommandError, Context};

pub const PORTFOLIO_SCHEMA_VERSION: u32 = domain::portfolio::SCHEMA_VERSION;

/// `portfolio-<household key>--<portfolio key>` ([`domain::streams`]).
pub fn portfolio_stream(household: &str, name: &str) -> Result<StreamId, CommandError> {
    crate::stream_id(&domain::streams::Stream::portfolio(household, name)?)
}

/// Runs a portfolio command; `expected` is the version the caller last saw, if it wants the
/// optimistic lock.
pub async fn run<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    name: &str,
    command: PortfolioCommand,
    expected: Option<u64>,
    caller: &Caller,
) -> Result<Executed<PortfolioEvent>, CommandError> {
    let stream = portfolio_stream(household, name)?;
    let (ledger, _) = crate::ledger::load(cx, household).await?;
    let accounts: BTreeSet<String> = ledger.accounts.keys().cloned().collect();
    aggregate::execute::<domain::portfolio::PortfolioDecider, S>(
        cx,
        &stream,
        |p| decide(p, &command, &accounts),
        expected,
        Uuid::now_v7(),
        caller,
    )
    .await
}

/// The portfolio and its version (the lock to pass back when editing).
pub async fn show<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    name: &str,
) -> Result<(Portfolio, u64), CommandError> {
    let stream = portfolio_stream(household, name)?;
    let (p, version) = aggregate::load::<domain::portfolio::PortfolioDecider, S>(cx, &stream).await?;
    if version == 0 {
        return Err(CommandError::invalid("portfolio", format!("no portfolio {name:?} in household {household:?}")));
    }
    Ok((p, version))
}

/// Parses `VTI=0.6,BND=0.4` (or separated by spaces).
pub fn parse_weights(text: &str) -> Result<BTreeMap<String, Decimal>, CommandError> {
    let mut weights = BTreeMap::new();
    for part in text.split([',', ' ']).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| CommandError::invalid("weights", format!("{part:?} is not NAME=WEIGHT")))?;
        let w: Decimal =
            v.trim().parse().map_err(|_| CommandError::invalid("weights", format!("{v:?} is not a decimal number")))?;
        if weights.insert(k.trim().to_owned(), w).is_some() {
            return Err(CommandError::invalid("weights", format!("{k} appears twice")));
        }
    }
    Ok(weights)
}
