//! `lbsim import`, end to end: each kind of input becomes a scenario that
//! `lbsim run` runs; unsupported input is a located warning (an error with
//! --strict); malformed input is a located error with exit status 2 and
//! nothing written.

use std::path::{Path, PathBuf};

use crate::common::{json, lbsim, scratch, stderr, write};

/// Imports `files` as `kind` into `dir/scenario.yaml`, checks it succeeded,
/// then runs the scenario and `lbsim check` on it (which may find things,
/// exit 0 or 1, but must read it: never exit 2; its rule ids are left in
/// `dir/check.txt` for [`findings`]), and returns (the scenario's text, the
/// import's stderr).
fn round_trip(dir: &Path, kind: &str, files: &[&Path], extra: &[&str]) -> (String, String) {
    let out = dir.join("scenario.yaml");
    let mut args = vec!["import", kind];
    let names: Vec<String> = files.iter().map(|f| f.to_str().unwrap().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    let o = lbsim(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "import failed: {err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let run_dir = dir.join("run");
    let o = lbsim(&["run", out.to_str().unwrap(), "--out", run_dir.to_str().unwrap(), "--quiet", "--no-charts"]);
    assert_eq!(o.status.code(), Some(0), "the imported scenario does not run: {}\n{text}", stderr(&o));
    let summary = json(&run_dir.join("summary.json"));
    assert!(summary["requests"]["generated"].as_u64().unwrap() > 0, "{summary}");
    let o = lbsim(&["check", out.to_str().unwrap(), "--format", "json"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "lbsim check cannot read the import: {}\n{text}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    std::fs::write(dir.join("check.txt"), ids.join("\n")).unwrap();
    (text, err)
}

/// The rule ids `lbsim check` found on the last round trip in `dir`, sorted.
fn findings(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> =
        std::fs::read_to_string(dir.join("check.txt")).unwrap().lines().map(String::from).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Runs an import that must fail with exit status 2, naming `place`, and
/// write nothing.
fn refused(dir: &Path, kind: &str, file: &Path, extra: &[&str], place: &str) -> String {
    let out = dir.join("refused.yaml");
    let mut args = vec!["import", kind, file.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(extra);
    let o = lbsim(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(place), "expected {place} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "a refused import wrote {}", out.display());
    err
}

const NGINX: &str = "\
events {}
http {
    upstream backend {
        least_conn;
        server 10.0.0.1:8080 weight=5 max_fails=3 fail_timeout=30s;
        server 10.0.0.2:8080;
        server 10.0.0.3:8080 down;
        server 10.0.0.9:8080 backup;
        sticky cookie srv_id expires=1h;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://backend;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 2;
            proxy_read_timeout 3s;
        }
    }
}
";

#[test]
fn nginx_round_trips_with_every_value_located() {
    let dir = scratch("import", "nginx");
    let conf = write(&dir, "nginx.conf", NGINX);
    let (text, err) = round_trip(&dir, "nginx", &[&conf], &["--rate", "300/s", "--service", "{exponential: 5ms}"]);
    // check sees the import as it is: weight=5 is 5 of 6 (the backup
    // waits), and 300/s on two servers of 200/s (one is `down`) has no N+1.
    assert_eq!(findings(&dir), ["BAL002", "CAP002", "SPF001"]);
    assert!(text.contains("algorithm: least_connections  # nginx.conf:4 least_conn"), "{text}");
    assert!(text.contains("10-0-0-1-8080: 5  # nginx.conf:5 weight=5"), "{text}");
    assert!(text.contains("10-0-0-3-8080: 0  # nginx.conf:7 down"), "{text}");
    assert!(text.contains("- 10-0-0-9-8080  # nginx.conf:8 backup"), "{text}");
    assert!(text.contains("attempts: 2  # nginx.conf:16 proxy_next_upstream_tries 2"), "{text}");
    assert!(text.contains("per_try_timeout: 3s  # nginx.conf:17 proxy_read_timeout 3s"), "{text}");
    assert!(text.contains("rate: 300/s  # from --rate"), "{text}");
    assert!(err.contains("warning: unsupported: `sticky cookie srv_id expires=1h` at "), "{err}");
    assert!(err.contains("nginx.conf:9:9"), "{err}");
    // The same import to stdout is the same text.
    let o = lbsim(&["import", "nginx", conf.to_str().unwrap(), "--rate", "300/s", "--service", "{exponential: 5ms}"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), text);
}

#[test]
fn strict_refuses_what_is_not_modelled() {
    let dir = scratch("import", "strict");
    let conf = write(&dir, "nginx.conf", NGINX);
    let err = refused(&dir, "nginx", &conf, &["--strict"], "nginx.conf:9:9");
    assert!(err.contains("--strict"), "{err}");
    let clean = write(&dir, "clean.conf", &NGINX.replace("        sticky cookie srv_id expires=1h;\n", ""));
    let o = lbsim(&["import", "nginx", clean.to_str().unwrap(), "--strict"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn malformed_nginx_is_a_located_error_and_nothing_is_written() {
    let dir = scratch("import", "nginx-bad");
    let conf =
        write(&dir, "nginx.conf", "http {\n    upstream backend {\n        server 10.0.0.1 weight=five;\n    }\n}\n");
    refused(&dir, "nginx", &conf, &[], "nginx.conf:3:25: `weight=` expects a whole number");
    let conf = write(&dir, "open.conf", "http {\n    upstream backend {\n        server 10.0.0.1;\n}\n");
    refused(&dir, "nginx", &conf, &[], "open.conf:1:6: the block of `http` is never closed");
    let missing: PathBuf = dir.join("missing.conf");
    let o = lbsim(&["import", "nginx", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    // A bad flag value is a usage error too.
    let conf = write(&dir, "ok.conf", "upstream u { server a:1; }\n");
    let o = lbsim(&["import", "nginx", conf.to_str().unwrap(), "--rate", "fast"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn an_overlay_supplies_what_configs_do_not_hold() {
    let dir = scratch("import", "overlay");
    let conf = write(&dir, "nginx.conf", NGINX);
    let overlay = write(
        &dir,
        "load.yaml",
        "duration: 1m\nclients:\n  backend: {rate: 200/s, timeout: 2s}\nservers:\n  10-0-0-1-8080: {workers: 4, service: {constant: 3ms}}\nslos:\n  - {objective: \"p99 < 1s\"}\n",
    );
    let (text, err) = round_trip(&dir, "nginx", &[&conf], &["--overlay", overlay.to_str().unwrap()]);
    assert!(text.contains("rate: 200/s  # overlay load.yaml:3"), "{text}");
    assert!(text.contains("service: {constant: 3ms}  # overlay load.yaml:5"), "{text}");
    assert!(text.contains("PLACEHOLDER"), "the other servers still need a service time: {text}");
    assert!(err.contains("placeholder: service time"), "{err}");
}

const HAPROXY: &str = "\
global
    maxconn 20000
defaults
    mode http
    retries 2
    timeout server 2s
    option redispatch
frontend www
    bind :80
    default_backend app
backend app
    balance roundrobin
    server web1 10.0.0.1:8080 weight 3 check inter 1s fall 2 rise 2
    server web2 10.0.0.2:8080 check inter 1s fall 2 rise 2
    server spare 10.0.0.9:8080 check inter 1s fall 2 rise 2 backup
    stick-table type ip size 1m expire 30m
";

#[test]
fn haproxy_round_trips_with_every_value_located() {
    let dir = scratch("import", "haproxy");
    let cfg = write(&dir, "haproxy.cfg", HAPROXY);
    let (text, err) = round_trip(
        &dir,
        "haproxy",
        &[&cfg],
        &["--rate", "app=200/s", "--service", "{exponential: 5ms}", "--workers", "4"],
    );
    assert!(text.contains("algorithm: round_robin  # haproxy.cfg:12 balance roundrobin"), "{text}");
    assert!(text.contains("web1: 3  # haproxy.cfg:13 weight 3"), "{text}");
    assert!(text.contains("- spare  # haproxy.cfg:15 backup"), "{text}");
    assert!(text.contains("interval: 1s  # haproxy.cfg:13 inter 1s"), "{text}");
    assert!(text.contains("attempts: 3  # haproxy.cfg:5 retries 2 (and the first try)"), "{text}");
    assert!(text.contains("workers: 4  # from --workers"), "{text}");
    assert!(err.contains("haproxy.cfg:16:5 (lbsim has no session persistence"), "{err}");
    assert!(err.contains("`maxconn 20000` at"), "{err}");
    // `retries 2` with no budget is retry amplification; weight 3 of 5 dominates.
    assert_eq!(findings(&dir), ["BAL002", "CLI001", "SPF001"]);
}

#[test]
fn malformed_haproxy_is_a_located_error_and_nothing_is_written() {
    let dir = scratch("import", "haproxy-bad");
    let cfg = write(&dir, "haproxy.cfg", "backend app\n    server web1 10.0.0.1:8080 weight heavy\n");
    refused(&dir, "haproxy", &cfg, &[], "haproxy.cfg:2:31: `weight` expects a whole number");
    let cfg = write(&dir, "quote.cfg", "backend app\n    server web1 \"10.0.0.1:8080\n");
    refused(&dir, "haproxy", &cfg, &[], "quote.cfg:2:17: this quoted string is not closed");
    refused(&dir, "haproxy", &write(&dir, "strict.cfg", HAPROXY), &["--strict"], "strict.cfg:16:5");
}

const ENVOY: &str = r#"static_resources:
  listeners:
  - name: ingress
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: shop
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route:
                  cluster: api
                  timeout: 2s
                  retry_policy: {retry_on: "5xx", num_retries: 2, per_try_timeout: 0.5s}
  clusters:
  - name: api
    lb_policy: LEAST_REQUEST
    health_checks:
    - {timeout: 1s, interval: 2s, unhealthy_threshold: 2, healthy_threshold: 1, tcp_health_check: {}}
    outlier_detection: {consecutive_5xx: 5}
    load_assignment:
      cluster_name: api
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 8080}}}
          load_balancing_weight: 2
        - endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 8080}}}
      - priority: 1
        lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.9.1, port_value: 8080}}}
    circuit_breakers: {thresholds: [{max_connections: 100}]}
"#;

#[test]
fn envoy_round_trips_with_every_value_located() {
    let dir = scratch("import", "envoy");
    let file = write(&dir, "envoy.yaml", ENVOY);
    let (text, err) = round_trip(&dir, "envoy", &[&file], &["--rate", "150/s", "--service", "{exponential: 5ms}"]);
    // load_balancing_weight 2 of the two priority-0 endpoints' 3.
    assert_eq!(findings(&dir), ["BAL002", "SPF001"]);
    assert!(text.contains("algorithm: power_of_two_choices  # envoy.yaml:21 lb_policy: LEAST_REQUEST"), "{text}");
    assert!(text.contains("10-0-0-1-8080: 2  # envoy.yaml:30 load_balancing_weight: 2"), "{text}");
    assert!(text.contains("- 10-0-9-1-8080  # envoy.yaml:32 priority: 1"), "{text}");
    assert!(text.contains("timeout: 2s  # envoy.yaml:17 timeout: 2s"), "{text}");
    assert!(text.contains("per_try_timeout: 500ms  # envoy.yaml:18 per_try_timeout: 0.5s"), "{text}");
    assert!(text.contains("budget: {ratio: 0%, min_concurrency: 3}  # Envoy default circuit breaker"), "{text}");
    assert!(err.contains("unsupported: `max_connections: 100` at "), "{err}");
}

#[test]
fn malformed_envoy_is_a_located_error_and_nothing_is_written() {
    let dir = scratch("import", "envoy-bad");
    let file = write(&dir, "envoy.yaml", &ENVOY.replace("lb_policy: LEAST_REQUEST", "lb_policy: LEAST_LOADED"));
    refused(&dir, "envoy", &file, &[], "envoy.yaml:21:16: unknown lb_policy `LEAST_LOADED`");
    let file = write(&dir, "broken.json", "{\"static_resources\": {\"clusters\": [}\n");
    refused(&dir, "envoy", &file, &[], "broken.json:1:");
}

const KUBERNETES: &str = "\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: shop, labels: {kubernetes.io/service-name: api}}
endpoints:
- {addresses: [10.1.0.11], conditions: {ready: true}, targetRef: {kind: Pod, name: api-a}}
- {addresses: [10.1.0.12], conditions: {ready: false}, targetRef: {kind: Pod, name: api-b}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, readinessProbe: {periodSeconds: 2, failureThreshold: 2}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: storefront, namespace: shop}
spec:
  rules:
  - backendRefs: [{name: web, weight: 3}, {name: api, weight: 1}]
    timeouts: {request: 2s}
";

#[test]
fn kubernetes_round_trips_with_every_value_located() {
    let dir = scratch("import", "kubernetes");
    let file = write(&dir, "shop.yaml", KUBERNETES);
    let (text, _) = round_trip(&dir, "kubernetes", &[&file], &["--rate", "100/s", "--service", "{exponential: 5ms}"]);
    // One ready pod of the Service's two.
    assert_eq!(findings(&dir), ["BAL001"]);
    assert!(text.contains("count: 3  # shop.yaml:22 Deployment web replicas: 3"), "{text}");
    assert!(text.contains("api-b: 0  # shop.yaml:11 not ready"), "{text}");
    assert!(text.contains("interval: 2s  # shop.yaml:27 periodSeconds: 2"), "{text}");
    assert!(text.contains("timeout: 2s  # shop.yaml:35 timeouts.request: 2s"), "{text}");
    assert!(text.contains("target: [web, api]"), "{text}");
}

#[test]
fn malformed_kubernetes_is_a_located_error_and_nothing_is_written() {
    let dir = scratch("import", "kubernetes-bad");
    let file = write(&dir, "shop.yaml", &KUBERNETES.replace("replicas: 3", "replicas: three"));
    refused(&dir, "kubernetes", &file, &[], "shop.yaml:22:13: `replicas` expects a whole number");
    let file = write(&dir, "nokind.yaml", "apiVersion: v1\nmetadata: {name: a}\n");
    refused(&dir, "kubernetes", &file, &[], "nokind.yaml:1:1: expected a Kubernetes object with `kind`");
}

const ROUTES: &str = r#"[
{"dst":"default","gateway":"10.0.0.1","dev":"eth0","protocol":"dhcp","metric":100,"flags":[]},
{"dst":"10.0.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.0.0.5","flags":[]},
{"type":"blackhole","dst":"10.66.0.0/16","flags":[]},
{"dst":"10.30.0.0/16","gateway":"10.0.0.1","table":"100"}
]"#;

#[test]
fn routes_round_trip_into_a_routers_table() {
    let dir = scratch("import", "routes");
    let file = write(&dir, "edge.json", ROUTES);
    let (text, err) = round_trip(&dir, "routes", &[&file], &["--router", "core"]);
    assert_eq!(findings(&dir), ["BAL001", "SPF001"]);
    assert!(text.contains("  routers:\n    core:  # edge.json:1 routing table\n"), "{text}");
    assert!(text.contains("- {prefix: 0.0.0.0/0, via: gw-10-0-0-1, metric: 100}  # edge.json:2 default via 10.0.0.1 dev eth0 metric 100"), "{text}");
    assert!(text.contains("- {prefix: 10.66.0.0/16, action: blackhole}  # edge.json:4"), "{text}");
    assert!(text.contains("PLACEHOLDER: the input has no balancer"), "{text}");
    assert!(err.contains("unsupported: `table 100` at"), "{err}");
}

#[test]
fn malformed_routes_are_a_located_error_and_nothing_is_written() {
    let dir = scratch("import", "routes-bad");
    let file = write(&dir, "edge.json", &ROUTES.replace("10.0.0.0/24", "10.0.0.0/33"));
    refused(&dir, "routes", &file, &[], "edge.json:3:8: `10.0.0.0/33` is not a destination");
}

const LOG_FORMAT: &str =
    "$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_response_time";

/// Two minutes of traffic, 10 then 20 requests a second, over two upstreams.
fn access_log() -> String {
    let mut out = String::new();
    for s in 0..120u64 {
        for i in 0..(if s < 60 { 10 } else { 20 }) {
            let (up, t) = if i % 2 == 0 { ("10.0.0.1:8080", 0.012) } else { ("10.0.0.2:8080", 0.020) };
            out.push_str(&format!(
                "10.9.0.{} [01/Jun/2024:14:{:02}:{:02} +0000] \"GET / HTTP/1.1\" 200 {t:.3} {up} {t:.3}\n",
                (s * 7 + i) % 200,
                s / 60,
                s % 60
            ));
        }
    }
    out
}

#[test]
fn an_access_log_round_trips_as_rates_users_and_service_times() {
    let dir = scratch("import", "access-log");
    let log = write(&dir, "access.log", &access_log());
    let (text, err) = round_trip(&dir, "access-log", &[&log], &["--format", LOG_FORMAT]);
    assert_eq!(findings(&dir), ["SPF001"]);
    assert!(text.contains("start: 2024-06-01T14:00:00Z"), "{text}");
    assert!(text.contains("rate: 600/1m  # 600 requests from 14:00:00 UTC"), "{text}");
    assert!(text.contains("- {at: 1m, rate: 1200/1m}"), "{text}");
    assert!(text.contains("service: {empirical: {file: scenario.service.csv, column: 10-0-0-2-8080, unit: ms}}  # 900 responses in the log: p50 20.0ms"), "{text}");
    assert!(dir.join("scenario.service.csv").exists());
    assert!(err.contains("Beside it: scenario.service.csv"), "{err}");
    let staged: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".lbsim-import"))
        .collect();
    assert!(staged.is_empty(), "staging left behind");
}

#[test]
fn an_nginx_upstream_and_its_log_replay_a_recorded_peak() {
    let dir = scratch("import", "nginx-replay");
    let conf = write(
        &dir,
        "nginx.conf",
        "upstream app { least_conn; server 10.0.0.1:8080; server 10.0.0.2:8080; }\nserver { location / { proxy_pass http://app; } }\n",
    );
    let log = write(&dir, "access.log", &access_log());
    let (text, _) = round_trip(
        &dir,
        "nginx",
        &[&conf],
        &["--access-log", log.to_str().unwrap(), "--format", LOG_FORMAT, "--replay"],
    );
    assert!(text.contains("replay:  # 1800 requests as"), "{text}");
    assert!(text.contains("file: scenario.trace.csv.gz"), "{text}");
    assert!(text.contains("algorithm: least_connections  # nginx.conf:1 least_conn"), "{text}");
    // The scale of the replay is a number a capacity search can move.
    let out = dir.join("scenario.yaml");
    let o = lbsim(&[
        "run",
        out.to_str().unwrap(),
        "--set",
        "clients.app.replay.scale=2",
        "--json",
        "--no-charts",
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["requests"]["generated"], 3600);
}

#[test]
fn a_log_that_does_not_match_its_format_is_refused() {
    let dir = scratch("import", "access-log-bad");
    let log = write(
        &dir,
        "access.log",
        "10.9.0.1 - - [01/Jun/2024:14:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\n",
    );
    refused(
        &dir,
        "access-log",
        &log,
        &["--format", LOG_FORMAT],
        "access.log:1:10: the line does not match the format: expected `[` after `$remote_addr`",
    );
    assert!(std::fs::read_dir(&dir).unwrap().flatten().all(|e| !e.file_name().to_string_lossy().starts_with(".lbsim")));
    let o = lbsim(&["import", "access-log", log.to_str().unwrap(), "--out", dir.join("x.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--format"), "{}", stderr(&o));
}

/// The README's worked example: the shipped scenario is what the import
/// makes of the shipped NGINX configuration and access log, byte for byte.
#[test]
fn the_shipped_shop_example_is_what_the_import_writes() {
    let dir = scratch("import", "shop-example");
    let out = dir.join("shop.yaml");
    let o = lbsim(&[
        "import",
        "nginx",
        "scenarios/import/shop-nginx.conf",
        "--access-log",
        "scenarios/import/shop-access.log.gz",
        "--format",
        LOG_FORMAT,
        "--workers",
        "1",
        "--service",
        "{lognormal: {mean: 24ms, p99: 100ms}}",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in ["shop.yaml", "shop.service.csv"] {
        let fresh = std::fs::read_to_string(dir.join(f)).unwrap();
        let shipped = std::fs::read_to_string(Path::new("scenarios/import").join(f)).unwrap();
        assert!(
            fresh == shipped,
            "scenarios/import/{f} is not what the import writes now: re-import it (see README.md)"
        );
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("rate: 599/1m  # 599 requests from 14:00:00 UTC"), "{text}");
    assert!(text.contains("- {at: 3m, rate: 1548/1m}  # 1548 requests from 14:03:00 UTC"), "{text}");
    assert!(text.contains("users: 506"), "{text}");
    assert!(text.contains("p50 30.0ms"), "the slower server's median: {text}");
}
