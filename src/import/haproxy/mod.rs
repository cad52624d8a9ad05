//! `lbsim import haproxy`: `backend` and `listen` sections become balancers
//! (`balance`, servers with `weight`, `check inter fall rise`, `backup`,
//! `disabled`, `maxconn`), their `retries`, `retry-on`, `option
//! redispatch` and `timeout server` the retries of the client group that
//! sends to each; `defaults` sections are inherited as HAProxy inherits them
//! (the last one above, or the one named with `from`).
//!
//! The mapping, keyword by keyword, is in docs/import.md.

mod syntax;

use std::path::PathBuf;

use super::doc::{Item, Node};
use super::{
    BackendDraft, BalancerDraft, ClientDraft, Draft, Findings, Origin, Provenance, ServerDraft, SourceFile, Val,
    duration_ms, entity_name, percent,
};
use crate::error::Error;
use syntax::{Line, Section, time_ms};

/// What a proxy section inherits and sets.
#[derive(Clone, Debug, Default)]
struct Settings {
    balance: Option<Line>,
    hash_type: Option<Line>,
    retries: Option<Line>,
    retry_on: Option<Line>,
    redispatch: Option<(bool, Line)>,
    allbackups: Option<(bool, Line)>,
    /// `timeout <kind> <time>`, by kind.
    timeouts: Vec<(String, Line)>,
    default_server: Vec<Line>,
}

impl Settings {
    fn timeout(&self, kind: &str) -> Option<&Line> {
        self.timeouts.iter().rev().find(|(k, _)| k == kind).map(|(_, l)| l)
    }
}

/// Server parameters that take a value (the rest are flags).
const VALUED: [&str; 52] = [
    "weight",
    "inter",
    "fastinter",
    "downinter",
    "rise",
    "fall",
    "port",
    "addr",
    "maxconn",
    "maxqueue",
    "minconn",
    "slowstart",
    "cookie",
    "id",
    "resolvers",
    "resolve-prefer",
    "resolve-net",
    "resolve-opts",
    "init-addr",
    "error-limit",
    "on-error",
    "on-marked-down",
    "on-marked-up",
    "observe",
    "agent-port",
    "agent-inter",
    "agent-addr",
    "agent-send",
    "track",
    "ca-file",
    "crt",
    "sni",
    "alpn",
    "proto",
    "check-sni",
    "check-alpn",
    "check-proto",
    "verify",
    "verifyhost",
    "ciphers",
    "ciphersuites",
    "ssl-min-ver",
    "ssl-max-ver",
    "pool-max-conn",
    "pool-purge-delay",
    "pool-low-conn",
    "max-reuse",
    "source",
    "namespace",
    "redir",
    "socks4",
    "hash-key",
];

/// One server line's parameters, `default-server` ones first.
struct Params<'a> {
    list: Vec<(&'a str, Option<&'a str>, &'a Origin)>,
}

impl<'a> Params<'a> {
    /// `default-server` lines (from their first word) then the server line
    /// (from word `skip`).
    fn of(defaults: &'a [Line], server: &'a Line, skip: usize) -> Params<'a> {
        let mut list = Vec::new();
        let lines = defaults.iter().map(|l| (l, 1)).chain(std::iter::once((server, skip)));
        for (line, from) in lines {
            let words = line.words.get(from..).unwrap_or_default();
            let mut i = 0;
            while i < words.len() {
                let (key, at) = (&words[i].0, &words[i].1);
                if VALUED.contains(&key.as_str()) {
                    list.push((key.as_str(), words.get(i + 1).map(|w| w.0.as_str()), at));
                    i += 2;
                } else {
                    list.push((key.as_str(), None, at));
                    i += 1;
                }
            }
        }
        Params { list }
    }

    /// The last value of `key`, with its place.
    fn get(&self, key: &str) -> Option<(Option<&'a str>, &'a Origin)> {
        self.list.iter().rev().find(|(k, _, _)| *k == key).map(|(_, v, at)| (*v, *at))
    }

    fn flag(&self, on: &str, off: &str) -> Option<&'a Origin> {
        self.list
            .iter()
            .rev()
            .find(|(k, _, _)| *k == on || *k == off)
            .filter(|(k, _, _)| *k == on)
            .map(|(_, _, at)| *at)
    }
}

