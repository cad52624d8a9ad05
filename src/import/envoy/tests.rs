//! The Envoy mapping, field by field, on a bootstrap and a config dump
//! written for the purpose.

use std::path::PathBuf;

use super::*;
use crate::import::testing::{self, balancer as lb, text};
use crate::import::{Options, Severity, assemble};

fn write(name: &str, file: &str, text: &str) -> PathBuf {
    testing::write("envoy", name, file, text)
}

fn draft(name: &str, text: &str) -> Draft {
    import(&[write(name, "envoy.yaml", text)]).unwrap()
}

pub(super) const BOOTSTRAP: &str = r#"admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 9901}}
static_resources:
  listeners:
  - name: ingress
    address: {socket_address: {address: 0.0.0.0, port_value: 8080}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            name: local
            virtual_hosts:
            - name: shop
              domains: ["*"]
              routes:
              - match: {prefix: "/api"}
                route:
                  cluster: api
                  timeout: 3s
                  retry_policy:
                    retry_on: 5xx,connect-failure
                    num_retries: 2
                    per_try_timeout: 1s
                    retry_back_off: {base_interval: 0.05s, max_interval: 0.5s}
              - match: {prefix: "/"}
                route:
                  weighted_clusters:
                    clusters:
                    - {name: web, weight: 90}
                    - {name: canary, weight: 10}
  clusters:
  - name: api
    connect_timeout: 0.25s
    type: STATIC
    lb_policy: LEAST_REQUEST
    least_request_lb_config: {choice_count: 3}
    common_lb_config:
      healthy_panic_threshold: {value: 30}
    health_checks:
    - timeout: 1s
      interval: 5s
      interval_jitter_percent: 10
      unhealthy_threshold: 3
      healthy_threshold: 2
      http_health_check: {path: /healthz}
    outlier_detection:
      consecutive_5xx: 7
      base_ejection_time: 20s
      max_ejection_percent: 50
      enforcing_success_rate: 0
    circuit_breakers:
      thresholds:
      - priority: DEFAULT
        max_requests: 500
        retry_budget: {budget_percent: {value: 25}, min_retry_concurrency: 5}
    load_assignment:
      cluster_name: api
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 8080}}}
          load_balancing_weight: 4
        - endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 8080}}}
          health_status: DRAINING
      - priority: 1
        lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.9.1, port_value: 8080}}}
  - name: web
    lb_policy: MAGLEV
    load_assignment:
      cluster_name: web
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.1.1, port_value: 80}}}
        - endpoint: {address: {socket_address: {address: 10.0.1.2, port_value: 80}}}
  - name: canary
    lb_policy: RANDOM
    lb_subset_config: {fallback_policy: ANY_ENDPOINT}
    load_assignment:
      cluster_name: canary
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.2.1, port_value: 80}}}
"#;

#[test]
fn clusters_endpoints_priorities_and_policies() {
    let d = draft("boot", BOOTSTRAP);
    let api = lb(&d, "api");
    assert_eq!(text(&api.fields, &["algorithm"]), Some("power_of_two_choices"));
    assert_eq!(text(&api.fields, &["choices"]), Some("3"));
    assert_eq!(text(&api.fields, &["panic_threshold"]), Some("30%"));
    let names: Vec<&str> = api.backends.iter().map(|b| b.server.as_str()).collect();
    assert_eq!(names, ["10-0-0-1-8080", "10-0-0-2-8080", "10-0-9-1-8080"]);
    assert_eq!(api.backends[0].weight.as_ref().unwrap().text, "4");
    assert!(api.backends[1].out.is_some(), "DRAINING is out of rotation");
    assert!(api.backends[2].backup.is_some(), "priority 1 is the backup tier");
    assert_eq!(text(&lb(&d, "web").fields, &["algorithm"]), Some("consistent_hash"));
    assert_eq!(text(&lb(&d, "canary").fields, &["algorithm"]), Some("random"));
}

#[test]
fn health_checks_and_outlier_detection() {
    let d = draft("health", BOOTSTRAP);
    let api = lb(&d, "api");
    assert_eq!(text(&api.fields, &["health_check", "interval"]), Some("5s"));
    assert_eq!(text(&api.fields, &["health_check", "timeout"]), Some("1s"));
    assert_eq!(text(&api.fields, &["health_check", "unhealthy_threshold"]), Some("3"));
    assert_eq!(text(&api.fields, &["health_check", "healthy_threshold"]), Some("2"));
    assert_eq!(text(&api.fields, &["health_check", "jitter"]), Some("10%"));
    assert_eq!(text(&api.fields, &["outlier_detection", "consecutive_failures"]), Some("7"));
    assert_eq!(text(&api.fields, &["outlier_detection", "base_ejection_time"]), Some("20s"));
    assert_eq!(text(&api.fields, &["outlier_detection", "max_ejection_percent"]), Some("50%"));
}

