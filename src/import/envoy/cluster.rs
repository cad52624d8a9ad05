//! One Envoy cluster as a balancer: its load-balancing policy, endpoints,
//! health checks, outlier detection, panic threshold, and the retry
//! circuit breaker its routes' retries are held to.

use super::super::doc::Item;
use super::super::tree::Tree;
use super::super::{
    BackendDraft, BalancerDraft, Draft, Findings, Provenance, ServerDraft, Val, duration_ms, entity_name, percent,
};
use super::{duration, from, number, percent_of};
use crate::error::Error;

/// The balancer, and the retry budget for the routes that use it (`None`
/// when the cluster sets no circuit breaker: Envoy's default applies).
pub(super) fn balancer(
    c: &Tree,
    eds: Option<&Tree>,
    draft: &mut Draft,
) -> Result<(BalancerDraft, Option<Item>), Error> {
    let Some(name) = c.get("name").and_then(Tree::text) else {
        return Err(super::super::error_at(&c.at, "a cluster needs a `name`"));
    };
    let mut b = BalancerDraft::new(entity_name(name), Provenance::at(&c.at, format!("cluster {name}")));
    policy(c, &mut b, &mut draft.findings)?;
    let assignment = eds.or_else(|| c.get("load_assignment"));
    match assignment {
        Some(a) => endpoints(a, eds.is_some(), &mut b, draft)?,
        None => draft.findings.unsupported(
            &c.at,
            format!("cluster {name}"),
            "no endpoints in the input (an EDS cluster: import /config_dump?include_eds): no servers imported",
        ),
    }
    let mut budget = None;
    for (key, at, value) in c.entries() {
        match key.as_str() {
            "name"
            | "lb_policy"
            | "least_request_lb_config"
            | "ring_hash_lb_config"
            | "maglev_lb_config"
            | "load_balancing_policy"
            | "load_assignment" => {}
            "health_checks" => health(value, &mut b, &mut draft.findings)?,
            "outlier_detection" => outlier(value, &mut b, &mut draft.findings)?,
            "circuit_breakers" => budget = breakers(value, &mut draft.findings)?,
            "common_lb_config" => common(value, &mut b, &mut draft.findings)?,
            "connect_timeout" => draft.findings.unsupported(
                at,
                format!("connect_timeout: {}", value.text().unwrap_or("")),
                "lbsim has no connection setup: a down server refuses at once",
            ),
            "round_robin_lb_config" if value.get("slow_start_config").is_some() => draft.findings.unsupported(
                at,
                "slow_start_config",
                "lbsim has no slow start: a host takes its full weight",
            ),
            "lb_subset_config" => draft.findings.unsupported(
                at,
                format!("cluster {key}"),
                "lbsim balances over all endpoints, not subsets",
            ),
            "max_requests_per_connection"
            | "round_robin_lb_config"
            | "type"
            | "dns_lookup_family"
            | "dns_refresh_rate"
            | "respect_dns_ttl"
            | "transport_socket"
            | "transport_socket_matches"
            | "typed_extension_protocol_options"
            | "http2_protocol_options"
            | "http_protocol_options"
            | "upstream_http_protocol_options"
            | "common_http_protocol_options"
            | "upstream_connection_options"
            | "per_connection_buffer_limit_bytes"
            | "metadata"
            | "@type"
            | "alt_stat_name"
            | "eds_cluster_config"
            | "track_cluster_stats"
            | "close_connections_on_host_health_failure"
            | "ignore_health_on_host_removal"
            | "protocol_selection"
            | "dns_resolvers"
            | "typed_dns_resolver_config"
            | "dns_resolution_config"
            | "use_tcp_for_dns_lookups"
            | "cluster_type"
            | "upstream_bind_config"
            | "wait_for_warm_on_init"
            | "filters"
            | "preconnect_policy"
            | "lrs_server"
            | "cleanup_interval"
            | "upstream_config" => draft.findings.ignore(format!("cluster {key}"), at),
            _ => draft.findings.unsupported(at, format!("cluster {key}"), "not a cluster field lbsim models"),
        }
    }
    default_panic(&mut b);
    Ok((b, budget))
}

