//! `lbsim import envoy`: clusters become balancers (`lb_policy`, endpoints
//! with weights and priorities, `health_checks`, `outlier_detection`,
//! `common_lb_config.healthy_panic_threshold`), and the routes that send to
//! each cluster give its client group the route's `retry_policy`, `timeout`
//! and the cluster's retry circuit breakers (`max_retries`,
//! `retry_budget`). Reads a bootstrap (`static_resources`, YAML or JSON)
//! and an admin `/config_dump?include_eds` (JSON), whose EDS endpoints
//! replace a cluster's `load_assignment`.
//!
//! The mapping, field by field, is in docs/import.md.

mod cluster;

use std::path::PathBuf;

use super::doc::{Item, Node};
use super::tree::{self, Tree};
use super::{ClientDraft, Draft, Findings, Provenance, SourceFile, Val, duration_ms, entity_name};
use crate::error::Error;

/// Reads Envoy configuration files into a draft.
pub(crate) fn import(paths: &[PathBuf]) -> Result<Draft, Error> {
    let mut draft = Draft::new("envoy");
    let mut docs = Vec::new();
    for path in paths {
        let file = SourceFile::read(path)?;
        draft.files.push(file.name.to_string());
        docs.extend(tree::parse_documents(&file)?);
    }
    let mut found = Found::default();
    for doc in &docs {
        collect(doc, &mut found, &mut draft.findings);
    }
    if found.clusters.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no Envoy cluster found: expected `static_resources: {{clusters: [...]}}` or an admin \
             /config_dump with its clusters",
            draft.files.join(", ")
        )));
    }
    let mut budgets = Vec::new();
    for c in &found.clusters {
        let eds = found.endpoints.iter().find(|(name, _)| Some(name.as_str()) == c.get("name").and_then(Tree::text));
        let (b, budget) = cluster::balancer(c, eds.map(|(_, t)| *t), &mut draft)?;
        if let Some(budget) = budget {
            budgets.push((b.name.clone(), budget));
        }
        if !b.backends.is_empty() {
            draft.balancers.push(b);
        }
    }
    clients(&found, &budgets, &mut draft)?;
    Ok(draft)
}

/// What a walk over the documents found.
#[derive(Default)]
struct Found<'a> {
    clusters: Vec<&'a Tree>,
    /// EDS endpoint configurations by cluster name.
    endpoints: Vec<(String, &'a Tree)>,
    /// Route configurations (maps with `virtual_hosts`).
    routes: Vec<&'a Tree>,
    /// TCP proxies: (cluster, the filter config).
    tcp: Vec<(String, &'a Tree)>,
}

/// Finds clusters, EDS endpoints, route configurations and TCP proxies
/// wherever a bootstrap or a config dump keeps them.
fn collect<'a>(t: &'a Tree, found: &mut Found<'a>, findings: &mut Findings) {
    for (key, at, value) in t.entries() {
        match key.as_str() {
            "clusters" if value.is_seq() => {
                for c in value.items() {
                    add_cluster(c, found);
                }
            }
            "static_clusters" | "dynamic_active_clusters" | "dynamic_warming_clusters" => {
                for entry in value.items() {
                    if let Some(c) = entry.get("cluster") {
                        add_cluster(c, found);
                    }
                }
            }
            "static_endpoint_configs" | "dynamic_endpoint_configs" => {
                for entry in value.items() {
                    if let Some(e) = entry.get("endpoint_config")
                        && let Some(name) = e.get("cluster_name").and_then(Tree::text)
                    {
                        found.endpoints.push((name.to_string(), e));
                    }
                }
            }
            "virtual_hosts" => {
                found.routes.push(t);
            }
            "cluster" if value.text().is_some() && t.get("stat_prefix").is_some() && t.get("route").is_none() => {
                found.tcp.push((value.text().unwrap_or_default().to_string(), t));
            }
            "admin" | "node" | "layered_runtime" | "stats_sinks" | "stats_config" | "overload_manager" | "tracing"
            | "dynamic_resources" | "cluster_manager" | "watchdogs" | "last_updated" | "version_info" => {
                findings.ignore(key, at);
            }
            _ => {
                if value.is_map() {
                    collect(value, found, findings);
                } else {
                    for item in value.items() {
                        collect(item, found, findings);
                    }
                }
            }
        }
    }
}

