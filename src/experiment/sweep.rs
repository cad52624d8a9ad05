//! `lbsim sweep`: a grid over one or more settable paths, each point run
//! over N replications with common random numbers, written as `sweep.csv`,
//! `sweep.json`, charts of each metric against the first axis and a
//! `report.html`. With `--shard I/N` only a share of the work items runs,
//! into a shard directory that `lbsim merge` joins with the others.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use std::sync::{Mutex, PoisonError};

use super::estimate::PointAccumulator;
use super::run_sample;
use super::vary::parse_vary;
use crate::cli::{ExperimentArgs, Progress};
use crate::error::Error;
use crate::model::World;
use crate::report::design::{Axis, SloDef};
use crate::report::files::{SWEEP_CSV, SWEEP_HTML, SWEEP_JSON};
use crate::report::replications::{Replications, num};
use crate::report::sweep::{PointReport, SweepReport, point_label};
use crate::report::{self, OutputDir};
use crate::scenario::{Override, ScenarioSource};

/// Most points one sweep may have.
pub(crate) const MAX_POINTS: usize = 10_000;

/// Options of `lbsim sweep`, parsed straight from its command line.
#[derive(Clone, Debug, clap::Args)]
pub struct SweepOptions {
    /// Scenario file (YAML or JSON).
    pub scenario: PathBuf,
    /// A settable path and its values: a list `a,b,c`, a range with a step
    /// in the path's units (`2000/s..8000/s/500/s`, `16..40`, `1s..5s/500ms`)
    /// or a geometric range (`100/s..6400/s*2`). Repeat for a grid.
    #[arg(long = "vary", value_name = "PATH=VALUES", required = true)]
    pub vary: Vec<String>,
    #[command(flatten)]
    pub common: ExperimentArgs,
    /// Run only this shard's share of the work: `I/N` (I from 0), `auto`
    /// (Slurm's SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT) or `auto/N`
    /// (Kubernetes' JOB_COMPLETION_INDEX, or Slurm's index, with N shards).
    /// Writes DIR/shard-I-of-N/; join the shards with `lbsim merge`.
    #[arg(long, value_name = "I/N|auto|auto/N")]
    pub shard: Option<String>,
    /// Directory for the outputs [default: output/sweep/<scenario name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print sweep.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the charts (report.html then has none).
    #[arg(long)]
    pub no_charts: bool,
}

/// Everything that fixes a sweep's outputs. Each shard writes it as
/// `plan.json`; `merge` refuses shards whose plans differ and rebuilds the
/// outputs from it and the items alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Plan {
    pub lbsim_version: String,
    pub scenario: String,
    pub description: String,
    pub file: String,
    /// A hash of the scenario's text, so shards of different files are told apart.
    pub scenario_hash: String,
    pub sets: Vec<String>,
    pub axes: Vec<Axis>,
    pub replications: usize,
    pub first_seed: u64,
    pub confidence: f64,
    pub down: u32,
    pub slos: Vec<SloDef>,
}

