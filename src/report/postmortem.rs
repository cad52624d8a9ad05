//! `report.md`: the run told as a postmortem, in the shape the teams'
//! own postmortems take (issue summary, timeline, root cause and
//! resolution, corrective and preventative measures), so a game-day
//! facilitator can hand it out as the expected course of the exercise. A
//! scenario that injects no change gets a short steady-state account
//! instead: there is no incident to invent.

mod mitigations;

use std::fmt::Write;

use super::Summary;
use super::markdown::{md_code, md_code_cell, md_text};
use super::story::{self, Injected, ROWS_SHOWN, Role, Story, StoryRow, Times};
use super::summary::{FailedCounts, UsersSummary};
use super::text::{self, ms, thousands};
use crate::time::secs_to_nanos;

/// The report as Markdown.
pub fn render(summary: &Summary, story: &Story) -> String {
    let pm = Postmortem {
        s: summary,
        times: story.times,
        rows: &story.rows,
        root: story.root.as_ref(),
        blocked: story.first_blocked.as_ref(),
        changed: story.first_applied.is_some(),
    };
    let (measures, absent) = mitigations::review(summary, story);
    let mut o = String::new();
    if pm.changed || pm.blocked.is_some() {
        pm.incident(&mut o);
    } else {
        pm.steady_state(&mut o);
    }
    pm.measures(&mut o, &measures, &absent);
    pm.verdicts(&mut o);
    if let Some(r) = &summary.replications {
        replications(&mut o, r);
    }
    if let Some(why) = &summary.simulated.stopped {
        // Right under the title: nothing below covers the whole run.
        let at = if o.starts_with("# ") { o.find('\n').map_or(o.len(), |i| i + 1) } else { 0 };
        o.insert_str(at, &format!("\n> **Incomplete run.** {}\n", crate::report::markdown::md_text(why)));
    }
    o
}