/// Reads HAProxy configuration files into a draft.
pub(crate) fn import(paths: &[PathBuf]) -> Result<Draft, Error> {
    let mut draft = Draft::new("haproxy");
    let mut sections = Vec::new();
    for path in paths {
        let file = SourceFile::read(path)?;
        draft.files.push(file.name.to_string());
        sections.extend(syntax::parse(&file)?);
    }
    from_sections(draft, sections)
}

/// The configuration `text`, as a file called `name`: for the fuzz target.
pub(crate) fn import_text(name: &str, text: &str) -> Result<Draft, Error> {
    let mut draft = Draft::new("haproxy");
    draft.files.push(name.to_string());
    let sections = syntax::parse(&SourceFile::new(name, text.to_string()))?;
    from_sections(draft, sections)
}

fn from_sections(mut draft: Draft, sections: Vec<Section>) -> Result<Draft, Error> {
    let mut defaults: Vec<(Option<String>, Settings)> = Vec::new();
    let mut spread: Option<(f64, Origin)> = None;
    let mut used: Vec<(String, Origin, String)> = Vec::new();
    let mut proxies: Vec<(Section, Settings)> = Vec::new();
    for s in sections {
        match s.kind() {
            "global" => global(&s, &mut spread, &mut draft.findings),
            "defaults" => {
                let base = match s.header.words.iter().position(|(w, _)| w == "from") {
                    Some(i) => named_defaults(&defaults, &s, i)?,
                    None => Settings::default(),
                };
                let settings = proxy_lines(&s, base, false, &mut draft.findings)?;
                let name = s.name().filter(|n| *n != "from").map(str::to_string);
                defaults.push((name, settings));
            }
            "frontend" => frontend(&s, &mut used, &mut draft.findings),
            "backend" | "listen" => {
                let base = match s.header.words.iter().position(|(w, _)| w == "from") {
                    Some(i) => named_defaults(&defaults, &s, i)?,
                    None => defaults.last().map(|(_, d)| d.clone()).unwrap_or_default(),
                };
                let settings = proxy_lines(&s, base, true, &mut draft.findings)?;
                if s.kind() == "listen" {
                    let name = s.name().unwrap_or_default().to_string();
                    used.push((name, s.header.at().clone(), s.header.written()));
                }
                proxies.push((s, settings));
            }
            _ => draft.findings.ignore(format!("{} section", s.kind()), s.header.at()),
        }
    }
    for (s, settings) in &proxies {
        let Some(name) = s.name() else {
            return Err(super::error_at(s.header.at(), format!("`{}` needs a name", s.kind())));
        };
        let b = balancer(name, s, settings, spread.as_ref(), &mut draft)?;
        draft.balancers.push(b);
    }
    for (s, settings) in &proxies {
        let name = entity_name(s.name().unwrap_or_default());
        let from = used
            .iter()
            .find(|(b, _, _)| entity_name(b) == name)
            .map(|(_, at, text)| Provenance::at(at, text.clone()))
            .unwrap_or_else(|| Provenance::Default("no frontend in the input sends to this backend".into()));
        let mut client = ClientDraft::new(name.clone(), &name, from);
        let servers = draft.balancers.iter().find(|b| b.name == name).map_or(0, |b| b.backends.len());
        if let Some(retry) = retry(s, settings, servers, &mut draft.findings) {
            client.fields.set("retry", retry);
        }
        draft.clients.push(client);
    }
    for (b, at, text) in &used {
        if !proxies.iter().any(|(s, _)| s.name() == Some(b.as_str())) {
            draft.findings.unsupported(at, text, format!("no backend `{b}` in the input: nothing is imported for it"));
        }
    }
    Ok(draft)
}