impl Plan {
    pub(crate) fn points(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    pub(crate) fn items(&self) -> usize {
        self.points() * self.replications
    }

    /// The value index of each axis at point `p`: the first axis varies
    /// slowest, as nested loops in `--vary` order.
    pub(crate) fn point_values(&self, p: usize) -> Vec<usize> {
        let mut rest = p;
        let mut idx = vec![0; self.axes.len()];
        for (i, a) in self.axes.iter().enumerate().rev() {
            idx[i] = rest % a.values.len();
            rest /= a.values.len();
        }
        idx
    }

    /// The `--vary` overrides of point `p`.
    pub(crate) fn overrides(&self, p: usize) -> Result<Vec<Override>, Error> {
        self.axes
            .iter()
            .zip(self.point_values(p))
            .map(|(a, v)| Override::from_flag("--vary", &a.path, &a.values[v].text))
            .collect()
    }

    /// Work item `k` is replication `k % R` of point `k / R`.
    pub(crate) fn item(&self, k: usize) -> (usize, usize) {
        (k / self.replications, k % self.replications)
    }

    pub(crate) fn seed(&self, replication: usize) -> u64 {
        self.first_seed.wrapping_add(replication as u64)
    }

    /// What a point's replications say together.
    pub(crate) fn finish(&self, acc: PointAccumulator) -> Replications {
        acc.finish(&self.slos, self.first_seed, self.confidence)
    }

    /// Builds the sweep's report from each point's replications, in point order.
    pub(crate) fn report(&self, replications: Vec<Replications>) -> SweepReport {
        let points = replications
            .into_iter()
            .enumerate()
            .map(|(p, replications)| {
                let values: Vec<_> =
                    self.axes.iter().zip(self.point_values(p)).map(|(a, v)| a.values[v].clone()).collect();
                PointReport { index: p, label: point_label(&self.axes, &values), values, replications }
            })
            .collect();
        let mut report = SweepReport {
            lbsim_version: self.lbsim_version.clone(),
            scenario: self.scenario.clone(),
            description: self.description.clone(),
            file: self.file.clone(),
            sets: self.sets.clone(),
            axes: self.axes.clone(),
            replications: self.replications,
            first_seed: self.first_seed,
            confidence: self.confidence,
            down: self.down,
            points,
            thresholds: report::sweep::thresholds(&self.slos),
            knees: Vec::new(),
        };
        report.find_knees();
        report
    }
}

/// What a finished `lbsim sweep` (or `merge`) produced.
pub struct SweepOutcome {
    pub out_dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub stdout: String,
}

/// A sweep ready to run: its plan and each point's compiled world.
pub(crate) struct Prepared {
    pub plan: Plan,
    pub worlds: Vec<World>,
}

/// Checks every option and compiles every point before anything runs, so a
/// bad `--vary` fails at once and writes nothing.
pub(crate) fn prepare(opts: &SweepOptions) -> Result<Prepared, Error> {
    let c = &opts.common;
    c.check()?;
    let axes: Vec<Axis> = opts.vary.iter().map(|v| parse_vary(v)).collect::<Result<_, _>>()?;
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.path == a.path) {
            let arg = &opts.vary[i];
            return Err(Error::argument("--vary", arg, 0..a.path.len(), format!("`{}` is varied twice", a.path), None));
        }
    }
    let points: usize =
        axes.iter().map(|a| a.values.len()).try_fold(1usize, |acc, n| acc.checked_mul(n)).unwrap_or(usize::MAX);
    if points > MAX_POINTS {
        return Err(Error::Usage(format!(
            "the grid has {points} points, more than {MAX_POINTS}: use fewer values or fewer --vary axes"
        )));
    }
    let source = base_source(&opts.scenario, &c.sets)?;
    let mut plan = Plan {
        lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: String::new(),
        description: String::new(),
        file: source.display_name(),
        scenario_hash: format!("{:016x}", crate::rng::stable_hash(source.original.as_bytes())),
        sets: c.sets.clone(),
        axes,
        replications: c.replications,
        first_seed: 0,
        confidence: c.confidence,
        down: c.down,
        slos: Vec::new(),
    };
    // In parallel, but the error reported is the first point's, every time.
    let worlds: Vec<Result<World, Error>> =
        (0..plan.points()).into_par_iter().map(|p| load_point(&source, &plan.overrides(p)?, c.seed, c.down)).collect();
    let worlds = worlds.into_iter().collect::<Result<Vec<World>, Error>>()?;
    let first = &worlds[0];
    plan.scenario = first.name.clone();
    plan.description = first.description.clone();
    plan.first_seed = c.seed.unwrap_or(first.seed);
    plan.slos = SloDef::of(first);
    Ok(Prepared { plan, worlds })
}

/// The scenario file with the `--set` overrides every point shares.
pub(crate) fn base_source(path: &Path, sets: &[String]) -> Result<ScenarioSource, Error> {
    let mut source = ScenarioSource::read(path)?;
    source.apply_overrides(&crate::cli::parse_overrides(sets)?)?;
    Ok(source)
}

/// One point's world: the base source with the point's overrides, and the
/// K largest servers of each group out when `down` is K.
pub(crate) fn load_point(
    source: &ScenarioSource,
    overrides: &[Override],
    seed: Option<u64>,
    down: u32,
) -> Result<World, Error> {
    let (mut world, _) = crate::model::load_source(source.clone(), overrides, seed)?;
    super::take_down(&mut world, down);
    Ok(world)
}

/// Runs every work item of a prepared sweep on the pool and returns what
/// each point's replications say, in point order. A point is estimated as
/// soon as its last replication ends, and its latencies are merged as each
/// ends, so memory holds the points in progress, not every item's histogram.
pub(crate) fn run_points(prepared: &Prepared, pool: &rayon::ThreadPool, progress: &Progress) -> Vec<Replications> {
    let plan = &prepared.plan;
    let lock = |m: &Mutex<Option<PointAccumulator>>| -> Option<PointAccumulator> {
        let mut slot = m.lock().unwrap_or_else(PoisonError::into_inner);
        slot.take()
    };
    let open: Vec<Mutex<Option<PointAccumulator>>> =
        (0..plan.points()).map(|_| Mutex::new(Some(PointAccumulator::new(plan.replications)))).collect();
    let done: Vec<Mutex<Option<Replications>>> = (0..plan.points()).map(|_| Mutex::new(None)).collect();
    pool.install(|| {
        (0..plan.items()).into_par_iter().for_each(|k| {
            let (p, r) = plan.item(k);
            let (sample, latency) = run_sample(&prepared.worlds[p], plan.seed(r));
            let complete = {
                let mut slot = open[p].lock().unwrap_or_else(PoisonError::into_inner);
                if slot.as_mut().is_some_and(|acc| acc.add(r, sample, latency)) { slot.take() } else { None }
            };
            if let Some(acc) = complete {
                *done[p].lock().unwrap_or_else(PoisonError::into_inner) = Some(plan.finish(acc));
            }
            progress.inc(1);
        })
    });
    done.into_iter()
        .zip(&open)
        .map(|(d, o)| {
            let finished = d.into_inner().unwrap_or_else(PoisonError::into_inner);
            // Every item ran, so every point is done; estimate what there is if not.
            finished.unwrap_or_else(|| plan.finish(lock(o).unwrap_or_else(|| PointAccumulator::new(0))))
        })
        .collect()
}

