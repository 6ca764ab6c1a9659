//! The risk read model, `portfolio_risk`: one row per portfolio with its VaR and CVaR,
//! volatility and Monte Carlo probability of success, stamped with the global position its
//! inputs reflect. The worker that keeps it current lives in the `workers` crate
//! (`workers::risk`), the computation of a row in `queries::risk`; this module owns the table,
//! its registration and checkpoint, and the writes.

use crate::db::{col, Db, Kind::*, Row, Table};
use crate::query::{records, Record};
use crate::runner::{checkpoint, register, registration, Runner};
use crate::Result;

pub const PORTFOLIO_RISK: Table = Table {
    name: "portfolio_risk",
    columns: &[
        col("household", Text),
        col("portfolio", Text),
        col("name", Text),
        col("market_value", Money),
        col("weights", Text),
        col("coverage", Dec),
        col("notes", Text),
        col("basis", Text),
        col("observations", Int),
        col("first_day", Date),
        col("last_day", Date),
        col("volatility", Dec),
        col("var_95_1d", Dec),
        col("cvar_95_1d", Dec),
        col("var_99_1d", Dec),
        col("cvar_99_1d", Dec),
        col("parametric_var_95_1d", Dec),
        col("parametric_cvar_95_1d", Dec),
        col("parametric_var_99_1d", Dec),
        col("parametric_cvar_99_1d", Dec),
        col("var_95_21d", Dec),
        col("cvar_95_21d", Dec),
        col("var_99_21d", Dec),
        col("cvar_99_21d", Dec),
        col("var_95_1d_amount", Money),
        col("var_99_1d_amount", Money),
        col("success_probability", Dec),
        col("mc_years", Int),
        col("mc_paths", Int),
        col("withdrawal", Money),
        col("position", Int),
        col("computed_at", Time),
    ],
    key: &["household", "portfolio"],
    scope: "household",
    time_series: false,
};

pub const NAME: &str = "risk";
/// Bump to recompute every row into a fresh table (2: split-adjusted histories, parametric
/// figures on log returns, the `basis` column).
pub const VERSION: i64 = 2;
pub const TABLES: &[&Table] = &[&PORTFOLIO_RISK];

/// Registers the worker's table on first use; a stored version other than [`VERSION`] gets a
/// fresh generation with the checkpoint at 0, so every row is computed again. Returns the
/// generation in service.
pub async fn open(db: &Db) -> Result<i64> {
    match registration(db, NAME).await? {
        None => register(db, NAME, VERSION, TABLES).await?,
        Some(r) if r.version != VERSION => {
            let generation = r.generation + 1;
            let mut tx = db.begin().await?;
            let claimed = tx
                .execute(
                    "UPDATE cairn_projectors SET version = CAST($2 AS BIGINT), generation = CAST($3 AS BIGINT) \
                     WHERE name = $1 AND generation = CAST($4 AS BIGINT)",
                    &[
                        Some(NAME.to_owned()),
                        Some(VERSION.to_string()),
                        Some(generation.to_string()),
                        Some(r.generation.to_string()),
                    ],
                )
                .await?;
            if claimed == 1 {
                db.create_tables(&mut tx, TABLES, generation).await?;
                for t in TABLES {
                    db.point_view(&mut tx, t, generation).await?;
                    tx.execute(&format!("DROP TABLE IF EXISTS {}", t.physical(r.generation)), &[]).await?;
                }
                tx.execute(
                    "INSERT INTO cairn_projector_checkpoints (name, generation, position) VALUES ($1, CAST($2 AS BIGINT), 0)",
                    &[Some(NAME.to_owned()), Some(generation.to_string())],
                )
                .await?;
                tx.commit().await?;
                tracing::info!(
                    from = r.version,
                    to = VERSION,
                    "risk worker version changed; recomputing every portfolio"
                );
            }
        }
        Some(_) => {}
    }
    Ok(registration(db, NAME).await?.map_or(1, |r| r.generation))
}

/// The worker's checkpoint (0 when it never ran): every portfolio changed by an event up to it
/// has a row reflecting that event.
pub async fn worker_checkpoint(db: &Db) -> Result<u64> {
    match db.generation(NAME).await? {
        Some(g) => checkpoint(db, NAME, g).await,
        None => Ok(0),
    }
}

/// Saves the worker's checkpoint in its generation.
pub async fn save_checkpoint(db: &Db, generation: i64, position: u64) -> Result<()> {
    db.execute(
        "UPDATE cairn_projector_checkpoints SET position = CAST($3 AS BIGINT) \
         WHERE name = $1 AND generation = CAST($2 AS BIGINT)",
        &[Some(NAME.to_owned()), Some(generation.to_string()), Some(position.to_string())],
    )
    .await?;
    Ok(())
}

/// The position every input of a computation reflects: the smaller of the `holdings` and
/// `prices` checkpoints (read through `db`, a pinned snapshot when the rows are read from it).
pub async fn inputs_position(db: &Db) -> Result<u64> {
    let mut position = u64::MAX;
    for name in ["holdings", "prices"] {
        let status = Runner::inspect(db.clone(), crate::by_name(name)?).status(None).await?;
        position = position.min(status.checkpoint);
    }
    Ok(position)
}

/// The stored row of a portfolio, if computed.
pub async fn stored(db: &Db, household: &str, portfolio: &str) -> Result<Vec<Record>> {
    let filters = [("household", Some(household.to_owned())), ("portfolio", Some(portfolio.to_owned()))];
    records(db, &PORTFOLIO_RISK, &filters).await
}
/// Writes a computed row, unless the stored one reflects a later position. Returns whether it
/// was written.
pub async fn save(db: &Db, row: &Row) -> Result<bool> {
    let generation = open(db).await?;
    db.upsert_unless_newer(&PORTFOLIO_RISK, generation, row, "position").await
}
