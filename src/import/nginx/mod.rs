//! `lbsim import nginx`: NGINX `upstream` blocks become balancers and their
//! servers, and the `proxy_pass` (or `grpc_pass`, `fastcgi_pass`, ...) that
//! names each upstream gives its client group the retries and timeouts of
//! `proxy_next_upstream*` and `proxy_*_timeout`, inherited from `http` to
//! `server` to `location` as NGINX inherits them.
//!
//! The mapping, directive by directive, is in docs/import.md.

mod syntax;

use std::path::PathBuf;

use super::doc::Item;
use super::{
    BackendDraft, BalancerDraft, ClientDraft, Draft, Findings, Origin, Provenance, ServerDraft, Val, duration_ms,
    entity_name, percent,
};
use crate::error::Error;
use syntax::Directive;

/// The proxying modules that pass requests to an upstream; each has its own
/// `*_next_upstream*` and `*_timeout` directives.
const MODULES: [&str; 6] = ["proxy", "grpc", "fastcgi", "uwsgi", "scgi", "memcached"];

/// Settings inherited by nested contexts: directive name -> the directive.
type Settings = Vec<(String, Directive)>;

fn setting<'a>(s: &'a Settings, name: &str) -> Option<&'a Directive> {
    s.iter().rev().find(|(n, _)| n == name).map(|(_, d)| d)
}

/// A directive that proxies to an upstream, with the settings in force there.
struct Pass {
    module: &'static str,
    stream: bool,
    directive: Directive,
    settings: Settings,
}

struct Server {
    address: String,
    directive: Directive,
    weight: Option<(u32, Origin)>,
    max_fails: Option<(u32, Origin)>,
    fail_timeout: Option<(f64, Origin)>,
    backup: Option<Origin>,
    down: Option<Origin>,
}

struct Upstream {
    name: String,
    directive: Directive,
    method: Option<Directive>,
    servers: Vec<Server>,
}

/// Reads NGINX configuration files (with their includes) into a draft.
pub(crate) fn import(paths: &[PathBuf]) -> Result<Draft, Error> {
    let mut draft = Draft::new("nginx");
    let mut all = Vec::new();
    for path in paths {
        let (directives, files) = syntax::read(path, &mut draft.findings)?;
        draft.files.extend(files);
        all.extend(directives);
    }
    from_directives(draft, &all)
}

/// The configuration `text` alone, as a file called `name` (its includes
/// not followed): for the fuzz target.
pub(crate) fn import_text(name: &str, text: &str) -> Result<Draft, Error> {
    let mut draft = Draft::new("nginx");
    draft.files.push(name.to_string());
    let all = syntax::parse(&super::SourceFile::new(name, text.to_string()))?;
    from_directives(draft, &all)
}

fn from_directives(mut draft: Draft, all: &[Directive]) -> Result<Draft, Error> {
    let mut upstreams = Vec::new();
    let mut passes = Vec::new();
    walk(all, &Vec::new(), false, &mut upstreams, &mut passes, &mut draft.findings)?;
    for u in &upstreams {
        let balancer = balancer(u, &mut draft)?;
        draft.balancers.push(balancer);
    }
    clients(&upstreams, &passes, &mut draft);
    Ok(draft)
}

/// Goes through one context: its settings first (they apply to the whole
/// block, whatever the order), then its directives and nested blocks.
fn walk(
    list: &[Directive],
    inherited: &Settings,
    stream: bool,
    upstreams: &mut Vec<Upstream>,
    passes: &mut Vec<Pass>,
    findings: &mut Findings,
) -> Result<(), Error> {
    let mut settings = inherited.clone();
    for d in list {
        if is_setting(&d.name) {
            settings.push((d.name.clone(), d.clone()));
        }
    }
    for d in list {
        let name = d.name.as_str();
        match (name, &d.block) {
            ("upstream", Some(block)) => upstreams.push(upstream(d, block, findings)?),
            ("http", Some(block)) => walk(block, &settings, false, upstreams, passes, findings)?,
            ("stream", Some(block)) => walk(block, &settings, true, upstreams, passes, findings)?,
            ("server" | "location" | "if" | "limit_except", Some(block)) => {
                walk(block, &settings, stream, upstreams, passes, findings)?;
            }
            ("split_clients", Some(_)) => {
                findings.unsupported(&d.at, d.written(), "lbsim does not split traffic by a hashed key");
            }
            _ if d.block.is_none() && is_setting(name) => {}
            _ if d.block.is_none() && pass_module(name).is_some() => passes.push(Pass {
                module: pass_module(name).expect("checked"),
                stream,
                directive: d.clone(),
                settings: settings.clone(),
            }),
            ("limit_req" | "limit_conn" | "limit_rate", None) => findings.unsupported(
                &d.at,
                d.written(),
                "lbsim does not rate-limit or cap requests at the proxy: every request goes to the upstream",
            ),
            ("mirror", None) if d.args.first().is_some_and(|a| a.text != "off") => findings.unsupported(
                &d.at,
                d.written(),
                "mirrored requests are not simulated: the mirror's load is missing",
            ),
            _ if d.block.is_none() && is_cache(d) => findings.unsupported(
                &d.at,
                d.written(),
                "lbsim has no cache: every request reaches the upstream, so its load is overstated",
            ),
            _ => findings.ignore(name, &d.at),
        }
    }
    Ok(())
}

