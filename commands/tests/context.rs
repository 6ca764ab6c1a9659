//! The folded states a [`commands::Context`] keeps: a context sees what others appended to its
//! store, and two stores' states never mix.

use commands::aggregate::Caller;
use commands::ledger::{import_csv, load};
use commands::Context;
use event_store::Store;

const FIRST: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
    2025-01-06,Brokerage,taxable,buy,M,100,50,0\n";
const SECOND: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
    2025-02-06,Brokerage,,buy,M,5,52,0\n";

fn caller() -> Caller {
    Caller { actor: "test".into(), source: "context test".into() }
}

#[tokio::test]
async fn a_context_catches_up_on_what_another_appended() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let (one, other) = (Context::new(store.clone()), Context::new(store));
    import_csv(&one, "Smith", FIRST.as_bytes(), false, &caller()).await.unwrap();
    let (ledger, first) = load(&one, "Smith").await.unwrap();
    assert_eq!(ledger.trades.len(), 1, "the first import, folded and kept");

    import_csv(&other, "Smith", SECOND.as_bytes(), false, &caller()).await.unwrap();
    let (ledger, version) = load(&one, "Smith").await.unwrap();
    assert_eq!(ledger.trades.len(), 2, "the kept state plus the other context's append");
    assert_eq!(ledger.trades[1].quantity.to_string(), "5");
    let stream = commands::ledger::ledger_stream("Smith").unwrap();
    assert!(version > first);
    assert_eq!(version, event_store::EventStore::stream_version(one.store(), &stream).await.unwrap());
}

#[tokio::test]
async fn two_stores_keep_their_own_states() {
    let (a, b) = (Store::open("sqlite::memory:").await.unwrap(), Store::open("sqlite::memory:").await.unwrap());
    let (in_a, in_b) = (Context::new(a), Context::new(b));
    import_csv(&in_a, "Smith", FIRST.as_bytes(), false, &caller()).await.unwrap();
    assert!(load(&in_a, "Smith").await.unwrap().1 > 0);
    let (ledger, version) = load(&in_b, "Smith").await.unwrap();
    assert_eq!((ledger.trades.len(), version), (0, 0), "store b has no ledger for Smith");
}
