//! Stage: model. Compiles the `clients:` section: each group's target
//! balancers, retries, users, and its load (an open-loop rate profile or a
//! closed loop of users with think times).

use std::path::Path;

use crate::scenario::Spanned;

use crate::error::Error;
use crate::model::{BalancerDef, BalancerId, ClientDef, Ctx, Load, RateProfile, Segment, did_you_mean, resilience};
use crate::scenario::names::NameIndex;
use crate::scenario::{ClientSpec, Scenario};

/// The client groups in file order.
pub(super) fn compile_clients(
    cx: &Ctx<'_>,
    s: &Scenario,
    base_dir: &Path,
    balancers: &[BalancerDef],
) -> Result<Vec<ClientDef>, Error> {
    let src = cx.src;
    let balancer_names = NameIndex::new(balancers.iter().map(|b| b.name.as_str()));
    let mut clients: Vec<ClientDef> = Vec::new();
    for (key, spec) in s.clients.iter() {
        clients.push(compile_client(cx, key, spec, base_dir, &balancer_names)?);
    }
    if clients.is_empty() {
        return Err(src.error_at(
            0,
            1,
            "the scenario defines no client groups",
            Some("add a `clients:` section".into()),
        ));
    }
    Ok(clients)
}

fn compile_client(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &ClientSpec,
    base_dir: &Path,
    balancer_names: &NameIndex<'_>,
) -> Result<ClientDef, Error> {
    let targets = compile_targets(cx, key, spec, balancer_names)?;
    let failover_after = spec.failover_after.as_ref().map_or(0, |f| f.value.nanos());
    let retry = spec.retry.as_ref().map(|r| resilience::retry(cx, r)).transpose()?;
    let users = match &spec.users {
        Some(u) if u.value == 0 => {
            return Err(cx.err(u, "a client group needs at least 1 user", None));
        }
        Some(u) if u.value > u64::from(u32::MAX) => {
            return Err(cx.err(u, "at most 4294967295 users per group", None));
        }
        Some(u) => u.value,
        None => 10_000,
    };
    if let crate::scenario::Popularity::Zipf(exp) = spec.user_popularity
        && !(exp.is_finite() && exp > 0.0)
    {
        return Err(cx.err(
            key,
            format!("client group `{}`: the Zipf exponent must be a positive number", key.value),
            None,
        ));
    }
    let mut load = compile_load(cx, key, spec, base_dir)?;
    let mut users = users;
    // `load: 2x` scales the whole profile (every step and ramp), or a
    // closed loop's users.
    if let Some(f) = &spec.load {
        match &mut load {
            Load::Open { profile, .. } => {
                for seg in &mut profile.segments {
                    seg.rate *= f.value.0;
                    seg.slope *= f.value.0;
                }
            }
            Load::Closed { .. } => users = ((users as f64 * f.value.0).round() as u64).clamp(1, u64::from(u32::MAX)),
            // A replay keeps its mix and sends each request `f` times.
            Load::Replay(r) => std::sync::Arc::make_mut(r).scale *= f.value.0,
        }
    }
    // A replay's users are the trace's distinct users.
    if let Load::Replay(r) = &load {
        users = r.info.users.clamp(1, u64::from(u32::MAX));
    }
    let timeout = match &spec.timeout {
        Some(t) if t.value.nanos() == 0 => {
            return Err(cx.err(t, "the timeout must be longer than zero", None));
        }
        Some(t) => Some(t.value.nanos()),
        None => None,
    };
    Ok(ClientDef {
        name: key.value.clone(),
        targets,
        target_policy: spec.target_policy.into(),
        failover_after,
        retry,
        load,
        users,
        popularity: spec.user_popularity.into(),
        timeout,
    })
}

/// Open loop (a rate or profile) or closed loop (users with think times).
fn compile_load(cx: &Ctx<'_>, key: &Spanned<String>, spec: &ClientSpec, base_dir: &Path) -> Result<Load, Error> {
    if let Some(replay) = &spec.replay {
        return super::replay::compile_replay(cx, key, spec, replay, base_dir);
    }
    let load = match (&spec.closed_loop, &spec.rate, spec.profile.is_empty()) {
        (Some(cl), None, true) => {
            if spec.users.is_none() {
                return Err(cx.err(
                    key,
                    format!(
                        "closed-loop group `{}` needs `users:` (how many users, each with one request at a time)",
                        key.value
                    ),
                    None,
                ));
            }
            let think = cx.dist(&cl.think_time.value, base_dir).map_err(|m| cx.err(&cl.think_time, m, None))?;
            Load::Closed { think }
        }
        (Some(_), _, _) => {
            return Err(cx.err(
                key,
                format!("client group `{}` has both `closed_loop` and a rate or profile", key.value),
                Some("a group is either open loop (rate, profile) or closed loop (closed_loop, users)".into()),
            ));
        }
        (None, rate, _) => {
            let profile = build_profile(cx, key, rate.as_ref().map(|r| r.value.per_sec()), spec)?;
            Load::Open { arrival: spec.arrival.into(), profile }
        }
    };
    Ok(load)
}

