//! `lbsim compare` as a command: its options, running both sides over the
//! replications, and writing compare.csv, compare.md, compare.json and the
//! overlay charts. The statistics (paired intervals, verdicts) are in
//! `crate::experiment::paired`. Part of the commands layer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cli::{self, Progress, load};
use crate::error::Error;
use crate::experiment::paired::{self, Effect, MetricComparison, RunComparison};
use crate::metrics::NullSink;
use crate::model::World;
use crate::report::chartdata::ChartData;
use crate::report::files::{COMPARE_CSV, COMPARE_JSON, COMPARE_MD};
use crate::report::headline::Better;
use crate::report::markdown::{md_code, md_text};
use crate::report::replications::{num, with_unit};
use crate::report::{self, OutputDir, RunContext, Summary};
use crate::sim::Simulation;

/// Options of `lbsim compare`, parsed straight from its command line.
#[derive(Clone, Debug, clap::Args)]
pub struct CompareOptions {
    /// Baseline scenario file.
    pub baseline: PathBuf,
    /// Changed scenario file [default: the baseline with --change applied].
    pub changed: Option<PathBuf>,
    /// Override a value in both scenarios (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Override a value in the changed scenario only (repeatable).
    #[arg(long = "change", value_name = "PATH=VALUE")]
    pub changes: Vec<String>,
    /// Replications of each side.
    #[arg(long, default_value_t = 10)]
    pub replications: usize,
    /// First seed (replication i uses seed + i) [default: the baseline's seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Smallest change, in % of the baseline, that counts as better or
    /// worse; significant changes below it are reported as negligible.
    #[arg(long = "min-effect", value_name = "PERCENT", default_value_t = 1.0)]
    pub min_effect_pct: f64,
    /// Exit with status 1 when any metric is significantly worse (for CI).
    #[arg(long)]
    pub fail_on_worse: bool,
    /// Directory for the reports [default: output/compare/<baseline>--<changed>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print compare.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the overlay charts.
    #[arg(long)]
    pub no_charts: bool,
    /// What to call the baseline in the table, compare.md and chart
    /// legends [default: its scenario name].
    #[arg(long, value_name = "LABEL")]
    pub label_base: Option<String>,
    /// What to call the changed side [default: the --change paths and
    /// values, or the changed file's scenario name].
    #[arg(long, value_name = "LABEL")]
    pub label_changed: Option<String>,
    /// Also write the metrics as JUnit XML to FILE: one test case per
    /// metric, failed when it is significantly worse.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run even when the run-size limits (the time series' bytes) refuse it.
    #[arg(long)]
    pub allow_large_run: bool,
}

/// What `lbsim compare` produced.
pub struct CompareOutcome {
    pub comparison: RunComparison,
    pub files: Vec<PathBuf>,
    pub stdout: String,
    /// 1 with `--fail-on-worse` when a metric got worse, else 0.
    pub exit_code: i32,
}

/// The two sides: the world as loaded (each replication clones it with its
/// own seed, so the file is read once), overrides, and display name.
struct Side {
    world: World,
    sets: Vec<String>,
    name: String,
    file: String,
}

/// One finished replication of one side.
struct Outcome {
    summary: Summary,
    charts: Option<ChartData>,
}

fn run_one(side: &Side, seed: u64, keep_charts: bool) -> Outcome {
    let mut world = side.world.clone();
    world.seed = seed;
    let result = Simulation::new(world, Box::new(NullSink)).run(|_| {});
    let ctx = RunContext { file: side.file.clone(), overrides: side.sets.clone(), reproducible: true };
    let summary = Summary::build(&result, &ctx);
    let charts = keep_charts.then(|| ChartData::from_run(&result));
    Outcome { summary, charts }
}

/// `lbsim compare` from the command line: exit status 1 with
/// `--fail-on-worse` when a metric got worse.
pub fn execute(opts: &CompareOptions) -> Result<i32, Error> {
    let outcome = compare(opts)?;
    print!("{}", outcome.stdout);
    Ok(outcome.exit_code)
}

