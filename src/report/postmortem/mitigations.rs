//! The mitigations a scenario has in place, read from the compiled world,
//! and what each did in the run, read from the event log and the summary:
//! the "corrective and preventative measures" of a predicted postmortem,
//! seen from the side of the ones already there.

use std::fmt::Write;

use crate::metrics::{EventKind, EventTag, LoggedEvent, Subject};
use crate::model::{AllUnhealthy, TargetPolicy};
use crate::model::{Budget, Change, World};
use crate::report::Summary;
use crate::report::markdown::{md_code, md_text};
use crate::report::story::{self, Story, Times, times_word};
use crate::report::text::thousands;
use crate::report::words::EventWords;

/// One mitigation in place: how it is set up and what it did.
pub(super) struct Measure {
    pub name: &'static str,
    pub setup: String,
    pub effect: String,
}

/// What the scenario has in place, and the names of what it has not.
pub(super) fn review(summary: &Summary, story: &Story) -> (Vec<Measure>, Vec<&'static str>) {
    let run = story.run;
    let cx = Cx { s: summary, story, w: &run.world, events: &run.recorder.events.events, words: EventWords::of(run) };
    let checks: [(&'static str, Option<Measure>); 7] = [
        ("health checks", cx.health_checks()),
        ("outlier detection", cx.outlier_detection()),
        ("client retries", cx.retries()),
        ("a second balancer", cx.redundant_balancers()),
        ("change validation", cx.validation()),
        ("alerts", cx.alerts()),
        ("queue limits (overload protection)", cx.queue_limits()),
    ];
    let mut present = Vec::new();
    let mut absent = Vec::new();
    for (name, m) in checks {
        match m {
            Some(m) => present.push(m),
            None => absent.push(name),
        }
    }
    (present, absent)
}

struct Cx<'a> {
    s: &'a Summary,
    story: &'a Story<'a>,
    w: &'a World,
    events: &'a [LoggedEvent],
    words: EventWords<'a>,
}

