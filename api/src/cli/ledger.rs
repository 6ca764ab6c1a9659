//! `cairn ledger …`: imports, reports, corrections, accounts and members.

use anyhow::Context as _;
use clap::Subcommand;
use commands::input::broker::Broker;
use commands::security::vault::Vault;
use domain::ledger::TradeChange;
use event_store::Store;
use queries::reports;

use super::read::{emit, Reader};
use super::{caller, master_key, out, outln, with_newline};

#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// Import a ledger CSV, all or nothing; importing the same file again records nothing.
    ///
    /// Columns: trade_date,account,account_type,action,symbol,quantity,price,fees and optionally
    /// settlement_date,lot_method,lot_ids,ratio,description,owner,new_symbol,fmv,allocation,
    /// commission,sec_fee,taf_fee,cusip,isin,order_id,id (README.md describes each; names are
    /// matched ignoring case; blank lines and lines starting with # are skipped). action is buy,
    /// sell, dividend, interest, deposit, withdrawal, fee, transfer_in, transfer_out, split,
    /// symbol_change, merger, spinoff or contribution. The household is created if missing; an
    /// account opens where its label first appears, with that row's account_type (taxable,
    /// traditional_401k, roth_401k, traditional_403b, traditional_ira, roth_ira, sep_ira,
    /// simple_ira, 529, hsa). A bad row refuses the whole file with `line N: <field>: <problem>`
    /// and exit code 2, and so does a row dated after today in the household's time zone.
    ///
    /// Each row has an identity: its `id` (the broker's transaction id) or a digest of its
    /// fields. A row already recorded for the household (say, from an overlapping export) is
    /// skipped and counted in `duplicates`, unless the file itself holds it more often than it
    /// was recorded (two identical buys in one file are two trades). Prints a JSON summary:
    /// `rows` recorded, `duplicates`, and `warnings` (buys and sells on weekends and NYSE
    /// holidays, rows that take an account's cash below zero), each naming its line.
    ///
    /// `--format schwab` reads Charles Schwab's transaction history export (History → Export →
    /// CSV) as rows of the account named by `--account` (opened with `--account-type` if new):
    /// buys, sells, share reinvestments, dividends (qualified or ordinary), interest,
    /// MoneyLink, wire and cash-journal transfers, and fees. A row of any other action (splits,
    /// spin-offs, name changes, share journals) refuses the file, naming its line, unless
    /// `--skip-unknown` lists it under `skipped` instead. `--format auto` recognises a Schwab
    /// export by its header and says in `format` what it chose.
    ///
    /// `--format ofx` reads an OFX investment statement (`.ofx` or `.qfx`, version 1.x SGML or
    /// 2.x XML) the same way: buys and sells of stocks, funds and others, reinvested income (the
    /// income and the buy), dividends, interest and capital gain distributions, transfers of
    /// shares in and out, splits, and cash deposits, withdrawals, interest and fees, each
    /// security by its ticker (else its CUSIP) and each row's `id` its FITID, so overlapping
    /// downloads record each transaction once. Options, bonds, short sales and other
    /// transactions refuse the file, naming the line and element, unless `--skip-unknown`;
    /// `--format auto` recognises OFX by its header.
    ///
    /// `--format fidelity` reads Fidelity's account history download (Activity & Orders →
    /// Download; preamble and closing notes ignored, columns found by name): YOU BOUGHT and
    /// REINVESTMENT (buys), YOU SOLD, DIVIDEND RECEIVED and LONG-/SHORT-TERM CAP GAIN (ordinary
    /// dividends, the latter described as capital gain distributions), INTEREST EARNED,
    /// electronic funds transfers, direct deposits and debits and cash TRANSFERRED FROM/TO
    /// (deposits and withdrawals), CONTRIBUTION (contributions, a prior-year one for the year
    /// before), FOREIGN TAX PAID and FEE CHARGED (fees). Moves into and out of the core money
    /// market (SPAXX, FDRXX, …) and pending (Processing) entries are listed under `skipped`.
    /// `--format vanguard` reads Vanguard's brokerage transaction download (the holdings section
    /// ignored; one account per file): Buy and Reinvestment (buys), Sell, Dividend and Capital
    /// gain (LT)/(ST) (ordinary dividends, the latter described), Interest, Funds Received,
    /// Withdrawal and cash transfers (deposits, withdrawals), share transfers (`transfer_in` at
    /// the Share Price, `transfer_out`) and Fee; Sweep in/out and the settlement fund's (VMFXX)
    /// buys and sells are listed under `skipped`. Any other action or type (share transfers at
    /// Fidelity, conversions and exchanges at Vanguard) refuses the file, naming its line,
    /// unless `--skip-unknown`; `--format auto` recognises both by their headers.
    ///
    /// `--format ibkr` reads an Interactive Brokers Flex Query CSV with the sections Trades and
    /// Cash Transactions (column headers included, with or without section codes; columns found
    /// by name): BUY and SELL of stocks, ETFs and funds, Dividends and Payment In Lieu Of
    /// Dividends (ordinary dividends), Broker and Bond Interest Received, Withholding Tax, Broker
    /// Interest Paid, Other Fees and Commission Adjustments (fees) and Deposits/Withdrawals, each
    /// row's `id` its TransactionID. A line in another currency keeps its amounts in that
    /// currency with its FXRateToBase as the row's `fx_rate` (the account's base currency must be
    /// USD, else the file is refused); currency conversions (`EUR.USD`) are listed under
    /// `skipped`. Options, futures, bonds, cancellations and other types refuse the file, naming
    /// the line, unless `--skip-unknown`; `--format auto` recognises a Flex Query by its header.
    Import {
        /// The file, or `-` for standard input.
        file: std::path::PathBuf,
        /// The household (created if missing).
        #[arg(long)]
        household: String,
        /// The file's format: `csv` (cairn's ledger CSV), a broker's export (`schwab`,
        /// `fidelity`, `vanguard`, `ibkr` for an Interactive Brokers Flex Query CSV, or `ofx` for
        /// an OFX investment statement), or `auto` (a broker's export recognised from its first
        /// lines, else the ledger CSV).
        #[arg(long, default_value = "csv", value_parser = import_format)]
        format: ImportFormat,
        /// The account a broker export's rows belong to (its label in the ledger).
        #[arg(long)]
        account: Option<String>,
        /// The account's type where the account is new (taxable, roth_ira, …).
        #[arg(long)]
        account_type: Option<String>,
        /// Skip (and list) rows of a broker export whose action the mapping does not record,
        /// instead of refusing the file.
        #[arg(long)]
        skip_unknown: bool,
        /// Record rows already recorded for the household too (the summary says how many).
        #[arg(long)]
        allow_duplicates: bool,
    },
    /// Void a recorded row (both halves of a paired transfer). The row stays in the history;
    /// lots, gains and wash sales are recomputed without it.
    Cancel {
        #[command(flatten)]
        row: RowRef,
    },
    /// Replace fields of a recorded row; lots, gains and wash sales are recomputed.
    Correct {
        #[command(flatten)]
        row: RowRef,
        #[arg(long)]
        trade_date: Option<chrono::NaiveDate>,
        #[arg(long)]
        settlement_date: Option<chrono::NaiveDate>,
        #[arg(long)]
        quantity: Option<rust_decimal::Decimal>,
        #[arg(long)]
        price: Option<rust_decimal::Decimal>,
        #[arg(long)]
        fees: Option<rust_decimal::Decimal>,
        /// fifo, lifo, hifo, specific or average.
        #[arg(long)]
        lot_method: Option<String>,
        /// Lot ids for specific identification, separated by spaces, commas or `;`.
        #[arg(long)]
        lot_ids: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Set the household's filing status, time zone and/or base currency (at least one).
    Household {
        #[arg(long)]
        household: String,
        /// single, married_filing_jointly (mfj), married_filing_separately (mfs),
        /// head_of_household (hoh), qualifying_surviving_spouse (qss).
        #[arg(long, required_unless_present_any = ["time_zone", "base_currency"])]
        filing_status: Option<String>,
        /// An IANA time zone such as America/Chicago (default America/New_York): imports refuse
        /// rows dated after today in it.
        #[arg(long)]
        time_zone: Option<String>,
        /// The currency values and performance are reported in (ISO 4217, default USD):
        /// `cairn performance`, `income` and `holdings` divide each day's dollars by that day's
        /// close of its pair (`EUR.USD`, from `cairn market rates`). Rows, lots and gains stay in
        /// dollars.
        #[arg(long)]
        base_currency: Option<String>,
    },
    /// Record an account's details; numbers and tokens are encrypted with the household's key.
    /// Fields not given keep their value.
    Account {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        institution: Option<String>,
        #[arg(long)]
        account_number: Option<String>,
        #[arg(long)]
        routing_number: Option<String>,
        /// Plaid item id (kept in the clear) and access token (encrypted).
        #[arg(long)]
        plaid_item: Option<String>,
        #[arg(long)]
        plaid_token: Option<String>,
        /// Employer match tiers, RATE%:PAY%, e.g. 100:3,50:2 (100% of the first 3% of pay, 50% of the next 2%).
        #[arg(long)]
        employer_match: Option<String>,
        /// Vesting of employer money: immediate, cliff:YEARS or graded:START:PERCENT (e.g. graded:2:20).
        #[arg(long)]
        vesting: Option<String>,
        /// Whether the broker files Form 1099-B with the basis, which sets the Form 8949 box
        /// of the account's sales: reported (the default: a US broker, basis reported for
        /// covered securities, see `cairn market securities`' kind), not-reported (a 1099-B
        /// without basis: boxes B and E) or none (no 1099-B: boxes C and F).
        #[arg(long)]
        basis_reporting: Option<String>,
    },
    /// Close an account that holds no shares; later rows for it are refused.
    Close {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        /// The closing date (YYYY-MM-DD).
        #[arg(long)]
        on: chrono::NaiveDate,
    },
    /// Record a balance assertion: what an account held at the end of a day by a statement's
    /// count (`--symbol S --quantity Q` for shares, `--cash C` for cash). `ledger balances`
    /// checks it against the rows; it is recorded whether or not it holds.
    ///
    /// `--file POSITIONS.csv` records a statement of positions at once, all or nothing: columns
    /// date,account,symbol,quantity and optionally source (a symbol that is empty or `cash`
    /// asserts the account's cash).
    Assert {
        #[arg(long)]
        household: String,
        /// A statement of positions (CSV) in place of one figure.
        #[arg(long, conflicts_with_all = ["account", "date", "symbol", "quantity", "cash"])]
        file: Option<std::path::PathBuf>,
        #[arg(long, required_unless_present = "file")]
        account: Option<String>,
        /// The day (YYYY-MM-DD): the account's holding at its end, every row dated on or
        /// before it counted.
        #[arg(long, required_unless_present = "file")]
        date: Option<chrono::NaiveDate>,
        /// The symbol whose shares are asserted.
        #[arg(long, requires = "quantity", conflicts_with = "cash")]
        symbol: Option<String>,
        /// Shares held, as the statement prints them (its decimals set the tolerance: half a
        /// unit of the last place).
        #[arg(long, requires = "symbol", allow_negative_numbers = true)]
        quantity: Option<rust_decimal::Decimal>,
        /// Cash held, as the statement prints it.
        #[arg(long, required_unless_present_any = ["symbol", "file"], allow_negative_numbers = true)]
        cash: Option<rust_decimal::Decimal>,
        /// Where the figure comes from (a statement's name).
        #[arg(long)]
        source: Option<String>,
    },
    /// Every balance assertion checked against the rows: what was asserted, what the ledger
    /// says the account held at the end of that day, the difference, and `ok` or `mismatch`
    /// (beyond half a unit of the asserted number's last decimal place, as Beancount does).
    /// Exits 1 when any assertion does not hold.
    Balances {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// The household's accounts: type, owner, lot method, institution, masked numbers, plan
    /// terms, closing date and cash balance.
    Accounts {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// The employer match on a year's deferrals under the account's formula, and how much of it
    /// is vested after the given years of service.
    Match {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        /// Annual pay.
        #[arg(long)]
        pay: rust_decimal::Decimal,
        /// The employee's deferrals for the year.
        #[arg(long)]
        deferral: rust_decimal::Decimal,
        #[arg(long, default_value_t = 0)]
        years_of_service: u32,
    },
    /// Record or update a household member: birth date (for catch-up limits), HSA coverage,
    /// and for the estate planners the relationship to the household's principal, citizenship,
    /// state of domicile and the age expected to live to. What is not given is left as it was.
    Member {
        #[arg(long)]
        household: String,
        /// The member's name, as used in the ledger CSV's `owner` column.
        #[arg(long)]
        name: String,
        /// Date of birth (YYYY-MM-DD).
        #[arg(long)]
        born: Option<chrono::NaiveDate>,
        /// self or family.
        #[arg(long)]
        hsa_coverage: Option<String>,
        /// principal, spouse, parent, sibling, child, grandchild, great_grandchild or other
        /// (one principal and one spouse per household).
        #[arg(long)]
        relationship: Option<String>,
        /// Whether the member is a U.S. citizen (true or false).
        #[arg(long)]
        citizen: Option<bool>,
        /// The state of domicile: its two-letter code (NY, CA, DC).
        #[arg(long)]
        domicile: Option<String>,
        /// The age the member is expected to live to (1 to 120), for the estate planners'
        /// horizon; without it they take Table 2010CM's life expectancy at the member's age.
        #[arg(long)]
        lives_to: Option<u32>,
        /// When the member's parent, the principal's (or spouse's) child, died (YYYY-MM-DD): a
        /// grandchild is then no skip person for gifts after it (IRC §2651(e)).
        #[arg(long)]
        parent_died: Option<chrono::NaiveDate>,
    },
    /// Contributions of a tax year against each member's limits (401(k)/403(b) deferrals with
    /// catch-ups, annual additions, SIMPLE, IRA, HSA; 529 totals).
    Contributions {
        #[arg(long)]
        household: String,
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// Open tax lots: symbol, account, quantity, acquired date (after wash-sale tacking),
    /// adjusted basis.
    Lots {
        #[arg(long)]
        household: String,
        /// Only rows traded on or before this date (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// Realized gains of a tax year, Form 8949 style (taxable accounts), with totals per term
    /// and each row's box: A, B, C short-term and D, E, F long-term, by whether the account's
    /// broker reports the basis (`ledger account --basis-reporting`) and whether the shares are
    /// covered (acquired after 2010 for stock, 2011 for funds, 2013 for options and bonds, 2015
    /// for complex debt: the security master's kind). `--format txf` writes TXF v042 for tax
    /// software to import (TurboTax, H&R Block); `cairn tax schedule-d` totals the boxes.
    Gains {
        #[arg(long)]
        household: String,
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value = "table")]
        format: super::GainsFormat,
    },
    /// Positions per account and symbol: quantity, cost basis, and market value and unrealized
    /// gain at the symbol's latest close (with the global position of the bar used).
    Positions {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// What the household is worth: the positions at market value (each symbol at its latest
    /// close) plus the accounts' cash, each row rounded to cents and then added, and how many
    /// positions have no price (not counted). The web page's total; `GET …/value` over HTTP.
    Value {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// The wash-sale register: each disallowed loss, the replacement lot it moved to, and the
    /// holding period tacked on.
    WashSales {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
}

impl LedgerCommand {
    /// The household a report is about (`None` for commands that record).
    pub(crate) fn report_household(&self) -> Option<&str> {
        match self {
            Self::Contributions { household, .. }
            | Self::Lots { household, .. }
            | Self::Gains { household, .. }
            | Self::Positions { household, .. }
            | Self::Value { household, .. }
            | Self::WashSales { household, .. } => Some(household),
            _ => None,
        }
    }
}

/// A recorded row and why it is being changed.
#[derive(Debug, clap::Args)]
pub(crate) struct RowRef {
    #[arg(long)]
    household: String,
    /// The row's id, as `cairn ledger lots` and `events tail` show it (e.g. T7).
    #[arg(long)]
    trade: String,
    /// Why (kept in the event).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum ImportFormat {
    /// cairn's ledger CSV.
    Csv,
    /// A broker's export.
    Broker(Broker),
    /// Recognised from the file's first lines.
    Auto,
}

/// `--format`: `csv`, `auto` or a broker's name.
fn import_format(text: &str) -> Result<ImportFormat, String> {
    match text {
        "csv" => Ok(ImportFormat::Csv),
        "auto" => Ok(ImportFormat::Auto),
        name => Broker::from_name(name).map(ImportFormat::Broker).ok_or_else(|| {
            let brokers: Vec<&str> = Broker::ALL.iter().map(|b| b.name()).collect();
            format!("expected csv, auto or a broker's export: {}", brokers.join(", "))
        }),
    }
}

pub(crate) async fn ledger(store: Store, url: &str, cmd: LedgerCommand) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    match cmd {
        LedgerCommand::Import { file, household, format, account, account_type, skip_unknown, allow_duplicates } => {
            let bytes = if file.as_os_str() == "-" {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).context("cannot read standard input")?;
                bytes
            } else {
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?
            };
            let format = match format {
                ImportFormat::Auto => Broker::recognize(&bytes).map_or(ImportFormat::Csv, ImportFormat::Broker),
                chosen => chosen,
            };
            let who = caller("cairn ledger import");
            let (o, name, skipped) = match format {
                ImportFormat::Broker(broker) => {
                    let account = account.ok_or_else(|| {
                        commands::CommandError::invalid(
                            "--account",
                            format!("{} needs the account its rows belong to", broker.title()),
                        )
                    })?;
                    let (o, skipped) = commands::ledger::import_broker(
                        &cx,
                        &household,
                        &bytes,
                        broker,
                        &account,
                        account_type.as_deref(),
                        allow_duplicates,
                        skip_unknown,
                        &who,
                    )
                    .await?;
                    (o, broker.name(), skipped)
                }
                _ => {
                    if let Some(flag) = [
                        ("--account", account.is_some()),
                        ("--account-type", account_type.is_some()),
                        ("--skip-unknown", skip_unknown),
                    ]
                    .iter()
                    .find_map(|(flag, given)| given.then_some(*flag))
                    {
                        return Err(commands::CommandError::invalid(flag, "only a broker export takes it").into());
                    }
                    (
                        commands::ledger::import_csv(&cx, &household, &bytes, allow_duplicates, &who).await?,
                        "csv",
                        Vec::new(),
                    )
                }
            };
            print_outcome(
                &o,
                serde_json::json!({
                    "format": name,
                    "rows": o.trades_recorded(),
                    "duplicates": o.duplicates(),
                    "duplicates_recorded": o.duplicates_allowed(),
                    "skipped": skipped,
                    "warnings": o.warnings(),
                    "already_imported": o.events.is_empty(),
                }),
            )?;
        }
        LedgerCommand::Cancel { row: RowRef { household, trade, reason } } => {
            let o = commands::ledger::cancel(&cx, &household, &trade, &reason, &caller("cairn ledger cancel")).await?;
            print_outcome(&o, serde_json::json!({ "cancelled": trade }))?;
        }
        LedgerCommand::Correct {
            row: RowRef { household, trade, reason },
            trade_date,
            settlement_date,
            quantity,
            price,
            fees,
            lot_method,
            lot_ids,
            description,
        } => {
            let change = TradeChange {
                trade_date,
                settlement_date,
                quantity,
                price,
                fees,
                lot_method: lot_method
                    .map(|m| m.parse())
                    .transpose()
                    .map_err(|e: String| anyhow::anyhow!("--lot-method: {e}"))?,
                lot_ids: lot_ids
                    .map(|ids| ids.split([' ', ';', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect()),
                description,
            };
            let o =
                commands::ledger::correct(&cx, &household, &trade, change, &reason, &caller("cairn ledger correct"))
                    .await?;
            print_outcome(&o, serde_json::json!({ "corrected": trade }))?;
        }
        LedgerCommand::Member {
            household,
            name,
            born,
            hsa_coverage,
            relationship,
            citizen,
            domicile,
            lives_to,
            parent_died,
        } => {
            let coverage = hsa_coverage
                .map(|c| c.parse())
                .transpose()
                .map_err(|e: String| anyhow::anyhow!("--hsa-coverage: {e}"))?;
            let relationship = relationship
                .map(|r| r.parse())
                .transpose()
                .map_err(|e: String| anyhow::anyhow!("--relationship: {e}"))?;
            let family = domain::family::Family { relationship, citizen, domicile, lives_to, parent_died };
            let who = caller("cairn ledger member");
            let o = commands::ledger::set_member(&cx, &household, &name, born, coverage, family, &who).await?;
            print_outcome(&o, serde_json::json!({ "member": name }))?;
        }
        LedgerCommand::Household { household, filing_status, time_zone, base_currency } => {
            let who = caller("cairn ledger household");
            let status = filing_status
                .as_deref()
                .map(|f| f.parse().map_err(|e: String| anyhow::anyhow!("--filing-status: {e}")))
                .transpose()?;
            // Each setting is its own command; the summary is the last one's, naming them all.
            let mut last = None;
            if let Some(zone) = &time_zone {
                last = Some(commands::ledger::set_time_zone(&cx, &household, zone, &who).await?);
            }
            if let Some(currency) = &base_currency {
                last = Some(commands::ledger::set_base_currency(&cx, &household, currency, &who).await?);
            }
            if let Some(status) = status {
                last = Some(commands::ledger::set_filing_status(&cx, &household, status, &who).await?);
            }
            if let Some(o) = last {
                let settings = serde_json::json!({
                    "filing_status": filing_status,
                    "time_zone": time_zone,
                    "base_currency": base_currency.map(|c| c.trim().to_ascii_uppercase()),
                });
                print_outcome(&o, settings)?;
            }
        }
        LedgerCommand::Account {
            household,
            account,
            institution,
            account_number,
            routing_number,
            plaid_item,
            plaid_token,
            employer_match,
            vesting,
            basis_reporting,
        } => {
            let change = commands::ledger::AccountChange {
                institution,
                account_number,
                routing_number,
                plaid_item_id: plaid_item,
                plaid_access_token: plaid_token,
                employer_match: employer_match
                    .map(|m| m.parse())
                    .transpose()
                    .map_err(|e: String| anyhow::anyhow!("--employer-match: {e}"))?,
                vesting: vesting
                    .map(|v| v.parse())
                    .transpose()
                    .map_err(|e: String| anyhow::anyhow!("--vesting: {e}"))?,
                basis_reporting: basis_reporting
                    .map(|b| b.parse())
                    .transpose()
                    .map_err(|e: String| anyhow::anyhow!("--basis-reporting: {e}"))?,
            };
            let vault = Vault::new(store.clone(), master_key()?);
            let who = caller("cairn ledger account");
            let o = commands::ledger::set_account_details(&cx, &vault, &household, &account, change, &who).await?;
            print_outcome(&o, serde_json::json!({ "account": account }))?;
        }
        LedgerCommand::Close { household, account, on } => {
            let o =
                commands::ledger::close_account(&cx, &household, &account, on, &caller("cairn ledger close")).await?;
            print_outcome(&o, serde_json::json!({ "closed": account }))?;
        }
        LedgerCommand::Assert { household, file, account, date, symbol, quantity, cash, source } => {
            let assertions = match (file, account, date) {
                (Some(file), _, _) => {
                    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
                    commands::input::positions::parse_positions(&bytes, source.as_deref())?
                }
                (None, Some(account), Some(date)) => {
                    let quantity = quantity.or(cash).unwrap_or_default();
                    let symbol = symbol.map(|s| s.trim().to_ascii_uppercase());
                    vec![domain::ledger::balances::Assertion { account, date, symbol, quantity, source }]
                }
                _ => anyhow::bail!("--account and --date: required without --file"),
            };
            let who = caller("cairn ledger assert");
            let o = commands::ledger::assert_balances(&cx, &household, assertions, &who).await?;
            print_outcome(&o, serde_json::json!({ "recorded": o.events.len() }))?;
        }
        LedgerCommand::Balances { household, format } => {
            let mut reader = Reader::open(store, url).await?;
            reader.ready("holdings").await?;
            let checked = queries::balances::check(&reader.db, &household).await?;
            out!("{}", with_newline(checked.report().render(format.into())))?;
            if checked.mismatches > 0 {
                return Err(super::Failed(format!("{} balance assertion(s) do not hold", checked.mismatches)).into());
            }
        }
        LedgerCommand::Accounts { household, format } => {
            let vault = Vault::new(store.clone(), master_key()?);
            let ledger = load_ledger(&cx, &household).await?;
            let subject = commands::ledger::household_subject(&household)?;
            let views = queries::ledger::accounts(&ledger, |field, sealed| {
                let (vault, subject) = (&vault, &subject);
                async move {
                    Ok(match vault.open(subject, &field, &sealed).await? {
                        commands::security::vault::Opened::Plain(plain) => Some(plain),
                        commands::security::vault::Opened::Erased => None,
                    })
                }
            })
            .await?;
            out!("{}", with_newline(reports::accounts(&views).render(format.into())))?;
        }
        LedgerCommand::Match { household, account, pay, deferral, years_of_service } => {
            let ledger = load_ledger(&cx, &household).await?;
            let m = ledger.employer_match(&account, pay, deferral, years_of_service).map_err(|e| match e {
                domain::DomainError::NotFound { .. } => {
                    anyhow::anyhow!("{e}; set one with `cairn ledger account --employer-match`")
                }
                e => anyhow::anyhow!("--{e}"),
            })?;
            let (matched, vested) = (m.matched, m.vested_fraction);
            outln!(
                "{}",
                serde_json::json!({
                    "account": account,
                    "employer_match": reports::money(matched),
                    "vested_fraction": vested.normalize().to_string(),
                    "vested_match": reports::money(matched * vested),
                })
            )?;
        }
        read_cmd => return read(&mut Reader::open(store, url).await?, read_cmd).await,
    }
    Ok(())
}

/// The ledger's read commands, answered from the `holdings` read models (caught up first):
/// the reports of [`queries::ledger::report`].
pub(crate) async fn read(reader: &mut Reader, cmd: LedgerCommand) -> anyhow::Result<()> {
    use queries::ledger::{HouseholdReport as R, Request};
    let request = |household: String, year: Option<i32>| Request { household, year, lots_as_of: None };
    let (which, request, format): (_, _, queries::reports::Format) = match cmd {
        LedgerCommand::Contributions { household, year, format } => {
            (R::Contributions, request(household, Some(year)), format.into())
        }
        LedgerCommand::Lots { household, as_of, format } => {
            (R::Lots, Request { household, year: None, lots_as_of: as_of }, format.into())
        }
        LedgerCommand::Gains { household, year, format } => {
            // The boxes read the security master's kinds.
            reader.ready("prices").await?;
            (R::Gains, request(household, Some(year)), format.into())
        }
        LedgerCommand::Positions { household, format } => (R::Positions, request(household, None), format.into()),
        LedgerCommand::Value { household, format } => (R::Value, request(household, None), format.into()),
        LedgerCommand::WashSales { household, format } => (R::WashSales, request(household, None), format.into()),
        other => anyhow::bail!("`ledger {}` records; only reports can be read as of an instant", command_name(&other)),
    };
    let position = reader.ready("holdings").await?;
    let built = queries::ledger::report(reader, which, &request, position).await?;
    emit(reader, &built.report, format, &built.parameters, built.position).await
}

fn command_name(cmd: &LedgerCommand) -> String {
    let debug = format!("{cmd:?}");
    debug.split([' ', '{', '(']).next().unwrap_or_default().to_ascii_lowercase()
}

/// Prints what a ledger command recorded as one JSON object, with `extra` fields merged in.
pub(crate) fn print_outcome(o: &commands::ledger::Outcome, extra: serde_json::Value) -> anyhow::Result<()> {
    let mut out = serde_json::json!({
        "household": o.household,
        "stream_id": o.stream_id,
        "events": o.events.len(),
        "wash_sales_adjusted": o.wash_sales_adjusted(),
        "wash_sales_reversed": o.wash_sales_reversed(),
        "first_position": o.first_position,
        "last_position": o.last_position,
    });
    if let (Some(out), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra) {
        out.extend(extra);
    }
    outln!("{out}")?;
    Ok(())
}

pub(crate) async fn load_ledger(cx: &commands::Context, household: &str) -> anyhow::Result<domain::ledger::Ledger> {
    let (ledger, version) = commands::ledger::load(cx, household).await?;
    if version == 0 {
        anyhow::bail!("household: no ledger for {household:?}; import one with `cairn ledger import`");
    }
    Ok(ledger)
}
