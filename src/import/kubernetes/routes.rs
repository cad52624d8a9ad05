//! Who sends to a Service: an Ingress's backends, a Gateway API route's
//! `backendRefs` (with weights, `timeouts` and `retry`). Each becomes a
//! client group aimed at the Service's balancer.

use super::super::doc::{Item, Node};
use super::super::tree::Tree;
use super::super::{ClientDraft, Draft, Provenance, Val, duration_ms};
use super::{service_name, set, val};
use crate::error::Error;

/// An Ingress: a client group per Service its rules send to.
pub(super) fn ingress(t: &Tree, namespace: &str, names: &[(String, String)], draft: &mut Draft) -> Result<(), Error> {
    for (key, at, value) in t.path(&["metadata", "annotations"]).map(Tree::entries).unwrap_or_default() {
        let k = key.rsplit('/').next().unwrap_or(key);
        if matches!(
            k,
            "affinity" | "load-balance" | "upstream-hash-by" | "canary" | "canary-weight" | "session-cookie-name"
        ) {
            draft.findings.unsupported(
                at,
                format!("{key}: {}", value.text().unwrap_or("")),
                "the ingress controller's own balancing is not imported: the Service's is",
            );
        }
    }
    let spec = t.get("spec");
    let mut backends: Vec<&Tree> = Vec::new();
    if let Some(d) = spec.and_then(|s| s.get("defaultBackend")) {
        backends.push(d);
    }
    for rule in spec.and_then(|s| s.get("rules")).map(Tree::items).unwrap_or_default() {
        for path in rule.path(&["http", "paths"]).map(Tree::items).unwrap_or_default() {
            if let Some(b) = path.get("backend") {
                backends.push(b);
            }
        }
    }
    for b in backends {
        let Some(service) = b.path(&["service", "name"]).and_then(Tree::text) else {
            draft.findings.unsupported(&b.at, "backend resource", "not a Service: not imported");
            continue;
        };
        let Some(balancer) = service_name(names, namespace, service) else {
            draft.findings.unsupported(&b.at, format!("backend service {service}"), "no such Service in the input");
            continue;
        };
        if draft.clients.iter().any(|c| c.targets.len() == 1 && c.targets[0].0 == balancer) {
            continue;
        }
        let from = Provenance::at(&b.at, format!("Ingress backend service {service}"));
        draft.clients.push(ClientDraft::new(draft.fresh_client_name(&balancer), &balancer, from));
    }
    Ok(())
}

/// An HTTPRoute (or GRPCRoute): a client group per rule, over its
/// `backendRefs` by weight, with the rule's timeouts and retries.
pub(super) fn http_route(
    t: &Tree,
    namespace: &str,
    names: &[(String, String)],
    draft: &mut Draft,
) -> Result<(), Error> {
    let route = t.path(&["metadata", "name"]).and_then(Tree::text).unwrap_or("route");
    for rule in t.path(&["spec", "rules"]).map(Tree::items).unwrap_or_default() {
        let mut targets: Vec<(String, Option<Val>)> = Vec::new();
        for r in rule.get("backendRefs").map(Tree::items).unwrap_or_default() {
            let kind = r.get("kind").and_then(Tree::text).unwrap_or("Service");
            let name = r.get("name").and_then(Tree::text).unwrap_or("");
            let ns = r.get("namespace").and_then(Tree::text).unwrap_or(namespace);
            let balancer = (kind == "Service").then(|| service_name(names, ns, name)).flatten();
            let Some(balancer) = balancer else {
                draft.findings.unsupported(&r.at, format!("backendRef {kind} {name}"), "no such Service in the input");
                continue;
            };
            let weight = match r.get("weight") {
                Some(w) => {
                    w.as_u64().ok_or_else(|| super::super::error_at(&w.at, "`weight` expects a whole number"))?
                }
                None => 1,
            };
            if weight > 0 && !targets.iter().any(|(b, _)| *b == balancer) {
                targets.push((balancer, r.get("weight").map(|w| val(w, "weight", weight.to_string()))));
            }
        }
        if targets.is_empty() {
            continue;
        }
        if targets.len() > 1 {
            draft.findings.approximated(
                &rule.at,
                "backendRefs with weights",
                "the gateway splits requests by weight; lbsim splits users (each sticks to one Service)",
            );
        }
        let name = draft.fresh_client_name(&super::super::entity_name(route));
        let mut client = ClientDraft::new(&name, &targets[0].0, Provenance::at(&rule.at, format!("{route} rule")));
        if targets.len() == 1 {
            targets[0].1 = None;
        }
        client.targets = targets;
        if let Some(tm) = rule.get("timeouts") {
            if let Some(req) = tm.get("request") {
                set(&mut client.fields, "timeout", val(req, "timeouts.request", duration(req)?));
            }
            if let Some(be) = tm.get("backendRequest") {
                client.fields.child("retry").set("attempts", Item::scalar("1", None));
                set(client.fields.child("retry"), "per_try_timeout", val(be, "timeouts.backendRequest", duration(be)?));
            }
        }
        if let Some(r) = rule.get("retry") {
            retry(r, client.fields.child("retry"), draft)?;
        }
        for f in rule.get("filters").map(Tree::items).unwrap_or_default() {
            match f.get("type").and_then(Tree::text) {
                Some("RequestMirror") => {
                    draft.findings.unsupported(&f.at, "filter RequestMirror", "mirrored requests are not simulated")
                }
                Some(other) => draft.findings.ignore(format!("route filter {other}"), &f.at),
                None => {}
            }
        }
        draft.clients.push(client);
    }
    Ok(())
}

/// A Gateway API duration (`10s`, `500ms`, `1h30m`) as lbsim writes it.
fn duration(t: &Tree) -> Result<String, Error> {
    let text = t.text().unwrap_or("");
    crate::units::parse_duration(text)
        .map(|d| duration_ms(d.secs() * 1000.0))
        .map_err(|_| super::super::error_at(&t.at, format!("`{text}` is not a duration: expected like 10s or 500ms")))
}

/// GEP-1731's `retry: {attempts, backoff, codes}`.
fn retry(r: &Tree, item: &mut Item, draft: &mut Draft) -> Result<(), Error> {
    item.comment = Some(format!("{} retry", r.at.short()));
    if let Some(a) = r.get("attempts") {
        let n = a.as_u64().ok_or_else(|| super::super::error_at(&a.at, "`attempts` expects a whole number"))?;
        set(item, "attempts", val(a, "attempts", format!("{}", (n + 1).min(100))));
    }
    if let Some(b) = r.get("backoff") {
        let d = duration(b)?;
        item.set(
            "backoff",
            Item::flow_map(vec![("base".into(), Item::scalar(&d, None))], Some(format!("{} backoff", b.at.short()))),
        );
    }
    let mut on: Vec<&'static str> = Vec::new();
    for c in r.get("codes").map(Tree::items).unwrap_or_default() {
        let kinds: &[&'static str] = match c.as_u64() {
            Some(500 | 502 | 504) => &["server_error"],
            Some(503) => &["server_error", "rejected"],
            Some(429) => &["rejected"],
            _ => {
                draft.findings.unsupported(
                    &c.at,
                    format!("retry code {}", c.text().unwrap_or("")),
                    "lbsim's responses have no such status",
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
    if !on.is_empty() {
        item.set(
            "on",
            Item { node: Node::Seq(on.iter().map(|k| Item::scalar(*k, None)).collect(), true), comment: None },
        );
    }
    if item.get("attempts").is_none() {
        item.set("attempts", Item::scalar("2", Some("Gateway API: retry without attempts".into())));
    }
    Ok(())
}
