//! The dependency rule of ARCHITECTURE.md, read from `cargo metadata`: `api` → `workers` →
//! `commands` / `queries` → `projections` / `simulations` → `event-store` / `domain`. Nothing
//! points up or sideways: the write path (`commands`) never reads read models, `projections`
//! never runs the numeric engines, and `domain` depends on no other crate of the workspace.
//! Dev-dependencies are not counted (a crate's tests may drive it from above).

use std::collections::{BTreeMap, BTreeSet};

/// Each workspace crate and the workspace crates it may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("event-store", &[]),
    ("projections", &["domain", "event-store"]),
    ("simulations", &["domain"]),
    ("commands", &["domain", "event-store"]),
    ("queries", &["domain", "event-store", "projections", "simulations"]),
    ("workers", &["domain", "event-store", "projections", "simulations", "commands", "queries"]),
    ("api", &["domain", "event-store", "projections", "simulations", "commands", "queries", "workers"]),
];

#[test]
fn dependencies_point_down() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    assert_eq!(
        members,
        allowed.keys().copied().collect::<BTreeSet<_>>(),
        "every workspace crate has its place in the rule (add a new one to ALLOWED and ARCHITECTURE.md)"
    );
    let mut wrong = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        for d in p["dependencies"].as_array().unwrap() {
            let (dep, kind) = (d["name"].as_str().unwrap(), d["kind"].as_str());
            if members.contains(dep) && kind != Some("dev") && !allowed[name].contains(&dep) {
                wrong.push(format!("{name} → {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies that point up or sideways: {wrong:?}");
}