/// `lb_policy` (or the typed `load_balancing_policy`) as an algorithm.
fn policy(c: &Tree, b: &mut BalancerDraft, findings: &mut Findings) -> Result<(), Error> {
    let (kind, at_tree, choice): (String, Option<&Tree>, Option<&Tree>) =
        match (c.get("lb_policy"), c.get("load_balancing_policy")) {
            (Some(p), _) if p.text() != Some("LOAD_BALANCING_POLICY_CONFIG") => {
                (p.text().unwrap_or("").to_string(), Some(p), c.path(&["least_request_lb_config", "choice_count"]))
            }
            (_, Some(lbp)) => {
                let typed = lbp
                    .get("policies")
                    .and_then(|p| p.items().first())
                    .and_then(|p| p.path(&["typed_extension_config", "typed_config"]));
                let ty = typed.and_then(|t| t.get("@type")).and_then(Tree::text).unwrap_or("");
                let kind = match ty.rsplit('.').next().unwrap_or("") {
                    "RoundRobin" => "ROUND_ROBIN",
                    "LeastRequest" => "LEAST_REQUEST",
                    "Random" => "RANDOM",
                    "RingHash" => "RING_HASH",
                    "Maglev" => "MAGLEV",
                    _ => "",
                };
                (kind.to_string(), Some(lbp), typed.and_then(|t| t.get("choice_count")))
            }
            (None, None) => {
                b.set(
                    "algorithm",
                    Val::new("round_robin", Provenance::Default("Envoy default lb_policy: ROUND_ROBIN".into())),
                );
                return Ok(());
            }
            (Some(p), None) => (String::new(), Some(p), None),
        };
    let at = at_tree.expect("set above");
    let prov = Provenance::at(&at.at, format!("lb_policy: {kind}"));
    let algorithm = match kind.as_str() {
        "ROUND_ROBIN" => "round_robin",
        "RANDOM" => "random",
        "RING_HASH" => "consistent_hash",
        "MAGLEV" => {
            findings.approximated(
                &at.at,
                "lb_policy: MAGLEV",
                "the closest lbsim has is a ketama ring; Maglev moves about twice as many keys when a host goes",
            );
            "consistent_hash"
        }
        "LEAST_REQUEST" => {
            let n = choice.map(|t| number(t, "choice_count")).transpose()?.unwrap_or(2);
            b.set("algorithm", Val::new("power_of_two_choices", prov));
            let from =
                choice.map_or(Provenance::Default("Envoy default choice_count: 2".into()), |t| from(t, "choice_count"));
            b.set("choices", Val::new(n.max(1).to_string(), from));
            return Ok(());
        }
        "CLUSTER_PROVIDED" | "ORIGINAL_DST_LB" | "LOAD_BALANCING_POLICY_CONFIG" | "" => {
            findings.unsupported(
                &at.at,
                format!("lb_policy: {kind}"),
                "not a policy lbsim models: round robin instead",
            );
            "round_robin"
        }
        other => {
            return Err(super::super::error_at(
                &at.at,
                format!(
                    "unknown lb_policy `{other}`: expected ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV"
                ),
            ));
        }
    };
    b.set("algorithm", Val::new(algorithm, prov));
    Ok(())
}

