//! A Merkle tree over the log, as Certificate Transparency keeps one (RFC 6962 §2.1, and RFC
//! 9162 §2.1 for verification): its leaves are the events' chain hashes in global order, so
//! one signed root commits to every event up to a size, an inclusion proof shows one event is
//! in it with about log₂ n hashes, and a consistency proof shows a larger log extends a smaller
//! one (nothing removed, nothing rewritten) without reading either.
//!
//! Hashing, RFC 6962 §2.1: a leaf is `SHA-256(0x00 || data)`, an interior node
//! `SHA-256(0x01 || left || right)`, the empty tree `SHA-256()`. For n > 1 leaves the tree
//! splits at k, the largest power of two below n: `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`.
//!
//! Proofs are made from the leaf hashes ([`inclusion_proof`], [`consistency_proof`]: the
//! recursions PATH and PROOF of RFC 6962 §2.1.1 and §2.1.2) and checked with nothing but the
//! sizes, the roots and the proof ([`verify_inclusion`], [`verify_consistency`]: the algorithms
//! of RFC 9162 §2.1.3.2 and §2.1.4.2). [`Frontier`] keeps the roots of the perfect subtrees
//! of a growing log, log₂ n hashes, so a new head's root costs a few hashes per event appended.
//! The tests check all of it against the transparency-dev/merkle test vectors.

use sha2::{Digest, Sha256};

/// A node of the tree.
pub type Hash = [u8; 32];

/// The hash of a leaf whose data is `data` (RFC 6962 §2.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (n ≥ 2).
pub(crate) fn split(n: u64) -> u64 {
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// MTH over leaf hashes (RFC 6962 §2.1).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Where the roots of a tree's ranges come from: its leaves in memory, or the nodes a store
/// keeps beside its log. The proofs below ask only for the ranges RFC 6962's recursions visit:
/// `lo..hi` where `lo` is a multiple of the largest power of two not above `hi - lo`.
pub trait Ranges {
    /// MTH of leaves `lo..hi`.
    fn range_root(&self, lo: u64, hi: u64) -> Hash;
}

impl Ranges for [Hash] {
    fn range_root(&self, lo: u64, hi: u64) -> Hash {
        root(&self[lo as usize..hi as usize])
    }
}

/// The audit path of leaf `m` in the tree of `leaves` (RFC 6962 §2.1.1 PATH), leaf to root;
/// `None` when `m` is not a leaf of it.
pub fn inclusion_proof(leaves: &[Hash], m: usize) -> Option<Vec<Hash>> {
    inclusion_proof_in(leaves, leaves.len() as u64, m as u64)
}

/// [`inclusion_proof`] of leaf `m` in the tree of the first `size` leaves of `tree`.
pub fn inclusion_proof_in<T: Ranges + ?Sized>(tree: &T, size: u64, m: u64) -> Option<Vec<Hash>> {
    if m >= size {
        return None;
    }
    let mut proof = Vec::new();
    path(tree, m, 0, size, &mut proof);
    Some(proof)
}

fn path<T: Ranges + ?Sized>(t: &T, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = lo + split(n);
    if m < k {
        path(t, m, lo, k, out);
        out.push(t.range_root(k, hi));
    } else {
        path(t, m, k, hi, out);
        out.push(t.range_root(lo, k));
    }
}

/// The proof that the tree of `leaves` extends its first `m` leaves (RFC 6962 §2.1.2 PROOF);
/// `None` when `m` is 0 or larger than the tree. Empty when `m` is the whole tree.
pub fn consistency_proof(leaves: &[Hash], m: usize) -> Option<Vec<Hash>> {
    consistency_proof_in(leaves, leaves.len() as u64, m as u64)
}

/// [`consistency_proof`] of the first `m` leaves of `tree` against its first `size`.
pub fn consistency_proof_in<T: Ranges + ?Sized>(tree: &T, size: u64, m: u64) -> Option<Vec<Hash>> {
    if m == 0 || m > size {
        return None;
    }
    let mut proof = Vec::new();
    subproof(tree, m, 0, size, true, &mut proof);
    Some(proof)
}

/// SUBPROOF(m, D[lo:hi], whole), with `m` counted from `lo`.
fn subproof<T: Ranges + ?Sized>(t: &T, m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<Hash>) {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(t.range_root(lo, hi));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(t, m, lo, lo + k, whole, out);
        out.push(t.range_root(lo + k, hi));
    } else {
        subproof(t, m - k, lo + k, hi, false, out);
        out.push(t.range_root(lo, lo + k));
    }
}

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("{0}")]
    Malformed(String),
    #[error("the proof leads to root {computed}, not {expected}")]
    RootMismatch { computed: String, expected: String },
}

