//! Report sets land whole: a run killed with SIGKILL at any moment leaves its
//! output folder holding the earlier run's set or its own, complete, never a
//! mix; two runs into one folder at once leave one whole set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::scratch;

/// Every file under `dir` (relative name -> bytes); hidden staging and lock
/// files beside the folder are not in it.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

fn run_cmd(seed: &str, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lbsim"));
    c.args(["run", "scenarios/quickstart.yaml", "--reproducible", "--quiet", "--no-fail", "--seed", seed])
        .args(["--set", "duration=3m", "--out"])
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn run_to(seed: &str, out: &Path) -> Duration {
    let t = Instant::now();
    let status = run_cmd(seed, out).status().unwrap();
    assert!(status.success(), "lbsim run --seed {seed} failed: {status}");
    t.elapsed()
}

fn copy_set(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn describe(
    snap: &BTreeMap<String, Vec<u8>>,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) -> String {
    let from = |name: &String, bytes: &Vec<u8>| match (old.get(name) == Some(bytes), new.get(name) == Some(bytes)) {
        (true, true) => "both",
        (true, false) => "old",
        (false, true) => "new",
        (false, false) => "neither",
    };
    snap.iter().map(|(n, b)| format!("{n}: {}", from(n, b))).collect::<Vec<_>>().join(", ")
}

#[test]
fn a_killed_run_leaves_the_old_set_or_the_new_one() {
    let dir = scratch("landing", "kill");
    let (old_ref, new_ref, target): (PathBuf, PathBuf, PathBuf) = (dir.join("old"), dir.join("new"), dir.join("out"));
    run_to("1", &old_ref);
    let whole = run_to("2", &new_ref);
    let (old, new) = (snapshot(&old_ref), snapshot(&new_ref));
    assert_ne!(old, new, "the two seeds must give different sets for this test to mean anything");
    assert!(old.len() >= 10, "a run writes its whole set: {:?}", old.keys());

    // Kill at moments spread over a whole run's length, and a little past it.
    let kills = 24;
    let (mut saw_old, mut saw_new) = (0, 0);
    for i in 0..kills {
        copy_set(&old_ref, &target);
        let at = whole.mul_f64(0.15 + 1.0 * i as f64 / kills as f64);
        let mut child = run_cmd("2", &target).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let snap = snapshot(&target);
        if snap == old {
            saw_old += 1;
        } else if snap == new {
            saw_new += 1;
        } else {
            panic!("kill {i} at {at:?} left a mix: {}", describe(&snap, &old, &new));
        }
    }
    eprintln!("landing: {kills} kills left the old set {saw_old} times and the new set {saw_new} times");
    assert!(saw_old > 0, "no kill came before the swap: the test did not exercise the staging");

    // What killed runs left beside the folder goes with the next run.
    run_to("2", &target);
    assert_eq!(snapshot(&target), new);
    let beside: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out."))
        .collect();
    assert_eq!(beside, [".out.lbsim-lock"], "staging folders of killed runs are cleaned up");
}

#[test]
fn two_runs_into_one_folder_leave_one_whole_set() {
    let dir = scratch("landing", "race");
    let (a_ref, b_ref, target) = (dir.join("a"), dir.join("b"), dir.join("out"));
    run_to("1", &a_ref);
    run_to("2", &b_ref);
    let (a, b) = (snapshot(&a_ref), snapshot(&b_ref));
    for round in 0..3 {
        let mut one = run_cmd("1", &target).spawn().unwrap();
        let mut two = run_cmd("2", &target).spawn().unwrap();
        assert!(one.wait().unwrap().success() && two.wait().unwrap().success());
        let snap = snapshot(&target);
        assert!(snap == a || snap == b, "round {round} left a mix: {}", describe(&snap, &a, &b));
    }
}

#[test]
fn a_refused_scenario_leaves_the_earlier_set_alone() {
    let dir = scratch("landing", "refused");
    let target = dir.join("out");
    run_to("1", &target);
    let before = snapshot(&target);
    let o = crate::common::lbsim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--set",
        "balancers.edge.algorithm=nonsense",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", crate::common::stderr(&o));
    assert_eq!(snapshot(&target), before);
}
