//! Projections checked against figures worked out by hand. Returns are 0 unless a test is
//! about growth, so that balances are sums.

use super::*;

fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-6, "{actual} != {expected}");
}

fn person(birth_year: i32, start_year: i32, salary: f64, retirement_age: u32) -> Person {
    Person {
        birth_year,
        birth_month: 1,
        start_year,
        salary,
        salary_growth: 0.0,
        retirement_age,
        filing_status: None,
        spouse_birth_year: None,
    }
}

fn account(name: &str, kind: Kind) -> Account {
    Account { coverage: None, ..Account::new(name, kind) }
}

fn plan(person: Person, accounts: Vec<Account>) -> AccountsPlan {
    AccountsPlan { person, annual_return: 0.0, limit_growth: 0.02, accounts, withdrawals: Withdrawals::default() }
}

/// 100% of the first 3% of pay plus 50% of the next 2%.
fn safe_harbor() -> Vec<Tier> {
    vec![Tier { rate: 1.0, of_pay: 0.03 }, Tier { rate: 0.5, of_pay: 0.02 }]
}

fn k401(contribution: f64) -> Account {
    Account { contribution: Some(contribution), ..account("401k", Kind::K401) }
}

fn first(p: &Projection, i: usize) -> &AccountYear {
    &p.accounts[i].years[0]
}

#[test]
fn the_match_on_a_6_percent_deferral_is_4_percent_of_pay() {
    let a = Account {
        contribution_percent: Some(0.06),
        roth_share: Some(0.5),
        employer_match: Some(safe_harbor()),
        ..account("401k", Kind::K401)
    };
    let p = project(&plan(person(1986, 2026, 100_000.0, 65), vec![a]), 1).unwrap();
    let y = first(&p, 0);
    close(y.employer, 4_000.0);
    close(y.employee_pre_tax, 3_000.0);
    close(y.employee_roth, 3_000.0);
    close(y.balance, 10_000.0);
    close(p.years[0].pre_tax, 7_000.0);
    close(p.years[0].roth, 3_000.0);
    assert!(p.notes.is_empty());
}

#[test]
fn deferrals_stop_at_402g_with_the_catch_up_for_the_age_in_2026() {
    // Born 1986: 40 in 2026; 1976: 50; 1965: 61, in the 60-63 window.
    for (birth_year, allowed) in [(1986, 24_500.0), (1976, 32_500.0), (1965, 35_750.0)] {
        let p = project(&plan(person(birth_year, 2026, 200_000.0, 67), vec![k401(40_000.0)]), 1).unwrap();
        close(first(&p, 0).employee_pre_tax, allowed);
        let n = &p.notes[0];
        assert_eq!((n.year, n.field.as_str()), (2026, "accounts[0].contribution"));
        close(n.requested, 40_000.0);
        close(n.allowed, allowed);
    }
}

#[test]
fn the_402g_limit_is_shared_by_a_401k_and_a_403b() {
    let b = Account { contribution: Some(10_000.0), ..account("403b", Kind::B403) };
    let p = project(&plan(person(1986, 2026, 200_000.0, 65), vec![k401(20_000.0), b]), 1).unwrap();
    close(first(&p, 0).employee_pre_tax, 20_000.0);
    close(first(&p, 1).employee_pre_tax, 4_500.0);
    assert_eq!(p.notes.len(), 1);
    assert_eq!(p.notes[0].field, "accounts[1].contribution");
}

#[test]
fn a_deferral_cut_early_loses_part_of_the_match_unless_the_plan_trues_up() {
    // 30% of 100,000 asked, 24,500 allowed: deferrals stop 24,500 / 30,000 of the way through
    // the year. 100% of the first 6%: 6,000 on a full year, 4,900 without a true-up.
    let plan_with = |true_up| {
        let a = Account {
            contribution_percent: Some(0.30),
            employer_match: Some(vec![Tier { rate: 1.0, of_pay: 0.06 }]),
            true_up: Some(true_up),
            ..account("401k", Kind::K401)
        };
        plan(person(1986, 2026, 100_000.0, 65), vec![a])
    };
    close(first(&project(&plan_with(false), 1).unwrap(), 0).employer, 4_900.0);
    close(first(&project(&plan_with(true), 1).unwrap(), 0).employer, 6_000.0);
}