fn add_cluster<'a>(c: &'a Tree, found: &mut Found<'a>) {
    let name = c.get("name").and_then(Tree::text);
    if !found.clusters.iter().any(|x| x.get("name").and_then(Tree::text) == name) {
        found.clusters.push(c);
    }
}

/// A protobuf duration (`"1.5s"`, `"0.025s"`, `{seconds: 1, nanos: 5e8}`)
/// in milliseconds; a located error when it is neither.
pub(super) fn duration(t: &Tree) -> Result<f64, Error> {
    if let Some(text) = t.text() {
        let secs = text.trim().strip_suffix('s').and_then(|n| n.parse::<f64>().ok()).filter(|s| *s >= 0.0);
        return secs.map(|s| s * 1000.0).ok_or_else(|| {
            super::error_at(&t.at, format!("`{text}` is not a duration: expected seconds like \"1.5s\""))
        });
    }
    if t.is_map() {
        let secs = t.get("seconds").and_then(Tree::as_f64).unwrap_or(0.0);
        let nanos = t.get("nanos").and_then(Tree::as_f64).unwrap_or(0.0);
        return Ok(secs * 1000.0 + nanos / 1e6);
    }
    Err(super::error_at(&t.at, "expected a duration like \"1.5s\""))
}

/// A whole number field (numbers may be quoted in proto3 JSON).
pub(super) fn number(t: &Tree, what: &str) -> Result<u64, Error> {
    t.as_u64()
        .or_else(|| t.get("value").and_then(Tree::as_u64))
        .ok_or_else(|| super::error_at(&t.at, format!("`{what}` expects a whole number")))
}

/// A percentage field: `{value: 50.0}` or a bare number.
pub(super) fn percent_of(t: &Tree, what: &str) -> Result<f64, Error> {
    t.as_f64()
        .or_else(|| t.get("value").and_then(Tree::as_f64))
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| super::error_at(&t.at, format!("`{what}` expects a percentage from 0 to 100")))
}

pub(super) fn from(t: &Tree, key: &str) -> Provenance {
    let shown = t.text().map_or(key.to_string(), |v| format!("{key}: {v}"));
    Provenance::at(&t.at, shown)
}

/// A client group per cluster a route (or TCP proxy) sends to, with that
/// route's retries and timeout; a cluster no route names still gets one.
fn clients(found: &Found<'_>, budgets: &[(String, Item)], draft: &mut Draft) -> Result<(), Error> {
    let mut routed: Vec<String> = Vec::new();
    let known: Vec<String> =
        found.clusters.iter().filter_map(|c| c.get("name").and_then(Tree::text)).map(entity_name).collect();
    for rc in &found.routes {
        for vh in rc.get("virtual_hosts").map(Tree::items).unwrap_or_default() {
            let vh_name = vh.get("name").and_then(Tree::text).unwrap_or("virtual-host").to_string();
            for (key, at, _) in vh.entries() {
                match key.as_str() {
                    "routes" | "retry_policy" | "name" => {}
                    "rate_limits" => draft.findings.unsupported(at, key, "lbsim does not rate-limit requests"),
                    _ => draft.findings.ignore(format!("virtual host {key}"), at),
                }
            }
            for route in vh.get("routes").map(Tree::items).unwrap_or_default() {
                route_client(route, vh, &vh_name, budgets, &known, &mut routed, draft)?;
            }
        }
    }
    for (cluster, t) in &found.tcp {
        let name = entity_name(cluster);
        if routed.contains(&name) || !draft.balancers.iter().any(|b| b.name == name) {
            continue;
        }
        routed.push(name.clone());
        draft.clients.push(ClientDraft::new(
            &name,
            &name,
            Provenance::at(&t.at, format!("tcp_proxy cluster: {cluster}")),
        ));
    }
    let unrouted: Vec<String> =
        draft.balancers.iter().map(|b| b.name.clone()).filter(|n| !routed.contains(n)).collect();
    for name in unrouted {
        let from = Provenance::Default("no route in the input sends to this cluster".into());
        draft.clients.push(ClientDraft::new(&name, &name, from));
    }
    Ok(())
}

