//! Compact names: `web-{01..16}` declares sixteen servers, `{a,b,c}` three,
//! and a `*` in a reference (`web-*`) matches every declared name.
//!
//! A [`Pattern`] is parsed once and counted arithmetically, so that its size
//! is checked against the limits before any name is made; its names are
//! then produced one at a time. A [`NameIndex`] resolves references against
//! the declared names by hashing: a plain name or a pattern costs one
//! lookup per name it stands for, a glob one pass over the names.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::limits::{Limit, Limits};

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    /// `{lo..hi}`, zero-padded to `width` digits (0: no padding).
    Range {
        lo: u64,
        hi: u64,
        width: usize,
    },
    /// `{a,b,c}`.
    Choice(Vec<String>),
}

impl Part {
    /// How many values the part takes.
    fn len(&self) -> u64 {
        match self {
            Part::Text(_) => 1,
            Part::Range { lo, hi, .. } => (hi - lo).saturating_add(1),
            Part::Choice(v) => v.len() as u64,
        }
    }

    fn push(&self, k: u64, out: &mut String) {
        use std::fmt::Write;
        match self {
            Part::Text(t) => out.push_str(t),
            Part::Range { lo, width, .. } => {
                let _ = write!(out, "{:0width$}", lo + k, width = *width);
            }
            Part::Choice(v) => out.push_str(&v[k as usize]),
        }
    }
}

/// A name pattern: text with `{lo..hi}` ranges (zero-padded to the width of
/// `lo` when it has a leading zero) and `{a,b,c}` alternatives. Its names
/// run left to right, the last brace varying fastest. A name without braces
/// is a pattern of one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<Part>,
}

impl Pattern {
    /// Reads a pattern; a mistake is explained in words.
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            let text = &rest[..open];
            if text.contains('}') {
                return Err(format!("`{pattern}` has a `}}` without a matching `{{`"));
            }
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
            let close = rest[open..]
                .find('}')
                .map(|i| open + i)
                .ok_or_else(|| format!("`{pattern}` has a `{{` without a matching `}}`"))?;
            parts.push(brace(&rest[open + 1..close], pattern)?);
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("`{pattern}` has a `}}` without a matching `{{`"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Pattern { parts })
    }

    /// `<prefix>1` .. `<prefix><n>`, zero-padded to `width` digits: a counted group.
    pub fn counted(prefix: &str, n: u64, width: usize) -> Pattern {
        Pattern { parts: vec![Part::Text(prefix.to_string()), Part::Range { lo: 1, hi: n, width }] }
    }

    /// How many names it stands for (saturating at `u64::MAX`), without
    /// making any.
    pub fn count(&self) -> u64 {
        self.parts.iter().fold(1u64, |n, p| n.saturating_mul(p.len()))
    }

    /// Its names, one at a time, in order.
    pub fn names(&self) -> PatternNames<'_> {
        PatternNames { parts: &self.parts, digits: vec![0; self.parts.len()], done: self.count() == 0 }
    }

    /// Its names, after checking their number against the `pattern_names` limit.
    pub fn expand(&self, text: &str, limits: &Limits) -> Result<Vec<String>, (String, Option<String>)> {
        self.check(text, limits)?;
        Ok(self.names().collect())
    }

    /// Checks its size against the `pattern_names` limit.
    pub fn check(&self, text: &str, limits: &Limits) -> Result<(), (String, Option<String>)> {
        let n = self.count();
        limits.check(Limit::PatternNames, n).map_err(|e| {
            (format!("`{text}` stands for {} names, {}", crate::units::thousands(n), e.over()), Some(e.help()))
        })
    }
}

/// The inside of one `{..}`.
fn brace(body: &str, pattern: &str) -> Result<Part, String> {
    if let Some((lo, hi)) = body.split_once("..") {
        let (lo_text, hi_text) = (lo.trim(), hi.trim());
        let bad = || format!("`{{{body}}}` in `{pattern}`: expected a range of whole numbers like {{01..16}}");
        let lo: u64 = lo_text.parse().map_err(|_| bad())?;
        let hi: u64 = hi_text.parse().map_err(|_| bad())?;
        if hi < lo {
            return Err(format!("`{{{body}}}` in `{pattern}` counts down; write the smaller number first"));
        }
        let width = if lo_text.starts_with('0') && lo_text.len() > 1 { lo_text.len() } else { 0 };
        Ok(Part::Range { lo, hi, width })
    } else if body.contains(',') {
        Ok(Part::Choice(body.split(',').map(|s| s.trim().to_string()).collect()))
    } else {
        Err(format!("`{{{body}}}` in `{pattern}`: expected a range like {{01..16}} or alternatives like {{a,b}}"))
    }
}