impl Cx<'_> {
    fn times(&self) -> Times<'_> {
        self.story.times
    }

    fn of_kind(&self, tag: EventTag) -> impl Iterator<Item = &LoggedEvent> {
        self.events.iter().filter(move |e| e.tag() == tag)
    }

    /// "web-01 4 times, web-02 once (first at 13:41:12)" for the events of
    /// one kind by balancer `lb` (a health flip or an ejection), by server;
    /// None when there are none.
    fn per_server(&self, tag: EventTag, lb: usize) -> Option<String> {
        let mut counts: Vec<(Subject, usize)> = Vec::new();
        let hits: Vec<&LoggedEvent> = self.of_kind(tag).filter(|e| e.kind.by_balancer() == Some(lb as u32)).collect();
        for e in &hits {
            let server = e.subject();
            match counts.iter_mut().find(|(n, _)| *n == server) {
                Some(c) => c.1 += 1,
                None => counts.push((server, 1)),
            }
        }
        let first = hits.first()?;
        let name = |s: Subject| match s {
            Subject::Server(i) => self.w.servers[i.index()].name.as_str(),
            _ => unreachable!("health flips and ejections are about servers"),
        };
        let list: Vec<String> =
            counts.iter().map(|(n, c)| format!("{} {}", md_text(name(*n)), times_word(*c))).collect();
        Some(format!("{} (first at {})", list.join(", "), self.times().at(first.time_ns)))
    }

    fn health_checks(&self) -> Option<Measure> {
        let lbs: Vec<_> =
            self.w.balancers.iter().enumerate().filter_map(|(i, b)| b.health_check.map(|h| (i, b, h))).collect();
        if lbs.is_empty() {
            return None;
        }
        let mut setup = Vec::new();
        let mut effect = Vec::new();
        for &(i, b, h) in &lbs {
            setup.push(format!(
                "balancer {} probes every {}, out after {} failures, back after {} passes",
                md_text(&b.name),
                crate::time::spoken(h.interval as f64 / 1e9),
                h.unhealthy_threshold,
                h.healthy_threshold
            ));
            let mut e = match self.per_server(EventTag::BackendUnhealthy, i) {
                Some(list) => format!("{} marked unhealthy: {list}", md_text(&b.name)),
                None => format!("{} never marked a backend unhealthy", md_text(&b.name)),
            };
            e += &self.panic(i, b.on_all_unhealthy);
            effect.push(e);
        }
        Some(Measure { name: "Health checks", setup: setup.join("; "), effect: effect.join("; ") })
    }

    /// What a balancer did when too few backends were healthy.
    fn panic(&self, lb: usize, policy: AllUnhealthy) -> String {
        let me = Subject::Balancer(lb as u32);
        let on: Vec<&LoggedEvent> = self.of_kind(EventTag::PanicModeOn).filter(|e| e.subject() == me).collect();
        match (on.first(), policy) {
            (Some(first), _) => format!(
                "; left with too few healthy backends it went into panic mode {} (first at {}) and sent to every backend, healthy or not",
                times_word(on.len()),
                self.times().at(first.time_ns)
            ),
            (None, AllUnhealthy::FailClosed) if self.s.requests.failed.no_backend > 0 => format!(
                "; with no healthy backend it failed requests at once: {} had no backend",
                thousands(self.s.requests.failed.no_backend)
            ),
            _ => String::new(),
        }
    }

    fn outlier_detection(&self) -> Option<Measure> {
        let lbs: Vec<_> =
            self.w.balancers.iter().enumerate().filter_map(|(i, b)| b.outlier.map(|o| (i, b, o))).collect();
        if lbs.is_empty() {
            return None;
        }
        let setup = lbs
            .iter()
            .map(|(_, b, o)| {
                format!(
                    "balancer {} ejects after {} consecutive failures, for {} at first",
                    md_text(&b.name),
                    o.consecutive_failures,
                    crate::time::spoken(o.base_ejection as f64 / 1e9)
                )
            })
            .collect::<Vec<_>>();
        let effect = lbs
            .iter()
            .map(|&(i, b, _)| match self.per_server(EventTag::BackendEjected, i) {
                Some(list) => format!("{} ejected {list}", md_text(&b.name)),
                None => format!("{} never ejected a backend", md_text(&b.name)),
            })
            .collect::<Vec<_>>();
        Some(Measure { name: "Outlier detection", setup: setup.join("; "), effect: effect.join("; ") })
    }

    fn retries(&self) -> Option<Measure> {
        let groups: Vec<_> = self.w.clients.iter().filter_map(|c| c.retry.as_ref().map(|r| (c, r))).collect();
        if groups.is_empty() {
            return None;
        }
        let setup = groups
            .iter()
            .map(|(c, r)| {
                let budget = match r.budget {
                    Some(Budget::Ratio { ratio, .. }) => format!(", retry budget {}", story::pct(ratio)),
                    Some(Budget::TokenBucket { max_tokens, .. }) => format!(", retry throttling ({max_tokens} tokens)"),
                    None => String::new(),
                };
                format!("{} tries up to {} attempts{budget}", md_text(&c.name), r.attempts)
            })
            .collect::<Vec<_>>();
        let r = &self.s.requests;
        let effect = if r.retries == 0 {
            "no request needed a retry".to_string()
        } else {
            format!(
                "{} retries: {} attempts for {} requests, the load multiplied by {:.2}",
                thousands(r.retries),
                thousands(r.attempts),
                thousands(r.generated),
                r.load_multiplier
            )
        };
        Some(Measure { name: "Client retries", setup: setup.join("; "), effect })
    }

    fn redundant_balancers(&self) -> Option<Measure> {
        let groups: Vec<_> = self.w.clients.iter().filter(|c| c.targets.len() > 1).collect();
        if groups.is_empty() {
            return None;
        }
        let name = |b: u32| self.w.balancers[b as usize].name.as_str();
        let mut setup = Vec::new();
        let mut used = Vec::new();
        for c in &groups {
            let targets: Vec<String> = c.targets.iter().map(|(b, _)| md_text(name(*b))).collect();
            let how = match c.target_policy {
                TargetPolicy::Spread => "each user on one of them",
                TargetPolicy::Failover => "the first one up takes everything",
            };
            setup.push(format!("{} sends to {} ({how})", md_text(&c.name), targets.join(" and ")));
            used.extend(c.targets.iter().map(|(b, _)| *b as usize));
        }
        used.sort_unstable();
        used.dedup();
        let total: u64 = used.iter().map(|&b| self.s.balancers[b].requests).sum();
        let shares: Vec<String> = used
            .iter()
            .map(|&b| {
                let n = self.s.balancers[b].requests;
                let share = if total > 0 { n as f64 / total as f64 } else { 0.0 };
                format!(
                    "{} handled {} requests ({})",
                    md_text(&self.s.balancers[b].name),
                    thousands(n),
                    story::pct(share)
                )
            })
            .collect();
        let mut effect = shares.join(", ");
        if let Some(hit) = self.changed_balancer(&used) {
            let _ = write!(effect, "; the injected change hit {} only", md_text(hit));
        }
        effect += &self.outages(&groups);
        Some(Measure { name: "Redundant balancers", setup: setup.join("; "), effect })
    }

    /// The balancer among `used` that the root cause changed, if it changed one.
    fn changed_balancer(&self, used: &[usize]) -> Option<&str> {
        let root = self.story.root.as_ref()?;
        let Change::Balancer { balancer, .. } = self.w.timeline[root.index].change else { return None };
        used.contains(&(balancer as usize)).then(|| self.w.balancers[balancer as usize].name.as_str())
    }

    /// Balancers going down, and when failover clients moved on.
    fn outages(&self, groups: &[&crate::model::ClientDef]) -> String {
        let mut out = String::new();
        for e in self.of_kind(EventTag::BalancerDown) {
            let subject = self.words.subject(e.subject());
            let _ = write!(out, "; {} went down at {}", md_text(&subject), self.times().at(e.time_ns));
            let EventKind::BalancerDown { balancer, .. } = e.kind else { continue };
            let standby = groups.iter().find(|c| {
                c.target_policy == TargetPolicy::Failover && c.targets.first().is_some_and(|(b, _)| *b == balancer)
            });
            if let Some(c) = standby {
                let at = self.times().at(e.time_ns + c.failover_after);
                let _ = write!(out, " and {}'s clients moved to the next balancer at {at}", md_text(&c.name));
            }
        }
        out
    }

    fn validation(&self) -> Option<Measure> {
        let mut setup: Vec<String> = self
            .w
            .balancers
            .iter()
            .filter_map(|b| b.validation.map(|v| (b, v)))
            .map(|(b, v)| {
                let mut rules = Vec::new();
                if v.min_backends > 0 {
                    rules.push(format!("at least {} backends in rotation", v.min_backends));
                }
                if v.max_weight_share < 1.0 {
                    rules.push(format!("no backend above {} of the weight", story::pct(v.max_weight_share)));
                }
                if v.require_healthy {
                    rules.push("only backends that are up".to_string());
                }
                format!("balancer {}: {}", md_text(&b.name), rules.join(", "))
            })
            .collect();
        if let Some(v) = self.w.network.as_ref().and_then(|n| n.validation) {
            let mut rules = Vec::new();
            if v.keep_reachable {
                rules.push("every destination still reachable".to_string());
            }
            if v.max_added_latency != u64::MAX {
                rules.push(format!("at most {} added latency", crate::time::spoken(v.max_added_latency as f64 / 1e9)));
            }
            setup.push(format!("network changes: {}", rules.join(", ")));
        }
        if setup.is_empty() {
            return None;
        }
        Some(Measure { name: "Change validation", setup: setup.join("; "), effect: self.blocked() })
    }

    /// Each blocked change with its reason.
    fn blocked(&self) -> String {
        let blocked: Vec<String> = self
            .s
            .timeline
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.applied)
            .map(|(i, t)| {
                let reason = self.story.run.blocked_reason(i);
                let reason = reason.map(|r| format!(" ({})", md_text(&self.words.reason(r)))).unwrap_or_default();
                let label = t.name.clone().unwrap_or_else(|| t.change.clone());
                let at = self.times().at(self.w.timeline[i].at);
                format!("blocked {} at {at}{reason}: it never took effect", md_code(&label))
            })
            .collect();
        if blocked.is_empty() {
            "let every change through: none broke its rules".to_string()
        } else {
            blocked.join("; ")
        }
    }

    fn alerts(&self) -> Option<Measure> {
        let rules = &self.w.alerts;
        if rules.is_empty() {
            return None;
        }
        let setup = rules
            .iter()
            .map(|r| {
                let hold = if r.for_ns > 0 {
                    format!(" for {}", crate::time::spoken(r.for_ns as f64 / 1e9))
                } else {
                    String::new()
                };
                let cond = format!("{} {} {}{hold}", r.metric_name(), r.condition.symbol(), r.threshold_text);
                format!("{} ({})", md_code(&r.name), md_text(&cond))
            })
            .collect::<Vec<_>>();
        let effect = rules.iter().map(|r| self.alert_effect(&r.name)).collect::<Vec<_>>();
        Some(Measure { name: "Alerts", setup: setup.join(", "), effect: effect.join("; ") })
    }

    fn alert_effect(&self, name: &str) -> String {
        let fired: Vec<_> = self.s.alerts.iter().filter(|a| a.name == name).collect();
        let Some(first) = fired.first() else { return format!("{} never fired", md_code(name)) };
        let im = &self.s.impact;
        let mut text = format!(
            "{} fired {}, first at {}",
            md_code(name),
            times_word(fired.len()),
            self.times().at_s(first.fired_at_s)
        );
        let detected = im.detected_by.as_deref() == Some(name);
        if let (true, Some(ttd)) = (detected, im.time_to_detect_s) {
            let _ = write!(text, ", {} after the change: the detection", crate::time::spoken(ttd));
        }
        text
    }

    fn queue_limits(&self) -> Option<Measure> {
        let limited: Vec<_> = self.w.servers.iter().filter(|s| s.queue_limit != u64::MAX).collect();
        let first = limited.first()?;
        let setup = if limited.iter().all(|s| s.queue_limit == first.queue_limit) {
            let which = if limited.len() == self.w.servers.len() {
                format!("each of the {} servers", limited.len())
            } else {
                format!("{} of the {} servers, each", limited.len(), self.w.servers.len())
            };
            format!("{which} queues at most {} waiting requests and turns the rest away", thousands(first.queue_limit))
        } else {
            let list: Vec<String> =
                limited.iter().take(6).map(|s| format!("{} {}", md_text(&s.name), thousands(s.queue_limit))).collect();
            let more = if limited.len() > 6 { ", ..." } else { "" };
            format!("queue limits: {}{more}; the rest turned away", list.join(", "))
        };
        let r = &self.s.requests;
        let effect = if r.failed.rejected == 0 {
            "no queue filled up: nothing was turned away".to_string()
        } else {
            let share = if r.generated > 0 { r.failed.rejected as f64 / r.generated as f64 } else { 0.0 };
            format!(
                "full queues turned away {} requests at once ({} of those sent) instead of letting them wait",
                thousands(r.failed.rejected),
                story::pct(share)
            )
        };
        Some(Measure { name: "Queue limits", setup, effect })
    }
}
