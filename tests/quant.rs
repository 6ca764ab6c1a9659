//! End-to-end: `cairn quant …` over JSON lines, from stdin and from --input, with the example
//! files of examples/quant/ and with bad lines.

mod common;

use std::io::Write as _;
use std::process::Stdio;

use common::{cairn, stderr, stdout};
use serde_json::Value;

fn example(command: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/quant/{command}.jsonl"))
}

/// Runs `cairn quant COMMAND` with `input` on stdin; the results, one JSON value per line.
fn quant_stdin(command: &str, input: &str) -> Vec<Value> {
    let mut child = cairn()
        .args(["quant", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    parse(&stdout(&o))
}

/// Runs `cairn quant COMMAND --input` on the command's example file.
fn quant_example(command: &str) -> (Vec<Value>, String) {
    let path = example(command);
    let o = cairn().args(["quant", command, "--input"]).arg(&path).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    (parse(&stdout(&o)), std::fs::read_to_string(&path).unwrap())
}

fn parse(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} is a number in {v}"))
}

#[test]
fn black_scholes_example_file_gives_prices_and_greeks_satisfying_parity() {
    let (out, text) = quant_example("black-scholes");
    assert_eq!(out.len(), text.lines().filter(|l| !l.trim().is_empty()).count());
    for v in &out {
        for key in ["price", "delta", "gamma", "vega", "theta", "rho"] {
            assert!(number(v, key).is_finite(), "{key} in {v}");
        }
    }
    // The first request is the textbook at-the-money call: S = K = 100, r = 5%, sigma = 20%, T = 1.
    assert!((number(&out[0], "price") - 10.450_583_572_185_565).abs() < 1e-9);
    // Put-call parity on the same inputs through stdin.
    let call = r#"{"kind":"call","spot":100,"strike":110,"rate":0.04,"dividend":0.015,"volatility":0.3,"expiry":0.25}"#;
    let both = quant_stdin("black-scholes", &format!("{call}\n{}\n", call.replace("call", "put")));
    let parity = 100.0 * (-0.015f64 * 0.25).exp() - 110.0 * (-0.04f64 * 0.25).exp();
    assert!((number(&both[0], "price") - number(&both[1], "price") - parity).abs() < 1e-10);
}

#[test]
fn a_bad_line_gets_an_error_naming_it_and_the_run_goes_on() {
    let good = r#"{"kind":"put","spot":50,"strike":55,"rate":0.03,"dividend":0,"volatility":0.4,"expiry":2}"#;
    let input = format!(
        "{good}\n{{\"kind\":\"straddle\",\"spot\":1}}\n\n{}\n{{\"kind\":\"call\"\n{good}\n",
        good.replace("\"spot\":50", "\"spot\":-5")
    );
    let out = quant_stdin("black-scholes", &input);
    assert_eq!(out.len(), 5, "{out:?}");
    assert!(number(&out[0], "price") > 5.0);
    assert_eq!(out[1]["line"], 2);
    assert!(out[1]["error"].as_str().unwrap().contains("unknown variant `straddle`"), "{}", out[1]);
    assert_eq!(out[2], serde_json::json!({"line": 4, "error": "spot: must be a positive number"}));
    assert_eq!(out[3]["line"], 5);
    assert!(out[3]["error"].as_str().unwrap().starts_with("invalid JSON"), "{}", out[3]);
    assert_eq!(out[4], out[0]);
}

#[test]
fn a_missing_input_file_is_an_error() {
    let o = cairn().args(["quant", "black-scholes", "--input", "/nonexistent/requests.jsonl"]).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot read /nonexistent/requests.jsonl"), "{}", stderr(&o));
}
