//! The commands behind the CLI, as library functions with plain option
//! structs, so `main.rs` only parses arguments and maps errors to exit codes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use rayon::prelude::*;

use crate::error::Error;
use crate::experiment::estimate::{PointAccumulator, SloDef};
use crate::experiment::sample::{LatencyPool, Sample};
use crate::experiment::{self};
use crate::metrics::CsvSink;
use crate::model::{self, World};
use crate::report::replications::Verdict;
use crate::report::{self, OutputDir, RunContext, Summary};
use crate::scenario::{Override, ScenarioSource};
use crate::sim::{RunResult, Simulation};

/// Options of `lbsim run`, parsed straight from its command line.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RunOptions {
    /// Scenario file (YAML or JSON).
    pub scenario: PathBuf,
    /// Directory for the reports [default: output/<scenario name>].
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

/// Parses every `--set` argument.
pub fn parse_overrides(sets: &[String]) -> Result<Vec<Override>, Error> {
    sets.iter().map(|s| Override::parse(s)).collect()
}

/// Loads and checks a scenario with its overrides.
pub fn load(path: &Path, sets: &[String], seed: Option<u64>) -> Result<(World, ScenarioSource), Error> {
    let overrides = parse_overrides(sets)?;
    model::load(path, &overrides, seed)
}

/// Progress on stderr for work that takes more than a moment. Hidden when
/// disabled (`--json`, `--quiet`) or when stderr is not a terminal, and drawn
/// only once the work has gone on for [`Progress::DELAY`], so a quick run
/// prints nothing at all. Safe to update from parallel replications.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: AtomicBool,
}

impl Progress {
    /// How long work runs before its bar appears.
    pub const DELAY: Duration = Duration::from_millis(500);

    /// A bar counting up to `length`, prefixed by `label`.
    pub fn new(enabled: bool, label: &str, length: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {elapsed_precise} (eta {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label.to_string());
        Progress {
            bar,
            started: Instant::now(),
            enabled: enabled && std::io::stderr().is_terminal(),
            shown: false.into(),
        }
    }

    /// Sets the position (out of the length).
    pub fn set(&self, position: u64) {
        self.show_when_due();
        self.bar.set_position(position);
    }

    /// Changes the length (more work was added).
    pub fn set_length(&self, length: u64) {
        self.bar.set_length(length);
    }

    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        self.show_when_due();
        self.bar.inc(n);
    }

    /// Runs `f` (which prints to the terminal) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// True while nothing is drawn (always, when disabled or not on a terminal).
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    fn show_when_due(&self) {
        if self.enabled && !self.shown.load(Ordering::Relaxed) && self.started.elapsed() >= Self::DELAY {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        }
    }
}

/// Runs a scenario end to end: load, simulate, write reports. With
/// `--replications N` the other N - 1 replications run beside the first
/// (which writes the reports) and their figures join its summary.
pub fn run(opts: &RunOptions) -> Result<RunOutcome, Error> {
    if opts.replications != 1 {
        experiment::check_replications(opts.replications, "--replications")?;
    }
    experiment::check_confidence(opts.confidence)?;
    let pool = experiment::thread_pool(opts.jobs)?;
    let (mut world, source) = load(&opts.scenario, &opts.sets, opts.seed)?;
    let taken = experiment::take_down(&mut world, opts.down);
    if !opts.quiet {
        for w in &world.warnings {
            eprintln!("warning: {w}");
        }
        if !taken.is_empty() {
            eprintln!("--down {}: out of rotation: {}", opts.down, taken.join(", "));
        }
    }
    let out_dir = opts.out.clone().unwrap_or_else(|| Path::new("output").join(&world.name));
    let out = OutputDir::create(&out_dir)?;
    let series_name = "timeseries.csv";
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
    finish_run(result, &out, &source, opts, replications)
}

fn finish_run(
    mut result: RunResult,
    out: &OutputDir,
    source: &ScenarioSource,
    opts: &RunOptions,
    replications: Option<(PointAccumulator, u64, f64)>,
) -> Result<RunOutcome, Error> {
    let series_name = "timeseries.csv";
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
    files.extend(report::write_reports(out, &summary, &result, !opts.no_charts)?);
    files.sort();
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
    Ok(RunOutcome { summary, out_dir: out.path.clone(), files, stdout, exit_code })
}