fn compile_targets(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &ClientSpec,
    balancer_names: &NameIndex<'_>,
) -> Result<Vec<(BalancerId, u32)>, Error> {
    let mut targets: Vec<(BalancerId, u32)> = Vec::new();
    for (name, loc) in &spec.target.value.names {
        let loc = loc.unwrap_or(spec.target.referenced);
        let id = balancer_names.get(name).ok_or_else(|| {
            src_err(
                cx,
                &loc,
                format!("client group `{}` targets `{name}`, which is not a balancer", key.value),
                did_you_mean(name, balancer_names.names().iter().copied()),
            )
        })?;
        if targets.iter().any(|(b, _)| *b == id as BalancerId) {
            return Err(src_err(cx, &loc, format!("balancer `{name}` is listed twice"), None));
        }
        targets.push((id as BalancerId, 1));
    }
    if targets.is_empty() {
        return Err(cx.err(&spec.target, "name at least one balancer", None));
    }
    for (wkey, &w) in spec.target_weights.iter() {
        let pos = targets
            .iter()
            .position(|(b, _)| balancer_names.names()[*b as usize] == wkey.value)
            .ok_or_else(|| cx.err(wkey, format!("`{}` is not one of this group's targets", wkey.value), None))?;
        targets[pos].1 = w;
    }
    if targets.iter().all(|(_, w)| *w == 0) {
        return Err(cx.err(&spec.target, "every target has weight 0", None));
    }
    Ok(targets)
}

fn src_err(cx: &Ctx<'_>, loc: &serde_saphyr::Location, message: String, help: Option<String>) -> Error {
    cx.src.error_at_location(loc, message, help)
}

fn build_profile(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    rate: Option<f64>,
    spec: &ClientSpec,
) -> Result<RateProfile, Error> {
    if spec.profile.is_empty() {
        let Some(rate) = rate else {
            return Err(cx.err(
                key,
                format!("client group `{}` has no `rate`, `profile` or `closed_loop`", key.value),
                Some("add e.g. `rate: 100/s`".into()),
            ));
        };
        if let Some(r) = &spec.profile_repeat {
            return Err(cx.err(r, "`profile_repeat` needs a `profile`", None));
        }
        return Ok(RateProfile::constant(rate));
    }
    let mut segments = vec![Segment { start: 0.0, rate: rate.unwrap_or(0.0), slope: 0.0 }];
    let mut last_at = -1.0f64;
    let mut busy_until = 0.0f64;
    for p in &spec.profile {
        let at = p.at.value.secs();
        if at <= last_at && !(at == 0.0 && last_at < 0.0) {
            return Err(cx.err(&p.at, "profile points must be in increasing time order", None));
        }
        if at < busy_until {
            return Err(cx.err(&p.at, "this point starts before the previous ramp has finished", None));
        }
        last_at = at;
        let current = {
            let s = segments.last().copied().unwrap_or(Segment { start: 0.0, rate: 0.0, slope: 0.0 });
            s.rate + s.slope * (at - s.start)
        };
        let new: Vec<Segment> = match (p.rate, p.ramp_to, p.over) {
            (Some(r), None, None) => vec![Segment { start: at, rate: r.per_sec(), slope: 0.0 }],
            (None, Some(to), Some(over)) if over.nanos() > 0 => {
                let d = over.secs();
                busy_until = at + d;
                vec![
                    Segment { start: at, rate: current, slope: (to.per_sec() - current) / d },
                    Segment { start: at + d, rate: to.per_sec(), slope: 0.0 },
                ]
            }
            _ => {
                return Err(cx.err(
                    &p.at,
                    "a profile point is either a step `{at, rate}` or a ramp `{at, ramp_to, over}` with `over` > 0",
                    None,
                ));
            }
        };
        // Replace a segment that starts at the same time (a point at 0 replaces the base rate).
        if segments.last().is_some_and(|s| s.start == at) {
            segments.pop();
        }
        segments.extend(new);
    }
    let repeat = match &spec.profile_repeat {
        Some(r) => {
            let period = r.value.secs();
            if period <= 0.0 || segments.last().is_some_and(|s| s.start >= period) || busy_until > period {
                return Err(cx.err(r, "`profile_repeat` must be longer than the last profile point", None));
            }
            Some(period)
        }
        None => None,
    };
    Ok(RateProfile { segments, repeat })
}
