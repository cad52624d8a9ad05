//! Compiling the timeline: each entry becomes a [`Change`] on integer ids,
//! applied at a time and reverted after a duration, at `until`, or by a
//! later `revert` entry.

use serde_saphyr::Spanned;

use super::{BackendDef, BalancerDef, BalancerId, ClientDef, ClientId, Ctx, ServerDef, ServerId, did_you_mean};
use crate::balancer::AlgorithmKind;
use crate::clock::{TimeSpec, WallClock};
use crate::dist::Dist;
use crate::error::Error;
use crate::scenario::names::{self, ResolveError};
use crate::scenario::{Action, TimelineEntry};

/// What a timeline entry changes.
#[derive(Clone, Debug)]
pub enum Change {
    Balancer {
        balancer: BalancerId,
        /// New rotation: `true` for each pool backend in it.
        members: Option<Vec<bool>>,
        /// (backend index, weight).
        weights: Vec<(usize, u32)>,
        algorithm: Option<AlgorithmKind>,
        down: bool,
    },
    Server {
        servers: Vec<ServerId>,
        action: Option<Action>,
        slow_down: Option<f64>,
        error_rate: Option<f64>,
        workers: Option<u32>,
        service: Option<Dist>,
    },
    Client {
        client: ClientId,
        rate: Option<f64>,
        factor: Option<f64>,
    },
    /// Undo entry number `entry`.
    Revert {
        entry: usize,
    },
    /// Nothing changes: a note on the timeline ("database rolled back").
    Note,
}

/// A compiled timeline entry.
#[derive(Clone, Debug)]
pub struct TimelineChange {
    pub name: Option<String>,
    pub at: u64,
    /// When the change undoes itself (from `duration` or `until`).
    pub revert_at: Option<u64>,
    pub note: Option<String>,
    pub fix: bool,
    /// "balancer edge", "servers web-*", ...
    pub target: String,
    /// "backends = web-01", "slow_down x3", ...
    pub what: String,
    pub change: Change,
}

fn resolve_time(cx: &Ctx<'_>, t: &Spanned<TimeSpec>, clock: Option<&WallClock>) -> Result<u64, Error> {
    t.value.resolve(clock).map_err(|m| cx.err(t, m, None))
}

fn lookup(cx: &Ctx<'_>, at: &Spanned<String>, names: &[String], kind: &str) -> Result<Vec<usize>, Error> {
    names::resolve(&at.value, names).map_err(|e| match e {
        ResolveError::Pattern(m) => cx.err(at, m, None),
        ResolveError::Unknown(n) => {
            cx.err(at, format!("unknown {kind} `{n}`"), did_you_mean(&n, names.iter().map(String::as_str)))
        }
        ResolveError::NoMatch(p) => cx.err(at, format!("no {kind} matches `{p}`"), None),
    })
}

/// Which fields an entry sets, for "this field does not apply" errors.
fn set_fields(e: &TimelineEntry) -> Vec<(&'static str, Option<serde_saphyr::Location>)> {
    let mut v = Vec::new();
    macro_rules! field {
        ($f:ident) => {
            if let Some(x) = &e.$f {
                v.push((stringify!($f), Some(x.referenced)));
            }
        };
    }
    field!(algorithm);
    field!(action);
    field!(slow_down);
    field!(error_rate);
    field!(workers);
    field!(service);
    field!(rate);
    field!(rate_factor);
    if e.backends.is_some() {
        v.push(("backends", None));
    }
    if e.weights.is_some() {
        v.push(("weights", None));
    }
    v
}

