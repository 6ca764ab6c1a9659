//! `cairn tax …`: the federal tax engine over a household's ledger.

use clap::Subcommand;
use event_store::Store;
use rust_decimal::Decimal;

use super::{out, outln, with_newline, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum TaxCmd {
    /// A year's federal income tax (2024 to 2026): interest and dividends paid in taxable
    /// accounts and the year's Form 8949 sales from the ledger, the losses carried from its
    /// earlier years, the household's filing status and its members 65 or older (by birth date),
    /// plus the wages and other income given. Answers the taxable income, the tax with
    /// qualified dividends and gains stacked at 0/15/20%, the 3.8% net investment income tax,
    /// losses carried to next year, the marginal rates (ordinary and capital gains) and the
    /// distance to the next bracket and to the next Medicare IRMAA tier.
    Estimate {
        #[arg(long)]
        household: String,
        #[arg(long)]
        year: i32,
        /// Wages, salaries, pensions and IRA distributions.
        #[arg(long, default_value = "0")]
        wages: Decimal,
        /// Any other ordinary income (business, rental, taxable Social Security).
        #[arg(long, default_value = "0")]
        other_income: Decimal,
        /// Itemized deductions (the standard deduction is taken when larger).
        #[arg(long, default_value = "0")]
        itemized: Decimal,
        /// single, married_filing_jointly, married_filing_separately, head_of_household or
        /// qualifying_surviving_spouse (the ledger's when omitted).
        #[arg(long)]
        status: Option<String>,
        /// Taxpayers 65 or older at the end of the year (from the members' birth dates when
        /// omitted).
        #[arg(long)]
        seniors: Option<u8>,
        /// Taxpayers who are blind.
        #[arg(long, default_value = "0")]
        blind: u8,
        /// Short- and long-term losses carried in from last year (computed from the ledger's
        /// earlier sales when both are omitted).
        #[arg(long)]
        carryover_short: Option<Decimal>,
        #[arg(long)]
        carryover_long: Option<Decimal>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub(crate) async fn tax(store: Store, url: &str, cmd: TaxCmd) -> anyhow::Result<()> {
    match cmd {
        TaxCmd::Estimate {
            household,
            year,
            wages,
            other_income,
            itemized,
            status,
            seniors,
            blind,
            carryover_short,
            carryover_long,
            format,
        } => {
            let status = status.map(|s| s.parse().map_err(|e: String| anyhow::anyhow!("status: {e}"))).transpose()?;
            let given = queries::tax::Given {
                wages,
                other_income,
                itemized,
                status,
                seniors,
                blind,
                carryover_short,
                carryover_long,
            };
            let mut reader = queries::read::Reader::open(store, url).await?;
            reader.ready("holdings").await?;
            let key = domain::ledger::household_key(&household);
            let answer = queries::tax::estimate(&reader.db, &key, year, &given).await?;
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&answer)?)?,
                f => out!("{}", with_newline(queries::tax::report(&answer)?.render(f.into())))?,
            }
        }
    }
    Ok(())
}
