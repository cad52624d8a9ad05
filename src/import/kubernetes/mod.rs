//! `lbsim import kubernetes`: each Service becomes a balancer over its
//! endpoints, as kube-proxy balances them: the EndpointSlices (or legacy
//! Endpoints) give the pods and their readiness, or, when there are none,
//! the Deployment (or StatefulSet, ReplicaSet) whose pods the Service
//! selects gives a counted group of `replicas` servers. A readiness probe
//! is the balancer's health check. Ingresses and Gateway API routes that
//! send to a Service give its client groups (HTTPRoute weights, timeouts
//! and retries).
//!
//! Reads YAML (several documents) or JSON, single objects or `kind: List`.
//! The mapping, field by field, is in docs/import.md.

mod routes;

use std::path::PathBuf;

use super::doc::Item;
use super::tree::{self, Tree};
use super::{
    BackendDraft, BalancerDraft, ClientDraft, Draft, Findings, Provenance, ServerDraft, SourceFile, Val, entity_name,
};
use crate::error::Error;

/// An object with its kind, namespace and name.
struct Object<'a> {
    kind: String,
    namespace: String,
    name: String,
    tree: &'a Tree,
}

impl Object<'_> {
    fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Reads Kubernetes manifests into a draft.
pub(crate) fn import(paths: &[PathBuf]) -> Result<Draft, Error> {
    let mut draft = Draft::new("kubernetes");
    let mut docs = Vec::new();
    for path in paths {
        let file = SourceFile::read(path)?;
        draft.files.push(file.name.to_string());
        docs.extend(tree::parse_documents(&file)?);
    }
    let mut objects = Vec::new();
    for d in &docs {
        flatten(d, &mut objects)?;
    }
    let services: Vec<&Object<'_>> = objects.iter().filter(|o| o.kind == "Service").collect();
    if services.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no Service found: lbsim imports Services with their EndpointSlices or Deployments",
            draft.files.join(", ")
        )));
    }
    let clash = |o: &Object<'_>| services.iter().filter(|s| s.name == o.name).count() > 1;
    let names: Vec<(String, String)> = services
        .iter()
        .map(|s| {
            (s.id(), if clash(s) { entity_name(&format!("{}-{}", s.namespace, s.name)) } else { entity_name(&s.name) })
        })
        .collect();
    for s in &services {
        let name = names.iter().find(|(id, _)| *id == s.id()).map(|(_, n)| n.clone()).unwrap_or_default();
        if let Some(b) = service(s, &name, &objects, &mut draft)? {
            draft.balancers.push(b);
        }
    }
    for o in &objects {
        match o.kind.as_str() {
            "Service" | "EndpointSlice" | "Endpoints" | "Deployment" | "StatefulSet" | "ReplicaSet" => {}
            "Ingress" => routes::ingress(o.tree, &o.namespace, &names, &mut draft)?,
            "HTTPRoute" | "GRPCRoute" => routes::http_route(o.tree, &o.namespace, &names, &mut draft)?,
            "HorizontalPodAutoscaler" => draft.findings.unsupported(
                &o.tree.at,
                format!("HorizontalPodAutoscaler {}", o.name),
                "lbsim does not autoscale: the replica count stays as imported",
            ),
            other => draft.findings.ignore(other, &o.tree.at),
        }
    }
    let unrouted: Vec<String> = draft
        .balancers
        .iter()
        .map(|b| b.name.clone())
        .filter(|n| !draft.clients.iter().any(|c| c.targets.iter().any(|(t, _)| t == n)))
        .collect();
    for name in unrouted {
        let from = Provenance::Default("in-cluster clients of the Service (no Ingress or route sends to it)".into());
        draft.clients.push(ClientDraft::new(draft.fresh_client_name(&name), &name, from));
    }
    Ok(draft)
}