/// The names of a [`Pattern`], made as they are asked for.
pub struct PatternNames<'a> {
    parts: &'a [Part],
    /// The value index of each part (an odometer, the last part fastest).
    digits: Vec<u64>,
    done: bool,
}

impl Iterator for PatternNames<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        probe(1);
        let mut name = String::new();
        for (p, &k) in self.parts.iter().zip(&self.digits) {
            p.push(k, &mut name);
        }
        self.done = true;
        for i in (0..self.parts.len()).rev() {
            self.digits[i] += 1;
            if self.digits[i] < self.parts[i].len() {
                self.done = false;
                break;
            }
            self.digits[i] = 0;
        }
        Some(name)
    }
}

/// Expands a pattern into its names (for tests and small patterns; the
/// compiler checks the size first, with [`Pattern::expand`]).
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    Ok(Pattern::parse(pattern)?.names().collect())
}

/// Whether `name` matches a glob with `*` wildcards.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Declared names, indexed for lookup by name.
#[derive(Clone, Debug, Default)]
pub struct NameIndex<'a> {
    names: Vec<&'a str>,
    ids: HashMap<&'a str, u32>,
    /// The first name declared again, by the index of its second declaration.
    repeat: Option<usize>,
}

impl<'a> NameIndex<'a> {
    /// Indexes `names` in declaration order; a name declared twice keeps its
    /// first index.
    pub fn new(names: impl IntoIterator<Item = &'a str>) -> NameIndex<'a> {
        let names: Vec<&'a str> = names.into_iter().collect();
        let mut ids = HashMap::with_capacity(names.len());
        let mut repeat = None;
        for (i, n) in names.iter().enumerate() {
            match ids.entry(*n) {
                Entry::Vacant(v) => {
                    v.insert(i as u32);
                }
                Entry::Occupied(_) => repeat = repeat.or(Some(i)),
            }
        }
        probe(names.len() as u64);
        NameIndex { names, ids, repeat }
    }

    /// The first name declared twice, by the index of its second declaration.
    pub fn first_repeat(&self) -> Option<usize> {
        self.repeat
    }

    /// The index of `name`.
    pub fn get(&self, name: &str) -> Option<usize> {
        probe(1);
        self.ids.get(name).map(|&i| i as usize)
    }

    pub fn names(&self) -> &[&'a str] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Resolves a reference that may be a plain name, a `{..}` pattern or a
    /// `*` glob, returning indices in declaration order for globs and in
    /// pattern order otherwise. A pattern is checked against the
    /// `pattern_names` limit before any of its names is made.
    pub fn resolve(&self, reference: &str, limits: &Limits) -> Result<Vec<usize>, ResolveError> {
        if reference.contains('*') {
            probe(self.names.len() as u64);
            let found: Vec<usize> =
                self.names.iter().enumerate().filter(|(_, n)| glob_match(reference, n)).map(|(i, _)| i).collect();
            if found.is_empty() {
                return Err(ResolveError::NoMatch(reference.to_string()));
            }
            return Ok(found);
        }
        if !reference.contains(['{', '}']) {
            return self.get(reference).map(|i| vec![i]).ok_or_else(|| ResolveError::Unknown(reference.to_string()));
        }
        let pattern = Pattern::parse(reference).map_err(|m| ResolveError::Pattern(m, None))?;
        pattern.check(reference, limits).map_err(|(m, help)| ResolveError::Pattern(m, help))?;
        pattern.names().map(|n| self.get(&n).ok_or(ResolveError::Unknown(n))).collect()
    }

    /// The declared name closest to `wanted`, as a "did you mean" hint.
    pub fn closest(&self, wanted: &str) -> Option<&'a str> {
        closest(wanted, self.names.iter().copied())
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// A malformed or too large pattern: the message, and help.
    Pattern(String, Option<String>),
    Unknown(String),
    NoMatch(String),
}

#[cfg(test)]
thread_local! {
    static PROBES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts name operations (lookups, names scanned by a glob, names made by
/// a pattern, names indexed) in test builds, so that a test can check how
/// the compiler's work grows with the number of names.
#[inline]
fn probe(_n: u64) {
    #[cfg(test)]
    PROBES.with(|p| p.set(p.get() + _n));
}

/// Name operations counted on this thread so far (test builds).
#[cfg(test)]
pub(crate) fn probes() -> u64 {
    PROBES.with(|p| p.get())
}

/// The declared name closest to `wanted` (edit distance at most 3), for
/// "did you mean" hints.
pub fn closest<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (edit_distance(wanted, n), n))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_padded_ranges_and_alternatives() {
        let v = expand("web-{01..16}").unwrap();
        assert_eq!(v.len(), 16);
        assert_eq!(v[0], "web-01");
        assert_eq!(v[15], "web-16");
        assert_eq!(expand("s{1..3}").unwrap(), ["s1", "s2", "s3"]);
        assert_eq!(expand("{eu,us}-{1..2}").unwrap(), ["eu-1", "eu-2", "us-1", "us-2"]);
        assert_eq!(expand("plain").unwrap(), ["plain"]);
    }

    #[test]
    fn bad_patterns_explain_themselves() {
        assert!(expand("web-{01..").unwrap_err().contains("matching"));
        assert!(expand("web-{5..1}").unwrap_err().contains("counts down"));
        assert!(expand("web-{x..y}").unwrap_err().contains("whole numbers"));
        assert!(expand("web-{x}").is_err());
    }

    #[test]
    fn resolves_globs_patterns_and_unknowns() {
        let names = NameIndex::new(["web-01", "web-02", "db-01"]);
        let limits = Limits::default();
        let resolve = |r: &str| names.resolve(r, &limits);
        assert_eq!(resolve("web-*").unwrap(), [0, 1]);
        assert_eq!(resolve("web-{01..02}").unwrap(), [0, 1]);
        assert_eq!(resolve("{db,web}-01").unwrap(), [2, 0]);
        assert_eq!(resolve("db-01").unwrap(), [2]);
        assert_eq!(resolve("web-03"), Err(ResolveError::Unknown("web-03".into())));
        assert_eq!(resolve("web-{02..09}"), Err(ResolveError::Unknown("web-03".into())));
        assert_eq!(resolve("cache-*"), Err(ResolveError::NoMatch("cache-*".into())));
        assert!(matches!(resolve("web-{1..}"), Err(ResolveError::Pattern(m, None)) if m.contains("whole numbers")));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c", "abcd"));
    }

    #[test]
    fn patterns_are_counted_without_being_expanded() {
        let huge = Pattern::parse("s-{1..100000}-{1..100000}").unwrap();
        assert_eq!(huge.count(), 10_000_000_000);
        assert_eq!(Pattern::parse("{a,b,c}-{0..9}x").unwrap().count(), 30);
        assert_eq!(Pattern::parse("plain").unwrap().count(), 1);
        let overflow = Pattern::parse("{0..18446744073709551615}{0..18446744073709551615}").unwrap();
        assert_eq!(overflow.count(), u64::MAX);
        // Names come one at a time: the first of ten billion costs one name.
        let before = probes();
        let first: Vec<String> = huge.names().take(2).collect();
        assert_eq!(first, ["s-1-1", "s-1-2"]);
        assert_eq!(probes() - before, 2);
        // A reference that stands for more names than the limit is refused
        // before any is made, saying how many, the limit and how to raise it.
        let names = NameIndex::new(["s-1-1"]);
        let Err(ResolveError::Pattern(m, Some(help))) = names.resolve("s-{1..100000}-{1..100000}", &Limits::default())
        else {
            panic!()
        };
        assert_eq!(
            m,
            "`s-{1..100000}-{1..100000}` stands for 10,000,000,000 names, more than the `pattern_names` limit of 2,000,000 names"
        );
        assert!(help.contains("limits: {pattern_names: 10000000000}"), "{help}");
    }

    #[test]
    fn an_index_finds_names_by_hashing() {
        let names: Vec<String> = (0..1000).map(|i| format!("n{i}")).collect();
        let index = NameIndex::new(names.iter().map(String::as_str));
        let before = probes();
        assert_eq!(index.get("n999"), Some(999));
        assert_eq!(index.get("n1000"), None);
        assert_eq!(probes() - before, 2);
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest("web-1", ["web-01", "db-01"]), Some("web-01"));
        assert_eq!(closest("zzzzzz", ["web-01"]), None);
    }
}
