//! The scenario's text, `--set` overrides applied to it, and the mapping from
//! a position in the effective text back to where the user wrote it.
//!
//! serde-saphyr deserialises straight into typed structs and has no value
//! tree to patch, so an override edits the YAML text itself: the scalar at
//! the path is replaced (or a missing key inserted) and the edit recorded.
//! Every diagnostic then points either at the file as the user wrote it or at
//! the `--set` argument that introduced the bad value.

use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use serde_saphyr::granit_parser::{Event, Parser, Span, StructureStyle};

use super::names;
use crate::error::{Error, Located, short_label};

/// One `--set path=value` argument.
#[derive(Clone, Debug)]
pub struct Override {
    /// The dotted path split into segments (`clients.web.rate`).
    pub path: Vec<String>,
    /// The value as typed.
    pub value: String,
    /// The whole argument, for messages.
    pub raw: String,
    /// The option it came from (`--set`; `--vary` for a sweep's point), for messages.
    pub flag: &'static str,
}

impl Override {
    /// Parses `path.to.field=value`.
    pub fn parse(arg: &str) -> Result<Override, Error> {
        let (path, value) = arg.split_once('=').ok_or_else(|| {
            Error::Usage(format!("--set {arg}: expected path=value, for example --set clients.web.rate=900/s"))
        })?;
        let path: Vec<String> = path.trim().split('.').map(|s| s.trim().to_string()).collect();
        if path.iter().any(|s| s.is_empty()) {
            return Err(Error::Usage(format!(
                "--set {arg}: the path has an empty segment; write names separated by dots, like clients.web.rate"
            )));
        }
        Ok(Override { path, value: value.trim().to_string(), raw: arg.to_string(), flag: "--set" })
    }

    /// `path=value` as if given by `flag` (a sweep's `--vary`, a search's
    /// `--find`), so messages about it name that option.
    pub fn from_flag(flag: &'static str, path: &str, value: &str) -> Result<Override, Error> {
        let mut ov = Override::parse(&format!("{path}={value}"))?;
        ov.flag = flag;
        Ok(ov)
    }

    /// The argument as the user would write it: `--set clients.web.rate=900/s`.
    pub fn shown(&self) -> String {
        format!("{} {}", self.flag, self.raw)
    }
}

/// Where a position in the effective text came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// A byte offset in the original file.
    File(usize),
    /// Inside the text written by override number `idx`.
    Override(usize),
}

/// One text edit: bytes `start..start+old_len` of the previous text became
/// `start..start+new_len`.
#[derive(Clone, Debug)]
struct Edit {
    start: usize,
    old_len: usize,
    new_len: usize,
    override_idx: usize,
}

/// A scenario file with overrides applied.
#[derive(Clone, Debug)]
pub struct ScenarioSource {
    pub path: PathBuf,
    /// The file's text as written.
    pub original: String,
    /// The text after `--set` overrides: what is deserialised.
    pub effective: String,
    overrides: Vec<Override>,
    edits: Vec<Edit>,
}

impl ScenarioSource {
    /// Reads a scenario file.
    pub fn read(path: &Path) -> Result<ScenarioSource, Error> {
        let original =
            std::fs::read_to_string(path).map_err(|reason| Error::Input { path: path.to_path_buf(), reason })?;
        Ok(ScenarioSource::from_text(path, original))
    }

    pub fn from_text(path: &Path, text: String) -> ScenarioSource {
        ScenarioSource {
            path: path.to_path_buf(),
            effective: text.clone(),
            original: text,
            overrides: Vec::new(),
            edits: Vec::new(),
        }
    }

    /// The file name as shown in messages.
    pub fn display_name(&self) -> String {
        self.path.display().to_string()
    }

