//! Server groups declared by count (`app: {count: 24}`): they run from the
//! command line, `--set servers.<group>.count` resizes them, and mistakes are
//! located.

use crate::common;

use crate::common::{json, lbsim, stderr, write};

const GROUP: &str = "name: groups
seed: 5
duration: 10s
clients:
  web: {target: edge, rate: 200/s, users: 500, timeout: 1s}
balancers:
  edge: {algorithm: least_connections, backends: [app], weights: {app: 2}}
servers:
  app: {count: 5, workers: 2, queue_limit: 20, service: {exponential: 15ms}}
";

/// Runs `args` after `run SCENARIO --out OUT --quiet --json` and returns the summary.
fn run(scenario: &std::path::Path, out: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--json"];
    all.extend_from_slice(args);
    let o = lbsim(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn server_names(summary: &serde_json::Value) -> Vec<String> {
    summary["servers"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_counted_group_runs_end_to_end_and_its_name_means_its_servers() {
    let dir = common::scratch("count-groups", "run");
    let scenario = write(&dir, "groups.yaml", GROUP);
    let out = dir.join("out");
    let s = run(&scenario, &out, &[]);
    assert_eq!(server_names(&s), ["app-01", "app-02", "app-03", "app-04", "app-05"]);
    // `backends: [app]` and `weights: {app: 2}` cover every server of the group.
    for server in s["servers"].as_array().unwrap() {
        assert!(server["requests"].as_u64().unwrap() > 0, "{server}");
        assert_eq!(server["workers"], 2);
    }
    assert_eq!(s["requests"]["all_accounted_for"], true);
    // The reports on disk say the same.
    assert_eq!(json(&out.join("summary.json"))["servers"].as_array().unwrap().len(), 5);
    let csv = std::fs::read_to_string(out.join("servers.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.lines().nth(5).unwrap().starts_with("app-05,2,"), "{csv}");
}

#[test]
fn set_changes_the_count_and_padding_follows_it() {
    let dir = common::scratch("count-groups", "set");
    let scenario = write(&dir, "groups.yaml", GROUP);
    let out = dir.join("out");
    let s = run(&scenario, &out, &["--set", "servers.app.count=12"]);
    let names = server_names(&s);
    assert_eq!(names.len(), 12);
    assert_eq!((names[0].as_str(), names[11].as_str()), ("app-01", "app-12"));
    assert_eq!(s["scenario"]["overrides"][0], "servers.app.count=12");
    // Past 99 the names widen, unless `pad` holds them.
    let s = run(&scenario, &out, &["--set", "servers.app.count=100", "--set", "duration=2s"]);
    let names = server_names(&s);
    assert_eq!((names.len(), names[0].as_str(), names[99].as_str()), (100, "app-001", "app-100"));
    let s = run(&scenario, &out, &["--set", "servers.app.count=3", "--set", "servers.app.pad=3"]);
    assert_eq!(server_names(&s), ["app-001", "app-002", "app-003"]);
}

#[test]
fn a_bad_count_is_located_and_exits_2() {
    let dir = common::scratch("count-groups", "bad");
    let cases = [
        (GROUP.replace("count: 5", "count: 0"), ":9:16:", "`count` of `app` must be at least 1"),
        (GROUP.replace("count: 5", "count: 3000000"), ":9:16:", "`app` declares 3,000,000 servers"),
        (GROUP.replace("count: 5,", "count: 5, pad: 12,"), ":9:24:", "`pad` must be from 1 to 9 digits"),
        (GROUP.replace("  app: {", "  \"app-*\": {"), ":9:3:", "must be a plain name"),
        (GROUP.replace("{app: 2}", "{app-06: 2}"), ":7:67:", "`app-06` is not a server"),
    ];
    common::assert_bad_scenarios(&dir, &cases);
    // A count set on the command line is reported against the argument.
    let scenario = write(&dir, "groups.yaml", GROUP);
    let o = lbsim(&["run", scenario.to_str().unwrap(), "--set", "servers.app.count=0"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--set servers.app.count=0: `count` of `app` must be at least 1"), "{err}");
}

#[test]
fn setting_the_count_of_a_range_explains_how_to_make_it_settable() {
    let dir = common::scratch("count-groups", "range");
    let ranged = GROUP
        .replace("backends: [app]", "backends: [\"app-*\"]")
        .replace("app: {count: 5,", "app-{01..24}: {")
        .replace("{app: 2}", "{\"app-*\": 2}");
    let scenario = write(&dir, "ranged.yaml", &ranged);
    let out = dir.join("out");
    let o =
        lbsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--set", "servers.app.count=30"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(
            "--set servers.app.count=30: there is no server group `app` to set a count on; \
             `app-{01..24}` declares its servers by a range"
        ),
        "{err}"
    );
    assert!(err.contains("write `app: {count: 24, ...}`") && err.contains("to make the count settable"), "{err}");
    assert!(!out.exists());
    // The range itself still runs, with its 24 servers.
    let s = run(&scenario, &out, &[]);
    assert_eq!(server_names(&s).len(), 24);
}
