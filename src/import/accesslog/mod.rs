//! `lbsim import access-log` and `--access-log`: traffic from production's
//! own logs. One pass over the log (plain or gzip, any length, in memory
//! that does not grow with it) gives each client group its rate per
//! interval (or, with `--replay`, a trace of its own arrivals to rerun),
//! its distinct users, and each upstream an empirical service-time
//! distribution (`$upstream_response_time`, HAProxy `Tr`, ALB
//! `target_processing_time`).
//!
//! Arrivals: HAProxy and ALB log when a request came; NGINX logs when it
//! ended, so its arrival is `$time_local - $request_time` (a log without
//! `$request_time` is read as arrivals, flagged). Requests that end in the
//! same second of a `$time_local` are spread evenly over it. The scenario
//! starts at the whole second of the first line's time as logged; the few
//! requests that arrived before it (in flight when the log began) are
//! counted at the start.

mod format;
mod stats;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::doc::Item;
use super::{
    BackendDraft, BalancerDraft, ClientDraft, Draft, Origin, Provenance, ServerDraft, SourceFile, Val, duration_ms,
    entity_name, percent,
};
use crate::error::Error;
use crate::rng::stable_hash;
use format::{Fields, Format};
use stats::{Ordered, Request, Upstream};

/// How to read the logs, and what to derive.
#[derive(Clone, Debug)]
pub(crate) struct LogOptions {
    pub files: Vec<PathBuf>,
    /// `nginx`, `haproxy`, `alb` or an NGINX `log_format` template.
    pub format: String,
    /// The rate profile's step.
    pub interval: String,
    /// The field that names a user (default: the client address).
    pub users_from: Option<String>,
    /// Write a trace of the arrivals and replay it.
    pub replay: bool,
    /// The balancer's name when the log comes alone.
    pub balancer: Option<String>,
}

/// Where files beside the scenario are staged, and the scenario's stem
/// their names start with.
#[derive(Clone, Debug)]
pub(crate) struct SideFiles {
    pub dir: PathBuf,
    pub stem: String,
    /// Names written so far (to commit).
    pub written: Vec<String>,
}

/// Most distinct upstreams tracked; the rest share one line.
const MAX_UPSTREAMS: usize = 10_000;

/// The traffic of a log on its own: a balancer over the upstreams it
/// names, a client group sending to it.
pub(crate) fn standalone(opts: &LogOptions, side: Option<&mut SideFiles>) -> Result<Draft, Error> {
    let mut draft = Draft::new("access-log");
    let name = entity_name(opts.balancer.as_deref().unwrap_or("lb"));
    let client = ClientDraft::new(&name, &name, Provenance::Nothing);
    draft.clients.push(client);
    let reading =
        read(opts, &|_| Some(0), 1, side.as_deref().map(|s| s.dir.as_path()), &trace_names(&draft, side.as_deref()))?;
    let mut b = BalancerDraft::new(&name, Provenance::Measured(format!("the upstreams {} names", file_list(opts))));
    b.set(
        "algorithm",
        Val::new(
            "round_robin",
            Provenance::Placeholder(
                "a log does not say how the balancer chose (import its configuration, or --overlay)".into(),
            ),
        ),
    );
    for u in &reading.upstreams {
        let server = entity_name(&u.name);
        let mut s = ServerDraft::new(&server, Provenance::Measured(format!("upstream {} in the log", u.name)));
        s.aliases.push(u.name.clone());
        draft.add_server(s);
        if b.backend(&server).is_none() {
            b.backends.push(BackendDraft { server, from: Provenance::Nothing, weight: None, backup: None, out: None });
        }
    }
    draft.balancers.push(b);
    finish(&mut draft, reading, opts, side)?;
    Ok(draft)
}