fn named_defaults(defaults: &[(Option<String>, Settings)], s: &Section, i: usize) -> Result<Settings, Error> {
    let Some((name, at)) = s.header.words.get(i + 1) else {
        return Err(super::error_at(&s.header.words[i].1, "`from` needs the name of a defaults section"));
    };
    defaults
        .iter()
        .rev()
        .find(|(n, _)| n.as_deref() == Some(name))
        .map(|(_, d)| d.clone())
        .ok_or_else(|| super::error_at(at, format!("no `defaults {name}` section above this one")))
}

fn global(s: &Section, spread: &mut Option<(f64, Origin)>, findings: &mut Findings) {
    for l in &s.lines {
        match l.keyword() {
            "spread-checks" => {
                if let Some(p) = l.arg(1).and_then(|a| a.parse::<f64>().ok()) {
                    *spread = Some((p, l.at().clone()));
                }
            }
            "maxconn" => findings.unsupported(
                l.at(),
                l.written(),
                "lbsim does not cap the proxy's connections: every request is accepted",
            ),
            k => findings.ignore(format!("global {k}"), l.at()),
        }
    }
}

fn frontend(s: &Section, used: &mut Vec<(String, Origin, String)>, findings: &mut Findings) {
    for l in &s.lines {
        match l.keyword() {
            "default_backend" | "use_backend" => match l.arg(1) {
                Some(b) if !b.contains('%') => used.push((b.to_string(), l.at().clone(), l.written())),
                _ => findings.unsupported(l.at(), l.written(), "the backend is computed per request: not imported"),
            },
            "maxconn" | "rate-limit" => findings.unsupported(
                l.at(),
                l.written(),
                "lbsim does not limit the proxy's connections or rate: every request goes through",
            ),
            k => traffic_rule(l, k, findings),
        }
    }
}

/// `http-request deny` and the like refuse traffic lbsim would send on.
fn traffic_rule(l: &Line, k: &str, findings: &mut Findings) {
    let refusing = matches!(k, "http-request" | "tcp-request" | "http-response")
        && l.words.iter().skip(1).any(|(w, _)| {
            matches!(
                w.as_str(),
                "deny"
                    | "reject"
                    | "tarpit"
                    | "return"
                    | "redirect"
                    | "silent-drop"
                    | "track-sc0"
                    | "track-sc1"
                    | "track-sc2"
            )
        });
    if refusing {
        findings.unsupported(l.at(), l.written(), "lbsim does not filter or rate-limit requests at the proxy");
    } else {
        findings.ignore(k, l.at());
    }
}

