//! `lbsim check` end to end: the five incident replays report their
//! injected change as an error with its time and rule, their validation
//! counterfactuals say validation would block it, the quickstart passes,
//! `--against` finds what a change introduces, the exit codes, JSON, SARIF
//! validated against the OASIS SARIF 2.1.0 schema, JUnit, and `run`'s
//! check before simulating.

use std::path::Path;

use crate::common::{lbsim, scratch, stderr, write};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `check FILE --format json`, parsed, and the exit status.
fn check_json(args: &[&str]) -> (serde_json::Value, i32) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let o = lbsim(&all);
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {} / {}", stdout(&o), stderr(&o)));
    (v, o.status.code().unwrap())
}

fn findings(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    v["findings"].as_array().unwrap().iter().collect()
}

/// (replay, its validation counterfactual, the rule, the entry's time, words in the message).
const INCIDENTS: &[(&str, &str, &str, &str, &str)] = &[
    ("000-routing-tables", "000-with-routing-check", "NET001", "19:58", "goes to `old-storage`, the wrong host"),
    (
        "001-network-switch",
        "001-with-config-check",
        "NET004",
        "22:00",
        "cuts balancer `lb` off from app-1, app-2, app-3, app-4",
    ),
    ("002-balancer-routes", "002-with-config-validation", "BAL003", "09:59", "legacy-1, legacy-2 are down"),
    (
        "003-all-traffic-to-one-server",
        "003-with-config-validation",
        "BAL001",
        "13:58",
        "with one backend in rotation (web-01)",
    ),
    (
        "004-wrong-route-on-web-01",
        "004-with-route-audit",
        "NET005",
        "09:58",
        "from `web-01` to `lb-01` through backup-gw",
    ),
];

