//! `lbsim compare` end to end: paired replications with common random
//! numbers, intervals checked against queueing theory, the three report
//! formats, verdicts, exit statuses and mistakes in the arguments.

use crate::common;

use crate::common::{json, lbsim, stderr, write};

fn row<'a>(c: &'a serde_json::Value, metric: &str) -> &'a serde_json::Value {
    c["rows"].as_array().unwrap().iter().find(|r| r["metric"] == metric).unwrap_or_else(|| panic!("no row {metric}"))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Four M/M/1 servers behind random balancing (each sees a quarter of the
/// Poisson stream), 10 ms mean service.
const MM1: &str = "name: mm1
seed: 11
duration: 1600s
warmup: 100s
interval: 10s
clients:
  load: {target: lb, rate: 320/s, users: 1000}
balancers:
  lb: {algorithm: random, backends: [\"s-*\"]}
servers:
  s-{1..4}: {workers: 1, service: {exponential: 10ms}}
";

#[test]
fn the_paired_interval_of_a_load_change_contains_the_m_m_1_difference() {
    let dir = common::scratch("compare", "mm1");
    let base = write(&dir, "mm1.yaml", MM1);
    let out = dir.join("out");
    // rho 0.8 -> 0.5 on every server: mean response 1/(mu - lambda) goes
    // from 50 ms to 20 ms.
    let o = lbsim(&[
        "compare",
        base.to_str().unwrap(),
        "--change",
        "clients.load.rate=200/s",
        "--replications",
        "12",
        "--confidence",
        "0.999",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = json(&out.join("compare.json"));
    assert_eq!(c["replications"], 12);
    assert_eq!(c["first_seed"], 11);
    assert_eq!(c["changes"][0], "clients.load.rate=200/s");
    let mean = row(&c, "latency_mean_ms");
    let within = |value: f64, half: f64, theory: f64| (value - theory).abs() <= half;
    assert!(within(f(&mean["baseline_mean"]), f(&mean["baseline_half_width"]), 50.0), "{mean}");
    assert!(within(f(&mean["changed_mean"]), f(&mean["changed_half_width"]), 20.0), "{mean}");
    let (lo, hi) = (f(&mean["difference_low"]), f(&mean["difference_high"]));
    assert!(lo <= -30.0 && -30.0 <= hi, "difference CI [{lo}, {hi}] misses -30 ms");
    assert!(hi - lo < 6.0, "the interval is too wide to mean anything: [{lo}, {hi}]");
    assert_eq!(mean["significant"], true);
    assert_eq!(mean["verdict"], "better");
    assert_eq!(mean["pairs"], 12);
    // Throughput follows the offered load: 320/s -> 200/s, worse.
    let tput = row(&c, "throughput_rps");
    assert!(within(f(&tput["difference"]), 3.0, -120.0), "{tput}");
    assert_eq!(tput["verdict"], "worse");
    // Nothing fails on either side: no difference to find.
    let errors = row(&c, "error_rate_pct");
    assert_eq!((f(&errors["baseline_mean"]), f(&errors["changed_mean"])), (0.0, 0.0));
    assert_eq!(errors["verdict"], "no significant change");
}

#[test]
fn a_scenario_against_itself_differs_by_exactly_nothing() {
    // Common random numbers: the same scenario and seeds give the same
    // runs, so every difference is exactly zero and nothing is significant.
    let dir = common::scratch("compare", "self");
    let base = write(&dir, "mm1.yaml", &MM1.replace("1600s", "60s").replace("100s", "5s"));
    let out = dir.join("out");
    let o = lbsim(&[
        "compare",
        base.to_str().unwrap(),
        base.to_str().unwrap(),
        "--replications",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json prints compare.json");
    assert_eq!(c, json(&out.join("compare.json")));
    for r in c["rows"].as_array().unwrap() {
        if r["pairs"].as_u64() == Some(0) {
            continue; // undefined on both sides (no alert, no incident)
        }
        assert_eq!(f(&r["difference"]), 0.0, "{r}");
        assert_eq!(r["significant"], false, "{r}");
        assert_eq!(r["verdict"], "no significant change", "{r}");
    }
    assert_eq!(c["changed"], "mm1 (changed)");
}

/// A web tier where least connections avoids a slow server and random
/// does not.
const TIER: &str = "name: tier
seed: 5
duration: 120s
warmup: 10s
interval: 5s
clients:
  web: {target: edge, rate: 300/s, users: 2000, timeout: 2s}
balancers:
  edge: {algorithm: least_connections, backends: [\"app-*\"]}
servers:
  app-{1..3}: {workers: 4, queue_limit: 50, service: {exponential: 20ms}}
  app-4: {workers: 4, queue_limit: 50, service: {exponential: 80ms}}
";

#[test]
fn compare_writes_csv_markdown_and_json_that_agree_and_can_fail_ci() {
    let dir = common::scratch("compare", "tier");
    let base = write(&dir, "tier.yaml", TIER);
    let out = dir.join("out");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "compare",
            base.to_str().unwrap(),
            "--change",
            "balancers.edge.algorithm=random",
            "--replications",
            "5",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<String>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        lbsim(&a.iter().map(String::as_str).collect::<Vec<&str>>())
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("balancers.edge.algorithm=random") && table.contains("latency p99") && table.contains("95% CI"),
        "{table}"
    );
    let c = json(&out.join("compare.json"));
    let p99 = row(&c, "latency_p99_ms");
    assert_eq!(p99["verdict"], "worse", "random sends the slow server its full share: {p99}");

    // compare.csv: one row per metric, the same numbers as compare.json.
    let mut csv = csv::Reader::from_path(out.join("compare.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), c["rows"].as_array().unwrap().len());
    for (rec, r) in records.iter().zip(c["rows"].as_array().unwrap()) {
        assert_eq!(rec[col("metric")], *r["metric"].as_str().unwrap());
        assert_eq!(rec[col("verdict")], *r["verdict"].as_str().unwrap());
        if let Some(d) = r["difference"].as_f64() {
            // (serde_json's parser may land one ulp away from the shortest form)
            let csv_value = rec[col("difference")].parse::<f64>().unwrap();
            assert!((csv_value - d).abs() <= 1e-12 * d.abs().max(1.0), "{csv_value} vs {d}");
        }
    }

    // compare.md: a Markdown table with a row per metric, significant
    // verdicts in bold, and the method under it.
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 1 + c["rows"].as_array().unwrap().len(), "{md}");
    assert!(md.lines().any(|l| l.starts_with("|---|")), "{md}");
    assert!(md.contains("| latency p99 |") && md.contains("**worse**"), "{md}");
    assert!(md.contains("common random numbers"), "{md}");

    // Charts overlaying the first replication of both sides.
    for chart in ["compare-latency", "compare-errors", "compare-users", "compare-spectrum"] {
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains("…edge.algorithm=random") && svg.contains("tier"), "{chart}.svg names both sides");
        assert!(std::fs::read(out.join(format!("{chart}.png"))).unwrap().starts_with(b"\x89PNG"), "{chart}.png");
    }

    // --fail-on-worse turns a worse metric into exit status 1, for CI.
    let o = run(&["--fail-on-worse"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn a_huge_minimum_effect_makes_significant_changes_negligible() {
    let dir = common::scratch("compare", "min-effect");
    let base = write(&dir, "tier.yaml", TIER);
    let out = dir.join("out");
    let o = lbsim(&[
        "compare",
        base.to_str().unwrap(),
        "--change",
        "balancers.edge.algorithm=random",
        "--replications",
        "4",
        "--min-effect",
        "100000",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = json(&out.join("compare.json"));
    for r in c["rows"].as_array().unwrap() {
        let v = r["verdict"].as_str().unwrap();
        // From a baseline of zero every change counts, so only rows with a
        // non-zero baseline are bound by the floor.
        if r["baseline_mean"].as_f64().is_some_and(|b| b != 0.0) {
            assert!(matches!(v, "negligible" | "no significant change" | "not comparable"), "{r}");
            if r["significant"] == true {
                assert_eq!(v, "negligible", "{r}");
            }
        }
    }
    assert!(c["rows"].as_array().unwrap().iter().any(|r| r["verdict"] == "negligible"));
}

#[test]
fn mistakes_in_compare_arguments_exit_2_and_write_nothing() {
    let dir = common::scratch("compare", "bad");
    let base = write(&dir, "tier.yaml", TIER);
    let out = dir.join("out");
    let b = base.to_str().unwrap();
    let o = out.to_str().unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["compare", b, "--out", o], "nothing to compare"),
        (vec!["compare", b, "--change", "balancers.edge.algorithm=fastest", "--out", o], "fastest"),
        (vec!["compare", b, "--change", "clients.web.rate=1/s", "--replications", "1", "--out", o], "at least 2"),
        (vec!["compare", b, "missing.yaml", "--out", o], "missing.yaml"),
        (vec!["compare", b, "--change", "servers=3", "--min-effect=-1", "--out", o], "--min-effect"),
    ];
    for (args, expect) in cases {
        let r = lbsim(&args);
        let err = stderr(&r);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: expected `{expect}` in {err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// The numbers in a README cell, in order (`−` read as a minus sign).
fn numbers(cell: &str) -> Vec<f64> {
    let text = cell.replace('−', "-");
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_digit() || c == '.' || (c == '-' && current.is_empty()) || (c == '+' && current.is_empty()) {
            current.push(c);
        } else {
            if let Ok(v) = current.parse::<f64>() {
                out.push(v);
            }
            current.clear();
        }
    }
    out
}

#[test]
fn the_incidents_readme_cites_what_compare_says_for_004() {
    // The cheapest incident's three comparisons, rerun as cited (10
    // replications from the file's seed): the README cannot drift from them.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/incidents/README.md")).unwrap();
    let rows: Vec<Vec<String>> = readme
        .lines()
        .filter(|l| l.starts_with("| 004 → ["))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 3, "004 has three counterfactuals");
    let dir = common::scratch("compare", "readme");
    for cells in rows {
        let file = &cells[0][cells[0].find('(').unwrap() + 1..cells[0].find(')').unwrap()];
        let out = dir.join(file);
        let o = lbsim(&[
            "compare",
            "scenarios/incidents/004-wrong-route-on-web-01.yaml",
            &format!("scenarios/incidents/{file}"),
            "--replications",
            "10",
            "--no-charts",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let c = json(&out.join("compare.json"));
        for (cell, metric, decimals) in [
            (&cells[1], "incident_users_affected_pct", 1),
            (&cells[2], "incident_error_rate_pct", 1),
            (&cells[3], "impact_min", 1),
        ] {
            let r = row(&c, metric);
            let cited = numbers(cell);
            let tolerance = 0.5 * 10f64.powi(-decimals) + 1e-9;
            for (i, key) in ["baseline_mean", "changed_mean", "difference"].iter().enumerate() {
                let fresh = f(&r[key]);
                assert!((cited[i] - fresh).abs() <= tolerance, "{file} {metric} {key}: README {} vs {fresh}", cited[i]);
            }
            assert!(cell.contains(r["verdict"].as_str().unwrap()), "{file} {metric}: {cell} vs {}", r["verdict"]);
        }
    }
}