/// Compiles the timeline. Balancers may gain pool backends (out of
/// rotation) when an entry puts a server they did not list into rotation.
pub(super) fn compile(
    cx: &Ctx<'_>,
    entries: &[TimelineEntry],
    clock: Option<&WallClock>,
    servers: &[ServerDef],
    balancers: &mut [BalancerDef],
    clients: &[ClientDef],
) -> Result<Vec<TimelineChange>, Error> {
    let server_names: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
    let balancer_names: Vec<String> = balancers.iter().map(|b| b.name.clone()).collect();
    let client_names: Vec<String> = clients.iter().map(|c| c.name.clone()).collect();
    let mut out: Vec<TimelineChange> = Vec::new();
    for e in entries {
        let at = resolve_time(cx, &e.at, clock)?;
        let targets = [e.balancer.is_some(), e.server.is_some(), e.client.is_some(), e.revert.is_some()];
        if targets.iter().all(|t| !t) && e.note.is_some() && set_fields(e).is_empty() {
            // An annotation: what people did that changed nothing in the system.
            if e.duration.is_some() || e.until.is_some() || e.fix {
                return Err(cx.err(&e.at, "a note changes nothing, so it has no `duration`, `until` or `fix`", None));
            }
            out.push(TimelineChange {
                name: e.name.as_ref().map(|n| n.value.clone()),
                at,
                revert_at: None,
                note: e.note.clone(),
                fix: false,
                target: "note".to_string(),
                what: String::new(),
                change: Change::Note,
            });
            continue;
        }
        if targets.iter().filter(|t| **t).count() != 1 {
            return Err(cx.err(
                &e.at,
                "a timeline entry names exactly one of `balancer`, `server`, `client` or `revert` (or is only a `note`)",
                None,
            ));
        }
        if let Some(n) = &e.name
            && out.iter().any(|c| c.name.as_deref() == Some(n.value.as_str()))
        {
            return Err(cx.err(n, format!("two timeline entries are named `{}`", n.value), None));
        }
        let fields = set_fields(e);
        let not_for = |kind: &str, allowed: &[&str]| -> Result<(), Error> {
            for (f, loc) in &fields {
                if !allowed.contains(f) {
                    let msg = format!("`{f}` does not apply to a {kind}; it can change: {}", allowed.join(", "));
                    return Err(match loc {
                        Some(l) => cx.src.error_at_location(l, msg, None),
                        None => cx.err(&e.at, msg, None),
                    });
                }
            }
            if fields.is_empty() && kind != "revert" {
                return Err(cx.err(
                    &e.at,
                    format!("this entry changes nothing: give one of {}", allowed.join(", ")),
                    None,
                ));
            }
            Ok(())
        };
        let (target, what, change) = if let Some(b) = &e.balancer {
            not_for("balancer", &["backends", "weights", "algorithm", "action"])?;
            let id = lookup(cx, b, &balancer_names, "balancer")?[0];
            let bal = &mut balancers[id];
            let mut what = Vec::new();
            let members = match &e.backends {
                Some(list) => {
                    let mut chosen = Vec::new();
                    for r in list {
                        chosen.extend(lookup(cx, r, &server_names, "server")?);
                    }
                    for &sid in &chosen {
                        if !bal.backends.iter().any(|be| be.server as usize == sid) {
                            bal.backends.push(BackendDef {
                                server: sid as ServerId,
                                weight: 1,
                                max_conn: servers[sid].workers,
                                member: false,
                            });
                        }
                    }
                    what.push(format!(
                        "backends = {}",
                        chosen.iter().map(|&i| server_names[i].as_str()).collect::<Vec<_>>().join(", ")
                    ));
                    Some(bal.backends.iter().map(|be| chosen.contains(&(be.server as usize))).collect())
                }
                None => None,
            };
            let mut weights = Vec::new();
            if let Some(map) = &e.weights {
                for (k, &w) in map.iter() {
                    for sid in lookup(cx, k, &server_names, "server")? {
                        let idx = bal.backends.iter().position(|be| be.server as usize == sid).ok_or_else(|| {
                            cx.err(
                                k,
                                format!("server `{}` is not a backend of balancer `{}`", server_names[sid], bal.name),
                                None,
                            )
                        })?;
                        weights.push((idx, w));
                        what.push(format!("weight {} = {w}", server_names[sid]));
                    }
                }
            }
            let algorithm = e.algorithm.as_ref().map(|a| a.value);
            if let Some(a) = algorithm {
                what.push(format!("algorithm = {}", a.name()));
            }
            let down = match &e.action {
                Some(a) if a.value == Action::Down => {
                    what.push("down".to_string());
                    true
                }
                Some(a) => return Err(cx.err(a, "a balancer can only be taken `down`", None)),
                None => false,
            };
            (
                format!("balancer {}", bal.name),
                what.join(", "),
                Change::Balancer { balancer: id as BalancerId, members, weights, algorithm, down },
            )
        } else if let Some(s) = &e.server {
            not_for("server", &["action", "slow_down", "error_rate", "workers", "service"])?;
            let ids = lookup(cx, s, &server_names, "server")?;
            let mut what = Vec::new();
            let action = e.action.as_ref().map(|a| a.value);
            match &e.action {
                Some(a) if a.value == Action::Down => {
                    return Err(cx.err(a, "a server can `crash` or `restart`; `down` is for balancers", None));
                }
                Some(a) if a.value == Action::Restart && (e.duration.is_some() || e.until.is_some()) => {
                    return Err(cx.err(a, "a restart cannot be reverted; use `crash` with a `duration` instead", None));
                }
                Some(a) if fields.len() > 1 => {
                    return Err(cx.err(
                        a,
                        "a crash or restart stands alone: put other changes in their own entry",
                        None,
                    ));
                }
                Some(a) => what.push(if a.value == Action::Crash { "crash" } else { "restart" }.to_string()),
                None => {}
            }
            let slow_down = match &e.slow_down {
                Some(f) if !(f.value > 0.0 && f.value.is_finite()) => {
                    return Err(cx.err(f, "slow_down multiplies service times: a positive number like 3", None));
                }
                Some(f) => {
                    what.push(format!("service x{}", f.value));
                    Some(f.value)
                }
                None => None,
            };
            let error_rate = e.error_rate.as_ref().map(|r| {
                what.push(format!("error rate {}", r.value));
                r.value.fraction()
            });
            let workers = match &e.workers {
                Some(w) if w.value == 0 => return Err(cx.err(w, "a server needs at least 1 worker", None)),
                Some(w) => {
                    what.push(format!("workers = {}", w.value));
                    Some(w.value)
                }
                None => None,
            };
            let service = match &e.service {
                Some(d) => {
                    what.push("new service time".to_string());
                    Some(d.value.compile(&cx.src.base_dir()).map_err(|m| cx.err(d, m, None))?)
                }
                None => None,
            };
            let label = if ids.len() == 1 {
                format!("server {}", server_names[ids[0]])
            } else {
                format!("servers {}", s.value)
            };
            (
                label,
                what.join(", "),
                Change::Server {
                    servers: ids.iter().map(|&i| i as ServerId).collect(),
                    action,
                    slow_down,
                    error_rate,
                    workers,
                    service,
                },
            )
        } else if let Some(c) = &e.client {
            not_for("client group", &["rate", "rate_factor"])?;
            let id = lookup(cx, c, &client_names, "client group")?[0];
            if !matches!(clients[id].load, super::Load::Open { .. }) {
                return Err(cx.err(c, "only open-loop groups have a rate to change", None));
            }
            let rate = e.rate.as_ref().map(|r| r.value.per_sec());
            let factor = match &e.rate_factor {
                Some(f) if !(f.value >= 0.0 && f.value.is_finite()) => {
                    return Err(cx.err(f, "rate_factor must be zero or more", None));
                }
                Some(f) => Some(f.value),
                None => None,
            };
            let mut what = Vec::new();
            if let Some(r) = rate {
                what.push(format!("rate = {}", crate::units::format_rate(r)));
            }
            if let Some(f) = factor {
                what.push(format!("rate x{f}"));
            }
            (
                format!("clients {}", client_names[id]),
                what.join(", "),
                Change::Client { client: id as ClientId, rate, factor },
            )
        } else {
            let r = e.revert.as_ref().expect("one target is set");
            not_for("revert", &[])?;
            if e.duration.is_some() || e.until.is_some() {
                return Err(cx.err(r, "a revert cannot itself be reverted", None));
            }
            let entry = out.iter().position(|c| c.name.as_deref() == Some(r.value.as_str())).ok_or_else(|| {
                let earlier: Vec<&str> = out.iter().filter_map(|c| c.name.as_deref()).collect();
                cx.err(
                    r,
                    format!("`{}` is not the name of an earlier timeline entry", r.value),
                    did_you_mean(&r.value, earlier),
                )
            })?;
            let prior = &out[entry];
            if matches!(
                prior.change,
                Change::Server { action: Some(Action::Restart), .. } | Change::Revert { .. } | Change::Note
            ) {
                return Err(cx.err(r, format!("`{}` cannot be reverted", r.value), None));
            }
            if prior.at > at {
                return Err(cx.err(r, format!("`{}` happens after this revert", r.value), None));
            }
            (prior.target.clone(), format!("revert {}", r.value), Change::Revert { entry })
        };
        let revert_at = match (&e.duration, &e.until) {
            (Some(d), None) => Some(at + d.value.nanos()),
            (None, Some(u)) => {
                let until = resolve_time(cx, u, clock)?;
                if until <= at {
                    return Err(cx.err(u, "`until` is not after `at`", None));
                }
                Some(until)
            }
            (Some(d), Some(_)) => return Err(cx.err(d, "give `duration` or `until`, not both", None)),
            (None, None) => None,
        };
        out.push(TimelineChange {
            name: e.name.as_ref().map(|n| n.value.clone()),
            at,
            revert_at,
            note: e.note.clone(),
            fix: e.fix,
            target,
            what,
            change,
        });
    }
    Ok(out)
}