fn is_setting(name: &str) -> bool {
    MODULES.iter().any(|m| {
        name.strip_prefix(m).and_then(|r| r.strip_prefix('_')).is_some_and(|rest| {
            matches!(
                rest,
                "next_upstream"
                    | "next_upstream_tries"
                    | "next_upstream_timeout"
                    | "connect_timeout"
                    | "read_timeout"
                    | "send_timeout"
                    | "timeout"
            )
        })
    })
}

fn pass_module(name: &str) -> Option<&'static str> {
    MODULES.iter().copied().find(|m| name.strip_prefix(m) == Some("_pass"))
}

fn is_cache(d: &Directive) -> bool {
    MODULES.iter().any(|m| d.name == format!("{m}_cache")) && d.args.first().is_some_and(|a| a.text != "off")
}

fn upstream(d: &Directive, block: &[Directive], findings: &mut Findings) -> Result<Upstream, Error> {
    let Some(name) = d.args.first() else {
        return Err(located(&d.at, "`upstream` needs a name: `upstream backend { ... }`"));
    };
    let mut u = Upstream { name: name.text.clone(), directive: d.clone(), method: None, servers: Vec::new() };
    for x in block {
        match x.name.as_str() {
            "server" => u.servers.push(server(x, findings)?),
            "least_conn" | "ip_hash" | "hash" | "random" | "least_time" => u.method = Some(x.clone()),
            "keepalive" | "keepalive_requests" | "keepalive_time" | "keepalive_timeout" => {
                findings.ignore(&x.name, &x.at);
            }
            "zone" | "resolver" | "resolver_timeout" => findings.ignore(&x.name, &x.at),
            "sticky" => {
                findings.unsupported(&x.at, x.written(), "lbsim has no session persistence: requests are balanced")
            }
            "queue" => findings.unsupported(
                &x.at,
                x.written(),
                "lbsim balancers do not queue: a request goes to a server at once",
            ),
            _ => findings.unsupported(&x.at, x.written(), "not an upstream directive lbsim models"),
        }
    }
    if u.servers.is_empty() {
        return Err(located(&d.at, format!("upstream `{}` has no `server`", u.name)));
    }
    Ok(u)
}

fn server(d: &Directive, findings: &mut Findings) -> Result<Server, Error> {
    let Some(address) = d.args.first() else {
        return Err(located(&d.at, "`server` needs an address: `server 10.0.0.1:8080 weight=2;`"));
    };
    let mut s = Server {
        address: address.text.clone(),
        directive: d.clone(),
        weight: None,
        max_fails: None,
        fail_timeout: None,
        backup: None,
        down: None,
    };
    for a in &d.args[1..] {
        let (key, value) = a.text.split_once('=').map_or((a.text.as_str(), None), |(k, v)| (k, Some(v)));
        let number = |what: &str, min: u32| -> Result<u32, Error> {
            value.and_then(|v| v.parse::<u32>().ok()).filter(|&n| n >= min).ok_or_else(|| {
                located(
                    &a.at,
                    format!("`{what}=` expects a whole number, {min} or more, not `{}`", value.unwrap_or("")),
                )
            })
        };
        match key {
            "weight" => s.weight = Some((number("weight", 1)?, a.at.clone())),
            "max_fails" => s.max_fails = Some((number("max_fails", 0)?, a.at.clone())),
            "fail_timeout" => {
                let ms = value.and_then(nginx_time_ms).ok_or_else(|| {
                    located(&a.at, format!("`fail_timeout=` expects a time like 10s, not `{}`", value.unwrap_or("")))
                })?;
                s.fail_timeout = Some((ms, a.at.clone()));
            }
            "backup" => s.backup = Some(a.at.clone()),
            "down" => s.down = Some(a.at.clone()),
            "max_conns" => {
                number("max_conns", 0)?;
                findings.unsupported(
                    &a.at,
                    &a.text,
                    "lbsim balancers do not cap connections per server (NGINX skips a full server, 502 when all are)",
                );
            }
            "slow_start" => {
                findings.unsupported(&a.at, &a.text, "lbsim has no slow start: a server takes its full weight")
            }
            "resolve" => findings.ignore("server resolve", &a.at),
            _ => findings.unsupported(&a.at, &a.text, "not a server parameter lbsim models"),
        }
    }
    Ok(s)
}

