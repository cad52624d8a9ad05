//! `lbsim capacity`: the largest value of a settable path (a load) or the
//! smallest (a server count) at which every SLO of the scenario holds with
//! the stated confidence, found by bisection on a noisy monotone response.
//!
//! Each probe runs `--replications` replications (replication `i` of every
//! probe uses seed `seed + i`, so neighbouring probes see the same requests
//! and their difference is the value, not noise) and is judged as `run
//! --replications` judges SLOs: it passes when every SLO's confidence
//! interval lies on the passing side of its threshold. A probe whose verdict
//! is inconclusive (an interval straddles a threshold) gets more
//! replications, doubling up to `--max-replications`; one still inconclusive
//! then counts as not passing. So effort goes where the response is near
//! its threshold, far probes stay cheap, and the answer always passes with
//! the stated confidence. Bisection needs about log2((HI - LO) / resolution)
//! probes after the two ends; on a monotone response no method that only
//! learns pass or fail can use fewer in the worst case.
//!
//! Without `--between` the interval is found from the scenario's own value
//! by doubling (or halving) until the verdict changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::estimate::estimate;
use super::run_sample;
use super::sample::{LatencyPool, Sample};
use super::sweep::{base_source, load_point};
use super::vary::{parse_between, parse_value};
use crate::cli::{ExperimentArgs, Progress, thread_pool};
use crate::error::Error;
use crate::model::World;
use crate::report::capacity::{CapacityReport, Probe};
use crate::report::design::{Kind, SloDef};
use crate::report::files::{CAPACITY_CSV, CAPACITY_JSON};
use crate::report::replications::{Verdict, confidence_pct};
use crate::report::{self, OutputDir};
use crate::scenario::{Override, ScenarioSource};

/// Options of `lbsim capacity`, parsed straight from its command line.
#[derive(Clone, Debug, clap::Args)]
pub struct CapacityOptions {
    /// Scenario file (YAML or JSON); it must declare at least one SLO.
    pub scenario: PathBuf,
    /// `max PATH`: the largest value meeting every SLO (a load, a rate);
    /// `min PATH`: the smallest (a server count, workers).
    #[arg(long, num_args = 2, value_names = ["max|min", "PATH"], required = true)]
    pub find: Vec<String>,
    /// The interval to search, in the path's units (`16..40`,
    /// `1000/s..8000/s`) [default: found from the scenario's value by
    /// doubling or halving].
    #[arg(long, value_name = "LO..HI")]
    pub between: Option<String>,
    /// Stop when the interval is this narrow, in the path's units
    /// [default: 1 for whole numbers, else a hundredth of the interval].
    #[arg(long, value_name = "STEP")]
    pub resolution: Option<String>,
    /// Most replications an inconclusive probe may grow to [default: 4 x --replications].
    #[arg(long, value_name = "N")]
    pub max_replications: Option<usize>,
    #[command(flatten)]
    pub common: ExperimentArgs,
    /// Directory for capacity.json, capacity.csv and the probes chart
    /// [default: output/capacity/<scenario name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print capacity.json to stdout instead of the probes and the answer.
    #[arg(long)]
    pub json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the probes chart.
    #[arg(long)]
    pub no_charts: bool,
}

/// What a finished search produced.
pub(crate) struct CapacityOutcome {
    pub stdout: String,
    /// 0 with an answer, 1 when no value in the interval meets the SLOs.
    pub exit_code: i32,
}

/// Whether the passing values lie below (`max`) or above (`min`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Direction {
    Max,
    Min,
}

/// The search's state: the probes so far and how to make one.
struct Search<'a> {
    source: &'a ScenarioSource,
    path: String,
    kind: Kind,
    seed: Option<u64>,
    first_seed: u64,
    down: u32,
    replications: usize,
    max_replications: usize,
    confidence: f64,
    slos: Vec<SloDef>,
    pool: rayon::ThreadPool,
    show: bool,
    probes: Vec<Probe>,
    /// Lines printed as the probes are made.
    log: String,
}

