//! The fuzz targets' checked-in corpus (`fuzz/corpus/<target>/seed-*`, and
//! `regress-*` for inputs that once failed), replayed on stable Rust in every
//! `cargo test`: each input must return from its target, without a panic.
//! (`.ci/run` also fuzzes each target for a while when nightly is there.)

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("seed-") || n.to_string_lossy().starts_with("regress-")
            })
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no checked-in corpus for {target}");
    for p in inputs {
        let bytes = std::fs::read(&p).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(outcome.is_ok(), "{target} panicked on {}", p.display());
    }
}

#[test]
fn scenario_corpus() {
    replay("scenario", lbsim::fuzzing::scenario);
}

#[test]
fn set_corpus() {
    replay("set", lbsim::fuzzing::set);
}

#[test]
fn units_corpus() {
    replay("units", lbsim::fuzzing::units);
}

#[test]
fn merge_item_corpus() {
    replay("merge_item", lbsim::fuzzing::merge_item);
}

#[test]
fn import_corpus() {
    replay("import", lbsim::fuzzing::import);
}
