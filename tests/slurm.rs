//! Sweeps across machines: a Slurm job array (deploy/slurm/sweep.sbatch) on
//! the single-node cluster that deploy/slurm/ci-cluster.sh starts, merged
//! back and held to the bytes of the same sweep run in one process; and the
//! Kubernetes Jobs (deploy/kubernetes/*.yaml), read for their shape.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The sweep both ways: 3 points x 4 replications, short runs.
const VARY: &str = "--vary clients.browsers.rate=300/s..500/s/100/s";
const EXTRA: &str = "--set duration=40s --set warmup=5s --seed 7";
const REPLICATIONS: &str = "4";
const SHARDS: usize = 4;
/// How long the whole array may take before the test cancels it.
const ARRAY_DEADLINE: Duration = Duration::from_secs(600);

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(cmd).is_file()))
}

/// Runs `cmd` with its output in files under `dir`, and kills it past `deadline`.
fn run_until(mut cmd: Command, dir: &Path, name: &str, deadline: Duration) -> Result<Output, String> {
    let out_path = dir.join(format!("{name}.stdout"));
    let err_path = dir.join(format!("{name}.stderr"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{name} still running after {} s: killed", deadline.as_secs()));
        }
        sleep(Duration::from_millis(200));
    };
    Ok(Output { status, stdout: fs::read(&out_path).unwrap(), stderr: fs::read(&err_path).unwrap() })
}

/// Whether a node of the cluster takes jobs, or why not: `sinfo -h -o %T`
/// shows idle, mixed or allocated within a short wait (a trailing `*` is a
/// node that does not answer).
fn cluster_unavailable(scratch: &Path) -> Option<String> {
    for cmd in ["sbatch", "sinfo", "scancel"] {
        if !on_path(cmd) {
            return Some(format!("`{cmd}` is not on PATH (Debian's slurm-wlm is not installed)"));
        }
    }
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(20) {
        let mut sinfo = Command::new("sinfo");
        sinfo.args(["-h", "-o", "%T"]);
        match run_until(sinfo, scratch, "sinfo", Duration::from_secs(15)) {
            Ok(o) => {
                let states = String::from_utf8_lossy(&o.stdout).into_owned();
                let usable = states
                    .lines()
                    .map(|s| s.trim().trim_end_matches('+'))
                    .any(|s| matches!(s, "idle" | "mixed" | "allocated" | "completing"));
                if o.status.success() && usable {
                    return None;
                }
                last = if o.status.success() {
                    format!("no node is idle, mixed or allocated (sinfo: {:?})", states.trim())
                } else {
                    format!("the cluster does not answer (sinfo: {})", String::from_utf8_lossy(&o.stderr).trim())
                };
            }
            Err(e) => last = e,
        }
        sleep(Duration::from_secs(1));
    }
    Some(last)
}

/// Every file under `dir`, by its path relative to `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                found.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// The task logs of an array job, for a failure's message.
fn task_logs(dir: &Path) -> String {
    let mut logs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "out"))
        .collect();
    logs.sort();
    logs.iter().map(|p| format!("---- {}\n{}", p.display(), fs::read_to_string(p).unwrap_or_default())).collect()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn slurm_array_sweep_merges_byte_identical_to_local() {
    // Under the target directory, not /tmp: the array's tasks write here, and
    // on a real cluster only such a shared path would do. (This cluster is
    // this machine, and its jobs run as the user who submits them.)
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("slurm-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    if let Some(reason) = cluster_unavailable(&dir) {
        crate::common::skipped(
            "slurm_array_sweep_merges_byte_identical_to_local",
            "slurm",
            &format!("{reason}; start a cluster with `sudo deploy/slurm/ci-cluster.sh` (.ci/run does)"),
        );
        let _ = fs::remove_dir_all(&dir);
        return;
    }
    let lbsim = env!("CARGO_BIN_EXE_lbsim");
    let scenario = Path::new(ROOT).join("scenarios/quickstart.yaml");
    let (local, sharded, merged) = (dir.join("local"), dir.join("sharded"), dir.join("merged"));

    // The sweep in one process.
    let o = Command::new(lbsim)
        .arg("sweep")
        .arg(&scenario)
        .args(EXTRA.split(' '))
        .args(VARY.split(' '))
        .args(["--replications", REPLICATIONS, "--out"])
        .arg(&local)
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(o.status.success(), "local sweep failed:\n{}", text(&o));

    // The same sweep as a 4-task array. The settings go in the environment
    // with --export=ALL, as sweep.sbatch's header says to: sbatch splits
    // --export=ALL,VAR=... at commas. --wait makes sbatch exit when the
    // array is done, with the highest exit status of its tasks.
    let job_name = format!("lbsim-test-{}", std::process::id());
    let mut sbatch = Command::new("sbatch");
    sbatch
        .arg("--wait")
        .arg(format!("--array=0-{}", SHARDS - 1))
        .arg("--cpus-per-task=1")
        .arg("--time=15")
        .arg(format!("--job-name={job_name}"))
        .arg(format!("--chdir={}", dir.display()))
        .arg("--export=ALL")
        .arg(Path::new(ROOT).join("deploy/slurm/sweep.sbatch"))
        .env("LBSIM", lbsim)
        .env("SCENARIO", &scenario)
        .env("VARY", VARY)
        .env("OUT", &sharded)
        .env("REPLICATIONS", REPLICATIONS)
        .env("EXTRA_ARGS", EXTRA)
        .current_dir(&dir);
    let o = match run_until(sbatch, &dir, "sbatch", ARRAY_DEADLINE) {
        Ok(o) => o,
        Err(e) => {
            let _ = Command::new("scancel").arg(format!("--name={job_name}")).status();
            panic!("{e} (job {job_name} cancelled)\n{}", task_logs(&dir));
        }
    };
    assert!(o.status.success(), "the array failed ({}):\n{}\n{}", o.status, text(&o), task_logs(&dir));

    // One directory per task, named for its shard.
    let mut shards: Vec<PathBuf> = fs::read_dir(&sharded)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("shard-"))
        .collect();
    shards.sort();
    let names: Vec<String> = shards.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let expected: Vec<String> = (0..SHARDS).map(|i| format!("shard-{i}-of-{SHARDS}")).collect();
    assert_eq!(names, expected, "{}", task_logs(&dir));

    let o =
        Command::new(lbsim).arg("merge").args(&shards).arg("--out").arg(&merged).current_dir(ROOT).output().unwrap();
    assert!(o.status.success(), "merge failed:\n{}", text(&o));

    let local_files = files(&local);
    assert!(!local_files.is_empty(), "the local sweep wrote nothing in {}", local.display());
    assert_eq!(files(&merged), local_files, "merged and local sweeps wrote different files");
    for f in &local_files {
        let (a, b) = (fs::read(local.join(f)).unwrap(), fs::read(merged.join(f)).unwrap());
        assert!(a == b, "{} differs: {} bytes locally, {} merged", f.display(), a.len(), b.len());
    }
    let _ = fs::remove_dir_all(&dir);
}