impl Search<'_> {
    /// A value as the scenario writes it, and its number read back.
    fn value(&self, x: f64) -> (String, f64) {
        let text = self.kind.format(x);
        let number = parse_value(&text).1.unwrap_or(x);
        (text, number)
    }

    fn world(&self, text: &str) -> Result<World, Error> {
        let ov = Override::from_flag("--find", &self.path, text)?;
        load_point(self.source, &[ov], self.seed, self.down)
    }

    /// The verdict at `x`, probing it unless it was probed already.
    fn probe(&mut self, x: f64) -> Result<Verdict, Error> {
        let (text, number) = self.value(x);
        if let Some(p) = self.probes.iter().find(|p| p.value == text) {
            return Ok(p.verdict);
        }
        let world = self.world(&text)?;
        let mut samples: Vec<Sample> = Vec::new();
        let mut pool: Option<LatencyPool> = None;
        let mut n = self.replications;
        let progress = Progress::new(self.show, &format!("{} = {text}", self.path), n as u64);
        let est = loop {
            let (first, seed) = (samples.len(), self.first_seed);
            let more: Vec<(Sample, LatencyPool)> = self.pool.install(|| {
                (first..n)
                    .into_par_iter()
                    .map(|i| {
                        let s = run_sample(&world, seed.wrapping_add(i as u64));
                        progress.inc(1);
                        s
                    })
                    .collect()
            });
            for (sample, latency) in more {
                samples.push(sample);
                match &mut pool {
                    Some(p) => p.merge(&latency),
                    None => pool = Some(latency),
                }
            }
            let est = estimate(&samples, pool.as_ref(), &self.slos, self.first_seed, self.confidence);
            if est.verdict != Verdict::Inconclusive || n >= self.max_replications {
                break est;
            }
            n = (2 * n).min(self.max_replications);
            progress.set_length(n as u64);
        };
        progress.finish();
        let verdict = est.verdict;
        let probe = Probe { order: self.probes.len() + 1, value: text, number, verdict, replications: est };
        let _ = writeln!(self.log, "{}", probe_line(&self.path, &probe));
        self.probes.push(probe);
        Ok(verdict)
    }

    fn passes(&mut self, x: f64) -> Result<bool, Error> {
        Ok(self.probe(x)? == Verdict::Pass)
    }
}

/// `probe 3: servers.app.count = 22 → pass (10 replications; p99 < 300ms: 287ms [280ms, 296ms], met 10/10)`.
fn probe_line(path: &str, p: &Probe) -> String {
    let slos: Vec<String> = p
        .replications
        .slos
        .iter()
        .map(|s| format!("{}: {}, met {}/{}", s.name, s.observed_text, s.met, s.replications))
        .collect();
    format!(
        "probe {}: {path} = {} → {} ({} replications; {})",
        p.order,
        p.value,
        p.verdict.as_str(),
        p.replications.replications,
        slos.join("; ")
    )
}