/// `endpoints: [{priority, lb_endpoints: [{endpoint: {address}, load_balancing_weight, health_status}]}]`.
fn endpoints(a: &Tree, from_eds: bool, b: &mut BalancerDraft, draft: &mut Draft) -> Result<(), Error> {
    let mut priorities = Vec::new();
    for group in a.get("endpoints").map(Tree::items).unwrap_or_default() {
        let priority = group.get("priority").map(|p| number(p, "priority")).transpose()?.unwrap_or(0);
        if priority > 0 && !priorities.contains(&priority) {
            priorities.push(priority);
        }
        if let Some((_, at, _)) = group.entries().iter().find(|(k, _, _)| k == "load_balancing_weight") {
            draft.findings.unsupported(at, "locality load_balancing_weight", "lbsim weighs endpoints, not localities");
        }
        for e in group.get("lb_endpoints").map(Tree::items).unwrap_or_default() {
            let ep = e.get("endpoint").unwrap_or(e);
            let address = address(ep)?;
            let name = entity_name(&address);
            let written = if from_eds { format!("endpoint {address} (EDS)") } else { format!("endpoint {address}") };
            let prov = Provenance::at(&ep.at, written);
            let mut server = ServerDraft::new(&name, prov.clone());
            server.aliases.push(address.clone());
            draft.add_server(server);
            if b.backend(&name).is_some() {
                return Err(super::super::error_at(
                    &ep.at,
                    format!("endpoint {address} is listed twice in the cluster"),
                ));
            }
            let mut be = BackendDraft { server: name, from: prov, weight: None, backup: None, out: None };
            if let Some(w) = e.get("load_balancing_weight") {
                be.weight =
                    Some(Val::new(number(w, "load_balancing_weight")?.to_string(), from(w, "load_balancing_weight")));
            }
            if priority > 0 {
                be.backup = Some(Provenance::at(&group.at, format!("priority: {priority}")));
            }
            if let Some(h) = e.get("health_status") {
                match h.text().unwrap_or("") {
                    "UNHEALTHY" | "DRAINING" | "TIMEOUT" => be.out = Some(from(h, "health_status")),
                    "DEGRADED" => draft.findings.approximated(
                        &h.at,
                        "health_status: DEGRADED",
                        "Envoy uses degraded hosts only when healthy ones fall short; lbsim treats it as healthy",
                    ),
                    _ => {}
                }
            }
            b.backends.push(be);
        }
    }
    if !priorities.is_empty() {
        draft.findings.approximated(
            &a.at,
            format!("priorities {}", priorities.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
            "Envoy spills traffic to lower priorities gradually as health drops (overprovisioning 1.4); lbsim makes every priority above 0 one backup tier, used when no priority-0 endpoint is",
        );
    }
    for (key, at, _) in a.entries() {
        if key == "policy" {
            draft.findings.unsupported(
                at,
                "load_assignment policy",
                "overprovisioning and drop_overloads are not modelled",
            );
        }
    }
    Ok(())
}

fn address(ep: &Tree) -> Result<String, Error> {
    if let Some(s) = ep.path(&["address", "socket_address"]) {
        let host = s.get("address").and_then(Tree::text).unwrap_or("");
        let port = s.get("port_value").and_then(Tree::text).or_else(|| s.get("named_port").and_then(Tree::text));
        if !host.is_empty() {
            return Ok(match port {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            });
        }
    }
    if let Some(p) = ep.path(&["address", "pipe", "path"]).and_then(Tree::text) {
        return Ok(format!("unix:{p}"));
    }
    Err(super::super::error_at(
        &ep.at,
        "an endpoint needs an address: `endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 8080}}}`",
    ))
}

fn health(list: &Tree, b: &mut BalancerDraft, findings: &mut Findings) -> Result<(), Error> {
    let Some(hc) = list.items().first() else { return Ok(()) };
    if list.items().len() > 1 {
        findings.approximated(
            &list.items()[1].at,
            "a second health check",
            "lbsim runs one health check per balancer: the first",
        );
    }
    let required = |key: &str| {
        hc.get(key)
            .ok_or_else(|| super::super::error_at(&hc.at, format!("a health check needs `{key}` (Envoy requires it)")))
    };
    let interval = duration(required("interval")?)?;
    let item = b.fields.child("health_check");
    item.comment = Some(format!("{} health_checks", hc.at.short()));
    item.set("interval", Val::new(duration_ms(interval), from(required("interval")?, "interval")).item());
    let t = required("timeout")?;
    item.set("timeout", Val::new(duration_ms(duration(t)?), from(t, "timeout")).item());
    let u = required("unhealthy_threshold")?;
    item.set(
        "unhealthy_threshold",
        Val::new(number(u, "unhealthy_threshold")?.max(1).to_string(), from(u, "unhealthy_threshold")).item(),
    );
    let h = required("healthy_threshold")?;
    item.set(
        "healthy_threshold",
        Val::new(number(h, "healthy_threshold")?.max(1).to_string(), from(h, "healthy_threshold")).item(),
    );
    let mut jitter = 0.0;
    let mut jitter_from = Vec::new();
    if let Some(j) = hc.get("interval_jitter_percent") {
        jitter += number(j, "interval_jitter_percent")? as f64 / 100.0;
        jitter_from.push(j.at.short());
    }
    if let Some(j) = hc.get("interval_jitter") {
        jitter += duration(j)? / interval.max(1e-9);
        jitter_from.push(j.at.short());
    }
    if jitter > 0.0 {
        item.set(
            "jitter",
            Item::scalar(percent(jitter.min(0.99)), Some(format!("{} interval_jitter", jitter_from.join(", ")))),
        );
    }
    for (key, at, _) in hc.entries() {
        match key.as_str() {
            "interval"
            | "timeout"
            | "unhealthy_threshold"
            | "healthy_threshold"
            | "interval_jitter"
            | "interval_jitter_percent" => {}
            "no_traffic_interval"
            | "unhealthy_interval"
            | "unhealthy_edge_interval"
            | "healthy_edge_interval"
            | "no_traffic_healthy_interval" => {
                findings.unsupported(at, format!("health check {key}"), "lbsim probes at one interval")
            }
            _ => findings.ignore(format!("health check {key}"), at),
        }
    }
    Ok(())
}

fn outlier(o: &Tree, b: &mut BalancerDraft, findings: &mut Findings) -> Result<(), Error> {
    let item = b.fields.child("outlier_detection");
    item.comment =
        Some(format!("{} outlier_detection (unset fields: Envoy's defaults, which are lbsim's)", o.at.short()));
    let enforcing = |key: &str, default: u64| -> Result<u64, Error> {
        o.get(key).map(|t| number(t, key)).transpose().map(|v| v.unwrap_or(default))
    };
    let success = enforcing("enforcing_success_rate", 100)?;
    let hosts =
        o.get("success_rate_minimum_hosts").map(|t| number(t, "success_rate_minimum_hosts")).transpose()?.unwrap_or(5);
    let gateway = enforcing("enforcing_consecutive_gateway_failure", 0)?;
    let failure_pct = enforcing("enforcing_failure_percentage", 0)?;
    let consecutive = enforcing("enforcing_consecutive_5xx", 100)?;
    if success > 0 && b.backends.len() as u64 >= hosts {
        findings.approximated(
            &o.at,
            "outlier_detection (success rate)",
            "Envoy also ejects by success rate (enforcing_success_rate defaults to 100); lbsim ejects on consecutive failures only",
        );
    }
    if gateway > 0 || failure_pct > 0 {
        findings.unsupported(
            &o.at,
            "outlier_detection (gateway / failure percentage)",
            "lbsim ejects on consecutive failures only",
        );
    }
    if consecutive < 100 {
        findings.approximated(
            &o.at,
            format!("enforcing_consecutive_5xx: {consecutive}"),
            "lbsim always enforces the ejection",
        );
    }
    for (key, at, value) in o.entries() {
        let target = match key.as_str() {
            "consecutive_5xx" => {
                Some(("consecutive_failures", Val::new(number(value, key)?.max(1).to_string(), from(value, key))))
            }
            "base_ejection_time" | "max_ejection_time" | "interval" => {
                let ms = duration(value)?;
                Some((key.as_str(), Val::new(duration_ms(ms.max(0.001)), from(value, key))))
            }
            "max_ejection_percent" => {
                Some((key.as_str(), Val::new(percent(percent_of(value, key)? / 100.0), from(value, key))))
            }
            _ => None,
        };
        match target {
            Some((k, v)) => item.set(k, v.item()),
            None if key.starts_with("enforcing_")
                || key.starts_with("success_rate_")
                || key.starts_with("failure_percentage_")
                || key == "consecutive_gateway_failure" => {}
            None => findings.ignore(format!("outlier_detection {key}"), at),
        }
    }
    Ok(())
}

/// `circuit_breakers.thresholds` at DEFAULT priority: a `retry_budget`, or
/// `max_retries` as that many retries in flight at most.
fn breakers(cb: &Tree, findings: &mut Findings) -> Result<Option<Item>, Error> {
    let Some(t) = cb
        .get("thresholds")
        .map(Tree::items)
        .unwrap_or_default()
        .iter()
        .find(|t| t.get("priority").and_then(Tree::text).is_none_or(|p| p == "DEFAULT"))
    else {
        return Ok(None);
    };
    for (key, at, value) in t.entries() {
        if matches!(key.as_str(), "max_connections" | "max_pending_requests" | "max_requests") {
            findings.unsupported(
                at,
                format!("{key}: {}", value.text().unwrap_or("")),
                "lbsim does not cap requests at the proxy (Envoy answers 503 beyond it)",
            );
        }
    }
    if let Some(rb) = t.get("retry_budget") {
        let ratio = rb.get("budget_percent").map(|p| percent_of(p, "budget_percent")).transpose()?.unwrap_or(20.0);
        let min = rb.get("min_retry_concurrency").map(|m| number(m, "min_retry_concurrency")).transpose()?.unwrap_or(3);
        return Ok(Some(Item::flow_map(
            vec![
                ("ratio".into(), Item::scalar(percent(ratio / 100.0), None)),
                ("min_concurrency".into(), Item::scalar(min.to_string(), None)),
            ],
            Some(format!("{} retry_budget", rb.at.short())),
        )));
    }
    let (max, comment) = match t.get("max_retries") {
        Some(m) => (number(m, "max_retries")?, format!("{} max_retries: retries in flight at most", m.at.short())),
        None => (3, "Envoy default circuit breaker: max_retries 3 in flight".to_string()),
    };
    Ok(Some(Item::flow_map(
        vec![
            ("ratio".into(), Item::scalar("0%", None)),
            ("min_concurrency".into(), Item::scalar(max.to_string(), None)),
        ],
        Some(comment),
    )))
}

fn common(c: &Tree, b: &mut BalancerDraft, findings: &mut Findings) -> Result<(), Error> {
    for (key, at, value) in c.entries() {
        match key.as_str() {
            "healthy_panic_threshold" => {
                let p = percent_of(value, key)?;
                b.set(
                    "panic_threshold",
                    Val::new(percent(p / 100.0), Provenance::at(at, format!("healthy_panic_threshold: {p}%"))),
                );
            }
            "zone_aware_lb_config" | "locality_weighted_lb_config" => {
                findings.unsupported(at, key, "lbsim has no zones or localities")
            }
            _ => findings.ignore(format!("common_lb_config {key}"), at),
        }
    }
    Ok(())
}

/// Envoy's default panic threshold (50%) where the cluster sets none but
/// can mark hosts unusable.
fn default_panic(b: &mut BalancerDraft) {
    if b.fields.get("panic_threshold").is_none()
        && (b.fields.get("health_check").is_some() || b.fields.get("outlier_detection").is_some())
    {
        b.set(
            "panic_threshold",
            Val::new("50%", Provenance::Default("Envoy default healthy_panic_threshold: 50%".into())),
        );
    }
}
