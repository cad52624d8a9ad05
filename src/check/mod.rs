//! `lbsim check`: catch a misconfiguration before it ships. The scenario is
//! compiled as for a run, but not simulated; a catalogue of rules
//! ([`rules`]), one file per family, looks at the configuration as it stands
//! and at the state after every timeline change (`timeline`), and each
//! finding names its rule, severity, place in the file, why it matters and
//! what to do. [`diff`] is the differential form (`--against BASELINE`).
//! [`render`] writes text or JSON, [`sarif`] SARIF 2.1.0.
//!
//! Stage: after `report` (it reuses the words for validation's reasons) and
//! before `commands`. Rules reuse the simulator's path resolution and
//! validation (`sim::network`, `sim::balancer`), so a path `check` calls
//! broken is one the run would break.

mod balancers;
mod capacity;
mod clients;
pub mod diff;
mod locate;
mod monitoring;
mod network;
mod redundancy;
pub mod render;
pub mod rules;
pub mod sarif;
mod state;
mod timeline;

use std::path::Path;

use serde_saphyr::Location;

use crate::error::Error;
use crate::model::World;
use crate::scenario::{Override, Scenario, ScenarioSource};
use locate::Locator;
pub use locate::Place;
pub use rules::{Rule, Severity};
use state::Snapshot;

/// What a rule found about one thing, before it is placed in time.
#[derive(Clone, Debug)]
pub(crate) struct Issue {
    pub rule: &'static Rule,
    /// What the issue is about (`balancer lb`, `storage-users.region-b -> storage-lb`):
    /// the same thing keeps the same key across states and scenarios.
    pub key: String,
    /// As a standing condition: "balancer `lb` has one backend in rotation (web-01)".
    pub standing: String,
    /// As the effect of a change: "leaves balancer `lb` with one backend in rotation (web-01)".
    pub after: String,
    pub at: Option<Location>,
    pub help: Option<String>,
}

impl Issue {
    pub(crate) fn new(rule: &'static Rule, key: impl Into<String>, standing: impl Into<String>) -> Issue {
        let standing = standing.into();
        Issue { rule, key: key.into(), after: format!("makes it so: {standing}"), standing, at: None, help: None }
    }
    /// The words for the issue as a change's effect.
    pub(crate) fn after(mut self, after: impl Into<String>) -> Issue {
        self.after = after.into();
        self
    }
    pub(crate) fn at(mut self, at: Option<Location>) -> Issue {
        self.at = at;
        self
    }
    pub(crate) fn help(mut self, help: impl Into<String>) -> Issue {
        self.help = Some(help.into());
        self
    }
}

/// A timeline entry a finding is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRef {
    /// Index in the timeline.
    pub index: usize,
    /// The entry's `at` as written (`13:58`, `10m`).
    pub time: String,
    /// The entry's name, or what it changes (`balancer lb`).
    pub label: String,
}

/// One finding: a rule, a severity, a place and words.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: &'static Rule,
    /// The rule's severity, or another for this finding (a change's
    /// finding is raised to an error; one validation would block is a note).
    pub severity: Severity,
    pub message: String,
    pub help: String,
    pub place: Place,
    pub change: Option<ChangeRef>,
    /// What it is about, for matching findings across scenarios.
    pub key: String,
}

/// A checked scenario: its findings, and what `--against` compares.
pub struct Checked {
    pub source: ScenarioSource,
    pub findings: Vec<Finding>,
    /// The scenario, when it compiled.
    pub compiled: Option<(Scenario, World)>,
}

/// The counts of findings by severity.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Note => c.notes += 1,
            }
        }
        c
    }

    /// `check`'s exit status: 1 with an error (or, when `deny_warnings`, a warning).
    pub fn exit_code(self, deny_warnings: bool) -> i32 {
        i32::from(self.errors > 0 || (deny_warnings && self.warnings > 0))
    }
}