/// Reads a defaults, backend or listen section's settings over `base`;
/// server lines are left for [`balancer`].
fn proxy_lines(s: &Section, mut set: Settings, proxy: bool, findings: &mut Findings) -> Result<Settings, Error> {
    for l in &s.lines {
        let k = l.keyword();
        match k {
            "balance" => set.balance = Some(l.clone()),
            "hash-type" => set.hash_type = Some(l.clone()),
            "retries" => {
                if l.arg(1).and_then(|a| a.parse::<u32>().ok()).is_none() {
                    return Err(super::error_at(&l.words[0].1, "`retries` expects a whole number: `retries 3`"));
                }
                set.retries = Some(l.clone());
            }
            "retry-on" => set.retry_on = Some(l.clone()),
            "timeout" => {
                let (Some(kind), Some(t)) = (l.arg(1), l.arg(2)) else {
                    return Err(super::error_at(l.at(), "`timeout` expects a kind and a time: `timeout server 30s`"));
                };
                if time_ms(t).is_none() {
                    return Err(super::error_at(
                        &l.words[2].1,
                        format!("`{t}` is not a time: expected like 30s or 500ms"),
                    ));
                }
                set.timeouts.push((kind.to_string(), l.clone()));
            }
            "default-server" => set.default_server.push(l.clone()),
            "option" | "no" => option(l, &mut set, findings),
            "server" | "server-template" if proxy => {}
            "server" | "server-template" => findings.unsupported(l.at(), l.written(), "a server outside a backend"),
            "cookie" | "stick-table" | "stick" | "persist" | "use-server" | "force-persist" | "ignore-persist" => {
                findings.unsupported(l.at(), l.written(), "lbsim has no session persistence: requests are balanced")
            }
            "hash-balance-factor" => {
                findings.unsupported(l.at(), l.written(), "lbsim's consistent hashing has no load bound")
            }
            "maxconn" | "fullconn" | "rate-limit" => findings.unsupported(
                l.at(),
                l.written(),
                "lbsim does not cap the proxy's connections: every request goes to a server",
            ),
            "disabled" => findings.unsupported(l.at(), l.written(), "the section is imported as if enabled"),
            "mode"
            | "log"
            | "bind"
            | "acl"
            | "description"
            | "id"
            | "stats"
            | "capture"
            | "compression"
            | "errorfile"
            | "errorfiles"
            | "http-reuse"
            | "unique-id-format"
            | "unique-id-header"
            | "monitor-uri"
            | "http-check"
            | "tcp-check"
            | "email-alert"
            | "log-format"
            | "error-log-format"
            | "http-error"
            | "max-keep-alive-queue"
            | "default_backend"
            | "use_backend"
            | "external-check"
            | "enabled" => findings.ignore(k, l.at()),
            _ => traffic_rule_or_unknown(l, k, findings),
        }
    }
    Ok(set)
}

fn traffic_rule_or_unknown(l: &Line, k: &str, findings: &mut Findings) {
    if matches!(k, "http-request" | "tcp-request" | "http-response" | "tcp-response" | "http-after-response") {
        traffic_rule(l, k, findings);
    } else {
        findings.unsupported(l.at(), l.written(), "not a keyword lbsim models");
    }
}

fn option(l: &Line, set: &mut Settings, findings: &mut Findings) {
    let (enabled, name) = if l.keyword() == "no" { (false, l.arg(2)) } else { (true, l.arg(1)) };
    match name {
        Some("redispatch") => set.redispatch = Some((enabled, l.clone())),
        Some("allbackups") => set.allbackups = Some((enabled, l.clone())),
        Some("persist" | "prefer-last-server") if enabled => {
            findings.unsupported(l.at(), l.written(), "lbsim has no session persistence: requests are balanced");
        }
        _ => findings.ignore(
            l.written().split_whitespace().take(if enabled { 2 } else { 3 }).collect::<Vec<_>>().join(" "),
            l.at(),
        ),
    }
}

/// A server's name in the scenario: its HAProxy name, unless another
/// server (another address) already has it; then `<backend>-<name>`.
fn server_name(draft: &Draft, backend: &str, name: &str, address: &str) -> String {
    let plain = entity_name(name);
    match draft.server(&plain) {
        None => plain,
        Some(s) if s.aliases.iter().any(|a| a == address) => plain,
        Some(_) => entity_name(&format!("{backend}-{name}")),
    }
}