fn route_client(
    route: &Tree,
    vh: &Tree,
    vh_name: &str,
    budgets: &[(String, Item)],
    known: &[String],
    routed: &mut Vec<String>,
    draft: &mut Draft,
) -> Result<(), Error> {
    let Some(action) = route.get("route") else {
        for (key, at, _) in route.entries() {
            if matches!(key.as_str(), "redirect" | "direct_response") {
                draft.findings.ignore(format!("route {key}"), at);
            }
        }
        return Ok(());
    };
    let targets: Vec<(String, Option<Val>)> = if let Some(c) = action.get("cluster").and_then(Tree::text) {
        vec![(entity_name(c), None)]
    } else if let Some(w) = action.get("weighted_clusters") {
        draft.findings.approximated(
            &w.at,
            "weighted_clusters",
            "Envoy splits requests by weight; lbsim splits users (each sticks to one cluster)",
        );
        let mut t = Vec::new();
        for c in w.get("clusters").map(Tree::items).unwrap_or_default() {
            let name = c.get("name").and_then(Tree::text).unwrap_or_default();
            let weight = c.get("weight").map(|x| number(x, "weight")).transpose()?.unwrap_or(1);
            let from = c.get("weight").map_or(Provenance::Nothing, |x| from(x, "weight"));
            t.push((entity_name(name), Some(Val::new(weight.to_string(), from))));
        }
        t
    } else {
        let at = action.get("cluster_header").map_or(&action.at, |h| &h.at);
        draft.findings.unsupported(
            at,
            "route without a fixed cluster",
            "the cluster is chosen per request: not imported",
        );
        return Ok(());
    };
    for (t, _) in &targets {
        if !draft.balancers.iter().any(|b| &b.name == t) {
            if known.contains(t) {
                // A cluster without endpoints: already reported.
                return Ok(());
            }
            return Err(super::error_at(
                &action.at,
                format!("the route sends to cluster `{t}`, which the input does not define"),
            ));
        }
    }
    let key = targets.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join("+");
    if routed.contains(&key) {
        return Ok(());
    }
    routed.push(key);
    if targets.len() == 1 {
        routed.push(targets[0].0.clone());
    }
    let name = if targets.len() == 1 { targets[0].0.clone() } else { draft.fresh_client_name(&entity_name(vh_name)) };
    let written = action
        .get("cluster")
        .and_then(Tree::text)
        .map_or("route: weighted_clusters".to_string(), |c| format!("route: {{cluster: {c}}}"));
    let mut client = ClientDraft::new(&name, &targets[0].0, Provenance::at(&action.at, written));
    client.targets = targets;
    let single = client.targets.len() == 1;
    let policy = action.get("retry_policy").or_else(|| vh.get("retry_policy"));
    if let Some(p) = policy {
        let retry = retry_policy(p, &mut draft.findings)?;
        let limits = budgets.iter().find(|(c, _)| single && *c == client.targets[0].0).map(|(_, b)| b);
        client.fields.set("retry", with_budget(retry, limits));
    }
    match action.get("timeout") {
        Some(t) => {
            let ms = duration(t)?;
            if ms > 0.0 {
                client.fields.set("timeout", Val::new(duration_ms(ms), from(t, "timeout")).item());
            }
        }
        None => client
            .fields
            .set("timeout", Val::new("15s", Provenance::Default("Envoy default route timeout: 15s".into())).item()),
    }
    for (key, at, _) in route.entries().iter().chain(action.entries()) {
        match key.as_str() {
            "hash_policy" => draft.findings.approximated(at, key, "lbsim hashes the user id, whatever the hash policy"),
            "rate_limits" => draft.findings.unsupported(at, key, "lbsim does not rate-limit requests"),
            "request_mirror_policies" => draft.findings.unsupported(at, key, "mirrored requests are not simulated"),
            _ => {}
        }
    }
    draft.clients.push(client);
    Ok(())
}

