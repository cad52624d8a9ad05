//! Sweeps across machines: `lbsim sweep --shard I/N` runs every work item
//! `k` with `k % N == I` and writes each item's sample to its own file in
//! `DIR/shard-I-of-N/items/`, beside the sweep's `plan.json`; `lbsim merge`
//! reads the shard directories and writes the outputs the sweep would have
//! written on one machine, byte for byte.
//!
//! An item file is written atomically once the item is done, so a shard
//! that is preempted and rerun skips the items it already finished. The
//! index and count come from the flag, from Slurm job arrays
//! (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, and
//! `SLURM_ARRAY_TASK_COUNT`) or from Kubernetes Indexed Jobs
//! (`JOB_COMPLETION_INDEX`, with the count given as `auto/N`).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::estimate::PointAccumulator;
use super::sample::{LatencyPool, Sample, SampleFile};
use super::sweep::{Plan, Prepared, SweepOutcome, write_outputs};
use crate::cli::Progress;
use crate::error::Error;
use crate::report::OutputDir;

/// Which share of the work a shard runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl ShardSpec {
    /// Parses `--shard I/N`, `auto` or `auto/N`, reading the environment for `auto`.
    pub(crate) fn parse(text: &str) -> Result<ShardSpec, Error> {
        ShardSpec::parse_with(text, &|k| std::env::var(k).ok())
    }

    /// As [`ShardSpec::parse`], with the environment given (for tests).
    pub(crate) fn parse_with(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<ShardSpec, Error> {
        let bad = |msg: String| {
            Error::argument(
                "--shard",
                text,
                0..text.len(),
                msg,
                Some(
                    "write I/N (I counts from 0, below N), auto (Slurm job arrays) or auto/N (Kubernetes Indexed Jobs)"
                        .into(),
                ),
            )
        };
        let number = |name: &str, v: &str| -> Result<usize, Error> {
            v.trim().parse::<usize>().map_err(|_| bad(format!("{name} `{v}` is not a whole number")))
        };
        let (index_text, count_text) = match text.split_once('/') {
            Some((i, n)) => (i.trim(), Some(n.trim())),
            None => (text.trim(), None),
        };
        let (index, count) = if index_text == "auto" {
            let slurm = env("SLURM_ARRAY_TASK_ID");
            let index = match (&slurm, env("JOB_COMPLETION_INDEX")) {
                (Some(id), _) => {
                    let min = env("SLURM_ARRAY_TASK_MIN").map_or(Ok(0), |m| number("SLURM_ARRAY_TASK_MIN", &m))?;
                    number("SLURM_ARRAY_TASK_ID", id)?
                        .checked_sub(min)
                        .ok_or_else(|| bad(format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")))?
                }
                (None, Some(k)) => number("JOB_COMPLETION_INDEX", &k)?,
                (None, None) => {
                    return Err(bad(
                        "`auto` found neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) in the environment".into(),
                    ));
                }
            };
            let count = match count_text {
                Some(n) => number("the shard count", n)?,
                None => match (&slurm, env("SLURM_ARRAY_TASK_COUNT")) {
                    (Some(_), Some(n)) => number("SLURM_ARRAY_TASK_COUNT", &n)?,
                    _ => return Err(bad("`auto` needs the shard count: write auto/N".into())),
                },
            };
            (index, count)
        } else {
            let Some(n) = count_text else { return Err(bad("expected I/N".into())) };
            (number("the shard index", index_text)?, number("the shard count", n)?)
        };
        if count == 0 || index >= count {
            return Err(bad(format!(
                "shard {index} of {count} does not exist: the index counts from 0 and stays below the count"
            )));
        }
        Ok(ShardSpec { index, count })
    }

    /// The shard's directory name.
    pub(crate) fn dir_name(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// Whether work item `k` is this shard's.
    pub(crate) fn owns(self, k: usize) -> bool {
        k % self.count == self.index
    }
}

/// One finished work item, as written to `items/item-K.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFile {
    item: usize,
    point: usize,
    replication: usize,
    sample: SampleFile,
}

const PLAN: &str = "plan.json";
const SHARD: &str = "shard.json";

fn item_name(k: usize) -> String {
    format!("item-{k:06}.json")
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::Internal(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a valid lbsim shard file: {e}", path.display()))
}

/// Parses a work-item file's bytes as `merge` does (for the fuzz target).
pub(crate) fn read_item_bytes(bytes: &[u8]) -> Option<(Sample, LatencyPool)> {
    let f: ItemFile = serde_json::from_slice(bytes).ok()?;
    Sample::from_file(f.sample).ok()
}

/// Reads item `k` from a shard directory, if it is there and whole.
fn read_item(dir: &Path, plan: &Plan, k: usize) -> Result<Option<(Sample, LatencyPool)>, String> {
    let path = dir.join("items").join(item_name(k));
    if !path.exists() {
        return Ok(None);
    }
    let f: ItemFile = read_json(&path)?;
    let (p, r) = plan.item(k);
    if (f.item, f.point, f.replication) != (k, p, r) || f.sample.seed != plan.seed(r) {
        return Err(format!(
            "{} holds item {} (point {}, replication {}, seed {}), not item {k} (point {p}, replication {r}, seed {})",
            path.display(),
            f.item,
            f.point,
            f.replication,
            f.sample.seed,
            plan.seed(r)
        ));
    }
    Sample::from_file(f.sample).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs one shard's items into `base/shard-I-of-N/`, skipping those a
/// previous attempt finished.
pub(crate) fn run_shard(
    prepared: &Prepared,
    spec: ShardSpec,
    base: &Path,
    pool: &rayon::ThreadPool,
    show_progress: bool,
) -> Result<SweepOutcome, Error> {
    let plan = &prepared.plan;
    let dir = base.join(spec.dir_name());
    let out = OutputDir::create(&dir)?;
    let plan_path = dir.join(PLAN);
    if plan_path.exists() {
        let existing: Plan = read_json(&plan_path).map_err(Error::Usage)?;
        if let Some(field) = first_difference(&existing, plan) {
            return Err(Error::Usage(format!(
                "{} holds a shard of a different sweep ({field} differs); give another --out or remove it",
                dir.display()
            )));
        }
    } else {
        out.write(PLAN, &to_json(plan)?)?;
    }
    out.write(SHARD, &to_json(&spec)?)?;
    let items_dir = OutputDir::create(&dir.join("items"))?;
    let mine: Vec<usize> = (0..plan.items()).filter(|&k| spec.owns(k)).collect();
    let mut todo = Vec::new();
    for &k in &mine {
        if read_item(&dir, plan, k).ok().flatten().is_none() {
            todo.push(k);
        }
    }
    let progress = Progress::new(show_progress, &format!("shard {}/{}", spec.index, spec.count), todo.len() as u64);
    // Items land one by one, as each finishes, so a preempted shard keeps them.
    let written: Result<Vec<()>, Error> = {
        use rayon::prelude::*;
        pool.install(|| {
            todo.par_iter()
                .map(|&k| {
                    let (point, replication) = plan.item(k);
                    let (sample, latency) = super::run_sample(&prepared.worlds[point], plan.seed(replication));
                    let sample = sample.to_file(&latency).map_err(Error::Internal)?;
                    let file = ItemFile { item: k, point, replication, sample };
                    items_dir.write(&item_name(k), &to_json(&file)?)?;
                    progress.inc(1);
                    Ok(())
                })
                .collect()
        })
    };
    progress.finish();
    written?;
    let mut stdout = format!(
        "shard {} of {}: {} of the sweep's {} work items are this shard's; ran {}, {} were already complete\n",
        spec.index,
        spec.count,
        mine.len(),
        plan.items(),
        todo.len(),
        mine.len() - todo.len()
    );
    let _ = writeln!(stdout, "wrote {}", dir.display());
    let _ = writeln!(
        stdout,
        "when every shard is done: lbsim merge {}/shard-*-of-{} --out {}",
        base.display(),
        spec.count,
        base.display()
    );
    Ok(SweepOutcome { out_dir: dir, files: Vec::new(), stdout })
}

/// The first top-level field in which two plans differ.
fn first_difference(a: &Plan, b: &Plan) -> Option<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return (a != b).then(|| "the plan".to_string());
    };
    a.iter().find(|(k, v)| b.get(*k) != Some(v)).map(|(k, _)| format!("`{k}`"))
}

/// Options of `lbsim merge`.
#[derive(Clone, Debug, clap::Args)]
pub struct MergeOptions {
    /// Shard directories written by `lbsim sweep --shard` (DIR/shard-I-of-N).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Directory for the sweep's outputs [default: output/sweep/<scenario name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print sweep.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Skip the charts (report.html then has none).
    #[arg(long)]
    pub no_charts: bool,
}

/// `lbsim merge`: checks that the shards belong to one sweep and hold
/// every item exactly once, then writes the sweep's outputs.
pub(crate) fn merge(opts: &MergeOptions) -> Result<SweepOutcome, Error> {
    let mut plan: Option<(Plan, PathBuf)> = None;
    let mut count: Option<(usize, PathBuf)> = None;
    for dir in &opts.dirs {
        if !dir.join(PLAN).exists() {
            return Err(Error::Usage(format!(
                "{} is not a sweep shard: it has no {PLAN} (give the shard directories, DIR/shard-I-of-N)",
                dir.display()
            )));
        }
        let p: Plan = read_json(&dir.join(PLAN)).map_err(Error::Usage)?;
        let spec: ShardSpec = read_json(&dir.join(SHARD)).map_err(Error::Usage)?;
        match &plan {
            None => plan = Some((p, dir.clone())),
            Some((first, first_dir)) => {
                if let Some(field) = first_difference(first, &p) {
                    return Err(Error::Usage(format!(
                        "{} and {} are shards of different sweeps ({field} differs)",
                        first_dir.display(),
                        dir.display()
                    )));
                }
            }
        }
        match &count {
            None => count = Some((spec.count, dir.clone())),
            Some((n, first_dir)) if *n != spec.count => {
                return Err(Error::Usage(format!(
                    "{} was split into {n} shards and {} into {}: merge shards of one split",
                    first_dir.display(),
                    dir.display(),
                    spec.count
                )));
            }
            Some(_) => {}
        }
    }
    let (plan, _) = plan.ok_or_else(|| Error::Usage("give at least one shard directory".into()))?;
    let shards = count.map_or(1, |c| c.0);
    // Where each item is, from the directories' listings alone.
    let mut place: Vec<Option<usize>> = vec![None; plan.items()];
    for (d, dir) in opts.dirs.iter().enumerate() {
        let items = dir.join("items");
        let entries =
            fs::read_dir(&items).map_err(|e| Error::Usage(format!("cannot read {}: {e}", items.display())))?;
        let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for name in names {
            let Some(k) =
                name.strip_prefix("item-").and_then(|n| n.strip_suffix(".json")).and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if k >= plan.items() {
                return Err(Error::Usage(format!(
                    "{} holds item {k}, but the sweep has only {} items",
                    items.join(&name).display(),
                    plan.items()
                )));
            }
            if let Some(other) = place[k] {
                let (p, r) = plan.item(k);
                return Err(Error::Usage(format!(
                    "item {k} (point {p}, replication {r}) is in both {} and {}: merge each shard once",
                    opts.dirs[other].display(),
                    dir.display()
                )));
            }
            place[k] = Some(d);
        }
    }
    let missing: Vec<usize> = (0..plan.items()).filter(|&k| place[k].is_none()).collect();
    if !missing.is_empty() {
        let mut by_shard: Vec<usize> = missing.iter().map(|k| k % shards).collect();
        by_shard.sort_unstable();
        by_shard.dedup();
        let shown: Vec<String> = missing.iter().take(10).map(|k| k.to_string()).collect();
        let more = if missing.len() > 10 { format!(" and {} more", missing.len() - 10) } else { String::new() };
        let which: Vec<String> = by_shard.iter().map(|i| format!("shard-{i}-of-{shards}")).collect();
        return Err(Error::Usage(format!(
            "{} of the sweep's {} work items are missing (items {}{more}); they belong to {}, which was not given or did not finish: rerun it (finished items are kept) and merge again",
            missing.len(),
            plan.items(),
            shown.join(", "),
            which.join(", ")
        )));
    }
    // Point by point, so one point's latencies are in memory at a time.
    let mut points = Vec::with_capacity(plan.points());
    for p in 0..plan.points() {
        let mut acc = PointAccumulator::new(plan.replications);
        for r in 0..plan.replications {
            let k = p * plan.replications + r;
            let dir = &opts.dirs[place[k].unwrap_or_default()];
            let (sample, latency) = read_item(dir, &plan, k).map_err(Error::Usage)?.ok_or_else(|| {
                Error::Usage(format!("{} vanished while merging", dir.join("items").join(item_name(k)).display()))
            })?;
            acc.add(r, sample, latency);
        }
        points.push(plan.finish(acc));
    }
    let out_dir = opts.out.clone().unwrap_or_else(|| super::sweep::default_out(&plan.scenario));
    write_outputs(&plan, points, &out_dir, opts.no_charts, opts.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn shards_come_from_the_flag_slurm_or_kubernetes() {
        let none = env(&[]);
        assert_eq!(ShardSpec::parse_with("2/4", &none).unwrap(), ShardSpec { index: 2, count: 4 });
        let slurm =
            env(&[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(ShardSpec::parse_with("auto", &slurm).unwrap(), ShardSpec { index: 2, count: 4 });
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(ShardSpec::parse_with("auto/4", &k8s).unwrap(), ShardSpec { index: 3, count: 4 });
        assert!(ShardSpec::parse_with("auto", &k8s).unwrap_err().to_string().contains("auto/N"));
        assert!(ShardSpec::parse_with("auto", &none).unwrap_err().to_string().contains("SLURM_ARRAY_TASK_ID"));
        assert!(ShardSpec::parse_with("4/4", &none).unwrap_err().to_string().contains("does not exist"));
        assert!(ShardSpec::parse_with("1/0", &none).is_err());
        assert!(ShardSpec::parse_with("x/4", &none).unwrap_err().to_string().contains("not a whole number"));
        assert!(ShardSpec::parse_with("3", &none).unwrap_err().to_string().contains("I/N"));
        let spec = ShardSpec { index: 1, count: 3 };
        assert_eq!((0..9).filter(|&k| spec.owns(k)).collect::<Vec<_>>(), [1, 4, 7]);
        assert_eq!(spec.dir_name(), "shard-1-of-3");
    }
}