/// Every replication together: the SLO verdicts with their confidence and
/// the headline metrics' intervals.
fn replications(o: &mut String, r: &super::replications::Replications) {
    let conf = r.confidence_text();
    let _ = writeln!(
        o,
        "\n## Over {} replications\n\nSeeds {} to {}; means with {conf} Student-t confidence intervals (the rest of \
         this report is the first replication's). Overall: **{}**.\n",
        r.replications,
        r.first_seed,
        r.first_seed.saturating_add(r.replications as u64 - 1),
        r.verdict.as_str().to_uppercase()
    );
    for s in &r.slos {
        let _ = writeln!(o, "- {}", md_text(&s.statement));
    }
    if !r.slos.is_empty() {
        o.push('\n');
    }
    let _ = writeln!(o, "| Metric | Mean | {conf} CI | Runs |\n|---|---:|---:|---:|");
    for row in super::replications::metric_rows(r) {
        let cells: Vec<String> = row.iter().map(|c| md_text(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
}

struct Postmortem<'a> {
    s: &'a Summary,
    times: Times<'a>,
    rows: &'a [StoryRow],
    root: Option<&'a Injected>,
    blocked: Option<&'a Injected>,
    /// Some change was applied (the root cause may still be None: averted).
    changed: bool,
}

impl Postmortem<'_> {
    fn incident(&self, o: &mut String) {
        self.title(o, "Predicted postmortem");
        o.push_str("## Issue summary\n\n");
        let _ = writeln!(o, "- **Duration:** {}", self.duration());
        let _ = writeln!(o, "- **Impact:** {} {}", self.users_impact(), self.requests_impact());
        self.subnets(o);
        let _ = writeln!(o, "- **Root cause:** {}\n", self.root_cause());
        self.timeline(o);
        o.push_str("## Root cause and resolution\n\n");
        let _ = writeln!(o, "**Root cause.** {}{}\n", capitalised(&self.root_cause()), self.what_it_did());
        let _ = writeln!(o, "**Resolution.** {}\n", self.resolution());
    }

    fn steady_state(&self, o: &mut String) {
        self.title(o, "Predicted steady state");
        let s = self.s;
        o.push_str("## Summary\n\n");
        let warmup = if s.simulated.warmup_s > 0.0 {
            format!(" after {} of warm-up", crate::time::spoken(s.simulated.warmup_s))
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "- **No change injected:** the scenario's timeline changes nothing, so this is the service's steady state over {}{warmup}, not an incident.",
            crate::time::spoken(s.simulated.measured_s)
        );
        let _ = writeln!(o, "- **Impact:** {}", self.duration());
        let _ = writeln!(o, "- **Users:** {}", users_sentence(&s.users, "over the run"));
        let l = &s.latency_ms;
        let _ = writeln!(
            o,
            "- **Requests:** {} sent, {} failed{}; latency p50 {}, p99 {}; {:.1} completed per second.\n",
            thousands(s.requests.generated),
            story::pct(s.error_rate),
            reasons(&s.requests.failed),
            ms(l.p50),
            ms(l.p99),
            s.throughput_rps
        );
        self.timeline(o);
    }

    fn title(&self, o: &mut String, kind: &str) {
        let sc = &self.s.scenario;
        let _ = writeln!(o, "# {kind}: {}\n", md_text(&sc.name));
        let file = if sc.file.is_empty() { String::new() } else { format!("{}, ", md_code(&sc.file)) };
        let sets: Vec<String> = sc.overrides.iter().map(|v| md_code(&format!("--set {v}"))).collect();
        let sets = if sets.is_empty() { String::new() } else { format!(", with {}", sets.join(" ")) };
        let _ = writeln!(
            o,
            "*What lbsim {} predicts for this scenario ({file}seed {}{sets}): the expected course of the exercise, from one simulated run; not a record of a real one.*\n",
            self.s.lbsim_version, sc.seed
        );
        if !sc.description.is_empty() {
            let _ = writeln!(o, "{}\n", md_text(&sc.description));
        }
    }

    /// How long the service was outside its objectives, or why that is not known.
    fn duration(&self) -> String {
        let s = self.s;
        let window = s.incident.as_ref().map(|w| {
            format!(" Users and requests below are counted in the incident window, {}.", self.span(w.from_s, w.until_s))
        });
        let window = window.unwrap_or_default();
        match &s.impact.window {
            Some(w) => format!(
                "{}, {} outside the service's objectives.{window}",
                self.span(w.from_s, w.until_s),
                crate::time::spoken(w.duration_s)
            ),
            None if s.slos.is_empty() => {
                format!("not judged: the scenario declares no SLO, so there is no impact window.{window}")
            }
            None => format!("none: no interval was outside the SLOs.{window}"),
        }
    }

    /// `2024-06-01 13:58 to 16:00 UTC`, or with both dates across midnight.
    fn span(&self, from_s: f64, until_s: f64) -> String {
        let (from, until) = (self.times.at_dated(secs_to_nanos(from_s)), self.times.at_dated(secs_to_nanos(until_s)));
        match self.times.clock {
            Some(_) if from[..10] == until[..10] => {
                let zone_at = from.rfind(' ').unwrap_or(from.len());
                format!("{} to {}", &from[..zone_at], &until[11..])
            }
            Some(_) => format!("{from} to {until}"),
            None => format!("from {from} to {until} after the start"),
        }
    }

    fn users_impact(&self) -> String {
        match &self.s.incident {
            Some(w) => users_sentence(&w.users, "in the incident window"),
            None => users_sentence(&self.s.users, "over the run"),
        }
    }

    /// Where users sit behind subnets, who was hit: a routing fault shows here.
    fn subnets(&self, o: &mut String) {
        let s = self.s;
        if s.subnets.is_empty() {
            return;
        }
        let scope = if s.subnets.iter().any(|n| n.incident_users.is_some()) { " in the incident window" } else { "" };
        let _ = writeln!(o, "- **Impact by subnet**{scope}:");
        for n in &s.subnets {
            let u = n.incident_users.as_ref().unwrap_or(&n.users);
            let _ = writeln!(
                o,
                "  - {} ({}): {} of {} users affected, {} could not use the service",
                md_text(&n.name),
                md_text(&n.prefix),
                story::pct100(u.affected_pct),
                thousands(u.active),
                story::pct100(u.unable_pct)
            );
        }
    }

    fn requests_impact(&self) -> String {
        let s = self.s;
        let im = &s.impact;
        let peak = if im.peak_error_rate > 0.0 {
            format!(
                "the error rate peaked at {} (in the interval from {})",
                story::pct(im.peak_error_rate),
                self.times.at_s(im.peak_error_rate_at_s)
            )
        } else {
            "no interval saw an error".to_string()
        };
        match &s.incident {
            Some(w) => format!(
                "{} of the {} requests sent in the incident window failed ({} over the whole run); {peak}.",
                story::pct(w.error_rate),
                thousands(w.requests),
                story::pct(s.error_rate)
            ),
            None => format!(
                "{} of the {} requests failed; {peak}.",
                story::pct(s.error_rate),
                thousands(s.requests.generated)
            ),
        }
    }

    fn change_text(&self, c: &Injected) -> String {
        let note = c.note.as_ref().map(|n| format!(" ({})", md_text(n))).unwrap_or_default();
        format!(
            "{} at {}, on {}: {}{note}",
            md_code(&c.label),
            self.times.at(c.at_ns),
            md_text(&c.target),
            md_text(&c.what)
        )
    }

    fn root_cause(&self) -> String {
        let earlier = self.blocked.filter(|b| self.root.is_some_and(|r| b.at_ns <= r.at_ns));
        match (self.root, self.blocked) {
            (Some(r), _) => {
                let before = earlier
                    .map(|b| format!(" Validation had blocked an earlier change, {}.", md_code(&b.label)))
                    .unwrap_or_default();
                format!("the change {}.{before}", self.change_text(r))
            }
            (None, Some(b)) => {
                format!("none reached the service: validation blocked the injected change {}.", self.change_text(b))
            }
            (None, None) => "none: no change was applied.".to_string(),
        }
    }

    /// What the change did, from the failures and the servers.
    fn what_it_did(&self) -> String {
        let s = self.s;
        let mut out = String::new();
        let (failed, scope) = match &s.incident {
            Some(w) => (&w.failed, "in the incident window"),
            None => (&s.requests.failed, "over the run"),
        };
        if failed.total > 0 {
            let _ = write!(out, " Requests failed {scope}{}.", reasons(failed));
        }
        let n = s.servers.len();
        if let Some(top) =
            s.servers.iter().max_by(|a, b| a.share.total_cmp(&b.share)).filter(|t| n > 1 && t.share > 2.0 / n as f64)
        {
            let _ = write!(
                out,
                " {} received {} of the requests that reached a server, where an even share is {}.",
                md_text(&top.name),
                story::pct(top.share),
                story::pct(1.0 / n as f64)
            );
        }
        let crashed: Vec<String> = s
            .servers
            .iter()
            .filter(|v| v.crashes > 0)
            .map(|v| format!("{} {}", md_text(&v.name), story::times_word(v.crashes)))
            .collect();
        if !crashed.is_empty() {
            let more =
                if crashed.len() > 6 { format!(" and {} more servers", crashed.len() - 6) } else { String::new() };
            let _ = write!(out, " Crashes: {}{more}.", crashed[..crashed.len().min(6)].join(", "));
        }
        out
    }

    fn resolution(&self) -> String {
        let s = self.s;
        if self.root.is_none() {
            return "Nothing to resolve: the injected change never took effect.".to_string();
        }
        let im = &s.impact;
        let fix_row = self.rows.iter().find(|r| r.role == Role::Fix);
        let fix = match (im.fix_at_s, fix_row) {
            (Some(at), Some(r)) => {
                format!(
                    "The fix, at {}: {} on {}: {}.",
                    self.times.at_s(at),
                    r.label,
                    md_text(&r.entity),
                    md_text(&r.detail)
                )
            }
            (Some(at), None) => format!("The fix, at {}.", self.times.at_s(at)),
            (None, _) => "The scenario applies no fix.".to_string(),
        };
        let end = match (&im.window, im.fix_at_s) {
            (Some(w), Some(f)) if w.until_s <= f => {
                format!(" The impact had already ended, at {}.", self.times.at_s(w.until_s))
            }
            (Some(w), Some(_)) => format!(
                " The service was back within its objectives at {}, {}.",
                self.times.at_s(w.until_s),
                story::after_fix(im.time_to_recover_s.unwrap_or(0.0))
            ),
            (Some(w), None) if w.until_s + s.simulated.interval_s >= s.simulated.duration_s => {
                " The service was still outside its objectives when the run ended.".to_string()
            }
            (Some(w), None) => format!(" The impact ended on its own, at {}.", self.times.at_s(w.until_s)),
            (None, _) => String::new(),
        };
        format!("{fix}{end}")
    }

    fn timeline(&self, o: &mut String) {
        let _ = writeln!(o, "## Timeline{}\n", self.times.zone_note());
        if self.rows.is_empty() {
            o.push_str("Nothing happened besides requests: no change, crash, health change or alert.\n\n");
            return;
        }
        for r in self.rows.iter().take(ROWS_SHOWN) {
            let _ = writeln!(o, "{}", self.line(r));
        }
        if self.rows.len() > ROWS_SHOWN {
            let _ = writeln!(o, "- ... {} more lines: every event is in `events.csv`.", self.rows.len() - ROWS_SHOWN);
        }
        o.push('\n');
    }

    fn line(&self, r: &StoryRow) -> String {
        let entity = if r.entity.is_empty() { String::new() } else { format!(" ({})", md_text(&r.entity)) };
        let label = capitalised(&r.label);
        let head = match r.role {
            Role::RootCause => format!("**Root cause.** {label}{entity}"),
            Role::Detection => {
                let after =
                    self.s.impact.time_to_detect_s.map(|t| format!(", {} after the change", crate::time::spoken(t)));
                format!("**Detection{}.** {label}{entity}", after.unwrap_or_default())
            }
            Role::Fix => format!("**Fix.** {label}{entity}"),
            Role::ImpactStart | Role::Recovered => format!("**{label}**"),
            Role::Plain => format!("{label}{entity}"),
        };
        format!("- **{}** {head}: {}", self.times.at(r.time_ns), md_text(&r.detail))
    }

    fn measures(&self, o: &mut String, measures: &[mitigations::Measure], absent: &[&str]) {
        let heading = if self.changed || self.blocked.is_some() {
            "## Corrective and preventative measures\n\n### What the mitigations in place did\n\n"
        } else {
            "## Mitigations in place\n\n"
        };
        o.push_str(heading);
        if measures.is_empty() {
            o.push_str("None: no health checks, outlier detection, retries, second balancer, change validation, alerts or queue limits.\n\n");
            return;
        }
        for m in measures {
            let _ = writeln!(o, "- **{}** ({}): {}.", m.name, m.setup, m.effect);
        }
        if !absent.is_empty() {
            let _ = writeln!(o, "\nNot in place, and candidates for a counterfactual run: {}.", absent.join(", "));
        }
        o.push('\n');
    }

    fn verdicts(&self, o: &mut String) {
        let s = self.s;
        o.push_str("## SLO verdicts\n\n");
        if s.slos.is_empty() {
            o.push_str("No SLO is declared, so nothing can fail: the verdict is PASS by default.\n");
            return;
        }
        let met = s.slos.iter().filter(|v| v.met).count();
        let _ = writeln!(o, "Overall: **{}** ({met} of {} met).\n", s.verdict.as_str().to_uppercase(), s.slos.len());
        o.push_str("| SLO | Objective | Window | Observed | Met |\n|---|---|---|---|---|\n");
        for v in &s.slos {
            let mark = if v.met { "✓" } else { "✗" };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {mark} |",
                md_text(&v.name),
                md_code_cell(&v.objective),
                md_text(&v.window),
                md_text(&v.observed_text)
            );
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `57.7% (963,841) could not use the service ...` for one set of users.
fn users_sentence(u: &UsersSummary, scope: &str) -> String {
    let [unable, failed, slowed, normal] =
        story::categories(u).map(|c| format!("{} ({})", story::pct100(c.pct), thousands(c.count)));
    let pending = if u.pending > 0 {
        format!(" {} were still waiting for an answer at the end.", thousands(u.pending))
    } else {
        String::new()
    };
    format!(
        "{} of the {} users active {scope} were affected: {unable} could not use the service and {failed} failed at times; {slowed} were slowed (a response over {}) and {normal} were served normally.{pending}",
        story::pct100(u.affected_pct),
        thousands(u.active),
        crate::time::spoken(u.slow_threshold_ms / 1e3)
    )
}

/// `: 2,347,915 refused (down), 406,549 rejected (queue full)`, most first.
fn reasons(f: &FailedCounts) -> String {
    let mut parts = text::failure_reasons(f);
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    let list: Vec<String> = parts.iter().map(|(n, what)| format!("{} {what}", thousands(*n))).collect();
    if list.is_empty() { String::new() } else { format!(": {}", list.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::EventTag;
    use crate::report::story::fixtures;

    #[test]
    fn an_incident_reads_as_a_postmortem_with_the_runs_numbers() {
        let (s, r) = fixtures::run(fixtures::INCIDENT);
        let text = render(&s, &Story::build(&s, &r));
        assert!(text.starts_with("# Predicted postmortem: fixture-incident\n"));
        let order = [
            "## Issue summary",
            "## Timeline (UTC)",
            "## Root cause and resolution",
            "## Corrective and preventative measures",
            "## SLO verdicts",
        ];
        let at: Vec<usize> = order.iter().map(|h| text.find(h).unwrap_or_else(|| panic!("{h}"))).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
        // Duration: the impact window, in wall-clock time.
        let w = s.impact.window.as_ref().unwrap();
        let span = format!(
            "2024-06-01 {} to {} UTC, {} outside",
            &w.from_clock.as_ref().unwrap()[11..16],
            &w.until_clock.as_ref().unwrap()[11..16],
            crate::time::spoken(w.duration_s)
        );
        assert!(text.contains(&format!("- **Duration:** {span}")), "{span}\n{text}");
        // Users and requests in the incident window.
        let inc = s.incident.as_ref().unwrap();
        let users = format!(
            "{} of the {} users active in the incident window were affected: {} ({}) could not use the service",
            story::pct100(inc.users.affected_pct),
            thousands(inc.users.active),
            story::pct100(inc.users.unable_pct),
            thousands(inc.users.unable)
        );
        assert!(text.contains(&users), "{users}");
        assert!(text.contains(&format!(
            "{} of the {} requests sent in the incident window failed ({} over the whole run)",
            story::pct(inc.error_rate),
            thousands(inc.requests),
            story::pct(s.error_rate)
        )));
        assert!(text.contains(&format!("peaked at {}", story::pct(s.impact.peak_error_rate))));
        // The root cause is the applied change; the blocked one is named as blocked.
        assert!(text.contains("- **Root cause:** the change `skew` at 13:40:00, on balancer lb: "), "{text}");
        assert!(text.contains("Validation had blocked an earlier change, `pin-web-01`."));
        // Detection, by the alert and when.
        let detect = format!(
            "**Detection, {} after the change.** Alert fired (alert errors)",
            crate::time::spoken(s.impact.time_to_detect_s.unwrap())
        );
        assert!(text.contains(&detect), "{detect}");
        // The crash loop is one line.
        let crashes = r.recorder.events.count(EventTag::ServerCrashed);
        assert!(text.contains(&format!("Crashed {crashes} times (server web-01): between ")));
        assert!(text.contains(&format!("web-01 {}", story::times_word(crashes))));
        // User text cannot start markup.
        assert!(text.contains("pin \\<everything> on web-01"));
        assert_eq!(text.matches("<everything").count(), text.matches("\\<everything").count());
    }

    #[test]
    fn the_mitigations_say_what_they_did() {
        let (s, r) = fixtures::run(fixtures::INCIDENT);
        let text = render(&s, &Story::build(&s, &r));
        let log = &r.recorder.events;
        let unhealthy = log.count(EventTag::BackendUnhealthy);
        assert!(unhealthy > 0, "the fixture's health checks must act");
        let first = r.world.clock.unwrap().format_short(log.first(EventTag::BackendUnhealthy).unwrap().time_ns);
        let web01 = log
            .of(EventTag::BackendUnhealthy)
            .filter(|e| e.subject() == crate::metrics::Subject::Server(crate::model::ServerId::from_index(0)))
            .count();
        let health = format!(
            "- **Health checks** (balancer lb probes every 5 s, out after 3 failures, back after 2 passes): lb marked unhealthy: web-01 {}",
            story::times_word(web01)
        );
        assert!(text.contains(&health), "{health}\n{text}");
        assert!(text.contains(&format!("(first at {first})")));
        assert!(text.contains("- **Change validation** (balancer lb: at least 2 backends in rotation): blocked `pin-web-01` at 13:38:00 (would leave 1 backend(s) in rotation; validation requires at least 2): it never took effect."));
        let rq = &s.requests;
        assert!(text.contains(&format!(
            "{} retries: {} attempts for {} requests, the load multiplied by {:.2}",
            thousands(rq.retries),
            thousands(rq.attempts),
            thousands(rq.generated),
            rq.load_multiplier
        )));
        let fired = s.alerts.iter().filter(|a| a.name == "errors").count();
        assert!(
            text.contains(&format!(
                "`errors` fired {}, first at {}",
                story::times_word(fired),
                &s.alerts[0].fired_at_clock.as_ref().unwrap()[11..19]
            )),
            "{text}"
        );
        assert!(text.contains(": the detection; `never` never fired."));
        assert!(text.contains(&format!("full queues turned away {} requests at once", thousands(rq.failed.rejected))));
        assert!(
            text.contains(
                "Not in place, and candidates for a counterfactual run: outlier detection, a second balancer."
            )
        );
        assert!(text.contains("| availability | `availability >= 99.9%` | run |"));
        assert!(text.contains(&format!("Overall: **{}**", s.verdict.as_str().to_uppercase())));
        assert_eq!(text, render(&s, &Story::build(&s, &r)), "same run, same bytes");
    }

    #[test]
    fn multi_line_text_keeps_the_timeline_and_the_slo_table_whole() {
        // A `note: |` block and an SLO name over two lines, with a pipe and backticks.
        let text = fixtures::INCIDENT
            .replace("note: weights changed by hand", "note: \"weights changed\\nby hand | see `runbook`\\n\"")
            .replace("{name: availability,", "{name: \"availability\\n(edge | lb)\",");
        let (s, r) = fixtures::run(&text);
        assert!(s.slos[0].name.contains('\n') && s.timeline[1].note.as_ref().unwrap().contains('\n'));
        let md = render(&s, &Story::build(&s, &r));
        assert!(md.contains("(weights changed by hand \\| see \\`runbook\\`)"), "{md}");
        let section = |from: &str, to: &str| md[md.find(from).unwrap()..md.find(to).unwrap()].to_string();
        let timeline = section("## Timeline", "## Root cause and resolution");
        let lines: Vec<&str> = timeline.lines().skip(1).filter(|l| !l.is_empty()).collect();
        assert!(lines.len() > 5 && lines.iter().all(|l| l.starts_with("- **")), "{timeline}");
        // The verdicts close the report.
        let table = &md[md.find("| SLO |").unwrap()..];
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 2 + s.slos.len(), "{table}");
        // Every row has the table's six cell borders; escaped pipes are not borders.
        assert!(rows.iter().all(|l| l.replace("\\|", "").matches('|').count() == 6), "{table}");
        assert!(rows[2].starts_with("| availability (edge \\| lb) | `availability >= 99.9%` |"), "{table}");
    }

    /// The 004 route audit, shortened: validation blocks a routing change
    /// that would add more latency than it allows.
    const ROUTE_AUDIT: &str = r#"
name: fixture-route-audit
seed: 4
start: 2023-05-25T09:50:00Z
duration: 12m
interval: 30s
slow_threshold: 1500ms
clients:
  visitors: {target: lb-01, rate: 50/s, users: 2000, timeout: 8s, subnets: [{name: internet, prefix: 10.1.0.0/16}]}
balancers:
  lb-01:
    address: 10.0.1.10
    backends: [web-01, web-02]
    routes: [{prefix: 10.0.2.0/24, via: lan}, {prefix: 0.0.0.0/0, via: gateway}]
servers:
  web-{01..02}:
    address: 10.0.2.11
    workers: 8
    queue_limit: 100
    service: {exponential: 40ms}
    routes: [{prefix: 10.0.1.0/24, via: lan}, {prefix: 0.0.0.0/0, via: lan}]
network:
  validation: {keep_reachable: true, max_added_latency: 250ms}
  routers:
    gateway: {routes: [{prefix: 10.0.1.0/24, via: lb-01}, {prefix: 10.1.0.0/16, via: visitors.internet}]}
    backup-gw: {routes: [{prefix: 10.0.1.0/24, via: gateway}]}
  switches: {lan: {}}
  links:
    - {between: [visitors.internet, gateway], latency: {constant: 30ms}}
    - {between: [gateway, lb-01], latency: {constant: 500us}}
    - {between: [lb-01, lan]}
    - {between: [lan, "web-{01..02}"], latency: {constant: 100us}}
    - {between: [web-01, backup-gw], latency: {constant: 600ms}}
    - {between: [backup-gw, gateway], latency: {constant: 20ms}}
timeline:
  - {name: wrong-route, at: "09:58", server: web-01, replace_route: {prefix: 10.0.1.0/24, via: backup-gw}}
"#;

    #[test]
    fn durations_read_the_same_way_throughout() {
        let (s, r) = fixtures::run(ROUTE_AUDIT);
        let story = Story::build(&s, &r);
        let md = render(&s, &story);
        // Configured durations in the story's style, as the health checks' "every 5 s".
        assert!(
            md.contains("network changes: every destination still reachable, at most 250 ms added latency"),
            "{md}"
        );
        assert!(md.contains("were slowed (a response over 1.5 s)"), "{md}");
        let html = crate::report::html::render(&s, &story, &[]);
        assert!(html.contains("<p>Slowed: never failed, but a response took longer than 1.5 s.</p>"));
    }

    #[test]
    fn a_blocked_change_is_told_with_the_reason_the_run_recorded() {
        let (s, r) = fixtures::run(ROUTE_AUDIT);
        let reason = "routing check: it would slow web-01 -> lb-01 beyond the allowed latency";
        let words = crate::report::words::EventWords::of(&r);
        assert_eq!((r.blocked_changes(), r.blocked_reason(0).map(|b| words.reason(b))), (vec![0], Some(reason.into())));
        let md = render(&s, &Story::build(&s, &r));
        let line = format!("blocked `wrong-route` at 09:58:00 ({reason}): it never took effect.");
        assert!(md.contains(&line), "{line}\n{md}");
    }

    #[test]
    fn without_a_change_the_report_is_an_honest_steady_state() {
        let (s, r) = fixtures::run(fixtures::STEADY);
        let text = render(&s, &Story::build(&s, &r));
        assert!(text.starts_with("# Predicted steady state: fixture-steady\n"));
        assert!(text.contains("- **No change injected:** the scenario's timeline changes nothing, so this is the service's steady state over 4 min 30 s after 30 s of warm-up, not an incident."));
        assert!(!text.contains("Root cause") && !text.contains("Issue summary") && !text.contains("Detection"));
        assert!(text.contains("## Timeline\n\nNothing happened besides requests"));
        let u = &s.users;
        assert!(text.contains(&format!(
            "{} of the {} users active over the run were affected",
            story::pct100(u.affected_pct),
            thousands(u.active)
        )));
        assert!(text.contains(&format!(
            "{} sent, {} failed",
            thousands(s.requests.generated),
            story::pct(s.error_rate)
        )));
        assert!(text.contains(
            "## Mitigations in place\n\n- **Queue limits** (each of the 3 servers queues at most 100 waiting requests"
        ));
        assert!(text.contains(&format!("| latency | `p99 < 1s` | run | {} | ✓ |", md_text(&s.slos[0].observed_text))));
    }
}