#[test]
fn each_incident_replay_reports_its_change_and_each_validation_counterfactual_blocks_it() {
    for (replay, counterfactual, rule, time, words) in INCIDENTS {
        let (v, code) = check_json(&[&format!("scenarios/incidents/{replay}.yaml")]);
        assert_eq!(code, 1, "{replay}: {v:#}");
        let hit = findings(&v)
            .into_iter()
            .find(|f| f["rule"] == *rule && f["severity"] == "error" && f["time"] == *time)
            .unwrap_or_else(|| panic!("{replay}: no {rule} error at {time}: {v:#}"));
        let message = hit["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("at {time}, `")), "{replay}: {message}");
        assert!(message.contains(words), "{replay}: {message}");
        assert!(hit["line"].as_u64().unwrap() > 0 && hit["column"].as_u64().unwrap() > 0, "{hit}");

        let (v, code) = check_json(&[&format!("scenarios/incidents/{counterfactual}.yaml")]);
        assert_eq!(code, 0, "{counterfactual}: {v:#}");
        assert_eq!(v["errors"], 0, "{counterfactual}: {v:#}");
        let note = findings(&v)
            .into_iter()
            .find(|f| f["rule"] == *rule && f["severity"] == "note")
            .unwrap_or_else(|| panic!("{counterfactual}: no {rule} note: {v:#}"));
        let message = note["message"].as_str().unwrap();
        assert!(message.contains("would be blocked by validation"), "{counterfactual}: {message}");
        assert!(message.contains(words), "{counterfactual}: {message}");
    }
}

#[test]
fn the_text_form_names_the_place_rule_time_help_and_why() {
    let o = lbsim(&["check", "scenarios/incidents/003-all-traffic-to-one-server.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(
            "error[BAL001]: scenarios/incidents/003-all-traffic-to-one-server.yaml:48:9: at 13:58, `bad-config` \
             leaves balancer `lb` with one backend in rotation (web-01), until 16:00"
        ),
        "{text}"
    );
    // The snippet underlines the entry's time, as run's errors underline theirs.
    assert!(text.contains(" 48 │     at: \"13:58\""), "{text}");
    assert!(text.contains("help: put at least two servers in rotation"), "{text}");
    assert!(text.contains("why: one server takes all of the balancer's traffic"), "{text}");
    assert!(
        text.ends_with("scenarios/incidents/003-all-traffic-to-one-server.yaml: 2 errors, 1 warning, 1 note\n"),
        "{text}"
    );
}

#[test]
fn the_quickstart_passes_with_no_error_and_deny_warnings_fails_it() {
    let (v, code) = check_json(&["scenarios/quickstart.yaml"]);
    assert_eq!((code, v["errors"].as_u64()), (0, Some(0)), "{v:#}");
    let rules: Vec<&str> = findings(&v).iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["SPF001", "SPF001", "CAP002"], "{v:#}");
    let o = lbsim(&["check", "scenarios/quickstart.yaml", "--deny", "warnings"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    // Every other shipped scenario without a timeline is clean of errors too.
    for f in ["scenarios/capacity.yaml", "scenarios/bench/reference.yaml", "scenarios/bench/three-hops.yaml"] {
        let (v, code) = check_json(&[f]);
        assert_eq!(code, 0, "{f}: {v:#}");
    }
}

#[test]
fn against_a_baseline_reports_pairs_that_lose_service_and_capacity_that_drops() {
    let dir = scratch("check", "against");
    let base = std::fs::read_to_string("scenarios/incidents/000-routing-tables.yaml").unwrap();
    // The bad route as a standing change of the east edge router.
    let changed = base.replacen(
        "    edge-east:\n      routes:\n        - {prefix: 10.0.0.0/16, via: dc-core}",
        "    edge-east:\n      routes:\n        - {prefix: 10.0.0.0/16, via: dr-site}",
        1,
    );
    assert_ne!(changed, base);
    let changed = write(&dir, "changed.yaml", &changed);
    let (v, code) =
        check_json(&[changed.to_str().unwrap(), "--against", "scenarios/incidents/000-routing-tables.yaml"]);
    assert_eq!(code, 1, "{v:#}");
    let lost: Vec<&str> = findings(&v)
        .iter()
        .filter(|f| f["rule"] == "DIF001" && f["severity"] == "error")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(lost.len(), 2, "{v:#}");
    assert!(
        lost[0].starts_with("`storage-users.region-b` -> `storage-lb` was served in the baseline and is not now"),
        "{lost:?}"
    );
    assert!(lost[1].starts_with("`storage-users.region-c` -> `storage-lb`"), "{lost:?}");
    // The baseline's own findings (its timeline's) are not repeated.
    assert!(findings(&v).iter().all(|f| f["time"].is_null() || f["time"] != "19:58"), "{v:#}");
    assert_eq!(v["baseline"], "scenarios/incidents/000-routing-tables.yaml");

    // Fewer workers: the rotation serves less.
    let quick = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    let smaller = write(&dir, "smaller.yaml", &quick.replacen("    workers: 8\n", "    workers: 6\n", 1));
    let (v, code) = check_json(&[smaller.to_str().unwrap(), "--against", "scenarios/quickstart.yaml"]);
    let drop = findings(&v).into_iter().find(|f| f["rule"] == "DIF002").unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(
        drop["message"],
        "balancer `edge`'s rotation can serve 875/s where the baseline's served 1,125/s (-22%); it is offered 1,000/s at the peak"
    );
    // 875/s is below the peak: over capacity, a new error.
    assert_eq!(code, 1, "{v:#}");
    assert!(findings(&v).iter().any(|f| f["rule"] == "CAP001"), "{v:#}");
    // The same file against itself: nothing new.
    let (v, code) = check_json(&["scenarios/quickstart.yaml", "--against", "scenarios/quickstart.yaml"]);
    assert_eq!((code, findings(&v).len()), (0, 0), "{v:#}");
}

#[test]
fn unreadable_input_exits_2_and_a_scenario_that_does_not_compile_is_a_finding() {
    let dir = scratch("check", "bad");
    let missing = lbsim(&["check", "no/such/file.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read no/such/file.yaml"), "{}", stderr(&missing));
    let syntax = write(&dir, "syntax.yaml", "name: x\nclients: {web: {target: lb\n");
    let o = lbsim(&["check", syntax.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("syntax.yaml:"), "{}", stderr(&o));
    let o = lbsim(&["check", "scenarios/quickstart.yaml", "--against", "no/such/base.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = lbsim(&["check"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = lbsim(&["check", "scenarios/quickstart.yaml", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // Compiles not: a backend that does not exist is SCN001, located.
    let quick = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    let unknown = write(&dir, "unknown.yaml", &quick.replace("backends: [\"web-*\"]", "backends: [web-01, web-9]"));
    let (v, code) = check_json(&[unknown.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    let f = findings(&v)[0];
    assert_eq!(
        (f["rule"].as_str(), f["line"].as_u64(), f["column"].as_u64()),
        (Some("SCN001"), Some(39), Some(24)),
        "{f}"
    );
    assert_eq!(f["message"], "unknown server `web-9` in the backends of balancer `edge`");
    assert_eq!(f["help"], "did you mean `web-01`?");
}

/// Validates `instance` against `schema` (added at `url`) with boon.
pub fn validate(schema: serde_json::Value, url: &str, instance: &serde_json::Value) -> Result<(), String> {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(url, schema).map_err(|e| format!("{e}"))?;
    let index = compiler.compile(url, &mut schemas).map_err(|e| format!("{e:#}"))?;
    schemas.validate(instance, index).map_err(|e| format!("{e:#}"))
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/data/sarif-schema-2.1.0.json").unwrap()).unwrap();
    let url = schema["id"].as_str().unwrap().to_string();
    for f in [
        "scenarios/incidents/003-all-traffic-to-one-server.yaml",
        "scenarios/incidents/001-network-switch.yaml",
        "scenarios/quickstart.yaml",
    ] {
        let o = lbsim(&["check", f, "--format", "sarif"]);
        let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        validate(schema.clone(), &url, &log).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(log["$schema"], url);
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        for r in run["results"].as_array().unwrap() {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"], "{r}");
            assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap() >= 1);
            assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], f);
        }
    }
    // The validator does catch a broken log.
    let o = lbsim(&["check", "scenarios/quickstart.yaml", "--format", "sarif"]);
    let mut log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(validate(schema, &url, &log).is_err());
    // The catalogue alone is a valid log too.
    let o = lbsim(&["check", "--list-rules", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn list_rules_names_every_rule_and_junit_has_a_case_per_finding() {
    let o = lbsim(&["check", "--list-rules"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for id in [
        "SCN001", "BAL001", "BAL004", "NET001", "NET005", "SPF002", "CAP001", "CAP003", "CLI001", "CLI002", "MON001",
        "MON003", "TLN001", "DIF001", "DIF002",
    ] {
        assert!(text.contains(&format!("{id}  ")), "{id}: {text}");
    }
    let dir = scratch("check", "junit");
    let xml = dir.join("sub/check.xml");
    let o =
        lbsim(&["check", "scenarios/incidents/003-all-traffic-to-one-server.yaml", "--junit", xml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let x = std::fs::read_to_string(&xml).unwrap();
    assert!(x.contains("tests=\"4\" failures=\"2\""), "{x}");
    assert!(x.contains("<testcase classname=\"BAL001\" name=\"BAL001 single-backend: scenarios/incidents/003-all-traffic-to-one-server.yaml:48:9\">"), "{x}");
    assert!(x.contains("<failure message=\"at 13:58, `bad-config` leaves balancer `lb`"), "{x}");
}

#[test]
fn run_checks_first_stops_on_a_standing_error_and_warns_about_the_timeline() {
    let dir = scratch("check", "run");
    // No usable backend as written: nothing is simulated or written, exit 2.
    let out = dir.join("broken");
    let broken = |extra: &[&str]| {
        let mut args = vec!["run", "scenarios/quickstart.yaml", "--set", "balancers.edge.weights={\"web-*\": 0}"];
        args.extend_from_slice(&["--set", "duration=20s", "--set", "warmup=1s", "--no-fail", "--no-charts"]);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        lbsim(&args)
    };
    let o = broken(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error[BAL003]: scenarios/quickstart.yaml:37:3: balancer `edge` has no backend"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--no-check simulates it anyway"), "{}", stderr(&o));
    assert!(!out.exists());
    // --no-check simulates it.
    let o = broken(&["--no-check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.join("summary.json").exists());
    // Over capacity is simulated, with the check's warning: what melts is
    // what a "what if the load triples" run is for.
    let over = dir.join("over");
    let o = lbsim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--set",
        "clients.browsers.load=3x",
        "--set",
        "duration=20s",
        "--set",
        "warmup=1s",
        "--no-charts",
        "--out",
        over.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("check: warning[CAP001] scenarios/quickstart.yaml:37:3: balancer `edge` is offered"),
        "{}",
        stderr(&o)
    );
    assert!(over.join("summary.json").exists());
    // An incident replay runs: its timeline's findings are warnings.
    let out = dir.join("replay");
    let xml = dir.join("run.xml");
    let replay = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "scenarios/incidents/002-balancer-routes.yaml",
            "--set",
            "duration=35m",
            "--no-fail",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        lbsim(&args)
    };
    let o = replay(&["--junit", xml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("check: warning[BAL003] scenarios/incidents/002-balancer-routes.yaml:48:9: at 09:59, `bad-routes` leaves balancer `lb` with no backend that can serve"), "{err}");
    assert!(!err.contains("check: error"), "{err}");
    let x = std::fs::read_to_string(&xml).unwrap();
    assert!(
        x.contains("<testcase classname=\"slo\" name=\"availability (availability &gt;= 99.9%, window run)\">"),
        "{x}"
    );
    assert!(x.contains("<failure message=\"not met: observed"), "{x}");
    // --quiet silences the warnings.
    let o = replay(&["--quiet"]);
    assert!(!stderr(&o).contains("check:"), "{}", stderr(&o));
}

/// The ```yaml block after each `<!-- check: KIND -->` marker of a section.
fn examples(section: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for (at, _) in section.match_indices("<!-- check: ") {
        let rest = &section[at + "<!-- check: ".len()..];
        let kind = &rest[..rest.find(" -->").unwrap()];
        let start = rest.find("```yaml\n").unwrap() + "```yaml\n".len();
        let end = rest[start..].find("```").unwrap();
        out.push((kind, &rest[start..start + end]));
    }
    out
}

#[test]
fn every_rule_is_documented_with_a_bad_example_it_finds_and_a_good_one_it_does_not() {
    let docs = std::fs::read_to_string(Path::new("docs/check.md")).unwrap();
    let o = lbsim(&["check", "--list-rules", "--format", "json"]);
    let rules: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let dir = scratch("check", "docs");
    for r in rules.as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let heading = format!("### {id} `{}`", r["name"].as_str().unwrap());
        let at = docs.find(&heading).unwrap_or_else(|| panic!("docs/check.md has no `{heading}`"));
        let section = &docs[at..docs[at + 4..].find("\n### ").map_or(docs.len(), |e| at + 4 + e)];
        let blocks = examples(section);
        let baseline =
            blocks.iter().find(|(k, _)| *k == "baseline").map(|(_, y)| write(&dir, &format!("{id}-base.yaml"), y));
        for kind in ["bad", "good"] {
            let (_, yaml) =
                blocks.iter().find(|(k, _)| *k == kind).unwrap_or_else(|| panic!("{id}: no {kind} example"));
            let file = write(&dir, &format!("{id}-{kind}.yaml"), yaml);
            let mut args = vec![file.to_str().unwrap()];
            if let Some(b) = &baseline {
                args.extend(["--against", b.to_str().unwrap()]);
            }
            let (v, _) = check_json(&args);
            let found = findings(&v).iter().any(|f| f["rule"] == id);
            assert_eq!(found, kind == "bad", "{id} {kind} example: {v:#}");
        }
    }
}
