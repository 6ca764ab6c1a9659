//! The deciders' rules as given(events) / when(command) / then(events), through the shared
//! harness in `domain::decider::testing`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeZone, Utc};
use domain::decider::testing::given;
use domain::decider::Decider;
use domain::market::{Bar, MarketDecider, MarketEvent};
use domain::portfolio::{PortfolioCommand, PortfolioDecider, PortfolioEvent};
use domain::user::{LoginDecider, LoginEvent};
use domain::DomainError;
use rust_decimal_macros::dec;

fn accounts() -> BTreeSet<String> {
    ["taxable".to_owned(), "ira".to_owned()].into()
}

fn created() -> PortfolioEvent {
    PortfolioEvent::PortfolioCreated {
        household: "smith".into(),
        name: "core".into(),
        accounts: vec!["taxable".into()],
    }
}

#[test]
fn a_portfolio_is_created_once_over_the_households_accounts() {
    let create =
        PortfolioCommand::Create { household: "smith".into(), name: "core".into(), accounts: vec!["taxable".into()] };
    given::<PortfolioDecider>(&[]).when(&(create.clone(), accounts())).then(&[created()]);
    let again = given::<PortfolioDecider>(&[created()]).when(&(create, accounts())).then_refused();
    assert_eq!(again.to_string(), "name: portfolio \"core\" already exists");
    let elsewhere =
        PortfolioCommand::Create { household: "smith".into(), name: "x".into(), accounts: vec!["zz".into()] };
    let refused = given::<PortfolioDecider>(&[]).when(&(elsewhere, accounts())).then_refused();
    assert_eq!(refused.to_string(), "accounts: the household has no account \"zz\"");
}

#[test]
fn target_weights_are_recorded_when_they_sum_to_one() {
    let weights: BTreeMap<String, rust_decimal::Decimal> =
        [("VTI".into(), dec!(0.6)), ("BND".into(), dec!(0.4))].into();
    let state = given::<PortfolioDecider>(&[created()])
        .when(&(PortfolioCommand::SetTarget(weights.clone()), accounts()))
        .then(&[PortfolioEvent::TargetAllocationSet { weights: weights.clone() }]);
    assert_eq!(state.target, weights, "the state folds the event decided");
    let short: BTreeMap<String, rust_decimal::Decimal> = [("VTI".into(), dec!(0.6))].into();
    let refused =
        given::<PortfolioDecider>(&[created()]).when(&(PortfolioCommand::SetTarget(short), accounts())).then_refused();
    assert!(matches!(&refused, DomainError::Rejected { field, .. } if field == "weights"), "{refused}");
}

fn bar(day: u32, close: rust_decimal::Decimal) -> Bar {
    Bar {
        date: NaiveDate::from_ymd_opt(2025, 1, day).unwrap(),
        open: close,
        high: close,
        low: close,
        close,
        volume: dec!(100),
        adj_close: None,
        vwap: None,
        source: None,
    }
}

#[test]
fn a_bar_again_is_nothing_and_a_changed_bar_is_a_revision() {
    let recorded = MarketEvent::BarRecorded { symbol: "VTI".into(), bar: bar(2, dec!(10)), quality: None };
    // The same bar again records nothing; a new day is recorded; a changed day is revised.
    given::<MarketDecider>(std::slice::from_ref(&recorded))
        .when(&("VTI".into(), vec![(2, bar(2, dec!(10)))]))
        .then(&[]);
    given::<MarketDecider>(std::slice::from_ref(&recorded))
        .when(&("VTI".into(), vec![(2, bar(2, dec!(11))), (3, bar(3, dec!(12)))]))
        .then(&[
            MarketEvent::BarRevised {
                symbol: "VTI".into(),
                bar: bar(2, dec!(11)),
                previous: bar(2, dec!(10)),
                quality: None,
            },
            MarketEvent::BarRecorded { symbol: "VTI".into(), bar: bar(3, dec!(12)), quality: None },
        ]);
    let twice = given::<MarketDecider>(&[])
        .when(&("VTI".into(), vec![(2, bar(2, dec!(10))), (3, bar(2, dec!(10)))]))
        .then_refused();
    assert_eq!(twice.to_string(), "line 3: date: VTI 2025-01-02 appears twice (also line 2)");
}

#[test]
fn an_email_held_by_one_user_cannot_be_claimed_by_another() {
    let at = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
    let claim = |user: &str| LoginEvent::LoginClaimed { user_id: user.into(), at };
    given::<LoginDecider>(&[]).when(&claim("ann")).then(&[claim("ann")]);
    let taken = given::<LoginDecider>(&[claim("ann")]).when(&claim("bob")).then_refused();
    assert!(matches!(taken, DomainError::Conflict { ref field, .. } if field == "email"), "{taken}");
    let released = LoginEvent::LoginReleased { user_id: "ann".into(), at };
    given::<LoginDecider>(&[claim("ann"), released]).when(&claim("bob")).then(&[claim("bob")]);
    assert_eq!(LoginDecider::fold(&[claim("ann")]), Some("ann".to_owned()));
}
