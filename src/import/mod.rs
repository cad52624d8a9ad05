//! Production in, scenario out: `lbsim import` reads a balancer's own
//! configuration (NGINX, HAProxy, Envoy, Kubernetes objects, a Linux routing
//! table) and access logs, and writes a scenario whose every value says in a
//! comment where it came from (file:line).
//!
//! One file per input format reads it into a [`Draft`] (balancers, servers,
//! client groups, a network, and what was not modelled, located);
//! `assemble` turns the draft into the scenario's YAML tree ([`doc`]), puts
//! in what configs do not hold (load, service times) from the access log,
//! the flags, an overlay file and, last, marked placeholders, and checks
//! that the result compiles before anything is written.
//!
//! Stage: beside `commands`. It produces scenario text and checks it with
//! `model`; nothing below imports it.

pub(crate) mod accesslog;
mod assemble;
pub(crate) mod doc;
pub(crate) mod envoy;
pub(crate) mod haproxy;
pub(crate) mod iproute;
pub(crate) mod kubernetes;
pub(crate) mod nginx;
#[cfg(test)]
mod testing;
pub(crate) mod tree;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use crate::error::{Error, Located, short_label};
use doc::Item;

pub(crate) use assemble::{Options, assemble, validate};

/// An input file and its text.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    /// As shown in comments and messages (the path as given).
    pub(crate) name: Arc<str>,
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub(crate) fn read(path: &Path) -> Result<SourceFile, Error> {
        let bytes = std::fs::read(path).map_err(|reason| Error::Input { path: path.to_path_buf(), reason })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            Error::Usage(format!("{}:{line}: the file is not UTF-8 text", path.display()))
        })?;
        let mut f = SourceFile::new(&path.display().to_string(), text);
        f.path = path.to_path_buf();
        Ok(f)
    }

    pub(crate) fn new(name: &str, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile { name: Arc::from(name), path: PathBuf::from(name), text, line_starts }
    }

    /// Where byte `offset` is.
    pub(crate) fn origin(&self, offset: usize) -> Origin {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        Origin { file: self.name.clone(), line: line as u32, col: col as u32, offset }
    }

    /// A located error at byte `offset` (exit status 2).
    pub(crate) fn error_at(&self, offset: usize, message: impl Into<String>, help: Option<String>) -> Error {
        let at = self.origin(offset);
        self.error_at_origin(&at, message, help)
    }

    /// A located error at `at`, which must be in this file.
    pub(crate) fn error_at_origin(&self, at: &Origin, message: impl Into<String>, help: Option<String>) -> Error {
        let message = message.into();
        let rest = &self.text[at.offset.min(self.text.len())..];
        let len = match rest.strip_prefix('"') {
            // A quoted value: up to its closing quote.
            Some(inner) => inner.find('"').map_or(rest.len(), |i| i + 2),
            None => rest.find(|c: char| c.is_whitespace() || ";,}]".contains(c)).unwrap_or(rest.len()),
        }
        .max(usize::from(at.offset < self.text.len()));
        Located {
            label: short_label(&message),
            message,
            location: at.to_string(),
            src: NamedSource::new(&self.name, self.text.clone()),
            span: SourceSpan::new(at.offset.min(self.text.len()).into(), len),
            help,
        }
        .into()
    }
}

/// A located error at `at` when the file is no longer at hand: the text is
/// read again for the snippet (or left out when it cannot be).
pub(crate) fn error_at(at: &Origin, message: impl Into<String>) -> Error {
    let text = std::fs::read_to_string(at.file.as_ref()).unwrap_or_default();
    let mut file = SourceFile::new(&at.file, text);
    if file.text.len() < at.offset {
        file.text.clear();
    }
    let mut err_at = at.clone();
    err_at.offset = err_at.offset.min(file.text.len());
    file.error_at_origin(&err_at, message, None)
}

/// A place in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) file: Arc<str>,
    /// 1-based.
    pub(crate) line: u32,
    /// 1-based, in characters.
    pub(crate) col: u32,
    /// Byte offset, for snippets.
    pub(crate) offset: usize,
}

