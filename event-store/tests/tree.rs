//! The tree's nodes stored beside the log (`Store::sync_tree`): roots and proofs read from them
//! are exactly the ones computed from all the leaves, at every size, before and after a sync,
//! on both backends; a stored tree that no longer matches its log (a node changed, the log
//! truncated and written again) is rebuilt, not trusted.

mod common;

use common::{all_backends, noted_batch};
use event_store::merkle::{self, Hash};
use event_store::{EventStore as _, ExpectedVersion, Store, StreamId, TREE_CHUNK, TREE_CHUNK_LEVEL};

/// The leaves in whole chunks of a log of `n` events.
fn whole(n: u64) -> u64 {
    n / TREE_CHUNK * TREE_CHUNK
}

async fn leaves(store: &Store) -> Vec<Hash> {
    let length = store.head().await.unwrap().map_or(0, |h| h.position);
    merkle::leaves(store, length).await.unwrap()
}

/// Every root, and proofs at sizes and positions around the chunk boundaries, against the
/// in-memory tree of all the leaves.
async fn agrees(store: &Store, what: &str) {
    let leaves = leaves(store).await;
    let n = leaves.len() as u64;
    let c = TREE_CHUNK;
    let mut sizes: Vec<u64> = vec![
        1,
        2,
        c - 1,
        c,
        c + 1,
        2 * c - 1,
        2 * c,
        2 * c + 1,
        3 * c,
        4 * c + 1,
        255,
        256,
        257,
        1024,
        n / 2,
        n - 1,
        n,
    ];
    sizes.retain(|&s| s >= 1 && s <= n);
    for &size in &sizes {
        let want = merkle::root(&leaves[..size as usize]);
        assert_eq!(store.tree_root(size).await.unwrap(), want, "{what}: root of {size}");
        for m in [1, 2, c, c + 1, 2 * c + 1, 256, 257, 300, 513, size / 2 + 1, size - 1, size] {
            if m == 0 || m > size {
                continue;
            }
            let proof = store.tree_inclusion_proof(m, size).await.unwrap();
            assert_eq!(Some(&proof), merkle::inclusion_proof(&leaves[..size as usize], m as usize - 1).as_ref());
            merkle::verify_inclusion(m - 1, size, &leaves[m as usize - 1], &proof, &want).unwrap();
            let proof = store.tree_consistency_proof(m, size).await.unwrap();
            assert_eq!(Some(&proof), merkle::consistency_proof(&leaves[..size as usize], m as usize).as_ref());
            let old = merkle::root(&leaves[..m as usize]);
            merkle::verify_consistency(m, size, &old, &want, &proof).unwrap();
        }
    }
    assert!(store.tree_root(n + 1).await.is_err(), "{what}: a size beyond the log is refused");
    assert!(store.tree_inclusion_proof(0, n).await.is_err());
    assert!(store.tree_consistency_proof(n, n - 1).await.is_err());
}

#[tokio::test]
async fn roots_and_proofs_from_stored_nodes_are_the_ones_from_all_the_leaves() {
    for db in all_backends("tree").await {
        let store = &db.store;
        assert_eq!(store.sync_tree().await.unwrap(), 0);
        assert_eq!(store.tree_root(0).await.unwrap(), merkle::empty_root());
        let stream = StreamId::new("tree-a").unwrap();
        store.append(&stream, ExpectedVersion::NoStream, &noted_batch(0, 600)).await.unwrap();
        // Synced up to the last whole chunk.
        assert_eq!(store.sync_tree().await.unwrap(), whole(600));
        agrees(store, "600 events").await;
        // Events appended since the last sync are answered (a root or proof syncs first).
        store.append(&stream, ExpectedVersion::Exact(600), &noted_batch(600, 1_000)).await.unwrap();
        agrees(store, "1,600 events").await;
        assert_eq!(store.sync_tree().await.unwrap(), whole(1_600));
        db.remove().await;
    }
}

#[tokio::test]
async fn a_stored_tree_that_no_longer_matches_the_log_is_rebuilt() {
    let db = common::sqlite().await;
    let store = &db.store;
    let stream = StreamId::new("tree-b").unwrap();
    store.append(&stream, ExpectedVersion::NoStream, &noted_batch(0, 1_100)).await.unwrap();
    assert_eq!(store.sync_tree().await.unwrap(), whole(1_100));
    let pool = sqlx::SqlitePool::connect(&db.scratch.url).await.unwrap();

    // A changed node: the last chunk's no longer hashes its leaves (seen by the next sync that
    // has a chunk to add).
    let last = whole(1_100) / TREE_CHUNK - 1;
    sqlx::query("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = $1 AND idx = $2")
        .bind(TREE_CHUNK_LEVEL as i64)
        .bind(last as i64)
        .execute(&pool)
        .await
        .unwrap();
    store.append(&stream, ExpectedVersion::Exact(1_100), &noted_batch(1_100, 200)).await.unwrap();
    assert_eq!(store.sync_tree().await.unwrap(), whole(1_300));
    agrees(store, "after a changed node").await;

    // The log truncated (its guard dropped) and written again with other events.
    sqlx::query("DROP TRIGGER events_refuse_delete").execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM events WHERE global_position > 700").execute(&pool).await.unwrap();
    let other = StreamId::new("tree-c").unwrap();
    store.append(&other, ExpectedVersion::NoStream, &noted_batch(5_000, 400)).await.unwrap();
    assert_eq!(store.sync_tree().await.unwrap(), whole(1_100), "1,100 events again");
    agrees(store, "after a truncation").await;
    pool.close().await;
    db.remove().await;
}
