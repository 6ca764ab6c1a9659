//! Contribution limits: each rule as a sentence.

use chrono::NaiveDate;
use domain::ledger::contributions::LimitKind;
use domain::ledger::types::{AccountType, Action, HsaCoverage};
use domain::ledger::{decide, evolve, Ledger, LedgerCommand, RowInput};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn contribution(date: &str, account: &str, account_type: AccountType, amount: Decimal, description: &str) -> RowInput {
    RowInput {
        account_type: Some(account_type),
        quantity: dec!(1),
        price: amount,
        description: (!description.is_empty()).then(|| description.into()),
        owner: Some("alex".into()),
        ..RowInput::new(date.parse().unwrap(), account, Action::Contribution)
    }
}

fn with_member(born: &str, coverage: HsaCoverage) -> Ledger {
    let cmd = LedgerCommand::SetMember {
        household: "h".into(),
        name: "alex".into(),
        born: Some(born.parse::<NaiveDate>().unwrap()),
        hsa_coverage: Some(coverage),
        family: Default::default(),
    };
    decide(&Ledger::default(), &cmd).unwrap().iter().fold(Ledger::default(), evolve)
}

fn import(state: &Ledger, mut rows: Vec<RowInput>) -> Result<Ledger, String> {
    for (i, r) in rows.iter_mut().enumerate() {
        r.line = i as u64 + 2;
    }
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let id = format!("c{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: id.clone(),
        file_sha256: id,
        rows,
        options: Default::default(),
    };
    let events = decide(state, &cmd).map_err(|e| e.to_string())?;
    Ok(events.iter().fold(state.clone(), evolve))
}

#[test]
fn an_ira_contribution_over_the_limit_is_refused_with_what_remains() {
    let l = with_member("1990-06-01", HsaCoverage::SelfOnly);
    let err = import(
        &l,
        vec![
            contribution("2025-02-03", "roth", AccountType::RothIra, dec!(4000), ""),
            contribution("2025-03-03", "trad", AccountType::TraditionalIra, dec!(3500), ""),
        ],
    )
    .unwrap_err();
    assert_eq!(
        err,
        "line 3: quantity: contribution of $3500.00 to trad exceeds alex's 2025 IRA limit of $7000.00 \
         (age 35 at year end): $4000.00 already contributed, $3000.00 remains"
    );
}

#[test]
fn the_age_50_catch_up_raises_the_ira_and_401k_limits() {
    let l = with_member("1975-12-31", HsaCoverage::SelfOnly);
    let l = import(
        &l,
        vec![
            contribution("2025-02-03", "roth", AccountType::RothIra, dec!(8000), ""),
            contribution("2025-12-15", "401k", AccountType::Traditional401k, dec!(31000), ""),
        ],
    )
    .unwrap();
    let tallies = l.contributions(Some(2025)).unwrap();
    let get = |k: LimitKind| tallies.iter().find(|t| t.kind == k).unwrap();
    assert_eq!((get(LimitKind::Ira).limit, get(LimitKind::Ira).contributed), (Some(dec!(8000)), dec!(8000)));
    assert_eq!(get(LimitKind::ElectiveDeferral).limit, Some(dec!(31000)));
    assert_eq!(get(LimitKind::AnnualAdditions).contributed, dec!(23500), "catch-ups are not annual additions");
}

#[test]
fn ages_60_to_63_get_the_larger_catch_up_from_2025() {
    let l = with_member("1964-01-01", HsaCoverage::SelfOnly);
    let l = import(&l, vec![contribution("2025-06-02", "401k", AccountType::Roth401k, dec!(34750), "")]).unwrap();
    assert_eq!(l.contributions(Some(2025)).unwrap()[0].limit, Some(dec!(34750)));
    let err = import(&l, vec![contribution("2025-06-03", "401k", AccountType::Roth401k, dec!(1), "")]).unwrap_err();
    assert!(err.contains("$34750.00 already contributed, $0.00 remains"), "{err}");
}

#[test]
fn hsa_family_coverage_and_the_age_55_catch_up_count_employer_money() {
    let l = with_member("1968-03-01", HsaCoverage::Family);
    let l = import(
        &l,
        vec![
            contribution("2026-01-15", "hsa", AccountType::Hsa, dec!(8000), ""),
            contribution("2026-01-15", "hsa", AccountType::Hsa, dec!(1750), "employer contribution"),
        ],
    )
    .unwrap();
    let t = &l.contributions(Some(2026)).unwrap()[0];
    assert_eq!((t.limit, t.contributed, t.remaining()), (Some(dec!(9750)), dec!(9750), Some(dec!(0))));
}

