//! `cairn bench tax`: the tax planners' engines on generated households, in memory (the
//! ledgers are built by the ledger's own decider from generated CSV rows, not read from a
//! store): the tax-loss harvesting scan over many households on every core, a tax-aware
//! rebalance of one household with many lots, and a 40-year Roth conversion search.

use std::collections::BTreeMap;
use std::time::Instant;

use domain::ledger::{apply, decide, ImportOptions, Ledger, LedgerCommand};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use rust_decimal::Decimal;

const SYMBOLS: [&str; 6] = ["VTI", "VXUS", "BND", "VNQ", "VB", "BNDX"];

/// A household's ledger from generated rows: a deposit in a taxable account and an IRA, then
/// `lots` buys over two years across the symbols (a quarter of them in the IRA), and a sale now
/// and then.
fn household(seed: u64, lots: usize) -> anyhow::Result<Ledger> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut csv = String::from("trade_date,account,account_type,action,symbol,quantity,price,fees\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).expect("a date");
    csv.push_str(&format!(
        "{start},Brokerage,taxable,deposit,,1,10000000,0\n{start},IRA,traditional_ira,deposit,,1,10000000,0\n"
    ));
    for i in 0..lots {
        let day = start + chrono::Duration::days((i * 700 / lots.max(1)) as i64 + 1);
        let symbol = SYMBOLS[rng.gen_range(0..SYMBOLS.len())];
        let account = if rng.gen_bool(0.25) { "IRA" } else { "Brokerage" };
        let kind = if account == "IRA" { "traditional_ira" } else { "taxable" };
        let price: f64 = rng.gen_range(50.0..150.0);
        csv.push_str(&format!("{day},{account},{kind},buy,{symbol},{},{price:.2},0\n", rng.gen_range(1..40)));
        if rng.gen_bool(0.05) {
            csv.push_str(&format!("{day},{account},{kind},sell,{symbol},1,{:.2},0\n", price * 1.01));
        }
    }
    let rows = commands::input::ledger::parse_csv(csv.as_bytes())?;
    let command = LedgerCommand::Import {
        household: format!("h{seed}"),
        command_id: format!("bench-{seed}"),
        file_sha256: String::new(),
        rows,
        options: ImportOptions { now: None, allow_duplicates: true, format: Some("csv") },
    };
    let events = decide(&Ledger::default(), &command)?;
    Ok(events.into_iter().fold(Ledger::default(), apply))
}