impl Origin {
    /// `file:line`, as comments in the written scenario show it.
    pub(crate) fn short(&self) -> String {
        let file = Path::new(self.file.as_ref())
            .file_name()
            .map_or_else(|| self.file.to_string(), |n| n.to_string_lossy().into_owned());
        format!("{file}:{}", self.line)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How far an input construct made it into the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// lbsim does not model it: left out (an error with `--strict`).
    Unsupported,
    /// Mapped to the closest thing lbsim has, which behaves differently in
    /// a way the message names.
    Approximated,
}

/// Something in the input the scenario does not reproduce exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) at: Origin,
    /// The construct as written, e.g. `sticky cookie srv_id`.
    pub(crate) what: String,
    /// Why, and what lbsim does instead.
    pub(crate) why: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Unsupported => "unsupported",
            Severity::Approximated => "approximated",
        };
        write!(f, "{kind}: `{}` at {} ({})", self.what, self.at, self.why)
    }
}

/// What an import could not carry over, and what it passed over on purpose.
#[derive(Clone, Debug, Default)]
pub(crate) struct Findings {
    pub(crate) list: Vec<Finding>,
    /// Directives that do not bear on what lbsim simulates (TLS, logging,
    /// MIME types...), by name, with where they are.
    pub(crate) ignored: Vec<(String, Origin)>,
    /// Remarks that are not about one place (placeholders used, names seen
    /// in a log and not in the configuration).
    pub(crate) notes: Vec<String>,
}

impl Findings {
    pub(crate) fn unsupported(&mut self, at: &Origin, what: impl Into<String>, why: impl Into<String>) {
        self.push(Severity::Unsupported, at, what, why);
    }

    pub(crate) fn approximated(&mut self, at: &Origin, what: impl Into<String>, why: impl Into<String>) {
        self.push(Severity::Approximated, at, what, why);
    }

    fn push(&mut self, severity: Severity, at: &Origin, what: impl Into<String>, why: impl Into<String>) {
        let f = Finding { severity, at: at.clone(), what: what.into(), why: why.into() };
        if !self.list.contains(&f) {
            self.list.push(f);
        }
    }

    pub(crate) fn ignore(&mut self, what: impl Into<String>, at: &Origin) {
        self.ignored.push((what.into(), at.clone()));
    }

    pub(crate) fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// The findings `--strict` refuses.
    pub(crate) fn unsupported_count(&self) -> usize {
        self.list.iter().filter(|f| f.severity == Severity::Unsupported).count()
    }
}

/// Where a value in the written scenario came from: its comment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Provenance {
    /// A place in an input, and the construct there as written.
    Input(Origin, String),
    /// The input format's default for something the input leaves out.
    Default(String),
    /// A command-line flag.
    Flag(String),
    /// Measured from an access log.
    Measured(String),
    /// Nothing held it: a stand-in to replace.
    Placeholder(String),
    /// No comment.
    Nothing,
}

impl Provenance {
    pub(crate) fn at(at: &Origin, text: impl Into<String>) -> Provenance {
        Provenance::Input(at.clone(), text.into())
    }

    /// The comment written beside the value.
    pub(crate) fn comment(&self) -> Option<String> {
        match self {
            Provenance::Input(at, text) if text.is_empty() => Some(at.short()),
            Provenance::Input(at, text) => Some(format!("{} {}", at.short(), squeeze(text, 90))),
            Provenance::Default(text) => Some(text.clone()),
            Provenance::Flag(flag) => Some(format!("from {flag}")),
            Provenance::Measured(text) => Some(text.clone()),
            Provenance::Placeholder(text) => Some(format!("PLACEHOLDER: {text}")),
            Provenance::Nothing => None,
        }
    }
}

/// `text` on one line, at most `max` characters.
fn squeeze(text: &str, max: usize) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        one
    } else {
        let cut: String = one.chars().take(max - 3).collect();
        format!("{cut}...")
    }
}

/// A scalar value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Val {
    pub(crate) text: String,
    pub(crate) from: Provenance,
}