#[test]
fn a_prior_year_ira_contribution_counts_until_15_april() {
    let l = with_member("1990-06-01", HsaCoverage::SelfOnly);
    let l = import(&l, vec![contribution("2025-04-15", "roth", AccountType::RothIra, dec!(7000), "tax year 2024")])
        .unwrap();
    assert_eq!(l.contributions(Some(2024)).unwrap()[0].contributed, dec!(7000));
    let err =
        import(&l, vec![contribution("2025-04-16", "trad", AccountType::TraditionalIra, dec!(1), "tax year 2024")])
            .unwrap_err();
    assert_eq!(err, "line 2: description: contributions for tax year 2024 closed on 2025-04-15");
}

#[test]
fn without_a_birth_date_there_is_no_catch_up() {
    let rows =
        vec![RowInput { owner: None, ..contribution("2025-02-03", "roth", AccountType::RothIra, dec!(7500), "") }];
    let err = import(&Ledger::default(), rows).unwrap_err();
    assert!(err.contains("no birth date recorded for primary, so no catch-up"), "{err}");
}

#[test]
fn a_529_has_no_federal_limit_but_is_tallied() {
    let l =
        import(&Ledger::default(), vec![contribution("2025-02-03", "college", AccountType::Plan529, dec!(50000), "")])
            .unwrap();
    let t = &l.contributions(Some(2025)).unwrap()[0];
    assert_eq!((t.kind, t.limit, t.contributed), (LimitKind::Plan529, None, dec!(50000)));
}

fn add_member(l: Ledger, name: &str, born: &str, coverage: HsaCoverage) -> Ledger {
    let cmd = LedgerCommand::SetMember {
        household: "h".into(),
        name: name.into(),
        born: Some(born.parse().unwrap()),
        hsa_coverage: Some(coverage),
        family: Default::default(),
    };
    decide(&l, &cmd).unwrap().iter().fold(l, evolve)
}

#[test]
fn spouses_with_family_hsa_coverage_share_one_limit() {
    let l = add_member(with_member("1980-01-01", HsaCoverage::Family), "sam", "1981-01-01", HsaCoverage::Family);
    let sam = RowInput {
        owner: Some("sam".into()),
        ..contribution("2025-03-01", "sam hsa", AccountType::Hsa, dec!(4000), "")
    };
    let err =
        import(&l, vec![contribution("2025-02-01", "alex hsa", AccountType::Hsa, dec!(5000), ""), sam]).unwrap_err();
    assert!(err.contains("exceeds the family 2025 HSA limit of $8550.00"), "{err}");
}

#[test]
fn simple_ira_deferrals_also_count_toward_the_402g_limit() {
    let l = with_member("1990-01-01", HsaCoverage::SelfOnly);
    let err = import(
        &l,
        vec![
            contribution("2025-02-01", "401k", AccountType::Traditional401k, dec!(23500), ""),
            contribution("2025-03-01", "simple", AccountType::SimpleIra, dec!(10000), ""),
        ],
    )
    .unwrap_err();
    assert!(err.contains("401(k)/403(b) elective deferral limit of $23500.00"), "{err}");
}

#[test]
fn a_62_year_old_gets_the_larger_simple_catch_up() {
    let l = with_member("1963-05-05", HsaCoverage::SelfOnly);
    let l = import(&l, vec![contribution("2025-02-01", "simple", AccountType::SimpleIra, dec!(21750), "")]).unwrap();
    let t = l.contributions(Some(2025)).unwrap();
    assert_eq!(t.iter().find(|t| t.kind == LimitKind::SimpleDeferral).unwrap().limit, Some(dec!(21750)));
}

#[test]
fn a_tax_year_with_a_colon_is_read_and_one_without_a_year_is_refused() {
    let l = with_member("1990-06-01", HsaCoverage::SelfOnly);
    let l = import(&l, vec![contribution("2025-02-10", "roth", AccountType::RothIra, dec!(500), "tax year: 2024")])
        .unwrap();
    assert_eq!(l.contributions(Some(2024)).unwrap()[0].contributed, dec!(500));
    let err = import(&l, vec![contribution("2025-02-10", "roth", AccountType::RothIra, dec!(1), "tax year last")])
        .unwrap_err();
    assert!(err.starts_with("line 2: description:"), "{err}");
}

#[test]
fn employer_money_may_count_for_the_prior_year_until_october() {
    let l = with_member("1990-06-01", HsaCoverage::SelfOnly);
    let l = import(
        &l,
        vec![contribution(
            "2025-02-10",
            "401k",
            AccountType::Traditional401k,
            dec!(3000),
            "employer true-up tax year 2024",
        )],
    )
    .unwrap();
    assert_eq!(l.contributions(Some(2024)).unwrap()[0].kind, LimitKind::AnnualAdditions);
}