#[test]
fn routes_give_retries_budgets_and_timeouts() {
    let d = draft("routes", BOOTSTRAP);
    let api = d.clients.iter().find(|c| c.name == "api").unwrap();
    assert_eq!(text(&api.fields, &["timeout"]), Some("3s"));
    let r = api.fields.get("retry").unwrap();
    assert_eq!(text(r, &["attempts"]), Some("3"));
    assert_eq!(text(r, &["per_try_timeout"]), Some("1s"));
    assert_eq!(text(r, &["backoff", "base"]), Some("50ms"));
    assert_eq!(text(r, &["backoff", "max"]), Some("500ms"));
    assert_eq!(text(r, &["budget", "ratio"]), Some("25%"));
    assert_eq!(text(r, &["budget", "min_concurrency"]), Some("5"));
    let Node::Seq(on, _) = &r.get("on").unwrap().node else { panic!() };
    assert_eq!(
        on.iter().filter_map(Item::text).collect::<Vec<_>>(),
        ["server_error", "rejected", "reset", "refused", "timeout"]
    );
    // weighted_clusters: one group over both clusters, by weight.
    let split = d.clients.iter().find(|c| c.targets.len() == 2).unwrap();
    assert_eq!(split.name, "shop");
    assert_eq!(split.targets[0].0, "web");
    assert_eq!(split.targets[1].1.as_ref().unwrap().text, "10");
    assert_eq!(text(&split.fields, &["timeout"]), Some("15s"), "Envoy's default route timeout");
}

#[test]
fn what_is_not_modelled_is_located() {
    let d = draft("findings", BOOTSTRAP);
    let find = |what: &str| {
        d.findings.list.iter().find(|f| f.what == what).unwrap_or_else(|| panic!("{what}: {:#?}", d.findings.list))
    };
    assert_eq!(
        (find("connect_timeout: 0.25s").at.line, find("connect_timeout: 0.25s").severity),
        (36, Severity::Unsupported)
    );
    assert_eq!(find("max_requests: 500").at.line, 57);
    assert_eq!(find("cluster lb_subset_config").at.line, 80);
    assert_eq!(find("lb_policy: MAGLEV").severity, Severity::Approximated);
    assert_eq!(find("priorities 1").severity, Severity::Approximated);
    assert_eq!(find("weighted_clusters").severity, Severity::Approximated);
    assert!(!d.findings.list.iter().any(|f| f.what.contains("success rate")), "enforcing_success_rate: 0");
}

#[test]
fn a_config_dump_with_eds_replaces_the_load_assignment() {
    let dump = r#"{"configs": [
  {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
   "dynamic_active_clusters": [{"version_info": "1", "cluster": {
      "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
      "name": "app", "type": "EDS", "lb_policy": "RING_HASH",
      "eds_cluster_config": {"eds_config": {"ads": {}}},
      "outlier_detection": {"consecutive_5xx": 3, "interval": {"seconds": "5"}}}}]},
  {"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
   "dynamic_endpoint_configs": [{"endpoint_config": {
      "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
      "cluster_name": "app",
      "endpoints": [{"locality": {"zone": "a"}, "lb_endpoints": [
        {"endpoint": {"address": {"socket_address": {"address": "10.1.0.1", "port_value": 80}}}, "health_status": "HEALTHY", "load_balancing_weight": 2},
        {"endpoint": {"address": {"socket_address": {"address": "10.1.0.2", "port_value": 80}}}, "health_status": "UNHEALTHY"}]}]}}]}
]}"#;
    let d = import(&[write("dump", "config_dump.json", dump)]).unwrap();
    let app = lb(&d, "app");
    assert_eq!(text(&app.fields, &["algorithm"]), Some("consistent_hash"));
    assert_eq!(app.backends.len(), 2);
    assert_eq!(app.backends[0].weight.as_ref().unwrap().text, "2");
    assert!(app.backends[1].out.is_some());
    assert_eq!(text(&app.fields, &["outlier_detection", "interval"]), Some("5s"));
    assert_eq!(text(&app.fields, &["panic_threshold"]), Some("50%"), "Envoy's default panic threshold");
    assert!(app.backends[0].from.comment().unwrap().contains("(EDS)"));
}

#[test]
fn malformed_configurations_are_located_errors() {
    let bad = |name: &str, text: &str| import(&[write(name, "envoy.yaml", text)]).unwrap_err();
    let e = bad("yaml", "static_resources:\n  clusters: [\n");
    assert!(e.to_string().contains("envoy.yaml:") && e.to_string().contains("not valid YAML"), "{e}");
    assert_eq!(e.exit_code(), 2);
    let e = bad("policy", "static_resources:\n  clusters:\n  - name: a\n    lb_policy: FASTEST\n");
    assert!(e.to_string().ends_with("envoy.yaml:4:16: unknown lb_policy `FASTEST`: expected ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV"), "{e}");
    let e = bad(
        "duration",
        "static_resources:\n  clusters:\n  - name: a\n    outlier_detection: {base_ejection_time: 30 seconds}\n",
    );
    assert!(e.to_string().contains("envoy.yaml:4:45: `30 seconds` is not a duration"), "{e}");
    let e = bad(
        "hc",
        "static_resources:\n  clusters:\n  - name: a\n    health_checks:\n    - {interval: 5s}\n    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: a, port_value: 1}}}}]}]}\n",
    );
    assert!(e.to_string().contains("envoy.yaml:5:7: a health check needs `timeout`"), "{e}");
    let e = bad("none", "node: {id: x}\n");
    assert!(e.to_string().contains("no Envoy cluster found"), "{e}");
}

#[test]
fn the_assembled_scenario_compiles() {
    let a = assemble(draft("compiles", BOOTSTRAP), &Options::default()).unwrap();
    crate::import::validate(&a.text, std::path::Path::new("/tmp/envoy.yaml")).unwrap();
    assert!(a.text.contains("target_weights:"), "{}", a.text);
}
