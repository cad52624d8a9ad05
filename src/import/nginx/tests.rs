//! The NGINX mapping, directive by directive, on configurations written for
//! the purpose.

use std::path::PathBuf;

use super::*;
use crate::import::testing::{self, balancer as lb};
use crate::import::{Options, Severity, assemble, doc::Node};

fn write(name: &str, text: &str) -> PathBuf {
    testing::write("nginx", name, "nginx.conf", text)
}

fn draft(name: &str, text: &str) -> Draft {
    import(&[write(name, text)]).unwrap()
}

fn field<'a>(b: &'a BalancerDraft, key: &str) -> Option<&'a str> {
    testing::text(&b.fields, &[key])
}

const SHOP: &str = "\
http {
    proxy_read_timeout 5s;
    upstream backend {
        least_conn;
        server 10.0.0.1:8080 weight=5 max_fails=3 fail_timeout=30s;
        server 10.0.0.2:8080;
        server 10.0.0.3:8080 down;
        server 10.0.0.9:8080 backup;
        server 10.0.0.4:8080 max_conns=100;
        keepalive 32;
        sticky cookie srv_id expires=1h;
    }
    upstream static { server 10.0.1.1; server 10.0.1.2; }
    server {
        listen 80;
        location /api/ {
            proxy_pass http://backend;
            proxy_next_upstream error timeout http_503;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
        }
        location /static/ {
            proxy_pass http://static/;
            proxy_next_upstream off;
        }
        gzip on;
    }
}
";

#[test]
fn servers_weights_backup_down_and_passive_health() {
    let d = draft("shop", SHOP);
    let b = lb(&d, "backend");
    assert_eq!(field(b, "algorithm"), Some("least_connections"));
    let names: Vec<&str> = b.backends.iter().map(|x| x.server.as_str()).collect();
    assert_eq!(names, ["10-0-0-1-8080", "10-0-0-2-8080", "10-0-0-3-8080", "10-0-0-9-8080", "10-0-0-4-8080"]);
    assert_eq!(b.backends[0].weight.as_ref().unwrap().text, "5");
    assert!(b.backends[1].weight.is_none());
    assert!(b.backends[2].out.is_some(), "down is out of rotation");
    assert!(b.backends[3].backup.is_some(), "backup is a backup");
    assert!(b.backends[0].backup.is_none());
    let od = b.fields.get("outlier_detection").unwrap();
    assert_eq!(od.get("consecutive_failures").unwrap().text(), Some("3"));
    assert_eq!(od.get("base_ejection_time").unwrap().text(), Some("30s"));
    assert_eq!(od.get("max_ejection_time").unwrap().text(), Some("30s"));
    assert_eq!(od.get("max_ejection_percent").unwrap().text(), Some("100%"));
    // Defaults: max_fails=1 fail_timeout=10s.
    let s = lb(&d, "static");
    assert_eq!(field(s, "algorithm"), Some("round_robin"));
    let od = s.fields.get("outlier_detection").unwrap();
    assert_eq!(od.get("consecutive_failures").unwrap().text(), Some("1"));
    assert_eq!(od.get("base_ejection_time").unwrap().text(), Some("10s"));
    assert!(od.get("consecutive_failures").unwrap().comment.as_deref().unwrap().contains("NGINX default"));
    // The servers exist once each, named after their addresses.
    assert_eq!(d.servers.len(), 7);
    assert!(d.server("10-0-1-1").unwrap().aliases.contains(&"10.0.1.1:80".to_string()));
}

