//! `lbsim check`'s text and JSON output, and the rule catalogue as text.
//! Text renders each finding as `run`'s errors are rendered (miette, with
//! the snippet and its span), then the rule's why; JSON is one object with
//! every finding and the counts.

use std::fmt;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use super::rules::{self, Rule};
use super::{Counts, Finding, Severity};

/// A finding as a miette diagnostic over the scenario's text.
struct Shown<'a> {
    finding: &'a Finding,
    src: Option<NamedSource<String>>,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.finding;
        write!(f, "{}[{}]: {}: {}", x.severity, x.rule.id, x.place.shown, x.message)
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Shown<'_> {}

impl Diagnostic for Shown<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.finding.help))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, len) = self.finding.place.span?;
        self.src.as_ref()?;
        let label =
            LabeledSpan::new_with_span(Some(self.finding.rule.name.to_string()), SourceSpan::new(offset.into(), len));
        Some(Box::new(std::iter::once(label)))
    }
}

/// The findings as text: each with its snippet, help and why, then a count.
/// `text` is the scenario file as written; `color` for a terminal.
pub fn text(file: &str, original: &str, findings: &[Finding], color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_wrap_lines(false).with_links(false);
    let mut out = String::new();
    for f in findings {
        let src = f.place.span.map(|_| NamedSource::new(file, original.to_string()));
        let shown = Shown { finding: f, src };
        let mut block = String::new();
        if handler.render_report(&mut block, &shown).is_err() {
            block = format!("{shown}\n  help: {}\n", f.help);
        }
        out.push_str(block.trim_end());
        out.push_str(&format!("\n  why: {}\n\n", f.rule.why));
    }
    out.push_str(&summary_line(file, Counts::of(findings)));
    out.push('\n');
    out
}

/// `scenarios/x.yaml: 1 error, 2 warnings, 0 notes`.
pub fn summary_line(file: &str, c: Counts) -> String {
    let n = |k: usize, w: &str| format!("{k} {w}{}", if k == 1 { "" } else { "s" });
    format!("{file}: {}, {}, {}", n(c.errors, "error"), n(c.warnings, "warning"), n(c.notes, "note"))
}

/// One line for `lbsim run`'s stderr: `warning[CAP002] file:l:c: message`.
pub fn one_line(f: &Finding) -> String {
    format!("{}[{}] {}: {}", f.severity, f.rule.id, f.place.shown, f.message)
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    name: &'a str,
    family: &'a str,
    severity: &'a str,
    message: &'a str,
    file: &'a str,
    /// 1-based; 0 when the finding is about the file as a whole.
    line: usize,
    column: usize,
    /// The timeline entry's time as written, for a change's finding.
    time: Option<&'a str>,
    /// The timeline entry's name or target, for a change's finding.
    change: Option<&'a str>,
    why: &'a str,
    help: &'a str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: &'a str,
    baseline: Option<&'a str>,
    findings: Vec<JsonFinding<'a>>,
    errors: usize,
    warnings: usize,
    notes: usize,
    exit_code: i32,
}

/// The findings as one JSON object (`--format json`).
pub fn json(file: &str, baseline: Option<&str>, findings: &[Finding], exit_code: i32) -> String {
    let c = Counts::of(findings);
    let report = JsonReport {
        file,
        baseline,
        findings: findings
            .iter()
            .map(|f| JsonFinding {
                rule: f.rule.id,
                name: f.rule.name,
                family: f.rule.family.name(),
                severity: f.severity.name(),
                message: &f.message,
                file: &f.place.file,
                line: f.place.line,
                column: f.place.column,
                time: f.change.as_ref().map(|c| c.time.as_str()),
                change: f.change.as_ref().map(|c| c.label.as_str()),
                why: f.rule.why,
                help: &f.help,
            })
            .collect(),
        errors: c.errors,
        warnings: c.warnings,
        notes: c.notes,
        exit_code,
    };
    let mut s = serde_json::to_string_pretty(&report).expect("plain data serialises");
    s.push('\n');
    s
}

/// The catalogue, one rule a line (`--list-rules`, `lbsim list rules`).
pub fn catalogue() -> String {
    let mut out = String::new();
    for r in rules::ALL {
        out.push_str(&rule_line(r));
        out.push('\n');
    }
    out
}

fn rule_line(r: &Rule) -> String {
    format!("{}  {:<24} {:<8} {}", r.id, r.name, r.severity.name(), r.summary)
}

/// The catalogue with each rule's why and help (`--list-rules --format text` long form).
pub fn catalogue_long() -> String {
    let mut out = String::new();
    for r in rules::ALL {
        out.push_str(&format!("{}\n    why: {}\n    help: {}\n", rule_line(r), r.why, r.help));
    }
    out
}