/// The objects of a document: itself, or the items of a `List`.
fn flatten<'a>(d: &'a Tree, out: &mut Vec<Object<'a>>) -> Result<(), Error> {
    let Some(kind) = d.get("kind").and_then(Tree::text) else {
        return Err(super::error_at(&d.at, "expected a Kubernetes object with `kind` (or a `kind: List`)"));
    };
    if kind.ends_with("List") {
        for item in d.get("items").map(Tree::items).unwrap_or_default() {
            flatten(item, out)?;
        }
        return Ok(());
    }
    let meta = d.get("metadata");
    let Some(name) = meta.and_then(|m| m.get("name")).and_then(Tree::text) else {
        return Err(super::error_at(&d.at, format!("this {kind} has no `metadata.name`")));
    };
    let namespace = meta.and_then(|m| m.get("namespace")).and_then(Tree::text).unwrap_or("default");
    out.push(Object { kind: kind.to_string(), namespace: namespace.to_string(), name: name.to_string(), tree: d });
    Ok(())
}

/// One Service as a balancer, or `None` when it has no pods to balance.
fn service(
    s: &Object<'_>,
    name: &str,
    objects: &[Object<'_>],
    draft: &mut Draft,
) -> Result<Option<BalancerDraft>, Error> {
    let spec = s.tree.get("spec");
    let mut b = BalancerDraft::new(name, Provenance::at(&s.tree.at, format!("Service {}", s.id())));
    if spec.and_then(|x| x.get("type")).and_then(Tree::text) == Some("ExternalName") {
        draft.findings.unsupported(
            &s.tree.at,
            format!("Service {} (ExternalName)", s.name),
            "a DNS alias: no pods to balance",
        );
        return Ok(None);
    }
    match spec.and_then(|x| x.get("sessionAffinity")) {
        Some(a) if a.text() == Some("ClientIP") => {
            b.set("algorithm", Val::new("consistent_hash", Provenance::at(&a.at, "sessionAffinity: ClientIP")));
            draft.findings.approximated(
                &a.at,
                "sessionAffinity: ClientIP",
                "kube-proxy pins a client address to a pod for a timeout (3h); lbsim hashes the user id onto a ring",
            );
        }
        _ => b.set(
            "algorithm",
            Val::new("random", Provenance::Default("kube-proxy (iptables mode) picks an endpoint at random".into())),
        ),
    }
    if let Some(spec) = spec {
        for (key, at, value) in spec.entries() {
            match key.as_str() {
                "externalTrafficPolicy" | "internalTrafficPolicy" if value.text() == Some("Local") => {
                    draft.findings.unsupported(
                        at,
                        format!("{key}: Local"),
                        "lbsim has no nodes: every endpoint is eligible for every client",
                    )
                }
                "trafficDistribution" => draft.findings.unsupported(
                    at,
                    format!("{key}: {}", value.text().unwrap_or("")),
                    "lbsim has no zones",
                ),
                _ => {}
            }
        }
    }
    let slices: Vec<&Object<'_>> = objects
        .iter()
        .filter(|o| {
            o.kind == "EndpointSlice"
                && o.namespace == s.namespace
                && o.tree.path(&["metadata", "labels", "kubernetes.io/service-name"]).and_then(Tree::text)
                    == Some(s.name.as_str())
        })
        .collect();
    let legacy = objects.iter().find(|o| o.kind == "Endpoints" && o.namespace == s.namespace && o.name == s.name);
    let workload = workload(s, objects);
    if !slices.is_empty() {
        for slice in &slices {
            endpoint_slice(slice.tree, &mut b, draft)?;
        }
    } else if let Some(e) = legacy {
        endpoints(e.tree, &mut b, draft)?;
    } else if let Some(w) = workload {
        replicas(w, &mut b, draft)?;
    } else {
        draft.findings.unsupported(
            &s.tree.at,
            format!("Service {}", s.id()),
            "no EndpointSlice, Endpoints or workload in the input selects its pods: not imported",
        );
        return Ok(None);
    }
    if let Some(w) = workload {
        readiness(w, &mut b, &mut draft.findings)?;
        if !slices.is_empty() || legacy.is_some() {
            let want = w.tree.path(&["spec", "replicas"]).and_then(Tree::as_u64).unwrap_or(1) as usize;
            if want != b.backends.len() {
                draft.findings.note(format!(
                    "{} {} wants {want} replicas; the endpoints of Service {} list {} (the endpoints are imported)",
                    w.kind,
                    w.id(),
                    s.id(),
                    b.backends.len()
                ));
            }
        }
    }
    if b.backends.is_empty() {
        return Ok(None);
    }
    Ok(Some(b))
}

/// The Deployment, StatefulSet or ReplicaSet whose pod labels the
/// Service's selector matches.
fn workload<'a, 'b>(s: &Object<'_>, objects: &'b [Object<'a>]) -> Option<&'b Object<'a>> {
    let selector = s.tree.path(&["spec", "selector"])?;
    if selector.entries().is_empty() {
        return None;
    }
    objects.iter().find(|o| {
        matches!(o.kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet")
            && o.namespace == s.namespace
            && selector.entries().iter().all(|(k, _, v)| {
                o.tree.path(&["spec", "template", "metadata", "labels", k]).and_then(Tree::text) == v.text()
            })
    })
}

fn endpoint_slice(slice: &Tree, b: &mut BalancerDraft, draft: &mut Draft) -> Result<(), Error> {
    for e in slice.get("endpoints").map(Tree::items).unwrap_or_default() {
        let Some(address) = e.get("addresses").and_then(|a| a.items().first()).and_then(Tree::text) else {
            return Err(super::error_at(&e.at, "an endpoint needs `addresses`"));
        };
        let pod = e.path(&["targetRef", "name"]).and_then(Tree::text);
        let ready = e.path(&["conditions", "ready"]);
        let not_ready = ready.and_then(Tree::as_bool) == Some(false);
        add_pod(b, draft, address, pod, &e.at, not_ready.then(|| ready.expect("checked")));
        for (key, at, _) in e.entries() {
            if key == "hints" {
                draft.findings.unsupported(at, "endpoint hints", "lbsim has no zones: topology hints are not followed");
            }
        }
    }
    Ok(())
}

fn endpoints(e: &Tree, b: &mut BalancerDraft, draft: &mut Draft) -> Result<(), Error> {
    for subset in e.get("subsets").map(Tree::items).unwrap_or_default() {
        for (list, ready) in [("addresses", true), ("notReadyAddresses", false)] {
            for a in subset.get(list).map(Tree::items).unwrap_or_default() {
                let Some(ip) = a.get("ip").and_then(Tree::text) else {
                    return Err(super::error_at(&a.at, "an address needs an `ip`"));
                };
                let pod = a.path(&["targetRef", "name"]).and_then(Tree::text);
                add_pod(b, draft, ip, pod, &a.at, (!ready).then_some(a));
            }
        }
    }
    Ok(())
}

/// A pod as a server and a backend (out of rotation when not ready).
fn add_pod(
    b: &mut BalancerDraft,
    draft: &mut Draft,
    address: &str,
    pod: Option<&str>,
    at: &super::Origin,
    not_ready: Option<&Tree>,
) {
    let name = entity_name(pod.unwrap_or(address));
    let written = match pod {
        Some(p) => format!("endpoint {address} (pod {p})"),
        None => format!("endpoint {address}"),
    };
    let from = Provenance::at(at, written);
    let mut server = ServerDraft::new(&name, from.clone());
    server.aliases.push(address.to_string());
    draft.add_server(server);
    if b.backend(&name).is_some() {
        return;
    }
    let out = not_ready.map(|t| Provenance::at(&t.at, "not ready: kube-proxy sends it nothing"));
    b.backends.push(BackendDraft { server: name, from, weight: None, backup: None, out });
}

/// No endpoints in the input: the workload's `replicas` as a counted group.
fn replicas(w: &Object<'_>, b: &mut BalancerDraft, draft: &mut Draft) -> Result<(), Error> {
    let r = w.tree.path(&["spec", "replicas"]);
    let count = match r {
        Some(t) => t.as_u64().ok_or_else(|| super::error_at(&t.at, "`replicas` expects a whole number"))?,
        None => 1,
    };
    if count == 0 {
        draft.findings.note(format!("{} {} has 0 replicas: its Service has no servers", w.kind, w.id()));
        return Ok(());
    }
    let name = draft.fresh_name(&entity_name(&w.name));
    let from = match r {
        Some(t) => Provenance::at(&t.at, format!("{} {} replicas: {count}", w.kind, w.name)),
        None => Provenance::Default(format!("{} {} sets no replicas: Kubernetes runs 1", w.kind, w.name)),
    };
    let mut server = ServerDraft::new(&name, Provenance::at(&w.tree.at, format!("{} {}", w.kind, w.id())));
    server.fields.set("count", Val::new(count.min(100_000).to_string(), from.clone()).item());
    draft.servers.push(server);
    b.backends.push(BackendDraft { server: name, from, weight: None, backup: None, out: None });
    Ok(())
}

/// The first container's readiness probe as the balancer's health check:
/// a pod that fails it leaves the Service's endpoints.
fn readiness(w: &Object<'_>, b: &mut BalancerDraft, findings: &mut Findings) -> Result<(), Error> {
    let containers = w.tree.path(&["spec", "template", "spec", "containers"]).map(Tree::items).unwrap_or_default();
    for c in containers {
        if let Some(l) = c.get("livenessProbe") {
            findings.unsupported(&l.at, "livenessProbe", "lbsim does not restart a server whose probe fails");
        }
    }
    let Some(p) = containers.iter().find_map(|c| c.get("readinessProbe")) else { return Ok(()) };
    let field = |key: &str, default: u64| -> Result<(u64, Provenance), Error> {
        match p.get(key) {
            Some(t) => {
                let n = t.as_u64().ok_or_else(|| super::error_at(&t.at, format!("`{key}` expects a whole number")))?;
                Ok((n, Provenance::at(&t.at, format!("{key}: {n}"))))
            }
            None => Ok((default, Provenance::Default(format!("Kubernetes default {key}: {default}")))),
        }
    };
    let hc = b.fields.child("health_check");
    hc.comment = Some(format!("{} readinessProbe: a pod that fails it leaves the endpoints", p.at.short()));
    let (period, f) = field("periodSeconds", 10)?;
    hc.set("interval", Val::new(format!("{}s", period.max(1)), f).item());
    let (timeout, f) = field("timeoutSeconds", 1)?;
    hc.set("timeout", Val::new(format!("{}s", timeout.max(1)), f).item());
    let (fail, f) = field("failureThreshold", 3)?;
    hc.set("unhealthy_threshold", Val::new(fail.max(1).to_string(), f).item());
    let (ok, f) = field("successThreshold", 1)?;
    hc.set("healthy_threshold", Val::new(ok.max(1).to_string(), f).item());
    Ok(())
}

/// The balancer a backend reference names (a Service in `namespace`).
fn service_name(names: &[(String, String)], namespace: &str, service: &str) -> Option<String> {
    names.iter().find(|(id, _)| *id == format!("{namespace}/{service}")).map(|(_, n)| n.clone())
}

/// A field of an item as a `Val` from where it is.
fn val(t: &Tree, key: &str, text: String) -> Val {
    Val::new(text, Provenance::at(&t.at, format!("{key}: {}", t.text().unwrap_or(""))))
}

fn set(item: &mut Item, key: &str, v: Val) {
    item.set(key, v.item());
}

#[cfg(test)]
mod tests;