/// Reads, overrides and parses a scenario (any failure is unreadable input:
/// exit status 2), then compiles and checks it. A scenario that does not
/// compile is a finding of rule `SCN001`, not an error of the command.
pub fn check_file(path: &Path, sets: &[Override]) -> Result<Checked, Error> {
    let mut source = ScenarioSource::read(path)?;
    source.apply_overrides(sets)?;
    let scenario = crate::scenario::parse(&source)?;
    Ok(check_parsed(source, scenario))
}

/// Compiles and checks a parsed scenario.
pub fn check_parsed(source: ScenarioSource, scenario: Scenario) -> Checked {
    match crate::model::compile(&scenario, &source) {
        Ok(world) => {
            let findings = check_world(&world, &scenario, &source);
            Checked { source, findings, compiled: Some((scenario, world)) }
        }
        Err(e) => {
            let finding = compile_failure(&source, e);
            Checked { source, findings: vec![finding], compiled: None }
        }
    }
}

/// Every rule over a compiled world, in the order of the file: the standing
/// configuration first, then each timeline change in time order.
pub fn check_world(world: &World, scenario: &Scenario, source: &ScenarioSource) -> Vec<Finding> {
    let loc = Locator::new(world, scenario);
    let base = Snapshot::base(world);
    let mut issues = state_issues(world, &base, &loc);
    let keys: std::collections::HashSet<String> = issues.iter().map(|i| i.key.clone()).collect();
    issues.extend(balancers::standing(world, &loc));
    issues.extend(redundancy::check(world, &base, &loc));
    issues.extend(clients::check(world, &loc));
    issues.extend(monitoring::check(world, &loc));
    let mut findings: Vec<Finding> = world
        .warnings
        .iter()
        .map(|w| Issue::new(rules::COMPILER_WARNING, w.clone(), w.clone()))
        .chain(issues)
        .map(|i| standing_finding(source, i))
        .collect();
    findings.extend(timeline::check(world, &base, keys, &loc, source));
    findings
}

/// The rules that judge one state of the configuration: the standing one,
/// and the state after each timeline change.
pub(crate) fn state_issues(world: &World, snap: &Snapshot, loc: &Locator<'_>) -> Vec<Issue> {
    let mut out = balancers::state(world, snap, loc);
    out.extend(network::state(world, snap, loc));
    out.extend(capacity::state(world, snap, loc));
    out
}

fn standing_finding(source: &ScenarioSource, i: Issue) -> Finding {
    Finding {
        rule: i.rule,
        severity: i.rule.severity,
        place: Place::of(source, i.at),
        message: i.standing,
        help: i.help.unwrap_or_else(|| i.rule.help.to_string()),
        change: None,
        key: i.key,
    }
}

/// A compile error as a finding of `SCN001`, at the place the compiler named.
fn compile_failure(source: &ScenarioSource, e: Error) -> Finding {
    let (message, help, place) = match e {
        Error::Located(l) => {
            let place = Place::of_located(source, &l);
            (l.message.clone(), l.help.clone(), place)
        }
        other => (other.to_string(), None, Place::of(source, None)),
    };
    Finding {
        rule: rules::SCENARIO_INVALID,
        severity: Severity::Error,
        message,
        help: help.unwrap_or_else(|| rules::SCENARIO_INVALID.help.to_string()),
        place,
        change: None,
        key: "scenario".to_string(),
    }
}

/// `a, b, c` of at most `max` names, then "and N more".
pub(crate) fn list(names: &[String], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!("{} and {} more", names[..max].join(", "), names.len() - max)
}

/// A rate as people read it: `1,125/s`, `12.5/s`.
pub(crate) fn rate(per_sec: f64) -> String {
    if per_sec >= 100.0 {
        let digits = format!("{:.0}", per_sec);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{out}/s")
    } else {
        let t = format!("{per_sec:.1}");
        format!("{}/s", t.trim_end_matches(".0"))
    }
}