impl Val {
    pub(crate) fn new(text: impl Into<String>, from: Provenance) -> Val {
        Val { text: text.into(), from }
    }

    pub(crate) fn item(&self) -> Item {
        Item::scalar(self.text.clone(), self.from.comment())
    }
}

/// One backend of an imported balancer.
#[derive(Clone, Debug)]
pub(crate) struct BackendDraft {
    /// The server's name in the scenario.
    pub(crate) server: String,
    pub(crate) from: Provenance,
    pub(crate) weight: Option<Val>,
    /// Used only when no primary backend is usable.
    pub(crate) backup: Option<Provenance>,
    /// Out of rotation (NGINX `down`, HAProxy `disabled`, a pod not ready):
    /// written as weight 0.
    pub(crate) out: Option<Provenance>,
}

/// An imported balancer.
#[derive(Clone, Debug)]
pub(crate) struct BalancerDraft {
    pub(crate) name: String,
    pub(crate) from: Provenance,
    /// `algorithm`, `choices`, `vnodes`, `health_check`,
    /// `outlier_detection`, ... in the order they are written.
    pub(crate) fields: Item,
    pub(crate) backends: Vec<BackendDraft>,
}

impl BalancerDraft {
    pub(crate) fn new(name: impl Into<String>, from: Provenance) -> BalancerDraft {
        BalancerDraft { name: name.into(), from, fields: Item::map(None), backends: Vec::new() }
    }

    pub(crate) fn set(&mut self, key: &str, val: Val) {
        self.fields.set(key, val.item());
    }

    pub(crate) fn backend(&self, server: &str) -> Option<&BackendDraft> {
        self.backends.iter().find(|b| b.server == server)
    }
}

/// An imported server.
#[derive(Clone, Debug)]
pub(crate) struct ServerDraft {
    pub(crate) name: String,
    pub(crate) from: Provenance,
    /// `workers`, `queue_limit`, `service`, ...
    pub(crate) fields: Item,
    /// Other names an access log may give it (`10.0.0.1:8080`, the HAProxy
    /// `backend/server` pair).
    pub(crate) aliases: Vec<String>,
}

impl ServerDraft {
    pub(crate) fn new(name: impl Into<String>, from: Provenance) -> ServerDraft {
        ServerDraft { name: name.into(), from, fields: Item::map(None), aliases: Vec::new() }
    }
}

/// An imported client group: who sends to which balancer, with the
/// retries and deadline the proxy configuration implies.
#[derive(Clone, Debug)]
pub(crate) struct ClientDraft {
    pub(crate) name: String,
    pub(crate) from: Provenance,
    /// Balancers and, with several, each one's weight.
    pub(crate) targets: Vec<(String, Option<Val>)>,
    /// `timeout`, `retry`, ... (the load comes later).
    pub(crate) fields: Item,
}

impl ClientDraft {
    pub(crate) fn new(name: impl Into<String>, target: &str, from: Provenance) -> ClientDraft {
        ClientDraft { name: name.into(), from, targets: vec![(target.to_string(), None)], fields: Item::map(None) }
    }
}

/// What an importer read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Draft {
    /// `nginx`, `haproxy`, ...: for the header.
    pub(crate) kind: String,
    /// The input files, as given.
    pub(crate) files: Vec<String>,
    pub(crate) balancers: Vec<BalancerDraft>,
    pub(crate) servers: Vec<ServerDraft>,
    pub(crate) clients: Vec<ClientDraft>,
    /// A `network:` section (routes).
    pub(crate) network: Option<Item>,
    /// Top-level fields other than the sections (`start`, `duration`).
    pub(crate) top: Vec<(String, Val)>,
    pub(crate) findings: Findings,
}

impl Draft {
    pub(crate) fn new(kind: &str) -> Draft {
        Draft { kind: kind.to_string(), ..Draft::default() }
    }

    pub(crate) fn server(&self, name: &str) -> Option<&ServerDraft> {
        self.servers.iter().find(|s| s.name == name)
    }

    pub(crate) fn server_mut(&mut self, name: &str) -> Option<&mut ServerDraft> {
        self.servers.iter_mut().find(|s| s.name == name)
    }