fn balancer(
    name: &str,
    s: &Section,
    set: &Settings,
    spread: Option<&(f64, Origin)>,
    draft: &mut Draft,
) -> Result<BalancerDraft, Error> {
    let mut b = BalancerDraft::new(entity_name(name), Provenance::at(s.header.at(), s.header.written()));
    balance(set, &mut b, &mut draft.findings);
    let mut checks: Vec<(Origin, f64, u32, u32)> = Vec::new();
    let mut unchecked: Vec<Origin> = Vec::new();
    let mut maxconns: Vec<(u32, Origin)> = Vec::new();
    let mut observe: Option<(u32, Origin)> = None;
    let mut backups = 0;
    for l in s.lines.iter().filter(|l| matches!(l.keyword(), "server" | "server-template")) {
        let template = l.keyword() == "server-template";
        let skip = if template { 4 } else { 3 };
        let (Some(sname), Some(address)) = (l.arg(1), l.arg(if template { 3 } else { 2 })) else {
            return Err(super::error_at(
                l.at(),
                if template {
                    "`server-template` expects a prefix, a count and an address: `server-template web 1-3 app.local:80`"
                } else {
                    "`server` expects a name and an address: `server web1 10.0.0.1:8080 check`"
                },
            ));
        };
        let names: Vec<String> = if template {
            let count = l.arg(2).unwrap_or_default();
            let (lo, hi) = count.split_once('-').map_or(("1", count), |(a, b)| (a, b));
            let (Ok(lo), Ok(hi)) = (lo.parse::<u32>(), hi.parse::<u32>()) else {
                return Err(super::error_at(&l.words[2].1, "expected a count (`3`) or a range (`1-3`)"));
            };
            draft.findings.approximated(
                l.at(),
                l.written(),
                "the servers are filled from DNS at run time; lbsim takes every slot as a server that is up",
            );
            (lo..=hi).map(|i| format!("{sname}{i}")).collect()
        } else {
            vec![sname.to_string()]
        };
        let params = Params::of(&set.default_server, l, skip);
        server_params(&params, &mut draft.findings)?;
        for n in names {
            let scenario_name = server_name(draft, name, &n, address);
            let from = Provenance::at(l.at(), l.written());
            let mut server = ServerDraft::new(&scenario_name, from.clone());
            server.aliases.extend([address.to_string(), format!("{name}/{n}")]);
            if draft.server(&scenario_name).is_none() {
                draft.servers.push(server);
            } else if let Some(existing) = draft.server_mut(&scenario_name) {
                existing.aliases.push(format!("{name}/{n}"));
            }
            if b.backend(&scenario_name).is_some() {
                return Err(super::error_at(l.at(), format!("server `{n}` is listed twice in `{name}`")));
            }
            let mut be = BackendDraft { server: scenario_name, from, weight: None, backup: None, out: None };
            if let Some((w, at)) = params.get("weight") {
                be.weight = Some(Val::new(
                    w.unwrap_or_default(),
                    Provenance::at(at, format!("weight {}", w.unwrap_or_default())),
                ));
            }
            if let Some(at) = params.flag("backup", "no-backup") {
                be.backup = Some(Provenance::at(at, "backup"));
                backups += 1;
            }
            if let Some(at) = params.flag("disabled", "enabled") {
                be.out = Some(Provenance::at(at, "disabled: in maintenance"));
            }
            b.backends.push(be);
        }
        if params.flag("check", "no-check").is_some() {
            let inter = params.get("inter").and_then(|(v, _)| v).and_then(time_ms).unwrap_or(2000.0);
            let fall = params.get("fall").and_then(|(v, _)| v).and_then(|v| v.parse().ok()).unwrap_or(3);
            let rise = params.get("rise").and_then(|(v, _)| v).and_then(|v| v.parse().ok()).unwrap_or(2);
            checks.push((l.at().clone(), inter, fall, rise));
        } else {
            unchecked.push(l.at().clone());
        }
        if let Some((Some(m), at)) = params.get("maxconn") {
            maxconns.push((m.parse().unwrap_or(0), at.clone()));
        }
        if let Some((Some(_), at)) = params.get("observe") {
            let limit = params.get("error-limit").and_then(|(v, _)| v).and_then(|v| v.parse().ok()).unwrap_or(10);
            observe.get_or_insert((limit, at.clone()));
        }
    }
    if b.backends.is_empty() {
        draft.findings.unsupported(
            s.header.at(),
            s.header.written(),
            "a backend without servers: lbsim's balancer refuses every request",
        );
    }
    if backups > 1 && !set.allbackups.as_ref().is_some_and(|(on, _)| *on) {
        draft.findings.approximated(
            s.header.at(),
            s.header.written(),
            "without `option allbackups` HAProxy uses only the first backup; lbsim uses them all",
        );
    }
    health(&mut b, set, &checks, &unchecked, spread, &mut draft.findings);
    max_conn(&mut b, set, &maxconns, &mut draft.findings);
    if let Some((limit, at)) = observe {
        let od = b.fields.child("outlier_detection");
        od.comment = Some("HAProxy observe: consecutive errors mark a server down".into());
        od.set(
            "consecutive_failures",
            Val::new(limit.to_string(), Provenance::at(&at, format!("error-limit {limit}"))).item(),
        );
        od.set(
            "max_ejection_percent",
            Val::new(percent(1.0), Provenance::Default("HAProxy may mark every server down".into())).item(),
        );
        draft.findings.approximated(
            &at,
            "observe",
            "HAProxy keeps the server down until its checks pass again; lbsim ejects it for base_ejection_time",
        );
    }
    Ok(b)
}

