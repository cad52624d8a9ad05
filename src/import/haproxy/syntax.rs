//! HAProxy configuration syntax: sections of lines, each line a keyword and
//! its words, with quotes, backslash escapes and `#` comments.
//!
//! Our own, not the `haproxy-config` crate: that keeps a server's options
//! as one unparsed string, gives no line numbers, and pulls in older majors
//! of thiserror, itertools and ariadne. HAProxy's grammar is line-based and
//! small; we need every word's place.

use super::super::{Origin, SourceFile};
use crate::error::Error;

/// One line's words, each with where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub words: Vec<(String, Origin)>,
}

impl Line {
    pub(crate) fn keyword(&self) -> &str {
        &self.words[0].0
    }

    pub(crate) fn at(&self) -> &Origin {
        &self.words[0].1
    }

    pub(crate) fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(|(w, _)| w.as_str())
    }

    /// The line as written (words joined by spaces), for comments.
    pub(crate) fn written(&self) -> String {
        self.words.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// A section: its header line (`backend app`) and body lines.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    pub header: Line,
    pub lines: Vec<Line>,
}

impl Section {
    pub(crate) fn kind(&self) -> &str {
        self.header.keyword()
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.header.arg(1)
    }
}

/// Keywords that open a section.
const SECTIONS: [&str; 17] = [
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "resolvers",
    "mailers",
    "cache",
    "program",
    "http-errors",
    "ring",
    "log-forward",
    "crt-store",
    "traces",
    "acme",
];

/// Splits a file into sections. Lines before the first section keyword are
/// an error, as HAProxy reports them.
pub(crate) fn parse(file: &SourceFile) -> Result<Vec<Section>, Error> {
    let mut sections: Vec<Section> = Vec::new();
    let mut offset = 0;
    for raw in file.text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = words(file, raw.trim_end_matches(['\n', '\r']), start)?;
        if line.words.is_empty() {
            continue;
        }
        if SECTIONS.contains(&line.keyword()) {
            sections.push(Section { header: line, lines: Vec::new() });
            continue;
        }
        match sections.last_mut() {
            Some(s) => s.lines.push(line),
            None => {
                return Err(file.error_at(
                    line.at().offset,
                    format!("`{}` is outside any section", line.keyword()),
                    Some("HAProxy settings go under `global`, `defaults`, `frontend`, `backend` or `listen`".into()),
                ));
            }
        }
    }
    Ok(sections)
}

/// The words of one line (`start` is its byte offset in the file).
fn words(file: &SourceFile, line: &str, start: usize) -> Result<Line, Error> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'#' => break,
            _ => {
                let word_start = i;
                let mut word = Vec::new();
                let mut quote: Option<(u8, usize)> = None;
                while i < bytes.len() {
                    let c = bytes[i];
                    match (quote, c) {
                        (None, b' ' | b'\t') => break,
                        (None, b'#') => break,
                        (None, b'"' | b'\'') => quote = Some((c, i)),
                        (Some((q, _)), _) if c == q => quote = None,
                        (Some((b'\'', _)), _) => word.push(c),
                        (_, b'\\') if i + 1 < bytes.len() => {
                            i += 1;
                            word.push(bytes[i]);
                        }
                        _ => word.push(c),
                    }
                    i += 1;
                }
                if let Some((q, at)) = quote {
                    return Err(file.error_at(
                        start + at,
                        "this quoted string is not closed on its line",
                        Some(format!("add the closing {}", q as char)),
                    ));
                }
                out.push((String::from_utf8_lossy(&word).into_owned(), file.origin(start + word_start)));
            }
        }
    }
    Ok(Line { words: out })
}

/// An HAProxy time (`2s`, `500ms`, `1m`, a bare number of milliseconds) in ms.
pub(crate) fn time_ms(text: &str) -> Option<f64> {
    let digits = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let n: f64 = text[..digits].parse().ok()?;
    let factor = match &text[digits..] {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Section>, String> {
        parse(&SourceFile::new("h.cfg", text.to_string())).map_err(|e| e.to_string())
    }

    #[test]
    fn sections_lines_and_words_are_located() {
        let s = p("global\n  log stdout local0 # comment\nbackend app\n\tserver s1 \"10.0.0.1:80\" weight 5\n  http-request set-header X-A 'a b'\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].name(), Some("app"));
        let server = &s[1].lines[0];
        assert_eq!(server.written(), "server s1 10.0.0.1:80 weight 5");
        assert_eq!((server.words[2].1.line, server.words[2].1.col), (4, 12));
        assert_eq!(s[1].lines[1].arg(3), Some("a b"));
        assert_eq!(s[0].lines[0].words.len(), 3);
    }

    #[test]
    fn mistakes_are_located() {
        assert_eq!(p("  maxconn 10\n").unwrap_err(), "h.cfg:1:3: `maxconn` is outside any section");
        assert_eq!(
            p("backend a\n server s \"x\n").unwrap_err(),
            "h.cfg:2:11: this quoted string is not closed on its line"
        );
    }

    #[test]
    fn times_default_to_milliseconds() {
        assert_eq!(time_ms("2s"), Some(2000.0));
        assert_eq!(time_ms("500"), Some(500.0));
        assert_eq!(time_ms("1m"), Some(60_000.0));
        assert_eq!(time_ms("10x"), None);
    }
}