/// The traffic of a log put into an imported configuration: requests count
/// for the client group of the balancer whose server answered them.
pub(crate) fn apply(draft: &mut Draft, opts: &LogOptions, side: Option<&mut SideFiles>) -> Result<(), Error> {
    let mut alias: HashMap<String, usize> = HashMap::new();
    for (g, c) in draft.clients.iter().enumerate() {
        for (target, _) in &c.targets {
            let Some(b) = draft.balancers.iter().find(|b| b.name == *target) else { continue };
            for be in &b.backends {
                let Some(s) = draft.server(&be.server) else { continue };
                for a in s.aliases.iter().chain(std::iter::once(&s.name)) {
                    alias.entry(a.clone()).or_insert(g);
                }
            }
        }
    }
    let single = draft.clients.len() == 1;
    let group_of = |upstream: Option<&str>| match upstream.and_then(|u| alias.get(u)) {
        Some(&g) => Some(g),
        None if single => Some(0),
        None => None,
    };
    let names = trace_names(draft, side.as_deref());
    let reading = read(opts, &group_of, draft.clients.len(), side.as_deref().map(|s| s.dir.as_path()), &names)?;
    let unmatched: Vec<String> = reading
        .upstreams
        .iter()
        .filter(|u| !draft.servers.iter().any(|s| s.aliases.contains(&u.name) || s.name == u.name))
        .map(|u| format!("{} ({} responses)", u.name, u.responses))
        .collect();
    if !unmatched.is_empty() && reading.format_has_upstreams {
        draft.findings.note(format!(
            "upstreams in the log that no server of the configuration has: {}{}",
            unmatched.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if unmatched.len() > 5 { format!(", and {} more", unmatched.len() - 5) } else { String::new() }
        ));
    }
    finish(draft, reading, opts, side)
}

