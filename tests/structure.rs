//! The shape of `src/`, checked so it stays the way the README's layout
//! section describes it: no file grows past [`MAX_LINES`], and no module
//! imports from a sibling that imports back (at any depth: `report::charts`
//! and `report::html` are siblings, as are `model` and `scenario`).
//!
//! Imports are read from the text (`crate::` and `super::` paths, grouped
//! `use` lists included), not from the compiler; unit-test modules are left
//! out, since a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a source file may be.
const MAX_LINES: usize = 900;

fn src_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

/// `src/report/charts/draw.rs` -> `["report", "charts", "draw"]`; `mod.rs`,
/// `lib.rs` and `main.rs` name their folder.
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).unwrap();
    let mut segs: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = segs.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    let names_folder = stem == "mod" || segs.is_empty() && matches!(stem, "lib" | "main");
    if !names_folder {
        segs.push(stem.to_string());
    }
    segs
}

/// The code of a file without comments, string literals and its
/// `#[cfg(test)] mod tests`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths a file names after `crate::` or `super::`, relative to the
/// crate root. A grouped list (`crate::{a::b, c}`) gives one path per item.
fn imported_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    // `super` is the parent module, for `foo.rs` and `foo/mod.rs` alike.
    let parent = module[..module.len().saturating_sub(1)].to_vec();
    let mut out = Vec::new();
    for (root, base) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut from = 0;
        while let Some(i) = code[from..].find(root) {
            let at = from + i;
            from = at + root.len();
            if code[..at].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            paths_at(&code[from..], &base, &mut out);
        }
    }
    out
}

/// Reads `a::b::c` or `{a::b, c::{d}}` at the start of `rest`, each path
/// prefixed by `base`.
fn paths_at(rest: &str, base: &[String], out: &mut Vec<Vec<String>>) {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        // Split the group's top level on commas.
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    paths_at(&group[start..i], base, out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    paths_at(&group[start..i], base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let mut path = base.to_vec();
    let mut s = rest;
    loop {
        let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
        if end == 0 {
            break;
        }
        path.push(s[..end].to_string());
        match s[end..].strip_prefix("::") {
            Some(next) if !next.starts_with('{') => s = next,
            Some(next) => {
                paths_at(next, &path, out);
                return;
            }
            None => break,
        }
    }
    if path.len() > base.len() {
        out.push(path);
    }
}

/// The module graph between siblings: an edge `a -> b` when code in `a` (or
/// below it) uses something in `b` (or below it), `a` and `b` children of
/// one parent.
fn sibling_edges() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = src_files();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for path in imported_paths(&code, &module) {
            // The longest prefix that is a module is what is imported.
            let Some(target) = (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains(p)) else {
                continue;
            };
            let common = module.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == module.len() || common == target.len() {
                continue; // a module and its own ancestor or descendant
            }
            edges.entry(module[..=common].to_vec()).or_default().insert(target[..=common].to_vec());
        }
    }
    edges
}

/// The cycles of a graph, each as its strongly connected component.
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    // Kosaraju: order by finish time, then collect on the reversed graph.
    let nodes: BTreeSet<&Vec<String>> = edges.keys().chain(edges.values().flatten()).collect();
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for &n in &nodes {
        let mut stack = vec![(n, false)];
        while let Some((v, done)) = stack.pop() {
            if done {
                order.push(v);
                continue;
            }
            if !seen.insert(v) {
                continue;
            }
            stack.push((v, true));
            for w in edges.get(v).into_iter().flatten() {
                if !seen.contains(w) {
                    stack.push((w, false));
                }
            }
        }
    }
    let mut reversed: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = BTreeMap::new();
    for (a, bs) in edges {
        for b in bs {
            reversed.entry(b).or_default().push(a);
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for &n in order.iter().rev() {
        if assigned.contains(n) {
            continue;
        }
        let mut component = Vec::new();
        let mut stack = vec![n];
        while let Some(v) = stack.pop() {
            if !assigned.insert(v) {
                continue;
            }
            component.push(v.clone());
            stack.extend(reversed.get(v).into_iter().flatten().filter(|w| !assigned.contains(*w)));
        }
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let long: Vec<String> = src_files()
        .iter()
        .map(|f| (f, std::fs::read_to_string(f).unwrap().lines().count()))
        .filter(|&(_, n)| n > MAX_LINES)
        .map(|(f, n)| format!("{}: {n} lines", f.display()))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines (split them by what they hold):\n{}", long.join("\n"));
}

#[test]
fn no_module_imports_from_a_sibling_that_imports_back() {
    let edges = sibling_edges();
    let found = cycles(&edges);
    let text: Vec<String> = found
        .iter()
        .map(|c| {
            let lines: Vec<String> = c
                .iter()
                .map(|m| {
                    let to: Vec<String> = edges[m].iter().filter(|t| c.contains(t)).map(|t| t.join("::")).collect();
                    format!("    {} -> {}", m.join("::"), to.join(", "))
                })
                .collect();
            lines.join("\n")
        })
        .collect();
    assert!(found.is_empty(), "import cycles among modules:\n{}", text.join("\n\n"));
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    // The check above can fail: a graph with a cycle, read the same way.
    let m = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let code = code_of(
        "use crate::{report::html::escape, model::{Model, Names}};\n// crate::sim\nfn f() { super::draw::X; }\n",
    );
    let paths = imported_paths(&code, &m("report::charts::legend"));
    assert_eq!(paths, [m("report::html::escape"), m("model::Model"), m("model::Names"), m("report::charts::draw::X")]);
    let edges = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b")])),
        (m("b"), BTreeSet::from([m("c")])),
        (m("c"), BTreeSet::from([m("a")])),
        (m("d"), BTreeSet::from([m("a")])),
    ]);
    assert_eq!(cycles(&edges), [vec![m("a"), m("b"), m("c")]]);
}
