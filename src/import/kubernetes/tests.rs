//! The Kubernetes mapping on manifests written for the purpose.

use std::path::PathBuf;

use super::*;
use crate::import::testing::{self, balancer as lb, text};
use crate::import::{Options, Severity, assemble};

fn write(name: &str, file: &str, text: &str) -> PathBuf {
    testing::write("k8s", name, file, text)
}

fn draft(name: &str, text: &str) -> Draft {
    import(&[write(name, "k8s.yaml", text)]).unwrap()
}

const SHOP: &str = "\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-abc12
  namespace: shop
  labels: {kubernetes.io/service-name: api}
addressType: IPv4
endpoints:
- addresses: [10.1.0.11]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: api-7d9f-x1}
- addresses: [10.1.0.12]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: api-7d9f-x2}
- addresses: [10.1.0.13]
  conditions: {ready: false}
  targetRef: {kind: Pod, name: api-7d9f-x3}
ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers:
      - name: api
        image: shop/api:1.2
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          periodSeconds: 5
          failureThreshold: 2
        livenessProbe:
          httpGet: {path: /live, port: 8080}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  externalTrafficPolicy: Local
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: shop/web}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: storefront, namespace: shop}
spec:
  rules:
  - backendRefs:
    - {name: web, port: 80, weight: 90}
    - {name: api, port: 80, weight: 10}
    timeouts: {request: 5s, backendRequest: 1s}
    retry: {attempts: 2, backoff: 100ms, codes: [503, 418]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: admin
  namespace: shop
  annotations: {nginx.ingress.kubernetes.io/affinity: cookie}
spec:
  rules:
  - http:
      paths:
      - {path: /admin, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec: {minReplicas: 3, maxReplicas: 10}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: b}
";

#[test]
fn endpoint_slices_give_pods_and_readiness() {
    let d = draft("slices", SHOP);
    let api = lb(&d, "api");
    assert_eq!(text(&api.fields, &["algorithm"]), Some("random"));
    let names: Vec<&str> = api.backends.iter().map(|b| b.server.as_str()).collect();
    assert_eq!(names, ["api-7d9f-x1", "api-7d9f-x2", "api-7d9f-x3"]);
    assert!(api.backends[0].out.is_none());
    assert!(api.backends[2].out.is_some(), "not ready is out of rotation");
    assert!(d.server("api-7d9f-x1").unwrap().aliases.contains(&"10.1.0.11".to_string()));
    // The readiness probe is the health check.
    assert_eq!(text(&api.fields, &["health_check", "interval"]), Some("5s"));
    assert_eq!(text(&api.fields, &["health_check", "unhealthy_threshold"]), Some("2"));
    assert_eq!(text(&api.fields, &["health_check", "healthy_threshold"]), Some("1"));
    assert_eq!(text(&api.fields, &["health_check", "timeout"]), Some("1s"));
}

#[test]
fn a_deployment_without_endpoints_gives_a_counted_group() {
    let d = draft("deployment", SHOP);
    let web = lb(&d, "web");
    assert_eq!(web.backends.len(), 1);
    let group = d.server(&web.backends[0].server).unwrap();
    assert_eq!(text(&group.fields, &["count"]), Some("4"));
    assert_eq!(text(&web.fields, &["algorithm"]), Some("consistent_hash"), "sessionAffinity: ClientIP");
}

#[test]
fn routes_and_ingresses_give_client_groups() {
    let d = draft("routes", SHOP);
    let route = d.clients.iter().find(|c| c.name == "storefront").unwrap();
    assert_eq!(route.targets.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["web", "api"]);
    assert_eq!(route.targets[0].1.as_ref().unwrap().text, "90");
    assert_eq!(text(&route.fields, &["timeout"]), Some("5s"));
    assert_eq!(text(&route.fields, &["retry", "attempts"]), Some("3"));
    assert_eq!(text(&route.fields, &["retry", "per_try_timeout"]), Some("1s"));
    assert_eq!(text(&route.fields, &["retry", "backoff", "base"]), Some("100ms"));
    let ingress = d.clients.iter().find(|c| c.from.comment().unwrap_or_default().contains("Ingress")).unwrap();
    assert_eq!(ingress.targets[0].0, "api");
}

#[test]
fn what_is_not_modelled_is_located() {
    let d = draft("findings", SHOP);
    let find = |what: &str| {
        d.findings.list.iter().find(|f| f.what == what).unwrap_or_else(|| panic!("{what}: {:#?}", d.findings.list))
    };
    assert_eq!(find("externalTrafficPolicy: Local").at.line, 52);
    assert_eq!(find("livenessProbe").severity, Severity::Unsupported);
    assert_eq!(find("HorizontalPodAutoscaler api").severity, Severity::Unsupported);
    assert_eq!(find("retry code 418").severity, Severity::Unsupported);
    assert_eq!(find("nginx.ingress.kubernetes.io/affinity: cookie").severity, Severity::Unsupported);
    assert_eq!(find("sessionAffinity: ClientIP").severity, Severity::Approximated);
    assert!(d.findings.ignored.iter().any(|(k, _)| k == "ConfigMap"));
}

#[test]
fn a_kubectl_list_in_json_is_read() {
    let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}, "spec": {"selector": {"app": "db"}}},
      {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "db"},
       "subsets": [{"addresses": [{"ip": "10.2.0.1"}], "notReadyAddresses": [{"ip": "10.2.0.2"}]}]}]}"#;
    let d = import(&[write("list", "list.json", json)]).unwrap();
    let db = lb(&d, "db");
    assert_eq!(db.backends.len(), 2);
    assert!(db.backends[1].out.is_some());
    assert_eq!(d.clients.len(), 1, "in-cluster clients");
}

#[test]
fn malformed_manifests_are_located_errors() {
    let bad = |name: &str, text: &str| import(&[write(name, "k8s.yaml", text)]).unwrap_err();
    let e = bad("kind", "apiVersion: v1\nmetadata: {name: x}\n");
    assert!(
        e.to_string().ends_with("k8s.yaml:1:1: expected a Kubernetes object with `kind` (or a `kind: List`)"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
    let e = bad(
        "replicas",
        "kind: Service\nmetadata: {name: a}\nspec: {selector: {app: a}}\n---\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: many\n  template: {metadata: {labels: {app: a}}}\n",
    );
    assert!(e.to_string().ends_with("k8s.yaml:8:13: `replicas` expects a whole number"), "{e}");
    let e = bad("yaml", "kind: Service\nmetadata: {name: a\n");
    assert!(e.to_string().contains("not valid YAML"), "{e}");
}

#[test]
fn the_assembled_scenario_compiles() {
    let a = assemble(draft("compiles", SHOP), &Options::default()).unwrap();
    crate::import::validate(&a.text, std::path::Path::new("/tmp/k8s.yaml")).unwrap();
    assert!(a.text.contains("count: 4  # k8s.yaml:58 Deployment web replicas: 4"), "{}", a.text);
}
