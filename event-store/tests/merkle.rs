//! `event_store::merkle` against an independent implementation's test vectors: every inclusion
//! and consistency case of transparency-dev/merkle (`tests/data/merkle`, see its README) must
//! verify when it should and fail when it should, and the proofs cairn makes for the reference
//! tree must be the vectors' own.

use base64::Engine as _;
use event_store::merkle::{self, Hash};
use serde_json::Value;
use sha2::Digest as _;

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).expect("base64")
}

/// A 32-byte hash. The vectors also hold values of other lengths ("don't care", truncated,
/// empty): those stand in as the SHA-256 of their bytes, which keeps equal values equal and
/// makes a malformed one a wrong hash (cairn's hashes are always 32 bytes).
fn hash(v: &Value) -> Option<Hash> {
    let bytes = b64(v);
    Some(bytes.clone().try_into().unwrap_or_else(|_| sha2::Sha256::digest(&bytes).into()))
}

/// A leaf hash: 32 bytes exactly, or `None` (an empty or truncated leaf hash must fail).
fn exact(v: &Value) -> Option<Hash> {
    b64(v).try_into().ok()
}

fn proof(v: &Value) -> Option<Vec<Hash>> {
    v.as_array().map_or(Some(Vec::new()), |a| a.iter().map(hash).collect())
}

fn cases(kind: &str) -> Vec<(String, Value)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/merkle").join(kind);
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                out.push((path.display().to_string(), case));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_inclusion_vector_verifies_or_fails_as_it_should() {
    let all = cases("inclusion");
    assert!(all.len() > 90, "{} cases", all.len());
    for (name, c) in &all {
        let want_err = c["wantErr"].as_bool().unwrap();
        let got = match (exact(&c["leafHash"]), hash(&c["root"]), proof(&c["proof"])) {
            (Some(leaf), Some(root), Some(p)) => merkle::verify_inclusion(
                c["leafIdx"].as_u64().unwrap(),
                c["treeSize"].as_u64().unwrap(),
                &leaf,
                &p,
                &root,
            ),
            _ => Err(merkle::ProofError::Malformed("not a 32-byte leaf hash".into())),
        };
        assert_eq!(got.is_err(), want_err, "{name}: {} → {got:?}", c["desc"]);
    }
}

#[test]
fn every_consistency_vector_verifies_or_fails_as_it_should() {
    let all = cases("consistency");
    assert!(all.len() > 80, "{} cases", all.len());
    for (name, c) in &all {
        let want_err = c["wantErr"].as_bool().unwrap();
        let got = match (hash(&c["root1"]), hash(&c["root2"]), proof(&c["proof"])) {
            (Some(r1), Some(r2), Some(p)) => {
                merkle::verify_consistency(c["size1"].as_u64().unwrap(), c["size2"].as_u64().unwrap(), &r1, &r2, &p)
            }
            _ => Err(merkle::ProofError::Malformed("not a 32-byte hash".into())),
        };
        assert_eq!(got.is_err(), want_err, "{name}: {} → {got:?}", c["desc"]);
    }
}

/// RFC 6962's reference roots of the first 1 to 8 leaves (as Trillian and
/// transparency-dev/merkle test them).
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// The happy paths are proofs over the reference tree of eight leaves: its roots are RFC
/// 6962's, and cairn's own proofs of the same leaves and sizes are exactly the vectors'.
#[test]
fn cairns_proofs_of_the_reference_tree_are_the_vectors() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let leaves: Vec<Hash> = inputs.iter().map(|d| merkle::leaf_hash(d)).collect();
    let mut frontier = merkle::Frontier::default();
    for n in 1..=8 {
        assert_eq!(hex::encode(merkle::root(&leaves[..n])), ROOTS[n - 1], "{n} leaves");
        frontier.push(leaves[n - 1]);
        assert_eq!(hex::encode(frontier.root()), ROOTS[n - 1], "{n} leaves, appended");
    }
    let mut checked = 0;
    for (name, c) in cases("inclusion").iter().filter(|(n, _)| n.ends_with("happy-path.json")) {
        let (m, n) = (c["leafIdx"].as_u64().unwrap() as usize, c["treeSize"].as_u64().unwrap() as usize);
        assert_eq!(Some(merkle::root(&leaves[..n])), hash(&c["root"]), "{name}");
        assert_eq!(merkle::inclusion_proof(&leaves[..n], m), proof(&c["proof"]), "{name}");
        checked += 1;
    }
    for (name, c) in cases("consistency").iter().filter(|(n, _)| n.ends_with("happy-path.json")) {
        let (m, n) = (c["size1"].as_u64().unwrap() as usize, c["size2"].as_u64().unwrap() as usize);
        assert_eq!(merkle::consistency_proof(&leaves[..n], m), proof(&c["proof"]), "{name}");
        checked += 1;
    }
    assert!(checked >= 8, "{checked} happy paths");
}