/// An NGINX time (`10s`, `500ms`, `1m30s`, a bare number of seconds) in ms.
pub(crate) fn nginx_time_ms(text: &str) -> Option<f64> {
    if let Ok(secs) = text.parse::<f64>() {
        return (secs >= 0.0).then_some(secs * 1000.0);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "w" => 604_800_000.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn located(at: &Origin, message: impl Into<String>) -> Error {
    super::error_at(at, message)
}

/// The server's name in the scenario: its address as a name.
fn server_name(address: &str) -> String {
    entity_name(address)
}

fn balancer(u: &Upstream, draft: &mut Draft) -> Result<BalancerDraft, Error> {
    let mut b = BalancerDraft::new(entity_name(&u.name), Provenance::at(&u.directive.at, u.directive.written()));
    method(u, &mut b, &mut draft.findings);
    let multi = u.servers.len() > 1;
    let mut passive: Option<(u32, Origin, f64, Option<Origin>)> = None;
    let mut differing: Vec<String> = Vec::new();
    for s in &u.servers {
        let name = server_name(&s.address);
        let from = Provenance::at(&s.directive.at, s.directive.written());
        let mut server = ServerDraft::new(&name, from.clone());
        server.aliases.push(s.address.clone());
        if !s.address.contains(':') {
            server.aliases.push(format!("{}:80", s.address));
        }
        if s.address.parse::<std::net::IpAddr>().is_err()
            && s.address
                .rsplit_once(':')
                .is_none_or(|(h, _)| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_err())
            && !s.address.starts_with("unix:")
        {
            draft.findings.approximated(
                &s.directive.at,
                format!("server {}", s.address),
                "a name that resolves to several addresses is several servers in NGINX; lbsim makes it one",
            );
        }
        draft.add_server(server);
        if b.backend(&name).is_some() {
            return Err(located(
                &s.directive.at,
                format!("server `{}` is listed twice in upstream `{}`", s.address, u.name),
            ));
        }
        let mut backend = BackendDraft { server: name, from, weight: None, backup: None, out: None };
        if let Some((w, at)) = &s.weight {
            backend.weight = Some(Val::new(w.to_string(), Provenance::at(at, format!("weight={w}"))));
        }
        if let Some(at) = &s.backup {
            backend.backup = Some(Provenance::at(at, "backup"));
        }
        if let Some(at) = &s.down {
            backend.out = Some(Provenance::at(at, "down: permanently unavailable"));
        }
        b.backends.push(backend);
        // Passive health: the first server's values stand for the upstream.
        if s.down.is_some() {
            continue;
        }
        let max_fails = s.max_fails.as_ref().map_or(1, |m| m.0);
        let fail_timeout = s.fail_timeout.as_ref().map_or(10_000.0, |f| f.0);
        let at = s.max_fails.as_ref().map(|m| m.1.clone()).or_else(|| s.fail_timeout.as_ref().map(|f| f.1.clone()));
        match &passive {
            None => passive = Some((max_fails, s.directive.at.clone(), fail_timeout, at)),
            Some((m, _, f, _)) if (*m, *f) != (max_fails, fail_timeout) => differing.push(s.directive.at.short()),
            _ => {}
        }
    }
    if let Some((_, first, _, _)) = &passive
        && !differing.is_empty()
    {
        draft.findings.approximated(
            first,
            format!("max_fails/fail_timeout of upstream {}", u.name),
            format!(
                "lbsim detects failures per balancer: the values of this server stand for all, and {} differ{}",
                differing.join(", "),
                if differing.len() == 1 { "s" } else { "" }
            ),
        );
    }
    if u.servers.iter().any(|s| s.backup.is_some())
        && let Some(m) = &u.method
        && matches!(m.name.as_str(), "hash" | "ip_hash" | "random")
    {
        draft.findings.approximated(
            &m.at,
            m.written(),
            "NGINX refuses `backup` with this method; lbsim keeps the backups as backups",
        );
    }
    if let Some((max_fails, first, fail_timeout, at)) = passive
        && max_fails > 0
        && multi
    {
        let from = |text: String| match &at {
            Some(at) => Provenance::at(at, text),
            None => Provenance::Default(format!("NGINX default ({text}), server at {}", first.short())),
        };
        let od = b.fields.child("outlier_detection");
        od.comment = Some("NGINX passive health: max_fails failures take a server out for fail_timeout".into());
        od.set("consecutive_failures", Val::new(max_fails.to_string(), from(format!("max_fails={max_fails}"))).item());
        let ft = duration_ms(fail_timeout);
        od.set("base_ejection_time", Val::new(&ft, from(format!("fail_timeout={ft}"))).item());
        od.set(
            "max_ejection_time",
            Val::new(&ft, Provenance::Default("NGINX does not lengthen repeated ejections".into())).item(),
        );
        od.set(
            "max_ejection_percent",
            Val::new(percent(1.0), Provenance::Default("NGINX may mark every server failed".into())).item(),
        );
    }
    Ok(b)
}

fn method(u: &Upstream, b: &mut BalancerDraft, findings: &mut Findings) {
    let Some(m) = &u.method else {
        b.set(
            "algorithm",
            Val::new("round_robin", Provenance::Default("NGINX default: smooth weighted round robin".into())),
        );
        return;
    };
    let from = Provenance::at(&m.at, m.written());
    let args: Vec<&str> = m.args.iter().map(|a| a.text.as_str()).collect();
    let algorithm = match (m.name.as_str(), args.as_slice()) {
        ("least_conn", _) => "least_connections",
        ("ip_hash", _) => {
            findings.approximated(
                &m.at,
                m.written(),
                "NGINX hashes the first three octets of the client address; lbsim hashes the user id on a ketama ring",
            );
            "consistent_hash"
        }
        ("hash", [key, rest @ ..]) => {
            let consistent = rest.first() == Some(&"consistent");
            if !consistent {
                findings.approximated(
                    &m.at,
                    m.written(),
                    "without `consistent` NGINX maps keys by the total weight (most keys move when a server does); lbsim uses a ketama ring",
                );
            }
            if !matches!(*key, "$remote_addr" | "$binary_remote_addr" | "$http_x_forwarded_for" | "$http_x_real_ip") {
                findings.approximated(&m.at, m.written(), format!("lbsim hashes the user id, not `{key}`"));
            }
            "consistent_hash"
        }
        ("random", []) => "random",
        ("random", ["two", rest @ ..]) => {
            if let Some(how) = rest.first().filter(|h| !h.starts_with("least_conn")) {
                findings.approximated(
                    &m.at,
                    m.written(),
                    format!("`{how}` is not modelled: the less loaded of two wins"),
                );
            }
            b.set("algorithm", Val::new("power_of_two_choices", from.clone()));
            b.set("choices", Val::new("2", from));
            return;
        }
        ("least_time", _) => {
            findings.approximated(&m.at, m.written(), "lbsim does not track response times: least connections instead");
            "least_connections"
        }
        _ => {
            findings.unsupported(&m.at, m.written(), "a form of this method lbsim does not know: round robin instead");
            "round_robin"
        }
    };
    b.set("algorithm", Val::new(algorithm, from));
}

/// The upstream a `*_pass` argument names, and whether it names it by
/// address rather than by an `upstream` block.
fn pass_target(arg: &str) -> Option<String> {
    let rest = arg.split_once("://").map_or(arg, |(_, r)| r);
    if rest.contains('$') {
        return None;
    }
    if let Some(sock) = rest.strip_prefix("unix:") {
        return Some(format!("unix:{}", sock.split(':').next().unwrap_or(sock)));
    }
    Some(rest.split('/').next().unwrap_or(rest).to_string())
}

/// A client group per balancer, with the retries and timeouts of the first
/// `*_pass` that names its upstream (NGINX's defaults when none does).
fn clients(upstreams: &[Upstream], passes: &[Pass], draft: &mut Draft) {
    let mut used: Vec<(String, Origin)> = Vec::new();
    for p in passes {
        let Some(arg) = p.directive.args.first() else { continue };
        let Some(target) = pass_target(&arg.text) else {
            draft.findings.unsupported(
                &p.directive.at,
                p.directive.written(),
                "the target is computed per request from variables: no balancer is imported for it",
            );
            continue;
        };
        let host = target.rsplit_once(':').filter(|_| !target.starts_with("unix:")).map_or(target.as_str(), |(h, _)| h);
        let balancer = match upstreams.iter().find(|u| u.name == target || u.name == host) {
            Some(u) => entity_name(&u.name),
            None => implicit_upstream(&target, p, draft),
        };
        if let Some((_, first)) = used.iter().find(|(b, _)| *b == balancer) {
            let prev = passes.iter().find(|q| q.directive.at == *first).expect("recorded");
            let servers = draft.balancers.iter().find(|b| b.name == balancer).map_or(1, |b| b.backends.len());
            let (a, b) =
                (retry_of(prev, servers, &mut Findings::default()), retry_of(p, servers, &mut Findings::default()));
            let same = match (&a, &b) {
                (Some(a), Some(b)) => super::doc::same_values(a, b),
                (None, None) => true,
                _ => false,
            };
            if !same {
                draft.findings.approximated(
                    &p.directive.at,
                    p.directive.written(),
                    format!("another location passes to `{balancer}` with other retries or timeouts; its client group uses those of {first}"),
                );
            }
            continue;
        }
        used.push((balancer.clone(), p.directive.at.clone()));
        let servers = draft.balancers.iter().find(|b| b.name == balancer).map_or(1, |b| b.backends.len());
        let mut client =
            ClientDraft::new(balancer.clone(), &balancer, Provenance::at(&p.directive.at, p.directive.written()));
        if let Some(retry) = retry_of(p, servers, &mut draft.findings) {
            client.fields.set("retry", retry);
        }
        draft.clients.push(client);
    }
    for b in &draft.balancers {
        if !used.iter().any(|(n, _)| *n == b.name) {
            let mut client = ClientDraft::new(
                b.name.clone(),
                &b.name,
                Provenance::Default("no proxy_pass in the input names this upstream".into()),
            );
            let servers = b.backends.len();
            let default = Pass { module: "proxy", stream: false, directive: syntax_default(), settings: Vec::new() };
            if let Some(retry) = retry_of(&default, servers, &mut Findings::default()) {
                client.fields.set("retry", retry);
            }
            draft.clients.push(client);
        }
    }
}

fn syntax_default() -> Directive {
    Directive {
        name: "proxy_pass".into(),
        at: Origin { file: std::sync::Arc::from(""), line: 0, col: 0, offset: 0 },
        args: Vec::new(),
        block: None,
    }
}

/// A `proxy_pass http://10.0.0.5:8080` with no upstream of that name: NGINX
/// makes a one-server group of it, and so does the import.
fn implicit_upstream(target: &str, p: &Pass, draft: &mut Draft) -> String {
    let name = entity_name(target);
    if draft.balancers.iter().any(|b| b.name == name) {
        return name;
    }
    let from = Provenance::at(&p.directive.at, p.directive.written());
    let mut server = ServerDraft::new(&name, from.clone());
    server.aliases.push(target.to_string());
    draft.add_server(server);
    let mut b = BalancerDraft::new(&name, from.clone());
    b.set("algorithm", Val::new("round_robin", Provenance::Default("a single server: NGINX passes to it".into())));
    b.backends.push(BackendDraft { server: name.clone(), from, weight: None, backup: None, out: None });
    draft.balancers.push(b);
    name
}

/// The client group's `retry` for a pass: NGINX passes a failed request to
/// the next server (`*_next_upstream`), up to `*_next_upstream_tries`, each
/// try bounded by `*_read_timeout`.
fn retry_of(p: &Pass, servers: usize, findings: &mut Findings) -> Option<Item> {
    let m = p.module;
    let get = |what: &str| setting(&p.settings, &format!("{m}_{what}"));
    let mut retry = Item::map(None);
    let mut on: Vec<(&'static str, Provenance)> = Vec::new();
    let mut attempts: Option<Val> = None;
    let next = get("next_upstream");
    let off = next.is_some_and(|d| d.args.iter().any(|a| a.text == "off"));
    if p.stream {
        if !off {
            let from = next.map_or(Provenance::Default("NGINX default: proxy_next_upstream on".into()), |d| {
                Provenance::at(&d.at, d.written())
            });
            on.push(("refused", from));
        }
    } else if let Some(d) = next.filter(|_| !off) {
        for a in &d.args {
            let from = Provenance::at(&a.at, a.text.clone());
            let kinds: &[&'static str] = match a.text.as_str() {
                "error" => &["refused", "reset"],
                "timeout" => &["timeout"],
                "http_500" | "http_502" | "http_504" => &["server_error"],
                "http_503" => &["server_error", "rejected"],
                "http_429" => &["rejected"],
                "non_idempotent" => &[],
                other => {
                    findings.unsupported(&a.at, other, "lbsim's responses have no such status: not retried on it");
                    &[]
                }
            };
            for k in kinds {
                if !on.iter().any(|(x, _)| x == k) {
                    on.push((k, from.clone()));
                }
            }
        }
    } else if !off {
        let from = Provenance::Default(format!("NGINX default: {m}_next_upstream error timeout"));
        on = vec![("refused", from.clone()), ("reset", from.clone()), ("timeout", from)];
    }
    let retries = !on.is_empty() && servers > 1;
    if retries {
        let tries = get("next_upstream_tries");
        let n = tries.and_then(|d| d.args.first()).and_then(|a| a.text.parse::<usize>().ok()).unwrap_or(0);
        let count = if n == 0 { servers } else { n.min(servers.max(1)) }.clamp(1, 100);
        let from = match tries {
            Some(d) if n > 0 => Provenance::at(&d.at, d.written()),
            Some(d) => Provenance::at(&d.at, format!("{}: each server once", d.written())),
            None => {
                Provenance::Default(format!("NGINX default: {m}_next_upstream_tries 0, each of {servers} servers once"))
            }
        };
        attempts = Some(Val::new(count.to_string(), from));
    }
    for what in ["connect_timeout", "send_timeout", "next_upstream_timeout"] {
        if let Some(d) = get(what)
            && !(what == "next_upstream_timeout" && d.args.first().is_some_and(|a| a.text == "0"))
        {
            let why = match what {
                "connect_timeout" => "lbsim has no connection setup: a down server refuses at once",
                "send_timeout" => "lbsim's requests have no body to send",
                _ => "lbsim does not stop retrying after a time: the group's `timeout` is the overall deadline",
            };
            findings.unsupported(&d.at, d.written(), why);
        }
    }
    let read_name = if p.stream { "timeout" } else { "read_timeout" };
    let read = get(read_name);
    let per_try = match read {
        Some(d) => d
            .args
            .first()
            .and_then(|a| nginx_time_ms(&a.text))
            .map(|ms| Val::new(duration_ms(ms), Provenance::at(&d.at, d.written()))),
        None if p.stream => None,
        None => Some(Val::new("60s", Provenance::Default(format!("NGINX default: {m}_read_timeout 60s")))),
    };
    if let Some(d) = read.filter(|_| p.stream) {
        findings.approximated(&d.at, d.written(), "an idle timeout between reads: lbsim bounds each try by it");
    }
    if attempts.is_none() && per_try.is_none() {
        return None;
    }
    retry.set(
        "attempts",
        attempts.unwrap_or(Val::new("1", Provenance::Default("no other server to pass a request to".into()))).item(),
    );
    if let Some(t) = per_try {
        retry.set("per_try_timeout", t.item());
    }
    if retries {
        retry.set(
            "backoff",
            Item::flow_map(
                vec![
                    ("base".into(), Item::scalar("1us", None)),
                    ("max".into(), Item::scalar("1us", None)),
                    ("jitter".into(), Item::scalar("none", None)),
                ],
                Some("NGINX passes to the next server at once".into()),
            ),
        );
        let comment = on.iter().map(|(_, f)| f.comment().unwrap_or_default()).fold(Vec::<String>::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
        retry.set(
            "on",
            Item {
                node: super::doc::Node::Seq(on.iter().map(|(k, _)| Item::scalar(*k, None)).collect(), true),
                comment: Some(comment.join("; ")),
            },
        );
    }
    Some(retry)
}

#[cfg(test)]
mod tests;
