//! The capacity loop end to end: `run --replications`, `sweep`, `capacity`
//! and `merge` from the binary, checked against closed forms where
//! queueing theory has them, and against each other (a merged sweep is the
//! unsharded sweep, byte for byte).

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::{json, lbsim, stderr, write};
use lbsim::validation::theory;

const MU: f64 = 100.0; // exponential service, mean 10 ms

/// `servers` single-worker M/M/1 servers behind random balancing, Poisson
/// load at `rate`/s, `requests` requests after a warm-up, an SLO on p99.
fn random_mm1(servers: u32, rate: f64, requests: u64, slo: &str) -> String {
    let measured = requests as f64 / rate;
    let warmup = (measured * 0.1).max(5.0);
    format!(
        "name: mm1\nseed: 11\nduration: {d:.3}s\nwarmup: {warmup:.3}s\ninterval: 10s\n\
         clients:\n  load: {{target: lb, rate: {rate}/s, users: 1000}}\n\
         balancers:\n  lb: {{algorithm: random, backends: [\"s-*\"]}}\n\
         servers:\n  \"s-{{1..{servers}}}\": {{service: {{exponential: 10ms}}}}\n\
         slos:\n  - {{objective: \"{slo}\"}}\n",
        d = measured + warmup,
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn files_of(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn metric<'a>(block: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    block["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == key).unwrap()
}

#[test]
fn replication_intervals_cover_the_closed_forms() {
    let dir = common::scratch("experiment", "replications");
    // M/M/4 at rho = 0.8 (Erlang C): mean and p99 of the response time.
    let text = "name: mmc\nseed: 3\nduration: 330s\nwarmup: 30s\ninterval: 10s\n\
        clients:\n  load: {target: lb, rate: 320/s, users: 1000}\n\
        balancers:\n  lb: {backends: [s]}\n\
        servers:\n  s: {workers: 4, service: {exponential: 10ms}}\n";
    let file = write(&dir, "mmc.yaml", text);
    let out = dir.join("out");
    let o = lbsim(&[
        "run",
        s(&file),
        "--replications",
        "12",
        "--confidence",
        "0.99",
        "--out",
        s(&out),
        "--quiet",
        "--json",
        "--reproducible",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &summary["replications"];
    assert_eq!((r["replications"].as_u64(), r["first_seed"].as_u64()), (Some(12), Some(3)));
    let covers = |key: &str, theory_ms: f64| {
        let m = metric(r, key);
        let (lo, hi) = (m["ci_low"].as_f64().unwrap(), m["ci_high"].as_f64().unwrap());
        assert!(lo <= theory_ms && theory_ms <= hi, "{key}: theory {theory_ms} outside [{lo}, {hi}]");
        // And the interval is informative: within a few percent.
        assert!(hi - lo < 0.1 * theory_ms, "{key}: [{lo}, {hi}] is too wide to mean anything");
    };
    covers("latency_mean_ms", theory::mmc_mean_sojourn(320.0, MU, 4) * 1e3);
    covers("latency_p99_ms", theory::mmc_sojourn_quantile(320.0, MU, 4, 0.99) * 1e3);
    // The rest of the summary is the first replication's (seed 3).
    assert_eq!(summary["scenario"]["seed"], 3);
    // The same block is in the file, and the reports carry it.
    assert_eq!(json(&out.join("summary.json"))["replications"], *r);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Over 12 replications"), "report.html has no replications section");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Over 12 replications"), "{md}");
}

#[test]
fn replicated_slo_verdicts_state_their_confidence_and_set_the_exit_status() {
    let dir = common::scratch("experiment", "slo-verdicts");
    // Four M/M/1 at rho = 0.5: p99 = ln(100) / (mu - lambda) = 92.1 ms.
    let pass = write(&dir, "pass.yaml", &random_mm1(4, 200.0, 40_000, "p99 < 150ms"));
    let fail = write(&dir, "fail.yaml", &random_mm1(4, 200.0, 40_000, "p99 < 60ms"));
    let o = lbsim(&["run", s(&pass), "--replications", "5", "--out", s(&dir.join("p")), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("`p99 < 150ms` holds with 95% confidence"), "{table}");
    assert!(table.contains("met in 5/5 replications"), "{table}");
    let o = lbsim(&["run", s(&fail), "--replications", "5", "--out", s(&dir.join("f")), "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("fails with 95% confidence"));
    let r = &json(&dir.join("f").join("summary.json"))["replications"];
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["slos"][0]["met"], 0);
    // --replications 1 is a plain run: no block at all.
    let o = lbsim(&["run", s(&pass), "--out", s(&dir.join("one")), "--quiet"]);
    assert!(o.status.success());
    assert!(json(&dir.join("one").join("summary.json")).get("replications").is_none());
}

#[test]
fn capacity_finds_the_analytic_load_limit() {
    let dir = common::scratch("experiment", "capacity-rate");
    // Ten M/M/1 servers behind random balancing: each sees rate/10, and its
    // p99 is ln(100) / (mu - rate/10), so p99 < 100 ms holds up to
    // rate = 10 (mu - ln(100) / 0.1) = 539.5/s.
    let limit = 10.0 * (MU - 100f64.ln() / 0.1);
    let file = write(&dir, "mm1.yaml", &random_mm1(10, 400.0, 100_000, "p99 < 100ms"));
    let out = dir.join("out");
    let o = lbsim(&[
        "capacity",
        s(&file),
        "--find",
        "max",
        "clients.load.rate",
        "--between",
        "300/s..800/s",
        "--resolution",
        "5/s",
        "--replications",
        "8",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
    let report = json(&out.join("capacity.json"));
    let answer = report["answer_number"].as_f64().unwrap();
    // The answer passes with 95% confidence, so it sits at or below the
    // limit, and within a few resolution steps of it.
    assert!(answer <= limit + 2.0 && answer >= limit - 20.0, "answer {answer}/s, limit {limit:.1}/s");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("passes with 95% confidence"), "{stdout}");
    assert!(stdout.contains("probe 1: clients.load.rate = 300/s → pass"), "{stdout}");
    let probes = report["probes"].as_array().unwrap();
    // Bisection: the two ends, then about log2(500 / 5) = 7 more.
    assert!(probes.len() <= 11, "{} probes", probes.len());
    assert!(files_of(&out).contains(&"capacity.csv".to_string()));
}

#[test]
fn capacity_says_when_nothing_in_the_interval_passes() {
    let dir = common::scratch("experiment", "capacity-none");
    let file = write(&dir, "mm1.yaml", &random_mm1(4, 200.0, 20_000, "p99 < 10ms"));
    let out = dir.join("out");
    let o = lbsim(&[
        "capacity",
        s(&file),
        "--find",
        "max",
        "clients.load.rate",
        "--between",
        "100/s..300/s",
        "--replications",
        "3",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("no value in 100/s..300/s meets the SLOs"), "{stdout}");
    assert!(json(&out.join("capacity.json"))["answer"].is_null());
}

/// A quick sweep of the mm1 model over two rates.
fn sweep_args<'a>(file: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "sweep",
        file,
        "--vary",
        "clients.load.rate=150/s..250/s/50/s",
        "--vary",
        "balancers.lb.algorithm=random,round_robin",
        "--replications",
        "3",
        "--seed",
        "5",
        "--out",
        out,
        "--quiet",
    ];
    v.extend_from_slice(extra);
    v
}

fn same_files(a: &Path, b: &Path) {
    assert_eq!(files_of(a), files_of(b));
    for f in files_of(a) {
        assert!(std::fs::read(a.join(&f)).unwrap() == std::fs::read(b.join(&f)).unwrap(), "{f} differs");
    }
}

#[test]
fn a_merged_sweep_is_the_local_sweep_byte_for_byte() {
    let dir = common::scratch("experiment", "merge");
    let file = write(&dir, "mm1.yaml", &random_mm1(4, 200.0, 5_000, "p99 < 100ms"));
    let file = s(&file).to_string();
    let local: PathBuf = dir.join("local");
    let o = lbsim(&sweep_args(&file, s(&local), &["--jobs", "2"]));
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["sweep.csv", "sweep.json", "report.html"] {
        assert!(local.join(f).exists(), "{f}");
    }
    let sweep = json(&local.join("sweep.json"));
    assert_eq!(sweep["points"].as_array().unwrap().len(), 6);
    assert_eq!(sweep["points"][1]["label"], "clients.load.rate=150/s balancers.lb.algorithm=round_robin");

    // The same sweep on one thread gives the same bytes.
    let one = dir.join("one");
    assert!(lbsim(&sweep_args(&file, s(&one), &["--jobs", "1"])).status.success());
    same_files(&local, &one);

    // Three shards, one of them run twice (a preempted task rerun).
    let shards = dir.join("shards");
    for i in 0..3 {
        let spec = format!("{i}/3");
        let o = lbsim(&sweep_args(&file, s(&shards), &["--shard", &spec]));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = lbsim(&sweep_args(&file, s(&shards), &["--shard", "1/3"]));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ran 0, 6 were already complete"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let dirs: Vec<PathBuf> = (0..3).map(|i| shards.join(format!("shard-{i}-of-3"))).collect();
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(|d| s(d)));
    args.extend(["--out", s(&merged)]);
    let o = lbsim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    same_files(&local, &merged);

    // A missing shard, or one given twice, is refused with what to do.
    let o = lbsim(&["merge", s(&dirs[0]), s(&dirs[2]), "--out", s(&dir.join("m2"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("are missing") && stderr(&o).contains("shard-1-of-3"), "{}", stderr(&o));
    assert!(!dir.join("m2").exists());
    let o = lbsim(&["merge", s(&dirs[0]), s(&dirs[1]), s(&dirs[2]), s(&dirs[1]), "--out", s(&dir.join("m3"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is in both"), "{}", stderr(&o));
    // A shard of another sweep.
    let other = dir.join("other");
    assert!(lbsim(&sweep_args(&file, s(&other), &["--shard", "0/3", "--confidence", "0.9"])).status.success());
    let o = lbsim(&["merge", s(&dirs[0]), s(&other.join("shard-0-of-3")), "--out", s(&dir.join("m4"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("different sweeps") && stderr(&o).contains("`confidence`"), "{}", stderr(&o));
}

#[test]
fn common_random_numbers_pair_the_points_of_a_sweep() {
    let dir = common::scratch("experiment", "crn");
    let file = write(&dir, "mm1.yaml", &random_mm1(4, 200.0, 5_000, "p99 < 100ms"));
    let out = dir.join("out");
    // Vary the timeout, which no request reaches: every point sees the same
    // users sending the same requests, so the figures agree exactly.
    let o = lbsim(&[
        "sweep",
        s(&file),
        "--vary",
        "clients.load.timeout=30s,60s",
        "--replications",
        "4",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sweep = json(&out.join("sweep.json"));
    let p99 = |p: usize| metric(&sweep["points"][p]["replications"], "latency_p99_ms")["mean"].as_f64().unwrap();
    assert_eq!(p99(0), p99(1));
}

#[test]
fn bad_experiment_arguments_are_located_and_write_nothing() {
    let dir = common::scratch("experiment", "bad");
    let file = write(&dir, "mm1.yaml", &random_mm1(4, 200.0, 2_000, "p99 < 100ms"));
    let out = dir.join("out");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["sweep", s(&file), "--vary", "clients.load.rate=100/s..200/s"], "this range has no step"),
        (vec!["sweep", s(&file), "--vary", "clients.load.rate=200/s..100/s/50/s"], "counts down"),
        (vec!["sweep", s(&file), "--vary", "clients.load.rat=100/s,200/s"], "--vary clients.load.rat=100/s"),
        (vec!["sweep", s(&file), "--vary", "clients.load.rate=fast,slow"], "--vary clients.load.rate=fast"),
        (
            vec!["sweep", s(&file), "--vary", "clients.load.rate=1/s,2/s", "--vary", "clients.load.rate=3/s"],
            "varied twice",
        ),
        (vec!["sweep", s(&file), "--vary", "x=1,2", "--replications", "1"], "at least 2"),
        (vec!["sweep", s(&file), "--vary", "clients.load.rate=1/s,2/s", "--shard", "3/3"], "does not exist"),
        (vec!["capacity", s(&file), "--find", "most", "clients.load.rate"], "not a direction"),
        (vec!["capacity", s(&file), "--find", "max", "balancers.lb.algorithm"], "not a number"),
        (vec!["capacity", s(&file), "--find", "max", "clients.load.rate", "--between", "300/s..100/s"], "empty"),
        (vec!["capacity", s(&file), "--find", "max", "clients.load.rate", "--between", "1..9"], "same units"),
        (
            vec!["capacity", s(&file), "--find", "max", "clients.load.timeout"],
            "sets no value at `clients.load.timeout`",
        ),
        (vec!["capacity", s(&file), "--find", "max", "clients.load.rate", "--between", "100/s..-1/s"], "--between"),
    ];
    for (mut args, expected) in cases {
        args.extend(["--out", s(&out), "--quiet"]);
        let o = lbsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: expected {expected:?} in\n{}", stderr(&o));
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    // A scenario without SLOs cannot be searched.
    let bare = write(
        &dir,
        "bare.yaml",
        &random_mm1(4, 200.0, 2_000, "p99 < 100ms").replace("slos:\n  - {objective: \"p99 < 100ms\"}\n", ""),
    );
    let o = lbsim(&["capacity", s(&bare), "--find", "max", "clients.load.rate", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("declares no SLOs"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn shards_take_their_index_from_slurm_or_kubernetes() {
    let dir = common::scratch("experiment", "shard-env");
    let file = write(&dir, "mm1.yaml", &random_mm1(4, 200.0, 3_000, "p99 < 100ms"));
    let file = s(&file).to_string();
    let local = dir.join("local");
    assert!(lbsim(&sweep_args(&file, s(&local), &[])).status.success());
    let shards = dir.join("shards");
    let run = |vars: &[(&str, &str)], spec: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"));
        cmd.args(sweep_args(&file, s(&shards), &["--shard", spec])).current_dir(env!("CARGO_MANIFEST_DIR"));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    // A Kubernetes Indexed Job of two pods, and a Slurm array --array=5-6.
    run(&[("JOB_COMPLETION_INDEX", "0")], "auto/2");
    run(&[("SLURM_ARRAY_TASK_ID", "6"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "2")], "auto");
    let merged = dir.join("merged");
    let (a, b) = (shards.join("shard-0-of-2"), shards.join("shard-1-of-2"));
    let o = lbsim(&["merge", s(&a), s(&b), "--out", s(&merged)]);
    assert!(o.status.success(), "{}", stderr(&o));
    same_files(&local, &merged);
}

#[test]
fn capacity_finds_the_analytic_server_count_with_and_without_one_down() {
    let dir = common::scratch("experiment", "capacity-count");
    // 1,000 requests/s over n M/M/1 servers behind random balancing: each
    // sees 1000/n, and p99 = ln(100) / (mu - 1000/n) < 100 ms needs
    // n > 1000 / (mu - ln(100) / 0.1) = 18.5, so n = 19 (p99 97.2 ms; at 18
    // it is 103.6 ms).
    let needed = (1000.0 / (MU - 100f64.ln() / 0.1)).floor() as u64 + 1;
    assert_eq!(needed, 19);
    let text = "name: fleet\nseed: 5\nduration: 110s\nwarmup: 10s\ninterval: 10s\n\
        clients:\n  load: {target: lb, rate: 1000/s, users: 1000}\n\
        balancers:\n  lb: {algorithm: random, backends: [s]}\n\
        servers:\n  s: {count: 24, service: {exponential: 10ms}}\n\
        slos:\n  - {objective: \"p99 < 100ms\"}\n";
    let file = write(&dir, "fleet.yaml", text);
    let search = |down: &str, out: &Path| {
        let o = lbsim(&[
            "capacity",
            s(&file),
            "--find",
            "min",
            "servers.s.count",
            "--between",
            "10..30",
            "--down",
            down,
            "--out",
            s(out),
            "--quiet",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
        (json(&out.join("capacity.json")), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let (report, stdout) = search("0", &dir.join("n"));
    assert_eq!(report["answer"], "19", "{stdout}");
    assert!(stdout.contains("19 servers (18 fails `p99 < 100ms` in"), "{stdout}");
    // N+1: with the largest server out, one more is needed.
    let (report, stdout) = search("1", &dir.join("n1"));
    assert_eq!(report["answer"], "20", "{stdout}");
    assert_eq!(report["down"], 1);
}

#[test]
fn a_sweep_varies_the_server_count_of_a_counted_group() {
    let dir = common::scratch("experiment", "count-sweep");
    let text = random_mm1(4, 200.0, 4_000, "p99 < 100ms").replace("\"s-{1..4}\": {", "s: {count: 4, ");
    let file = write(&dir, "fleet.yaml", &text);
    let out = dir.join("out");
    let o = lbsim(&[
        "sweep",
        s(&file),
        "--vary",
        "servers.s.count=3..5",
        "--replications",
        "2",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sweep = json(&out.join("sweep.json"));
    let labels: Vec<&str> = sweep["points"].as_array().unwrap().iter().map(|p| p["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["servers.s.count=3", "servers.s.count=4", "servers.s.count=5"]);
    // More servers for the same load: every added server lowers p99.
    let p99: Vec<f64> = (0..3)
        .map(|p| metric(&sweep["points"][p]["replications"], "latency_p99_ms")["mean"].as_f64().unwrap())
        .collect();
    assert!(p99[0] > p99[1] && p99[1] > p99[2], "{p99:?}");
    // Three servers at 200/s are M/M/1 at rho = 2/3: p99 = ln(100) / (100 - 66.7) = 138 ms.
    let theory_ms = theory::mm1_sojourn_quantile(200.0 / 3.0, MU, 0.99) * 1e3;
    assert!((p99[0] - theory_ms).abs() < 0.1 * theory_ms, "{} against {theory_ms}", p99[0]);
}
