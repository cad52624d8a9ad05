//! The summary printed to the terminal after a run.

use std::fmt::Write;

use super::Summary;
pub use super::numbers::{group_digits, ms, si, thousands};
use super::summary::{FailedCounts, ServerSummary};
use crate::time::format_duration;

/// Failed requests by reason, in a fixed order, each with what it means;
/// reasons that did not occur are left out.
pub fn failure_reasons(f: &FailedCounts) -> Vec<(u64, &'static str)> {
    [
        (f.rejected, "rejected (queue full)"),
        (f.timed_out, "timed out"),
        (f.no_backend, "no backend"),
        (f.server_error, "server errors"),
        (f.refused, "refused (down)"),
        (f.reset, "reset (crash)"),
        (f.unreachable, "unreachable"),
        (f.dropped, "dropped by the network"),
        (f.routing_loop, "lost in a routing loop"),
        (f.misrouted, "misrouted"),
        (f.response_lost, "responses lost"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .collect()
}

/// Servers in scenario order, or busiest first when there are more than
/// `shown` of them (then the ones left out are the quiet ones).
pub fn server_order(servers: &[ServerSummary], shown: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..servers.len()).collect();
    if servers.len() > shown {
        order.sort_by(|&a, &b| servers[b].requests.cmp(&servers[a].requests).then(a.cmp(&b)));
    }
    order
}

fn secs(s: f64) -> String {
    format_duration((s * 1e9).round() as u64)
}

fn users_line(o: &mut String, label: &str, u: &super::summary::UsersSummary) {
    let _ = writeln!(
        o,
        "{label} {} active of {} · {} could not use the service ({:.1}%) · {} failed sometimes ({:.1}%) · {} slowed ({:.1}%, > {}) · {} normal ({:.1}%)",
        thousands(u.active),
        thousands(u.total),
        thousands(u.unable),
        u.unable_pct,
        thousands(u.failed_some),
        u.failed_some_pct,
        thousands(u.slowed),
        u.slowed_pct,
        ms(u.slow_threshold_ms),
        thousands(u.served_normally),
        u.served_normally_pct,
    );
}

/// Renders the run's summary for a terminal.
pub fn render(s: &Summary, files: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "lbsim · {} · seed {} · {} simulated{}",
        s.scenario.name,
        s.scenario.seed,
        secs(s.simulated.duration_s),
        if s.simulated.warmup_s > 0.0 {
            format!(" ({} warm-up excluded)", secs(s.simulated.warmup_s))
        } else {
            String::new()
        },
    );
    if let Some(why) = &s.simulated.stopped {
        let _ = writeln!(o, "  INCOMPLETE: {why}");
    }
    if let (Some(wall), Some(rate)) = (s.run.wall_seconds, s.run.simulated_requests_per_wall_second) {
        let _ = writeln!(o, "  ran in {wall:.2} s wall time, {} simulated requests/s", si(rate));
    }
    let r = &s.requests;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Requests  {} generated · {} completed · {} failed ({:.2}%) · {} in flight at end",
        thousands(r.generated),
        thousands(r.completed),
        thousands(r.failed.total),
        s.error_rate * 100.0,
        thousands(r.in_flight_at_end),
    );
    if r.failed.total > 0 {
        let parts: Vec<String> =
            failure_reasons(&r.failed).iter().map(|(n, what)| format!("{} {what}", thousands(*n))).collect();
        let _ = writeln!(o, "  failed    {}", parts.join(" · "));
    }
    if r.retries > 0 {
        let _ = writeln!(
            o,
            "  retries   {} ({} attempts in all: load x{:.2})",
            thousands(r.retries),
            thousands(r.attempts),
            r.load_multiplier
        );
    }
    let l = &s.latency_ms;
    let _ = writeln!(
        o,
        "Latency   mean {} · p50 {} · p90 {} · p99 {} · p99.9 {} · max {}",
        ms(l.mean),
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p999),
        ms(l.max)
    );
    let _ = writeln!(o, "Throughput {:.1} requests/s", s.throughput_rps);
    users_line(&mut o, "Users    ", &s.users);
    if let Some(inc) = &s.incident {
        let from = inc.from_clock.clone().unwrap_or_else(|| secs(inc.from_s));
        let until = inc.until_clock.clone().unwrap_or_else(|| secs(inc.until_s));
        let _ = writeln!(
            o,
            "Incident  {from} to {until}: {} requests · error rate {:.1}% · p99 {}",
            thousands(inc.requests),
            inc.error_rate * 100.0,
            ms(inc.latency_ms.p99)
        );
        users_line(&mut o, "  users  ", &inc.users);
    }
    for sn in s.subnets.iter().take(12) {
        let u = sn.incident_users.as_ref().unwrap_or(&sn.users);
        let scope = if sn.incident_users.is_some() { "in the incident " } else { "" };
        let _ = writeln!(
            o,
            "  subnet {} ({}): {} active · {:.1}% affected {scope}({:.1}% could not use it)",
            sn.name,
            sn.prefix,
            thousands(u.active),
            u.affected_pct,
            u.unable_pct
        );
    }
    let im = &s.impact;
    if let Some(w) = &im.window {
        let from = w.from_clock.clone().unwrap_or_else(|| secs(w.from_s));
        let until = w.until_clock.clone().unwrap_or_else(|| secs(w.until_s));
        let _ = writeln!(
            o,
            "Impact    outside the SLOs from {from} to {until} ({}) · peak error rate {:.1}%",
            secs(w.duration_s),
            im.peak_error_rate * 100.0
        );
    }
    match (im.time_to_detect_s, &im.detected_by) {
        (Some(t), Some(by)) => {
            let _ = writeln!(o, "Detection {} after the first change, by alert `{by}`", secs(t));
        }
        _ if !s.alerts.is_empty() || im.first_change_s.is_some() => {
            let _ = writeln!(o, "Detection no alert fired after the first change");
        }
        _ => {}
    }
    if let Some(t) = im.time_to_recover_s {
        let _ = writeln!(o, "Recovery  {} after the fix", secs(t));
    }
    if !s.timeline.is_empty() || !s.alerts.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Timeline");
        let mut lines: Vec<(f64, String)> = Vec::new();
        for t in &s.timeline {
            let when =
                t.at_clock.clone().map(|c| c[11..19].to_string()).unwrap_or_else(|| format!("+{}", secs(t.at_s)));
            let state = if t.applied { "" } else { "  [BLOCKED by validation]" };
            let line = if t.change.is_empty() {
                format!("  {when}  note: {}", t.note.clone().unwrap_or_default())
            } else {
                let note = t.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default();
                format!("  {when}  {}: {}{note}{state}", t.target, t.change)
            };
            lines.push((t.at_s, line));
        }
        // One line per alert and entity: the first firing, and how often it fired.
        let mut seen: Vec<(&str, Option<&str>, usize)> = Vec::new();
        for a in &s.alerts {
            match seen.iter_mut().find(|x| x.0 == a.name && x.1 == a.entity.as_deref()) {
                Some(x) => x.2 += 1,
                None => seen.push((&a.name, a.entity.as_deref(), 1)),
            }
        }
        for (name, entity, count) in seen {
            let a = s.alerts.iter().find(|a| a.name == name && a.entity.as_deref() == entity).expect("seen above");
            let when = a
                .fired_at_clock
                .clone()
                .map(|c| c[11..19].to_string())
                .unwrap_or_else(|| format!("+{}", secs(a.fired_at_s)));
            let on = a.entity.as_ref().map(|e| format!(" on {e}")).unwrap_or_default();
            let resolved = if count > 1 {
                format!(", fired {count} times in all")
            } else {
                match (a.resolved_at_s, &a.resolved_at_clock) {
                    (_, Some(c)) => format!(", resolved {}", &c[11..19]),
                    (Some(t), None) => format!(", resolved +{}", secs(t)),
                    _ => ", still firing at the end".to_string(),
                }
            };
            lines.push((
                a.fired_at_s,
                format!("  {when}  alert {} fired{on} ({} {}){resolved}", a.name, a.metric, a.condition),
            ));
        }
        lines.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, l) in lines.iter().take(30) {
            let _ = writeln!(o, "{l}");
        }
        if lines.len() > 30 {
            let _ = writeln!(o, "  ... {} more in events.csv", lines.len() - 30);
        }
    }
    if !s.slos.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "SLOs      verdict: {}", s.verdict.as_str().to_uppercase());
        for v in &s.slos {
            let mark = if v.met { "pass" } else { "FAIL" };
            let _ = writeln!(o, "  {mark}  {} over {}: observed {}", v.objective, v.window, v.observed_text);
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<16} {:>12} {:>7} {:>7} {:>10} {:>10}",
        "Server", "Requests", "Share", "Util", "Max queue", "Rejected"
    );
    const SHOWN: usize = 20;
    for &i in server_order(&s.servers, SHOWN).iter().take(SHOWN) {
        let v = &s.servers[i];
        let _ = writeln!(
            o,
            "{:<16} {:>12} {:>6.1}% {:>6.1}% {:>10} {:>10}",
            v.name,
            thousands(v.requests),
            v.share * 100.0,
            v.utilisation * 100.0,
            thousands(v.max_queue),
            thousands(v.rejected)
        );
    }
    if s.servers.len() > SHOWN {
        let _ = writeln!(o, "  ... {} more servers (busiest shown; all in servers.csv)", s.servers.len() - SHOWN);
    }
    if let Some(r) = &s.replications {
        let _ = writeln!(o);
        o.push_str(&super::replications::text_block(r));
    }
    if !files.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", reports_line(files));
    }
    o
}

