//! `lbsim check`: the scenario's configuration and every timeline change
//! judged by the rule catalogue without simulating (`crate::check`), as
//! text, JSON or SARIF; `--against BASELINE` for what a change introduces.
//! Exit status 0 clean, 1 errors (or warnings with `--deny warnings`), 2
//! unreadable input.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::check::{self, Counts, Finding, Severity, render, rules, sarif};
use crate::cli;
use crate::error::Error;
use crate::report::junit::{self, Case, Suite};

/// How `check` writes its findings.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Each finding with its snippet, help and why (for people).
    #[default]
    Text,
    /// One JSON object with every finding and the counts.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

/// What `--deny` makes fail.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Deny {
    /// Warnings fail the check too (exit status 1).
    Warnings,
}

/// Options of `lbsim check`, parsed straight from its command line.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct CheckOptions {
    /// Scenario file (YAML or JSON).
    #[arg(required_unless_present = "list_rules")]
    pub scenario: Option<PathBuf>,
    /// Report what SCENARIO changes relative to this baseline: client
    /// subnet -> service pairs that change outcome, capacity that drops,
    /// and findings the baseline does not have.
    #[arg(long, value_name = "BASELINE")]
    pub against: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// `--deny warnings`: warnings fail the check too.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<Deny>,
    /// Print the rule catalogue (ID, name, severity, what it finds) and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Override a value in the scenario (and the baseline): --set clients.web.rate=900/s (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Also write the findings as JUnit XML to FILE (one test case per finding).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// `lbsim check` from the command line: prints the findings and returns
/// the exit status.
pub fn execute(opts: &CheckOptions) -> Result<i32, Error> {
    if opts.list_rules {
        print!("{}", list_rules(opts.format));
        return Ok(0);
    }
    let (stdout, code) = run(opts)?;
    print!("{stdout}");
    Ok(code)
}

/// The catalogue in a format.
pub fn list_rules(format: Format) -> String {
    match format {
        Format::Text => render::catalogue_long(),
        Format::Json => {
            let rules: Vec<serde_json::Value> = rules::ALL
                .iter()
                .map(|r| {
                    serde_json::json!({"id": r.id, "name": r.name, "family": r.family.name(),
                        "severity": r.severity.name(), "summary": r.summary, "why": r.why, "help": r.help})
                })
                .collect();
            serde_json::to_string_pretty(&rules).expect("plain data") + "\n"
        }
        Format::Sarif => sarif::log(&[]),
    }
}

/// Checks, and returns what to print and the exit status.
pub fn run(opts: &CheckOptions) -> Result<(String, i32), Error> {
    let path = opts.scenario.as_ref().ok_or_else(|| Error::Usage("name a scenario file to check".into()))?;
    let overrides = cli::parse_overrides(&opts.sets)?;
    let checked = check::check_file(path, &overrides)?;
    let mut findings = match &opts.against {
        None => checked.findings.clone(),
        Some(base) => {
            let baseline = check::check_file(base, &overrides)?;
            if baseline.compiled.is_none() {
                let why =
                    baseline.findings.first().map_or(String::new(), |f| format!(": {}: {}", f.place.shown, f.message));
                return Err(Error::Usage(format!("--against {}: the baseline does not compile{why}", base.display())));
            }
            check::diff::against(&baseline, &checked)
        }
    };
    // The standing configuration by place in the file, then the timeline in time order.
    findings.sort_by_key(|f| match &f.change {
        None => (0, f.place.line, f.place.column),
        Some(_) => (1, 0, 0),
    });
    let deny = opts.deny.is_some();
    let code = Counts::of(&findings).exit_code(deny);
    let file = checked.source.display_name();
    let out = match opts.format {
        Format::Text => render::text(&file, &checked.source.original, &findings, std::io::stdout().is_terminal()),
        Format::Json => {
            let base = opts.against.as_ref().map(|b| b.display().to_string());
            render::json(&file, base.as_deref(), &findings, code)
        }
        Format::Sarif => sarif::log(&findings),
    };
    if let Some(j) = &opts.junit {
        junit::write(j, &[suite(&file, &findings, deny)])?;
    }
    Ok((out, code))
}

/// The findings as a JUnit suite: a failed case per error (and warning
/// under `--deny warnings`), a passed one per other finding, and a passed
/// `clean` case when there is nothing to say.
pub fn suite(file: &str, findings: &[Finding], deny_warnings: bool) -> Suite {
    let mut cases: Vec<Case> = findings
        .iter()
        .map(|f| {
            let name = format!("{} {}: {}", f.rule.id, f.rule.name, f.place.shown);
            let fails = f.severity == Severity::Error || (deny_warnings && f.severity == Severity::Warning);
            if fails {
                Case::failed(
                    f.rule.id,
                    name,
                    &f.message,
                    format!("{}\nwhy: {}\nhelp: {}", f.message, f.rule.why, f.help),
                )
            } else {
                Case::passed(f.rule.id, name).with_output(format!("{}: {}", f.severity, f.message))
            }
        })
        .collect();
    if cases.is_empty() {
        cases.push(Case::passed("check", format!("{file} is clean")));
    }
    Suite { name: format!("lbsim check {file}"), cases }
}
