//! `cargo bench -p simulations --bench monte_carlo`: issue 6's speed benchmark, side by side
//! with the NumPy reference in one run. The model is `reference.toml` (50,000 paths x 30
//! years monthly x 5 correlated assets, two regimes, Student-t(5) shocks, jumps); the engine
//! runs on every core, best of five after a warm-up; then `reference_numpy.py` runs the same
//! plan (skipped with a note when python3 with numpy is missing, or when
//! CAIRN_BENCH_SKIP_NUMPY is set).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use simulations::monte_carlo::{self, Plan};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches");
    let text = std::fs::read_to_string(dir.join("reference.toml")).expect("benches/reference.toml");
    let plan: Plan = toml::from_str(&text).expect("reference.toml is a plan");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    monte_carlo::run(&plan, 0).expect("the reference plan runs");
    let mut times = Vec::new();
    let mut success = 0.0;
    let cpu_before = cpu_seconds();
    for _ in 0..5 {
        let started = Instant::now();
        let out = monte_carlo::run(&plan, 0).expect("the reference plan runs");
        times.push(started.elapsed().as_secs_f64());
        success = out.success_probability;
    }
    let cpu = cpu_seconds().map(|after| (after - cpu_before.unwrap_or(after)) / 5.0);
    times.sort_by(f64::total_cmp);
    let steps = plan.paths as f64 * f64::from(plan.years) * f64::from(plan.model.steps_per_year);
    let best = times[0];
    println!(
        "cairn   {} paths x {} years x {} steps/year, {} threads: best {:.3} s, median {:.3} s, {:.1} M path-steps/s, success {:.4}",
        plan.paths,
        plan.years,
        plan.model.steps_per_year,
        threads,
        best,
        times[2],
        steps / best / 1e6,
        success
    );
    if let Some(cpu) = cpu {
        // CPU time, summed over threads, is steadier than wall time on a busy machine.
        println!("cairn   CPU time per run: {cpu:.3} s ({:.1} M path-steps per CPU-second)", steps / cpu / 1e6);
    }
    if std::env::var_os("CAIRN_BENCH_SKIP_NUMPY").is_some() {
        return;
    }
    let script = dir.join("reference_numpy.py");
    let numpy = Command::new("python3").arg(&script).arg(dir.join("reference.toml")).output();
    match numpy {
        Ok(out) if out.status.success() => {
            let line = String::from_utf8_lossy(&out.stdout);
            let seconds = line
                .split("\"seconds\": ")
                .nth(1)
                .and_then(|s| s.split(',').next())
                .and_then(|s| s.trim().parse::<f64>().ok());
            println!("numpy   {}", line.trim());
            if let Some(s) = seconds {
                println!("speed-up over NumPy: {:.1}x", s / best);
            }
        }
        Ok(out) => println!("numpy   skipped: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => println!("numpy   skipped: python3: {e}"),
    }
}

/// This process's user + system CPU time (Linux, from /proc/self/stat; 100 ticks a second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends with ')'): state is field 3; utime and stime
    // are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
