//! `report.html`: one self-contained file for reviews. Inline CSS and SVG,
//! no script, no external asset, so it opens offline, survives being mailed
//! around and prints. Every piece of user text is escaped; the output
//! depends only on its inputs, so the same run gives the same bytes.

use std::fmt::Write;

use super::Chart;
use super::Summary;
use super::replications::Verdict;
use super::story::{self, ROWS_SHOWN, Role, RowKind, Story, StoryRow, Times};
use super::summary::{ServerSummary, UsersSummary};
use super::text::{self, ms, server_order, thousands};
use crate::time::secs_to_nanos;

/// Servers shown before the rest go into a `<details>`.
const SERVERS_SHOWN: usize = 20;
/// The most servers the page lists in all (the busiest): a table of a
/// million rows helps nobody, and `servers.csv` has every one.
const SERVERS_LISTED: usize = 1_000;

const STYLE: &str = r#"
:root { --fg: #1d2433; --muted: #5b6475; --line: #d9dde5; --soft: #f4f6f9;
  --ok: #1a7f37; --bad: #c62828; --unable: #c62828; --failed: #ef6c00; --slowed: #f2b705; --normal: #2e7d32; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: #fff; max-width: 1120px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.8rem; margin: 0 0 .4rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .8rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
p.description { font-size: 1.05rem; max-width: 60rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 1rem 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { background: var(--soft); padding: .5rem .7rem; border-radius: .3rem; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .3rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.badge { display: inline-block; padding: .15rem .7rem; border-radius: .3rem; font-weight: 700; color: #fff; letter-spacing: .04em; }
.badge.pass { background: var(--ok); } .badge.fail { background: var(--bad); }
.met { color: var(--ok); font-weight: 700; } .missed { color: var(--bad); font-weight: 700; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .6rem; }
.figure { border: 1px solid var(--line); border-radius: .4rem; padding: .5rem .75rem; }
.figure .value { display: block; font-size: 1.4rem; font-weight: 600; }
.figure .label { display: block; color: var(--muted); font-size: .85rem; }
.figure .sub { display: block; color: var(--muted); font-size: .8rem; }
.bar { display: flex; height: 1rem; min-width: 10rem; border-radius: .2rem; overflow: hidden; background: var(--line); }
.bar span { display: block; height: 100%; }
.c-unable { background: var(--unable); } .c-failed { background: var(--failed); }
.c-slowed { background: var(--slowed); } .c-normal { background: var(--normal); }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; border-radius: .15rem; vertical-align: -.05rem; }
tr.k-blocked td { background: #fff3e0; }
tr.k-impact td { background: #fdecea; }
tr.k-note td { color: var(--muted); }
tr.r-key td { font-weight: 600; }
.tag { display: inline-block; font-size: .75rem; font-weight: 700; padding: 0 .35rem; border-radius: .2rem;
  background: var(--fg); color: #fff; margin-right: .3rem; }
.tag.blocked { background: #b26a00; }
figure.chart { margin: 1.2rem 0; }
figure.chart svg { display: block; width: 100%; height: auto; }
figure.chart figcaption { color: var(--muted); font-size: .9rem; margin-top: .3rem; }
details { margin-top: .6rem; } summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  tr, .figure, figure.chart { break-inside: avoid; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"#;

/// The whole report as one HTML document.
pub fn render(summary: &Summary, story: &Story, charts: &[Chart]) -> String {
    let times = story.times;
    let mut o = String::with_capacity(64 * 1024 + charts.iter().map(|c| c.svg.len()).sum::<usize>());
    head(&mut o, summary);
    header(&mut o, summary);
    verdicts(&mut o, summary);
    if let Some(r) = &summary.replications {
        replications(&mut o, r);
    }
    headline(&mut o, summary, &times);
    users(&mut o, summary);
    timeline(&mut o, &story.rows, &times);
    figures(&mut o, charts);
    servers(&mut o, &summary.servers);
    let _ = write!(
        o,
        "<footer>Written by lbsim {}. Every event is in <code>events.csv</code>, every figure in \
         <code>summary.json</code>.</footer>\n</body>\n</html>\n",
        escape(summary.lbsim_version)
    );
    o
}

/// Text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn head(o: &mut String, s: &Summary) {
    page_head(o, s.lbsim_version, &format!("lbsim report: {}", s.scenario.name), "");
}

/// The document's start, up to `<body>`: `title` (escaped here), the
/// reports' style sheet and `extra_style` after it.
pub(crate) fn page_head(o: &mut String, version: &str, title: &str, extra_style: &str) {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"lbsim {}\">\n<title>{}</title>\n<style>{STYLE}{extra_style}</style>\n\
         </head>\n<body>\n",
        escape(version),
        escape(title)
    );
}

fn header(o: &mut String, s: &Summary) {
    let sc = &s.scenario;
    let _ = writeln!(o, "<header>\n<h1>{}</h1>", escape(&sc.name));
    if !sc.description.is_empty() {
        let _ = writeln!(o, "<p class=\"description\">{}</p>", escape(&sc.description));
    }
    o.push_str("<dl class=\"meta\">\n");
    let mut item = |term: &str, html: String| {
        let _ = writeln!(o, "<dt>{term}</dt><dd>{html}</dd>");
    };
    if !sc.file.is_empty() {
        item("Scenario file", format!("<code>{}</code>", escape(&sc.file)));
    }
    item("Seed", sc.seed.to_string());
    if !sc.overrides.is_empty() {
        let list: Vec<String> = sc.overrides.iter().map(|v| format!("<code>{}</code>", escape(v))).collect();
        item("Overrides", list.join(" "));
    }
    item("Simulated", simulated_period(s));
    if let Some(start) = &sc.start {
        item("Wall-clock start", escape(start));
    }
    if let Some(w) = &s.incident {
        let (from, until) = (w.from_clock.clone(), w.until_clock.clone());
        let span = match (from, until) {
            (Some(f), Some(u)) => format!("{} to {}", escape(&f), escape(&u)),
            _ => format!("{} to {}", story::elapsed(secs_to_nanos(w.from_s)), story::elapsed(secs_to_nanos(w.until_s))),
        };
        item("Incident window", span);
    }
    item("Reproduce", format!("<code>{}</code>", escape(&reproduce(s))));
    o.push_str("</dl>\n</header>\n");
}

fn simulated_period(s: &Summary) -> String {
    let sim = &s.simulated;
    let mut text = crate::time::spoken(sim.duration_s);
    if sim.warmup_s > 0.0 {
        let _ = write!(text, " ({} warm-up excluded from the figures)", crate::time::spoken(sim.warmup_s));
    }
    if matches!(sim.end_reason, crate::sim::EndReason::Drained) {
        text.push_str("; ended when every request was answered");
    }
    if let Some(why) = &sim.stopped {
        let _ = write!(text, "; INCOMPLETE, stopped early: {why}");
    }
    text
}

/// A word for a POSIX shell: as it is when it is plain, else single-quoted.
pub(crate) fn shell_quote(v: &str) -> String {
    let plain = v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain && !v.is_empty() { v.to_string() } else { format!("'{}'", v.replace('\'', r"'\''")) }
}

/// The command that makes this run again.
fn reproduce(s: &Summary) -> String {
    let quote = shell_quote;
    let file = if s.scenario.file.is_empty() { "SCENARIO" } else { &s.scenario.file };
    let mut cmd = format!("lbsim run {} --seed {}", quote(file), s.scenario.seed);
    for v in &s.scenario.overrides {
        let _ = write!(cmd, " --set {}", quote(v));
    }
    cmd
}

fn verdicts(o: &mut String, s: &Summary) {
    o.push_str("<section id=\"verdicts\">\n<h2>Verdict</h2>\n");
    let class = if s.verdict == Verdict::Pass { "pass" } else { "fail" };
    let _ = write!(o, "<p><span class=\"badge {class}\">{}</span> ", s.verdict.as_str().to_uppercase());
    if s.slos.is_empty() {
        o.push_str("No SLO is declared, so there is nothing to fail.</p>\n</section>\n");
        return;
    }
    let met = s.slos.iter().filter(|v| v.met).count();
    let _ = writeln!(o, "{met} of {} SLOs met.</p>", s.slos.len());
    o.push_str("<table>\n<thead><tr><th>SLO</th><th>Objective</th><th>Window</th><th class=\"num\">Observed</th><th>Met</th></tr></thead>\n<tbody>\n");
    for v in &s.slos {
        let mark =
            if v.met { "<span class=\"met\">✓ met</span>" } else { "<span class=\"missed\">✗ missed</span>" };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{mark}</td></tr>",
            escape(&v.name),
            escape(&v.objective),
            escape(&v.window),
            escape(&v.observed_text)
        );
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}

/// Every replication together: each SLO's verdict with its confidence,
/// and each headline metric's mean and interval.
fn replications(o: &mut String, r: &super::replications::Replications) {
    let conf = r.confidence_text();
    let _ = writeln!(
        o,
        "<section id=\"replications\">\n<h2>Over {} replications</h2>\n<p>Seeds {} to {}; means with {conf} Student-t \
         confidence intervals. The rest of this page is the first replication's.</p>",
        r.replications,
        r.first_seed,
        r.first_seed.saturating_add(r.replications as u64 - 1)
    );
    if !r.slos.is_empty() {
        let class = if r.verdict == Verdict::Pass { "pass" } else { "fail" };
        let _ = writeln!(o, "<p><span class=\"badge {class}\">{}</span></p>", r.verdict.as_str().to_uppercase());
        o.push_str("<table>\n<thead><tr><th>SLO</th><th>Objective</th><th class=\"num\">Observed</th><th class=\"num\">Met</th><th>Verdict</th></tr></thead>\n<tbody>\n");
        for s in &r.slos {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}/{}</td><td title=\"{}\">{}</td></tr>",
                escape(&s.name),
                escape(&s.objective),
                escape(&s.observed_text),
                s.met,
                s.replications,
                escape(&s.statement),
                s.verdict.as_str()
            );
        }
        o.push_str("</tbody>\n</table>\n<ul>\n");
        for s in &r.slos {
            let _ = writeln!(o, "<li>{}</li>", escape(&s.statement));
        }
        o.push_str("</ul>\n");
    }
    let _ = writeln!(
        o,
        "<table>\n<thead><tr><th>Metric</th><th class=\"num\">Mean</th><th class=\"num\">{conf} CI</th><th class=\"num\">Runs</th></tr></thead>\n<tbody>"
    );
    for row in super::replications::metric_rows(r) {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&row[0]),
            escape(&row[1]),
            escape(&row[2]),
            escape(&row[3])
        );
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}

/// One headline figure: its value, what it is, and a line of context.
fn figure(o: &mut String, value: &str, label: &str, sub: &str) {
    let _ = writeln!(
        o,
        "<div class=\"figure\"><span class=\"value\">{}</span><span class=\"label\">{}</span><span class=\"sub\">{}</span></div>",
        escape(value),
        escape(label),
        escape(sub)
    );
}

fn headline(o: &mut String, s: &Summary, times: &Times) {
    o.push_str("<section id=\"headline\">\n<h2>Headline figures</h2>\n<div class=\"figures\">\n");
    let r = &s.requests;
    figure(o, &thousands(r.generated), "requests sent", &format!("{} completed", thousands(r.completed)));
    figure(o, &story::pct(s.error_rate), "error rate", &format!("{} failed", thousands(r.failed.total)));
    if let Some(inc) = &s.incident {
        figure(o, &story::pct(inc.error_rate), "error rate in the incident window", &incident_span(inc, times));
    }
    let l = &s.latency_ms;
    for (v, name) in [(l.p50, "p50"), (l.p90, "p90"), (l.p99, "p99"), (l.p999, "p99.9")] {
        figure(o, &ms(v), &format!("latency {name}"), "successful responses");
    }
    figure(o, &format!("{:.1}/s", s.throughput_rps), "throughput", "completed requests per second");
    let im = &s.impact;
    figure(
        o,
        &story::pct(im.peak_error_rate),
        "peak error rate",
        &format!("interval at {}", times.at_s(im.peak_error_rate_at_s)),
    );
    impact_figures(o, s, times);
    o.push_str("</div>\n");
    failure_reasons(o, s);
    o.push_str("</section>\n");
}

fn incident_span(w: &super::summary::WindowSummary, times: &Times) -> String {
    format!("{} to {}", times.at_s(w.from_s), times.at_s(w.until_s))
}

fn impact_figures(o: &mut String, s: &Summary, times: &Times) {
    let im = &s.impact;
    match &im.window {
        Some(w) => {
            let span = format!("{} to {}", times.at_s(w.from_s), times.at_s(w.until_s));
            figure(o, &crate::time::spoken(w.duration_s), "impact (outside the SLOs)", &span);
        }
        None if s.slos.is_empty() => figure(o, "—", "impact", "no SLO to judge it by"),
        None => figure(o, "none", "impact", "every interval within the SLOs"),
    }
    match (im.time_to_detect_s, &im.detected_by) {
        (Some(t), Some(by)) => figure(o, &crate::time::spoken(t), "time to detect", &format!("by alert {by}")),
        _ if im.first_change_s.is_some() || im.window.is_some() => {
            figure(o, "—", "time to detect", "no alert fired after the change")
        }
        _ => figure(o, "—", "time to detect", "nothing to detect"),
    }
    match im.time_to_recover_s {
        Some(t) => figure(o, &crate::time::spoken(t), "time to recover", "from the fix to the end of the impact"),
        None => figure(o, "—", "time to recover", "no fix, or no impact"),
    }
}

fn failure_reasons(o: &mut String, s: &Summary) {
    let parts: Vec<String> =
        text::failure_reasons(&s.requests.failed).iter().map(|(n, what)| format!("{} {what}", thousands(*n))).collect();
    if !parts.is_empty() {
        let _ = writeln!(o, "<p>Failures by reason: {}.</p>", escape(&parts.join(" · ")));
    }
}

fn users(o: &mut String, s: &Summary) {
    o.push_str("<section id=\"users\">\n<h2>Users affected</h2>\n<p class=\"legend\">");
    for c in story::categories(&s.users) {
        let _ = write!(o, "<span><i class=\"c-{}\"></i>{}</span>", c.key, escape(c.label));
    }
    let _ = writeln!(
        o,
        "</p>\n<p>Slowed: never failed, but a response took longer than {}.</p>",
        crate::time::spoken(s.users.slow_threshold_ms / 1e3)
    );
    o.push_str("<table>\n<thead><tr><th>Users</th><th class=\"num\">Active</th><th>Share</th><th class=\"num\">Could not use</th><th class=\"num\">Failed at times</th><th class=\"num\">Slowed</th><th class=\"num\">Normal</th></tr></thead>\n<tbody>\n");
    users_row(o, "Over the run", &s.users);
    if let Some(inc) = &s.incident {
        users_row(o, "In the incident window", &inc.users);
    }
    for sn in &s.subnets {
        let name = format!("{} ({})", sn.name, sn.prefix);
        users_row(o, &name, sn.incident_users.as_ref().unwrap_or(&sn.users));
    }
    o.push_str("</tbody>\n</table>\n");
    if s.subnets.iter().any(|sn| sn.incident_users.is_some()) {
        o.push_str("<p>Subnet rows count the users in the incident window.</p>\n");
    }
    o.push_str("</section>\n");
}

fn users_row(o: &mut String, who: &str, u: &UsersSummary) {
    let cats = story::categories(u);
    let _ =
        write!(o, "<tr><td>{}</td><td class=\"num\">{}</td><td><div class=\"bar\">", escape(who), thousands(u.active));
    for c in &cats {
        if c.pct > 0.0 {
            let _ =
                write!(o, "<span class=\"c-{}\" style=\"width:{:.2}%\" title=\"{}\"></span>", c.key, c.pct, c.label);
        }
    }
    o.push_str("</div></td>");
    for c in &cats {
        let _ = write!(o, "<td class=\"num\">{} <small>({})</small></td>", story::pct100(c.pct), thousands(c.count));
    }
    o.push_str("</tr>\n");
}

fn timeline(o: &mut String, rows: &[StoryRow], times: &Times) {
    o.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    if rows.is_empty() {
        o.push_str(
            "<p>No change, note, crash, health change or alert: nothing happened besides requests.</p>\n</section>\n",
        );
        return;
    }
    o.push_str("<p>Changes, notes, crashes, health checks and alerts; a long run of one kind of event on one entity is one row. Every event is in <code>events.csv</code>.</p>\n");
    let (shown, rest) = rows.split_at(rows.len().min(ROWS_SHOWN));
    timeline_table(o, shown, times);
    if !rest.is_empty() {
        let _ = writeln!(o, "<details><summary>{} more rows</summary>", rest.len());
        timeline_table(o, rest, times);
        o.push_str("</details>\n");
    }
    o.push_str("</section>\n");
}

fn timeline_table(o: &mut String, rows: &[StoryRow], times: &Times) {
    let clock = times.clock.is_some();
    o.push_str("<table>\n<thead><tr><th>Time</th>");
    if clock {
        o.push_str("<th>Clock</th>");
    }
    o.push_str("<th>What</th><th>Entity</th><th>Detail</th></tr></thead>\n<tbody>\n");
    for r in rows {
        let _ = write!(o, "<tr class=\"{}\"><td class=\"nowrap\">{}</td>", row_class(r), story::elapsed(r.time_ns));
        if let Some(c) = times.clock {
            let _ = write!(o, "<td class=\"nowrap\">{}</td>", c.format_short(r.time_ns));
        }
        let _ = writeln!(
            o,
            "<td>{}{}</td><td>{}</td><td>{}</td></tr>",
            row_tag(r),
            escape(&r.label),
            escape(&r.entity),
            escape(&r.detail)
        );
    }
    o.push_str("</tbody>\n</table>\n");
}

fn row_class(r: &StoryRow) -> String {
    let kind = match r.kind {
        RowKind::Change => "change",
        RowKind::Blocked => "blocked",
        RowKind::Note => "note",
        RowKind::Failure => "failure",
        RowKind::Defence => "defence",
        RowKind::Alert => "alert",
        RowKind::Impact => "impact",
    };
    let key = if r.role == Role::Plain { "" } else { " r-key" };
    format!("k-{kind}{key}")
}

fn row_tag(r: &StoryRow) -> &'static str {
    match (r.role, r.kind) {
        (Role::RootCause, _) => "<span class=\"tag\">root cause</span>",
        (Role::Detection, _) => "<span class=\"tag\">detection</span>",
        (Role::Fix, _) => "<span class=\"tag\">fix</span>",
        (_, RowKind::Blocked) => "<span class=\"tag blocked\">BLOCKED</span>",
        _ => "",
    }
}

/// Every chart inline, each with its caption, in a section of their own
/// (none without charts).
pub(crate) fn figures(o: &mut String, charts: &[Chart]) {
    if charts.is_empty() {
        return;
    }
    o.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    for c in charts {
        let _ = writeln!(
            o,
            "<figure class=\"chart\" id=\"chart-{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
            escape(&c.name),
            inline_svg(&c.svg, &c.title),
            escape(&c.title)
        );
    }
    o.push_str("</section>\n");
}

/// A standalone SVG document made fit to sit in a page: no XML prolog or
/// doctype, and the fixed size dropped for its viewBox so it scales to the
/// width. Everything else is kept as it is: plotters' SVGs carry no ids, so
/// several charts in one page cannot clash (a test holds it to that), and
/// rewriting `id=` or `url(#` would alter text from the scenario.
pub fn inline_svg(svg: &str, title: &str) -> String {
    let Some(start) = svg.find("<svg") else { return String::new() };
    let body = &svg[start..];
    let Some(end) = body.find('>') else { return String::new() };
    let root = fit_root(&body[..end], title);
    format!("{root}{}", body[end..].trim_end())
}

/// The root `<svg ...` tag (without its `>`) with width and height moved
/// into a viewBox, and a label for screen readers.
fn fit_root(tag: &str, title: &str) -> String {
    let width = attribute(tag, "width");
    let height = attribute(tag, "height");
    let mut root = tag.to_string();
    for (name, value) in [("width", &width), ("height", &height)] {
        if let Some(v) = value {
            root = root.replacen(&format!(" {name}=\"{v}\""), "", 1);
        }
    }
    if attribute(&root, "viewBox").is_none()
        && let (Some(w), Some(h)) = (&width, &height)
    {
        let _ = write!(root, " viewBox=\"0 0 {} {}\"", w.trim_end_matches("px"), h.trim_end_matches("px"));
    }
    let _ = write!(root, " role=\"img\" aria-label=\"{}\"", escape(title));
    root
}

/// The value of a double-quoted attribute in a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let len = tag[at..].find('"')?;
    Some(tag[at..at + len].to_string())
}

fn servers(o: &mut String, servers: &[ServerSummary]) {
    o.push_str("<section id=\"servers\">\n<h2>Servers</h2>\n");
    let order = server_order(servers, SERVERS_SHOWN);
    let (shown, rest) = order.split_at(order.len().min(SERVERS_SHOWN));
    if !rest.is_empty() {
        let _ = writeln!(
            o,
            "<p>The {SERVERS_SHOWN} busiest of {} servers; the rest below and in <code>servers.csv</code>.</p>",
            servers.len()
        );
    }
    servers_table(o, servers, shown);
    if !rest.is_empty() {
        let _ = writeln!(o, "<details><summary>{} more servers</summary>", rest.len());
        let listed = &rest[..rest.len().min(SERVERS_LISTED - SERVERS_SHOWN)];
        servers_table(o, servers, listed);
        if listed.len() < rest.len() {
            let _ = writeln!(
                o,
                "<p>The {} quietest servers are only in <code>servers.csv</code>.</p>",
                thousands((rest.len() - listed.len()) as u64)
            );
        }
        o.push_str("</details>\n");
    }
    o.push_str("</section>\n");
}

fn servers_table(o: &mut String, servers: &[ServerSummary], rows: &[usize]) {
    o.push_str("<table>\n<thead><tr><th>Server</th><th class=\"num\">Requests</th><th class=\"num\">Share</th><th class=\"num\">Utilisation</th><th class=\"num\">Max queue</th><th class=\"num\">Rejected</th><th class=\"num\">Errors</th><th class=\"num\">Crashes</th></tr></thead>\n<tbody>\n");
    for &i in rows {
        let v = &servers[i];
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&v.name),
            thousands(v.requests),
            story::pct(v.share),
            story::pct(v.utilisation),
            thousands(v.max_queue),
            thousands(v.rejected),
            thousands(v.errors),
            v.crashes
        );
    }
    o.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::EventTag;
    use crate::report::story::fixtures;

    /// A chart document with a prolog, a fixed size, and text from the
    /// scenario that looks like a reference to an id.
    fn chart(name: &'static str, title: &str) -> Chart {
        let svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg width=\"800\" height=\"400\" viewBox=\"0 0 800 400\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect x=\"0\" y=\"0\" width=\"800\" height=\"400\" fill=\"#FFFFFF\"/>\n<text x=\"10\" y=\"20\">p99 &lt; 1s on url(#edge) id=\"lb\"</text>\n</svg>\n";
        Chart { name: name.to_string(), title: title.to_string(), svg: svg.to_string(), png: Vec::new() }
    }

    #[test]
    fn the_report_is_a_complete_escaped_html5_document() {
        let (summary, result) = fixtures::run(fixtures::INCIDENT);
        let html = render(&summary, &Story::build(&summary, &result), &[]);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>lbsim report: fixture-incident</title>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
        // User text is escaped: the description and the notes hold markup.
        assert!(html.contains("A &lt;b&gt;test&lt;/b&gt; &amp; &#39;quotes&#39; for the report"));
        assert!(html.contains("pin &lt;everything&gt; on web-01"));
        assert!(html.contains("on-call paged &amp; investigating"));
        assert!(!html.contains("<b>test</b>") && !html.contains("<everything>"));
        for id in ["verdicts", "headline", "users", "timeline", "servers"] {
            assert!(html.contains(&format!("<section id=\"{id}\">")), "section {id}");
        }
        assert!(!html.contains("<section id=\"charts\">"), "no charts, no section");
        // Same inputs, same bytes.
        assert_eq!(html, render(&summary, &Story::build(&summary, &result), &[]));
    }

    #[test]
    fn the_report_states_the_runs_figures() {
        let (summary, result) = fixtures::run(fixtures::INCIDENT);
        let html = render(&summary, &Story::build(&summary, &result), &[]);
        assert!(html.contains("<span class=\"badge fail\">FAIL</span>"));
        for v in &summary.slos {
            let mark = if v.met { "✓ met" } else { "✗ missed" };
            let row = format!(
                "<td class=\"num\">{}</td><td><span class=\"{}\">{mark}</span>",
                escape(&v.observed_text),
                if v.met { "met" } else { "missed" }
            );
            assert!(html.contains(&row), "{row}");
        }
        assert!(html.contains(&format!(
            "<span class=\"value\">{}</span><span class=\"label\">error rate</span>",
            story::pct(summary.error_rate)
        )));
        assert!(html.contains(&format!(
            "<span class=\"value\">{}</span><span class=\"label\">latency p99.9</span>",
            ms(summary.latency_ms.p999)
        )));
        let im = &summary.impact;
        let detect = format!(
            "<span class=\"value\">{}</span><span class=\"label\">time to detect</span><span class=\"sub\">by alert {}</span>",
            crate::time::spoken(im.time_to_detect_s.unwrap()),
            im.detected_by.as_ref().unwrap()
        );
        assert!(html.contains(&detect), "{detect}");
        let inc = summary.incident.as_ref().unwrap();
        let unable =
            format!("{} <small>({})</small>", story::pct100(inc.users.unable_pct), thousands(inc.users.unable));
        assert!(html.contains(&format!(
            "<tr><td>In the incident window</td><td class=\"num\">{}</td>",
            thousands(inc.users.active)
        )));
        assert!(html.contains(&unable), "{unable}");
        let web01 = &summary.servers[0];
        assert!(html.contains(&format!(
            "<tr><td>web-01</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            thousands(web01.requests),
            story::pct(web01.share)
        )));
    }

    #[test]
    fn the_timeline_shows_the_blocked_change_and_folds_the_crash_loop() {
        let (summary, result) = fixtures::run(fixtures::INCIDENT);
        let html = render(&summary, &Story::build(&summary, &result), &[]);
        let blocked = result.recorder.events.first(EventTag::ChangeBlocked).unwrap();
        let blocked = crate::report::words::EventWords::of(&result).detail(blocked);
        let row = format!(
            "<tr class=\"k-blocked\"><td class=\"nowrap\">+0:08:00</td><td class=\"nowrap\">13:38:00</td><td><span class=\"tag blocked\">BLOCKED</span>change blocked</td><td>balancer lb</td><td>{} (pin &lt;everything&gt; on web-01)</td></tr>",
            escape(&blocked)
        );
        assert!(html.contains(&row), "{row}");
        let crashes = result.recorder.events.count(EventTag::ServerCrashed);
        assert!(html.contains(&format!("crashed {crashes} times</td><td>server web-01</td><td>between ")));
        assert_eq!(html.matches("<td>crashed</td>").count(), 0, "every crash is in the folded row");
        assert!(html.contains("<span class=\"tag\">root cause</span>change applied"));
        assert!(html.contains("<span class=\"tag\">detection</span>alert fired"));
        assert!(html.contains("<span class=\"tag\">fix</span>change reverted"));
    }

    #[test]
    fn charts_are_inlined_without_prolog_or_a_fixed_size() {
        let (summary, result) = fixtures::run(fixtures::STEADY);
        let charts = [chart("latency", "Latency <percentiles>"), chart("share", "Traffic share")];
        let html = render(&summary, &Story::build(&summary, &result), &charts);
        assert!(!html.contains("<?xml"));
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 2);
        assert!(html.contains("<figcaption>Latency &lt;percentiles&gt;</figcaption>"));
        assert!(html.contains("<figcaption>Traffic share</figcaption>"));
        assert_eq!(
            html.matches("<svg viewBox=\"0 0 800 400\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"").count(),
            2
        );
        let text = "<text x=\"10\" y=\"20\">p99 &lt; 1s on url(#edge) id=\"lb\"</text>";
        assert_eq!(html.matches(text).count(), 2, "chart text is kept as it is");
        // A document without a viewBox gets one from its size.
        let bare = inline_svg("<svg width=\"300px\" height=\"100\"><g/></svg>", "t");
        assert_eq!(bare, "<svg viewBox=\"0 0 300 100\" role=\"img\" aria-label=\"t\"><g/></svg>");
    }

    #[test]
    fn the_charts_carry_no_ids_that_could_clash_in_one_page() {
        // inline_svg leaves ids alone: were plotters to start writing them
        // (clip paths, gradients), two charts in one page would share them.
        let (_, result) = fixtures::run(fixtures::INCIDENT);
        let charts = crate::report::charts::render_all(&crate::report::chartdata::ChartData::from_run(&result));
        assert!(charts.len() >= 7, "{} charts", charts.len());
        for c in &charts {
            assert!(!c.svg.contains(" id=") && !c.svg.contains("url(#"), "{} has an id", c.name);
        }
    }

    #[test]
    fn a_steady_run_has_no_incident_figures_and_many_servers_fold_into_details() {
        let text = fixtures::STEADY.replace("app-{1..3}", "app-{01..30}").replace("rate: 200/s", "rate: 1000/s");
        let (summary, result) = fixtures::run(&text);
        let html = render(&summary, &Story::build(&summary, &result), &[]);
        assert!(html.contains("<span class=\"badge pass\">PASS</span>"));
        assert!(!html.contains("In the incident window"));
        assert!(html.contains("nothing happened besides requests"));
        assert!(html.contains("<details><summary>10 more servers</summary>"));
        let busiest = server_order(&summary.servers, SERVERS_SHOWN)[0];
        let first_row = html.find("<tr><td>app-").unwrap();
        assert!(html[first_row..].starts_with(&format!("<tr><td>{}</td>", summary.servers[busiest].name)));
        assert_eq!(html.matches("<tr><td>app-").count(), 30);
    }

    #[test]
    fn a_thousand_servers_are_listed_and_the_rest_left_to_servers_csv() {
        let text = fixtures::STEADY
            .replace("app-{1..3}", "app-{0001..1500}")
            .replace("least_connections", "random")
            .replace("duration: 5m\nwarmup: 30s", "duration: 20s\nwarmup: 5s")
            .replace("rate: 200/s", "rate: 3000/s");
        let (summary, result) = fixtures::run(&text);
        let html = render(&summary, &Story::build(&summary, &result), &[]);
        assert!(html.contains("<details><summary>1480 more servers</summary>"));
        assert_eq!(html.matches("<tr><td>app-").count(), SERVERS_LISTED);
        assert!(html.contains("<p>The 500 quietest servers are only in <code>servers.csv</code>.</p>"));
    }
}
