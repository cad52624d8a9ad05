//! Parse errors in words that say what to do: serde-saphyr's messages
//! without their trailing position (we print it, mapped through `--set`),
//! terse type names spelt out, a "did you mean" for a misspelt field or
//! value, a missing `,` or `:` named where the text shows it, and the
//! "quote names with braces" hint only when braces broke the YAML.

use super::names;

/// The message and help for a parse error `raw` at `loc` of `text`.
pub(super) fn explain(raw: &str, text: &str, loc: Option<serde_saphyr::Location>) -> (String, Option<String>) {
    let message = bare_message(raw);
    let at = loc.and_then(|l| value_at(text, l));
    if let Some(v) = &at
        && let Some(fix) = missing_separator(v, &message)
    {
        return fix;
    }
    if let Some(fix) = did_you_mean(&message) {
        return fix;
    }
    let line = loc.map(|l| l.line() as usize);
    if let Some(help) = pattern_in_flow_hint(text, line, &message) {
        return (message, Some(help));
    }
    if message.contains("did not find expected ','") || message.contains("expected ',' or") {
        return (
            message,
            Some(
                "a `,` seems to be missing just before here: separate the entries of {...} and [...] with commas"
                    .into(),
            ),
        );
    }
    if message.contains("simple key expected ':'") || message.contains("could not find expected ':'") {
        let key = line.and_then(|l| text.lines().nth(l.checked_sub(1)?)).map(|t| t.trim().to_string());
        let help = key.map_or("write `key: value`".to_string(), |k| {
            format!("a key and its value need a `:` between them (`{k}`)")
        });
        return ("a `:` is missing after a key".to_string(), Some(help));
    }
    (message, None)
}

/// Strips serde-saphyr's trailing " at line N, column M".
fn bare_message(message: &str) -> String {
    let text = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    };
    humanize(text)
}

/// Rewrites terse deserialiser messages into ones that say what is expected.
fn humanize(text: &str) -> String {
    for (ty, what) in
        [("u64", "a whole number, zero or more"), ("u32", "a whole number from 0 to 4294967295"), ("f64", "a number")]
    {
        if text == format!("invalid {ty}") {
            return format!("expected {what}");
        }
    }
    text.to_string()
}