fn server_params(params: &Params<'_>, findings: &mut Findings) -> Result<(), Error> {
    for &(k, v, at) in &params.list {
        let number = |max: u32| -> Result<(), Error> {
            match v.and_then(|v| v.parse::<u32>().ok()) {
                Some(n) if n <= max => Ok(()),
                _ => Err(super::error_at(
                    at,
                    format!("`{k}` expects a whole number from 0 to {max}, not `{}`", v.unwrap_or("")),
                )),
            }
        };
        match k {
            "weight" => number(256)?,
            "rise" | "fall" | "error-limit" => number(1_000_000)?,
            "maxconn" | "maxqueue" => number(u32::MAX)?,
            "inter" | "fastinter" | "downinter" | "slowstart" if v.and_then(time_ms).is_none() => {
                return Err(super::error_at(at, format!("`{k}` expects a time like 2s, not `{}`", v.unwrap_or(""))));
            }
            _ => {}
        }
        let written = format!("{k} {}", v.unwrap_or("")).trim().to_string();
        match k {
            "weight" | "check" | "no-check" | "backup" | "no-backup" | "disabled" | "enabled" | "inter" | "rise"
            | "fall" | "maxconn" | "observe" | "error-limit" | "on-error" => {}
            "fastinter" | "downinter" => findings.unsupported(at, written, "lbsim probes at one interval"),
            "slowstart" => findings.unsupported(at, written, "lbsim has no slow start: a server takes its full weight"),
            "maxqueue" => findings.unsupported(at, written, "lbsim balancers do not queue"),
            "track" | "agent-check" | "redir" | "on-marked-down" | "on-marked-up" => {
                findings.unsupported(at, written, "not a server behaviour lbsim models")
            }
            _ => findings.ignore(format!("server {k}"), at),
        }
    }
    Ok(())
}

