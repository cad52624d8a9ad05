//! Stage: model. Compiles the `balancers:` section: each balancer's
//! algorithm parameters, its backends (resolved against the compiled
//! servers), their weights, health checking and change validation.

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
    let server_names: Vec<String> = servers.defs.iter().map(|d| d.name.clone()).collect();
    let mut balancers: Vec<BalancerDef> = Vec::new();
    for (key, spec) in s.balancers.iter() {
        balancers.push(compile_balancer(cx, key, spec, servers, &server_names, warnings)?);
    }
    Ok(balancers)
}

fn compile_balancer(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &BalancerSpec,
    servers: Servers<'_>,
    server_names: &[String],
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
    let mut backends = compile_backends(cx, key, spec, servers, server_names)?;
    apply_weights(cx, key, spec, servers, server_names, &mut backends)?;
    mark_backups(cx, key, spec, servers, server_names, &mut backends)?;
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

/// The `backends:` list resolved to servers, each once, at weight 1.
fn compile_backends(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &BalancerSpec,
    servers: Servers<'_>,
    server_names: &[String],
) -> Result<Vec<BackendDef>, Error> {
    let mut backends: Vec<BackendDef> = Vec::new();
    if spec.backends.is_empty() {
        return Err(cx.err(
            key,
            format!("balancer `{}` has no backends", key.value),
            Some("list servers under `backends:`".into()),
        ));
    }
    for reference in &spec.backends {
        let found = resolve_servers(&reference.value, server_names, servers.groups).map_err(|e| match e {
            ResolveError::Pattern(m) => cx.err(reference, m, None),
            ResolveError::Unknown(n) => cx.err(
                reference,
                format!("unknown server `{n}` in the backends of balancer `{}`", key.value),
                did_you_mean(&n, server_names.iter().map(String::as_str)),
            ),
            ResolveError::NoMatch(p) => cx.err(reference, format!("no server matches `{p}`"), None),
        })?;
        for id in found {
            if backends.iter().any(|b| b.server == ServerId::from_index(id)) {
                return Err(cx.err(
                    reference,
                    format!("server `{}` is listed twice in balancer `{}`", server_names[id], key.value),
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
    Ok(backends)
}

/// Marks the backends the `backup:` list names.
fn mark_backups(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &BalancerSpec,
    servers: Servers<'_>,
    server_names: &[String],
    backends: &mut [BackendDef],
) -> Result<(), Error> {
    for reference in &spec.backup {
        for i in named_backends(cx, key, reference, servers, server_names, backends, "is a backup")? {
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
    server_names: &[String],
    backends: &mut [BackendDef],
) -> Result<(), Error> {
    for (wkey, &weight) in spec.weights.iter() {
        for i in named_backends(cx, key, wkey, servers, server_names, backends, "has a weight")? {
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
    server_names: &[String],
    backends: &[BackendDef],
    role: &str,
) -> Result<Vec<usize>, Error> {
    let found = resolve_servers(&reference.value, server_names, servers.groups).map_err(|_| {
        cx.err(
            reference,
            format!("`{}` is not a server", reference.value),
            did_you_mean(&reference.value, server_names.iter().map(String::as_str)),
        )
    })?;
    found
        .into_iter()
        .map(|id| {
            backends.iter().position(|b| b.server == ServerId::from_index(id)).ok_or_else(|| {
                cx.err(
                    reference,
                    format!("server `{}` {role} but is not a backend of balancer `{}`", server_names[id], key.value),
                    None,
                )
            })
        })
        .collect()
}
