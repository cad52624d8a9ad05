//! The summary printed to the terminal after a run.

use std::fmt::Write;

use super::Summary;
use crate::time::format_duration;

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate with a k/M suffix: `2.4M`.
pub fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Milliseconds with sensible precision.
pub fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn secs(s: f64) -> String {
    format_duration((s * 1e9).round() as u64)
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
        let _ = writeln!(
            o,
            "  failed    {} rejected (queue full) · {} timed out · {} no backend",
            thousands(r.failed.rejected),
            thousands(r.failed.timed_out),
            thousands(r.failed.no_backend),
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
    let u = &s.users;
    let _ = writeln!(
        o,
        "Users     {} active of {} · {} affected ({:.1}%) · {} slowed only ({:.1}%, > {})",
        thousands(u.active),
        thousands(u.total),
        thousands(u.affected),
        u.affected_pct,
        thousands(u.slowed),
        u.slowed_pct,
        ms(u.slow_threshold_ms),
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<16} {:>12} {:>7} {:>7} {:>10} {:>10}",
        "Server", "Requests", "Share", "Util", "Max queue", "Rejected"
    );
    let mut order: Vec<usize> = (0..s.servers.len()).collect();
    const SHOWN: usize = 20;
    if s.servers.len() > SHOWN {
        order.sort_by(|&a, &b| s.servers[b].requests.cmp(&s.servers[a].requests).then(a.cmp(&b)));
    }
    for &i in order.iter().take(SHOWN) {
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
    if !files.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Reports: {}", files.join(", "));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(si(2_400_000.0), "2.40M");
        assert_eq!(ms(0.5), "0.50 ms");
        assert_eq!(ms(1500.0), "1.50 s");
    }
}