/// The plain text written at `loc`, up to the end of its flow item or line.
fn value_at(text: &str, loc: serde_saphyr::Location) -> Option<String> {
    let start = match loc.span().byte_offset() {
        Some(o) => o as usize,
        None => super::source::offset_of_line_col(text, loc.line() as usize, loc.column() as usize),
    };
    let rest = text.get(start..)?;
    let end = rest.find([',', '}', ']', '\n', '#']).unwrap_or(rest.len());
    let v = rest[..end].trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// A value that runs on into the next entry (`4 queue_limit: 10`: a `,`
/// is missing), or a key followed by its value without a colon
/// (`queue_limit 10`: a `:` is missing).
fn missing_separator(value: &str, message: &str) -> Option<(String, Option<String>)> {
    let (first, rest) = value.split_once(char::is_whitespace)?;
    let rest = rest.trim();
    if rest.is_empty() || first.ends_with(':') {
        return None;
    }
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some((key, _)) = rest.split_once(':')
        && word(key.trim())
    {
        return Some((
            format!("a `,` is missing after `{first}`: the value runs on into `{rest}`"),
            Some(format!("separate the entries with a comma: `{first}, {rest}`")),
        ));
    }
    if message.starts_with("unknown field") && word(first) && !rest.contains(char::is_whitespace) {
        return Some((format!("a `:` is missing after `{first}`"), Some(format!("write `{first}: {rest}`"))));
    }
    None
}

/// `unknown field `durration`, expected one of ...` (or a variant): the
/// closest of the expected names.
fn did_you_mean(message: &str) -> Option<(String, Option<String>)> {
    let kind = ["unknown field", "unknown variant"].into_iter().find(|k| message.starts_with(k))?;
    let rest = &message[kind.len()..];
    let wanted = rest.trim_start().strip_prefix('`')?.split('`').next()?;
    let expected_at = rest.find("expected one of ").map(|i| i + "expected one of ".len())?;
    let expected: Vec<&str> =
        rest[expected_at..].split(',').map(|s| s.trim().trim_matches('`')).filter(|s| !s.is_empty()).collect();
    let what = if kind == "unknown field" { "field" } else { "value" };
    let help = match names::closest(wanted, expected.iter().copied()) {
        Some(n) => format!("did you mean `{n}`? (expected one of {})", expected.join(", ")),
        None => format!("expected one of {}", expected.join(", ")),
    };
    Some((format!("unknown {what} `{wanted}`"), Some(help)))
}

/// `[web-{01..16}]` is a YAML syntax error (the braces open a flow
/// mapping): say so when the YAML did not parse and the failing line has an
/// unquoted name pattern inside brackets.
fn pattern_in_flow_hint(text: &str, line: Option<usize>, message: &str) -> Option<String> {
    let syntax = message.contains("while parsing") || message.contains("did not find expected");
    let line = text.lines().nth(line?.checked_sub(1)?)?;
    let unquoted_pattern = line.split('"').step_by(2).any(|part| {
        part.match_indices('{').any(|(i, _)| {
            let before = part[..i].trim_end();
            let after = &part[i + 1..];
            !before.is_empty()
                && !before.ends_with([':', '[', ',', '{'])
                && (after.contains("..") || after.contains(','))
        })
    });
    (syntax && unquoted_pattern).then(|| "inside [...] or {...}, quote names with braces: \"web-{01..16}\"".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_commas_and_colons_are_named() {
        let (m, h) = missing_separator("4 queue_limit: 10", "expected a whole number").unwrap();
        assert_eq!(m, "a `,` is missing after `4`: the value runs on into `queue_limit: 10`");
        assert_eq!(h.unwrap(), "separate the entries with a comma: `4, queue_limit: 10`");
        let (m, h) = missing_separator("queue_limit 10", "unknown field `queue_limit 10`").unwrap();
        assert_eq!(
            (m.as_str(), h.as_deref()),
            ("a `:` is missing after `queue_limit`", Some("write `queue_limit: 10`"))
        );
        assert!(missing_separator("two words", "expected a duration").is_none());
        assert!(missing_separator("100/s", "x").is_none());
    }

    #[test]
    fn unknown_fields_and_values_get_the_closest_name() {
        let (m, h) = did_you_mean("unknown field `durration`, expected one of `name`, `duration`, `seed`").unwrap();
        assert_eq!(m, "unknown field `durration`");
        assert_eq!(h.unwrap(), "did you mean `duration`? (expected one of name, duration, seed)");
        let (m, h) = did_you_mean("unknown variant `round_robbin`, expected one of round_robin, random").unwrap();
        assert_eq!(m, "unknown value `round_robbin`");
        assert!(h.unwrap().starts_with("did you mean `round_robin`?"));
        let (_, h) = did_you_mean("unknown field `zzzzzzzz`, expected one of a, b").unwrap();
        assert_eq!(h.unwrap(), "expected one of a, b");
    }

    #[test]
    fn the_brace_hint_needs_a_syntax_error_and_an_unquoted_pattern() {
        let loc = Some;
        let text = "a: 1\n  edge: {backends: [web-{01..02}]}\n  web-{01..02}: {workers: -1}\n  edge: {backends: [\"web-{01..02}\"]}\n";
        let syntax = "while parsing a flow sequence, expected ',' or ']'";
        assert!(pattern_in_flow_hint(text, loc(2), syntax).is_some());
        assert!(pattern_in_flow_hint(text, loc(3), "expected a whole number").is_none());
        assert!(pattern_in_flow_hint(text, loc(4), syntax).is_none());
    }
}