/// Runs both sides over the replications and writes the reports.
pub fn compare(opts: &CompareOptions) -> Result<CompareOutcome, Error> {
    cli::check_replications(opts.replications, opts.confidence, false)?;
    if !(opts.min_effect_pct >= 0.0 && opts.min_effect_pct.is_finite()) {
        return Err(Error::Usage("--min-effect must be a percentage of at least 0, like 1".into()));
    }
    if opts.changed.is_none() && opts.changes.is_empty() {
        return Err(Error::Usage(
            "nothing to compare: give a CHANGED scenario file, or --change PATH=VALUE to compare the baseline \
             with itself under that change"
                .into(),
        ));
    }
    // Load both up front so a bad file or override fails before any run.
    let (base_world, base_src) = load(&opts.baseline, &opts.sets, opts.seed, opts.allow_large_run)?;
    let changed_path = opts.changed.clone().unwrap_or_else(|| opts.baseline.clone());
    let changed_sets: Vec<String> = opts.sets.iter().chain(&opts.changes).cloned().collect();
    let (changed_world, changed_src) = load(&changed_path, &changed_sets, opts.seed, opts.allow_large_run)?;
    let first_seed = opts.seed.unwrap_or(base_world.seed);
    let changed_name = match &opts.label_changed {
        Some(l) => l.clone(),
        None if !opts.changes.is_empty() && opts.changed.is_none() => opts.changes.join(", "),
        None if changed_world.name == base_world.name => format!("{} (changed)", changed_world.name),
        None => changed_world.name.clone(),
    };
    let base_name = opts.label_base.clone().unwrap_or_else(|| base_world.name.clone());
    if base_name == changed_name {
        return Err(Error::Usage(format!(
            "both sides would be labelled `{base_name}`: give --label-base or --label-changed"
        )));
    }
    // Named by the files and overrides, so different comparisons land in different folders.
    let default_dir = {
        let base = cli::variant_name(&base_world.name, &opts.sets);
        let changed = if opts.changed.is_none() {
            cli::variant_name("", &opts.changes).trim_start_matches('-').to_string()
        } else {
            let name = if changed_world.name == base_world.name {
                format!("{}-changed", changed_world.name)
            } else {
                changed_world.name.clone()
            };
            cli::variant_name(&name, &opts.sets)
        };
        Path::new("output").join("compare").join(format!("{base}--{changed}"))
    };
    let sides = [
        Side { name: base_name, world: base_world, sets: opts.sets.clone(), file: base_src.display_name() },
        Side { world: changed_world, sets: changed_sets, name: changed_name, file: changed_src.display_name() },
    ];

    let n = opts.replications;
    let progress = Progress::new(!opts.json && !opts.quiet, "compare", 2 * n as u64);
    let jobs: Vec<(usize, usize)> = (0..n).flat_map(|i| [(0, i), (1, i)]).collect();
    let outcomes: Vec<Outcome> = jobs
        .par_iter()
        .map(|&(side, i)| {
            let r = run_one(&sides[side], first_seed.wrapping_add(i as u64), i == 0 && !opts.no_charts);
            progress.inc(1);
            r
        })
        .collect();
    progress.finish();
    let mut base = Vec::with_capacity(n);
    let mut changed = Vec::with_capacity(n);
    for (&(side, _), o) in jobs.iter().zip(outcomes) {
        if side == 0 { base.push(o) } else { changed.push(o) }
    }

    let comparison = RunComparison {
        baseline: sides[0].name.clone(),
        baseline_file: sides[0].file.clone(),
        changed: sides[1].name.clone(),
        changed_file: sides[1].file.clone(),
        sets: opts.sets.clone(),
        changes: opts.changes.clone(),
        replications: n,
        first_seed,
        confidence: opts.confidence,
        min_effect_pct: opts.min_effect_pct,
        // A metric neither side ever defines (no incident window, say) is left out.
        rows: paired::rows(&summaries(&base), &summaries(&changed), opts.confidence, opts.min_effect_pct),
    };

    let out_dir = opts.out.clone().unwrap_or(default_dir);
    let out = OutputDir::stage(&out_dir, report::files::Command::Compare)?;
    let mut files = vec![
        out.write(COMPARE_CSV.name, &csv(&comparison)?)?,
        out.write(COMPARE_MD.name, markdown(&comparison).as_bytes())?,
    ];
    let json = serde_json::to_string_pretty(&comparison).map_err(|e| Error::Internal(e.to_string()))? + "\n";
    files.push(out.write(COMPARE_JSON.name, json.as_bytes())?);
    if let (Some(a), Some(b)) = (&base[0].charts, &changed[0].charts) {
        let charts = report::charts::render_overlay(a, &comparison.baseline, b, &comparison.changed);
        files.extend(report::write_charts(&out, &charts)?);
    }
    files.sort();
    out.land()?;
    let stdout = if opts.json {
        json
    } else {
        let mut s = table(&comparison);
        for f in &files {
            let _ = writeln!(s, "wrote {}", f.display());
        }
        s
    };
    if let Some(path) = &opts.junit {
        report::junit::write(path, &[junit_suite(&comparison)])?;
    }
    let worse = comparison.rows.iter().any(|r| r.verdict == Effect::Worse);
    let exit_code = i32::from(worse && opts.fail_on_worse);
    Ok(CompareOutcome { comparison, files, stdout, exit_code })
}

