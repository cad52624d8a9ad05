//! Compact names: `web-{01..16}` declares sixteen servers, `{a,b,c}` three,
//! and a `*` in a reference (`web-*`) matches every declared name.

/// The most names one range (or one counted server group) may declare.
pub const MAX_NAMES: u64 = 100_000;

/// Expands `{lo..hi}` ranges (zero-padded to the width of `lo` when it has a
/// leading zero) and `{a,b,c}` alternatives, left to right. A name without
/// braces expands to itself.
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('{') else {
        if pattern.contains('}') {
            return Err(format!("`{pattern}` has a `}}` without a matching `{{`"));
        }
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find('}')
        .map(|i| open + i)
        .ok_or_else(|| format!("`{pattern}` has a `{{` without a matching `}}`"))?;
    let prefix = &pattern[..open];
    let body = &pattern[open + 1..close];
    let rest = expand(&pattern[close + 1..])?;
    let alternatives: Vec<String> = if let Some((lo, hi)) = body.split_once("..") {
        let (lo_text, hi_text) = (lo.trim(), hi.trim());
        let lo: u64 = lo_text
            .parse()
            .map_err(|_| format!("`{{{body}}}` in `{pattern}`: expected a range of whole numbers like {{01..16}}"))?;
        let hi: u64 = hi_text
            .parse()
            .map_err(|_| format!("`{{{body}}}` in `{pattern}`: expected a range of whole numbers like {{01..16}}"))?;
        if hi < lo {
            return Err(format!("`{{{body}}}` in `{pattern}` counts down; write the smaller number first"));
        }
        if hi - lo >= MAX_NAMES {
            return Err(format!("`{{{body}}}` in `{pattern}` declares more than {MAX_NAMES} names"));
        }
        let width = if lo_text.starts_with('0') && lo_text.len() > 1 { lo_text.len() } else { 0 };
        (lo..=hi).map(|n| format!("{n:0width$}")).collect()
    } else if body.contains(',') {
        body.split(',').map(|s| s.trim().to_string()).collect()
    } else {
        return Err(format!(
            "`{{{body}}}` in `{pattern}`: expected a range like {{01..16}} or alternatives like {{a,b}}"
        ));
    };
    let mut out = Vec::with_capacity(alternatives.len() * rest.len());
    for alt in &alternatives {
        for tail in &rest {
            out.push(format!("{prefix}{alt}{tail}"));
        }
    }
    Ok(out)
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

/// Resolves a reference that may be a plain name, a `{..}` pattern or a
/// `*` glob against the declared `names`, returning indices in declaration
/// order for globs and in pattern order otherwise. Names that do not exist
/// are returned as `Err(name)`.
pub fn resolve(reference: &str, names: &[String]) -> Result<Vec<usize>, ResolveError> {
    if reference.contains('*') {
        let found: Vec<usize> =
            names.iter().enumerate().filter(|(_, n)| glob_match(reference, n)).map(|(i, _)| i).collect();
        if found.is_empty() {
            return Err(ResolveError::NoMatch(reference.to_string()));
        }
        return Ok(found);
    }
    let expanded = expand(reference).map_err(ResolveError::Pattern)?;
    expanded.into_iter().map(|n| names.iter().position(|m| *m == n).ok_or(ResolveError::Unknown(n))).collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    Pattern(String),
    Unknown(String),
    NoMatch(String),
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
        let names: Vec<String> = ["web-01", "web-02", "db-01"].iter().map(|s| s.to_string()).collect();
        assert_eq!(resolve("web-*", &names).unwrap(), [0, 1]);
        assert_eq!(resolve("web-{01..02}", &names).unwrap(), [0, 1]);
        assert_eq!(resolve("db-01", &names).unwrap(), [2]);
        assert_eq!(resolve("web-03", &names), Err(ResolveError::Unknown("web-03".into())));
        assert_eq!(resolve("cache-*", &names), Err(ResolveError::NoMatch("cache-*".into())));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c", "abcd"));
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest("web-1", ["web-01", "db-01"]), Some("web-01"));
        assert_eq!(closest("zzzzzz", ["web-01"]), None);
    }
}