/// The route's `retry_policy`: `num_retries` (1) more tries on `retry_on`,
/// `per_try_timeout`, `retry_back_off`.
fn retry_policy(p: &Tree, findings: &mut Findings) -> Result<Item, Error> {
    let mut retry = Item::map(Some(format!("{} retry_policy", p.at.short())));
    let (n, n_from) = match p.get("num_retries") {
        Some(t) => (
            number(t, "num_retries")?,
            Provenance::at(&t.at, format!("num_retries: {} (and the first try)", t.text().unwrap_or(""))),
        ),
        None => (1, Provenance::Default("Envoy default: num_retries 1 (and the first try)".into())),
    };
    retry.set("attempts", Val::new((n + 1).min(100).to_string(), n_from).item());
    if let Some(t) = p.get("per_try_timeout") {
        let ms = duration(t)?;
        if ms > 0.0 {
            retry.set("per_try_timeout", Val::new(duration_ms(ms), from(t, "per_try_timeout")).item());
        }
    }
    if let Some(b) = p.get("retry_back_off") {
        let mut entries = Vec::new();
        if let Some(base) = b.get("base_interval") {
            entries.push(("base".to_string(), Item::scalar(duration_ms(duration(base)?.max(0.001)), None)));
        }
        if let Some(max) = b.get("max_interval") {
            entries.push(("max".to_string(), Item::scalar(duration_ms(duration(max)?.max(0.001)), None)));
        }
        retry.set("backoff", Item::flow_map(entries, Some(format!("{} retry_back_off", b.at.short()))));
    }
    let mut on: Vec<&'static str> = Vec::new();
    if let Some(t) = p.get("retry_on") {
        for token in t.text().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let kinds: &[&'static str] = match token {
                "5xx" => &["server_error", "rejected", "reset", "refused", "timeout"],
                "gateway-error" => &["server_error", "rejected", "timeout"],
                "reset" | "reset-before-request" => &["reset", "timeout"],
                "connect-failure" | "refused-stream" => &["refused"],
                "unavailable" | "internal" => &["server_error"],
                "resource-exhausted" => &["rejected"],
                "deadline-exceeded" => &["timeout"],
                "http3-post-connect-failure" => &[],
                other => {
                    findings.unsupported(
                        &t.at,
                        format!("retry_on: {other}"),
                        "lbsim's responses have no such condition",
                    );
                    &[]
                }
            };
            for k in kinds {
                if !on.contains(k) {
                    on.push(k);
                }
            }
        }
        retry.set(
            "on",
            Item {
                node: Node::Seq(on.iter().map(|k| Item::scalar(*k, None)).collect(), true),
                comment: from(t, "retry_on").comment(),
            },
        );
    }
    if on.is_empty() {
        retry.set(
            "attempts",
            Val::new("1", Provenance::Default("no retry_on condition lbsim models: no retries".into())).item(),
        );
        retry.remove("on");
        retry.remove("backoff");
    }
    for (key, at, _) in p.entries() {
        match key.as_str() {
            "num_retries" | "per_try_timeout" | "retry_back_off" | "retry_on" => {}
            "retry_host_predicate" | "host_selection_retry_max_attempts" | "per_try_idle_timeout" => {
                findings.ignore(format!("retry_policy {key}"), at)
            }
            _ => findings.unsupported(at, format!("retry_policy {key}"), "not a retry setting lbsim models"),
        }
    }
    Ok(retry)
}

/// The cluster's retry circuit breaker on the route's retries: a
/// `retry_budget`, or `max_retries` (3 by default) retries in flight.
fn with_budget(mut retry: Item, limits: Option<&Item>) -> Item {
    if retry.get("on").is_none() {
        return retry;
    }
    let budget = match limits {
        Some(l) => l.clone(),
        None => Item::flow_map(
            vec![("ratio".into(), Item::scalar("0%", None)), ("min_concurrency".into(), Item::scalar("3", None))],
            Some("Envoy default circuit breaker: max_retries 3 in flight".into()),
        ),
    };
    retry.set("budget", budget);
    retry
}

#[cfg(test)]
mod tests;
