//! `lbsim run`: one scenario simulated end to end (load, simulate, write
//! the reports), optionally over `--replications N` whose figures join the
//! first replication's summary. Part of the commands layer: it parses
//! nothing itself and only wires the stages together.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use std::io::IsTerminal;

use crate::check::{self, Severity};
use crate::cli::{self, Progress};
use crate::error::Error;
use crate::experiment::estimate::PointAccumulator;
use crate::experiment::sample::{LatencyPool, Sample};
use crate::experiment::{self};
use crate::metrics::CsvSink;
use crate::model::World;
use crate::report::design::SloDef;
use crate::report::replications::Verdict;
use crate::report::{self, OutputDir, RunContext, Summary, files};
use crate::scenario::ScenarioSource;
use crate::sim::{RunResult, Simulation};

/// Options of `lbsim run`, parsed straight from its command line.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RunOptions {
    /// Scenario file (YAML or JSON).
    pub scenario: PathBuf,
    /// Directory for the reports [default: output/<scenario name>, and with
    /// --set output/<scenario name>--<path=value>...].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override a value in the file: --set clients.web.rate=900/s (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Independent replications (seeds seed..seed+N-1), run in parallel:
    /// every headline metric and SLO verdict then comes with a confidence
    /// interval; the reports are the first replication's.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub replications: usize,
    /// Confidence level of the intervals and SLO verdicts over replications.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Worker threads for the replications [default: one per core].
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Take the K largest servers of each server group out of rotation
    /// (N+K planning: does the tier hold with K down?).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub down: u32,
    /// Print summary.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Leave wall-clock figures out of summary.json, so every output file
    /// is byte-identical across runs of the same scenario and seed.
    #[arg(long)]
    pub reproducible: bool,
    /// No progress bar or warnings on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Exit 0 even when a declared SLO fails (the verdict stays in the reports).
    #[arg(long)]
    pub no_fail: bool,
    /// Skip the SVG and PNG charts (faster; report.html then has no charts).
    #[arg(long)]
    pub no_charts: bool,
    /// Do not run `lbsim check`'s rules before simulating (by default an
    /// error in the standing configuration stops the run, and warnings and
    /// the timeline's findings are printed).
    #[arg(long)]
    pub no_check: bool,
    /// Also write the SLO verdicts as JUnit XML to FILE (one test case per SLO).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// What a finished `lbsim run` produced.
pub struct RunOutcome {
    pub summary: Summary,
    pub out_dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// Text for stdout (the table, or the JSON summary with `--json`).
    pub stdout: String,
    pub exit_code: i32,
}

/// `lbsim run` from the command line: prints the table (or JSON) and
/// returns the exit status.
pub fn execute(opts: &RunOptions) -> Result<i32, Error> {
    let outcome = run(opts)?;
    print!("{}", outcome.stdout);
    Ok(outcome.exit_code)
}

/// Runs a scenario end to end: load, simulate, write reports. With
/// `--replications N` the other N - 1 replications run beside the first
/// (which writes the reports) and their figures join its summary.
pub fn run(opts: &RunOptions) -> Result<RunOutcome, Error> {
    cli::check_replications(opts.replications, opts.confidence, true)?;
    let pool = cli::thread_pool(opts.jobs)?;
    let (mut world, source) = cli::load(&opts.scenario, &opts.sets, opts.seed)?;
    if !opts.no_check {
        precheck(&world, &source, opts.quiet)?;
    }
    let taken = experiment::take_down(&mut world, opts.down);
    if !opts.quiet {
        for w in &world.warnings {
            eprintln!("warning: {w}");
        }
        if !taken.is_empty() {
            eprintln!("--down {}: out of rotation: {}", opts.down, taken.join(", "));
        }
    }
    let out_dir =
        opts.out.clone().unwrap_or_else(|| Path::new("output").join(cli::variant_name(&world.name, &opts.sets)));
    let out = OutputDir::stage(&out_dir, files::Command::Run)?;
    let series_name = files::TIMESERIES_CSV.name;
    let sink =
        CsvSink::create(&out.temp_path(series_name)).map_err(|e| Error::output(out.final_path(series_name), e))?;
    let n = opts.replications as u64;
    let progress = Progress::new(!opts.json && !opts.quiet, &world.name, 1000 * n);
    let first_seed = world.seed;
    let others = (n > 1).then(|| world.clone());
    let mut shown = 0u64;
    let first = |world: World| {
        Simulation::new(world, Box::new(sink)).run(|f| {
            let at = (f * 1000.0) as u64;
            progress.inc(at.saturating_sub(shown));
            shown = shown.max(at);
        })
    };
    let (result, rest) = match &others {
        None => (first(world), Vec::new()),
        Some(copy) => pool.install(|| {
            rayon::join(
                || first(world),
                || {
                    (1..n)
                        .into_par_iter()
                        .map(|i| {
                            let s = experiment::run_sample(copy, first_seed.wrapping_add(i));
                            progress.inc(1000);
                            s
                        })
                        .collect::<Vec<_>>()
                },
            )
        }),
    };
    progress.finish();
    // Replication 0's figures join the others once its summary is built.
    let replications = (n > 1).then(|| {
        let mut acc = PointAccumulator::new(n as usize);
        for (i, (sample, latency)) in rest.into_iter().enumerate() {
            acc.add(i + 1, sample, latency);
        }
        (acc, first_seed, opts.confidence)
    });
    finish_run(result, out, &source, opts, replications)
}