/// The comparison as a JUnit suite: a case per metric, failed when it is
/// significantly worse.
fn junit_suite(c: &RunComparison) -> report::junit::Suite {
    use report::junit::{Case, Suite};
    let cases = c
        .rows
        .iter()
        .map(|r| {
            let cl = cells(r, c.replications);
            let text = format!("{}: {} -> {} ({}, {} {}); {}", r.label, cl[1], cl[2], cl[3], cl[4], cl[5], cl[6]);
            if r.verdict == Effect::Worse {
                Case::failed("metric", r.label, format!("worse: {} -> {}", cl[1], cl[2]), text)
            } else {
                Case::passed("metric", r.label).with_output(text)
            }
        })
        .collect();
    Suite { name: format!("lbsim compare {} vs {}", c.baseline, c.changed), cases }
}

fn summaries(side: &[Outcome]) -> Vec<&Summary> {
    side.iter().map(|o| &o.summary).collect()
}

fn signed(v: f64) -> String {
    let s = num(v);
    if v > 0.0 && s != "0" { format!("+{s}") } else { s }
}

/// Columns of the tables.
const COLUMNS: usize = 7;

/// The cells of one row, shared by the terminal and Markdown tables.
/// Differences of percentages are in percentage points (pp).
fn cells(r: &MetricComparison, n: usize) -> [String; COLUMNS] {
    let side = |mean: f64, defined: usize| {
        let v = if mean.is_finite() { with_unit(num(mean), r.unit) } else { "n/a".into() };
        if defined < n { format!("{v} ({defined}/{n} runs)") } else { v }
    };
    let diff_unit = if r.unit == "%" { "pp" } else { r.unit };
    let (diff, ci, rel) = if r.pairs >= 2 && r.difference_low.is_finite() {
        (
            with_unit(signed(r.difference), diff_unit),
            format!("[{}, {}]", signed(r.difference_low), signed(r.difference_high)),
            r.relative_pct.map(|p| format!("{}%", signed(p))).unwrap_or_else(|| "n/a".into()),
        )
    } else {
        ("n/a".into(), "fewer than 2 paired runs".into(), "n/a".into())
    };
    [
        r.label.to_string(),
        side(r.baseline_mean, r.baseline_defined),
        side(r.changed_mean, r.changed_defined),
        diff,
        ci,
        rel,
        r.verdict.as_str().to_string(),
    ]
}

fn header(c: &RunComparison) -> [String; COLUMNS] {
    let pct = (c.confidence * 1000.0).round() / 10.0;
    [
        "metric".into(),
        c.baseline.clone(),
        c.changed.clone(),
        "difference".into(),
        format!("{pct}% CI"),
        "relative".into(),
        "verdict".into(),
    ]
}

fn replication_note(c: &RunComparison) -> String {
    let mut s = format!(
        "{} replications each, common random numbers (replication i of both uses seed {} + i); paired Student-t \
         intervals at {}% confidence, each metric on its own; significant when the interval excludes zero, better or \
         worse when also at least {}% of the baseline (smaller: negligible). Differences are changed minus baseline; pp = percentage \
         points.",
        c.replications,
        c.first_seed,
        (c.confidence * 1000.0).round() / 10.0,
        c.min_effect_pct
    );
    if !c.sets.is_empty() {
        let _ = write!(s, " Both with --set {}.", c.sets.join(" --set "));
    }
    if !c.changes.is_empty() {
        let _ = write!(s, " Changed side with --change {}.", c.changes.join(" --change "));
    }
    s
}