#[test]
fn employer_money_is_cut_to_what_415c_leaves() {
    // 24,500 deferred out of 300,000 and matched 200%: 49,000; 415(c) in 2026 is 72,000, so
    // 47,500 fits after the deferral.
    let a = Account { employer_match: Some(vec![Tier { rate: 2.0, of_pay: 0.25 }]), ..k401(24_500.0) };
    let p = project(&plan(person(1986, 2026, 300_000.0, 65), vec![a]), 1).unwrap();
    close(first(&p, 0).employer, 47_500.0);
    let n = &p.notes[0];
    assert_eq!(n.field, "accounts[0].match");
    close(n.requested, 49_000.0);
}

#[test]
fn cliff_vesting_vests_everything_at_the_cliff() {
    let a = Account {
        balance: 10_000.0,
        employer_balance: Some(10_000.0),
        vesting: Some(VestingSchedule::Cliff { years: 3 }),
        years_of_service: Some(1),
        ..account("401k", Kind::K401)
    };
    let p = project(&plan(person(1986, 2026, 0.0, 65), vec![a]), 2).unwrap();
    let years = &p.accounts[0].years;
    close(years[0].vested_share, 0.0);
    close(years[0].vested_balance, 0.0);
    close(years[1].vested_share, 1.0);
    close(years[1].vested_balance, 10_000.0);
}

#[test]
fn graded_vesting_rises_with_service_and_leaving_early_forfeits_the_rest() {
    let a = Account {
        balance: 10_000.0,
        employer_balance: Some(10_000.0),
        vesting: Some(VestingSchedule::Graded { schedule: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0] }),
        ..account("401k", Kind::K401)
    };
    // 46 in 2026, leaves work in 2029 at 49 with three years of service: 40% vested.
    let p = project(&plan(person(1980, 2026, 0.0, 49), vec![a]), 4).unwrap();
    let vested: Vec<f64> = p.accounts[0].years.iter().map(|y| y.vested_balance).collect();
    assert_eq!(vested, [0.0, 2_000.0, 4_000.0, 4_000.0]);
    let y = &p.accounts[0].years[3];
    close(y.forfeited, 6_000.0);
    close(y.balance, 4_000.0);
    assert_eq!(p.notes[0].field, "accounts[0].vesting");
}

#[test]
fn vesting_slower_than_the_law_is_refused() {
    for (vesting, field) in [
        (VestingSchedule::Cliff { years: 4 }, "accounts[0].vesting.years"),
        (VestingSchedule::Graded { schedule: vec![0.0, 0.1, 0.2] }, "accounts[0].vesting.schedule"),
        (VestingSchedule::Graded { schedule: vec![0.5, 0.4, 1.0] }, "accounts[0].vesting.schedule"),
    ] {
        let a = Account { vesting: Some(vesting), ..account("401k", Kind::K401) };
        let err = project(&plan(person(1986, 2026, 0.0, 65), vec![a]), 1).unwrap_err();
        assert!(matches!(&err, SimError::Invalid { field: f, .. } if f == field), "{err}");
    }
}

#[test]
fn traditional_and_roth_iras_share_one_limit() {
    let ira = |name, kind| Account { contribution: Some(5_000.0), ..account(name, kind) };
    let accounts = vec![ira("trad", Kind::TraditionalIra), ira("roth", Kind::RothIra)];
    let p = project(&plan(person(1986, 2026, 100_000.0, 65), accounts.clone()), 1).unwrap();
    close(first(&p, 0).employee_pre_tax, 5_000.0);
    close(first(&p, 1).employee_roth, 2_500.0);
    assert_eq!(p.notes[0].field, "accounts[1].contribution");
    // At 50 the 1,100 catch-up joins the 7,500: 8,600 together.
    let p = project(&plan(person(1976, 2026, 100_000.0, 65), accounts), 1).unwrap();
    close(first(&p, 1).employee_roth, 3_600.0);
}