/// `lbsim check`'s rules before the run: an error in the standing
/// configuration stops it (exit status 2, nothing written, as a scenario
/// that does not compile); warnings, what the timeline's changes do, and
/// load above capacity are printed on stderr and the run goes on:
/// simulating a bad change, or an overload, is what a replay or a "what if
/// traffic doubles" run is for. Notes are left to `lbsim check`.
fn precheck(world: &World, source: &ScenarioSource, quiet: bool) -> Result<(), Error> {
    let scenario = crate::scenario::parse(source)?;
    let findings = check::check_world(world, &scenario, source);
    let (standing_errors, rest): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| {
        f.change.is_none() && f.severity == Severity::Error && f.rule.family != check::rules::Family::Capacity
    });
    if !standing_errors.is_empty() {
        let file = source.display_name();
        eprint!("{}", check::render::text(&file, &source.original, &standing_errors, std::io::stderr().is_terminal()));
        return Err(Error::Usage(format!(
            "{file}: the configuration has {} error(s) (above; `lbsim check {file}` lists every finding); \
             --no-check simulates it anyway",
            standing_errors.len()
        )));
    }
    if !quiet {
        for mut f in rest.into_iter().filter(|f| f.severity >= Severity::Warning) {
            // The timeline is simulated as written: its findings warn.
            f.severity = f.severity.min(Severity::Warning);
            eprintln!("check: {}", check::render::one_line(&f));
        }
    }
    Ok(())
}

fn finish_run(
    mut result: RunResult,
    out: OutputDir,
    source: &ScenarioSource,
    opts: &RunOptions,
    replications: Option<(PointAccumulator, u64, f64)>,
) -> Result<RunOutcome, Error> {
    let series_name = files::TIMESERIES_CSV.name;
    if let Err(e) = result.recorder.finish_series() {
        out.discard(series_name);
        return Err(Error::output(out.final_path(series_name), e));
    }
    let ctx = RunContext { file: source.display_name(), overrides: opts.sets.clone(), reproducible: opts.reproducible };
    let mut summary = Summary::build(&result, &ctx);
    if let Some((mut acc, first_seed, confidence)) = replications {
        acc.add(0, Sample::of(&summary), LatencyPool::of_run(&result));
        summary.replications = Some(acc.finish(&SloDef::of(&result.world), first_seed, confidence));
    }
    let mut files = vec![out.commit(series_name)?];
    files.extend(report::write_reports(&out, &summary, &result, !opts.no_charts)?);
    files.sort();
    let out_dir = out.path.clone();
    out.land()?;
    let stdout = if opts.json {
        String::from_utf8_lossy(&report::summary_json(&summary)?).into_owned()
    } else {
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        report::text::render(&summary, &names)
    };
    // Over replications, an SLO must be shown to hold, not merely met once.
    let failed = match &summary.replications {
        Some(r) => r.verdict != Verdict::Pass,
        None => summary.verdict == Verdict::Fail,
    };
    let exit_code = if failed && !opts.no_fail { 1 } else { 0 };
    if let Some(path) = &opts.junit {
        report::junit::write(path, &[slo_suite(&summary, source)])?;
    }
    Ok(RunOutcome { summary, out_dir, files, stdout, exit_code })
}

/// The run's SLO verdicts as a JUnit suite: one case per SLO, failed when
/// the SLO failed (over replications: unless it holds with the stated
/// confidence); one passed case when the scenario declares no SLO.
fn slo_suite(summary: &Summary, source: &ScenarioSource) -> report::junit::Suite {
    use report::junit::{Case, Suite};
    let mut cases: Vec<Case> = Vec::new();
    match &summary.replications {
        Some(r) => {
            for s in &r.slos {
                let name = format!("{} ({}, window {})", s.name, s.objective, s.window);
                cases.push(if s.verdict == Verdict::Pass {
                    Case::passed("slo", name).with_output(s.statement.clone())
                } else {
                    Case::failed(
                        "slo",
                        name,
                        &s.statement,
                        format!("observed {}; met in {} of {}", s.observed_text, s.met, s.replications),
                    )
                });
            }
        }
        None => {
            for s in &summary.slos {
                let name = format!("{} ({}, window {})", s.name, s.objective, s.window);
                cases.push(if s.met {
                    Case::passed("slo", name).with_output(format!("observed {}", s.observed_text))
                } else {
                    Case::failed(
                        "slo",
                        name,
                        format!("not met: observed {}", s.observed_text),
                        format!("objective {}; observed {}", s.objective, s.observed_text),
                    )
                });
            }
        }
    }
    if cases.is_empty() {
        cases.push(Case::passed("run", "the run completed (the scenario declares no SLO)"));
    }
    Suite { name: format!("lbsim run {}", source.display_name()), cases }
}
