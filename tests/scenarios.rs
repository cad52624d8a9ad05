//! Every shipped scenario runs, and the incident replays say what their
//! README table says they say (the table's numbers are read from the README
//! and checked against fresh runs, so the documentation cannot drift).

use std::path::{Path, PathBuf};

use lbsim::model;
use lbsim::report::replications::Verdict;
use lbsim::report::{RunContext, Summary};
use lbsim::sim::run_quiet;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(path: &Path) -> Summary {
    let (world, _) = model::load(path, &[], None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let r = run_quiet(world);
    Summary::build(&r, &RunContext { reproducible: true, ..RunContext::default() })
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "json")
            // An overlay is part of a scenario, merged over an import.
            && !p.to_string_lossy().ends_with(".overlay.yaml")
        {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_scenario_compiles() {
    let mut files = Vec::new();
    scenario_files(&root().join("scenarios"), &mut files);
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        model::load(&f, &[], None).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

/// A number in a table cell: the first decimal number, as written.
fn first_number(cell: &str) -> Option<f64> {
    let start = cell.find(|c: char| c.is_ascii_digit())?;
    let text: String = cell[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    text.parse().ok()
}

/// Rows of the incidents README: (file name, cells).
fn table_rows() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("scenarios/incidents/README.md")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| [0"))
        .map(|l| {
            let cells: Vec<String> = l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect();
            let file = cells[0][cells[0].find('(').unwrap() + 1..cells[0].find(')').unwrap()].to_string();
            (file, cells)
        })
        .collect()
}

#[test]
fn the_incident_table_matches_fresh_runs() {
    let rows = table_rows();
    assert_eq!(rows.len(), 20, "every replay and counterfactual has a row");
    let dir = root().join("scenarios/incidents");
    let handles: Vec<_> = rows
        .into_iter()
        .map(|(file, cells)| {
            let path = dir.join(&file);
            std::thread::spawn(move || (file, cells, run(&path)))
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        let (file, cells, s) = h.join().unwrap();
        let inc = s.incident.as_ref().expect("replays set an incident window");
        // Columns: scenario, outage, error rate, users affected, ...
        let err = first_number(&cells[2]).unwrap();
        assert!(
            (inc.error_rate * 100.0 - err).abs() < 0.051,
            "{file}: error rate {} vs table {err}",
            inc.error_rate * 100.0
        );
        let affected = first_number(&cells[3]).unwrap();
        assert!(
            (inc.users.affected_pct - affected).abs() < 0.051,
            "{file}: users affected {} vs table {affected}",
            inc.users.affected_pct
        );
        match &s.impact.window {
            Some(w) => {
                let minutes = (w.duration_s / 60.0).floor();
                let written = first_number(&cells[1]).unwrap();
                // "46 min (...)" or "2 h 2 min (...)".
                let written_minutes = match cells[1].find(" h ") {
                    Some(h) => written * 60.0 + first_number(&cells[1][h + 3..]).unwrap_or(0.0),
                    None => written,
                };
                assert!((minutes - written_minutes).abs() <= 1.0, "{file}: outage {minutes} min vs table {}", cells[1]);
            }
            None => assert!(cells[1].starts_with("none"), "{file}: no outage but the table says {}", cells[1]),
        }
        results.push((file, s));
    }
    let get = |name: &str| &results.iter().find(|(f, _)| f.starts_with(name)).unwrap().1;
    for base in ["001-network-switch", "002-balancer-routes", "003-all-traffic-to-one-server"] {
        let b = get(base);
        assert!(b.incident.as_ref().unwrap().users.affected_pct > 85.0);
        assert_eq!(b.verdict, Verdict::Fail);
        assert!(b.impact.time_to_detect_s.is_some());
    }
    // 000: the fault follows the prefixes behind the east router.
    for sn in &get("000-routing-tables").subnets {
        let affected = sn.incident_users.as_ref().unwrap().affected_pct;
        let east = sn.name.ends_with("region-b") || sn.name.ends_with("region-c");
        assert!(if east { affected > 85.0 } else { affected < 10.0 }, "{}: {affected}", sn.name);
    }
    // 004: most users slowed or cut off; health checks keep most of them out of it.
    let touched = |name: &str| {
        let u = &get(name).incident.as_ref().unwrap().users;
        u.affected_pct + u.slowed_pct
    };
    assert!(touched("004-wrong-route-on-web-01") > 70.0);
    assert!(touched("004-with-health-checks") < 15.0);
    assert!(touched("004-with-routing-alert") < touched("004-wrong-route-on-web-01"));
    // A redundant path absorbs the switch fault entirely.
    assert_eq!(get("001-with-redundant-path").incident.as_ref().unwrap().error_rate, 0.0);
    for validated in [
        "000-with-routing-check",
        "001-with-config-check",
        "002-with-config-validation",
        "003-with-config-validation",
        "004-with-route-audit",
    ] {
        let v = get(validated);
        assert!(v.timeline.iter().any(|t| !t.applied), "{validated}: the bad change was not blocked");
        assert_eq!(v.verdict, Verdict::Pass);
    }
    // Health checks cannot help when the only backend is the failing one.
    let (hc, base) = (get("003-with-health-checks"), get("003-all-traffic-to-one-server"));
    let diff = hc.incident.as_ref().unwrap().users.affected_pct - base.incident.as_ref().unwrap().users.affected_pct;
    assert!(diff.abs() < 1.0, "{diff}");
}

/// The charts every run writes, as `<name>.svg` and `<name>.png`.
const CHARTS: [&str; 7] = ["traffic-share", "latency", "errors", "users", "utilisation", "queue", "latency-spectrum"];

#[test]
fn every_shipped_scenario_writes_its_charts_and_reports() {
    let mut files = Vec::new();
    scenario_files(&root().join("scenarios"), &mut files);
    files.sort();
    let out_root = std::env::temp_dir().join(format!("lbsim-shipped-{}", std::process::id()));
    // Two at a time: CI has two cores.
    for pair in files.chunks(2) {
        let handles: Vec<_> = pair
            .iter()
            .map(|f| {
                let f = f.clone();
                let out = out_root.join(f.file_stem().unwrap());
                std::thread::spawn(move || {
                    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
                        .args(["run", "--quiet", "--no-fail", "--reproducible", "--out"])
                        .arg(&out)
                        .arg(&f)
                        .output()
                        .unwrap();
                    assert!(o.status.success(), "{}: {}", f.display(), String::from_utf8_lossy(&o.stderr));
                    (f, out)
                })
            })
            .collect();
        for h in handles {
            let (f, out) = h.join().unwrap();
            check_reports(&f, &out);
        }
    }
    let _ = std::fs::remove_dir_all(&out_root);
}

fn check_reports(scenario: &Path, out: &Path) {
    let name = scenario.display();
    for chart in CHARTS {
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}: {chart}.svg");
        let png = std::fs::read(out.join(format!("{chart}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 5_000, "{name}: {chart}.png");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"), "{name}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let scenario_name = summary["scenario"]["name"].as_str().unwrap();
    assert!(html.contains(scenario_name), "{name}: report.html does not name the scenario");
    assert_eq!(html.matches("<svg").count(), CHARTS.len(), "{name}: every chart inline, once");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "{name}: external asset");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# ") && md.contains(scenario_name), "{name}: report.md");
}
