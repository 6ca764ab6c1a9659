//! The route table: every operation with its handler. The router, the OpenAPI document and
//! the authorization tests are all built from [`table`].

pub mod account;
pub mod admin;
pub mod alerts;
pub mod households;
pub mod ledger;
pub mod performance;
pub mod quant;
pub mod stream;
pub mod system;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{delete, get, post, put, MethodRouter};

use self::households::Params;
use super::auth::{Principal, RefreshRequest, SignIn, Tokens};
use super::openapi::{schema, Group, Kind, Op, Param};
use super::query::Query;
use super::AppState;
use queries::rows::{GainRows, Rows, View};

const HOUSEHOLD: Param = ("household", "path", true, Kind::Text, "The household's id (as in /v1/households).");
const AS_OF: Param = ("as_of", "query", false, Kind::Instant, "An instant (RFC 3339, or YYYY-MM-DD for all of that day in UTC, up to 23:59:59.999999, as the CLI reads it): answer from the events recorded up to it. Auditors and admins.");
const MIN_POSITION: Param = (
    "min_position",
    "query",
    false,
    Kind::Position,
    "Wait until the read models reflect at least this global position (read your own writes); a position beyond the log's head waits for the head.",
);
const YEAR: Param = ("year", "query", false, Kind::Year, "Only this tax year.");
const READ_PARAMS: &[Param] = &[HOUSEHOLD, AS_OF, MIN_POSITION];
const IF_MATCH: Param = ("If-Match", "header", false, Kind::Version, "The household ledger's version (a command's `version`): the command is refused with 409 `conflict` and the current version if anything else was recorded since.");
const LEDGER_PARAMS: &[Param] = &[HOUSEHOLD, IF_MATCH];
const YEAR_PARAMS: &[Param] = &[HOUSEHOLD, YEAR, AS_OF, MIN_POSITION];

macro_rules! view {
    ($projector:literal, $table:expr, $year:expr, $portfolio:expr) => {
        view!($projector, $table, $year, $portfolio, false)
    };
    ($projector:literal, $table:expr, $year:expr, $portfolio:expr, $totals:expr) => {
        get(|State(s): State<AppState>, p: Principal, Path(h): Path<String>, Query(q): Query<Params>| async move {
            households::household_rows(
                &s,
                &p,
                &h,
                q,
                View { projector: $projector, table: &$table, year: $year, portfolio: $portfolio, totals: $totals },
            )
            .await
        })
    };
}

const fn read(path: &'static str, summary: &'static str, params: &'static [Param]) -> Op {
    let mut op = Op::new("get", path, Group::HouseholdRead, summary);
    op.params = params;
    op.response = (200, Some(schema::<Rows>));
    op
}

fn json_body<T: schemars::JsonSchema>() -> Option<(&'static str, Option<super::openapi::SchemaFn>)> {
    Some(("application/json", Some(schema::<T>)))
}

