//! Helpers shared by the tests that run the `lbsim` binary: run it, make a
//! scratch directory, write a scenario, read a JSON report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `lbsim` binary from the crate's root.
pub fn lbsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run lbsim")
}

/// An empty directory of its own for one test (`suite` keeps test binaries apart).
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lbsim-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs each bad scenario `(text, place, what)` as `bad<i>.yaml` in `dir` and
/// checks that it exits 2 with `bad<i>.yaml<place>` (like `:8:58:`) and
/// `what` on stderr, without panicking or writing any output.
pub fn assert_bad_scenarios(dir: &Path, cases: &[(String, &str, &str)]) {
    for (i, (text, place, what)) in cases.iter().enumerate() {
        let scenario = write(dir, &format!("bad{i}.yaml"), text);
        let out = dir.join(format!("out{i}"));
        let o = lbsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains(&format!("bad{i}.yaml{place}")), "case {i}: {err}");
        assert!(err.contains(what), "case {i}: {err}");
        assert!(!err.contains("panicked"), "case {i}: {err}");
        assert!(!out.exists(), "case {i}: output written for a bad scenario");
    }
}

/// True when the tests run under CI (`CI` set, as CI systems and `.ci/run`
/// do, to anything but `false` or `0`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A test whose subject is missing (`tool`: Chromium, Graphviz, Slurm) calls
/// this before it returns early. Under CI, where `.ci/run` installs every
/// tool, that is a failure; elsewhere the test is skipped and says so on the
/// real stderr (libtest captures `eprintln!` of a passing test, and a test
/// that passes without running must not pass unseen).
pub fn skipped(test: &str, tool: &str, reason: &str) {
    assert!(!under_ci(), "{test}: {tool} is missing under CI, where .ci/run installs it: {reason}");
    let line = format!("\nSKIPPED ({tool}): {test} did not run: {reason}\n\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}