#[test]
fn a_family_hsa_at_55_takes_the_family_limit_plus_the_catch_up_employer_money_first() {
    let a = Account {
        coverage: Some(Coverage::Family),
        contribution: Some(10_000.0),
        employer_contribution: Some(1_000.0),
        ..account("hsa", Kind::Hsa)
    };
    let p = project(&plan(person(1971, 2026, 100_000.0, 67), vec![a]), 1).unwrap();
    let y = first(&p, 0);
    close(y.employer, 1_000.0);
    close(y.employee_pre_tax, 8_750.0); // 8,750 + 1,000 - 1,000
    close(y.balance, 9_750.0);
    close(p.years[0].hsa, 9_750.0);
    close(p.notes[0].allowed, 8_750.0);
}

#[test]
fn the_rmd_at_75_for_someone_born_in_1960_is_the_balance_over_24_6() {
    let ira = Account { balance: 246_000.0, ..account("ira", Kind::TraditionalIra) };
    let p = project(&plan(person(1960, 2034, 0.0, 65), vec![ira]), 2).unwrap();
    assert_eq!(p.rmd_start_age, 75);
    let years = &p.accounts[0].years;
    close(years[0].rmd, 0.0); // 74 in 2034
    close(years[1].rmd, 10_000.0);
    close(years[1].balance, 236_000.0);
    close(p.years[1].rmd, 10_000.0);
}

#[test]
fn rmds_skip_roth_401k_money_and_a_plan_of_someone_still_working() {
    let k = Account { balance: 346_000.0, roth_balance: Some(100_000.0), ..account("401k", Kind::K401) };
    let retired = project(&plan(person(1960, 2035, 0.0, 65), vec![k.clone()]), 1).unwrap();
    close(first(&retired, 0).rmd, 10_000.0);
    let ira = Account { balance: 246_000.0, ..account("ira", Kind::TraditionalIra) };
    let working = project(&plan(person(1960, 2035, 50_000.0, 80), vec![k, ira]), 1).unwrap();
    close(first(&working, 0).rmd, 0.0);
    close(first(&working, 1).rmd, 10_000.0);
}

#[test]
fn a_529_pays_inflated_college_costs_and_reports_the_shortfall() {
    let a = Account {
        balance: 20_000.0,
        college: Some(College { years_to_college: 2, annual_cost: 10_000.0, cost_inflation: 0.05, years: 4 }),
        ..account("529", Kind::Plan529)
    };
    let p = project(&plan(person(1986, 2026, 0.0, 65), vec![a]), 7).unwrap();
    let years = &p.accounts[0].years;
    close(years[2].withdrawal, 11_025.0); // 10,000 x 1.05^2
    close(years[2].shortfall, 0.0);
    close(years[3].withdrawal, 8_975.0); // what is left of 11,576.25
    close(years[3].shortfall, 2_601.25);
    close(years[4].shortfall, 12_155.062_5);
    close(years[6].withdrawal, 0.0); // college is over
    assert_eq!(p.notes.len(), 3);
    assert!(p.notes.iter().all(|n| n.field == "accounts[0].college.annual_cost"));
}

#[test]
fn limits_past_the_table_grow_by_limit_growth() {
    // 2028 is two years past the 2026 row: 24,500 x 1.02^2 = 25,489.80, rounded down to 25,000.
    let p = project(&plan(person(1986, 2026, 200_000.0, 65), vec![k401(30_000.0)]), 3).unwrap();
    let allowed: Vec<f64> = p.accounts[0].years.iter().map(|y| y.employee_pre_tax).collect();
    assert_eq!(allowed, [24_500.0, 24_500.0, 25_000.0]);
    assert!(!p.years[0].limits_projected && p.years[2].limits_projected);
}