#[test]
fn unsupported_and_ignored_directives_are_located() {
    let d = draft("shop2", SHOP);
    let f = &d.findings;
    let shown: Vec<String> = f.list.iter().map(|x| x.to_string()).collect();
    let find = |what: &str| f.list.iter().find(|x| x.what == what).unwrap_or_else(|| panic!("{what} in {shown:#?}"));
    let sticky = find("sticky cookie srv_id expires=1h");
    assert_eq!((sticky.severity, sticky.at.line, sticky.at.col), (Severity::Unsupported, 11, 9));
    assert!(sticky.at.file.ends_with("nginx.conf"));
    let max_conns = find("max_conns=100");
    assert_eq!((max_conns.at.line, max_conns.at.col), (9, 30));
    let connect = find("proxy_connect_timeout 2s");
    assert_eq!((connect.severity, connect.at.line), (Severity::Unsupported, 20));
    assert_eq!(f.unsupported_count(), 3, "{shown:#?}");
    let ignored: Vec<&str> = f.ignored.iter().map(|(n, _)| n.as_str()).collect();
    assert!(ignored.contains(&"keepalive") && ignored.contains(&"listen") && ignored.contains(&"gzip"), "{ignored:?}");
}

#[test]
fn next_upstream_and_timeouts_become_the_groups_retries() {
    let d = draft("shop3", SHOP);
    let c = d.clients.iter().find(|c| c.name == "backend").unwrap();
    assert_eq!(c.targets[0].0, "backend");
    let r = c.fields.get("retry").unwrap();
    assert_eq!(r.get("attempts").unwrap().text(), Some("3"));
    assert_eq!(r.get("per_try_timeout").unwrap().text(), Some("5s"), "inherited from http");
    let Node::Seq(on, _) = &r.get("on").unwrap().node else { panic!() };
    let on: Vec<&str> = on.iter().filter_map(Item::text).collect();
    assert_eq!(on, ["refused", "reset", "timeout", "server_error", "rejected"]);
    // `off`: a try bounded by the read timeout, no retries.
    let s = d.clients.iter().find(|c| c.name == "static").unwrap();
    let r = s.fields.get("retry").unwrap();
    assert_eq!(r.get("attempts").unwrap().text(), Some("1"));
    assert!(r.get("on").is_none());
}

#[test]
fn default_retries_try_every_server_once() {
    let d = draft(
        "defaults",
        "upstream app { server a:1; server b:1; server c:1; }\nserver { location / { proxy_pass http://app; } }\n",
    );
    let r = d.clients[0].fields.get("retry").unwrap();
    assert_eq!(r.get("attempts").unwrap().text(), Some("3"));
    assert_eq!(r.get("per_try_timeout").unwrap().text(), Some("60s"));
    let Node::Seq(on, _) = &r.get("on").unwrap().node else { panic!() };
    assert_eq!(on.iter().filter_map(Item::text).collect::<Vec<_>>(), ["refused", "reset", "timeout"]);
    // Names resolving to several addresses are flagged, not dropped.
    assert!(d.findings.list.iter().any(|f| f.what == "server a:1" && f.severity == Severity::Approximated));
}

#[test]
fn every_balancing_method_maps() {
    let cases = [
        ("", "round_robin", None),
        ("least_conn;", "least_connections", None),
        ("random;", "random", None),
        ("random two;", "power_of_two_choices", Some("2")),
        ("random two least_conn;", "power_of_two_choices", Some("2")),
        ("hash $remote_addr consistent;", "consistent_hash", None),
        ("hash $request_uri;", "consistent_hash", None),
        ("ip_hash;", "consistent_hash", None),
        ("least_time header;", "least_connections", None),
    ];
    for (i, (method, algorithm, choices)) in cases.iter().enumerate() {
        let d = draft(&format!("m{i}"), &format!("upstream u {{ {method} server 10.0.0.1; server 10.0.0.2; }}\n"));
        let b = lb(&d, "u");
        assert_eq!(field(b, "algorithm"), Some(*algorithm), "{method}");
        assert_eq!(field(b, "choices"), *choices, "{method}");
        let approximated = d.findings.list.iter().filter(|f| f.severity == Severity::Approximated).count();
        let expect = match *method {
            "hash $request_uri;" => 2,
            "ip_hash;" | "least_time header;" => 1,
            _ => 0,
        };
        assert_eq!(approximated, expect, "{method}: {:?}", d.findings.list);
    }
}