    /// Adds a server unless one of that name exists; returns its name.
    pub(crate) fn add_server(&mut self, server: ServerDraft) -> String {
        let name = server.name.clone();
        if self.server(&name).is_none() {
            self.servers.push(server);
        }
        name
    }

    /// A client-group name no group has yet, from `base` (a group may share
    /// its balancer's name).
    pub(crate) fn fresh_client_name(&self, base: &str) -> String {
        let taken = |n: &str| self.clients.iter().any(|c| c.name == n);
        if !taken(base) {
            return base.to_string();
        }
        (2..).map(|i| format!("{base}-{i}")).find(|n| !taken(n)).expect("some suffix is free")
    }

    /// A name no balancer, server or client group has yet, from `base`.
    pub(crate) fn fresh_name(&self, base: &str) -> String {
        let taken = |n: &str| {
            self.balancers.iter().any(|b| b.name == n)
                || self.servers.iter().any(|s| s.name == n)
                || self.clients.iter().any(|c| c.name == n)
        };
        if !taken(base) {
            return base.to_string();
        }
        (2..).map(|i| format!("{base}-{i}")).find(|n| !taken(n)).expect("some suffix is free")
    }
}

/// A name lbsim accepts (letters, digits, `-`, `_`) made from `raw`: other
/// characters become `-`, runs of them one.
pub(crate) fn entity_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "unnamed".to_string() } else { out }
}

/// A duration as lbsim writes it (`1500ms`, `10s`, `2m`), from milliseconds.
pub(crate) fn duration_ms(ms: f64) -> String {
    let ms = ms.max(0.0);
    if ms == 0.0 {
        return "0".to_string();
    }
    if ms >= 60_000.0 && (ms % 60_000.0).abs() < 1e-9 {
        format!("{}m", (ms / 60_000.0) as u64)
    } else if ms >= 1000.0 && (ms % 1000.0).abs() < 1e-9 {
        format!("{}s", (ms / 1000.0) as u64)
    } else if ms >= 1.0 && (ms.fract()).abs() < 1e-9 {
        format!("{}ms", ms as u64)
    } else {
        let us = (ms * 1000.0).round();
        format!("{}us", us.max(1.0) as u64)
    }
}

/// A share as a percentage (`50%`, `12.5%`).
pub(crate) fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    let rounded = (p * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 { format!("{}%", rounded as i64) } else { format!("{rounded}%") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_count_lines_and_characters() {
        let f = SourceFile::new("dir/a.conf", "ab\ncé d\n".to_string());
        let o = f.origin(f.text.find('d').unwrap());
        assert_eq!((o.line, o.col), (2, 4));
        assert_eq!(o.to_string(), "dir/a.conf:2:4");
        assert_eq!(o.short(), "a.conf:2");
        let e = f.error_at(4, "bad", None);
        assert_eq!(e.to_string(), "dir/a.conf:2:2: bad");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn names_and_units_are_written_as_lbsim_reads_them() {
        assert_eq!(entity_name("10.0.0.1:8080"), "10-0-0-1-8080");
        assert_eq!(entity_name("unix:/var/run/app.sock"), "unix-var-run-app-sock");
        assert_eq!(entity_name("***"), "unnamed");
        assert_eq!(duration_ms(10_000.0), "10s");
        assert_eq!(duration_ms(120_000.0), "2m");
        assert_eq!(duration_ms(1500.0), "1500ms");
        assert_eq!(duration_ms(0.25), "250us");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.125), "12.5%");
    }

    #[test]
    fn findings_read_as_the_issue_asks() {
        let f = SourceFile::new("nginx.conf", "        x\n".repeat(50));
        let mut fs = Findings::default();
        fs.unsupported(&f.origin(f.line_starts[41] + 4), "sticky cookie srv_id", "lbsim has no session persistence");
        assert_eq!(
            fs.list[0].to_string(),
            "unsupported: `sticky cookie srv_id` at nginx.conf:42:5 (lbsim has no session persistence)"
        );
        assert_eq!(fs.unsupported_count(), 1);
    }
}