/// Every operation and its handler.
pub fn table() -> Vec<(Op, MethodRouter<AppState>)> {
    use projections::holdings as h;
    let mut t: Vec<(Op, MethodRouter<AppState>)> = Vec::new();
    let mut add = |op: Op, handler: MethodRouter<AppState>| t.push((op, handler));

    // System and static files.
    add(
        Op {
            response: (200, None),
            ..Op::new("get", "/health", Group::Public, "Liveness: the store answers, with its head position")
        },
        get(system::health),
    );
    add(
        Op {
            description: "Served to loopback clients only, unless CAIRN_METRICS_TOKEN is set: then to any client sending `Authorization: Bearer <that token>` (401 otherwise).",
            ..Op::new("get", "/metrics", Group::Public, "Prometheus metrics (text)")
        },
        get(system::metrics),
    );
    add(Op::new("get", "/openapi.json", Group::Public, "This OpenAPI 3.1 document"), get(system::openapi));
    for (path, _, _) in super::web::FILES {
        add(
            Op::new("get", path, Group::Public, "The web page and the API docs page (static, no external resources)"),
            get(move || async move { super::web::file(path) }),
        );
    }

    // Signing in.
    add(Op { body: json_body::<account::Register>(), response: (202, Some(schema::<account::Registered>)),
        description: "Creates a client with a household of their own (sign in to learn its id). The password must be at least 12 characters, not a known breached password, and not contain the email. The answer is the same 202 whether the email was new or already registered (a taken one changes nothing and is recorded in its owner's security log); 10 registrations per 10 minutes per address (429 with Retry-After).",
        ..Op::new("post", "/v1/auth/register", Group::Public, "Register as a client") }, post(account::register));
    add(Op { body: json_body::<SignIn>(), response: (200, Some(schema::<Tokens>)),
        description: "Rate limited per IP and per account (429 with Retry-After); 5 consecutive failures lock the account for a minute, doubling with each further failure up to an hour. With MFA on, a first attempt without `totp` or `backup_code` answers 401 `mfa-required`. A sign-in from a device not seen before is recorded and flagged (`new_device`).",
        ..Op::new("post", "/v1/auth/login", Group::Public, "Sign in") }, post(account::login));
    add(Op { body: json_body::<RefreshRequest>(), response: (200, Some(schema::<Tokens>)),
        description: "Rotates the refresh token. Presenting a token that was already rotated revokes the whole session (401 `token-reused`).",
        ..Op::new("post", "/v1/auth/refresh", Group::Public, "New tokens for a refresh token") }, post(account::refresh));
    add(
        Op {
            body: json_body::<RefreshRequest>(),
            response: (204, None),
            ..Op::new("post", "/v1/auth/logout", Group::Public, "Sign out: the session's tokens stop working")
        },
        post(account::logout),
    );

    // The signed-in user.
    add(
        Op {
            response: (200, Some(schema::<account::MeView>)),
            ..Op::new("get", "/v1/me", Group::SignedIn, "Who am I")
        },
        get(account::me),
    );
    add(
        Op {
            body: json_body::<account::Empty>(),
            response: (201, Some(schema::<account::MfaSetup>)),
            description:
                "TOTP (RFC 6238: SHA-1, 30 s, 6 digits). The secret and 10 single-use backup codes are shown this once.",
            ..Op::new("post", "/v1/me/mfa", Group::SignedIn, "Turn on multi-factor sign-in")
        },
        post(account::enable_mfa),
    );
    add(
        Op {
            response: (204, None),
            ..Op::new("delete", "/v1/me/mfa", Group::SignedIn, "Turn off multi-factor sign-in")
        },
        delete(account::disable_mfa),
    );
    add(
        Op {
            response: (200, Some(schema::<alerts::PreferencesBody>)),
            description: "How you hear of alerts: channels with the least severity each carries, quiet hours, daily caps, and the phone and push devices used (kept sealed). Empty until set.",
            ..Op::new("get", "/v1/me/alert-preferences", Group::SignedIn, "Your alert preferences")
        },
        get(alerts::get_preferences),
    );
    add(
        Op {
            body: json_body::<alerts::PreferencesBody>(),
            response: (200, Some(schema::<alerts::PreferencesBody>)),
            description: "Replaces your alert preferences (`AlertPreferencesSet` on your user stream; the contacts sealed with your data key). `sms` needs `phone` (E.164), `push` a device; quiet hours across midnight (22:00 to 07:00) hold notifications until they end, except critical ones with `urgent_bypass`. 422 names the field.",
            ..Op::new("put", "/v1/me/alert-preferences", Group::SignedIn, "Set your alert preferences")
        },
        put(alerts::put_preferences),
    );
    add(
        Op {
            body: json_body::<account::KycSubmission>(),
            response: (200, Some(schema::<account::UserChanged>)),
            ..Op::new("post", "/v1/me/kyc", Group::SignedIn, "Submit KYC documents")
        },
        post(account::submit_kyc),
    );

    // Household queries.
    add(
        Op { group: Group::SignedIn, ..read("/v1/households", "The households you may see", &[AS_OF, MIN_POSITION]) },
        get(households::list),
    );
    add(
        Op {
            response: (200, Some(schema::<households::ValueAnswer>)),
            description: "The positions at market value (each symbol at its latest close) plus the accounts' cash, in US dollars with two decimals: each row's amount rounded to cents, then added, so the figures are the sums of the valuations' and accounts' amounts; `unpriced` counts positions without a price (not counted). The web page's total.",
            ..read("/v1/households/{household}/value", "What the household is worth: positions plus cash", READ_PARAMS)
        },
        get(households::value),
    );
    {
        const ACCOUNT: Param = (
            "account",
            "query",
            false,
            Kind::Text,
            "One account (its label); every account of the household when absent.",
        );
        const PORTFOLIO: Param = (
            "portfolio",
            "query",
            false,
            Kind::Text,
            "A portfolio's accounts (its name), counted together; not with `account`.",
        );
        const FROM: Param = (
            "from",
            "query",
            false,
            Kind::Day,
            "The first day of a custom period (performance) or of the income counted.",
        );
        const TO: Param = (
            "to",
            "query",
            false,
            Kind::Day,
            "The last day counted; the household's today (or the as-of instant's day) when absent.",
        );
        const BENCHMARK: Param = ("benchmark", "query", false, Kind::Text, "A symbol (SPY) or a blend rebalanced daily (`60% VTI / 40% BND`, `VTI:60,BND:40`), from the prices read model.");
        const FLOWS: Param = (
            "flows",
            "query",
            false,
            Kind::OneOf(performance::FLOWS),
            "When deposits and withdrawals count: at the start of their day (the default) or at its end.",
        );
        const BY: Param =
            ("by", "query", false, Kind::OneOf(performance::BY), "Totals per month (the default) or per year.");
        const BY_CLASS: Param = (
            "by",
            "query",
            false,
            Kind::OneOf(performance::BY_PERFORMANCE),
            "`asset_class`: also each asset class's periods (`asset_classes`), its positions measured as a portfolio of their own.",
        );
        const PERFORMANCE: &[Param] =
            &[HOUSEHOLD, ACCOUNT, PORTFOLIO, FROM, TO, BENCHMARK, FLOWS, BY_CLASS, AS_OF, MIN_POSITION];
        const INCOME: &[Param] = &[HOUSEHOLD, ACCOUNT, PORTFOLIO, FROM, TO, BY, AS_OF, MIN_POSITION];
        add(
            Op {
                response: (200, Some(schema::<performance::PerformanceAnswer>)),
                description: "Per period (mtd, qtd, ytd, 1y, 3y and 5y when the history covers them, inception, and custom from `from`): opening and closing value, net external flows, gain, income, fees, and returns as fractions with six decimals: time-weighted net and gross of fees (daily linking), annualized past a year, money-weighted (XIRR; the period's own rate within a year; `money_weighted_note` says why there is none), Modified Dietz; with `benchmark`, its return, the excess, tracking error, beta and information ratio. `series` has each day's value, net contributions and growth of 1 (and the benchmark's). With `by=asset_class`, `asset_classes` has each class's periods: its positions alone, buys as money in, sales and income as money out. Amounts in US dollars with two decimals.",
                ..read("/v1/households/{household}/performance", "How the household is doing: returns per period", PERFORMANCE)
            },
            get(performance::performance),
        );
        add(
            Op {
                response: (200, Some(schema::<performance::IncomeAnswer>)),
                description: "Qualified and ordinary dividends and interest per month or year, the trailing twelve months' income, the cost basis of the positions open at the end, and the yield on cost (a fraction).",
                ..read("/v1/households/{household}/income", "Dividends and interest", INCOME)
            },
            get(performance::income),
        );
    }
    add(
        Op {
            response: (200, Some(schema::<performance::HoldingsAnswer>)),
            description: "Every symbol held, across the household's accounts, at the latest close, with its name, asset class, sector and region from the security master (`cairn market securities`; `unclassified` when not described), its weight of the total (positions priced plus cash), and the allocation by asset class, sector, region and account, cash included, largest first. Amounts in US dollars with two decimals, weights as fractions with six.",
            ..read("/v1/households/{household}/holdings", "Consolidated holdings and allocation", READ_PARAMS)
        },
        get(performance::holdings),
    );
    add(
        Op {
            response: (200, Some(schema::<performance::BalancesAnswer>)),
            description: "Every balance assertion of the household checked against its rows: the asserted figure, what the ledger says the account held at the end of that day (every row dated on or before it), the difference, and `ok` or `mismatch` (beyond half a unit of the asserted number's last decimal place, as Beancount does); `mismatches` counts those that do not hold.",
            ..read("/v1/households/{household}/balances", "Balance assertions checked", READ_PARAMS)
        },
        get(performance::balances),
    );
    add(
        Op {
            response: (200, Some(schema::<performance::GoalsAnswer>)),
            description: "The household's goals (`cairn goals list`): what each goal's accounts (or the whole household) are worth at the latest close, the target's present value and the planned monthly contributions' at the goal's expected return, the funded ratio ((current + contributions) / present value), and the probability of reaching the target by its date from the Monte Carlo engine (4,000 paths seeded from the household and the goal, so the same inputs give the same answer), with the return and volatility assumed (the goal's own, else the household's `goal_return` and `goal_volatility` rule settings).",
            ..read("/v1/households/{household}/goals", "Goals and their progress", READ_PARAMS)
        },
        get(performance::goals),
    );
    {
        const TAX: &[Param] = &[
            HOUSEHOLD,
            ("year", "query", true, Kind::Year, "The tax year: 2024, 2025 or 2026."),
            ("wages", "query", false, Kind::Amount, "Wages, salaries, pensions and IRA distributions (0 when absent)."),
            ("other_income", "query", false, Kind::Amount, "Other ordinary income (0 when absent)."),
            ("itemized", "query", false, Kind::Amount, "Itemized deductions; the standard deduction is taken when larger."),
            ("status", "query", false, Kind::OneOf(performance::STATUSES), "The filing status (the ledger's when absent)."),
            ("seniors", "query", false, Kind::Count, "Taxpayers 65 or older at the year's end (from the members' birth dates when absent)."),
            ("blind", "query", false, Kind::Count, "Taxpayers who are blind (0 when absent)."),
            ("carryover_short", "query", false, Kind::Amount, "The short-term loss carried in (computed from the ledger's earlier years when neither carryover is given)."),
            ("carryover_long", "query", false, Kind::Amount, "The long-term loss carried in."),
            AS_OF,
            MIN_POSITION,
        ];
        const ESTATE: &[Param] = &[
            HOUSEHOLD,
            ("year", "query", false, Kind::Year, "The year of death: 2024, 2025 or 2026 (this year when absent)."),
            ("share", "query", false, Kind::Rate, "The decedent's share of the household's accounts (1 when absent)."),
            ("other_assets", "query", false, Kind::Amount, "Assets outside the ledger at their value at death."),
            ("other_liquid", "query", false, Kind::Amount, "Of those, cash or readily sold."),
            ("debts", "query", false, Kind::Amount, "Debts and mortgages (IRC §2053)."),
            ("expenses", "query", false, Kind::Amount, "Funeral and administration expenses (IRC §2053)."),
            ("charitable", "query", false, Kind::Amount, "Bequests to charity (IRC §2055)."),
            ("to_spouse", "query", false, Kind::Amount, "Bequests to the surviving spouse (IRC §2056)."),
            (
                "spouse_citizen",
                "query",
                false,
                Kind::Flag,
                "Whether the surviving spouse is a U.S. citizen (true when absent).",
            ),
            (
                "qdot",
                "query",
                false,
                Kind::Flag,
                "Whether a bequest to a spouse who is not a citizen passes through a qualified domestic trust.",
            ),
            (
                "adjusted_taxable_gifts",
                "query",
                false,
                Kind::Amount,
                "Taxable gifts made after 1976 not in the gross estate.",
            ),
            ("gift_tax_paid", "query", false, Kind::Amount, "The gift tax paid or payable on them."),
            (
                "dsue",
                "query",
                false,
                Kind::Amount,
                "The unused exclusion received from a spouse who died before (portability).",
            ),
            (
                "to_skip_persons",
                "query",
                false,
                Kind::Amount,
                "Bequests to skip persons (grandchildren): direct skips allocated the GST exemption the lifetime gifts left, taxed at 40% times the inclusion ratio.",
            ),
            (
                "death_of",
                "query",
                false,
                Kind::Text,
                "The member who dies: the accounts the member owns plus `share` (one half with a spouse recorded) of those no member owns; the member's recorded gifts and the spouse's split ones; the spouse's recorded citizenship.",
            ),
            (
                "domicile",
                "query",
                false,
                Kind::Text,
                "The decedent's state (two letters) for its estate tax: the decedent's recorded domicile, else the principal's, when absent.",
            ),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::EstateTaxAnswer>)),
                description: "The federal estate tax if the household's decedent died in the year (`cairn estate tax`, Form 706 Part 2): the gross estate (the household's open accounts at the latest closes times `share`, plus `other_assets`), the deductions, the taxable estate, adjusted taxable gifts, the IRC §2001(c) tentative tax, the applicable credit on the basic exclusion amount plus any DSUE, the net estate tax, the marginal and effective rates, the DSUE a surviving spouse could elect, the estate tax of the decedent's state (`domain::state_estate`: the twelve states and D.C. that have one, deducted from the federal taxable estate under §2058), and the liquid assets against what falls due at death. 422 naming the field for a negative amount or a year without amounts.",
                ..read("/v1/households/{household}/estate/tax", "The federal estate tax at death this year", ESTATE)
            },
            get(performance::estate_tax),
        );
        const EDUCATION: &[Param] = &[
            HOUSEHOLD,
            ("name", "query", false, Kind::Text, "The beneficiary's name (it seeds the paths)."),
            ("cost_today", "query", false, Kind::Amount, "A year of school at today's prices; with `enrolment`."),
            ("enrolment", "query", false, Kind::Year, "The first school year; with `cost_today`."),
            ("years", "query", false, Kind::Year, "Years of school, 1 to 10 (4 when absent)."),
            ("account", "query", false, Kind::Text, "A 529 account of the household whose value is the balance."),
            ("balance", "query", false, Kind::Amount, "The balance set aside, when no account is named."),
            ("monthly", "query", false, Kind::Amount, "Saved at each month's end until enrolment."),
            ("inflation", "query", false, Kind::Rate, "Education inflation (0.05 when absent)."),
            ("expected_return", "query", false, Kind::Rate, "The account's expected annual return (0.06)."),
            ("volatility", "query", false, Kind::Rate, "Its annual volatility (0.12)."),
            ("probability", "query", false, Kind::Rate, "The probability the saving should reach the need with (0.8)."),
            ("utma", "query", false, Kind::Amount, "A UTMA/UGMA custodial account's balance: carried to enrolment paying the kiddie tax (IRC §1(g)); needs `magi` or `parent_rate`."),
            ("utma_yield", "query", false, Kind::Rate, "The custodial account's taxable income as a share of its value each year (0.02)."),
            ("parent_rate", "query", false, Kind::Rate, "The parents' marginal rate for the kiddie tax (else the tax engine's on `magi`)."),
            (
                "qualified_expenses",
                "query",
                false,
                Kind::Amount,
                "This year's qualified expenses per student, for the credits.",
            ),
            ("magi", "query", false, Kind::Amount, "Modified AGI: with it, the education credits."),
            (
                "status",
                "query",
                false,
                Kind::OneOf(performance::STATUSES),
                "The filing status for the credits (single when absent).",
            ),
            (
                "state",
                "query",
                false,
                Kind::Text,
                "The household's state, for its deduction of this year's 529 saving.",
            ),
            (
                "state_rate",
                "query",
                false,
                Kind::Rate,
                "The household's marginal state income tax rate (the state's flat rate where it has one).",
            ),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::EducationAnswer>)),
                description: "A beneficiary's college funding (`cairn estate education`): each school year's cost grown by education inflation, the need at enrolment (later years discounted at the return), the 529 account (or balance) projected to enrolment with the monthly saving, the gap and the monthly saving that closes it; the probability the saving reaches the need and the monthly saving that reaches it at `probability` (Monte Carlo, seeded from the household and the name); with `magi`, the American Opportunity and Lifetime Learning credits after their phase-outs (IRC §25A); with `state`, its income tax deduction of this year's saving (`domain::education::STATE_529`) and the tax it saves at `state_rate`; with `utma`, the custodial account carried to enrolment paying the kiddie tax each year (IRC §1(g), Form 8615), beside the same money in a 529, what the student aid formula assesses of each, and the gap once it pays for school. Without `cost_today` and `enrolment`, no beneficiary. 422 naming the parameter.",
                ..read("/v1/households/{household}/estate/education", "Education funding", EDUCATION)
            },
            get(performance::education),
        );
        add(
            Op {
                response: (200, Some(schema::<performance::EntitiesAnswer>)),
                description: "The household's trusts and businesses (`cairn estate entities`): each as set, a business's owners with their interests undiscounted and after the discounts for lack of control and marketability, and the trusts' and businesses' whole values.",
                ..read("/v1/households/{household}/estate/entities", "Trusts and businesses", READ_PARAMS)
            },
            get(performance::estate_entities),
        );
        const STRATEGIES: &[Param] = &[
            HOUSEHOLD,
            ("years", "query", false, Kind::Year, "Years to the death, 1 to 60: when absent, to the principal's expected death (the later of the principal's and the spouse's when both have birth dates) by the members' `lives_to` or Table 2010CM's life expectancy, else 20; the answer's `horizon` says which."),
            ("growth", "query", false, Kind::Rate, "The estate's return a year (0.06)."),
            ("inflation", "query", false, Kind::Rate, "Inflation for the exclusions past cairn's tables (0.025)."),
            ("married", "query", false, Kind::Flag, "A married couple (portability); the ledger's spouse when absent."),
            (
                "donees",
                "query",
                false,
                Kind::Year,
                "Annual exclusion donees; the ledger's children and grandchildren when absent.",
            ),
            ("domicile", "query", false, Kind::Text, "The state for its estate tax; the principal's when absent."),
            ("rate", "query", false, Kind::Rate, "The §7520 rate (the latest published)."),
            ("grat_share", "query", false, Kind::Rate, "The GRATs' share of the estate each cycle (0.3)."),
            ("clat_share", "query", false, Kind::Rate, "The lead trust's share of the estate (0.2)."),
            ("clat_years", "query", false, Kind::Year, "The lead trust's term (the horizon, at most 20)."),
            ("distributions", "query", false, Kind::Rate, "The dynasty trust's distributions a year (0.02)."),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::StrategiesAnswer>)),
                description: "Estate strategies side by side at a death `years` on (`cairn estate strategies`, `domain::strategies`): no planning, annual exclusion gifts, rolling two-year zeroed-out GRATs, a dynasty trust funded with the exclusions, and a zeroed-out charitable lead annuity trust; each with the estate at death, the federal tax (exclusions indexed as the Code rounds them; portability for a couple) and the state's, what the heirs and charities receive and what it saves against no planning; and the dynasty trust over three generations with and without GST exemption. The estate is the household's accounts and the principal's entities. 422 naming the parameter.",
                ..read("/v1/households/{household}/estate/strategies", "Estate strategies compared", STRATEGIES)
            },
            get(performance::estate_strategies),
        );
        const ESTATE_GIFTS: &[Param] = &[
            HOUSEHOLD,
            ("donor", "query", false, Kind::Text, "One member's gifts (every donor's when absent)."),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::EstateGiftsAnswer>)),
                description: "The lifetime gifts recorded on the household's ledger (`cairn estate gifts --household`), donor by donor, each year as Form 709 computes it: each donee's annual exclusion (the larger one for a spouse who is not a citizen), the marital and charitable deductions, split gifts (half each spouse's), 529 gifts spread over five years, the taxable gifts, the tentative tax on all gifts so far less that on earlier ones, the applicable credit and the gift tax, and the basic exclusion left. 422 naming `donor` for someone who is not a member.",
                ..read("/v1/households/{household}/estate/gifts", "Lifetime gifts by donor and year", ESTATE_GIFTS)
            },
            get(performance::estate_gifts),
        );
        add(
            Op {
                response: (200, Some(schema::<performance::TaxAnswer>)),
                description: "A year's federal income tax (`cairn tax estimate`): interest and dividends paid in taxable accounts and the year's Form 8949 sales from the ledger, losses carried from its earlier years, the filing status and the members 65 or older, plus the income given. Taxable income, the tax with qualified dividends and net capital gain stacked at 0/15/20%, the 3.8% net investment income tax, losses carried out, the marginal rates, the distance to the next bracket and to the next Medicare IRMAA tier (premiums two years later), the year's source (Rev. Proc. and CMS notices) and what the estimate leaves out. 422 naming `year` for a year without a table.",
                ..read("/v1/households/{household}/tax/estimate", "A year's federal income tax", TAX)
            },
            get(performance::tax_estimate),
        );
        add(
            Op {
                response: (200, Some(schema::<performance::LocationAnswer>)),
                description: "Asset location (`cairn tax location`): each asset class's dollars in taxable, traditional and Roth accounts now and suggested (the classes whose yields cost the most tax in a taxable account sheltered first, the highest expected returns of those in Roth; each kind of account keeps its dollars), and the yearly tax on the taxable accounts' yields now and suggested at the year's marginal rates (house assumptions per class: `domain::location::ASSUMPTIONS`). Symbols the security master does not classify are listed in `unclassified` and left out.",
                ..read(
                    "/v1/households/{household}/tax/location",
                    "Asset location and its yearly tax saving",
                    &[
                        HOUSEHOLD,
                        ("wages", "query", false, Kind::Amount, "Wages and other ordinary income of the year, for the marginal rates (0 when absent)."),
                        AS_OF,
                        MIN_POSITION,
                    ],
                )
            },
            get(performance::tax_location),
        );
        const ROTH: &[Param] = &[
            HOUSEHOLD,
            ("strategy", "query", false, Kind::OneOf(performance::ROTH_STRATEGIES), "none, bracket (fill `bracket` every year), irmaa (stay within `irmaa_tier`) or optimize (the default: a search over bracket ceilings year by year)."),
            ("bracket", "query", false, Kind::Rate, "The bracket rate to fill: 0.1, 0.12, 0.22, 0.24, 0.32 or 0.35."),
            ("irmaa_tier", "query", false, Kind::OneOf(performance::IRMAA_TIERS), "The IRMAA tier to stay within (0: the standard premium)."),
            ("start_year", "query", false, Kind::Year, "The first year (this year when absent)."),
            ("end_age", "query", false, Kind::Age, "The owner's last age projected (95 when absent)."),
            ("born", "query", false, Kind::Day, "The owner's birth date (the household's oldest member's when absent)."),
            ("spouse_born", "query", false, Kind::Day, "The spouse's (on a joint return, the next member's when absent)."),
            ("status", "query", false, Kind::OneOf(performance::STATUSES), "The filing status (the ledger's when absent)."),
            ("traditional", "query", false, Kind::Amount, "Traditional balance (the household's traditional IRAs, 401(k)s, 403(b)s, SEP and SIMPLE IRAs at the latest closes when absent)."),
            ("roth", "query", false, Kind::Amount, "Roth balance (the household's Roth accounts when absent)."),
            ("taxable", "query", false, Kind::Amount, "Taxable balance (the household's taxable accounts when absent)."),
            ("growth", "query", false, Kind::Rate, "Nominal return a year (0.05)."),
            ("inflation", "query", false, Kind::Rate, "Inflation a year (0.025): grows Social Security and the tax tables after cairn's last."),
            ("wages", "query", false, Kind::Amount, "Wages a year, in the first year's dollars."),
            ("wages_until", "query", false, Kind::Year, "The last year with wages."),
            ("other_income", "query", false, Kind::Amount, "Other ordinary income a year."),
            ("social_security", "query", false, Kind::Amount, "Social Security benefits a year, in the first year's dollars."),
            ("social_security_from", "query", false, Kind::Year, "The first year of benefits."),
            ("convert_until", "query", false, Kind::Year, "No conversions after this year."),
            ("heirs_rate", "query", false, Kind::Rate, "The heirs' tax rate on traditional money left (0.24)."),
            ("paths", "query", false, Kind::Text, "Monte Carlo paths of yearly returns (1 to 10,000) to run the plan and converting nothing on: `monte_carlo` gives after-tax wealth percentiles in today's dollars and the share of paths the plan ends ahead; none when absent."),
            ("volatility", "query", false, Kind::Rate, "The yearly returns' volatility on those paths (0.12); their expected return is `growth`."),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::RothAnswer>)),
                description: "A Roth conversion plan (`cairn tax roth`) against converting nothing: year by year to the horizon age, the RMD (Uniform Lifetime Table, start age by birth date), the conversion (to the top of a bracket, within an IRMAA tier, or chosen by the search), taxable Social Security (IRC 86), the tax and what the RMD and conversion add to it (paid from the RMD, then taxable money, then withheld from the conversion with the 10% additional tax before 59 1/2), IRMAA surcharges two years later, the year converted money is penalty-free (five-year rule), and the balances; after-tax wealth at the horizon (traditional money at the heirs' rate), lifetime tax and IRMAA, nominal and in the first year's dollars; with `paths`, the Monte Carlo distribution of both (the plan's yearly targets applied to each path's balances, the paths seeded from the household). Balances, filing status and birth dates come from the household unless given. 422 naming the field for a bad plan.",
                ..read("/v1/households/{household}/tax/roth", "A Roth conversion plan", ROTH)
            },
            get(performance::tax_roth),
        );
        const PLAN: &[Param] = &[
            HOUSEHOLD,
            ("spending", "query", false, Kind::Amount, "A year's spending after tax, in today's money, from retirement (0)."),
            ("retirement_age", "query", false, Kind::Age, "The age work and contributions stop (retired now when absent)."),
            ("salary", "query", false, Kind::Amount, "Pay a year until then (0)."),
            ("years", "query", false, Kind::Age, "Years to plan, 1 to 100 (to the person's 95th year when absent)."),
            ("paths", "query", false, Kind::Text, "Monte Carlo paths, 1 to 10,000 (2,000)."),
            ("expected_return", "query", false, Kind::Rate, "The portfolio's expected return a year (0.06)."),
            ("volatility", "query", false, Kind::Rate, "Its volatility a year (0.12)."),
            ("inflation", "query", false, Kind::Rate, "Inflation a year (0.025): grows spending, Social Security and the tax tables after cairn's last."),
            ("social_security", "query", false, Kind::Amount, "Social Security a year in today's money (0), taxed by IRC 86."),
            ("social_security_age", "query", false, Kind::Age, "The age benefits start (67)."),
            ("order", "query", false, Kind::OneOf(performance::PLAN_ORDERS), "taxable_first (the default: taxable, traditional, Roth, HSA), proportional (by balance) or bracket (from 59 1/2 traditional money to the top of `bracket` first)."),
            ("bracket", "query", false, Kind::Rate, "For order=bracket: the bracket rate to fill (0.1, 0.12, 0.22, 0.24, 0.32 or 0.35)."),
            ("dividend_yield", "query", false, Kind::Rate, "The taxable accounts' dividends a year as a share of their value, taxed as qualified and reinvested (0)."),
            ("heirs_rate", "query", false, Kind::Rate, "The heirs' tax rate on traditional and HSA money left (0.24)."),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::PlanAnswer>)),
                description: "The household as one Monte Carlo plan (`cairn simulate --household`): its open accounts at the latest closes (taxable basis included) are the starting wealth, its filing status and members' birth dates the person's; on every path (one portfolio at `expected_return` and `volatility`, seeded from the household) contributions stop at `retirement_age`, then each year's spending is paid from Social Security, the RMD and withdrawals in `order`, grossed up for the year's federal tax (cairn's tax engine: brackets, deductions, Social Security by IRC 86, gains at 0/15/20%, NIIT, the 10% additional tax before 59 1/2, IRMAA two years later). Answers the probability every year's spending is paid, wealth (nominal), after-tax wealth, spending and tax (today's money) percentiles per year, lifetime tax, each year's median withdrawals by account type and tax, how it was modelled, and each figure's unit under `units`. 422 naming the parameter for a bad plan, or `household.person.birth_year` when no member has a birth date.",
                ..read("/v1/households/{household}/plan", "A household's Monte Carlo plan", PLAN)
            },
            get(performance::household_plan),
        );
        const SCHEDULE_D: &[Param] =
            &[HOUSEHOLD, ("year", "query", true, Kind::Year, "The tax year: 2024, 2025 or 2026."), AS_OF, MIN_POSITION];
        add(
            Op {
                response: (200, Some(schema::<performance::ScheduleDAnswer>)),
                description: "Schedule D of a year (`cairn tax schedule-d`): the ledger's Form 8949 rows of the year totalled by box (lines 1a and 1b for box A without and with an adjustment, 2 for B, 3 for C; 8a, 8b, 9, 10 for D, E, F), with the rows counted and columns (d) proceeds, (e) cost, (g) adjustments and (h) gain or loss; the losses carried in from earlier years (lines 6 and 14), the nets (7, 15, 16) and the loss deductible this year (21: at most $3,000, $1,500 married filing separately). A row's box comes from its account's basis reporting and whether the shares were covered when bought (the security master's kind). 422 naming `year` for a year without a table.",
                ..read("/v1/households/{household}/tax/schedule-d", "Schedule D by Form 8949 box", SCHEDULE_D)
            },
            get(performance::tax_schedule_d),
        );
    }
    {
        const HARVEST: &[Param] = &[
            HOUSEHOLD,
            ("min_loss", "query", false, Kind::Amount, "The least loss in dollars (the household's `tax_loss_amount` rule setting when absent)."),
            ("min_share", "query", false, Kind::Amount, "The least loss as a fraction of the lot's basis, at most 1 (the household's `tax_loss_share` when absent)."),
            ("wages", "query", false, Kind::Amount, "Wages and other ordinary income of the year, for the marginal rates (0 when absent)."),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::HarvestAnswer>)),
                description: "Tax-loss harvesting candidates (`cairn tax harvest`) on today's date in New York (or `as_of`'s day): open lots of taxable accounts whose loss at the latest close reaches both thresholds, short-term first, each with the tax it saves at the year's marginal rates, `blocked` naming the purchase that would make a sale today a wash sale (the same fund, any share class, bought in any account including IRAs in the last 30 days: IRC 1091, Rev. Rul. 2008-5), the first day it may be bought back, and a replacement tracking a different index; `harvestable_loss` and `tax_value` count the candidates not blocked.",
                ..read("/v1/households/{household}/tax/harvest", "Tax-loss harvesting candidates", HARVEST)
            },
            get(performance::tax_harvest),
        );
        add(
            Op {
                params: &[HOUSEHOLD],
                body: json_body::<performance::HarvestBody>(),
                response: (201, Some(schema::<performance::HarvestAnswer>)),
                description: "Harvests the candidate lots named in `lot_ids` today (the scan of `GET …/tax/harvest` with the same options, at the log's head): each lot's sale by specific identification at the latest close, then its replacement bought with the proceeds in the same account (to 4 decimal places of a share, rounded down), recorded as ledger rows on today's date, all or none. 201 with the scan, `orders` and `recorded` (the rows' ids and positions); 422 naming `lot_ids` for a lot that is not a candidate or is blocked (a wash sale is never booked), or the option at fault.",
                ..Op::new("post", "/v1/households/{household}/tax/harvest", Group::HouseholdWrite, "Harvest losses")
            },
            post(performance::accept_harvest),
        );
        const BACKTEST: &[Param] = &[
            HOUSEHOLD,
            (
                "from",
                "query",
                true,
                Kind::Day,
                "The lots tested are the household's taxable lots open at the end of this day.",
            ),
            ("to", "query", false, Kind::Day, "The last day (today in New York, or `as_of`'s day, when absent)."),
            (
                "min_loss",
                "query",
                false,
                Kind::Amount,
                "The least loss harvested in dollars (the household's `tax_loss_amount` when absent).",
            ),
            (
                "min_share",
                "query",
                false,
                Kind::Amount,
                "The least loss as a fraction of the lot's basis (the household's `tax_loss_share` when absent).",
            ),
            AS_OF,
            MIN_POSITION,
        ];
        add(
            Op {
                response: (200, Some(schema::<performance::BacktestAnswer>)),
                description: "Harvesting back-tested on the stored closes (`cairn tax harvest-backtest`): the household's taxable lots open at the end of `from`, held to `to`, each harvested whenever its loss reaches the thresholds (the proceeds in a replacement assumed to track the same returns; the symbol not harvested again for 31 days); the losses harvested, the yield as the literature reports it (harvested losses ÷ starting balance, in all and a year) and by year, with `method` in words. 422 naming `from` when no lot or no close is there to test.",
                ..read("/v1/households/{household}/tax/harvest/backtest", "Tax-loss harvesting back-test", BACKTEST)
            },
            get(performance::harvest_backtest),
        );
    }
    const MEMBER_PARAMS: &[Param] =
        &[HOUSEHOLD, ("name", "path", true, Kind::Text, "The member's name, unique in the household."), IF_MATCH];
    add(
        Op {
            params: MEMBER_PARAMS,
            body: json_body::<ledger::MemberBody>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Records a household member or changes the details given (`MemberSet` on the household's ledger stream; `cairn ledger member`): birth date, HSA coverage, and for the estate planners the relationship to the household's principal, U.S. citizenship and state of domicile. 201 when recorded, 200 when nothing changed; 422 naming the field (`born`, `relationship` when a principal or spouse is already recorded, `domicile`, `hsa_coverage`).",
            ..Op::new("put", "/v1/households/{household}/members/{name}", Group::HouseholdWrite, "Set a member")
        },
        put(ledger::set_member),
    );
    add(
        Op {
            params: &[HOUSEHOLD, IF_MATCH],
            body: json_body::<ledger::GiftBody>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Records a member's lifetime gift (`GiftRecorded`; `cairn estate gift`), given the id answered in `gift_ids`: dated on or before the household's today (2024 or later), from a member, above 0. A gift to the donor's recorded spouse takes the marital treatment of the spouse's citizenship; a split gift needs the spouse recorded. 422 naming the field (`date`, `amount`, `donor`, `donee`, `kind`, `split`, `superfund_529`).",
            ..Op::new("post", "/v1/households/{household}/gifts", Group::HouseholdWrite, "Record a gift")
        },
        post(ledger::record_gift),
    );
    add(
        Op {
            params: &[
                HOUSEHOLD,
                ("gift", "path", true, Kind::Text, "The gift's id (`G1`, …)."),
                IF_MATCH,
            ],
            body: json_body::<ledger::Cancellation>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Voids a recorded gift, saying why (`GiftRemoved`; it stays in the history). 404 naming `id` when no such gift is in force.",
            ..Op::new("post", "/v1/households/{household}/gifts/{gift}/remove", Group::HouseholdWrite, "Remove a gift")
        },
        post(ledger::remove_gift),
    );
    const ENTITY_PARAMS: &[Param] = &[
        HOUSEHOLD,
        ("name", "path", true, Kind::Text, "The trust's or business's name, unique in the household."),
        IF_MATCH,
    ];
    add(
        Op {
            params: ENTITY_PARAMS,
            body: json_body::<ledger::EntityBody>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Sets the household's trust or business of that name, or replaces it whole (`EntitySet` on the ledger stream; `cairn estate entity`): a trust with its grantor (a member), trustee, beneficiaries and terms, or a business owned in shares by members or other entities, valued whole with its discounts for lack of control and marketability. The estate tax puts each in the decedent's gross estate as the law does (`domain::entities::in_estate`). 201 when recorded, 200 when it was so already; 422 naming the field.",
            ..Op::new("put", "/v1/households/{household}/entities/{name}", Group::HouseholdWrite, "Set a trust or business")
        },
        put(ledger::set_entity),
    );
    add(
        Op {
            params: ENTITY_PARAMS,
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Removes the trust or business (`EntityRemoved`); 404 when there is none of that name, 422 while another entity names it as an owner.",
            ..Op::new("delete", "/v1/households/{household}/entities/{name}", Group::HouseholdWrite, "Remove a trust or business")
        },
        delete(ledger::remove_entity),
    );
    const GOAL_PARAMS: &[Param] =
        &[HOUSEHOLD, ("name", "path", true, Kind::Text, "The goal's name, unique in the household."), IF_MATCH];
    add(
        Op {
            params: GOAL_PARAMS,
            body: json_body::<ledger::GoalBody>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Sets the goal of that name, or replaces it whole (`GoalSet` on the household's ledger stream): a target by a date after the household's today, funded by the accounts named (open ones; every account when none) and a monthly contribution. 201 when recorded, 200 when it was so already; 422 naming the field (`target`, `date`, `accounts`, `monthly_contribution`, `expected_return`, `volatility`, `name`).",
            ..Op::new("put", "/v1/households/{household}/goals/{name}", Group::HouseholdWrite, "Set a goal")
        },
        put(ledger::set_goal),
    );
    add(
        Op {
            params: GOAL_PARAMS,
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Removes the goal (`GoalRemoved`); 404 when the household has no goal of that name.",
            ..Op::new("delete", "/v1/households/{household}/goals/{name}", Group::HouseholdWrite, "Remove a goal")
        },
        delete(ledger::remove_goal),
    );
    add(
        Op {
            response: (200, Some(schema::<performance::RecurringAnswer>)),
            description: "The household's standing instructions (`cairn recurring list`): recurring purchases and dividend reinvestment, each with the next day it buys on or after today in New York (or `as_of`'s day) and why that day (a purchase's schedule moved to the next NYSE session; a reinvestment at the usual interval after the symbol's last dividend in the account, or unknown with fewer than two), and `blocks_harvesting` when that is within 30 days or unknown.",
            ..read("/v1/households/{household}/recurring", "Standing instructions", READ_PARAMS)
        },
        get(performance::recurring),
    );
    const RECURRING_PARAMS: &[Param] = &[
        HOUSEHOLD,
        ("account", "path", true, Kind::Text, "The account's label (an open account)."),
        ("symbol", "path", true, Kind::Text, "The symbol bought."),
        ("kind", "path", true, Kind::Text, "`purchase` (a recurring purchase) or `reinvest` (dividend reinvestment)."),
        IF_MATCH,
    ];
    add(
        Op {
            params: RECURRING_PARAMS,
            body: json_body::<ledger::RecurringBody>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Sets a standing instruction of an open account, or replaces the one of its account, symbol and kind (`RecurringSet` on the household's ledger stream): a `purchase` of `amount` dollars on `first` and every `every` (`week`, `two_weeks`, `month`, `quarter`) after until `last`; a `reinvest` of the symbol's dividends (an empty body). The harvesting scan blocks a loss sale of the same fund, any share class, when one buys within 30 days. 201 when recorded, 200 when it was so already; 422 naming the field.",
            ..Op::new("put", "/v1/households/{household}/recurring/{account}/{symbol}/{kind}", Group::HouseholdWrite, "Set a standing instruction")
        },
        put(ledger::set_recurring),
    );
    add(
        Op {
            params: RECURRING_PARAMS,
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Removes a standing instruction (`RecurringRemoved`); 404 when the account has none of that symbol and kind.",
            ..Op::new("delete", "/v1/households/{household}/recurring/{account}/{symbol}/{kind}", Group::HouseholdWrite, "Remove a standing instruction")
        },
        delete(ledger::remove_recurring),
    );
    // Reports to keep, one path per report (each takes only its own parameters).
    {
        use queries::ledger::HouseholdReport as R;
        const FORMAT: Param = (
            "format",
            "query",
            false,
            Kind::OneOf(crate::http::query::REPORT_FORMATS),
            "json (the default) or csv; the gains report also txf (TXF v042 for tax software).",
        );
        const TAX_YEAR: Param = ("year", "query", true, Kind::Year, "The tax year.");
        const TRADE_DATE: Param = ("trade_date", "query", false, Kind::Day, "The lots as at this trade date.");
        const BY_YEAR: &[Param] = &[HOUSEHOLD, FORMAT, TAX_YEAR, AS_OF, MIN_POSITION];
        const LOTS: &[Param] = &[HOUSEHOLD, FORMAT, TRADE_DATE, AS_OF, MIN_POSITION];
        const PLAIN: &[Param] = &[HOUSEHOLD, FORMAT, AS_OF, MIN_POSITION];
        let reports: [(R, &'static str, &'static str, &'static [Param]); 6] = [
            (
                R::Contributions,
                "/v1/households/{household}/reports/contributions",
                "Contributions report (JSON or CSV, recorded)",
                BY_YEAR,
            ),
            (
                R::Gains,
                "/v1/households/{household}/reports/gains",
                "Form 8949 gains report with each row's box (JSON, CSV or TXF, recorded)",
                BY_YEAR,
            ),
            (R::Lots, "/v1/households/{household}/reports/lots", "Open lots report (JSON or CSV, recorded)", LOTS),
            (
                R::Positions,
                "/v1/households/{household}/reports/positions",
                "Positions report (JSON or CSV, recorded)",
                PLAIN,
            ),
            (R::Value, "/v1/households/{household}/reports/value", "Value report (JSON or CSV, recorded)", PLAIN),
            (
                R::WashSales,
                "/v1/households/{household}/reports/wash-sales",
                "Wash-sale register report (JSON or CSV, recorded)",
                PLAIN,
            ),
        ];
        for (which, path, summary, params) in reports {
            add(
                Op {
                    response: (200, None),
                    description: "The report as `cairn ledger <report> --format json|csv` prints it: JSON with `generated` (report, parameters, position, as_of) and `sha256` (of the compact JSON without it), or CSV ending in a `# sha256:…` line. Each report handed out is recorded as a `ReportGenerated` event with the caller as its actor.",
                    ..read(path, summary, params)
                },
                get(move |State(s): State<AppState>, p: Principal, Path(h): Path<String>, Query(q): Query<households::ReportParams>| {
                    households::report(s, p, h, which, q)
                }),
            );
        }
    }
    add(
        read("/v1/households/{household}/accounts", "Accounts", READ_PARAMS),
        view!("holdings", h::ACCOUNTS, None, false),
    );
    add(
        read(
            "/v1/households/{household}/positions",
            "Positions (quantity and cost basis per account and symbol)",
            READ_PARAMS,
        ),
        view!("holdings", h::POSITIONS, None, false),
    );
    add(
        read(
            "/v1/households/{household}/valuations",
            "Positions at the latest close (market value, unrealized gain)",
            READ_PARAMS,
        ),
        view!("holdings", h::VALUATIONS, None, false),
    );
    add(read("/v1/households/{household}/lots", "Open tax lots", READ_PARAMS), view!("holdings", h::LOTS, None, false));
    add(
        Op {
            response: (200, Some(schema::<GainRows>)),
            description: "The Form 8949 rows, the reportable sales (those of taxable accounts; a sale inside a tax-advantaged account is not reported), as `cairn ledger gains` lists them, and `totals` per term (short, long): each row's amounts rounded to cents, then added, as the CLI states them.",
            ..read("/v1/households/{household}/gains", "Realized gains (Form 8949 rows) with totals per term", YEAR_PARAMS)
        },
        view!("holdings", h::GAINS, Some("date_sold"), false, true),
    );
    add(
        read(
            "/v1/households/{household}/wash-sales",
            "Wash sales, by sale date (then sale, then replacement lot)",
            YEAR_PARAMS,
        ),
        view!("holdings", h::WASH_SALES, Some("sale_date"), false),
    );
    add(
        read("/v1/households/{household}/contributions", "Contributions against the limits", YEAR_PARAMS),
        view!("holdings", h::CONTRIBUTIONS, Some("tax_year"), false),
    );
    add(
        read(
            "/v1/households/{household}/portfolios",
            "Portfolios (market value, drift, needs rebalancing)",
            READ_PARAMS,
        ),
        view!("holdings", h::PORTFOLIOS, None, false),
    );
    add(
        read(
            "/v1/households/{household}/allocations",
            "Allocation against target, per asset (weight, target, drift, beyond_threshold)",
            &[HOUSEHOLD, ("portfolio", "query", false, Kind::Text, "Only this portfolio."), AS_OF, MIN_POSITION],
        ),
        view!("holdings", h::ALLOCATIONS, None, true),
    );
    add(
        Op {
            description: "VaR and CVaR (historical and normal, 1 and 21 trading days, 95% and 99%) as fractions of the market value, annualized volatility, and the Monte Carlo probability of sustaining a 4% inflation-adjusted withdrawal for 30 years, from the portfolio's daily return history at today's weights. Kept up to date by the risk worker; `position` is the worker's checkpoint and each row's `position` that of its inputs. `rows` is empty until the portfolio is first computed.",
            ..read(
                "/v1/households/{household}/portfolios/{portfolio}/risk",
                "A portfolio's risk (VaR, CVaR, volatility, probability of success)",
                &[HOUSEHOLD, ("portfolio", "path", true, Kind::Text, "The portfolio's name."), AS_OF, MIN_POSITION],
            )
        },
        get(households::risk),
    );
    add(
        Op {
            response: (200, Some(schema::<performance::RebalanceAnswer>)),
            description: "A tax-aware rebalancing proposal (`cairn portfolio rebalance`; nothing is booked) on today's date in New York (or `as_of`'s day): the trades that bring every asset back within the portfolio's drift threshold (halfway into its band) at the least tax. New cash first; then sales of taxable lots at a loss, then of sheltered accounts' lots (and losses a recent purchase in a taxable account would wash), then long-term gains from the highest basis; short-term gains only with `short_term=true`. Proceeds buy in their own account; nothing sold at a loss in the last 30 days, or in the plan, is bought (IRC 1091). Each order with its lot, gain and tax at the year's marginal rates; the weights before and after, the remaining drift, cash left and notes on what could not be done. 404 for a portfolio the household does not have; 422 naming `cash_account` for an account outside the portfolio.",
            ..read(
                "/v1/households/{household}/portfolios/{portfolio}/rebalance",
                "A tax-aware rebalancing proposal",
                &[
                    HOUSEHOLD,
                    ("portfolio", "path", true, Kind::Text, "The portfolio's name."),
                    ("cash", "query", false, Kind::Amount, "New money to invest, in dollars (0 when absent)."),
                    ("cash_account", "query", false, Kind::Text, "The account the new money arrives in (the portfolio's first taxable account when absent)."),
                    ("short_term", "query", false, Kind::Flag, "Allow realizing short-term gains (false when absent)."),
                    ("wages", "query", false, Kind::Amount, "Wages and other ordinary income of the year, for the marginal rates (0 when absent)."),
                    AS_OF,
                    MIN_POSITION,
                ],
            )
        },
        get(performance::rebalance),
    );
    add(
        Op {
            params: &[HOUSEHOLD, ("portfolio", "path", true, Kind::Text, "The portfolio's name.")],
            body: json_body::<performance::RebalanceBody>(),
            response: (201, Some(schema::<performance::RebalanceAnswer>)),
            description: "Books today's rebalancing proposal (as `GET …/rebalance` with the same options answers it at the log's head) on the household's ledger: every order a row on today's date at its price, sales of their specific lots, all or none. 201 with the proposal and `recorded` (the rows' ids and positions); 200 with `recorded` absent when there was nothing to trade; 404 for a portfolio the household does not have; 422 naming the field.",
            ..Op::new("post", "/v1/households/{household}/portfolios/{portfolio}/rebalance", Group::HouseholdWrite, "Accept a rebalancing proposal")
        },
        post(performance::accept_rebalance),
    );
    add(
        read(
            "/v1/households/{household}/events",
            "The audit trail: every event of the household, who and through what",
            &[
                HOUSEHOLD,
                ("from", "query", false, Kind::Instant, "From this instant (a bare day: from its first moment, UTC)."),
                ("to", "query", false, Kind::Instant, "Up to this instant (or `as_of`; a bare day: all of it, UTC)."),
            ],
        ),
        get(households::events),
    );
    add(Op { params: &[HOUSEHOLD, ("from", "query", false, Kind::Position, "First global position (default: new events only); a reconnecting client's Last-Event-ID wins.")],
        description: "text/event-stream: one `event` per committed event of the household, data {position, stream, type, version, recorded_at}, id = position.",
        ..Op::new("get", "/v1/households/{household}/stream", Group::HouseholdRead, "Live changes (Server-Sent Events)") }, get(admin::household_stream));

    // Market data.
    add(
        Op {
            params: &[
                ("symbol", "path", true, Kind::Text, "Ticker."),
                ("from", "query", false, Kind::Day, "First day (YYYY-MM-DD)."),
                ("to", "query", false, Kind::Day, "Last day."),
                AS_OF,
                MIN_POSITION,
            ],
            response: (200, Some(schema::<Rows>)),
            ..Op::new("get", "/v1/prices/{symbol}", Group::Market, "Daily bars")
        },
        get(households::prices),
    );
    add(
        Op {
            params: &[
                ("symbol", "path", true, Kind::Text, "Ticker."),
                ("indicator", "query", true, Kind::Text, "Specs, comma-separated: `sma:N`, `ema:N`, `rsi:N`, `macd[:FAST:SLOW:SIGNAL]`, `bbands[:N:K]`, `atr[:N]`, `vol:N`."),
                ("from", "query", false, Kind::Day, "First day shown (earlier days still feed the indicators)."),
                ("to", "query", false, Kind::Day, "Last day."),
                AS_OF,
                MIN_POSITION,
            ],
            response: (200, Some(schema::<performance::IndicatorsAnswer>)),
            description: "Technical indicators over the symbol's recorded closes with TA-Lib's conventions (EMA and RSI seeded with the simple average of the first N, Wilder smoothing for RSI and ATR, Bollinger bands on the population standard deviation): one row per day and output (`rsi_14`, `macd_signal`, `bb_upper`, …), `value` absent before the indicator has enough days.",
            ..Op::new("get", "/v1/prices/{symbol}/indicators", Group::Market, "Technical indicators")
        },
        get(performance::indicators),
    );
    add(
        Op {
            params: &[
                ("symbol", "path", true, Kind::Text, "Ticker."),
                ("from", "query", false, Kind::Day, "First day."),
                ("to", "query", false, Kind::Day, "Last day."),
                AS_OF,
                MIN_POSITION,
            ],
            response: (200, Some(schema::<performance::QualityAnswer>)),
            description: "Each recorded bar's grade (`excellent`, `good`, `fair`, `poor`; absent for a bar imported from a file, which is not checked against its history) with the checks that flagged it and why, and each bar a provider sent that was refused (`status: refused`: a day the NYSE was closed, inconsistent prices, a close more than 5% from the other providers' median), with the reasons. `grades` counts the recorded bars by grade.",
            ..Op::new("get", "/v1/prices/{symbol}/quality", Group::Market, "Data quality")
        },
        get(performance::quality),
    );
    add(
        Op {
            params: &[
                ("symbol", "path", true, Kind::Text, "Ticker."),
                ("price", "query", false, Kind::Text, "The share price to use instead of the latest recorded close."),
            ],
            response: (200, Some(schema::<performance::RatiosAnswer>)),
            description: "A company's financial ratios (P/E, P/B, P/S, PEG, dividend yield, ROE, ROA, gross, operating and net margins, current and quick ratios, debt-to-equity, interest coverage, asset turnover) from its fundamentals, asked of the first configured provider that serves them, at the latest recorded close or `price`. A ratio that cannot be computed has `value` absent and a `reason` (negative earnings, no interest expense, a missing figure). 502 `upstream` when no provider answers; 409 `conflict` when none is configured (`CAIRN_PROVIDERS`).",
            ..Op::new("get", "/v1/prices/{symbol}/ratios", Group::Market, "Financial ratios")
        },
        get(performance::ratios),
    );
    add(
        Op {
            params: &[
                ("symbol", "path", true, Kind::Text, "Ticker."),
                ("from", "query", false, Kind::Day, "First day (a year before `to` by default)."),
                ("to", "query", false, Kind::Day, "Last day (today by default)."),
            ],
            response: (200, Some(schema::<performance::ActionsAnswer>)),
            description: "Splits and dividends the first configured provider serving corporate actions reports for the symbol, each as a suggestion for every household holding it now (that the caller may see): the shares a split would make, the cash a dividend would pay. Nothing is booked: record what the broker confirms with `POST /v1/households/{household}/corporate-actions` or a dividend row. 502 `upstream` when no provider answers; 409 `conflict` when none is configured (`CAIRN_PROVIDERS`).",
            ..Op::new("get", "/v1/prices/{symbol}/actions", Group::Market, "Corporate action suggestions")
        },
        get(performance::actions),
    );

    add(
        Op {
            params: &[
                ("symbol", "path", true, Kind::Text, "Ticker."),
                ("date", "query", false, Kind::Day, "The day (today in New York by default)."),
                ("minutes", "query", false, Kind::Text, "The window length in minutes, 1 to 60 (1 by default)."),
            ],
            response: (200, Some(schema::<workers::market::intraday::Day>)),
            description: "A day's intraday aggregates, asked live of the first configured provider that serves them (Polygon, Alpaca) and not recorded: one window per `minutes` that traded, its start (`at` in UTC, `time` in New York) and `session` (`pre`, `regular`, `post`: the NYSE's core session of that day, `regular_hours`, which closes at 13:00 on an early-close day), and the regular session's open, high, low, close, volume and volume-weighted VWAP (`regular`). 422 for a `minutes` outside 1 to 60; 502 `upstream` when no provider answers; 409 `conflict` when none is configured (`CAIRN_PROVIDERS`).",
            ..Op::new("get", "/v1/prices/{symbol}/intraday", Group::Market, "Intraday aggregates")
        },
        get(performance::intraday),
    );

    add(
        Op {
            params: &[
                ("from", "query", true, Kind::Day, "First day."),
                ("to", "query", true, Kind::Day, "Last day (at most 10,000 days after `from`)."),
                ("closed", "query", false, Kind::Flag, "`true`: list the closed days too, with why."),
            ],
            response: (200, Some(schema::<performance::SessionsAnswer>)),
            description: "The NYSE's sessions (`domain::calendar`): open and close in New York (`HH:MM`) and as UTC instants, with daylight saving time; `early_close` (13:00: the day before Independence Day, the day after Thanksgiving, Christmas Eve); `settlement_day` (DTC and Federal Reserve business days: Columbus Day trades but does not settle). With `closed=true`, the days without a session too, `reason` saying why (weekend, holiday, special closing). Needs no read model.",
            ..Op::new("get", "/v1/calendar/sessions", Group::Market, "Trading sessions")
        },
        get(performance::sessions),
    );
    add(
        Op {
            params: &[
                ("funding", "query", true, Kind::Amount, "What the grantor puts in the trust."),
                ("years", "query", true, Kind::Year, "The term in years, 1 to 50."),
                ("rate", "query", false, Kind::Rate, "The §7520 rate (0.052)."),
                ("month", "query", false, Kind::Text, "A month whose published §7520 rate to take (YYYY-MM)."),
                ("afr_120", "query", false, Kind::Rate, "120% of the mid-term AFR: the rate is it rounded to the nearest 0.2%."),
                ("step_up", "query", false, Kind::Rate, "Each payment's growth over the one before, 0 to 0.2."),
                ("payment", "query", false, Kind::Amount, "The first payment (the zeroed-out GRAT's when absent)."),
                ("expected_return", "query", false, Kind::Rate, "The trust's assumed annual return (the rate plus 0.03)."),
                ("volatility", "query", false, Kind::Rate, "Its annual volatility (0.15)."),
            ],
            response: (200, Some(schema::<queries::estate::GratAnswer>)),
            description: "A grantor retained annuity trust (`cairn estate grat`, IRC §2702): the §7520 rate (given, a published month's with its revenue ruling, 120% of the mid-term AFR rounded to the nearest 0.2%, or the latest month cairn has), the annuity paid at each year's end (zeroed out unless `payment`; growing by `step_up`), its value by Table B and the remainder's, the taxable gift; what passes to the remaindermen at the expected return every year, and over 10,000 seeded paths of annual returns (percentiles, mean, the chance anything passes). 422 naming the parameter.",
            ..Op::new("get", "/v1/estate/grat", Group::SignedIn, "A GRAT's gift and what it passes")
        },
        get(performance::grat),
    );
    add(
        Op {
            params: &[
                ("kind", "query", true, Kind::OneOf(performance::CHARITABLE_KINDS), "crat, crut (remainder trusts), clat or clut (lead trusts)."),
                ("funding", "query", true, Kind::Amount, "What the donor puts in the trust."),
                ("payout_rate", "query", false, Kind::Rate, "The payout as a share of the funding (of each year's value for a unitrust)."),
                ("payment", "query", false, Kind::Amount, "An annuity trust's yearly payment instead (a lead annuity trust without either is zeroed out)."),
                ("years", "query", false, Kind::Year, "A term of years, 1 to 100."),
                ("age", "query", false, Kind::Age, "Or the life of one this old at the nearest birthday."),
                ("age2", "query", false, Kind::Age, "With `age`, a second life: the trust pays until the last of the two dies."),
                ("rate", "query", false, Kind::Rate, "The §7520 rate (0.05)."),
                ("month", "query", false, Kind::Text, "A month whose published §7520 rate to take (YYYY-MM)."),
                ("afr_120", "query", false, Kind::Rate, "120% of the mid-term AFR: the rate is it rounded to the nearest 0.2%."),
                ("frequency", "query", false, Kind::OneOf(performance::FREQUENCIES), "Payments a year (1)."),
                ("timing", "query", false, Kind::OneOf(performance::TIMINGS), "At each period's end (the default) or beginning."),
                ("months_to_first", "query", false, Kind::OneOf(performance::MONTHS), "A unitrust's one annual payment this many months after funding."),
            ],
            response: (200, Some(schema::<queries::estate::CharitableAnswer>)),
            description: "A charitable remainder or lead trust (`cairn estate charitable`; IRC §664, §170(f)(2)(B)) for a term, one life, or two lives to the last death (`age2`) at the §7520 rate (as for a GRAT): the payments' value and the remainder's by the IRS's tables on Table 2010CM (B, S, R(2), D, U(1), U(2), F, K), the charitable deduction (a remainder trust's remainder; a lead trust's payments, whose remainder to the family is a taxable gift), and for a remainder trust §664(d)'s tests (payout 5% to 50%, term at most 20 years, remainder at least 10%) and, for an annuity trust for one life or two, Rev. Rul. 77-374's 5% chance of outliving the trust (for two, that either is alive), with when it would run dry. 422 naming the parameter.",
            ..Op::new("get", "/v1/estate/charitable", Group::SignedIn, "A charitable trust's deduction and tests")
        },
        get(performance::charitable),
    );
    add(
        Op {
            params: &[
                ("income", "query", true, Kind::Amount, "The first year's income (the AGI)."),
                ("income_growth", "query", false, Kind::Rate, "Its growth a year (0.03)."),
                ("status", "query", false, Kind::OneOf(performance::STATUSES), "The filing status (married filing jointly)."),
                ("other_itemized", "query", false, Kind::Amount, "Itemized deductions other than gifts."),
                ("annual", "query", true, Kind::Amount, "Given each year."),
                ("property", "query", false, Kind::OneOf(performance::PROPERTIES), "cash (default) or appreciated publicly traded stock."),
                ("basis", "query", false, Kind::Rate, "Appreciated stock's basis as a share of its value (0.2)."),
                ("years", "query", false, Kind::Year, "Years of giving (20)."),
                ("start", "query", false, Kind::Year, "The first year (this year)."),
                ("bunch", "query", false, Kind::Year, "The donor-advised fund takes this many years' gifts at once (5)."),
                ("investment_return", "query", false, Kind::Rate, "What the fund and the foundation earn a year (0.06)."),
            ],
            response: (200, Some(schema::<queries::philanthropy::GivingAnswer>)),
            description: "A giving plan through three vehicles side by side (`cairn estate philanthropy`): gifts straight to public charities, a donor-advised fund funded in bunches, and a private foundation (1.39% excise on investment income, IRC §4940; 5% payout, §4942). Each year's deduction under §170(b)'s AGI limits (cash 60% and appreciated stock 30% to public charities; 30% and 20% to a private foundation), five-year carryovers (§170(d)) and from 2026 the 0.5% floor, and the income tax it saves through the tax engine; totals per vehicle: deductions, tax saved, carryovers lapsed, excise, assets left, capital gain avoided, net cost. 422 naming the parameter.",
            ..Op::new("get", "/v1/estate/philanthropy", Group::SignedIn, "A giving plan by vehicle")
        },
        get(performance::philanthropy),
    );
    add(
        Op {
            body: json_body::<queries::estate::SuccessionPlan>(),
            response: (200, Some(schema::<queries::estate::SuccessionAnswer>)),
            description: "A closely held business valued and its succession paths compared (`cairn estate succession`, `domain::succession`; nothing is recorded): the income approach (free cash flows and a Gordon terminal value at a build-up discount rate), the market approach (EBITDA times a multiple less net debt) and the asset approach, weighed; the owner's share before and after the discounts for lack of control and marketability; and a gift to the family, an installment sale to a grantor trust for a note at the AFR, a management buyout, a third-party sale and a sale to an ESOP (§1042's deferral for a C corporation), by gift and capital gain tax, cash to the owner, what stays in the estate and who controls the business after. 422 naming the field.",
            ..Op::new("post", "/v1/estate/succession", Group::SignedIn, "A business's succession paths")
        },
        post(performance::succession),
    );
    add(
        Op {
            body: json_body::<simulations::curve::CurveRequest>(),
            response: (200, Some(schema::<simulations::curve::CurveResult>)),
            description: "A yield curve from zero rates or par yields (bootstrapped: a bill up to one coupon period, par bonds beyond), read at any time with flat-forward, linear-zero or monotone-convex (Hagan-West) interpolation: zero rates, discount factors and instantaneous forwards (`cairn quant curve`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/curve", Group::SignedIn, "A yield curve")
        },
        post(quant::curve),
    );
    add(
        Op {
            body: json_body::<simulations::liabilities::LiabilityRequest>(),
            response: (200, Some(schema::<simulations::liabilities::LiabilityResult>)),
            description: "Liability cash flows (or a growing annuity, optionally indexed to inflation) on a yield curve: present value, internal rate, Macaulay and modified duration and convexity, DV01, effective duration and convexity, key-rate DV01s by the curve's input tenors, inflation DV01, and with the plan's assets its funded ratio, surplus and interest-rate and inflation hedge ratios (`cairn quant liabilities`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/liabilities", Group::SignedIn, "Liabilities on a curve")
        },
        post(quant::liabilities),
    );
    add(
        Op {
            body: json_body::<simulations::ldi::HedgeRequest>(),
            response: (200, Some(schema::<simulations::ldi::HedgeResult>)),
            description: "The least-cost bond portfolio matching liabilities' key-rate DV01s within a tolerance, at a hedge ratio given or read from a de-risking glide path at the plan's funded ratio (a linear program solved with Clarabel; the least-squares mix, marked not exact, where none matches) (`cairn quant hedge`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/hedge", Group::SignedIn, "A liability hedge")
        },
        post(quant::hedge),
    );
    add(
        Op {
            body: json_body::<simulations::alm::AlmRequest>(),
            response: (200, Some(schema::<simulations::alm::AlmResult>)),
            description: "A pension plan's assets and liabilities projected on the economic scenario generator's scenarios (`cairn quant alm`; nothing is recorded): funded-ratio and surplus percentiles per year, underfunding probability, surplus at risk and conditional surplus at risk, contributions under a simplified minimum-funding rule and PBGC premiums. 422 naming the field.",
            ..Op::new("post", "/v1/quant/alm", Group::SignedIn, "A pension projection")
        },
        post(quant::alm),
    );
    add(
        Op {
            body: json_body::<simulations::alm::AlmOptRequest>(),
            response: (200, Some(schema::<simulations::alm::AlmOptResult>)),
            description: "The asset mix minimising surplus-return variance for a required surplus return, long-only (Clarabel) (`cairn quant alm-optimise`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/alm-optimise", Group::SignedIn, "ALM optimisation")
        },
        post(quant::alm_optimise),
    );
    add(
        Op {
            body: json_body::<simulations::bonds::BondRequest>(),
            response: (200, Some(schema::<simulations::bonds::BondResult>)),
            description: "A fixed-rate bond at settlement (`cairn quant bond`; nothing is recorded): price from yield or yield from a clean or dirty price, accrued interest (negative ex-coupon), Macaulay, modified and simple duration, convexity, basis point value and the cash flows, with 30/360, ACT/ACT ICMA, ACT/365F and ACT/360 day counts as QuantLib's BondFunctions compute them; dates are not moved for holidays. 422 naming the field.",
            ..Op::new("post", "/v1/quant/bond", Group::SignedIn, "A bond's price, yield and risk")
        },
        post(quant::bond),
    );
    add(
        Op {
            body: json_body::<simulations::execution::AcRequest>(),
            response: (200, Some(schema::<simulations::execution::AcResult>)),
            description: "Almgren-Chriss (2000) optimal execution (`cairn quant almgren-chriss`; nothing is recorded): the trajectory minimising expected cost plus risk aversion times variance under linear permanent and temporary impact, with drift, its expected cost, variance, half-life and value at risk, the straight line beside it, and the efficient frontier over log-spaced risk aversions when asked. 422 naming the field.",
            ..Op::new("post", "/v1/quant/almgren-chriss", Group::SignedIn, "An optimal execution trajectory")
        },
        post(quant::almgren_chriss),
    );
    add(
        Op {
            body: json_body::<simulations::execution::ScheduleRequest>(),
            response: (200, Some(schema::<simulations::execution::ScheduleResult>)),
            description: "An execution schedule (`cairn quant schedule`; nothing is recorded): TWAP, VWAP against a volume profile, POV at a participation rate, or implementation shortfall (Almgren-Chriss), priced under the same impact model, with the square-root market-impact estimate when price and average daily volume are given. 422 naming the field.",
            ..Op::new("post", "/v1/quant/schedule", Group::SignedIn, "An execution schedule and its cost")
        },
        post(quant::schedule),
    );
    add(
        Op {
            body: json_body::<simulations::execution::TcaRequest>(),
            response: (200, Some(schema::<simulations::execution::TcaResult>)),
            description: "Transaction-cost analysis of executed orders (`cairn quant tca`; nothing is recorded): per order Perold's implementation shortfall against arrival split into delay, spread, impact, opportunity cost and fees, in dollars and basis points, slippage against the interval VWAP and the close; per algorithm the value-weighted averages; and a best-execution summary. 422 naming the field.",
            ..Op::new("post", "/v1/quant/tca", Group::SignedIn, "Transaction-cost analysis")
        },
        post(quant::tca),
    );
    add(
        Op {
            body: json_body::<simulations::glide::GlideRequest>(),
            response: (200, Some(schema::<simulations::glide::GlideResult>)),
            description: "A target-date glide path (linear, convex or concave decline; to or through retirement; shifted for risk tolerance and funded status) evaluated on simulated stock and bond markets for a saver who contributes then withdraws: success probability, mean shortfall, wealth at retirement and at the end, beside Vanguard's published Target Retirement path on the same paths (`cairn quant glide-path`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/glide-path", Group::SignedIn, "A glide path evaluated")
        },
        post(quant::glide_path),
    );
    add(
        Op {
            body: json_body::<simulations::risk_budget::FactorRequest>(),
            response: (200, Some(schema::<simulations::risk_budget::FactorResult>)),
            description: "Risk by factor (equity, rates, credit, inflation or any named) and by asset for a factor model, or the weights meeting factor risk budgets (risk budgeting of the factor covariance, then the smallest weights with those exposures) (`cairn quant factor-risk`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/factor-risk", Group::SignedIn, "Factor risk budgeting")
        },
        post(quant::factor_risk),
    );
    add(
        Op {
            body: json_body::<simulations::risk_budget::VolTargetRequest>(),
            response: (200, Some(schema::<simulations::risk_budget::VolTargetResult>)),
            description: "Volatility targeting: each period's leverage the target over the EWMA volatility forecast, capped, with the scaled returns and their realised volatility beside the unscaled (`cairn quant vol-target`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/vol-target", Group::SignedIn, "Volatility targeting")
        },
        post(quant::vol_target),
    );
    add(
        Op {
            body: json_body::<simulations::stress::StressRequest>(),
            response: (200, Some(schema::<simulations::stress::StressResult>)),
            description: "A portfolio with its liabilities and futures overlays under historical (2008, 2013 taper tantrum, 2020 COVID, 2022 rates) and hypothetical (stagflation, deflation, parallel shifts, an equity crash with correlation breakdown) scenarios, or the caller's own: P&L by holding, funded status and surplus, DV01 mismatch and margin needs against liquid assets (`cairn quant stress`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/stress", Group::SignedIn, "Stress tests")
        },
        post(quant::stress),
    );
    add(
        Op {
            body: json_body::<simulations::overlays::OverlayRequest>(),
            response: (200, Some(schema::<simulations::overlays::OverlayResult>)),
            description: "An overlay sized and costed: a duration overlay with Treasury futures, currency hedges by covered interest parity, an equity beta change with index futures, or a tail hedge with a put spread priced by Black-Scholes-Merton (`cairn quant overlay`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/overlay", Group::SignedIn, "An overlay sized")
        },
        post(quant::overlay),
    );
    add(
        Op {
            body: json_body::<simulations::esg::CarbonRequest>(),
            response: (200, Some(schema::<simulations::esg::CarbonResult>)),
            description: "A portfolio's carbon metrics from provider data (`cairn quant esg-carbon`; nothing is recorded): WACI (TCFD), PCAF financed emissions and footprint with the data-quality score and coverage, implied temperature scores aggregated as the SBTi finance tool does (WATS, TETS, MOTS, EOTS, ECOTS, AOTS, ROTS), and carbon VaR under a carbon-price path. The companies may come as a provider CSV file in `companies_csv` (the format of `cairn quant esg-carbon --help`); a bad file is a 422 naming `companies_csv`, with the line and column in the detail and the line in `line`. 422 naming the field.",
            ..Op::new("post", "/v1/quant/esg-carbon", Group::SignedIn, "Carbon metrics and temperature")
        },
        post(quant::esg_carbon),
    );
    add(
        Op {
            body: json_body::<simulations::esg::ScreenRequest>(),
            response: (200, Some(schema::<simulations::esg::ScreenResult>)),
            description: "ESG screens (`cairn quant esg-screen`; nothing is recorded): sector, controversy and norms-based exclusions, a minimum score, best-in-class by sector and thematic minimums, with each exclusion's reasons. The companies may come as a provider CSV file in `companies_csv` (the format of `cairn quant esg-carbon --help`); a bad file is a 422 naming `companies_csv`, with the line and column in the detail and the line in `line`. 422 naming the field.",
            ..Op::new("post", "/v1/quant/esg-screen", Group::SignedIn, "ESG screens")
        },
        post(quant::esg_screen),
    );
    add(
        Op {
            body: json_body::<simulations::esg::OptimiseRequest>(),
            response: (200, Some(schema::<simulations::esg::OptimiseResult>)),
            description: "Dual-objective optimisation (`cairn quant esg-optimise`; nothing is recorded): expected return less risk aversion times variance plus impact weight times the ESG or SDG score, under weight caps, a WACI limit, a minimum SDG-aligned share, sector caps and exclusions (Clarabel), and the frontier between the two objectives. The companies may come as a provider CSV file in `companies_csv` (the format of `cairn quant esg-carbon --help`); a bad file is a 422 naming `companies_csv`, with the line and column in the detail and the line in `line`. 422 naming the field.",
            ..Op::new("post", "/v1/quant/esg-optimise", Group::SignedIn, "ESG-constrained optimisation")
        },
        post(quant::esg_optimise),
    );
    add(
        Op {
            body: json_body::<simulations::esg::ImpactRequest>(),
            response: (200, Some(schema::<simulations::esg::ImpactReport>)),
            description: "An impact report (`cairn quant impact-report`; nothing is recorded): value-weighted E, S and G scores, financed emissions and footprint with equivalents, temperature score, SDG breakdown and theme exposure. The companies may come as a provider CSV file in `companies_csv` (the format of `cairn quant esg-carbon --help`); a bad file is a 422 naming `companies_csv`, with the line and column in the detail and the line in `line`. 422 naming the field.",
            ..Op::new("post", "/v1/quant/impact-report", Group::SignedIn, "An impact report")
        },
        post(quant::impact_report),
    );
    add(
        Op {
            body: json_body::<simulations::alternatives::PacingRequest>(),
            response: (200, Some(schema::<simulations::alternatives::PacingResult>)),
            description: "Private-equity commitment pacing by the Takahashi-Alexander (Yale) model: calls, distributions, net cash flow, NAV and unfunded commitments by calendar year over several vintages, and the NAV's share of a growing portfolio (`cairn quant pe-pacing`; nothing is recorded). A client needs accredited-investor status recorded (SEC Rule 501(a)); else 403. 422 naming the field.",
            ..Op::new("post", "/v1/quant/pe-pacing", Group::SignedIn, "Private-equity pacing")
        },
        post(quant::pe_pacing),
    );
    add(
        Op {
            body: json_body::<simulations::alternatives::CryptoRequest>(),
            response: (200, Some(schema::<simulations::alternatives::CryptoResult>)),
            description: "Crypto sizing: maximum-Sharpe weights with per-asset caps, a minimum market cap and a cap on the crypto total (`cairn quant crypto`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/crypto", Group::SignedIn, "Crypto sizing")
        },
        post(quant::crypto),
    );
    add(
        Op {
            body: json_body::<simulations::alternatives::InflationRequest>(),
            response: (200, Some(schema::<simulations::alternatives::InflationResult>)),
            description: "Each asset's inflation beta by OLS (t-stat, R²) and the weight that brings a portfolio's inflation beta to a target (`cairn quant inflation-beta`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/inflation-beta", Group::SignedIn, "Inflation betas")
        },
        post(quant::inflation_beta),
    );
    add(
        Op {
            body: json_body::<simulations::alternatives::ReitRequest>(),
            response: (200, Some(schema::<simulations::alternatives::ReitResult>)),
            description: "REIT sector allocation by mean-variance within bounds (`cairn quant reit-sectors`; nothing is recorded). 422 naming the field.",
            ..Op::new("post", "/v1/quant/reit-sectors", Group::SignedIn, "REIT sectors")
        },
        post(quant::reit_sectors),
    );
    add(
        Op {
            body: json_body::<simulations::alternatives::LiquidityRequest>(),
            response: (200, Some(schema::<simulations::alternatives::LiquidityResult>)),
            description: "A whole portfolio's liquidity (`cairn quant liquidity`; nothing is recorded): what can be sold within 1, 7, 30, 90 and 365 days given listed holdings' days to sell and funds' lock-ups, notice, redemption intervals and gates, each requirement met or not, and unfunded commitments against what can be sold in time. 422 naming the field.",
            ..Op::new("post", "/v1/quant/liquidity", Group::SignedIn, "Portfolio liquidity")
        },
        post(quant::liquidity),
    );
    add(
        Op {
            params: &[("after", "query", false, Kind::Text, "An RFC 3339 instant (now by default).")],
            response: (200, Some(schema::<queries::calendar::Next>)),
            description: "The NYSE's next opening or closing strictly after `after`, the session it belongs to, and whether the exchange is in a session at `after` (`open_now`).",
            ..Op::new("get", "/v1/calendar/next", Group::Market, "Next opening or closing")
        },
        get(performance::next_edge),
    );
    // Household commands.
    let row_op = |path: &'static str, summary: &'static str, row: super::openapi::SchemaFn| {
        Op {
        params: LEDGER_PARAMS, body: Some(("application/json", Some(row))), response: (201, Some(schema::<ledger::Recorded>)),
        description: "One ledger row in the CSV import's columns, checked exactly as an import checks it. Answers 201 with what was recorded (200 with 0 events when an Idempotency-Key retry finds it recorded).",
        ..Op::new("post", path, Group::HouseholdWrite, summary)
    }
    };
    add(
        row_op(
            "/v1/households/{household}/trades",
            "Record a trade (buy, sell, dividend, interest, deposit, withdrawal, fee, transfer)",
            ledger::trade_schema,
        ),
        ledger::trade(),
    );
    add(
        row_op("/v1/households/{household}/contributions", "Record a contribution", ledger::contribution_schema),
        ledger::contribution(),
    );
    add(
        row_op(
            "/v1/households/{household}/corporate-actions",
            "Record a corporate action (split, symbol change, merger, spin-off)",
            ledger::corporate_action_schema,
        ),
        ledger::corporate_action(),
    );
    const IMPORT: &[Param] = &[
        HOUSEHOLD,
        ("allow_duplicates", "query", false, Kind::Flag, "true records rows already recorded for the household again (default false: they are skipped and counted in `duplicates`)."),
        ("format", "query", false, Kind::OneOf(ledger::IMPORT_FORMATS), "`csv` (the default: cairn's ledger CSV), a broker's export (`schwab`: Charles Schwab's transaction history CSV; `fidelity`: Fidelity's account history download, Activity & Orders → Download; `vanguard`: Vanguard's brokerage transaction download, holdings then transactions; `ibkr`: an Interactive Brokers Flex Query CSV, Trades and Cash Transactions, in any currency with the file's rates to a US-dollar base; `ofx`: an OFX investment statement, version 1.x SGML or 2.x XML, `.ofx` or `.qfx`), or `auto` (a broker's export recognised from its first lines, else the ledger CSV); without it, a body sent as `application/x-ofx` or `application/vnd.intu.qfx` is read as `ofx`. The answer's `format` says which was read."),
        ("account", "query", false, Kind::Text, "The account a broker's export belongs to (its label in the ledger); required for one, refused for the ledger CSV."),
        ("account_type", "query", false, Kind::Text, "The account's type where it is new (taxable, roth_ira, …)."),
        ("skip_unknown", "query", false, Kind::Flag, "true skips (and lists under `skipped`) a broker export's entries of actions the mapping does not record, instead of refusing the file."),
    ];
    add(Op { params: IMPORT, body: Some(("text/csv", None)), response: (201, Some(schema::<ledger::Imported>)),
        description: "The body is a ledger CSV file, the format `cairn ledger import` takes, or a broker's export (`format`), sent as `text/csv` (an OFX statement may also be sent as `application/x-ofx` or `application/vnd.intu.qfx`; any other type is refused with 415); all or nothing (a bad row refuses the file, naming its line and field). Rows already recorded for the household (same `id`, or same fields) are skipped and counted in `duplicates`; `warnings` name rows dated on days the NYSE was closed and rows taking an account's cash below zero. Up to 32 MiB.",
        ..Op::new("post", "/v1/households/{household}/imports", Group::HouseholdWrite, "Import a ledger CSV or a broker's export") },
        post(ledger::import).layer(DefaultBodyLimit::max(super::IMPORT_BODY_LIMIT)));
    const TRADE: &[Param] = &[HOUSEHOLD, ("trade_id", "path", true, Kind::Text, "The row's id (T1, T2, …)."), IF_MATCH];
    add(
        Op {
            params: TRADE,
            body: json_body::<ledger::Correction>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            ..Op::new(
                "post",
                "/v1/households/{household}/trades/{trade_id}/correct",
                Group::HouseholdWrite,
                "Correct a recorded row",
            )
        },
        post(ledger::correct),
    );
    add(
        Op {
            params: TRADE,
            body: json_body::<ledger::Cancellation>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            ..Op::new(
                "post",
                "/v1/households/{household}/trades/{trade_id}/cancel",
                Group::HouseholdWrite,
                "Cancel a recorded row",
            )
        },
        post(ledger::cancel),
    );
    add(
        Op {
            params: LEDGER_PARAMS,
            body: json_body::<ledger::NewAccount>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            ..Op::new("post", "/v1/households/{household}/accounts", Group::HouseholdWrite, "Open an account")
        },
        post(ledger::open_account),
    );
    add(
        Op {
            params: &[HOUSEHOLD, ("account", "path", true, Kind::Text, "The account's label."), IF_MATCH],
            body: json_body::<ledger::Closing>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            ..Op::new(
                "post",
                "/v1/households/{household}/accounts/{account}/close",
                Group::HouseholdWrite,
                "Close an account that holds nothing",
            )
        },
        post(ledger::close_account),
    );
    add(
        Op {
            params: LEDGER_PARAMS,
            body: json_body::<ledger::BalanceAssertion>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Records what an account held at the end of a day by a statement's count: shares of `symbol`, or cash without one. Recorded whether or not it holds (`GET …/balances` checks it); the same assertion again records nothing.",
            ..Op::new("post", "/v1/households/{household}/balances", Group::HouseholdWrite, "Record a balance assertion")
        },
        post(ledger::assert_balance),
    );
    add(
        Op {
            params: &[HOUSEHOLD, ("all", "query", false, Kind::Flag, "`true`: resolved alerts too.")],
            response: (200, Some(schema::<alerts::AlertsAnswer>)),
            description: "The household's alerts, newest first: what the monitoring rules found (drift, drawdown, goal progress, tax losses, risk breaches, concentration, cash drag, large flows, market regime), raised once per condition, with the values that triggered them and the read-model position they reflect; open and dismissed ones unless `all=true`. `unread` counts the open alerts not snoozed now.",
            ..Op::new("get", "/v1/households/{household}/alerts", Group::HouseholdRead, "Alerts")
        },
        get(alerts::list),
    );
    add(
        Op {
            params: &[HOUSEHOLD],
            response: (200, Some(schema::<alerts::StatsAnswer>)),
            description: "Delivery statistics of the household's alerts per channel (e-mail, SMS, push, webhook): tries, successes, failures, permanent failures; from the `Delivery*` events.",
            ..Op::new("get", "/v1/households/{household}/alerts/stats", Group::HouseholdRead, "Alert delivery statistics")
        },
        get(alerts::stats),
    );
    let alert_params: &'static [Param] =
        &[HOUSEHOLD, ("id", "path", true, Kind::Text, "The alert's id (`<key>#<n>`, as listed).")];
    add(
        Op {
            params: alert_params,
            body: json_body::<alerts::Snooze>(),
            response: (200, Some(schema::<alerts::Answered>)),
            description: "No notification of the alert before `until` (`AlertSnoozed`, with who). 409 when the alert is dismissed or resolved; 422 when `until` is not after now.",
            ..Op::new("post", "/v1/households/{household}/alerts/{id}/snooze", Group::HouseholdWrite, "Snooze an alert")
        },
        post(alerts::snooze),
    );
    add(
        Op {
            params: alert_params,
            body: json_body::<account::Empty>(),
            response: (200, Some(schema::<alerts::Answered>)),
            description: "The alert is seen (`AlertDismissed`, with who): no notification while its condition lasts; it resolves when the condition clears. Dismissing again records nothing; 409 when resolved.",
            ..Op::new("post", "/v1/households/{household}/alerts/{id}/dismiss", Group::HouseholdWrite, "Dismiss an alert")
        },
        post(alerts::dismiss),
    );
    add(
        Op {
            params: LEDGER_PARAMS,
            body: json_body::<ledger::BaseCurrency>(),
            response: (201, Some(schema::<ledger::Recorded>)),
            description: "Sets the currency the household's performance, income and holdings are reported in: each day's US dollars divided by that day's close of the currency's pair (`EUR.USD`, from `cairn market rates`). Rows, lots and gains stay in dollars. The same currency again records nothing.",
            ..Op::new(
                "post",
                "/v1/households/{household}/base-currency",
                Group::HouseholdWrite,
                "Set the household's base currency",
            )
        },
        post(ledger::set_base_currency),
    );
    add(
        Op {
            params: &[HOUSEHOLD],
            body: json_body::<ledger::NewPortfolio>(),
            response: (201, Some(schema::<ledger::PortfolioChanged>)),
            ..Op::new("post", "/v1/households/{household}/portfolios", Group::HouseholdWrite, "Create a portfolio")
        },
        post(ledger::create_portfolio),
    );
    add(Op { params: &[HOUSEHOLD, ("portfolio", "path", true, Kind::Text, "The portfolio's name.")], body: json_body::<ledger::Targets>(), response: (200, Some(schema::<ledger::PortfolioChanged>)),
        description: "With `expected_version`, an edit against another version is refused: 409 `conflict` with `current_version`.",
        ..Op::new("put", "/v1/households/{household}/portfolios/{portfolio}/targets", Group::HouseholdWrite, "Set target weights") }, put(ledger::set_targets));

    // Administration.
    const USER: Param = ("user_id", "path", true, Kind::Text, "The user's id.");
    add(
        Op {
            body: json_body::<admin::NewUser>(),
            response: (201, Some(schema::<admin::CreatedUser>)),
            ..Op::new("post", "/v1/users", Group::Admin, "Create a user")
        },
        post(admin::create_user),
    );
    add(
        Op {
            params: &[USER],
            body: json_body::<admin::RoleGrant>(),
            response: (200, Some(schema::<account::UserChanged>)),
            description: "The new role is in the user's tokens from their next refresh (at most 15 minutes).",
            ..Op::new("post", "/v1/users/{user_id}/roles", Group::Admin, "Grant a role")
        },
        post(admin::grant_role),
    );
    add(
        Op {
            params: &[USER, ("role", "path", true, Kind::Role, "advisor, auditor or admin.")],
            response: (200, Some(schema::<account::UserChanged>)),
            ..Op::new("delete", "/v1/users/{user_id}/roles/{role}", Group::Admin, "Revoke a role")
        },
        delete(admin::revoke_role),
    );
    add(
        Op {
            params: &[USER],
            body: json_body::<admin::Assignment>(),
            response: (200, Some(schema::<account::UserChanged>)),
            ..Op::new("post", "/v1/users/{user_id}/households", Group::Admin, "Assign a household to an advisor")
        },
        post(admin::assign_household),
    );
    add(
        Op {
            params: &[USER],
            body: json_body::<admin::KycReview>(),
            response: (200, Some(schema::<account::UserChanged>)),
            ..Op::new("post", "/v1/users/{user_id}/kyc", Group::Admin, "Review KYC: start, approve or reject")
        },
        post(admin::review_kyc),
    );

    // Audit.
    add(
        Op {
            response: (200, Some(schema::<admin::Verified>)),
            ..Op::new("get", "/v1/audit/verify", Group::Audit, "Recompute the hash chain")
        },
        get(admin::verify),
    );
    add(
        Op {
            response: (200, Some(schema::<admin::HeadsAnswer>)),
            description: "The signed tree heads this server issued since it started (the last 100, oldest first): after commits, at most one a second, each the RFC 6962 root over the log's chain hashes with its size, time, the audit key's public half and an Ed25519 signature, as `cairn audit head` prints it. Keep them: `cairn verify --heads` and `cairn audit check-proof --head` check the log against them. The same heads go to the heads file and, with a NATS server, to the subject `cairn.audit.heads`.",
            ..Op::new("get", "/v1/audit/heads", Group::Audit, "Signed tree heads")
        },
        get(admin::audit_heads),
    );
    add(
        Op {
            params: &[("user", "query", false, Kind::Text, "Only this user."), MIN_POSITION],
            response: (200, Some(schema::<Rows>)),
            description: "Sign-ins, failures, lockouts, MFA changes, token reuse, role changes and refused accesses.",
            ..Op::new("get", "/v1/audit/security", Group::Audit, "The security log")
        },
        get(admin::security_log),
    );
    add(
        Op {
            params: &[("from", "query", false, Kind::Position, "First global position (default: new events only).")],
            ..Op::new("get", "/v1/events/stream", Group::Audit, "Every committed event, live (Server-Sent Events)")
        },
        get(admin::all_events_stream),
    );
    add(
        Op {
            description: "A WebSocket. Sign in with `Authorization: Bearer <token>` on the upgrade, or from a browser with the first message `{\"action\":\"auth\",\"token\":\"…\"}`. Then `{\"action\":\"subscribe\",\"symbols\":[\"VTI\"]}` / `unsubscribe`; the server sends `{\"type\":\"quote\",\"quote\":{symbol, at, last, bid, ask, size, source, grade}}` (the latest at once, then each new one), and `{\"type\":\"dropped\",\"count\":N}` when a slow client lost its oldest quotes (each connection's buffer is bounded). Live quotes are not events: closing prices are still recorded as bars. Without an upgrade, the live streams' state as JSON.",
            response: (200, Some(schema::<stream::LiveStatus>)),
            ..Op::new("get", "/v1/stream/quotes", Group::Market, "Live quotes (WebSocket)")
        },
        get(stream::quotes),
    );
    t
}