/// `lbsim verify`: runs the validation suite, printing each check as it
/// finishes; exit status 1 when any fails.
pub fn verify(cfg: &crate::verify::Config, only: Option<&str>, json: bool) -> Result<i32, Error> {
    experiment::check_replications(cfg.replications, "--replications")?;
    experiment::check_confidence(cfg.confidence)?;
    let per = crate::verify::per_comparison_confidence(
        cfg.confidence,
        crate::verify::comparison_count(&crate::verify::checks()),
    );
    let total = crate::verify::selected(only).len() * cfg.replications;
    let progress = Progress::new(!json, "verify", total as u64);
    let report = crate::verify::run(cfg, only, &|| progress.inc(1), |r| {
        if !json {
            progress.suspend(|| print!("{}", crate::verify::render_check(r, per)));
        }
    });
    progress.finish();
    let report = report?;
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?;
        println!("{text}");
    } else {
        let failed = report.checks.iter().filter(|c| !c.pass()).count();
        println!(
            "\n{} of {} checks passed ({} replications x {} requests; family-wise confidence {:.0}%)",
            report.checks.len() - failed,
            report.checks.len(),
            report.replications,
            report.requests_per_replication,
            report.family_confidence * 100.0
        );
    }
    Ok(if report.pass() { 0 } else { 1 })
}

/// Options of `lbsim graph`.
#[derive(Clone, Debug, Default)]
pub struct GraphOptions {
    pub scenario: PathBuf,
    pub out: Option<PathBuf>,
    pub sets: Vec<String>,
    pub stdout: bool,
}

/// `lbsim graph`: writes `topology.dot` (and `topology.svg` when Graphviz's
/// `dot` is installed), or prints the DOT with `--stdout`. Returns the text
/// for stdout.
pub fn graph(opts: &GraphOptions) -> Result<String, Error> {
    let (world, _) = load(&opts.scenario, &opts.sets, None)?;
    let text = report::graph::dot(&world);
    if opts.stdout {
        return Ok(text);
    }
    let out_dir = opts.out.clone().unwrap_or_else(|| Path::new("output").join(&world.name));
    let out = OutputDir::create(&out_dir)?;
    let dot_path = out.write("topology.dot", text.as_bytes())?;
    let mut lines = vec![format!("wrote {}", dot_path.display())];
    match render_svg(&out, &dot_path) {
        Ok(Some(svg)) => lines.push(format!("wrote {}", svg.display())),
        Ok(None) => {
            lines.push("Graphviz `dot` not found: install it (e.g. `apt install graphviz`) for topology.svg".into())
        }
        Err(e) => return Err(e),
    }
    Ok(lines.join("\n") + "\n")
}

/// Runs `dot -Tsvg`, atomically; `None` when Graphviz is not installed.
fn render_svg(out: &OutputDir, dot_path: &Path) -> Result<Option<PathBuf>, Error> {
    let tmp = out.temp_path("topology.svg");
    let status = std::process::Command::new("dot").arg("-Tsvg").arg(dot_path).arg("-o").arg(&tmp).status();
    match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::output(out.final_path("topology.svg"), e)),
        Ok(s) if s.success() => out.commit("topology.svg").map(Some),
        Ok(s) => {
            out.discard("topology.svg");
            Err(Error::Internal(format!("`dot -Tsvg` failed ({s}) on {}", dot_path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_stays_hidden_when_disabled_or_off_a_terminal() {
        // Disabled (--json, --quiet): never drawn, however long the work.
        let quiet = Progress::new(false, "t", 10);
        std::thread::sleep(Progress::DELAY);
        quiet.inc(1);
        assert!(quiet.is_hidden());
        // Enabled, but the test harness's stderr is not a terminal.
        if !std::io::stderr().is_terminal() {
            let piped = Progress::new(true, "t", 10);
            std::thread::sleep(Progress::DELAY);
            piped.set(5);
            assert!(piped.is_hidden());
        }
    }
}