#[test]
fn contributions_stop_at_retirement_and_balances_grow() {
    let mut pl = plan(person(1962, 2026, 100_000.0, 65), vec![k401(10_000.0)]);
    pl.annual_return = 0.10;
    // 64 in 2026, retired in 2027: 10,000 at the end of 2026, then 10% growth.
    let p = project(&pl, 2).unwrap();
    let years = &p.accounts[0].years;
    close(years[0].balance, 10_000.0);
    close(years[1].employee_pre_tax, 0.0);
    close(years[1].growth, 1_000.0);
    close(years[1].balance, 11_000.0);
    close(p.years[1].salary, 0.0);
}

#[test]
fn errors_name_the_field() {
    let bad_tier = Account { employer_match: Some(vec![Tier { rate: 0.0, of_pay: 0.03 }]), ..account("c", Kind::K401) };
    let accounts = vec![account("a", Kind::Taxable), account("b", Kind::RothIra), bad_tier];
    let err = project(&plan(person(1986, 2026, 0.0, 65), accounts), 1).unwrap_err();
    assert_eq!(err.to_string(), "accounts[2].match[0].rate: must be above 0 and at most 2 (200%)");

    let stray = Account { coverage: Some(Coverage::SelfOnly), ..account("ira", Kind::RothIra) };
    let err = project(&plan(person(1986, 2026, 0.0, 65), vec![stray]), 1).unwrap_err();
    assert_eq!(err.to_string(), "accounts[0].coverage: does not apply to a Roth IRA account");

    let err = project(&plan(person(1986, 2026, 0.0, 65), vec![account("hsa", Kind::Hsa)]), 1).unwrap_err();
    assert!(err.to_string().starts_with("accounts[0].coverage:"), "{err}");
    let err = project(&plan(person(1986, 2020, 0.0, 65), vec![]), 1).unwrap_err();
    assert!(err.to_string().starts_with("person.start_year:"), "{err}");
    let err = project(&plan(person(1986, 2026, 0.0, 65), vec![]), 0).unwrap_err();
    assert!(err.to_string().starts_with("years:"), "{err}");
}

#[test]
fn unknown_fields_are_refused_when_reading_toml() {
    let base = "[person]\nbirth_year = 1980\nstart_year = 2026\nretirement_age = 65\n";
    assert!(toml::from_str::<AccountsPlan>(base).is_ok());
    let typo = format!("{base}[[accounts]]\nname = \"x\"\nkind = \"401k\"\nbalanse = 1.0\n");
    assert!(toml::from_str::<AccountsPlan>(&typo).unwrap_err().to_string().contains("balanse"));
    let vesting = format!(
        "{base}[[accounts]]\nname = \"x\"\nkind = \"401k\"\nvesting = {{ type = \"cliff\", years = 3, extra = 1 }}\n"
    );
    assert!(toml::from_str::<AccountsPlan>(&vesting).is_err());
}

#[test]
fn the_example_file_reads_projects_and_renders() {
    // The example is a whole plan; its accounts are the `[household]`.
    let whole: crate::monte_carlo::Plan = toml::from_str(include_str!("../../../examples/accounts.toml")).unwrap();
    assert_eq!(whole.years, 50);
    let plan: AccountsPlan = whole.household.unwrap();
    assert_eq!(plan.accounts.len(), 6);
    let p = project(&plan, 50).unwrap();
    assert_eq!(p.years.len(), 50);
    assert_eq!(p.rmd_start_age, 75);
    // First year: 10% of 150,000 deferred, a quarter Roth; the match is 4% of pay.
    let k = first(&p, 0);
    close(k.employee_roth, 3_750.0);
    close(k.employee_pre_tax, 11_250.0);
    close(k.employer, 6_000.0);
    // The tax-treatment split adds up to the total every year.
    for y in &p.years {
        let sum = y.pre_tax + y.roth + y.taxable + y.hsa + y.education;
        assert!((sum - y.total).abs() < 1e-6 * y.total.max(1.0), "{}", y.year);
    }
    // RMDs start in 2060, at 75, from the pre-tax money only.
    assert!(p.years.iter().all(|y| (y.rmd > 0.0) == (y.year >= 2060)));
    let text = table(&p);
    for name in ["Acme 401(k)", "College fund", "Pre-tax", "RMDs from age 75", "2075"] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["accounts"][0]["kind"], "401k");
}
