//! Authoring that helps, end to end: `lbsim schema` (every shipped scenario
//! validates against it), `list`, `completions`, `man`, `--set` that says
//! when a path does not exist and sets list items, the `load` multiplier,
//! parse errors in words, `compare`'s labels, JUnit and output folders, and
//! every example in `--help` and the README run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::check::validate;
use crate::common::{json, lbsim, scratch, stderr, write};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn shipped_scenarios() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["scenarios", "scenarios/incidents", "scenarios/bench"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn every_shipped_scenario_validates_against_the_schema_and_every_field_is_documented() {
    let o = lbsim(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let url = "https://lbsim.invalid/scenario.schema.json";
    let scenarios = shipped_scenarios();
    assert!(scenarios.len() >= 20, "{scenarios:?}");
    for f in &scenarios {
        let v = yaml_to_json(&std::fs::read_to_string(f).unwrap());
        validate(schema.clone(), url, &v).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    // It does reject what the parser rejects.
    let mut bad = yaml_to_json(&std::fs::read_to_string("scenarios/quickstart.yaml").unwrap());
    bad["clients"]["browsers"]["rat"] = "900/s".into();
    assert!(validate(schema.clone(), url, &bad).is_err());
    let mut bad = yaml_to_json(&std::fs::read_to_string("scenarios/quickstart.yaml").unwrap());
    bad["balancers"]["edge"]["algorithm"] = "round_robbin".into();
    assert!(validate(schema.clone(), url, &bad).is_err());
    // Every field has its doc; documented defaults are given.
    let mut undocumented = Vec::new();
    let mut objects: Vec<(String, &serde_json::Value)> = vec![("(root)".into(), &schema)];
    objects.extend(schema["$defs"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v)));
    for (name, def) in objects {
        for (field, p) in def["properties"].as_object().into_iter().flatten() {
            if p["description"].as_str().is_none_or(str::is_empty) {
                undocumented.push(format!("{name}.{field}"));
            }
        }
    }
    assert!(undocumented.is_empty(), "fields without a doc: {undocumented:?}");
    assert_eq!(schema["properties"]["seed"]["default"], 1);
    assert_eq!(schema["properties"]["interval"]["default"], "1s");
    assert_eq!(schema["$defs"]["ServerSpec"]["properties"]["restart_time"]["default"], "30s");
}

#[test]
fn list_completions_and_man_print_what_they_say() {
    let o = lbsim(&["list", "algorithms"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().count(), 6);
    assert!(stdout(&o).starts_with("round_robin "), "{}", stdout(&o));
    let o = lbsim(&["list", "distributions"]);
    assert!(stdout(&o).contains("lognormal    {lognormal: {mean: 40ms, p99: 250ms}}"), "{}", stdout(&o));
    let o = lbsim(&["list", "metrics"]);
    assert!(stdout(&o).contains("alert  balancer  healthy_backends  count\n"), "{}", stdout(&o));
    let o = lbsim(&["list", "rules"]);
    assert!(stdout(&o).lines().any(|l| l.starts_with("BAL001  single-backend")), "{}", stdout(&o));
    let o = lbsim(&["list", "widgets"]);
    assert_eq!(o.status.code(), Some(2));
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = lbsim(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(stdout(&o).contains("check") && stdout(&o).contains("against"), "{shell}: {}", stdout(&o));
    }
    assert_eq!(lbsim(&["completions", "tcsh"]).status.code(), Some(2));
    let o = lbsim(&["man"]);
    assert!(stdout(&o).contains(".TH lbsim 1") && stdout(&o).contains("lbsim\\-check(1)"), "{}", stdout(&o));
    let dir = scratch("authoring", "man");
    let o = lbsim(&["man", "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = std::fs::read_to_string(dir.join("lbsim-check.1")).unwrap();
    assert!(page.contains("\\-\\-against") && page.contains(".TH lbsim-check 1") && page.contains("0.1.0"), "{page}");
    assert!(dir.join("lbsim-run.1").exists() && dir.join("lbsim.1").exists());
}

#[test]
fn set_names_a_path_that_does_not_exist_and_sets_list_items() {
    let o = lbsim(&["check", "scenarios/quickstart.yaml", "--set", "clients.browser.rate=900/s"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--set clients.browser.rate=900/s: there is no client group `browser` in `clients`"), "{err}");
    assert!(err.contains("help: did you mean `clients.browsers`?"), "{err}");
    assert!(!err.contains("missing field"), "{err}");
    let o = lbsim(&["check", "scenarios/quickstart.yaml", "--set", "clients.browsers.laod=2x"]);
    assert!(
        stderr(&o).contains("`clients.browsers` has no field `laod`")
            && stderr(&o).contains("did you mean `clients.browsers.load`?"),
        "{}",
        stderr(&o)
    );
    // A field the file leaves out is added; a list item is set by index.
    let o =
        lbsim(&["check", "scenarios/quickstart.yaml", "--set", "clients.mobile.retry.attempts=2", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = lbsim(&[
        "check",
        "scenarios/incidents/003-all-traffic-to-one-server.yaml",
        "--set",
        "timeline.0.at=14:30",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "BAL001" && f["time"] == "14:30"), "{v:#}");
    let o = lbsim(&["check", "scenarios/quickstart.yaml", "--set", "clients.browsers.profile.7.rate=1/s"]);
    assert!(stderr(&o).contains("has 2 items; index 7 is out of range"), "{}", stderr(&o));
}

#[test]
fn load_scales_the_whole_profile() {
    let dir = scratch("authoring", "load");
    let text = "name: l\nduration: 20s\nclients:\n  web: {target: lb, rate: 100/s, arrival: constant, profile: [{at: 10s, rate: 300/s}], timeout: 2s}\nbalancers:\n  lb: {backends: [s1, s2]}\nservers:\n  s{1..2}: {workers: 8, service: {constant: 1ms}}\n";
    let f = write(&dir, "l.yaml", text);
    let requests = |load: &str| {
        let out = dir.join(format!("out-{load}"));
        let o = lbsim(&[
            "run",
            f.to_str().unwrap(),
            "--set",
            &format!("clients.web.load={load}"),
            "--no-charts",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        json(&out.join("summary.json"))["requests"]["generated"].as_u64().unwrap()
    };
    // Constant spacing: 10 s at 100/s and 10 s at 300/s, scaled as a whole.
    assert_eq!(requests("1x"), 4000);
    assert_eq!(requests("2x"), 8000);
    assert_eq!(requests("50%"), 2000);
    let o = lbsim(&["check", f.to_str().unwrap(), "--set", "clients.web.load=-2x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the load multiplier must be more than zero"), "{}", stderr(&o));
}

#[test]
fn parse_errors_say_what_to_do() {
    let dir = scratch("authoring", "parse");
    let base = "name: t\nduration: 1m\nclients:\n  web: {target: edge, rate: 100/s}\nbalancers:\n  edge: {backends: [s1]}\nservers:\n  s1: {service: {constant: 5ms}}\n";
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "typo",
            &base.replace("duration", "durration"),
            &["typo.yaml:2:1: unknown field `durration`", "did you mean `duration`?"],
            &["quote names"],
        ),
        (
            "value",
            &base.replace("{backends", "{algorithm: round_robbin, backends"),
            &["unknown value `round_robbin`", "did you mean `round_robin`?"],
            &[],
        ),
        (
            "comma",
            &base.replace("{service: {constant: 5ms}}", "{workers: 4 queue_limit: 10, service: {constant: 5ms}}"),
            &["a `,` is missing after `4`", "`4, queue_limit: 10`"],
            &["whole number"],
        ),
        (
            "flow",
            &base.replace("edge, rate", "edge rate"),
            &["did not find expected ','", "a `,` seems to be missing"],
            &[],
        ),
        (
            "names",
            &base.replace("[s1]", "[s1 s2]").replace("  s1: {", "  s{1..2}: {"),
            &["unknown server `s1 s2`", "a `,` seems to be missing: write `s1, s2`"],
            &[],
        ),
        (
            "braces",
            &base.replace("[s1]", "[s-{1..2}]").replace("  s1: {", "  s-{1..2}: {"),
            &["quote names with braces"],
            &[],
        ),
        (
            "typed",
            &base.replace("  s1: {service", "  s-{1..2}: {workers: -1, service").replace("[s1]", "[\"s-*\"]"),
            &["expected a whole number"],
            &["quote names with braces"],
        ),
    ];
    for (name, text, want, not) in cases {
        let f = write(&dir, &format!("{name}.yaml"), text);
        let o = lbsim(&["run", f.to_str().unwrap(), "--out", dir.join("never").to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        for w in *want {
            assert!(err.contains(w), "{name}: no `{w}` in {err}");
        }
        for n in *not {
            assert!(!err.contains(n), "{name}: `{n}` in {err}");
        }
    }
    let o = lbsim(&["run", "no/such.yaml"]);
    assert_eq!(stderr(&o).matches("No such file or directory").count(), 1, "{}", stderr(&o));
}

/// Runs lbsim in `cwd`.
fn lbsim_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim")).args(args).current_dir(cwd).output().unwrap()
}

#[test]
fn compare_labels_its_sides_writes_junit_and_names_its_folder_by_the_change() {
    let dir = scratch("authoring", "compare");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quick = root.join("scenarios/quickstart.yaml");
    let q = quick.to_str().unwrap();
    let small = ["--set", "duration=40s", "--replications", "2", "--no-charts", "--quiet"];
    let mut args = vec!["compare", q, "--change", "balancers.edge.algorithm=round_robin"];
    args.extend(small);
    let o = lbsim_in(&dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = dir.join("output/compare/quickstart--duration=40s--balancers.edge.algorithm=round_robin");
    let c = json(&out.join("compare.json"));
    assert_eq!(
        (c["baseline"].as_str(), c["changed"].as_str()),
        (Some("quickstart"), Some("balancers.edge.algorithm=round_robin"))
    );
    assert!(
        stdout(&o).contains("quickstart (") && stdout(&o).contains(" vs balancers.edge.algorithm=round_robin ("),
        "{}",
        stdout(&o)
    );
    // Another change lands in another folder.
    let mut args = vec!["compare", q, "--change", "balancers.edge.algorithm=random", "--junit", "j.xml"];
    args.extend(small);
    let o = lbsim_in(&dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.join("output/compare/quickstart--duration=40s--balancers.edge.algorithm=random/compare.json").exists());
    assert!(out.join("compare.json").exists());
    let x = std::fs::read_to_string(dir.join("j.xml")).unwrap();
    assert!(x.contains("<testsuite name=\"lbsim compare quickstart vs balancers.edge.algorithm=random\""), "{x}");
    assert!(x.contains("<testcase classname=\"metric\" name=\"error rate\""), "{x}");
    // Labels given.
    let mut args = vec![
        "compare",
        q,
        "--change",
        "clients.browsers.load=1.1x",
        "--label-base",
        "today",
        "--label-changed",
        "+10%",
        "--out",
        "labelled",
    ];
    args.extend(small);
    let o = lbsim_in(&dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = std::fs::read_to_string(dir.join("labelled/compare.md")).unwrap();
    assert!(md.starts_with("### lbsim compare: today → +10%"), "{md}");
    let o = lbsim_in(&dir, &["compare", q, "--change", "seed=3", "--label-changed", "quickstart"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("both sides would be labelled `quickstart`"), "{}", stderr(&o));
    // `run --set` writes beside the plain run, not over it.
    let o = lbsim_in(&dir, &["run", q, "--set", "duration=40s", "--no-charts", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.join("output/quickstart--duration=40s/summary.json").exists());
}

/// Sets `flag value` in `words`, replacing the value if the flag is there.
fn set_flag(words: &mut Vec<String>, flag: &str, value: &str) {
    match words.iter().position(|w| w == flag) {
        Some(i) => words[i + 1] = value.to_string(),
        None => words.extend([flag.to_string(), value.to_string()]),
    }
}

/// The cheap form of an example command: the same command on the same
/// scenario, with a short run and few replications (the point is that its
/// paths, values and options are right), and its files in `tmp`.
fn cheap(example: &str, tmp: &Path) -> Option<Vec<String>> {
    let line = example.split(" #").next()?.split(" | ").next()?.split(" > ").next()?.trim();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    let line = line.strip_prefix("cargo run --release -- ").map(|l| format!("lbsim {l}")).unwrap_or(line.to_string());
    let mut words = shell_words(&line)?;
    if words.first().map(String::as_str) != Some("lbsim") {
        return None;
    }
    words.remove(0);
    let out = tmp.join(format!("out-{:016x}", lbsim::rng::stable_hash(line.as_bytes()))).to_string_lossy().into_owned();
    for w in &mut words {
        if ["/tmp/q7", "/tmp/q", "/shared/q"].contains(&w.as_str()) {
            *w = out.clone();
        }
    }
    if let Some(i) = words.iter().position(|w| w == "--junit") {
        words[i + 1] = format!("{out}.xml");
    }
    let has = |w: &[String], f: &str| w.iter().any(|x| x == f);
    let incident = words.iter().any(|w| w.contains("incidents/"));
    let bench = words.iter().any(|w| w.contains("bench/"));
    let cmd = words.first()?.clone();
    let shorten = |words: &mut Vec<String>| {
        let d = if incident {
            "duration=40m"
        } else if bench {
            "requests=20000"
        } else {
            "duration=40s"
        };
        words.extend(["--set".into(), d.into()]);
    };
    match cmd.as_str() {
        "run" => {
            shorten(&mut words);
            if has(&words, "--replications") {
                set_flag(&mut words, "--replications", "2");
            }
            if !has(&words, "--out") {
                set_flag(&mut words, "--out", &out);
            }
            words.extend(["--no-charts".into(), "--quiet".into(), "--no-fail".into()]);
        }
        "compare" => {
            shorten(&mut words);
            set_flag(&mut words, "--replications", "2");
            if !has(&words, "--out") {
                set_flag(&mut words, "--out", &out);
            }
            words.extend(["--no-charts".into(), "--quiet".into()]);
        }
        "sweep" | "capacity" => {
            words.extend(["--set".into(), "duration=40s".into()]);
            set_flag(&mut words, "--replications", "2");
            if cmd == "capacity" {
                set_flag(&mut words, "--max-replications", "2");
            }
            if !has(&words, "--out") {
                set_flag(&mut words, "--out", &out);
            }
        }
        "verify" => {
            set_flag(&mut words, "--requests", "2000");
            set_flag(&mut words, "--replications", "2");
        }
        "graph" if !has(&words, "--stdout") => set_flag(&mut words, "--out", &out),
        // An import writes its scenario (and files beside it) into `tmp`.
        "import" if has(&words, "--out") => {
            let i = words.iter().position(|w| w == "--out")?;
            let name = Path::new(&words[i + 1]).file_name()?.to_string_lossy().into_owned();
            words[i + 1] = format!("{out}/{name}");
        }
        "man" if has(&words, "--out") => set_flag(&mut words, "--out", &out),
        _ => {}
    }
    Some(words)
}

/// Splits a command line on spaces, keeping single-quoted words whole;
/// `None` for a line with a placeholder (`FILE`, `DIR`, `...`) or a glob.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let placeholder = |w: &String| {
        w.contains("...")
            || w.contains('*') && w.contains("shard")
            || w.chars().all(|c| c.is_ascii_uppercase() || c == '_') && w.len() > 1
    };
    (!words.iter().any(placeholder)).then_some(words)
}

/// The example command lines of every subcommand's `--help` and of the README's code blocks.
fn examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let help = stdout(&lbsim(&["--help"]));
    let commands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 12, "{commands:?}");
    for c in &commands {
        let text = stdout(&lbsim(&[c, "--help"]));
        for l in text.lines().filter(|l| l.trim_start().starts_with("lbsim ")) {
            out.push((format!("lbsim {c} --help"), l.trim().to_string()));
        }
    }
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut in_block = false;
    for l in readme.lines() {
        if l.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let t = l.trim();
        let command = ["lbsim ", "$ lbsim ", "cargo run --release -- "]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .and_then(|rest| rest.split_whitespace().next());
        // A command line, not a line of a command's output (`lbsim · quickstart · ...`).
        if in_block && command.is_some_and(|c| commands.iter().any(|k| k == c)) {
            out.push(("README.md".into(), t.to_string()));
        }
    }
    out
}

#[test]
fn every_example_in_help_and_the_readme_runs() {
    let tmp = scratch("authoring", "examples");
    let mut ran = 0;
    let mut skipped = Vec::new();
    // `merge` needs the shards its example names: make them, as the sweep example says.
    let shards = tmp.join("shards");
    for i in 0..4 {
        let o = lbsim(&[
            "sweep",
            "scenarios/quickstart.yaml",
            "--vary",
            "clients.browsers.rate=300/s,400/s",
            "--set",
            "duration=40s",
            "--replications",
            "2",
            "--shard",
            &format!("{i}/4"),
            "--out",
            shards.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for (from, example) in examples() {
        if example.starts_with("lbsim merge ") {
            let dirs: Vec<String> =
                (0..4).map(|i| shards.join(format!("shard-{i}-of-4")).to_string_lossy().into_owned()).collect();
            let mut args = vec!["merge".to_string()];
            args.extend(dirs);
            args.extend(["--out".into(), shards.to_string_lossy().into_owned()]);
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = lbsim(&a);
            assert_eq!(o.status.code(), Some(0), "{from}: {example}: {}", stderr(&o));
            ran += 1;
            continue;
        }
        let Some(args) = cheap(&example, &tmp) else {
            skipped.push(example);
            continue;
        };
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = lbsim(&a);
        let code = o.status.code();
        // 0, or 1 for an SLO, a check or a verify that fails as the example means it to.
        assert!(
            matches!(code, Some(0 | 1)),
            "{from}: `{example}` (as `lbsim {}`) exited {code:?}: {}",
            a.join(" "),
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{from}: {example}: {}", stderr(&o));
        ran += 1;
    }
    // Placeholder lines (`lbsim run FILE ...`) are syntax, not examples.
    assert!(
        skipped.iter().all(|s| s.contains("FILE") || s.contains("...") || s.contains("DIR") || s.contains("shard-*")),
        "{skipped:?}"
    );
    assert!(ran >= 40, "only {ran} examples ran");
}
