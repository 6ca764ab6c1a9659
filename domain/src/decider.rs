//! The one shape every aggregate has: a decider. `decide` turns a command and the current state
//! into the events to record (or a [`DomainError`]), `evolve` folds an event into the state and
//! never fails. The command loop in `commands::aggregate` and the projectors work with any
//! `Decider`; [`testing`] states a decider's rules as given(events) / when(command) /
//! then(events).
//!
//! | decider | stream | command |
//! | --- | --- | --- |
//! | [`crate::ledger::LedgerDecider`] | `ledger-<household>` | [`crate::ledger::LedgerCommand`] |
//! | [`crate::portfolio::PortfolioDecider`] | `portfolio-<household>--<name>` | the command and the household's account labels |
//! | [`crate::market::MarketDecider`] | `market-<SYMBOL>` | the symbol and a file's `(line, bar)` pairs |
//! | [`crate::user::UserDecider`] | `user-<uuid>` | the command and the instant it is decided at |
//! | [`crate::user::LoginDecider`] | `login-<digest>` | the fact the shell states (a claim or release) |
//! | [`crate::report::ReportDecider`] | `report-<id>` | the report generated |
//! | [`crate::ops::OpsDecider`] | `ops-<date>` | a task's start, outcome or skip, with its instant |
//! | [`crate::alerts::AlertDecider`] | `alerts-<household>` | an evaluation's findings, a snooze, a dismissal, a delivery |

use crate::DomainError;

/// An aggregate as a decider.
pub trait Decider {
    type State: Default + Clone + Send + 'static;
    /// What the shell asks, with everything the decision needs that is not in the state (the
    /// clock, the household's account labels), passed in: a decider does no I/O.
    type Command;
    type Event;
    /// The schema version of every event type this code writes.
    const SCHEMA_VERSION: u32;

    fn decide(state: &Self::State, command: &Self::Command) -> Result<Vec<Self::Event>, DomainError>;
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
    /// The stored name of an event's type.
    fn event_type(event: &Self::Event) -> &'static str;

    /// The state after `events`, from the initial one.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        events.into_iter().fold(Self::State::default(), Self::evolve)
    }
}

/// Deciders' rules as given / when / then: the state is folded from the events given, the
/// command is decided, and the events it records (or its refusal) are asserted.
///
/// ```
/// use domain::decider::testing::given;
/// use domain::report::{ReportDecider, ReportEvent};
/// # let event = ReportEvent::ReportGenerated { report: "gains".into(), parameters: Default::default(),
/// #     format: "json".into(), sha256: "00".into(), rows: 1, position: 7, as_of: None, tree_root: None };
/// given::<ReportDecider>(&[]).when(&event).then(&[event.clone()]);
/// ```
pub mod testing {
    use super::Decider;
    use crate::DomainError;

    /// The state folded from `events`.
    pub fn given<D: Decider>(events: &[D::Event]) -> Given<D> {
        Given { state: D::fold(events) }
    }

    /// A state to decide on.
    pub struct Given<D: Decider> {
        pub state: D::State,
    }

    impl<D: Decider> Given<D> {
        /// Decides `command` on the state.
        pub fn when(self, command: &D::Command) -> Then<D> {
            let decided = D::decide(&self.state, command);
            Then { state: self.state, decided }
        }
    }

    /// What a command decided.
    pub struct Then<D: Decider> {
        state: D::State,
        pub decided: Result<Vec<D::Event>, DomainError>,
    }

    impl<D: Decider> Then<D>
    where
        D::Event: PartialEq + std::fmt::Debug,
    {
        /// Asserts the events recorded, in order; returns the state after them.
        #[track_caller]
        pub fn then(self, expected: &[D::Event]) -> D::State {
            match self.decided {
                Ok(events) => {
                    assert_eq!(events, expected, "the events decided");
                    events.iter().fold(self.state, D::evolve)
                }
                Err(e) => panic!("expected events {expected:?}, the command was refused: {e}"),
            }
        }

        /// Asserts the command was refused; returns why.
        #[track_caller]
        pub fn then_refused(self) -> DomainError {
            match self.decided {
                Ok(events) => panic!("expected a refusal, the command decided {events:?}"),
                Err(e) => e,
            }
        }
    }
}