/// `lbsim capacity`.
pub(crate) fn capacity(opts: &CapacityOptions) -> Result<CapacityOutcome, Error> {
    let c = &opts.common;
    c.check()?;
    let max_replications = opts.max_replications.unwrap_or(4 * c.replications);
    if max_replications < c.replications {
        return Err(Error::Usage(format!(
            "--max-replications {max_replications} is below --replications {}",
            c.replications
        )));
    }
    let (direction, path) = match opts.find.as_slice() {
        [d, p] if d == "max" => (Direction::Max, p.clone()),
        [d, p] if d == "min" => (Direction::Min, p.clone()),
        [d, _] => {
            return Err(Error::argument(
                "--find",
                &opts.find.join(" "),
                0..d.len(),
                format!("`{d}` is not a direction"),
                Some(
                    "write --find max PATH (the largest value meeting every SLO) or --find min PATH (the smallest)"
                        .into(),
                ),
            ));
        }
        _ => return Err(Error::Usage("--find takes a direction and a path: --find max clients.web.rate".into())),
    };
    let segments: Vec<String> = path.split('.').map(|s| s.trim().to_string()).collect();
    if segments.iter().any(String::is_empty) {
        let arg = opts.find.join(" ");
        return Err(Error::argument(
            "--find",
            &arg,
            arg.len() - path.len()..arg.len(),
            "the path needs names separated by dots",
            None,
        ));
    }
    let source = base_source(&opts.scenario, &c.sets)?;
    let find_arg = opts.find.join(" ");
    let path_at = find_arg.len() - path.len()..find_arg.len();
    let current =
        source.value_at(&segments).map_err(|m| Error::argument("--find", &find_arg, path_at.clone(), m, None))?;
    let current_parsed = current.as_deref().map(parse_value);
    if let Some((Kind::Text, _)) = current_parsed {
        return Err(Error::argument(
            "--find",
            &find_arg,
            path_at,
            format!("`{path}` holds `{}`, not a number: a search needs a numeric path", current.unwrap_or_default()),
            Some("search a count, rate, duration or percentage, like servers.app.count or clients.web.rate".into()),
        ));
    }
    let between = opts.between.as_deref().map(parse_between).transpose()?;
    let kind = match (current_parsed, between) {
        (Some((ck, _)), Some((bk, _, _))) => match (ck, bk) {
            (a, b) if a == b => a,
            (Kind::Integer, Kind::Number) | (Kind::Number, Kind::Integer) => Kind::Number,
            _ => {
                return Err(Error::argument(
                    "--between",
                    opts.between.as_deref().unwrap_or_default(),
                    0..opts.between.as_deref().map_or(0, str::len),
                    format!("`{path}` holds `{}`; write the interval in the same units", current.unwrap_or_default()),
                    None,
                ));
            }
        },
        (Some((k, _)), None) => k,
        (None, Some((k, _, _))) => k,
        (None, None) => {
            return Err(Error::argument(
                "--find",
                &find_arg,
                path_at,
                format!("the scenario sets no value at `{path}` to start from"),
                Some("give the interval to search: --between LO..HI".into()),
            ));
        }
    };
    // The world as written, for its SLOs, seed and name; also checks the path.
    let start = match (between, current_parsed) {
        (Some((_, lo, _)), _) => lo,
        (None, current) => current.and_then(|c| c.1).unwrap_or(1.0),
    };
    let base = load_point(&source, &[Override::from_flag("--find", &path, &kind.format(start))?], c.seed, c.down)?;
    if base.slos.is_empty() {
        return Err(Error::Usage(format!(
            "{} declares no SLOs: a capacity search needs objectives to meet (add `slos:`, e.g. - {{objective: \"p99 < 300ms\"}})",
            source.display_name()
        )));
    }
    let resolution = match &opts.resolution {
        None => None,
        Some(text) => {
            let (rk, r) = parse_value(text);
            match r.filter(|r| *r > 0.0 && (rk == kind || (rk == Kind::Integer && kind == Kind::Number))) {
                Some(r) => Some(r),
                None => {
                    return Err(Error::argument(
                        "--resolution",
                        text,
                        0..text.len(),
                        format!("expected a step above zero in the units of `{path}` (like {})", kind.format(1.0)),
                        None,
                    ));
                }
            }
        }
    };
    if kind == Kind::Integer && resolution.is_some_and(|r| r.fract() != 0.0) {
        return Err(Error::Usage(format!("--resolution must be a whole number: `{path}` is one")));
    }
    let mut search = Search {
        source: &source,
        path: path.clone(),
        kind,
        seed: c.seed,
        first_seed: c.seed.unwrap_or(base.seed),
        down: c.down,
        replications: c.replications,
        max_replications,
        confidence: c.confidence,
        slos: SloDef::of(&base),
        pool: thread_pool(c.jobs)?,
        show: !opts.json && !opts.quiet,
        probes: Vec::new(),
        log: String::new(),
    };
    // Compile the interval's ends before anything runs (a bad value fails now).
    if let Some((_, lo, hi)) = between {
        search.world(&kind.format(lo))?;
        search.world(&kind.format(hi))?;
    }
    let outcome = match between {
        Some((_, lo, hi)) => bisect_interval(&mut search, direction, lo, hi, resolution)?,
        None => bracket_then_bisect(&mut search, direction, start, resolution)?,
    };
    finish(opts, &source, &base, search, direction, outcome)
}

/// The search's result before it is written up.
struct Found {
    /// The answer and the neighbouring value that does not pass (None when
    /// the answer is at an end of the interval).
    answer: Option<(f64, Option<f64>)>,
    low: f64,
    high: f64,
    bracketed: bool,
    resolution: f64,
    notes: Vec<String>,
}

/// The smallest step between probes: the resolution, or 1 for whole numbers.
fn step_of(kind: Kind, resolution: Option<f64>, lo: f64, hi: f64) -> f64 {
    match (kind, resolution) {
        (_, Some(r)) => r,
        (Kind::Integer, None) => 1.0,
        (_, None) => (hi - lo) / 100.0,
    }
}

/// The middle of `lo..hi`, snapped to the grid of `step`s from `origin`
/// (so probes read `535/s`, not `534.375/s`; whole numbers stay whole).
fn midpoint(lo: f64, hi: f64, origin: f64, step: f64) -> f64 {
    let k = ((lo + (hi - lo) / 2.0 - origin) / step).floor();
    origin + k * step
}

