//! A YAML (or JSON) document as a tree whose every node knows its line and
//! column: what the Envoy, Kubernetes and `ip -j route` importers walk, and
//! what an `--overlay` file is read into.
//!
//! serde-saphyr deserialises into typed structs, which would either reject
//! the hundreds of fields a real Envoy or Kubernetes object has or drop them
//! silently; an importer must instead see every key, map the ones lbsim
//! models and report the rest where they are. So the text is read with the
//! YAML parser serde-saphyr itself uses (granit-parser, already a
//! dependency), whose events carry positions.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

use super::{Origin, SourceFile};
use crate::error::Error;

/// One node with where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    pub(crate) at: Origin,
    pub(crate) node: TreeNode,
}

#[derive(Clone, Debug)]
pub(crate) enum TreeNode {
    /// A scalar after escape processing; `quoted` when written in quotes
    /// (so `"80"` is text, `80` a number).
    Scalar {
        text: String,
        quoted: bool,
    },
    /// Keys in file order, each with its own position.
    Map {
        entries: Vec<(String, Origin, Tree)>,
        flow: bool,
    },
    Seq {
        items: Vec<Tree>,
        flow: bool,
    },
    /// `~`, `null` or an empty value.
    Null,
}

impl Tree {
    /// The value of `key` when this is a mapping that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Tree> {
        match &self.node {
            TreeNode::Map { entries, .. } => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub(crate) fn entries(&self) -> &[(String, Origin, Tree)] {
        match &self.node {
            TreeNode::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    /// The items of a sequence (empty for anything else).
    pub(crate) fn items(&self) -> &[Tree] {
        match &self.node {
            TreeNode::Seq { items, .. } => items,
            _ => &[],
        }
    }

    /// The text of a scalar.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.node {
            TreeNode::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub(crate) fn is_map(&self) -> bool {
        matches!(self.node, TreeNode::Map { .. })
    }

    pub(crate) fn is_seq(&self) -> bool {
        matches!(self.node, TreeNode::Seq { .. })
    }

    /// A scalar as a whole number.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        self.text()?.trim().parse().ok()
    }

    /// A scalar as a number.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        self.text()?.trim().parse::<f64>().ok().filter(|x| x.is_finite())
    }

    /// A scalar as a boolean (`true`/`false`).
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.text()?.trim() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// Follows `path` through nested mappings.
    pub(crate) fn path(&self, path: &[&str]) -> Option<&Tree> {
        let mut node = self;
        for key in path {
            node = node.get(key)?;
        }
        Some(node)
    }
}

/// Every document of a YAML stream (a JSON file is one document).
pub(crate) fn parse_documents(file: &SourceFile) -> Result<Vec<Tree>, Error> {
    let text = &file.text;
    let mut events: Vec<(Event<'_>, Span)> = Vec::new();
    for ev in Parser::new_from_str(text) {
        match ev {
            Ok(ev) => events.push(ev),
            Err(e) => {
                let m = e.marker();
                let offset = m.byte_offset().unwrap_or_else(|| char_to_byte(text, m.index()));
                return Err(file.error_at(offset, format!("not valid YAML or JSON: {}", e.info()), None));
            }
        }
    }
    let mut docs = Vec::new();
    let mut pos = 0;
    while pos < events.len() {
        match &events[pos].0 {
            Event::DocumentStart(..) => {
                pos += 1;
                skip_meta(&events, &mut pos);
                if matches!(events.get(pos).map(|e| &e.0), Some(Event::DocumentEnd)) {
                    pos += 1;
                    continue;
                }
                let tree = build(file, &events, &mut pos)?;
                if !matches!(tree.node, TreeNode::Null) {
                    docs.push(tree);
                }
            }
            _ => pos += 1,
        }
    }
    Ok(docs)
}

fn char_to_byte(text: &str, index: usize) -> usize {
    text.char_indices().nth(index).map_or(text.len(), |(b, _)| b)
}

fn byte_of(text: &str, marker: &serde_saphyr::granit_parser::Marker) -> usize {
    marker.byte_offset().unwrap_or_else(|| char_to_byte(text, marker.index()))
}

fn skip_meta(events: &[(Event<'_>, Span)], pos: &mut usize) {
    while *pos < events.len() && matches!(events[*pos].0, Event::Anchor(..) | Event::Comment(..)) {
        *pos += 1;
    }
}

fn build(file: &SourceFile, events: &[(Event<'_>, Span)], pos: &mut usize) -> Result<Tree, Error> {
    skip_meta(events, pos);
    let Some((event, span)) = events.get(*pos) else {
        return Err(file.error_at(file.text.len(), "the document ends in the middle of a value", None));
    };
    let offset = byte_of(&file.text, &span.start);
    let at = file.origin(offset);
    *pos += 1;
    let node = match event {
        Event::Scalar(value, style, _, _) => scalar(value, *style),
        Event::Alias(..) | Event::UnresolvedAlias(..) => {
            return Err(file.error_at(
                offset,
                "YAML aliases (`*name`) are not supported in imported files",
                Some("write the value out in full".into()),
            ));
        }
        Event::SequenceStart(style, ..) => {
            let flow = matches!(style, serde_saphyr::granit_parser::StructureStyle::Flow);
            let mut items = Vec::new();
            loop {
                skip_meta(events, pos);
                match events.get(*pos) {
                    Some((Event::SequenceEnd, _)) => {
                        *pos += 1;
                        break;
                    }
                    Some(_) => items.push(build(file, events, pos)?),
                    None => return Err(file.error_at(file.text.len(), "a list is not closed", None)),
                }
            }
            TreeNode::Seq { items, flow }
        }
        Event::MappingStart(style, ..) => {
            let flow = matches!(style, serde_saphyr::granit_parser::StructureStyle::Flow);
            let mut entries: Vec<(String, Origin, Tree)> = Vec::new();
            loop {
                skip_meta(events, pos);
                match events.get(*pos) {
                    Some((Event::MappingEnd, _)) => {
                        *pos += 1;
                        break;
                    }
                    Some((Event::Scalar(key, ..), key_span)) => {
                        let key_offset = byte_of(&file.text, &key_span.start);
                        *pos += 1;
                        if entries.iter().any(|(k, _, _)| k == key.as_ref()) {
                            return Err(file.error_at(
                                key_offset,
                                format!("`{key}` appears twice in this mapping"),
                                None,
                            ));
                        }
                        let value = build(file, events, pos)?;
                        entries.push((key.to_string(), file.origin(key_offset), value));
                    }
                    Some((_, key_span)) => {
                        return Err(file.error_at(
                            byte_of(&file.text, &key_span.start),
                            "expected a plain key (a name), not a list or mapping used as a key",
                            None,
                        ));
                    }
                    None => return Err(file.error_at(file.text.len(), "a mapping is not closed", None)),
                }
            }
            TreeNode::Map { entries, flow }
        }
        other => return Err(file.error_at(offset, format!("unexpected YAML {other:?}"), None)),
    };
    Ok(Tree { at, node })
}

fn scalar(value: &str, style: ScalarStyle) -> TreeNode {
    let quoted = !matches!(style, ScalarStyle::Plain);
    if !quoted && matches!(value, "" | "~" | "null" | "Null" | "NULL") {
        return TreeNode::Null;
    }
    TreeNode::Scalar { text: value.to_string(), quoted }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Result<Vec<Tree>, String> {
        parse_documents(&SourceFile::new("t.yaml", text.to_string())).map_err(|e| e.to_string())
    }

    #[test]
    fn nodes_know_their_line_and_column() {
        let d = docs("a:\n  b: [1, \"2\"]\n  c: {x: y}\n---\nz: ~\n").unwrap();
        assert_eq!(d.len(), 2);
        let b = d[0].path(&["a", "b"]).unwrap();
        assert_eq!((b.at.line, b.at.col), (2, 6));
        assert_eq!(b.items()[0].as_u64(), Some(1));
        assert!(matches!(b.items()[1].node, TreeNode::Scalar { quoted: true, .. }));
        let (key, at, _) = &d[0].get("a").unwrap().entries()[1];
        assert_eq!((key.as_str(), at.line, at.col), ("c", 3, 3));
        assert!(matches!(d[1].get("z").unwrap().node, TreeNode::Null));
    }

    #[test]
    fn json_is_a_document_too() {
        let d = docs("[{\"dst\": \"default\",\n \"metric\": 100}]").unwrap();
        let m = &d[0].items()[0];
        assert_eq!(m.get("metric").unwrap().as_u64(), Some(100));
        assert_eq!(m.get("metric").unwrap().at.line, 2);
    }

    #[test]
    fn malformed_text_is_located() {
        let e = docs("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.starts_with("t.yaml:"), "{e}");
        assert!(e.contains("not valid YAML"), "{e}");
        let e = docs("a: 1\na: 2\n").unwrap_err();
        assert!(e.starts_with("t.yaml:2:1: `a` appears twice"), "{e}");
    }
}