/// The terminal table.
pub fn table(c: &RunComparison) -> String {
    let rows: Vec<[String; COLUMNS]> =
        std::iter::once(header(c)).chain(c.rows.iter().map(|r| cells(r, c.replications))).collect();
    let widths: Vec<usize> =
        (0..COLUMNS).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut s = format!("{} ({}) vs {} ({})\n\n", c.baseline, c.baseline_file, c.changed, c.changed_file);
    for (k, r) in rows.iter().enumerate() {
        let line: Vec<String> = r.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(s, "{}", line.join("  ").trim_end());
        if k == 0 {
            let _ = writeln!(s, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        }
    }
    let _ = writeln!(s, "\n{}\n", replication_note(c));
    s
}

/// The Markdown table, fit for a pull-request comment.
pub fn markdown(c: &RunComparison) -> String {
    let mut s = format!(
        "### lbsim compare: {} → {}\n\nBaseline {}, changed {}.\n\n",
        md_text(&c.baseline),
        md_text(&c.changed),
        md_code(&c.baseline_file),
        md_code(&c.changed_file)
    );
    let row = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let _ = writeln!(s, "{}", row(&header(c).map(|x| md_text(&x))));
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|");
    for r in &c.rows {
        let mut cl = cells(r, c.replications).map(|x| md_text(&x));
        if matches!(r.verdict, Effect::Better | Effect::Worse) {
            cl[COLUMNS - 1] = format!("**{}**", cl[COLUMNS - 1]);
        }
        let _ = writeln!(s, "{}", row(&cl));
    }
    let _ = writeln!(s, "\n{}", md_text(&replication_note(c)));
    s
}

fn csv(c: &RunComparison) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record([
        "metric",
        "unit",
        "better",
        "baseline_mean",
        "baseline_ci_half_width",
        "changed_mean",
        "changed_ci_half_width",
        "difference",
        "difference_ci_low",
        "difference_ci_high",
        "relative_change_pct",
        "significant",
        "verdict",
        "pairs",
        "baseline_defined",
        "changed_defined",
    ])
    .map_err(io)?;
    let f = |v: f64| if v.is_finite() { format!("{v}") } else { String::new() };
    for r in &c.rows {
        w.write_record([
            r.metric.to_string(),
            r.unit.to_string(),
            if r.better == Better::Lower { "lower" } else { "higher" }.to_string(),
            f(r.baseline_mean),
            f(r.baseline_half_width),
            f(r.changed_mean),
            f(r.changed_half_width),
            f(r.difference),
            f(r.difference_low),
            f(r.difference_high),
            r.relative_pct.map(f).unwrap_or_default(),
            r.significant.to_string(),
            r.verdict.as_str().to_string(),
            r.pairs.to_string(),
            r.baseline_defined.to_string(),
            r.changed_defined.to_string(),
        ])
        .map_err(io)?;
    }
    w.into_inner().map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_carry_their_sign() {
        assert_eq!(signed(1.5), "+1.500");
        assert_eq!(signed(-1.5), "-1.500");
        assert_eq!(signed(0.0), "0");
        assert_eq!(signed(0.000_01), "0");
    }

    #[test]
    fn markdown_escapes_pipes_and_bolds_only_real_changes() {
        let mut row = paired::latency_mean_row(&[50.0, 51.0, 49.0], &[40.0, 40.0, 40.0], 1.0);
        let c = |rows: Vec<MetricComparison>| RunComparison {
            baseline: "a|b".into(),
            baseline_file: "a.yaml".into(),
            changed: "c".into(),
            changed_file: "c.yaml".into(),
            sets: vec![],
            changes: vec!["x=1".into()],
            replications: 3,
            first_seed: 1,
            confidence: 0.95,
            min_effect_pct: 1.0,
            rows,
        };
        let md = markdown(&c(vec![row.clone()]));
        assert!(md.contains("a\\|b") && md.contains("`a.yaml`"), "{md}");
        assert!(md.contains("**better**"), "{md}");
        assert!(md.contains("Changed side with --change x=1."), "{md}");
        row.verdict = Effect::Negligible;
        assert!(!markdown(&c(vec![row])).contains("**"));
    }
}