/// The Kubernetes documents, each as JSON.
fn yaml_docs(name: &str) -> Vec<Value> {
    let path = Path::new(ROOT).join("deploy/kubernetes").join(name);
    let text = fs::read_to_string(&path).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// The container's command as strings.
fn command(job: &Value) -> Vec<&str> {
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    c["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect()
}

/// The claim a Job mounts at /results.
fn results_claim(job: &Value) -> &str {
    let pod = &job["spec"]["template"]["spec"];
    let mount = pod["containers"][0]["volumeMounts"].as_array().unwrap().iter().find(|m| m["mountPath"] == "/results");
    let volume = &mount.expect("a volume mounted at /results")["name"];
    let v = pod["volumes"].as_array().unwrap().iter().find(|v| &v["name"] == volume).unwrap();
    v["persistentVolumeClaim"]["claimName"].as_str().unwrap()
}

#[test]
fn kubernetes_sweep_is_an_indexed_job_on_a_shared_claim_and_merge_reads_it() {
    let docs = yaml_docs("sweep-job.yaml");
    assert_eq!(docs.len(), 2);
    let claims = of_kind(&docs, "PersistentVolumeClaim");
    assert_eq!(claims.len(), 1);
    let claim = claims[0];
    assert_eq!(claim["apiVersion"], "v1");
    assert_eq!(claim["spec"]["accessModes"], serde_json::json!(["ReadWriteMany"]));

    let jobs = of_kind(&docs, "Job");
    assert_eq!(jobs.len(), 1);
    let sweep = jobs[0];
    assert_eq!(sweep["apiVersion"], "batch/v1");
    assert_eq!(sweep["spec"]["completionMode"], "Indexed");
    assert_eq!(sweep["spec"]["completions"], 4);
    assert_eq!(sweep["spec"]["parallelism"], 4);
    assert_eq!(sweep["spec"]["template"]["spec"]["containers"][0]["image"], "lbsim:latest");
    let args = command(sweep);
    assert_eq!(args[..2], ["lbsim", "sweep"]);
    // The shard count the pods are told is the Job's completions.
    let shard = args.iter().position(|a| *a == "--shard").map(|i| args[i + 1]);
    assert_eq!(shard, Some("auto/4"), "{args:?}");
    let out = args.iter().position(|a| *a == "--out").map(|i| args[i + 1]);
    assert_eq!(out, Some("/results"), "{args:?}");
    assert_eq!(results_claim(sweep), claim["metadata"]["name"]);

    let docs = yaml_docs("merge-job.yaml");
    let jobs = of_kind(&docs, "Job");
    assert_eq!(jobs.len(), 1);
    let merge = jobs[0];
    assert_eq!(results_claim(merge), claim["metadata"]["name"]);
    let script = command(merge).join(" ");
    assert!(script.contains("lbsim merge /results/shard-* --out /results/merged"), "{script}");
}