fn balance(set: &Settings, b: &mut BalancerDraft, findings: &mut Findings) {
    let Some(l) = &set.balance else {
        b.set(
            "algorithm",
            Val::new(
                "round_robin",
                Provenance::Default("HAProxy default before 3.3: balance roundrobin (3.3 defaults to random)".into()),
            ),
        );
        return;
    };
    let from = Provenance::at(l.at(), l.written());
    let algo = l.arg(1).unwrap_or("roundrobin");
    let consistent = set.hash_type.as_ref().is_some_and(|h| h.arg(1) == Some("consistent"));
    let hashing = |why: &str, findings: &mut Findings| {
        if !consistent {
            findings.approximated(
                l.at(),
                l.written(),
                "map-based hashing (HAProxy's default hash-type) moves most keys when a server changes; lbsim uses a ketama ring",
            );
        }
        if !why.is_empty() {
            findings.approximated(l.at(), l.written(), why.to_string());
        }
        "consistent_hash"
    };
    let algorithm = match algo {
        "roundrobin" | "static-rr" => "round_robin",
        "leastconn" => "least_connections",
        "first" => "first",
        "source" => hashing("", findings),
        a if a == "random" || a.starts_with("random(") => {
            let draws = a
                .strip_prefix("random(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(2);
            if draws <= 1 {
                "random"
            } else {
                b.set("algorithm", Val::new("power_of_two_choices", from.clone()));
                b.set("choices", Val::new(draws.to_string(), from));
                return;
            }
        }
        "uri" | "url_param" | "rdp-cookie" | "hash" => {
            hashing(&format!("lbsim hashes the user id, not the request's {algo}"), findings)
        }
        a if a.starts_with("hdr(") || a.starts_with("rdp-cookie(") => {
            hashing("lbsim hashes the user id, not a header", findings)
        }
        other => {
            findings.unsupported(
                l.at(),
                l.written(),
                format!("`{other}` is not a balance algorithm lbsim knows: round robin instead"),
            );
            "round_robin"
        }
    };
    b.set("algorithm", Val::new(algorithm, from));
}

/// `check` on every server: one health check for the balancer.
fn health(
    b: &mut BalancerDraft,
    set: &Settings,
    checks: &[(Origin, f64, u32, u32)],
    unchecked: &[Origin],
    spread: Option<&(f64, Origin)>,
    findings: &mut Findings,
) {
    let Some((first, inter, fall, rise)) = checks.first() else { return };
    if let Some(o) = unchecked.first() {
        findings.approximated(
            o,
            "server without check",
            "lbsim checks every backend of a balancer or none: this one is checked too",
        );
    }
    if checks.iter().any(|(_, i, f, r)| (i, f, r) != (inter, fall, rise)) {
        findings.approximated(first, "check inter/fall/rise", "servers differ: lbsim uses this server's for all");
    }
    let from = |what: String| Provenance::at(first, what);
    let hc = b.fields.child("health_check");
    hc.comment = Some(format!("HAProxy `check` ({})", first.short()));
    hc.set("interval", Val::new(duration_ms(*inter), from(format!("inter {}", duration_ms(*inter)))).item());
    let timeout = match set.timeout("check") {
        Some(l) => {
            Val::new(duration_ms(time_ms(l.arg(2).unwrap_or("0")).unwrap_or(0.0)), Provenance::at(l.at(), l.written()))
        }
        None => Val::new(
            duration_ms(*inter),
            Provenance::Default("HAProxy: without `timeout check`, inter bounds a check".into()),
        ),
    };
    hc.set("timeout", timeout.item());
    hc.set("unhealthy_threshold", Val::new(fall.to_string(), from(format!("fall {fall}"))).item());
    hc.set("healthy_threshold", Val::new(rise.to_string(), from(format!("rise {rise}"))).item());
    if let Some((p, at)) = spread
        && *p > 0.0
    {
        hc.set(
            "jitter",
            Val::new(percent((p / 100.0).min(0.5)), Provenance::at(at, format!("spread-checks {p}"))).item(),
        );
    }
}

/// `maxconn` on servers: exact for `balance first` (its slots), not
/// modelled otherwise (HAProxy queues the excess at the proxy).
fn max_conn(b: &mut BalancerDraft, set: &Settings, maxconns: &[(u32, Origin)], findings: &mut Findings) {
    let Some((m, at)) = maxconns.first() else { return };
    let first = set.balance.as_ref().and_then(|l| l.arg(1)) == Some("first");
    if first && m > &0 {
        b.set("max_conn", Val::new(m.to_string(), Provenance::at(at, format!("maxconn {m}"))));
        if maxconns.iter().any(|(x, _)| x != m) {
            findings.approximated(
                at,
                format!("maxconn {m}"),
                "servers differ: lbsim's `first` uses one slot count for all",
            );
        }
    } else {
        for (m, at) in maxconns {
            findings.unsupported(
                at,
                format!("maxconn {m}"),
                "lbsim balancers do not cap connections per server (HAProxy queues the excess at the proxy)",
            );
        }
    }
}

/// The client group's retries: `retries` (3) more tries on `retry-on`
/// (connection failures), each bounded by `timeout server`.
fn retry(s: &Section, set: &Settings, servers: usize, findings: &mut Findings) -> Option<Item> {
    let mut retry = Item::map(None);
    let retries = set.retries.as_ref().and_then(|l| l.arg(1)).and_then(|a| a.parse::<u32>().ok()).unwrap_or(3);
    let mut on: Vec<&'static str> = Vec::new();
    let on_from = match &set.retry_on {
        Some(l) => {
            for (w, at) in &l.words[1..] {
                let kinds: &[&'static str] = match w.as_str() {
                    "none" => &[],
                    "conn-failure" => &["refused"],
                    "empty-response" => &["reset"],
                    "response-timeout" => &["timeout"],
                    "500" | "501" | "502" | "504" => &["server_error"],
                    "503" => &["server_error", "rejected"],
                    "all-retryable-errors" => &["refused", "reset", "timeout", "server_error", "rejected"],
                    "junk-response" | "0rtt-rejected" => &[],
                    other => {
                        findings.unsupported(at, other, "lbsim's responses have no such status: not retried on it");
                        &[]
                    }
                };
                for k in kinds {
                    if !on.contains(k) {
                        on.push(k);
                    }
                }
            }
            Provenance::at(l.at(), l.written())
        }
        None => {
            on.push("refused");
            Provenance::Default("HAProxy default: retry-on conn-failure".into())
        }
    };
    let tries = retries + 1;
    let try_timeout = set.timeout("server");
    if (retries == 0 || on.is_empty()) && try_timeout.is_none() {
        return None;
    }
    let attempts_from = match &set.retries {
        Some(l) => Provenance::at(l.at(), format!("{} (and the first try)", l.written())),
        None => Provenance::Default("HAProxy default: retries 3 (and the first try)".into()),
    };
    let active = retries > 0 && !on.is_empty() && servers > 0;
    retry.set("attempts", Val::new(if active { tries.min(100) } else { 1 }.to_string(), attempts_from).item());
    if let Some(l) = try_timeout {
        let ms = time_ms(l.arg(2).unwrap_or("0")).unwrap_or(0.0);
        if ms > 0.0 {
            retry.set("per_try_timeout", Val::new(duration_ms(ms), Provenance::at(l.at(), l.written())).item());
        }
    }
    for kind in ["connect", "queue"] {
        if let Some(l) = set.timeout(kind) {
            let why = if kind == "connect" {
                "lbsim has no connection setup: a down server refuses at once"
            } else {
                "lbsim balancers do not queue"
            };
            findings.unsupported(l.at(), l.written(), why);
        }
    }
    if active {
        let redispatch = set.redispatch.as_ref().filter(|(on, _)| *on);
        let delay = match redispatch {
            Some(_) => "1us".to_string(),
            None => {
                let connect = set.timeout("connect").and_then(|l| time_ms(l.arg(2)?)).unwrap_or(1000.0);
                duration_ms(connect.clamp(0.001, 1000.0))
            }
        };
        let why = match redispatch {
            Some((_, l)) => format!("{} {}: the next try goes to another server at once", l.at().short(), l.written()),
            None => "HAProxy waits min(timeout connect, 1s) before retrying".to_string(),
        };
        if redispatch.is_none() {
            findings.approximated(
                s.header.at(),
                s.header.written(),
                "without `option redispatch` HAProxy retries the same server; lbsim's retries are balanced again",
            );
        }
        retry.set(
            "backoff",
            Item::flow_map(
                vec![
                    ("base".into(), Item::scalar(&delay, None)),
                    ("max".into(), Item::scalar(&delay, None)),
                    ("jitter".into(), Item::scalar("none", None)),
                ],
                Some(why),
            ),
        );
        retry.set(
            "on",
            Item {
                node: Node::Seq(on.iter().map(|k| Item::scalar(*k, None)).collect(), true),
                comment: on_from.comment(),
            },
        );
    }
    Some(retry)
}

#[cfg(test)]
mod tests;