/// The fuzz target's access log: the first line of `text` is the
/// `--format`, the rest the log, imported on its own (as a replay, so the
/// trace writer runs too) in a scratch folder of this process.
pub(crate) fn fuzz(text: &str) {
    let (spec, log) = text.split_once('\n').unwrap_or((text, ""));
    let dir = std::env::temp_dir().join(format!("lbsim-fuzz-import-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() || std::fs::write(dir.join("access.log"), log).is_err() {
        return;
    }
    let replay = log.len() % 2 == 1;
    let opts = LogOptions {
        files: vec![dir.join("access.log")],
        format: spec.to_string(),
        interval: "1m".into(),
        users_from: None,
        replay,
        balancer: None,
    };
    let mut side = SideFiles { dir: dir.clone(), stem: "fuzz".into(), written: Vec::new() };
    let _ = standalone(&opts, Some(&mut side));
    let _ = std::fs::remove_dir_all(&dir);
}

fn file_list(opts: &LogOptions) -> String {
    opts.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The trace file of each client group (`<stem>.trace.csv.gz`, or one per
/// group with several).
fn trace_names(draft: &Draft, side: Option<&SideFiles>) -> Vec<String> {
    let stem = side.map_or("scenario", |s| s.stem.as_str());
    if draft.clients.len() == 1 {
        return vec![format!("{stem}.trace.csv.gz")];
    }
    draft.clients.iter().map(|c| format!("{stem}.{}.trace.csv.gz", c.name)).collect()
}

/// What one pass over the logs found.
struct Reading {
    ordered: Ordered,
    upstreams: Vec<Upstream>,
    lines: u64,
    /// The first line that did not match, and how many did not.
    malformed: Option<(Origin, String)>,
    malformed_count: u64,
    /// Arrivals taken as completions (no start, no duration).
    from_completions: Option<Origin>,
    format_has_upstreams: bool,
    format_has_times: bool,
    unmatched_requests: u64,
}

/// Requests that ended in one second of a to-the-second clock, waiting to
/// be spread over it: (second, duration, user, group, sequence).
type SecondGroup = Vec<(i64, f64, u64, Option<u32>, u64)>;

fn read(
    opts: &LogOptions,
    group_of: &dyn Fn(Option<&str>) -> Option<usize>,
    groups: usize,
    dir: Option<&Path>,
    trace_names: &[String],
) -> Result<Reading, Error> {
    let format = Format::parse(&opts.format, opts.users_from.as_deref()).map_err(Error::Usage)?;
    let interval_ms = crate::units::parse_duration(&opts.interval)
        .map_err(|e| Error::Usage(format!("--interval {}: {e}", opts.interval)))?
        .secs()
        * 1000.0;
    if interval_ms < 1000.0 {
        return Err(Error::Usage(format!("--interval {}: at least 1s", opts.interval)));
    }
    let mut traces = Vec::new();
    for name in trace_names.iter().take(groups) {
        traces.push(match (opts.replay, dir) {
            (true, Some(d)) => {
                Some(crate::trace::Writer::create(&d.join(name)).map_err(|e| Error::output(d.join(name), e))?)
            }
            _ => None,
        });
    }
    let mut r = Reading {
        ordered: Ordered::new(groups, (interval_ms * 1000.0) as i64, traces),
        upstreams: Vec::new(),
        lines: 0,
        malformed: None,
        malformed_count: 0,
        from_completions: None,
        format_has_upstreams: format.has_upstreams(),
        format_has_times: format.has_service_times(),
        unmatched_requests: 0,
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut second: SecondGroup = Vec::new();
    let (mut progress_us, mut slowest_us, mut seq) = (i64::MIN, 0i64, 0u64);
    let mut buf = Vec::with_capacity(4096);
    for path in &opts.files {
        let mut reader = open(path)?;
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(|reason| Error::Input { path: path.clone(), reason })?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let text = String::from_utf8_lossy(&buf);
            let line = text.trim_end_matches(['\n', '\r']);
            if line.trim().is_empty() {
                continue;
            }
            r.lines += 1;
            let fields = match format.read(line) {
                Ok(f) => f,
                Err(m) => {
                    let at = origin(path, line, line_no, m.col);
                    if r.lines == 1 {
                        return Err(located(
                            &at,
                            line,
                            format!("the line does not match the format: expected {}", m.expected),
                        ));
                    }
                    r.malformed_count += 1;
                    r.malformed.get_or_insert((at, m.expected));
                    continue;
                }
            };
            seq += 1;
            if r.ordered.counts.start_us.is_none()
                && let Some(t) = fields.start.or(fields.end)
            {
                r.ordered.counts.start_us = Some(t.floor() as i64 * 1_000_000);
            }
            let upstream = record_upstream(&mut r, &mut index, &fields, &format);
            let group = group_of(upstream).map(|g| g as u32);
            let user = stable_hash(fields.user.unwrap_or("-").as_bytes());
            let total_us = fields.total.map_or(0, |t| (t * 1e6) as i64);
            slowest_us = slowest_us.max(total_us);
            let arrival_us = match (fields.start, fields.end) {
                (Some(s), _) => Some((s * 1e6) as i64),
                (None, Some(e)) if fields.end_to_the_second => {
                    let sec = e.floor() as i64;
                    if second.first().is_some_and(|x| x.0 != sec) {
                        spread(&mut second, &mut r)?;
                    }
                    second.push((sec, fields.total.unwrap_or(0.0), user, group, seq));
                    None
                }
                (None, Some(e)) => Some((e * 1e6) as i64 - total_us),
                (None, None) => None,
            };
            if fields.total.is_none() && fields.start.is_none() && r.from_completions.is_none() {
                r.from_completions = Some(origin(path, line, line_no, 0));
            }
            let end_us = fields.end.map(|e| (e * 1e6) as i64).or(fields.start.map(|s| (s * 1e6) as i64 + total_us));
            if let Some(at) = arrival_us {
                push(&mut r, at, user, group, seq);
            }
            if let Some(e) = end_us {
                progress_us = progress_us.max(e);
                // Anything that arrived before this, less the slowest
                // response and a second, is logged already.
                r.ordered.release(progress_us - slowest_us - 2_000_000).map_err(Error::Usage)?;
            }
        }
    }
    spread(&mut second, &mut r)?;
    r.ordered.finish().map_err(Error::Usage)?;
    if r.malformed_count * 100 > r.lines && r.malformed_count > 10 {
        let (at, expected) = r.malformed.clone().expect("counted");
        return Err(Error::Usage(format!(
            "{at}: {} of {} lines do not match the format (this one: expected {expected}); check --format",
            r.malformed_count, r.lines
        )));
    }
    if r.ordered.released == 0 {
        return Err(Error::Usage(format!("{}: no request in the log", file_list(opts))));
    }
    Ok(r)
}

/// Counts a line's response for its upstream; returns the upstream's name
/// as logged.
fn record_upstream<'a>(
    r: &'a mut Reading,
    index: &mut HashMap<String, usize>,
    f: &Fields<'_>,
    format: &Format,
) -> Option<&'a str> {
    let name = match f.upstream {
        Some(u) => u,
        None if !format.has_upstreams() => "upstream",
        None => return None,
    };
    let i = match index.get(name) {
        Some(&i) => i,
        None if r.upstreams.len() < MAX_UPSTREAMS => {
            index.insert(name.to_string(), r.upstreams.len());
            r.upstreams.push(Upstream::new(name));
            r.upstreams.len() - 1
        }
        None => {
            let other = "other upstreams";
            *index.entry(other.to_string()).or_insert_with(|| {
                r.upstreams.push(Upstream::new(other));
                r.upstreams.len() - 1
            })
        }
    };
    let service = if format.has_upstreams() { f.service } else { f.service.or(f.total) };
    r.upstreams[i].record(service, f.upstream_status.or(f.status));
    Some(r.upstreams[i].name.as_str())
}

fn push(r: &mut Reading, at_us: i64, user: u64, group: Option<u32>, seq: u64) {
    match group {
        Some(g) => r.ordered.push(Request { at_us, seq, user, group: g }),
        None => r.unmatched_requests += 1,
    }
}

/// Spreads requests that ended in the same second evenly over it, then
/// takes each one's duration off to place its arrival.
fn spread(second: &mut SecondGroup, r: &mut Reading) -> Result<(), Error> {
    let k = second.len() as f64;
    for (i, &(sec, total, user, group, seq)) in second.iter().enumerate() {
        let end = sec as f64 + (i as f64 + 0.5) / k;
        push(r, ((end - total) * 1e6) as i64, user, group, seq);
    }
    second.clear();
    Ok(())
}

fn open(path: &Path) -> Result<Box<dyn BufRead>, Error> {
    let input = |reason| Error::Input { path: path.to_path_buf(), reason };
    let file = std::fs::File::open(path).map_err(input)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let gz = reader.fill_buf().map_err(input)?.starts_with(&[0x1f, 0x8b]);
    let inner: Box<dyn Read> = if gz { Box::new(flate2::read::MultiGzDecoder::new(reader)) } else { Box::new(reader) };
    Ok(Box::new(BufReader::with_capacity(1 << 16, inner)))
}

fn origin(path: &Path, line: &str, line_no: u64, byte_col: usize) -> Origin {
    let col = line.get(..byte_col.min(line.len())).map_or(byte_col, |s| s.chars().count()) + 1;
    Origin {
        file: std::sync::Arc::from(path.display().to_string().as_str()),
        line: line_no as u32,
        col: col as u32,
        offset: byte_col,
    }
}

/// A located error on a log line (the line alone is the snippet: logs are large).
fn located(at: &Origin, line: &str, message: String) -> Error {
    let f = SourceFile::new(&at.file, line.to_string());
    let mut on_line = at.clone();
    on_line.offset = on_line.offset.min(line.len());
    f.error_at_origin(&on_line, message, Some("check --format against the log's format".into()))
}

/// Puts what the pass found into the draft: start and duration, each
/// group's users and rate profile (or replay), each server's service
/// times, and what could not be read.
fn finish(draft: &mut Draft, r: Reading, opts: &LogOptions, side: Option<&mut SideFiles>) -> Result<(), Error> {
    draft.files.extend(opts.files.iter().map(|f| f.display().to_string()));
    let start_us = r.ordered.counts.start_us.unwrap_or(0);
    let span_s = ((r.ordered.last_us - start_us) as f64 / 1e6).max(0.0);
    let logs = file_list(opts);
    draft.top.push((
        "start".into(),
        Val::new(rfc3339(start_us / 1_000_000), Provenance::Measured(format!("the first second logged in {logs}"))),
    ));
    let duration = (span_s.floor() + 1.0) * 1000.0;
    draft.top.push((
        "duration".into(),
        Val::new(duration_ms(duration), Provenance::Measured(format!("the span of {logs}"))),
    ));
    let interval_us = r.ordered.counts.interval_us;
    let stem = side.as_deref().map(|s| s.stem.clone());
    let names = trace_names(draft, side.as_deref());
    let mut side = side;
    for (g, client) in draft.clients.iter_mut().enumerate() {
        let counts = &r.ordered.counts.per_group[g];
        let total: u64 = counts.iter().sum();
        if let (true, Some(s)) = (opts.replay, side.as_deref_mut()) {
            if total == 0 {
                let _ = std::fs::remove_file(s.dir.join(&names[g]));
            } else {
                s.written.push(names[g].clone());
            }
        }
        if total == 0 {
            continue;
        }
        if opts.replay {
            let mut replay = Item::map(Some(format!("{total} requests as {logs} recorded them")));
            replay.set("file", Item::scalar(&names[g], None));
            replay.set("speed", Item::scalar("1x", Some("faster: 2x".into())));
            replay.set("scale", Item::scalar("1", Some("the same mix, scaled: 1.5 sends half as many again".into())));
            client.fields.set("replay", replay);
        } else {
            let users = r.ordered.users[g].estimate().max(1);
            client.fields.set(
                "users",
                Val::new(
                    users.to_string(),
                    Provenance::Measured(format!("distinct users in {logs} (a HyperLogLog estimate, within about 1%)")),
                )
                .item(),
            );
            profile(client, counts, interval_us, span_s, start_us);
        }
    }
    if let Some(at) = &r.from_completions {
        draft.findings.approximated(
            at,
            "a log without request times",
            "arrivals are taken as the times requests were logged, at their end",
        );
    }
    if let Some((at, expected)) = &r.malformed {
        draft.findings.unsupported(
            at,
            format!("{} of {} lines", r.malformed_count, r.lines),
            format!("they do not match the format (this one: expected {expected}) and are left out"),
        );
    }
    if r.ordered.late > 0 {
        draft.findings.note(format!(
            "{} requests arrived before ones already counted (the log is out of order by more than its slowest response): each is counted at the time of the one before",
            r.ordered.late
        ));
    }
    if r.unmatched_requests > 0 {
        draft.findings.note(format!(
            "{} requests went to upstreams no client group's balancer has: they are not in any rate",
            r.unmatched_requests
        ));
    }
    service_times(draft, &r, side, stem.as_deref())
}

/// The rate of each interval: a step wherever it changes.
fn profile(client: &mut ClientDraft, counts: &[u64], interval_us: i64, span_s: f64, start_us: i64) {
    let interval = duration_ms(interval_us as f64 / 1000.0);
    let rate_of = |i: usize| {
        let full = (i as f64 + 1.0) * interval_us as f64 / 1e6;
        let n = counts[i];
        // The last interval may be cut short by the end of the log (the
        // scenario's duration, whole seconds).
        let end = span_s.floor() + 1.0;
        if full > end && i + 1 == counts.len() {
            let len = (end - i as f64 * interval_us as f64 / 1e6).max(1.0).round();
            format!("{n}/{}s", len as u64)
        } else {
            format!("{n}/{interval}")
        }
    };
    let clock = |i: usize| {
        let s = start_us / 1_000_000 + i as i64 * interval_us / 1_000_000;
        format!("{:02}:{:02}:{:02}", s.rem_euclid(86_400) / 3600, s.rem_euclid(3600) / 60, s.rem_euclid(60))
    };
    let comment =
        |i: usize| format!("{} request{} from {} UTC", counts[i], if counts[i] == 1 { "" } else { "s" }, clock(i));
    // A last interval cut down to under a tenth by the end of the log is
    // too short to measure a rate: the one before runs to the end.
    let end_s = span_s.floor() + 1.0;
    let tail_s = end_s - (counts.len() - 1) as f64 * interval_us as f64 / 1e6;
    let steps =
        if counts.len() > 1 && tail_s * 10.0 < interval_us as f64 / 1e6 { counts.len() - 1 } else { counts.len() };
    client.fields.set("rate", Item::scalar(rate_of(0), Some(comment(0))));
    let mut points = Vec::new();
    let mut last = rate_of(0);
    for i in 1..steps {
        let rate = rate_of(i);
        if rate != last {
            let at = duration_ms(i as f64 * interval_us as f64 / 1000.0);
            points.push(Item::flow_map(
                vec![("at".into(), Item::scalar(at, None)), ("rate".into(), Item::scalar(&rate, None))],
                Some(comment(i)),
            ));
            last = rate;
        }
    }
    if !points.is_empty() {
        client.fields.set("profile", Item::seq(points, Some(format!("requests per {interval}, measured"))));
    }
}

/// Each upstream's response times as an empirical distribution, written to
/// `<stem>.service.csv` (one column per server).
fn service_times(
    draft: &mut Draft,
    r: &Reading,
    side: Option<&mut SideFiles>,
    stem: Option<&str>,
) -> Result<(), Error> {
    if !r.format_has_times {
        draft
            .findings
            .note("the log format has no response times: servers keep their service times (or get placeholders)");
        return Ok(());
    }
    let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
    for u in &r.upstreams {
        let Some(server) = draft
            .servers
            .iter()
            .find(|s| s.aliases.contains(&u.name) || s.name == u.name || (u.name == "upstream" && s.name == "upstream"))
            .map(|s| s.name.clone())
        else {
            continue;
        };
        let sample = u.sample_ms();
        if sample.is_empty() || columns.iter().any(|(n, _)| *n == server) {
            continue;
        }
        let shown = |us: u64| {
            let ms = us as f64 / 1000.0;
            if ms >= 1000.0 { format!("{:.2}s", ms / 1000.0) } else { format!("{ms:.1}ms") }
        };
        let comment = format!(
            "{} responses in the log: p50 {}, p99 {}, max {}; {} 5xx",
            u.responses,
            shown(u.times.median_equivalent(u.times.value_at_quantile(0.5))),
            shown(u.times.median_equivalent(u.times.value_at_quantile(0.99))),
            shown(u.times.median_equivalent(u.times.max())),
            percent(u.errors as f64 / u.responses.max(1) as f64)
        );
        let Some(s) = draft.server_mut(&server) else { continue };
        let file = format!("{}.service.csv", stem.unwrap_or("scenario"));
        s.fields.set(
            "service",
            Item::flow_map(
                vec![(
                    "empirical".into(),
                    Item::flow_map(
                        vec![
                            ("file".into(), Item::scalar(&file, None)),
                            ("column".into(), Item::scalar(&server, None)),
                            ("unit".into(), Item::scalar("ms", None)),
                        ],
                        None,
                    ),
                )],
                Some(comment),
            ),
        );
        columns.push((server, sample));
    }
    if columns.is_empty() {
        return Ok(());
    }
    let Some(side) = side else {
        return Err(Error::Usage("the measured service times are written beside the scenario: give --out".into()));
    };
    let name = format!("{}.service.csv", side.stem);
    let mut csv = columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(",");
    csv.push('\n');
    let rows = columns.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    for i in 0..rows {
        let row: Vec<String> =
            columns.iter().map(|(_, v)| v.get(i).map_or(String::new(), |x| format!("{x:.3}"))).collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    std::fs::write(side.dir.join(&name), csv).map_err(|e| Error::output(side.dir.join(&name), e))?;
    side.written.push(name);
    Ok(())
}

/// `2024-06-01T14:00:00Z` for seconds since the epoch.
fn rfc3339(epoch_s: i64) -> String {
    let (y, m, d) = crate::clock::civil_from_days(epoch_s.div_euclid(86_400));
    let s = epoch_s.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

#[cfg(test)]
mod tests;