/// Probes both ends of `lo..hi`, then bisects between them.
fn bisect_interval(
    s: &mut Search<'_>,
    dir: Direction,
    lo: f64,
    hi: f64,
    resolution: Option<f64>,
) -> Result<Found, Error> {
    let step = step_of(s.kind, resolution, lo, hi);
    let (good_end, bad_end) = match dir {
        Direction::Max => (lo, hi),
        Direction::Min => (hi, lo),
    };
    let mut found = Found { answer: None, low: lo, high: hi, bracketed: false, resolution: step, notes: Vec::new() };
    if !s.passes(good_end)? {
        return Ok(found);
    }
    if s.passes(bad_end)? {
        found.answer = Some((bad_end, None));
        found.notes.push(format!(
            "{} meets every SLO at the {} end of the interval: the {} lies beyond it; widen --between",
            s.path,
            if dir == Direction::Max { "upper" } else { "lower" },
            if dir == Direction::Max { "largest value" } else { "smallest value" }
        ));
        return Ok(found);
    }
    let (good, bad) = bisect(s, good_end, bad_end, step)?;
    found.answer = Some((good, Some(bad)));
    Ok(found)
}

/// Narrows a passing `good` and a failing `bad` until they are one step
/// apart, probing on the grid of `step`s from the lower of the two.
fn bisect(s: &mut Search<'_>, mut good: f64, mut bad: f64, step: f64) -> Result<(f64, f64), Error> {
    let origin = good.min(bad);
    while (bad - good).abs() > step * (1.0 + 1e-9) {
        let (lo, hi) = if good < bad { (good, bad) } else { (bad, good) };
        let mid = s.value(midpoint(lo, hi, origin, step)).1;
        if mid <= lo || mid >= hi {
            break;
        }
        if s.passes(mid)? { good = mid } else { bad = mid }
    }
    Ok((good, bad))
}

/// Doubling probes away from `start`: the most before the search gives up.
const MAX_BRACKET_STEPS: usize = 20;

/// Finds an interval from the scenario's value by doubling or halving, then bisects it.
fn bracket_then_bisect(
    s: &mut Search<'_>,
    dir: Direction,
    start: f64,
    resolution: Option<f64>,
) -> Result<Found, Error> {
    let floor = if s.kind == Kind::Integer { 1.0 } else { 0.0 };
    let start = if start <= floor { floor.max(if s.kind == Kind::Integer { 1.0 } else { 1e-9 }) } else { start };
    let kind = s.kind;
    let grow = |x: f64| if kind == Kind::Integer { (2.0 * x).round().max(x + 1.0) } else { 2.0 * x };
    let shrink = |x: f64| if kind == Kind::Integer { (x / 2.0).floor().max(floor) } else { x / 2.0 };
    let start_passes = s.passes(start)?;
    // Moving towards failing values from a pass, or towards passing ones from a failure.
    let towards_larger = match dir {
        Direction::Max => start_passes,
        Direction::Min => !start_passes,
    };
    let (mut inside, mut x) = (start, start);
    let mut other = None;
    for _ in 0..MAX_BRACKET_STEPS {
        let next = if towards_larger { grow(x) } else { shrink(x) };
        if next == x || (!towards_larger && s.kind == Kind::Integer && next < floor) {
            break;
        }
        x = next;
        if s.passes(x)? != start_passes {
            other = Some(x);
            break;
        }
        inside = x;
    }
    let (good, bad) = match (start_passes, other) {
        (true, Some(b)) => (inside, b),
        (false, Some(g)) => (g, inside),
        (true, None) => {
            let (low, high) = if towards_larger { (start, x) } else { (x, start) };
            let end = if towards_larger { "largest" } else { "smallest" };
            return Ok(Found {
                answer: Some((x, None)),
                low,
                high,
                bracketed: true,
                resolution: step_of(s.kind, resolution, low, high),
                notes: vec![format!(
                    "every value probed from {} to {} meets every SLO: the {end} value lies beyond the {end} probed; give --between",
                    s.kind.format(low),
                    s.kind.format(high)
                )],
            });
        }
        (false, None) => {
            let (low, high) = if towards_larger { (start, x) } else { (x, start) };
            return Ok(Found {
                answer: None,
                low,
                high,
                bracketed: true,
                resolution: step_of(s.kind, resolution, low, high),
                notes: Vec::new(),
            });
        }
    };
    let (low, high) = if good < bad { (good, bad) } else { (bad, good) };
    let step = step_of(s.kind, resolution, low, high);
    let (good, bad) = bisect(s, good, bad, step)?;
    Ok(Found { answer: Some((good, Some(bad))), low, high, bracketed: true, resolution: step, notes: Vec::new() })
}

/// What the answer is called: `22 servers` for a server count, else `path = value`.
fn answer_text(path: &str, value: &str) -> String {
    if path.starts_with("servers.") && path.ends_with(".count") {
        format!("{value} servers")
    } else {
        format!("{path} = {value}")
    }
}