    /// Directory that relative paths in the scenario are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
    }

    /// Applies `--set` overrides in order (a later one wins on the same path).
    pub fn apply_overrides(&mut self, overrides: &[Override]) -> Result<(), Error> {
        for ov in overrides {
            let idx = self.overrides.len();
            self.overrides.push(ov.clone());
            let edit = plan_edit(&self.effective, ov).map_err(|e| match e {
                EditError::Usage(msg) => Error::Usage(format!("{}: {msg}", ov.shown())),
                EditError::Path { message, help } => {
                    let path_len = ov.raw.find('=').unwrap_or(ov.raw.len());
                    self.override_error(idx, ov.flag.len() + 1..ov.flag.len() + 1 + path_len, message, help)
                }
            })?;
            self.effective.replace_range(edit.range.clone(), &edit.text);
            self.edits.push(Edit {
                start: edit.range.start,
                old_len: edit.range.len(),
                new_len: edit.text.len(),
                override_idx: idx,
            });
        }
        Ok(())
    }

    /// The single value written at a dotted path of the effective text (as
    /// written, quotes removed); `Ok(None)` when the path is absent, an
    /// error when it names a mapping or list or passes through a value.
    pub fn value_at(&self, path: &[String]) -> Result<Option<String>, String> {
        let root = parse_tree(&self.effective)?;
        let mut node = &root;
        for (depth, segment) in path.iter().enumerate() {
            let here = path[..depth].join(".");
            node = match node {
                Node::Map { entries, .. } => match entries.iter().find(|(k, _, _)| k == segment) {
                    Some((_, _, child)) => child,
                    None => return Ok(None),
                },
                Node::Seq { items, .. } => match segment.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(child) => child,
                    None => return Ok(None),
                },
                Node::Scalar { .. } => return Err(format!("`{here}` is a single value and has no field `{segment}`")),
                Node::Alias => return Err(format!("`{here}` is a YAML alias")),
            };
        }
        match node {
            Node::Scalar { start, end } => {
                let text = self.effective[*start..*end].trim();
                let unquoted = text
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
                    .unwrap_or(text);
                Ok(Some(unquoted.to_string()))
            }
            _ => Err("the path names a mapping or list, not a single value".to_string()),
        }
    }

    fn origin(&self, mut offset: usize) -> Origin {
        for edit in self.edits.iter().rev() {
            if offset >= edit.start && offset < edit.start + edit.new_len {
                return Origin::Override(edit.override_idx);
            }
            if offset >= edit.start + edit.new_len {
                offset = offset + edit.old_len - edit.new_len;
            }
        }
        Origin::File(offset)
    }

    /// A diagnostic at byte `offset` (length `len`) of the effective text.
    pub fn error_at(&self, offset: usize, len: usize, message: impl Into<String>, help: Option<String>) -> Error {
        let message = message.into();
        match self.origin(offset) {
            Origin::File(start) => {
                let start = start.min(self.original.len());
                let len = len.min(self.original.len() - start).max(usize::from(start < self.original.len()));
                let (line, col) = line_col(&self.original, start);
                Located {
                    label: short_label(&message),
                    message,
                    location: format!("{}:{line}:{col}", self.display_name()),
                    src: NamedSource::new(self.display_name(), self.original.clone()),
                    span: SourceSpan::new(start.into(), len),
                    help,
                }
                .into()
            }
            Origin::Override(idx) => {
                let ov = &self.overrides[idx];
                let value_start = ov.shown().len() - ov.value.len();
                self.override_error(idx, value_start..value_start + ov.value.len().max(1), message, help)
            }
        }
    }

    /// A diagnostic on override number `idx`, at bytes `span` of its
    /// `--set path=value` text.
    fn override_error(&self, idx: usize, span: std::ops::Range<usize>, message: String, help: Option<String>) -> Error {
        let ov = &self.overrides[idx];
        let text = ov.shown();
        Located {
            label: short_label(&message),
            message,
            location: text.clone(),
            src: NamedSource::new("command line", text),
            span: SourceSpan::new(span.start.into(), span.len()),
            help,
        }
        .into()
    }

    /// A diagnostic at a 1-based line and column of the effective text.
    pub fn error_at_line_col(
        &self,
        line: usize,
        col: usize,
        len: usize,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Error {
        let offset = offset_of_line_col(&self.effective, line, col);
        self.error_at(offset, len, message, help)
    }

    /// A diagnostic at a value deserialised with `serde_saphyr::Spanned`.
    pub fn error_at_location(
        &self,
        loc: &serde_saphyr::Location,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Error {
        let span = loc.span();
        match span.byte_offset() {
            Some(off) => self.error_at(off as usize, span.byte_len().unwrap_or(1) as usize, message, help),
            None => self.error_at_line_col(loc.line() as usize, loc.column() as usize, 1, message, help),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte offset of a 1-based line and column (in characters).
pub fn offset_of_line_col(text: &str, line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let within: usize = l.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum();
            return offset + within;
        }
        offset += l.len();
    }
    text.len()
}

// ---------------------------------------------------------------------------
// Locating the node at a path and planning the edit.

/// A parsed YAML node: only its shape and where it sits in the text.
#[derive(Debug)]
enum Node {
    Map {
        start: usize,
        end: usize,
        flow: bool,
        /// (key, byte offset of the key, value)
        entries: Vec<(String, usize, Node)>,
    },
    Seq {
        start: usize,
        end: usize,
        flow: bool,
        items: Vec<Node>,
    },
    Scalar {
        start: usize,
        end: usize,
    },
    /// An alias (`*name`): not editable in place.
    Alias,
}

struct PlannedEdit {
    range: std::ops::Range<usize>,
    text: String,
}

/// Why an override cannot be applied.
enum EditError {
    /// The path or the file is unusable (reported with the argument).
    Usage(String),
    /// The path names something that is not there, with a located hint.
    Path { message: String, help: Option<String> },
}

impl From<String> for EditError {
    fn from(message: String) -> EditError {
        EditError::Usage(message)
    }
}

fn byte_of(text: &str, marker: &serde_saphyr::granit_parser::Marker) -> usize {
    marker.byte_offset().unwrap_or_else(|| text.char_indices().nth(marker.index()).map_or(text.len(), |(b, _)| b))
}

fn parse_tree(text: &str) -> Result<Node, String> {
    let mut events: Vec<(Event<'_>, Span)> = Vec::new();
    for ev in Parser::new_from_str(text) {
        let ev = ev.map_err(|e| format!("the scenario is not valid YAML ({e}); fix the file first"))?;
        events.push(ev);
    }
    let mut pos = 0;
    // Skip to the first node of the first document.
    while pos < events.len()
        && !matches!(events[pos].0, Event::MappingStart(..) | Event::SequenceStart(..) | Event::Scalar(..))
    {
        pos += 1;
    }
    if pos >= events.len() {
        return Err("the scenario file is empty".to_string());
    }
    build_node(text, &events, &mut pos)
}

fn build_node(text: &str, events: &[(Event<'_>, Span)], pos: &mut usize) -> Result<Node, String> {
    skip_meta(events, pos);
    let Some((event, span)) = events.get(*pos) else {
        return Err("unexpected end of the scenario".to_string());
    };
    *pos += 1;
    match event {
        Event::Scalar(..) => Ok(Node::Scalar { start: byte_of(text, &span.start), end: byte_of(text, &span.end) }),
        Event::Alias(..) | Event::UnresolvedAlias(..) => Ok(Node::Alias),
        Event::SequenceStart(style, ..) => {
            let flow = matches!(style, StructureStyle::Flow);
            let start = byte_of(text, &span.start);
            let mut items = Vec::new();
            loop {
                skip_meta(events, pos);
                match events.get(*pos) {
                    Some((Event::SequenceEnd, end_span)) => {
                        *pos += 1;
                        let end = byte_of(text, &end_span.end);
                        return Ok(Node::Seq { start, end, flow, items });
                    }
                    Some(_) => items.push(build_node(text, events, pos)?),
                    None => return Err("unterminated sequence".to_string()),
                }
            }
        }
        Event::MappingStart(style, ..) => {
            let flow = matches!(style, StructureStyle::Flow);
            let start = byte_of(text, &span.start);
            let mut entries = Vec::new();
            loop {
                skip_meta(events, pos);
                match events.get(*pos) {
                    Some((Event::MappingEnd, end_span)) => {
                        *pos += 1;
                        let end = byte_of(text, &end_span.end);
                        return Ok(Node::Map { start, end, flow, entries });
                    }
                    Some((Event::Scalar(key, ..), key_span)) => {
                        let key = key.to_string();
                        let key_start = byte_of(text, &key_span.start);
                        *pos += 1;
                        let value = build_node(text, events, pos)?;
                        entries.push((key, key_start, value));
                    }
                    Some(_) => {
                        // A complex key: not addressable by a dotted path; skip key and value.
                        build_node(text, events, pos)?;
                        build_node(text, events, pos)?;
                    }
                    None => return Err("unterminated mapping".to_string()),
                }
            }
        }
        other => Err(format!("unexpected YAML event {other:?}")),
    }
}

/// Skips presentation-only events (anchors, comments).
fn skip_meta(events: &[(Event<'_>, Span)], pos: &mut usize) {
    while *pos < events.len() && matches!(events[*pos].0, Event::Anchor(..) | Event::Comment(..)) {
        *pos += 1;
    }
}

/// Writes a value as YAML: as typed when it is a safe plain scalar or a flow
/// collection (`{...}`, `[...]`), otherwise double-quoted.
fn yaml_value(value: &str) -> String {
    if value.starts_with('{') || value.starts_with('[') {
        return value.to_string();
    }
    let safe = !value.is_empty()
        && !value.starts_with([':', '%', '-', '?'])
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "._/%+-:".contains(c));
    let negative_number = value.starts_with('-') && value[1..].parse::<f64>().is_ok();
    if safe || negative_number {
        value.to_string()
    } else {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

/// Flow text for `rest` keys nested around `value`: `a: {b: v}`.
fn nested_entry(rest: &[String], value: &str) -> String {
    let mut text = yaml_value(value);
    for key in rest[1..].iter().rev() {
        text = format!("{{{}: {text}}}", yaml_value(key));
    }
    format!("{}: {text}", yaml_value(&rest[0]))
}

/// `--set servers.app.count=30` where there is no `app` but a range
/// `app-{01..24}`: say that a range has no count, and how to get one.
fn range_has_no_count(path: &[String], depth: usize, siblings: &[(String, usize, Node)]) -> Option<EditError> {
    let [section, group, field] = path else { return None };
    if depth != 1 || section != "servers" || field != "count" {
        return None;
    }
    let (key, count) = siblings.iter().find_map(|(key, _, _)| {
        let prefix = &key[..key.find('{')?];
        let named = prefix.trim_end_matches(['-', '_', '.']) == group;
        named.then(|| names::expand(key).ok().map(|v| (key, v.len()))).flatten()
    })?;
    Some(EditError::Path {
        message: format!(
            "there is no server group `{group}` to set a count on; `{key}` declares its servers by a range"
        ),
        help: Some(format!(
            "write `{group}: {{count: {count}, ...}}` in place of `{key}: {{...}}` to make the count settable"
        )),
    })
}

fn plan_edit(text: &str, ov: &Override) -> Result<PlannedEdit, EditError> {
    let root = parse_tree(text)?;
    let mut node = &root;
    for (depth, segment) in ov.path.iter().enumerate() {
        let here = ov.path[..depth].join(".");
        match node {
            Node::Map { start, flow, entries, .. } => match entries.iter().find(|(k, _, _)| k == segment) {
                Some((_, _, child)) => node = child,
                None => {
                    if let Some(hint) = range_has_no_count(&ov.path, depth, entries) {
                        return Err(hint);
                    }
                    let existing: Vec<&str> = entries.iter().map(|(k, _, _)| k.as_str()).collect();
                    super::paths::may_add(&ov.path, depth, &existing)
                        .map_err(|(message, help)| EditError::Path { message, help })?;
                    // Insert the missing key (and any missing levels below it).
                    let entry = nested_entry(&ov.path[depth..], &ov.value);
                    return Ok(if *flow {
                        let after_brace = start + 1;
                        let text_ins = if entries.is_empty() { entry } else { format!("{entry}, ") };
                        PlannedEdit { range: after_brace..after_brace, text: text_ins }
                    } else {
                        let first_key = entries.first().map(|e| e.1).ok_or_else(|| "empty mapping".to_string())?;
                        let line_start = text[..first_key].rfind('\n').map_or(0, |i| i + 1);
                        let indent = text[line_start..first_key].chars().count();
                        PlannedEdit { range: first_key..first_key, text: format!("{entry}\n{}", " ".repeat(indent)) }
                    });
                }
            },
            Node::Seq { items, .. } => {
                let index: usize = segment
                    .parse()
                    .map_err(|_| format!("`{here}` is a list: address an item by its index, like {here}.0"))?;
                node = items
                    .get(index)
                    .ok_or_else(|| format!("`{here}` has {} items; index {index} is out of range", items.len()))?;
            }
            Node::Scalar { .. } => {
                return Err(format!("`{here}` is a single value and has no field `{segment}`").into());
            }
            Node::Alias => {
                return Err(format!("`{here}` is a YAML alias; edit the anchored value instead").into());
            }
        }
    }
    match node {
        Node::Scalar { start, end } => Ok(PlannedEdit { range: *start..*end, text: yaml_value(&ov.value) }),
        Node::Alias => Err("the path names a YAML alias; set the anchored value instead".to_string().into()),
        // A flow collection (`{...}` or `[...]`) can be replaced by a flow value.
        Node::Map { start, end, flow: true, .. } | Node::Seq { start, end, flow: true, .. }
            if ov.value.starts_with(['{', '[']) =>
        {
            Ok(PlannedEdit { range: *start..*end, text: ov.value.clone() })
        }
        _ => Err("the path names a mapping or list, not a single value; set one of its fields".to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, sets: &[&str]) -> Result<String, String> {
        let mut src = ScenarioSource::from_text(Path::new("s.yaml"), text.to_string());
        let ovs: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
        src.apply_overrides(&ovs).map_err(|e| e.to_string())?;
        Ok(src.effective)
    }

    const DOC: &str = "# a comment\nname: demo  # trailing\nclients:\n  web:\n    # about the rate\n    rate: 100/s\n    target: edge\nservers:\n  s1: {workers: 2, service: {constant: 5ms}}\nlist: [a, b]\n";

    #[test]
    fn replaces_block_and_flow_scalars() {
        let out = apply(DOC, &["clients.web.rate=900/s", "servers.s1.workers=4", "list.1=c"]).unwrap();
        assert!(out.contains("rate: 900/s\n"), "{out}");
        assert!(out.contains("{workers: 4, service"), "{out}");
        assert!(out.contains("[a, c]"), "{out}");
    }

    #[test]
    fn inserts_missing_keys_in_block_and_flow_maps() {
        let out = apply(DOC, &["clients.web.timeout=2s", "servers.s1.queue_limit=10", "seed=7"]).unwrap();
        assert!(out.contains("  web:\n    # about the rate\n    timeout: 2s\n    rate: 100/s"), "{out}");
        assert!(out.contains("{queue_limit: 10, workers: 2"), "{out}");
        assert!(out.starts_with("# a comment\nseed: 7\nname: demo"), "{out}");
        let nested = apply(DOC, &["clients.web.retry.attempts=3"]).unwrap();
        assert!(nested.contains("retry: {attempts: 3}"), "{nested}");
    }

    #[test]
    fn quotes_values_that_are_not_plain() {
        let out = apply(DOC, &["name=two words: yes"]).unwrap();
        assert!(out.contains("name: \"two words: yes\""), "{out}");
        let out = apply(DOC, &["servers.s1.service={exponential: 9ms}"]).unwrap();
        assert!(out.contains("service: {exponential: 9ms}"), "{out}");
    }

    #[test]
    fn rejects_paths_through_values_and_bad_indices() {
        assert!(apply(DOC, &["name.x=1"]).unwrap_err().contains("single value"));
        assert!(apply(DOC, &["list.5=1"]).unwrap_err().contains("out of range"));
        assert!(apply(DOC, &["clients=1"]).unwrap_err().contains("not a single value"));
        assert!(Override::parse("novalue").is_err());
        assert!(Override::parse("a..b=1").is_err());
    }

    #[test]
    fn errors_map_back_to_file_or_override() {
        let mut src = ScenarioSource::from_text(Path::new("s.yaml"), DOC.to_string());
        src.apply_overrides(&[Override::parse("clients.web.timeout=2s").unwrap()]).unwrap();
        // `target` is on line 7 of the original and line 8 of the effective text.
        let eff = src.effective.find("target").unwrap();
        let err = src.error_at(eff, 6, "bad target", None);
        assert!(err.to_string().starts_with("s.yaml:7:5: bad target"), "{err}");
        let ins = src.effective.find("2s").unwrap();
        let err = src.error_at(ins, 2, "bad timeout", None);
        assert!(err.to_string().starts_with("--set clients.web.timeout=2s: bad timeout"), "{err}");
    }

    #[test]
    fn reads_the_value_at_a_path() {
        let src = ScenarioSource::from_text(Path::new("s.yaml"), DOC.to_string());
        let at = |p: &str| src.value_at(&p.split('.').map(String::from).collect::<Vec<_>>());
        assert_eq!(at("clients.web.rate").unwrap().as_deref(), Some("100/s"));
        assert_eq!(at("servers.s1.workers").unwrap().as_deref(), Some("2"));
        assert_eq!(at("list.1").unwrap().as_deref(), Some("b"));
        assert_eq!(at("clients.web.timeout").unwrap(), None);
        assert!(at("clients.web").unwrap_err().contains("mapping"));
        assert!(at("name.x").unwrap_err().contains("single value"));
    }

    #[test]
    fn sets_the_count_of_a_server_group() {
        let doc = "servers:\n  app: {count: 24, service: {constant: 5ms}}\n  db:\n    count: 2\n    service: {constant: 5ms}\n  web-{01..04}: {service: {constant: 5ms}}\n";
        let out = apply(doc, &["servers.app.count=30", "servers.db.count=3"]).unwrap();
        assert!(out.contains("  app: {count: 30, service"), "{out}");
        assert!(out.contains("  db:\n    count: 3\n"), "{out}");
        // A plain server key gains a count.
        let out = apply("servers:\n  app: {service: {constant: 5ms}}\n", &["servers.app.count=4"]).unwrap();
        assert_eq!(out, "servers:\n  app: {count: 4, service: {constant: 5ms}}\n");
    }

    #[test]
    fn setting_the_count_of_a_range_says_how_to_declare_a_group() {
        let doc = "servers:\n  app-{01..24}: {service: {constant: 5ms}}\n";
        let err = apply(doc, &["servers.app.count=30"]).unwrap_err();
        assert_eq!(
            err,
            "--set servers.app.count=30: there is no server group `app` to set a count on; \
             `app-{01..24}` declares its servers by a range"
        );
        let mut src = ScenarioSource::from_text(Path::new("s.yaml"), doc.to_string());
        let Err(Error::Located(e)) = src.apply_overrides(&[Override::parse("servers.app.count=30").unwrap()]) else {
            panic!("expected a located error");
        };
        assert_eq!(
            e.help.as_deref(),
            Some("write `app: {count: 24, ...}` in place of `app-{01..24}: {...}` to make the count settable")
        );
        // The snippet underlines the path.
        assert_eq!((e.span.offset(), e.span.len()), (6, 17));
        // A server the file does not declare is not added.
        let err = apply(doc, &["servers.app.workers=3"]).unwrap_err();
        assert!(err.starts_with("--set servers.app.workers=3: there is no server `app` in `servers`"), "{err}");
        assert!(apply(doc, &["servers.db.count=3"]).is_err());
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(offset_of_line_col("ab\ncd", 2, 2), 4);
    }
}
