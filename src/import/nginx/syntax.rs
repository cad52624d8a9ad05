//! NGINX configuration syntax: tokens (words, quoted strings, `;`, `{`,
//! `}`, comments), the directive tree, `include` files, and crossplane's
//! JSON form of the same tree.
//!
//! Written here rather than taken from a crate: the grammar is small
//! (NGINX's own `ngx_conf_read_token` is one function), we need the line and
//! column of every directive and argument across included files, and the
//! crates that parse it either carry a lossless syntax tree we do not need
//! (nginx-lint-parser, on rowan, 24 minor versions so far) or are
//! unmaintained (nginx-config, on combine 3 and failure).

use std::path::{Path, PathBuf};

use super::super::tree::{self, Tree};
use super::super::{Findings, Origin, SourceFile};
use crate::error::Error;

/// One directive: its name, arguments and block, each located.
#[derive(Clone, Debug)]
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) at: Origin,
    pub(crate) args: Vec<Arg>,
    pub(crate) block: Option<Vec<Directive>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Arg {
    pub(crate) text: String,
    pub(crate) at: Origin,
}

impl Directive {
    /// The directive as written (name and arguments), for comments.
    pub(crate) fn written(&self) -> String {
        let mut s = self.name.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.text);
        }
        s
    }
}

enum Tok {
    Word(String, usize),
    Semi(usize),
    Open(usize),
    Close(usize),
}

fn tokenize(file: &SourceFile) -> Result<Vec<Tok>, Error> {
    let text = file.text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                toks.push(Tok::Semi(i));
                i += 1;
            }
            b'{' => {
                toks.push(Tok::Open(i));
                i += 1;
            }
            b'}' => {
                toks.push(Tok::Close(i));
                i += 1;
            }
            b'"' | b'\'' => {
                let start = i;
                i += 1;
                let mut word = Vec::new();
                loop {
                    match text.get(i) {
                        None => {
                            return Err(file.error_at(
                                start,
                                "this quoted string is never closed",
                                Some(format!("add the closing {}", c as char)),
                            ));
                        }
                        Some(b'\\') if i + 1 < text.len() => {
                            word.extend(unescape(text[i + 1]));
                            i += 2;
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(&b) => {
                            word.push(b);
                            i += 1;
                        }
                    }
                }
                if let Some(&next) = text.get(i)
                    && !matches!(next, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'}')
                {
                    return Err(file.error_at(
                        i,
                        format!("unexpected `{}` right after a quoted string", next as char),
                        Some("separate the arguments with a space".into()),
                    ));
                }
                toks.push(Tok::Word(String::from_utf8_lossy(&word).into_owned(), start));
            }
            _ => {
                let start = i;
                let mut word = Vec::new();
                let mut in_variable_braces = false;
                while let Some(&b) = text.get(i) {
                    match b {
                        b' ' | b'\t' | b'\r' | b'\n' | b';' => break,
                        b'{' if word.last() == Some(&b'$') => {
                            in_variable_braces = true;
                            word.push(b);
                        }
                        b'}' if in_variable_braces => {
                            in_variable_braces = false;
                            word.push(b);
                        }
                        b'{' | b'}' => break,
                        b'\\' if i + 1 < text.len() => {
                            word.extend(unescape(text[i + 1]));
                            i += 1;
                        }
                        _ => word.push(b),
                    }
                    i += 1;
                }
                toks.push(Tok::Word(String::from_utf8_lossy(&word).into_owned(), start));
            }
        }
    }
    Ok(toks)
}

/// NGINX's escapes: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; any other pair is kept.
fn unescape(c: u8) -> Vec<u8> {
    match c {
        b'"' | b'\'' | b'\\' => vec![c],
        b't' => vec![b'\t'],
        b'r' => vec![b'\r'],
        b'n' => vec![b'\n'],
        other => vec![b'\\', other],
    }
}

