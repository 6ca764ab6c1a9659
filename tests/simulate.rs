//! End-to-end: `cairn simulate` on the example plan and on bad plans.

mod common;

use common::{cairn, stderr, stdout};

fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/retirement.toml")
}

fn simulate(args: &[&str]) -> std::process::Output {
    cairn().arg("simulate").args(args).output().unwrap()
}

#[test]
fn the_example_plan_runs_and_the_seed_fixes_the_result_on_any_thread_count() {
    let plan = example();
    let plan = plan.to_str().unwrap();
    let run = |threads: &str| {
        let o = simulate(&[plan, "--paths", "3000", "--threads", threads, "--format", "json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(stdout(&o).trim()).unwrap()
    };
    let one = run("1");
    let two = run("2");
    for key in
        ["bands", "success_probability", "terminal_percentiles", "max_drawdown_percentiles", "annual_return_risk"]
    {
        assert_eq!(one[key], two[key], "{key} is the same on one and two threads");
    }
    let bands = one["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 40);
    for b in bands {
        let w: Vec<f64> = b["wealth"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert!(w.windows(2).all(|p| p[0] <= p[1]), "percentiles ascend: {w:?}");
    }
    let p = one["success_probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(one["paths"], 3000);
    let table = simulate(&[plan, "--paths", "500"]);
    assert!(stdout(&table).contains("probability of success:"), "{}", stdout(&table));
}

#[test]
fn bad_plans_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let base = "initial_wealth = 1000.0\nyears = 10\n[model]\n[[model.assets]]\nname = \"a\"\nexpected_return = 0.05\nvolatility = 0.1\nweight = 0.5\n[[model.assets]]\nname = \"b\"\nexpected_return = 0.03\nvolatility = 0.05\nweight = 0.5\n";
    let unknown = write("unknown.toml", &format!("{base}colour = \"red\"\n"));
    let o = simulate(&[unknown.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("colour") && stderr(&o).contains("line"), "{}", stderr(&o));

    let asymmetric =
        write("asym.toml", &base.replace("[model]\n", "[model]\ncorrelation = [[1.0, 0.5], [0.4, 1.0]]\n"));
    let o = simulate(&[asymmetric.to_str().unwrap()]);
    assert_eq!(stderr(&o).trim(), "error: model.correlation: entry (1, 2) differs from (2, 1): not symmetric");

    let three = "[[model.assets]]\nname = \"c\"\nexpected_return = 0.04\nvolatility = 0.08\nweight = 0.0\n";
    let indefinite = write(
        "indefinite.toml",
        &format!(
            "{}{three}",
            base.replace("[model]\n", "[model]\ncorrelation = [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]\n")
        ),
    );
    let o = simulate(&[indefinite.to_str().unwrap(), "--paths", "200"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: model.correlation is not positive definite; repaired"), "{}", stderr(&o));
}