fn mismatch(computed: &Hash, expected: &Hash) -> ProofError {
    ProofError::RootMismatch { computed: hex::encode(computed), expected: hex::encode(expected) }
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Malformed(format!("leaf {index} is not in a tree of {size}")));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::Malformed(format!("the proof has {} hashes, too many", proof.len())));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::Malformed(format!("the proof has {} hashes, too few", proof.len())));
    }
    if r != *root {
        return Err(mismatch(&r, root));
    }
    Ok(())
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree of its first
/// `size1` leaves with root `root1` (RFC 9162 §2.1.4.2, 0 < size1 ≤ size2; equal sizes need
/// equal roots and no proof; a first tree of no leaves is refused, as transparency-dev/merkle
/// refuses it: there is nothing to check).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::Malformed(format!("a tree of {size2} cannot extend one of {size1}")));
    }
    if size1 == 0 {
        // Every tree extends the empty one: nothing to prove, and nothing a proof could show.
        return Err(ProofError::Malformed("a consistency proof needs a first tree of at least one leaf".into()));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::Malformed("trees of one size need no proof".into()));
        }
        return if root1 == root2 { Ok(()) } else { Err(mismatch(root2, root1)) };
    }
    if proof.is_empty() {
        return Err(ProofError::Malformed("an empty proof".into()));
    }
    // When size1 is a power of two, its root is the proof's implied first node.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::Malformed(format!("the proof has {} hashes, too many", proof.len())));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::Malformed(format!("the proof has {} hashes, too few", proof.len())));
    }
    if fr != *root1 {
        return Err(mismatch(&fr, root1));
    }
    if sr != *root2 {
        return Err(mismatch(&sr, root2));
    }
    Ok(())
}

/// The roots of the perfect subtrees of a log being appended to, largest first: a tree of n
/// leaves keeps one root per set bit of n, and appending a leaf merges equal sizes as a binary
/// counter carries. The tree's root folds them from the smallest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (subtree size, root), sizes strictly decreasing.
    peaks: Vec<(u64, Hash)>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf by its hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(size, left)) = self.peaks.last() {
            if size != node.0 {
                break;
            }
            self.peaks.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The root of the tree so far (MTH).
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(&(_, mut r)) = peaks.next() else { return empty_root() };
        for (_, left) in peaks {
            r = node_hash(left, &r);
        }
        r
    }
}

/// A tree head: the log's first `size` events (global positions 1 to `size`) have this root,
/// as of `timestamp`. Signed over [`TreeHead::message`] with the audit key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
    pub timestamp: chrono::DateTime<chrono::Utc>,
}

impl TreeHead {
    /// The bytes a head's signature covers: `cairn-tree-head-v1`, a zero byte, the size (8
    /// bytes, big-endian), the root, and the timestamp in microseconds since the Unix epoch (8
    /// bytes, big-endian, signed).
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(19 + 8 + 32 + 8);
        m.extend_from_slice(b"cairn-tree-head-v1\0");
        m.extend_from_slice(&self.size.to_be_bytes());
        m.extend_from_slice(&self.root);
        m.extend_from_slice(&self.timestamp.timestamp_micros().to_be_bytes());
        m
    }
}

/// The leaves of the log's first `size` events: their chain hashes in global order. Refused
/// when the log is shorter, or an event's stored hash is not 32 bytes.
pub async fn leaves<S: crate::EventStore>(store: &S, size: u64) -> Result<Vec<Hash>, crate::StoreError> {
    const PAGE: usize = 10_000;
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut position = 1;
    while (out.len() as u64) < size {
        let page = store.read_all(position, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in page {
            if out.len() as u64 == size {
                break;
            }
            let leaf: Hash = e.hash.as_slice().try_into().map_err(|_| crate::StoreError::Decode {
                position: e.global_position,
                problem: "the stored hash is not 32 bytes".into(),
            })?;
            out.push(leaf);
            position = e.global_position + 1;
        }
    }
    if (out.len() as u64) < size {
        return Err(crate::StoreError::Decode {
            position: out.len() as u64 + 1,
            problem: format!("the log holds {} events, not {size}", out.len()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaves of many lengths.
    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&vec![i; usize::from(i % 5)])).collect()
    }

    #[test]
    fn the_frontier_keeps_the_root_as_the_log_grows() {
        let leaves = leaves(40);
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let mut frontier = Frontier::default();
        assert_eq!(frontier.root(), empty_root());
        for (n, leaf) in leaves.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!((frontier.size(), frontier.root()), (n as u64 + 1, root(&leaves[..=n])), "{} leaves", n + 1);
        }
        assert_eq!(frontier.peaks.len(), 2, "40 = 32 + 8");
    }

    #[test]
    fn every_proof_made_from_the_leaves_verifies_and_a_changed_one_does_not() {
        let leaves = leaves(37);
        for n in 1..=leaves.len() {
            let r = root(&leaves[..n]);
            for m in 0..n {
                let proof = inclusion_proof(&leaves[..n], m).unwrap();
                verify_inclusion(m as u64, n as u64, &leaves[m], &proof, &r).unwrap();
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_inclusion(m as u64, n as u64, &leaves[m], &bad, &r).is_err());
                    assert_ne!(first, &[0u8; 32]);
                }
                if m + 1 < n {
                    assert!(verify_inclusion(m as u64 + 1, n as u64, &leaves[m], &proof, &r).is_err(), "{m} of {n}");
                }
            }
            assert_eq!(consistency_proof(&leaves[..n], 0), None);
            assert!(verify_consistency(0, n as u64, &empty_root(), &r, &[]).is_err());
            for m in 1..=n {
                let proof = consistency_proof(&leaves[..n], m).unwrap();
                verify_consistency(m as u64, n as u64, &root(&leaves[..m]), &r, &proof).unwrap();
                if m > 0 && m < n {
                    let mut other = leaves[..m].to_vec();
                    other[m - 1][0] ^= 1;
                    assert!(verify_consistency(m as u64, n as u64, &root(&other), &r, &proof).is_err());
                }
            }
        }
        assert_eq!(inclusion_proof(&leaves[..3], 3), None);
        assert_eq!(consistency_proof(&leaves[..3], 4), None);
    }
}
