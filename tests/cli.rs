//! End-to-end tests of the `lbsim` binary: outputs, exit codes, located
//! errors, overrides and byte-identical reruns.

use crate::common;

use std::process::Command;

use crate::common::{json, lbsim, stderr, write};

const SMALL: &str = "name: small
seed: 3
duration: 20s
warmup: 2s
clients:
  web: {target: edge, rate: 200/s, users: 500, timeout: 1s}
balancers:
  edge: {algorithm: least_connections, backends: [\"app-*\"]}
servers:
  app-{1..3}: {workers: 2, queue_limit: 20, service: {exponential: 15ms}}
";

/// The charts every run writes, as `<name>.svg` and `<name>.png`.
const CHARTS: [&str; 7] = ["traffic-share", "latency", "errors", "users", "utilisation", "queue", "latency-spectrum"];

#[test]
fn run_writes_every_report_and_a_readable_table() {
    let dir = common::scratch("cli", "run");
    let scenario = write(&dir, "small.yaml", SMALL);
    let out = dir.join("out");
    let o = lbsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("Latency") && table.contains("app-1") && table.contains("Users"), "{table}");
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut expected: Vec<String> = CHARTS.iter().flat_map(|c| [format!("{c}.png"), format!("{c}.svg")]).collect();
    expected.extend(
        ["events.csv", "report.html", "report.md", "servers.csv", "summary.json", "timeseries.csv"].map(String::from),
    );
    expected.sort();
    assert_eq!(files, expected);
    assert!(table.contains(&format!("Reports in {}/: report.html, report.md,", out.display())), "{table}");
    assert!(table.contains("7 charts (.svg and .png)"), "{table}");

    // --no-charts leaves out the SVG and PNG files, and only them.
    let bare = dir.join("bare");
    let o = lbsim(&["run", scenario.to_str().unwrap(), "--out", bare.to_str().unwrap(), "--quiet", "--no-charts"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bare_files = std::fs::read_dir(&bare).unwrap().count();
    assert_eq!(bare_files, 6);
    let s = json(&out.join("summary.json"));
    assert_eq!(s["scenario"]["name"], "small");
    assert_eq!(s["scenario"]["seed"], 3);
    assert_eq!(s["simulated"]["duration_s"], 20.0);
    let r = &s["requests"];
    let generated = r["generated"].as_u64().unwrap();
    // Poisson at 200/s over the 18 measured seconds: 3600 ± a few sd.
    assert!((3300..3900).contains(&generated), "{generated}");
    assert_eq!(r["all_accounted_for"], true);
    assert_eq!(
        r["completed"].as_u64().unwrap()
            + r["failed"]["total"].as_u64().unwrap()
            + r["in_flight_at_end"].as_u64().unwrap(),
        generated
    );
    assert_eq!(s["servers"].as_array().unwrap().len(), 3);
    assert!(s["run"]["simulated_requests_per_wall_second"].as_f64().unwrap() > 0.0);
    let series = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(series.starts_with("time_s,clock,kind,entity,metric,value\n"));
    // 20 one-second intervals with a row of global requests each.
    assert_eq!(series.lines().filter(|l| l.contains(",global,all,requests,")).count(), 20);
    let servers = std::fs::read_to_string(out.join("servers.csv")).unwrap();
    assert_eq!(servers.lines().count(), 4);
    assert!(
        servers.starts_with("server,workers,requests,share,completed,rejected,errors,utilisation,max_queue,crashes")
    );
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let dir = common::scratch("cli", "determinism");
    let scenario = write(&dir, "small.yaml", SMALL);
    let run = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args =
            vec!["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--reproducible"];
        args.extend_from_slice(extra);
        assert!(lbsim(&args).status.success());
        out
    };
    let a = run("a", &[]);
    let b = run("b", &[]);
    let c = run("c", &["--seed", "4"]);
    let mut files: Vec<String> =
        ["summary.json", "timeseries.csv", "servers.csv", "events.csv", "report.html", "report.md"]
            .map(String::from)
            .to_vec();
    files.extend(CHARTS.iter().flat_map(|c| [format!("{c}.png"), format!("{c}.svg")]));
    for f in &files {
        let fa = std::fs::read(a.join(f)).unwrap();
        assert!(fa == std::fs::read(b.join(f)).unwrap(), "{f} differs between identical runs");
        // (this scenario has no events and no failures: its events.csv is
        // only the header, its error and users charts flat lines at zero)
        if f != "events.csv" && !f.starts_with("errors.") && !f.starts_with("users.") {
            assert!(fa != std::fs::read(c.join(f)).unwrap(), "{f} did not change with the seed");
        }
    }
    assert_eq!(json(&c.join("summary.json"))["scenario"]["seed"], 4);
    assert!(json(&a.join("summary.json"))["run"]["wall_seconds"].is_null());
}

#[test]
fn a_bad_scenario_names_file_line_and_column_exits_2_and_writes_nothing() {
    let dir = common::scratch("cli", "bad");
    let cases = [
        (SMALL.replace("[\"app-*\"]", "[app-1, app-9]"), ":8:58:", "unknown server `app-9`"),
        (SMALL.replace("least_connections", "least_connection"), ":8:", "unknown value"),
        (SMALL.replace("rate: 200/s", "rate: -200/s"), ":6:", "negative"),
        (SMALL.replace("timeout: 1s", "timeout: 1s, timout: 2s"), ":6:", "unknown field `timout`"),
        (SMALL.replace("workers: 2", "workers: 0"), ":10:", "at least 1 worker"),
        (SMALL.replace("target: edge", "target: edgy"), ":6:", "not a balancer"),
        (SMALL.replace("users: 500,", "users: [500],"), ":6:", ""),
        (SMALL.replace("duration: 20s", "duration: 20 parsecs"), ":3:", "not a time unit"),
    ];
    common::assert_bad_scenarios(&dir, &cases);
}

#[test]
fn missing_files_and_bad_arguments_exit_2() {
    let o = lbsim(&["run", "no/such/file.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.yaml"));
    let o = lbsim(&["run", "scenarios/quickstart.yaml", "--set", "novalue"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected path=value"));
    let o = lbsim(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let o = lbsim(&["run", "scenarios/quickstart.yaml", "--seed", "x"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn set_overrides_values_and_its_mistakes_point_at_the_argument() {
    let dir = common::scratch("cli", "set");
    let scenario = write(&dir, "small.yaml", SMALL);
    let out = dir.join("out");
    let o = lbsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--json",
        "--set",
        "clients.web.rate=50/s",
        "--set",
        "clients.web.arrival=constant",
        "--set",
        "duration=10s",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Constant spacing at 50/s over the 8 measured seconds: exactly 400.
    assert_eq!(s["requests"]["generated"], 400);
    assert_eq!(s["scenario"]["overrides"][0], "clients.web.rate=50/s");

    let o =
        lbsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--set", "clients.web.rate=fast"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--set clients.web.rate=fast") && err.contains("rate like"), "{err}");
    let o = lbsim(&["run", scenario.to_str().unwrap(), "--set", "clients.web.colour=blue"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no field `colour`"), "{}", stderr(&o));
}

#[test]
fn json_goes_to_stdout_and_diagnostics_to_stderr() {
    let dir = common::scratch("cli", "json");
    let scenario = write(
        &dir,
        "small.yaml",
        &SMALL.replace("app-{1..3}", "app-{1..4}").replace("[\"app-*\"]", "[app-1, app-2, app-3]"),
    );
    let o = lbsim(&["run", scenario.to_str().unwrap(), "--out", dir.join("o").to_str().unwrap(), "--json"]);
    assert!(o.status.success());
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is exactly one JSON document");
    assert!(s["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert!(stderr(&o).contains("warning: server `app-4`"), "{}", stderr(&o));
}

#[test]
fn help_is_complete_with_examples() {
    for cmd in ["run", "verify", "graph", "compare"] {
        let o = lbsim(&[cmd, "--help"]);
        assert!(o.status.success());
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("Examples:"), "{cmd}: {text}");
    }
}

#[test]
fn the_shipped_quickstart_runs() {
    let dir = common::scratch("cli", "quickstart");
    let o = lbsim(&["run", "scenarios/quickstart.yaml", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = json(&dir.join("summary.json"));
    assert_eq!(s["scenario"]["name"], "quickstart");
    assert!(s["requests"]["generated"].as_u64().unwrap() > 100_000);
    assert_eq!(s["littles_law"]["sample_path_identity_holds"], true);
}

const ALERTING: &str = "name: alerting
duration: 10m
interval: 5s
clients:
  web: {target: edge, rate: 200/s, users: 5000, timeout: 1s}
balancers:
  edge: {algorithm: round_robin, backends: [\"app-*\"]}
servers:
  app-{1..4}: {workers: 4, queue_limit: 20, service: {exponential: 10ms}}
timeline:
  - {at: 100s, server: app-2, error_rate: 40%, duration: 60s}
  - {at: 300s, server: app-3, slow_down: 30, duration: 90s}
alerts:
  - {name: errors, metric: error_rate, above: 5%, for: 15s}
  - {name: server-errors, metric: error_rate, scope: server, above: 20%, for: 10s}
  - {name: slow, metric: latency_p99_ms, above: 200ms}
slos:
  - objective: error_rate < 1%
";

/// Fire and resolve times implied by a series: the end of the `need`-th
/// consecutive interval above the threshold, and the end of the first
/// interval back below it.
fn implied(series: &[(f64, f64)], threshold: f64, need: usize, interval: f64) -> Vec<(f64, bool)> {
    let mut out = Vec::new();
    let (mut streak, mut firing) = (0, false);
    for &(t, v) in series {
        if v.is_finite() && v > threshold {
            streak += 1;
            if !firing && streak >= need {
                firing = true;
                out.push((t + interval, true));
            }
        } else {
            streak = 0;
            if firing {
                firing = false;
                out.push((t + interval, false));
            }
        }
    }
    out
}

#[test]
fn alerts_fire_and_resolve_at_the_times_the_series_imply() {
    let dir = common::scratch("cli", "alerts");
    let scenario = write(&dir, "alerting.yaml", ALERTING);
    let out = dir.join("out");
    let o = lbsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    // The error-rate SLO fails: exit status 1, reports still written.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json(&out.join("summary.json"))["verdict"], "fail");
    let series = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let pick = |kind: &str, entity: &str, metric: &str| -> Vec<(f64, f64)> {
        series
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[2] == kind && f[3] == entity && f[4] == metric)
                    .then(|| (f[0].parse().unwrap(), f[5].parse().unwrap_or(f64::NAN)))
            })
            .collect()
    };
    let events = std::fs::read_to_string(out.join("events.csv")).unwrap();
    let logged = |alert: &str, entity_text: &str| -> Vec<(f64, bool)> {
        events
            .lines()
            .skip(1)
            .filter(|l| l.contains(&format!("alert {alert},")) && l.contains(entity_text))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].parse().unwrap(), f[2] == "alert_firing")
            })
            .collect()
    };
    let expected = implied(&pick("global", "all", "error_rate"), 0.05, 3, 5.0);
    assert!(!expected.is_empty());
    assert_eq!(logged("errors", ""), expected);
    let expected = implied(&pick("server", "app-2", "error_rate"), 0.20, 2, 5.0);
    assert!(!expected.is_empty());
    assert_eq!(logged("server-errors", "on server app-2"), expected);
    let expected = implied(&pick("global", "all", "latency_p99_ms"), 200.0, 1, 5.0);
    assert!(!expected.is_empty());
    assert_eq!(logged("slow", ""), expected);

    // --no-fail keeps the verdict but exits 0.
    let o = lbsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--no-fail"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn graph_writes_dot_with_links_and_next_hops_and_svg_when_dot_exists() {
    let dir = common::scratch("cli", "graph");
    let scenario = write(
        &dir,
        "g.yaml",
        "name: g
duration: 1m
clients:
  web: {target: lb, rate: 10/s, timeout: 2s, subnets: [{prefix: 10.1.0.0/16}]}
balancers:
  lb: {address: 10.0.1.10, backends: [app], routes: [{prefix: 10.0.2.0/24, via: app}, {prefix: 0.0.0.0/0, via: r}]}
servers:
  app: {address: 10.0.2.10, service: {constant: 1ms}}
network:
  routers:
    r: {routes: [{prefix: 10.0.0.0/16, via: lb}, {prefix: 10.1.0.0/16, via: web.0}, {prefix: 10.9.0.0/16, action: blackhole}]}
  links:
    - {between: [web.0, r], latency: {constant: 5ms}, loss: 1%}
    - {between: [r, lb], down: true}
    - {between: [lb, app]}
",
    );
    let o = lbsim(&["graph", scenario.to_str().unwrap(), "--stdout"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(dot.starts_with("digraph \"g\""));
    assert!(dot.contains("label=\"5ms, loss 1%\""), "{dot}");
    assert!(dot.contains("DOWN"), "{dot}");
    assert!(dot.contains("style=dashed") && dot.contains("label=\"10.1.0.0/16\""), "{dot}");
    assert!(dot.contains("10.9.0.0/16 blackhole"), "{dot}");
    let out = dir.join("out");
    let o = lbsim(&["graph", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(out.join("topology.dot")).unwrap(), dot);
    let has_dot = Command::new("dot").arg("-V").output().is_ok();
    assert_eq!(out.join("topology.svg").exists(), has_dot);
    if has_dot {
        assert!(std::fs::read_to_string(out.join("topology.svg")).unwrap().contains("<svg"));
    } else {
        crate::common::skipped(
            "graph_writes_dot_with_links_and_next_hops_and_svg_when_dot_exists (topology.svg)",
            "graphviz",
            "`dot` is not on PATH; install Debian's `graphviz` package",
        );
    }
}