/// Parses one file into its directives (includes not followed).
pub(crate) fn parse(file: &SourceFile) -> Result<Vec<Directive>, Error> {
    let toks = tokenize(file)?;
    // Each open block: the directive waiting for it and its children so far.
    let mut stack: Vec<(Directive, usize, Vec<Directive>)> = Vec::new();
    let mut top: Vec<Directive> = Vec::new();
    let mut words: Vec<(String, usize)> = Vec::new();
    let end_of =
        |w: &(String, usize)| w.1 + file.text[w.1..].find(char::is_whitespace).unwrap_or(file.text.len() - w.1);
    for tok in toks {
        match tok {
            Tok::Word(w, at) => words.push((w, at)),
            Tok::Semi(at) | Tok::Open(at) if words.is_empty() => {
                let what = if matches!(tok, Tok::Semi(_)) { ";" } else { "{" };
                return Err(file.error_at(at, format!("unexpected `{what}`: expected a directive name first"), None));
            }
            Tok::Semi(_) => {
                let d = directive(file, std::mem::take(&mut words), None);
                match stack.last_mut() {
                    Some((_, _, children)) => children.push(d),
                    None => top.push(d),
                }
            }
            Tok::Open(at) => {
                let d = directive(file, std::mem::take(&mut words), None);
                stack.push((d, at, Vec::new()));
            }
            Tok::Close(at) => {
                if let Some(last) = words.last() {
                    return Err(file.error_at(
                        end_of(last),
                        format!("expected `;` to end the directive `{}`", words[0].0),
                        Some("every directive ends with `;` or a `{ ... }` block".into()),
                    ));
                }
                let Some((mut d, _, children)) = stack.pop() else {
                    return Err(file.error_at(at, "unexpected `}`: no block is open here", None));
                };
                d.block = Some(children);
                match stack.last_mut() {
                    Some((_, _, siblings)) => siblings.push(d),
                    None => top.push(d),
                }
            }
        }
    }
    if let Some(last) = words.last() {
        return Err(file.error_at(
            end_of(last),
            format!("expected `;` to end the directive `{}`", words[0].0),
            Some("every directive ends with `;` or a `{ ... }` block".into()),
        ));
    }
    if let Some((d, open, _)) = stack.last() {
        return Err(file.error_at(
            *open,
            format!("the block of `{}` is never closed: expected `}}`", d.name),
            Some(format!("opened at {}", file.origin(*open))),
        ));
    }
    Ok(top)
}

fn directive(file: &SourceFile, words: Vec<(String, usize)>, block: Option<Vec<Directive>>) -> Directive {
    let mut it = words.into_iter();
    let (name, at) = it.next().expect("callers check for a name");
    Directive {
        name,
        at: file.origin(at),
        args: it.map(|(text, at)| Arg { text, at: file.origin(at) }).collect(),
        block,
    }
}

/// Reads a configuration and every file it includes (relative paths from
/// the main file's directory, as NGINX reads them from its prefix; `*`
/// globs in the last component). The main file may also be crossplane's
/// JSON output (`crossplane parse nginx.conf`), which is NGINX's own parser.
pub(crate) fn read(path: &Path, findings: &mut Findings) -> Result<(Vec<Directive>, Vec<String>), Error> {
    let file = SourceFile::read(path)?;
    let mut files = vec![file.name.to_string()];
    if file.text.trim_start().starts_with('{') {
        return Ok((crossplane(&file)?, files));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut top = parse(&file)?;
    expand_includes(&mut top, &base, findings, &mut files, 0)?;
    Ok((top, files))
}

fn expand_includes(
    list: &mut Vec<Directive>,
    base: &Path,
    findings: &mut Findings,
    files: &mut Vec<String>,
    depth: usize,
) -> Result<(), Error> {
    let mut out = Vec::with_capacity(list.len());
    for mut d in std::mem::take(list) {
        if d.name == "include" && d.block.is_none() && d.args.len() == 1 {
            if depth >= 16 {
                findings.unsupported(&d.at, d.written(), "includes nested more than 16 deep (a loop?): not read");
                continue;
            }
            let paths = resolve(base, &d.args[0].text);
            if paths.is_empty() {
                findings.unsupported(&d.at, d.written(), "no such file: its directives are not imported");
                continue;
            }
            for p in paths {
                let file = SourceFile::read(&p)?;
                files.push(file.name.to_string());
                let mut inner = parse(&file)?;
                expand_includes(&mut inner, base, findings, files, depth + 1)?;
                out.extend(inner);
            }
            continue;
        }
        if let Some(block) = &mut d.block {
            expand_includes(block, base, findings, files, depth)?;
        }
        out.push(d);
    }
    *list = out;
    Ok(())
}

/// The files an `include` argument names, sorted (as NGINX's glob is).
fn resolve(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = base.join(pattern);
    let name = full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !name.contains(['*', '?']) {
        return if full.is_file() { vec![full] } else { Vec::new() };
    }
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| glob_match(&name, &e.file_name().to_string_lossy()) && e.path().is_file())
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    !name.starts_with('.') && go(pattern.as_bytes(), name.as_bytes())
}

