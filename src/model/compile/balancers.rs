//! Stage: model. Compiles the `balancers:` section: each balancer's
//! algorithm parameters, its backends (resolved against the compiled
//! servers), their weights, health checking and change validation.

use std::collections::HashMap;

use crate::scenario::Spanned;

use crate::balancer::{AlgorithmKind, AlgorithmParams};
use crate::error::Error;
use crate::model::{
    BackendDef, BalancerDef, Ctx, ServerId, Servers, Validation, did_you_mean, resilience, resolve_servers,
};
use crate::scenario::names::ResolveError;
use crate::scenario::{BalancerSpec, Scenario};

/// The balancers in file order; `warnings` gains the things allowed but
/// probably not meant (every backend at weight 0).
pub(super) fn compile_balancers(
    cx: &Ctx<'_>,
    s: &Scenario,
    servers: Servers<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<BalancerDef>, Error> {
    let mut balancers: Vec<BalancerDef> = Vec::new();
    for (key, spec) in s.balancers.iter() {
        balancers.push(compile_balancer(cx, key, spec, servers, warnings)?);
    }
    Ok(balancers)
}

fn compile_balancer(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &BalancerSpec,
    servers: Servers<'_>,
    warnings: &mut Vec<String>,
) -> Result<BalancerDef, Error> {
    if key.value.contains(['{', '*']) {
        return Err(cx.err(key, "balancer names cannot be patterns", None));
    }
    let params = algorithm_params(cx, spec)?;
    if let Some(m) = &spec.max_conn
        && m.value == 0
    {
        return Err(cx.err(m, "`max_conn` must be at least 1", None));
    }
    let (mut backends, position) = compile_backends(cx, key, spec, servers)?;
    apply_weights(cx, key, spec, servers, &position, &mut backends)?;
    mark_backups(cx, key, spec, servers, &position, &mut backends)?;
    if backends.iter().all(|b| b.weight == 0) {
        warnings.push(format!("balancer `{}` has every backend at weight 0: it will fail every request", key.value));
    }
    let validation = spec.validation.as_ref().map(|v| Validation {
        min_backends: v.min_backends.as_ref().map_or(0, |m| m.value),
        max_weight_share: v.max_weight_share.as_ref().map_or(1.0, |m| m.value.fraction()),
        require_healthy: v.require_healthy,
    });
    Ok(BalancerDef {
        name: key.value.clone(),
        algorithm: spec.algorithm,
        params,
        backends,
        health_check: spec.health_check.as_ref().map(|h| resilience::health_check(cx, h)).transpose()?,
        outlier: spec.outlier_detection.as_ref().map(|o| resilience::outlier(cx, o)).transpose()?,
        on_all_unhealthy: spec.on_all_unhealthy.into(),
        panic_threshold: spec.panic_threshold.as_ref().map_or(0.0, |p| p.value.fraction()),
        validation,
    })
}

/// `choices` and `vnodes`, checked against the algorithm they apply to.
fn algorithm_params(cx: &Ctx<'_>, spec: &BalancerSpec) -> Result<AlgorithmParams, Error> {
    let mut params = AlgorithmParams::default();
    if let Some(c) = &spec.choices {
        if c.value == 0 {
            return Err(cx.err(c, "`choices` must be at least 1", None));
        }
        if spec.algorithm != AlgorithmKind::PowerOfTwoChoices {
            return Err(cx.err(c, "`choices` only applies to power_of_two_choices", None));
        }
        params.choices = c.value;
    }
    if let Some(v) = &spec.vnodes {
        if v.value == 0 || v.value > 10_000 {
            return Err(cx.err(v, "`vnodes` must be between 1 and 10000", None));
        }
        if spec.algorithm != AlgorithmKind::ConsistentHash {
            return Err(cx.err(v, "`vnodes` only applies to consistent_hash", None));
        }
        params.vnodes = v.value;
    }
    Ok(params)
}

/// Each backend's position in the list, by server index.
type Positions = HashMap<u32, u32>;

/// The `backends:` list resolved to servers, each once, at weight 1, and
/// where each server is in it.
fn compile_backends(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &BalancerSpec,
    servers: Servers<'_>,
) -> Result<(Vec<BackendDef>, Positions), Error> {
    let mut backends: Vec<BackendDef> = Vec::new();
    let mut position = Positions::new();
    if spec.backends.is_empty() {
        return Err(cx.err(
            key,
            format!("balancer `{}` has no backends", key.value),
            Some("list servers under `backends:`".into()),
        ));
    }
    let name = |id: usize| servers.defs[id].name.as_str();
    for reference in &spec.backends {
        let found =
            resolve_servers(&reference.value, servers.index, servers.groups, &cx.limits).map_err(|e| match e {
                ResolveError::Pattern(m, help) => cx.err(reference, m, help),
                ResolveError::Unknown(n) => cx.err(
                    reference,
                    format!("unknown server `{n}` in the backends of balancer `{}`", key.value),
                    did_you_mean(&n, servers.index.names().iter().copied()),
                ),
                ResolveError::NoMatch(p) => cx.err(reference, format!("no server matches `{p}`"), None),
            })?;
        backends.reserve(found.len());
        position.reserve(found.len());
        for id in found {
            if position.insert(id as u32, backends.len() as u32).is_some() {
                return Err(cx.err(
                    reference,
                    format!("server `{}` is listed twice in balancer `{}`", name(id), key.value),
                    None,
                ));
            }
            let max_conn = spec.max_conn.as_ref().map_or(servers.defs[id].workers, |m| m.value);
            backends.push(BackendDef {
                server: ServerId::from_index(id),
                weight: 1,
                max_conn,
                member: true,
                backup: false,
            });
        }
    }
    Ok((backends, position))
}

/// Marks the backends the `backup:` list names.
fn mark_backups(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &BalancerSpec,
    servers: Servers<'_>,
    position: &Positions,
    backends: &mut [BackendDef],
) -> Result<(), Error> {
    for reference in &spec.backup {
        for i in named_backends(cx, key, reference, servers, position, "is a backup")? {
            backends[i].backup = true;
        }
    }
    Ok(())
}

/// Applies the `weights:` map to the backends it names.
fn apply_weights(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &BalancerSpec,
    servers: Servers<'_>,
    position: &Positions,
    backends: &mut [BackendDef],
) -> Result<(), Error> {
    for (wkey, &weight) in spec.weights.iter() {
        for i in named_backends(cx, key, wkey, servers, position, "has a weight")? {
            if weight > 1_000_000 {
                return Err(cx.err(wkey, "weights above 1000000 are not supported", None));
            }
            backends[i].weight = weight;
        }
    }
    Ok(())
}

/// The backends (indices) that `reference` (a `weights` key, a `backup`
/// entry) names; each server it names must be a backend of the balancer.
fn named_backends(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    reference: &Spanned<String>,
    servers: Servers<'_>,
    position: &Positions,
    role: &str,
) -> Result<Vec<usize>, Error> {
    let found = resolve_servers(&reference.value, servers.index, servers.groups, &cx.limits).map_err(|e| match e {
        ResolveError::Pattern(m, Some(help)) => cx.err(reference, m, Some(help)),
        _ => cx.err(
            reference,
            format!("`{}` is not a server", reference.value),
            did_you_mean(&reference.value, servers.index.names().iter().copied()),
        ),
    })?;
    found
        .into_iter()
        .map(|id| {
            position.get(&(id as u32)).map(|&b| b as usize).ok_or_else(|| {
                cx.err(
                    reference,
                    format!(
                        "server `{}` {role} but is not a backend of balancer `{}`",
                        servers.defs[id].name, key.value
                    ),
                    None,
                )
            })
        })
        .collect()
}