/// The files written, on one line: their directory, the human reports
/// first, then the data files, with the charts counted rather than listed.
pub fn reports_line(files: &[String]) -> String {
    let paths: Vec<&std::path::Path> = files.iter().map(std::path::Path::new).collect();
    let name = |p: &std::path::Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = paths[0].parent().map(|d| d.display().to_string()).unwrap_or_default();
    let is_chart = |n: &str| n.ends_with(".svg") || n.ends_with(".png");
    let mut names: Vec<String> = paths.iter().map(|p| name(p)).filter(|n| !is_chart(n)).collect();
    names.sort_by_key(|n| (!super::files::for_people(n), n.clone()));
    let charts = paths.iter().filter(|p| name(p).ends_with(".svg")).count();
    if charts > 0 {
        names.push(format!("{charts} charts (.svg and .png)"));
    }
    format!("Reports in {dir}/: {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reports_line_names_the_directory_reports_first_and_counts_charts() {
        let files: Vec<String> = [
            "events.csv",
            "latency.png",
            "latency.svg",
            "queue.png",
            "queue.svg",
            "report.html",
            "report.md",
            "summary.json",
        ]
        .iter()
        .map(|n| format!("output/q/{n}"))
        .collect();
        assert_eq!(
            reports_line(&files),
            "Reports in output/q/: report.html, report.md, events.csv, summary.json, 2 charts (.svg and .png)"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(group_digits("123456789012345678901"), "123,456,789,012,345,678,901");
        assert_eq!(si(2_400_000.0), "2.40M");
        assert_eq!(ms(0.5), "0.50 ms");
        assert_eq!(ms(1500.0), "1.50 s");
    }
}
