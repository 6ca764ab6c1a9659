//! `cairn calendar …`: the NYSE's trading sessions and its next opening or closing. Needs no
//! database.

use clap::Subcommand;

use super::{outln, with_newline, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum CalendarCmd {
    /// The NYSE's sessions from one day to another: open and close in New York and as UTC
    /// instants (daylight saving time included), early closes (13:00: the day before
    /// Independence Day, the day after Thanksgiving, Christmas Eve), and whether trades settle
    /// that day (the settlement calendar: DTC and Federal Reserve business days). With
    /// `--closed`, the days without a session too, with why (weekend, holiday, special
    /// closing).
    Sessions {
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: chrono::NaiveDate,
        /// List closed days too, with the reason.
        #[arg(long)]
        closed: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The NYSE's next opening or closing after an instant (RFC 3339; now when omitted), and
    /// whether it is in a session then.
    Next {
        #[arg(long)]
        after: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub(crate) fn calendar(cmd: CalendarCmd) -> anyhow::Result<()> {
    let report = match cmd {
        CalendarCmd::Sessions { from, to, closed, format } => {
            let days = queries::calendar::days(from, to, closed)
                .map_err(|(field, problem)| anyhow::anyhow!("{field}: {problem}"))?;
            queries::calendar::days_report(&days).render(format.into())
        }
        CalendarCmd::Next { after, format } => {
            let after = match after {
                None => chrono::Utc::now(),
                Some(text) => chrono::DateTime::parse_from_rfc3339(&text)
                    .map_err(|_| anyhow::anyhow!("after: {text:?} is not an RFC 3339 instant (2025-11-28T15:00:00Z)"))?
                    .with_timezone(&chrono::Utc),
            };
            queries::calendar::next(after).report().render(format.into())
        }
    };
    outln!("{}", with_newline(report).trim_end())?;
    Ok(())
}