/// Why a probe does not pass: each SLO that fails or is undecided there.
fn why_not(p: &Probe) -> String {
    let reasons: Vec<String> = p
        .replications
        .slos
        .iter()
        .filter(|s| s.verdict != Verdict::Pass)
        .map(|s| {
            let failed = s.replications - s.met;
            match s.verdict {
                Verdict::Fail => format!("fails `{}` in {failed}/{} replications", s.objective, s.replications),
                _ => format!(
                    "is inconclusive on `{}` after {} replications (fails in {failed})",
                    s.objective, s.replications
                ),
            }
        })
        .collect();
    reasons.join(" and ")
}

fn finish(
    opts: &CapacityOptions,
    source: &ScenarioSource,
    base: &World,
    search: Search<'_>,
    dir: Direction,
    found: Found,
) -> Result<CapacityOutcome, Error> {
    let conf = confidence_pct(search.confidence);
    let fmt = |x: f64| search.kind.format(x);
    let probe_at = |x: f64| search.probes.iter().find(|p| p.value == fmt(x));
    let mut notes = found.notes;
    let (answer, statement) = match found.answer {
        Some((x, bad)) => {
            let value = fmt(x);
            let neighbour = bad.and_then(probe_at).map(|p| format!("{} {}; ", p.value, why_not(p))).unwrap_or_default();
            (
                Some(value.clone()),
                format!("{} ({neighbour}{value} passes with {conf} confidence)", answer_text(&search.path, &value)),
            )
        }
        None => (
            None,
            format!(
                "no value in {}..{} meets the SLOs{}",
                fmt(found.low),
                fmt(found.high),
                search
                    .probes
                    .iter()
                    .find(|p| p.value == fmt(if dir == Direction::Max { found.low } else { found.high }))
                    .map(|p| format!(": {} {}", p.value, why_not(p)))
                    .unwrap_or_default()
            ),
        ),
    };
    // A noisy or non-monotone response shows as probes that disagree with the answer.
    if let Some((x, _)) = found.answer {
        let wrong: Vec<String> = search
            .probes
            .iter()
            .filter(|p| {
                let should_pass = match dir {
                    Direction::Max => p.number <= x,
                    Direction::Min => p.number >= x,
                };
                (p.verdict == Verdict::Pass) != should_pass
            })
            .map(|p| format!("{} ({})", p.value, p.verdict.as_str()))
            .collect();
        if !wrong.is_empty() {
            notes.push(format!(
                "the response is not monotone in {}: the probes at {} disagree with the answer; check the SLOs and add replications",
                search.path,
                wrong.join(", ")
            ));
        }
    }
    let answer_number = found.answer.map(|a| search.value(a.0).1);
    let report = CapacityReport {
        lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: base.name.clone(),
        file: source.display_name(),
        sets: opts.common.sets.clone(),
        path: search.path.clone(),
        find: if dir == Direction::Max { "max" } else { "min" },
        kind: search.kind,
        low: fmt(found.low),
        high: fmt(found.high),
        bracketed: found.bracketed,
        resolution: fmt(found.resolution),
        replications: search.replications,
        max_replications: search.max_replications,
        first_seed: search.first_seed,
        confidence: search.confidence,
        down: search.down,
        answer_number,
        answer,
        statement,
        notes,
        probes: search.probes,
    };
    let out_dir = opts.out.clone().unwrap_or_else(|| Path::new("output").join("capacity").join(&report.scenario));
    let out = OutputDir::stage(&out_dir, report::files::Command::Capacity)?;
    let json = report::capacity::json(&report)?;
    let mut files =
        vec![out.write(CAPACITY_JSON.name, &json)?, out.write(CAPACITY_CSV.name, &report::capacity::csv(&report)?)?];
    if !opts.no_charts {
        files.extend(report::write_charts(&out, &report::charts::render_capacity(&report))?);
    }
    files.sort();
    out.land()?;
    let exit_code = i32::from(report.answer.is_none());
    let stdout = if opts.json {
        String::from_utf8_lossy(&json).into_owned()
    } else {
        let mut s = search.log.clone();
        let _ = writeln!(s, "\n{}", report.statement);
        for n in &report.notes {
            let _ = writeln!(s, "note: {n}");
        }
        match report.down {
            0 => {}
            1 => {
                let _ = writeln!(s, "with the largest server of each group out of rotation (--down 1)");
            }
            k => {
                let _ = writeln!(s, "with the {k} largest servers of each group out of rotation (--down {k})");
            }
        }
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(s, "\n{}", report::text::reports_line(&names));
        s
    };
    Ok(CapacityOutcome { stdout, exit_code })
}