/// Where a sweep's outputs go by default.
pub(crate) fn default_out(scenario: &str) -> PathBuf {
    Path::new("output").join("sweep").join(scenario)
}

/// Writes `sweep.csv`, `sweep.json`, the charts and `report.html` from the
/// plan and each point's replications; returns what `lbsim sweep` prints.
pub(crate) fn write_outputs(
    plan: &Plan,
    points: Vec<Replications>,
    out_dir: &Path,
    no_charts: bool,
    json: bool,
) -> Result<SweepOutcome, Error> {
    let report = plan.report(points);
    let out = OutputDir::stage(out_dir, report::files::Command::Sweep)?;
    let json_bytes = report::sweep::json(&report)?;
    let mut files =
        vec![out.write(SWEEP_CSV.name, &report::sweep::csv(&report)?)?, out.write(SWEEP_JSON.name, &json_bytes)?];
    let charts = if no_charts { Vec::new() } else { report::charts::render_sweep(&report) };
    files.extend(report::write_charts(&out, &charts)?);
    files.push(out.write(SWEEP_HTML.name, report::sweep::html::render(&report, &charts).as_bytes())?);
    files.sort();
    let out_dir = out.path.clone();
    out.land()?;
    let stdout = if json { String::from_utf8_lossy(&json_bytes).into_owned() } else { table(&report, &files) };
    Ok(SweepOutcome { out_dir, files, stdout })
}

/// The terminal summary: one line per point.
pub(crate) fn table(r: &SweepReport, files: &[PathBuf]) -> String {
    let mut s = format!(
        "lbsim sweep · {} · {} points x {} replications (seeds {}..{}), {} confidence\n\n",
        r.scenario,
        r.points.len(),
        r.replications,
        r.first_seed,
        r.first_seed.saturating_add(r.replications as u64 - 1),
        crate::report::replications::confidence_pct(r.confidence)
    );
    let metric = |p: &PointReport, key: &str| {
        let m = p.replications.metrics.iter().find(|m| m.metric == key);
        m.map_or_else(
            || "n/a".into(),
            |m| match (m.mean, m.ci_low, m.ci_high) {
                (Some(v), Some(lo), Some(hi)) => format!("{} [{}, {}]", num(v), num(lo), num(hi)),
                (Some(v), _, _) => num(v),
                _ => "n/a".into(),
            },
        )
    };
    let mut rows: Vec<[String; 5]> = vec![[
        "point".into(),
        "latency p99 ms".into(),
        "error rate %".into(),
        "throughput req/s".into(),
        "SLOs".into(),
    ]];
    for p in &r.points {
        let slos = if p.replications.slos.is_empty() {
            "none declared".to_string()
        } else {
            let met: Vec<String> =
                p.replications.slos.iter().map(|s| format!("{}/{}", s.met, s.replications)).collect();
            format!("{} (met {})", p.replications.verdict.as_str(), met.join(", "))
        };
        rows.push([
            p.label.clone(),
            metric(p, "latency_p99_ms"),
            metric(p, "error_rate_pct"),
            metric(p, "throughput_rps"),
            slos,
        ]);
    }
    let widths: Vec<usize> = (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for (k, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(s, "{}", cells.join("  ").trim_end());
        if k == 0 {
            let _ = writeln!(s, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        }
    }
    if !r.slos_declared() {
        let _ = writeln!(s, "\nThe scenario declares no SLOs: every point passes.");
    }
    // The knees of the metrics in the table, and of those an SLO bounds.
    let shown: Vec<&str> = ["latency_p99_ms", "error_rate_pct", "throughput_rps"]
        .into_iter()
        .chain(r.thresholds.iter().filter_map(|t| t.metric))
        .collect();
    let knees: Vec<String> = r
        .knees
        .iter()
        .filter(|k| shown.contains(&k.metric))
        .map(|k| {
            let label = crate::report::headline::Metric::by_key(k.metric).map_or(k.metric, |m| m.label);
            let series = if k.series.is_empty() { String::new() } else { format!(" ({})", k.series) };
            format!("  {label}{series} bends at {}={}", r.axes[0].path, k.value)
        })
        .collect();
    if !knees.is_empty() {
        let _ =
            writeln!(s, "\nKnees (where each curve leaves the line through its ends furthest):\n{}", knees.join("\n"));
    }
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    if !names.is_empty() {
        let _ = writeln!(s, "\n{}", crate::report::text::reports_line(&names));
    }
    s
}
