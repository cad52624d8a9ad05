//! The outputs of every shipped scenario, pinned: each file a run writes
//! with `--reproducible` (summary, CSVs, charts, reports), its length and a
//! stable 64-bit hash, against `tests/golden/outputs.tsv`. A change of
//! behaviour then shows here as the files it changed, and is a decision
//! someone names; a refactor that changes nothing passes untouched.
//!
//! After an intended change, regenerate the pins and say why in the commit:
//!
//!     LBSIM_BLESS=1 cargo test --test integration golden::
//!
//! The bench scenarios (10M requests each) run with `--set
//! requests=200000`; a sweep, a capacity search and a comparison are pinned
//! too, small.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{lbsim, stderr};
use lbsim::rng::stable_hash;

const GOLDEN: &str = "tests/golden/outputs.tsv";

/// One pinned command: a name for its outputs and its arguments (the
/// output directory is added).
struct Case {
    name: String,
    args: Vec<String>,
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["scenarios", "scenarios/incidents", "scenarios/bench"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        found.sort();
        files.extend(found);
    }
    let mut cases: Vec<Case> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let mut args = vec!["run".to_string(), rel.clone(), "--reproducible".into(), "--no-fail".into()];
            if rel.starts_with("scenarios/bench/") {
                args.extend(["--set".into(), "requests=200000".into()]);
            }
            Case { name: rel, args }
        })
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    cases.push(Case {
        name: "sweep capacity".into(),
        args: strings(&[
            "sweep",
            "scenarios/capacity.yaml",
            "--set",
            "duration=50s",
            "--vary",
            "servers.app.count=21..23",
            "--replications",
            "3",
        ]),
    });
    cases.push(Case {
        name: "capacity capacity".into(),
        args: strings(&[
            "capacity",
            "scenarios/capacity.yaml",
            "--set",
            "duration=50s",
            "--find",
            "min",
            "servers.app.count",
            "--between",
            "18..26",
            "--replications",
            "3",
        ]),
    });
    cases.push(Case {
        name: "compare quickstart".into(),
        args: strings(&[
            "compare",
            "scenarios/quickstart.yaml",
            "--change",
            "balancers.edge.algorithm=round_robin",
            "--set",
            "duration=2m",
            "--replications",
            "3",
        ]),
    });
    cases
}

/// Every file under `dir` (relative path) with its length and hash.
fn pins(dir: &Path, case: &str, out: &mut BTreeMap<(String, String), (usize, u64)>) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            out.insert((case.to_string(), rel), (bytes.len(), stable_hash(&bytes)));
        }
    }
}

fn read_golden(path: &Path) -> BTreeMap<(String, String), (usize, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let [case, file, len, hash] = f[..] else { return None };
            Some(((case.into(), file.into()), (len.parse().ok()?, u64::from_str_radix(hash, 16).ok()?)))
        })
        .collect()
}

fn write_golden(path: &Path, pins: &BTreeMap<(String, String), (usize, u64)>) {
    let mut text = String::from(
        "# The outputs of every shipped scenario (tests/golden.rs): command\tfile\tbytes\tstable_hash.\n\
         # Regenerate after an intended change: LBSIM_BLESS=1 cargo test --test integration golden::\n",
    );
    for ((case, file), (len, hash)) in pins {
        text.push_str(&format!("{case}\t{file}\t{len}\t{hash:016x}\n"));
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn every_shipped_scenario_gives_the_pinned_outputs() {
    let scratch = common::scratch("golden", "all");
    let cases = cases();
    // Two at a time: the machine has two cores.
    let results: Vec<(String, PathBuf, std::process::Output)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(2))
            .map(|chunk| {
                let scratch = &scratch;
                s.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let out = scratch.join(format!("{}-{i}", c.name.replace(['/', ' '], "_")));
                            let mut args: Vec<&str> = c.args.iter().map(String::as_str).collect();
                            args.extend(["--out", out.to_str().unwrap(), "--quiet"]);
                            (c.name.clone(), out.clone(), lbsim(&args))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut now = BTreeMap::new();
    for (name, out, o) in &results {
        assert!(matches!(o.status.code(), Some(0) | Some(1)), "{name} failed: {}", stderr(o));
        // Little's sample-path identity holds on every run, networks included.
        let summary = out.join("summary.json");
        if summary.exists() {
            let holds = &common::json(&summary)["littles_law"]["sample_path_identity_holds"];
            assert_eq!(holds, true, "{name}: L's time integral and the requests' times in the system disagree");
        }
        pins(out, name, &mut now);
    }
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("LBSIM_BLESS").is_some() {
        write_golden(&golden_path, &now);
        eprintln!("wrote {} ({} files of {} commands)", golden_path.display(), now.len(), results.len());
        return;
    }
    let golden = read_golden(&golden_path);
    assert!(!golden.is_empty(), "no pins in {GOLDEN}: run LBSIM_BLESS=1 cargo test --test integration golden::");
    let mut changed = Vec::new();
    for (key, pin) in &now {
        match golden.get(key) {
            Some(g) if g == pin => {}
            Some(_) => changed.push(format!("changed: {} {}", key.0, key.1)),
            None => changed.push(format!("new:     {} {}", key.0, key.1)),
        }
    }
    changed.extend(golden.keys().filter(|k| !now.contains_key(*k)).map(|k| format!("gone:    {} {}", k.0, k.1)));
    assert!(
        changed.is_empty(),
        "{} output files differ from {GOLDEN}:\n{}\nIf the change is intended, run LBSIM_BLESS=1 cargo test --test integration golden:: and say why in the commit.",
        changed.len(),
        changed.join("\n")
    );
}