#[test]
fn a_pass_to_an_address_is_a_one_server_upstream() {
    let d = draft("implicit", "http { server { location / { proxy_pass http://127.0.0.1:9000/app; } } }\n");
    assert_eq!(d.balancers.len(), 1);
    assert_eq!(d.balancers[0].name, "127-0-0-1-9000");
    assert_eq!(d.balancers[0].backends[0].server, "127-0-0-1-9000");
    assert!(d.balancers[0].fields.get("outlier_detection").is_none(), "one server: never marked failed");
    let d = draft("variable", "server { location / { proxy_pass http://$host; } }\n");
    assert!(d.balancers.is_empty());
    assert_eq!(d.findings.unsupported_count(), 1);
}

#[test]
fn includes_are_followed_and_located_in_their_own_file() {
    let main = write("inc", "http {\n    include conf.d/*.conf;\n    include missing.conf;\n}\n");
    let dir = main.parent().unwrap().join("conf.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.conf"), "upstream app {\n    server 10.0.0.1 slow_start=30s;\n}\n").unwrap();
    let d = import(&[main]).unwrap();
    assert_eq!(d.balancers[0].name, "app");
    assert_eq!(d.files.len(), 2);
    let slow = d.findings.list.iter().find(|f| f.what == "slow_start=30s").unwrap();
    assert!(slow.at.file.ends_with("conf.d/app.conf") && slow.at.line == 2, "{slow}");
    assert!(d.findings.list.iter().any(|f| f.what == "include missing.conf"));
}

#[test]
fn malformed_values_are_located_errors() {
    let bad = |name: &str, text: &str| import(&[write(name, text)]).unwrap_err();
    let e = bad("w", "upstream u {\n  server a weight=x;\n}\n");
    assert!(e.to_string().ends_with("nginx.conf:2:12: `weight=` expects a whole number, 1 or more, not `x`"), "{e}");
    assert_eq!(e.exit_code(), 2);
    let e = bad("ft", "upstream u { server a fail_timeout=soon; }\n");
    assert!(e.to_string().contains("fail_timeout"), "{e}");
    let e = bad("empty", "upstream u {\n}\n");
    assert!(e.to_string().ends_with("nginx.conf:1:1: upstream `u` has no `server`"), "{e}");
    let e = bad("syntax", "http {\n  upstream u { server a }\n}\n");
    assert!(e.to_string().ends_with("nginx.conf:2:24: expected `;` to end the directive `server`"), "{e}");
}

#[test]
fn crossplane_json_is_read_as_the_same_tree() {
    let json = r#"{"status": "ok", "errors": [], "config": [
        {"file": "/etc/nginx/nginx.conf", "status": "ok", "errors": [], "parsed": [
            {"directive": "http", "line": 1, "args": [], "block": [
                {"directive": "include", "line": 2, "args": ["up.conf"], "includes": [1]}
            ]}
        ]},
        {"file": "/etc/nginx/up.conf", "status": "ok", "errors": [], "parsed": [
            {"directive": "upstream", "line": 1, "args": ["app"], "block": [
                {"directive": "server", "line": 2, "args": ["10.0.0.1", "weight=2"]},
                {"directive": "server", "line": 3, "args": ["10.0.0.2", "backup"]}
            ]}
        ]}
    ]}"#;
    let d = draft("crossplane", json);
    let b = lb(&d, "app");
    assert_eq!(b.backends[0].weight.as_ref().unwrap().text, "2");
    assert!(b.backends[1].backup.is_some());
    assert_eq!(b.backends[0].from.comment().unwrap(), "up.conf:2 server 10.0.0.1 weight=2");
}

#[test]
fn the_assembled_scenario_compiles() {
    let d = draft("compiles", SHOP);
    let a = assemble(d, &Options::default()).unwrap();
    crate::import::validate(&a.text, std::path::Path::new("/tmp/nginx-shop.yaml")).unwrap();
    assert!(a.text.contains("    backup:\n      - 10-0-0-9-8080  # nginx.conf:8 backup\n"), "{}", a.text);
    assert!(a.text.contains("      10-0-0-3-8080: 0  # nginx.conf:7 down"), "{}", a.text);
}
