//! `cairn user …`: registration, profile, KYC, roles, MFA, terms and erasure.

use clap::Subcommand;
use commands::security::vault::Vault;
use event_store::Store;

use super::read::emit;
use super::{caller, master_key, outln};

#[derive(Debug, Subcommand)]
pub(crate) enum UserCmd {
    /// Register a user; prints the new user id.
    Register {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        tax_id: Option<String>,
        #[arg(long)]
        born: Option<chrono::NaiveDate>,
        /// The household the user belongs to.
        #[arg(long)]
        household: Option<String>,
    },
    /// Show a user, personal data decrypted (or "erased").
    Show {
        #[arg(long)]
        user: String,
    },
    /// Every user, from the users read model, personal data decrypted at query time ("erased"
    /// after erasure).
    List {
        /// Only users of this household.
        #[arg(long)]
        household: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// Change personal data; fields not given keep their value.
    Profile {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        tax_id: Option<String>,
        #[arg(long)]
        born: Option<chrono::NaiveDate>,
    },
    /// Set the risk profile: tolerance 0 to 1, horizon in years, marginal tax brackets as fractions.
    Risk {
        #[arg(long)]
        user: String,
        #[arg(long)]
        tolerance: rust_decimal::Decimal,
        #[arg(long)]
        horizon: u32,
        #[arg(long)]
        federal_bracket: rust_decimal::Decimal,
        #[arg(long, default_value = "0")]
        state_bracket: rust_decimal::Decimal,
    },
    /// KYC: submit → review → approve or reject; expire after the approval's date.
    Kyc {
        #[command(subcommand)]
        step: KycStep,
    },
    /// Record accredited-investor status: income, net_worth, professional or entity.
    Accredit {
        #[arg(long)]
        user: String,
        #[arg(long)]
        kind: String,
    },
    /// Turn MFA on (prints the new TOTP secret once) or off.
    Mfa {
        #[arg(long)]
        user: String,
        #[arg(value_parser = ["enable", "disable"])]
        action: String,
    },
    /// Grant or revoke a role: client, advisor, auditor, admin.
    Role {
        #[arg(long)]
        user: String,
        #[arg(value_parser = ["grant", "revoke"])]
        action: String,
        #[arg(long)]
        role: String,
    },
    /// Set the password the user signs in with over HTTP, read from the first line of stdin
    /// (checked against the policy: 12+ characters, not breached, not the email; hashed with
    /// Argon2id, cost from CAIRN_ARGON2_* as for `serve`).
    Password {
        #[arg(long)]
        user: String,
    },
    /// Assign a household to an advisor (they may then read and change it).
    Assign {
        #[arg(long)]
        user: String,
        #[arg(long)]
        household: String,
    },
    /// Record acceptance of a terms version.
    Terms {
        #[arg(long)]
        user: String,
        /// The version of the terms accepted.
        #[arg(long = "terms-version")]
        terms_version: String,
    },
    /// Erase the user's personal data: records the request and destroys the user's data key.
    /// The events stay (the chain still verifies); the personal data becomes unreadable.
    Erase {
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KycStep {
    /// Submit documents, each as kind:reference (e.g. passport:vault://docs/123).
    Submit {
        #[arg(long)]
        user: String,
        #[arg(long = "document", required = true)]
        documents: Vec<String>,
    },
    /// Start reviewing a pending submission.
    Review {
        #[arg(long)]
        user: String,
        #[arg(long)]
        reviewer: String,
    },
    /// Approve a submission under review, until an expiry date.
    Approve {
        #[arg(long)]
        user: String,
        #[arg(long)]
        reviewer: String,
        /// When the approval expires (YYYY-MM-DD).
        #[arg(long)]
        expires: chrono::NaiveDate,
    },
    /// Reject a submission under review, with the reason (the user may submit again).
    Reject {
        #[arg(long)]
        user: String,
        #[arg(long)]
        reviewer: String,
        #[arg(long)]
        reason: String,
    },
    /// Mark an approval expired (on or after its expiry date).
    Expire {
        #[arg(long)]
        user: String,
    },
}

pub(crate) async fn user(store: Store, url: &str, cmd: UserCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    use commands::user::{self as users, PersonalData};
    use domain::user::UserCommand as U;
    let vault = Vault::new(store.clone(), master_key()?);
    let who = caller("cairn user");
    let (user_id, done) = match cmd {
        UserCmd::Register { name, email, tax_id, born, household } => {
            let personal = PersonalData { name, email, tax_id, born };
            let id = users::register(&cx, &vault, &personal, household, None, &who).await?;
            outln!("{}", serde_json::json!({ "user_id": id }))?;
            return Ok(());
        }
        UserCmd::List { household, format } => {
            let mut reader = super::read::Reader::open(store.clone(), url).await?;
            let position = reader.ready("people").await?;
            let filters: Vec<(&str, Option<String>)> = household
                .as_deref()
                .map(|h| ("household", Some(domain::ledger::household_key(h))))
                .into_iter()
                .collect();
            let rows = projections::query::records(&reader.db, &projections::people::USERS, &filters).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let id = r.str("user_id");
                let sealed: Option<domain::Sealed> = match r.text("personal_sealed") {
                    Some(h) => Some(sealed_from_hex(h)?),
                    None => None,
                };
                let personal = match sealed {
                    Some(s) if !r.flag("erased") => users::open_personal(&vault, id, &s).await?,
                    _ => None,
                };
                let (name, email) = personal.map_or(("erased".to_owned(), "erased".to_owned()), |p| (p.name, p.email));
                out.push(vec![
                    id.to_owned(),
                    r.str("household").to_owned(),
                    name,
                    email,
                    r.str("kyc_status").to_owned(),
                    r.str("roles").to_owned(),
                    r.flag("mfa_enabled").to_string(),
                    r.flag("erased").to_string(),
                ]);
            }
            let report = queries::reports::Report {
                name: "users",
                columns: vec!["user_id", "household", "name", "email", "kyc_status", "roles", "mfa_enabled", "erased"],
                rows: out,
                totals: Vec::new(),
                summary: Vec::new(),
            };
            let params: Vec<(&str, String)> = household.map(|h| ("household", h)).into_iter().collect();
            return emit(&reader, &report, format, &params, position).await;
        }
        UserCmd::Show { user } => {
            let v = users::show(&cx, &vault, &user).await?;
            outln!(
                "{}",
                serde_json::json!({
                    "user_id": v.user_id,
                    "household": v.household,
                    "erased": v.erased,
                    "name": v.personal.as_ref().map(|p| p.name.clone()),
                    "email": v.personal.as_ref().map(|p| p.email.clone()),
                    "tax_id": v.personal.as_ref().and_then(|p| p.tax_id.clone()),
                    "born": v.personal.as_ref().and_then(|p| p.born),
                    "kyc_status": v.kyc.as_str(),
                    "kyc_expires": v.kyc_expires,
                    "risk_profile": v.risk,
                    "accreditation": v.accreditation,
                    "mfa_enabled": v.mfa_enabled,
                    "roles": v.roles,
                    "terms_version": v.terms_version,
                })
            )?;
            return Ok(());
        }
        UserCmd::Profile { user, name, email, tax_id, born } => {
            let change =
                PersonalData { name: name.unwrap_or_default(), email: email.unwrap_or_default(), tax_id, born };
            let done = users::update_profile(&cx, &vault, &user, change, &who).await?;
            (user, done)
        }
        UserCmd::Risk { user, tolerance, horizon, federal_bracket, state_bracket } => {
            let profile = domain::user::RiskProfile {
                risk_tolerance: tolerance,
                horizon_years: horizon,
                federal_bracket,
                state_bracket,
            };
            let done = users::command(&cx, &user, U::SetRiskProfile(profile), &who).await?;
            (user, done)
        }
        UserCmd::Kyc { step } => {
            let (user, command) = match step {
                KycStep::Submit { user, documents } => {
                    let documents = users::parse_documents(&documents)?;
                    (user, U::SubmitKyc { documents })
                }
                KycStep::Review { user, reviewer } => (user, U::StartKycReview { reviewer }),
                KycStep::Approve { user, reviewer, expires } => (user, U::ApproveKyc { reviewer, expires_at: expires }),
                KycStep::Reject { user, reviewer, reason } => (user, U::RejectKyc { reviewer, reason }),
                KycStep::Expire { user } => (user, U::ExpireKyc),
            };
            let done = users::command(&cx, &user, command, &who).await?;
            (user, done)
        }
        UserCmd::Accredit { user, kind } => {
            let kind = kind.parse().map_err(|e: String| anyhow::anyhow!("--kind: {e}"))?;
            let done = users::command(&cx, &user, U::VerifyAccreditation(kind), &who).await?;
            (user, done)
        }
        UserCmd::Mfa { user, action } => {
            if action == "enable" {
                let secret = users::enable_mfa(&cx, &vault, &user, &who).await?;
                let uri = format!("otpauth://totp/cairn:{user}?secret={secret}&issuer=cairn");
                outln!(
                    "{}",
                    serde_json::json!({ "user_id": user, "mfa_enabled": true, "secret": secret, "otpauth_uri": uri })
                )?;
                return Ok(());
            }
            let done = users::command(&cx, &user, U::DisableMfa, &who).await?;
            (user, done)
        }
        UserCmd::Role { user, action, role } => {
            let role = role.parse().map_err(|e: String| anyhow::anyhow!("--role: {e}"))?;
            let by = who.actor.clone();
            let command = if action == "grant" { U::GrantRole { role, by } } else { U::RevokeRole { role, by } };
            let done = users::command(&cx, &user, command, &who).await?;
            (user, done)
        }
        UserCmd::Password { user } => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let password = line.trim_end_matches(['\n', '\r']).to_owned();
            let view = users::show(&cx, &vault, &user).await?;
            let email = view.personal.map(|p| p.email).unwrap_or_default();
            commands::security::password::Passwords::policy(&password, &email)
                .map_err(|why| anyhow::anyhow!("password: {why}"))?;
            let passwords =
                commands::security::password::Passwords::new(commands::security::password::HashCost::from_env()?)?;
            let hash = passwords.hash(password).await?;
            let done = users::command(&cx, &user, U::SetPassword { hash }, &who).await?;
            (user, done)
        }
        UserCmd::Assign { user, household } => {
            let household = domain::ledger::household_key(&household);
            let done =
                users::command(&cx, &user, U::AssignHousehold { household, by: who.actor.clone() }, &who).await?;
            (user, done)
        }
        UserCmd::Terms { user, terms_version } => {
            let done = users::command(&cx, &user, U::AcceptTerms { version: terms_version }, &who).await?;
            (user, done)
        }
        UserCmd::Erase { user } => {
            users::erase(&cx, &vault, &user, &who.actor.clone(), &who).await?;
            outln!("{}", serde_json::json!({ "user_id": user, "erased": true }))?;
            return Ok(());
        }
    };
    let types: Vec<&str> = done.events.iter().map(|e| e.event_type()).collect();
    outln!("{}", serde_json::json!({ "user_id": user_id, "events": types, "last_position": done.last_position }))?;
    Ok(())
}

fn sealed_from_hex(h: &str) -> anyhow::Result<domain::Sealed> {
    let bytes = hex::decode(h).map_err(|e| anyhow::anyhow!("users read model: sealed data: {e}"))?;
    projections::people::sealed_from(&bytes).map_err(|e| anyhow::anyhow!("users read model: sealed data: {e}"))
}
