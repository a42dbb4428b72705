//! The binary: flags reach the run, output lands in `--out`, bad input is a clean error.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lumenize-experiment"))
}

#[test]
fn tiny_run_through_the_binary_with_a_price_file() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, r#"{"sqlite_rows_written_per_million": 2.5}"#).unwrap();
    let out = dir.path().join("out");
    let o = bin()
        .args([
            "--quick",
            "--durations",
            "0,20",
            "--runs",
            "1",
            "--ops",
            "2",
        ])
        .args([
            "--scale",
            "5",
            "--no-progress",
            "--latency-profile",
            "none,production",
        ])
        .arg("--prices")
        .arg(&prices)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| `sqlite_rows_written_per_million` | 2.5 |"),
        "price file applied"
    );
    assert!(
        report.contains(&prices.display().to_string()),
        "price source named"
    );
    assert!(
        report.contains("--durations 0,20"),
        "the exact command is recorded"
    );
    assert!(report.contains("(profile `production`)"));
    for f in [
        "cost-production.svg",
        "latency-overhead-production.svg",
        "scale.csv",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let samples = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    // 2 profiles × 2 durations × 5 designs × 1 run × 2 ops.
    assert_eq!(
        samples.lines().count(),
        1 + 2 * 2 * lumenize_experiment::model::Variant::ALL.len() * 2
    );
    assert!(out.join("summary.json").exists());
}

#[test]
fn bad_flags_fail_with_a_message() {
    for args in [
        vec!["--durations", "0,x"],
        vec!["--latency-profile", "fast"],
        vec!["--durations", "999999"],
        vec!["--prices", "/nonexistent/prices.toml"],
        vec!["--runs", "0"],
    ] {
        let o = bin().args(&args).arg("--no-progress").output().unwrap();
        assert!(!o.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("lumenize-experiment: invalid configuration"),
            "{args:?}: {err}"
        );
    }
}
