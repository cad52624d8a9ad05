//! Text from a scenario (names, notes, descriptions, objectives) written
//! into Markdown reports so that it reads as itself: it cannot start markup,
//! end a code span early, or break the list item or table row it sits in.
//!
//! Every piece of user text goes through [`md_text`], or [`md_code`] to be
//! shown as code ([`md_code_cell`] inside a table). Each keeps to one line:
//! a line break (a YAML `note: |` block has them) would end a list item or
//! a table row, so line breaks become spaces.

use std::borrow::Cow;

/// Text for a Markdown line or table cell. The characters that would start
/// markup mid-line are backslash-escaped: emphasis (`*`), code (`` ` ``),
/// HTML (`<`), links (`[`, `]`), table cells (`|`) and the backslash
/// itself. `_` is left alone: inside words it is not emphasis, and metric
/// names are full of it. Line breaks become spaces (see `one_line`).
///
/// ```
/// use lbsim::report::markdown::md_text;
/// assert_eq!(md_text("p99 *spiked* | see\n[runbook]"), r"p99 \*spiked\* \| see \[runbook\]");
/// ```
pub fn md_text(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '<' | '[' | ']' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as an inline code span, shown exactly (line breaks aside): the
/// fence is one backtick longer than the longest run of backticks inside,
/// and content that starts or ends with a backtick, or with a space at both
/// ends, is padded with a space, which CommonMark strips again. For running
/// text; inside a table use [`md_code_cell`].
///
/// ```
/// use lbsim::report::markdown::md_code;
/// assert_eq!(md_code("p99 < 1s"), "`p99 < 1s`");
/// assert_eq!(md_code("a`b"), "``a`b``");
/// assert_eq!(md_code("`x`"), "`` `x` ``");
/// ```
pub fn md_code(s: &str) -> String {
    let s = one_line(s);
    if s.is_empty() {
        // Two backticks alone are no span: a space inside shows an empty one.
        return "` `".to_string();
    }
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let spaced = s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty();
    let pad = s.starts_with('`') || s.ends_with('`') || spaced;
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// [`md_code`] for a cell of a (GitHub-flavoured) Markdown table, where a
/// `|` ends the cell even inside a code span unless it is escaped; the
/// table unescapes it before the span is read, so the code shows a bare `|`.
///
/// ```
/// use lbsim::report::markdown::md_code_cell;
/// assert_eq!(md_code_cell("a | b"), r"`a \| b`");
/// ```
pub fn md_code_cell(s: &str) -> String {
    md_code(s).replace('|', "\\|")
}

/// `s` on one line: each line break, with the blanks around it, becomes one
/// space, and breaks at the start or end (a YAML `|` block ends with one)
/// are dropped. Text without a line break is returned as it is.
fn one_line(s: &str) -> Cow<'_, str> {
    if !s.contains(['\n', '\r']) {
        return Cow::Borrowed(s);
    }
    let pieces: Vec<&str> = s.split(['\n', '\r']).collect();
    let last = pieces.len() - 1;
    let kept: Vec<&str> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| match i {
            0 => p.trim_end(),
            i if i == last => p.trim_start(),
            _ => p.trim(),
        })
        .filter(|p| !p.is_empty())
        .collect();
    Cow::Owned(kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_what_would_start_markup() {
        assert_eq!(md_text("a*b_c <x> [l](u) | #"), "a\\*b_c \\<x> \\[l\\](u) \\| #");
        assert_eq!(md_text(r"C:\tmp `x`"), r"C:\\tmp \`x\`");
        assert_eq!(md_text("plain text, 99.9%"), "plain text, 99.9%");
    }

    #[test]
    fn text_keeps_to_one_line() {
        // A YAML `note: |` block: lines, a blank line, a trailing break.
        let note = "weights changed by hand\nfor the sale | see\n\n  `runbook`\n";
        assert_eq!(md_text(note), "weights changed by hand for the sale \\| see \\`runbook\\`");
        assert_eq!(md_text("a\r\nb\rc"), "a b c");
        assert_eq!(md_text("\nleading"), "leading");
        // Without a break the blanks stay as they are.
        assert_eq!(md_text("  two  spaces "), "  two  spaces ");
    }

    #[test]
    fn code_spans_show_their_content_exactly() {
        assert_eq!(md_code("availability >= 99.9%"), "`availability >= 99.9%`");
        // Markup characters mean nothing in code: no escapes.
        assert_eq!(md_code("*a* <b> [c] \\d"), "`*a* <b> [c] \\d`");
        // The fence outgrows every run of backticks inside.
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("a``b`c"), "```a``b`c```");
        // A backtick at an edge, or a space at both, gets a space CommonMark strips.
        assert_eq!(md_code("`tick"), "`` `tick ``");
        assert_eq!(md_code("tick`"), "`` tick` ``");
        assert_eq!(md_code(" both "), "`  both  `");
        assert_eq!(md_code(" left"), "` left`");
        assert_eq!(md_code(""), "` `");
        // One line, and pipes as they are outside a table.
        assert_eq!(md_code("p99 < 1s |\n  or `p50`\n"), "`` p99 < 1s | or `p50` ``");
    }

    #[test]
    fn code_in_a_table_cell_escapes_its_pipes() {
        assert_eq!(md_code_cell("a|b"), "`a\\|b`");
        assert_eq!(md_code_cell("x ||\ny`"), "`` x \\|\\| y` ``");
        assert_eq!(md_code_cell("no pipe"), md_code("no pipe"));
    }
}