fn closes(seed: u64) -> BTreeMap<String, Decimal> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    SYMBOLS
        .iter()
        .map(|s| {
            (
                (*s).to_owned(),
                Decimal::from_f64_retain(rng.gen_range(60.0..140.0)).unwrap_or(Decimal::ONE_HUNDRED).round_dp(2),
            )
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

/// The harvesting scan over `households` households of `lots` lots each (all cores), and
/// `runs` rebalances of one household of `rebalance_lots` lots.
pub(crate) fn tax(
    households: usize,
    lots: usize,
    rebalance_lots: usize,
    runs: usize,
) -> anyhow::Result<serde_json::Value> {
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let built = Instant::now();
    let ledgers: Vec<Ledger> =
        (0..households as u64).into_par_iter().map(|i| household(i, lots)).collect::<anyhow::Result<_>>()?;
    let setup = built.elapsed().as_secs_f64();
    let closes = closes(7);
    let settings = domain::harvest::Settings { min_loss: Decimal::from(100), min_share: Decimal::new(5, 2) };
    let rates = (Decimal::new(24, 2), Decimal::new(15, 2));
    let none = BTreeMap::new();
    let scan = Instant::now();
    let candidates: usize = ledgers
        .par_iter()
        .map(|l| domain::harvest::scan(l, &closes, as_of, &settings, rates, &none).map(|c| c.len()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .sum();
    let scan_seconds = scan.elapsed().as_secs_f64();
    let open_lots: usize = ledgers.iter().map(|l| l.book(Some(as_of)).map_or(0, |b| b.lots.len())).sum();

    let ledger = household(1_000_000, rebalance_lots)?;
    let portfolio = domain::portfolio::Portfolio {
        accounts: vec!["Brokerage".into(), "IRA".into()],
        target: [("VTI", 40), ("VXUS", 20), ("BND", 25), ("VNQ", 5), ("VB", 5), ("BNDX", 5)]
            .iter()
            .map(|(s, w)| ((*s).to_owned(), Decimal::new(*w, 2)))
            .collect(),
        ..Default::default()
    };
    let classes = BTreeMap::new();
    let request = domain::rebalance::Request {
        as_of,
        closes: &closes,
        classes: &classes,
        cash: Decimal::from(5000),
        cash_account: None,
        rates,
        short_term: false,
    };
    let mut times = Vec::with_capacity(runs);
    let mut orders = 0;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        orders = domain::rebalance::plan(&ledger, &portfolio, &request)?.orders.len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let rebalance_lots_open = ledger.book(Some(as_of)).map_or(0, |b| b.lots.len());

    // A couple of 55 and 53 with wages to 62, Social Security from 67, to 95: 41 years.
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("a date");
    let roth = domain::roth::Plan {
        start_year: 2026,
        end_age: 95,
        born: day(1971, 4, 1),
        spouse_born: Some(day(1973, 9, 1)),
        status: domain::ledger::types::FilingStatus::MarriedFilingJointly,
        traditional: Decimal::from(1_500_000),
        roth: Decimal::from(100_000),
        taxable: Decimal::from(300_000),
        growth: Decimal::new(6, 2),
        inflation: Decimal::new(25, 3),
        wages: Decimal::from(150_000),
        wages_until: Some(2033),
        other_income: Decimal::ZERO,
        social_security: Decimal::from(45_000),
        social_security_from: Some(2038),
        strategy: domain::roth::Strategy::Optimize,
        convert_until: None,
        heirs_rate: Decimal::new(24, 2),
    };
    let mut roth_times = Vec::with_capacity(runs);
    let mut advantage = Decimal::ZERO;
    let mut roth_years = 0;
    for _ in 0..runs.clamp(1, 20) {
        let t = Instant::now();
        let c = domain::roth::plan(&roth)?;
        roth_times.push(t.elapsed().as_secs_f64() * 1000.0);
        advantage = c.advantage;
        roth_years = c.plan.years.len();
    }
    roth_times.sort_by(f64::total_cmp);
    // The optimized plan's targets and converting nothing on 1,000 paths of 41 years.
    let chosen = domain::roth::plan(&roth)?;
    let t = Instant::now();
    let drawn = simulations::returns::yearly(0.06, 0.12, roth_years, 1_000, 11)?;
    let returns: Vec<Vec<Decimal>> = drawn
        .iter()
        .map(|p| p.iter().map(|r| Decimal::from_f64_retain(*r).unwrap_or_default().round_dp(6)).collect())
        .collect();
    let spread = domain::roth::distribution(&roth, &chosen, &returns);
    let distribution_ms = t.elapsed().as_secs_f64() * 1000.0;

    // The harvesting back-test: the 200-lot household over a year of daily closes.
    let held: Vec<domain::harvest::HeldLot> = ledger
        .book(Some(as_of))?
        .lots
        .iter()
        .map(|l| domain::harvest::HeldLot { symbol: l.symbol.clone(), quantity: l.quantity, basis: l.basis })
        .collect();
    let sessions = domain::calendar::sessions(day(2025, 12, 1), day(2026, 11, 30));
    let series: BTreeMap<String, Vec<(chrono::NaiveDate, Decimal)>> = closes
        .iter()
        .enumerate()
        .map(|(k, (symbol, close))| {
            let path = &drawn[k % drawn.len()];
            let daily = sessions
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // A year's drawn return spread over the sessions, with a wobble.
                    let x = (i as f64 / sessions.len() as f64) * path[0] + 0.03 * ((i + k) as f64 / 7.0).sin();
                    (s.date, (*close * Decimal::from_f64_retain(1.0 + x).unwrap_or(Decimal::ONE)).round_dp(2))
                })
                .collect();
            (symbol.clone(), daily)
        })
        .collect();
    let t = Instant::now();
    let tested = domain::harvest::backtest(&held, &series, &settings)?;
    let backtest_ms = t.elapsed().as_secs_f64() * 1000.0;
    Ok(serde_json::json!({
        "cores": rayon::current_num_threads(),
        "harvest": {
            "households": households,
            "open_lots": open_lots,
            "candidates": candidates,
            "seconds": scan_seconds,
            "target_seconds": 2.0,
            "households_per_sec": households as f64 / scan_seconds,
            "setup_seconds": setup,
        },
        "rebalance": {
            "open_lots": rebalance_lots_open,
            "orders": orders,
            "runs": times.len(),
            "ms_p50": percentile(&times, 0.5),
            "ms_p99": percentile(&times, 0.99),
            "target_ms": 10.0,
        },
        "roth": {
            "years": roth_years,
            "advantage": advantage.round_dp(2).to_string(),
            "runs": roth_times.len(),
            "ms_p50": percentile(&roth_times, 0.5),
            "ms_p99": percentile(&roth_times, 0.99),
            "target_ms": 100.0,
            "distribution": {
                "paths": spread.paths,
                "ms": distribution_ms,
                "plan_ahead": spread.plan_ahead.to_string(),
            },
        },
        "harvest_backtest": {
            "lots": held.len(),
            "days": sessions.len(),
            "harvests": tested.harvests,
            "annualized_yield": tested.annualized_yield.to_string(),
            "ms": backtest_ms,
        },
    }))
}

/// A family's plan read back `runs` times: a household of `members` members (a principal, a
/// spouse, children, grandchildren and others) whose principal and spouse gave each child and
/// grandchild every year from 2024 to 2026 (split gifts above the exclusion among them), with
/// accounts owned by each and jointly. Each run is what an advisor's family summary asks: every
/// donor's Form 709 years with GST, and the estate tax were either spouse to die this year
/// with a bequest to the grandchildren and the state's tax, with the family's `entities` trusts
/// and businesses (a cycle of the kinds [`bench_entity`] makes), from the read models.
pub(crate) async fn estate(
    store: &event_store::Store,
    url: &str,
    members: usize,
    entities: usize,
    runs: usize,
) -> anyhow::Result<serde_json::Value> {
    use domain::family::{Family, Relationship};
    let cx = commands::Context::new(store.clone());
    let who = super::caller("cairn bench estate");
    let household = "family";
    let csv = "trade_date,account,account_type,owner,action,symbol,quantity,price,fees\n\
               2024-01-02,Hers,taxable,p0,deposit,,1,9000000,0\n\
               2024-01-02,His,taxable,p1,deposit,,1,7000000,0\n\
               2024-01-02,Joint,taxable,,deposit,,1,12000000,0\n\
               2024-01-02,IRA,traditional_ira,p0,deposit,,1,2000000,0\n";
    commands::ledger::import_csv(&cx, household, csv.as_bytes(), false, &who).await?;
    let setup = Instant::now();
    let members = members.max(4);
    let mut gifts = 0;
    for i in 0..members {
        let relationship = match i {
            0 => Relationship::Principal,
            1 => Relationship::Spouse,
            _ if i < 2 + (members - 2) / 4 => Relationship::Child,
            _ if i < members - 2 => Relationship::Grandchild,
            _ => Relationship::Other,
        };
        let family = Family {
            relationship: Some(relationship),
            citizen: Some(true),
            domicile: Some("NY".into()),
            lives_to: None,
            parent_died: None,
        };
        commands::ledger::set_member(&cx, household, &format!("p{i}"), None, None, family, &who).await?;
    }
    for year in 2024..=2026 {
        for donee in 2..members - 2 {
            for donor in ["p0", "p1"] {
                let split = donor == "p0" && donee % 3 == 0;
                let gift = domain::gifts::RecordedGift {
                    id: String::new(),
                    date: chrono::NaiveDate::from_ymd_opt(year, 3, 1 + donee as u32 % 28).expect("a date"),
                    donor: donor.into(),
                    donee: format!("p{donee}"),
                    kind: domain::gifts::Donee::Person,
                    amount: Decimal::from(if split { 250_000 } else { 19_000 }),
                    present_interest: true,
                    split,
                    superfund_529: false,
                    gst_allocation: Decimal::ZERO,
                };
                commands::ledger::record_gift(&cx, household, gift, &who).await?;
                gifts += 1;
            }
        }
    }
    for i in 0..entities {
        commands::ledger::set_entity(&cx, household, bench_entity(i), &who).await?;
    }
    let db = projections::Db::open(url, false).await?;
    let mut reader = queries::read::Reader::with_db(store.clone(), db.clone());
    let head = event_store::EventStore::head(store).await?.map_or(0, |h| h.position);
    reader.at_least("holdings", head, std::time::Duration::ZERO).await?;
    let setup = setup.elapsed().as_secs_f64();
    let key = domain::ledger::household_key(household);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let mut times = Vec::with_capacity(runs);
    let mut summary = serde_json::Value::Null;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let by_donor = queries::estate::gifts(&db, &key, None, &queries::estate::Assumptions::default(), today).await?;
        let held = queries::estate::entity_views(&db, &key).await?;
        let mut taxes = Vec::new();
        for decedent in ["p0", "p1"] {
            let a = queries::estate::Assumptions {
                death_of: Some(decedent.into()),
                to_skip_persons: Decimal::from(2_000_000),
                ..Default::default()
            };
            taxes.push(queries::estate::tax(&db, &key, today, &a).await?);
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        summary = serde_json::json!({
            "donors": by_donor.donors.len(),
            "net_estate_tax": taxes.iter().map(|t| t.tax.net_estate_tax).collect::<Vec<_>>(),
            "gst_tax": taxes.iter().map(|t| t.gst_tax).collect::<Vec<_>>(),
            "state_tax": taxes.iter().map(|t| t.state_tax).collect::<Vec<_>>(),
            "entities": held.entities.len(),
            "entities_included": taxes.iter().map(|t| t.entities_included).collect::<Vec<_>>(),
        });
    }
    times.sort_by(f64::total_cmp);
    Ok(serde_json::json!({
        "backend": store.backend(),
        "members": members,
        "gifts": gifts,
        "entities": entities,
        "setup_seconds": setup,
        "runs": times.len(),
        "plan_ms": { "p50": percentile(&times, 0.5), "p99": percentile(&times, 0.99) },
        "target_ms": 50.0,
        "answer": summary,
    }))
}

/// The `i`th of a family's entities: businesses owned by the principal, the spouse and a
/// dynasty trust, and trusts of every kind the estate reads, in turn.
fn bench_entity(i: usize) -> domain::entities::Entity {
    use domain::entities::{Entity, EntityKind, Owner};
    let kinds = [
        EntityKind::DynastyTrust,
        EntityKind::Flp,
        EntityKind::Llc,
        EntityKind::RevocableTrust,
        EntityKind::Grat,
        EntityKind::Ilit,
        EntityKind::Slat,
        EntityKind::QtipTrust,
        EntityKind::Crut,
        EntityKind::Clat,
    ];
    let kind = kinds[i % kinds.len()];
    let day = |y, m| chrono::NaiveDate::from_ymd_opt(y, m, 1).expect("a date");
    let owners = match kind {
        EntityKind::Flp => vec![
            Owner { owner: "p0".into(), share: Decimal::new(4, 1) },
            Owner { owner: "p1".into(), share: Decimal::new(4, 1) },
        ],
        EntityKind::Llc => vec![Owner { owner: "E0".into(), share: Decimal::ONE }],
        _ => Vec::new(),
    };
    Entity {
        name: format!("E{i}"),
        kind,
        value: Decimal::from(1_000_000 * (i as i64 % 7 + 1)),
        valued_on: day(2026, 1),
        grantor: (!kind.is_business()).then(|| "p0".to_owned()),
        trustee: None,
        beneficiaries: match kind {
            EntityKind::QtipTrust => vec!["p1".into()],
            EntityKind::Ilit => vec!["p2".into(), "p3".into(), "p4".into()],
            _ => Vec::new(),
        },
        owners,
        funded_on: Some(day(2025, 6)),
        term_years: Some(3),
        annuity: Some(Decimal::from(150_000)),
        death_benefit: Some(Decimal::from(5_000_000)),
        // An ILIT's premiums: a Crummey gift to each beneficiary every year.
        premium: (kind == EntityKind::Ilit).then(|| Decimal::from(60_000)),
        premium_years: None,
        crummey: kind == EntityKind::Ilit,
        gst_exempt: kind == EntityKind::DynastyTrust,
        lack_of_control: Decimal::new(2, 1),
        lack_of_marketability: Decimal::new(25, 2),
    }
}