/// crossplane's `{"config": [{"file", "parsed": [{"directive", "line",
/// "args", "block", "includes"}]}]}`: the first file is the main one, an
/// `include` lists the indices of the files it pulled in.
fn crossplane(file: &SourceFile) -> Result<Vec<Directive>, Error> {
    let docs = tree::parse_documents(file)?;
    let root = docs.first().ok_or_else(|| file.error_at(0, "the file is empty", None))?;
    let Some(configs) = root.get("config").filter(|c| c.is_seq()) else {
        return Err(file.error_at_origin(
            &root.at,
            "expected crossplane's JSON (an object with a `config` list), or an NGINX configuration",
            Some("produce it with `crossplane parse nginx.conf`".into()),
        ));
    };
    for cfg in configs.items() {
        if let Some(errors) = cfg.get("errors").filter(|e| !e.items().is_empty()) {
            let first = &errors.items()[0];
            let message = first.get("error").and_then(Tree::text).unwrap_or("a parse error");
            return Err(file.error_at_origin(&first.at, format!("crossplane reported: {message}"), None));
        }
    }
    let main = configs.items().first().ok_or_else(|| file.error_at_origin(&configs.at, "`config` is empty", None))?;
    crossplane_block(file, configs.items(), main.get("parsed"), &file_of(main), 0)
}

fn file_of(cfg: &Tree) -> String {
    cfg.get("file").and_then(Tree::text).unwrap_or("nginx.conf").to_string()
}

fn crossplane_block(
    file: &SourceFile,
    configs: &[Tree],
    parsed: Option<&Tree>,
    conf_name: &str,
    depth: usize,
) -> Result<Vec<Directive>, Error> {
    let mut out = Vec::new();
    let Some(parsed) = parsed else { return Ok(out) };
    if depth > 16 {
        return Err(file.error_at_origin(&parsed.at, "includes nested more than 16 deep", None));
    }
    for d in parsed.items() {
        let name = d
            .get("directive")
            .and_then(Tree::text)
            .ok_or_else(|| file.error_at_origin(&d.at, "expected a `directive` name in each parsed entry", None))?;
        let line = d.get("line").and_then(Tree::as_u64).unwrap_or(0) as u32;
        let at = Origin { file: std::sync::Arc::from(conf_name), line, col: 1, offset: d.at.offset };
        if name == "include"
            && let Some(includes) = d.get("includes")
        {
            for idx in includes.items() {
                let Some(cfg) = idx.as_u64().and_then(|i| configs.get(i as usize)) else {
                    return Err(file.error_at_origin(
                        &idx.at,
                        "`includes` names a file index that is not in `config`",
                        None,
                    ));
                };
                out.extend(crossplane_block(file, configs, cfg.get("parsed"), &file_of(cfg), depth + 1)?);
            }
            continue;
        }
        let args = d
            .get("args")
            .map(|a| {
                a.items().iter().map(|x| Arg { text: x.text().unwrap_or("").to_string(), at: at.clone() }).collect()
            })
            .unwrap_or_default();
        let block = match d.get("block") {
            Some(b) => Some(crossplane_block(file, configs, Some(b), conf_name, depth)?),
            None => None,
        };
        out.push(Directive { name: name.to_string(), at, args, block });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Directive>, String> {
        parse(&SourceFile::new("n.conf", text.to_string())).map_err(|e| e.to_string())
    }

    #[test]
    fn directives_blocks_quotes_and_comments() {
        let d = p("# top\nhttp {\n  upstream app { server 10.0.0.1:80 weight=5; } # trailing\n  log_format main '$remote_addr \"x\"' ;\n  set $a \"${b}c\";\n}\n").unwrap();
        assert_eq!(d.len(), 1);
        let http = d[0].block.as_ref().unwrap();
        assert_eq!(http[0].name, "upstream");
        let server = &http[0].block.as_ref().unwrap()[0];
        assert_eq!(server.written(), "server 10.0.0.1:80 weight=5");
        assert_eq!((server.at.line, server.at.col), (3, 18));
        assert_eq!((server.args[1].at.line, server.args[1].at.col), (3, 37));
        assert_eq!(http[1].args[1].text, "$remote_addr \"x\"");
        assert_eq!(http[2].args[1].text, "${b}c");
    }

    #[test]
    fn mistakes_are_located() {
        assert_eq!(p("http {\n  a b\n}\n").unwrap_err(), "n.conf:2:6: expected `;` to end the directive `a`");
        assert_eq!(p("a;\n}\n").unwrap_err(), "n.conf:2:1: unexpected `}`: no block is open here");
        assert_eq!(p("http {\n a;\n").unwrap_err(), "n.conf:1:6: the block of `http` is never closed: expected `}`");
        assert_eq!(p("a 'b;\n").unwrap_err(), "n.conf:1:3: this quoted string is never closed");
        assert_eq!(p("x;\n ;").unwrap_err(), "n.conf:2:2: unexpected `;`: expected a directive name first");
        assert!(p("a \"b\"c;").unwrap_err().starts_with("n.conf:1:6: unexpected `c`"));
    }

    #[test]
    fn globs_match_as_nginx_does() {
        assert!(glob_match("*.conf", "a.conf"));
        assert!(!glob_match("*.conf", "a.conf.bak"));
        assert!(!glob_match("*.conf", ".hidden.conf"));
        assert!(glob_match("site-?.conf", "site-1.conf"));
    }
}
