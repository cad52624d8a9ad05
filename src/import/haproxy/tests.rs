//! The HAProxy mapping, keyword by keyword, on configurations written for
//! the purpose.

use std::path::PathBuf;

use super::*;
use crate::import::testing::{self, balancer as lb, text};
use crate::import::{Options, Severity, assemble};

fn write(name: &str, text: &str) -> PathBuf {
    testing::write("haproxy", name, "haproxy.cfg", text)
}

fn draft(name: &str, text: &str) -> Draft {
    import(&[write(name, text)]).unwrap()
}

const SHOP: &str = "\
global
    maxconn 20000
    spread-checks 5
    log stdout local0

defaults
    mode http
    retries 2
    timeout connect 5s
    timeout server 30s
    timeout client 30s
    option redispatch

frontend www
    bind :80
    default_backend app

backend app
    balance leastconn
    default-server inter 3s fall 2 rise 4
    server web1 10.0.0.1:8080 weight 5 check maxconn 100
    server web2 10.0.0.2:8080 check
    server web3 10.0.0.3:8080 check disabled
    server spare 10.0.0.9:8080 check backup
    cookie SRV insert indirect
    retry-on conn-failure 503

listen static
    bind :8081
    balance first
    server s1 10.0.1.1:80 maxconn 50
    server s2 10.0.1.2:80 maxconn 50
    no option redispatch
";

#[test]
fn servers_weights_backup_disabled_and_checks() {
    let d = draft("shop", SHOP);
    let b = lb(&d, "app");
    assert_eq!(text(&b.fields, &["algorithm"]), Some("least_connections"));
    let names: Vec<&str> = b.backends.iter().map(|x| x.server.as_str()).collect();
    assert_eq!(names, ["web1", "web2", "web3", "spare"]);
    assert_eq!(b.backends[0].weight.as_ref().unwrap().text, "5");
    assert!(b.backends[2].out.is_some(), "disabled is out of rotation");
    assert!(b.backends[3].backup.is_some(), "backup is a backup");
    assert_eq!(text(&b.fields, &["health_check", "interval"]), Some("3s"));
    assert_eq!(text(&b.fields, &["health_check", "unhealthy_threshold"]), Some("2"));
    assert_eq!(text(&b.fields, &["health_check", "healthy_threshold"]), Some("4"));
    assert_eq!(text(&b.fields, &["health_check", "timeout"]), Some("3s"));
    assert_eq!(text(&b.fields, &["health_check", "jitter"]), Some("5%"));
    assert!(d.server("web1").unwrap().aliases.contains(&"app/web1".to_string()));
    // balance first: maxconn is its slot count.
    let s = lb(&d, "static");
    assert_eq!(text(&s.fields, &["algorithm"]), Some("first"));
    assert_eq!(text(&s.fields, &["max_conn"]), Some("50"));
    assert!(s.fields.get("health_check").is_none());
}

#[test]
fn retries_redispatch_and_timeouts_become_the_groups_retries() {
    let d = draft("retries", SHOP);
    let c = d.clients.iter().find(|c| c.name == "app").unwrap();
    assert!(c.from.comment().unwrap().contains("default_backend app"));
    let r = c.fields.get("retry").unwrap();
    assert_eq!(text(r, &["attempts"]), Some("3"), "retries 2 from defaults, plus the first try");
    assert_eq!(text(r, &["per_try_timeout"]), Some("30s"));
    assert_eq!(text(r, &["backoff", "base"]), Some("1us"), "redispatch: at once, elsewhere");
    let Node::Seq(on, _) = &r.get("on").unwrap().node else { panic!() };
    assert_eq!(on.iter().filter_map(Item::text).collect::<Vec<_>>(), ["refused", "server_error", "rejected"]);
    // `no option redispatch`: HAProxy waits min(timeout connect, 1s) and
    // retries the same server, which lbsim cannot pin (approximated).
    let s = d.clients.iter().find(|c| c.name == "static").unwrap();
    let r = s.fields.get("retry").unwrap();
    assert_eq!(text(r, &["backoff", "base"]), Some("1s"));
    assert!(d.findings.list.iter().any(|f| f.what == "listen static" && f.why.contains("redispatch")));
}

#[test]
fn unsupported_keywords_are_located() {
    let d = draft("unsupported", SHOP);
    let find = |what: &str| {
        d.findings.list.iter().find(|f| f.what == what).unwrap_or_else(|| panic!("{what}: {:#?}", d.findings.list))
    };
    let cookie = find("cookie SRV insert indirect");
    assert_eq!((cookie.severity, cookie.at.line, cookie.at.col), (Severity::Unsupported, 25, 5));
    assert_eq!(find("maxconn 20000").at.line, 2);
    assert_eq!(find("maxconn 100").severity, Severity::Unsupported);
    assert_eq!(find("timeout connect 5s").at.line, 9);
    let ignored: Vec<&str> = d.findings.ignored.iter().map(|(n, _)| n.as_str()).collect();
    assert!(ignored.contains(&"mode") && ignored.contains(&"bind") && ignored.contains(&"global log"), "{ignored:?}");
}

#[test]
fn every_balance_algorithm_maps() {
    let cases = [
        ("balance roundrobin", "round_robin", None, 0),
        ("balance static-rr", "round_robin", None, 0),
        ("balance leastconn", "least_connections", None, 0),
        ("balance first", "first", None, 0),
        ("balance source\n    hash-type consistent", "consistent_hash", None, 0),
        ("balance source", "consistent_hash", None, 1),
        ("balance uri\n    hash-type consistent", "consistent_hash", None, 1),
        ("balance random", "power_of_two_choices", Some("2"), 0),
        ("balance random(3)", "power_of_two_choices", Some("3"), 0),
        ("balance random(1)", "random", None, 0),
        ("", "round_robin", None, 0),
    ];
    for (i, (balance, algorithm, choices, approximated)) in cases.iter().enumerate() {
        let cfg = format!(
            "backend b\n    {balance}\n    server a 10.0.0.1:80\n    server c 10.0.0.2:80\n    option redispatch\n"
        );
        let d = draft(&format!("bal{i}"), &cfg);
        let b = lb(&d, "b");
        assert_eq!(text(&b.fields, &["algorithm"]), Some(*algorithm), "{balance}");
        assert_eq!(text(&b.fields, &["choices"]), *choices, "{balance}");
        let n = d.findings.list.iter().filter(|f| f.severity == Severity::Approximated).count();
        assert_eq!(n, *approximated, "{balance}: {:#?}", d.findings.list);
    }
}

#[test]
fn named_defaults_and_server_templates() {
    let d = draft(
        "named",
        "defaults fast\n    retries 5\n    timeout server 2s\ndefaults slow\n    retries 1\nbackend b from fast\n    server-template web 1-3 app.internal:80 check\n",
    );
    let b = lb(&d, "b");
    assert_eq!(b.backends.iter().map(|x| x.server.as_str()).collect::<Vec<_>>(), ["web1", "web2", "web3"]);
    let r = d.clients[0].fields.get("retry").unwrap();
    assert_eq!(text(r, &["attempts"]), Some("6"));
    assert_eq!(text(r, &["per_try_timeout"]), Some("2s"));
}

#[test]
fn malformed_configurations_are_located_errors() {
    let bad = |name: &str, text: &str| import(&[write(name, text)]).unwrap_err();
    let e = bad("weight", "backend b\n    server a 10.0.0.1:80 weight heavy\n");
    assert!(
        e.to_string().ends_with("haproxy.cfg:2:26: `weight` expects a whole number from 0 to 256, not `heavy`"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
    let e = bad("noaddr", "backend b\n    server a\n");
    assert!(
        e.to_string()
            .ends_with("haproxy.cfg:2:5: `server` expects a name and an address: `server web1 10.0.0.1:8080 check`"),
        "{e}"
    );
    let e = bad("time", "defaults\n    timeout server soon\n");
    assert!(e.to_string().ends_with("haproxy.cfg:2:20: `soon` is not a time: expected like 30s or 500ms"), "{e}");
    let e = bad("from", "backend b from nowhere\n    server a 10.0.0.1:80\n");
    assert!(e.to_string().ends_with("haproxy.cfg:1:16: no `defaults nowhere` section above this one"), "{e}");
    let e = bad("outside", "    server a 10.0.0.1:80\n");
    assert!(e.to_string().ends_with("haproxy.cfg:1:5: `server` is outside any section"), "{e}");
}

#[test]
fn the_assembled_scenario_compiles() {
    let a = assemble(draft("compiles", SHOP), &Options::default()).unwrap();
    crate::import::validate(&a.text, std::path::Path::new("/tmp/haproxy-shop.yaml")).unwrap();
    assert!(a.text.contains("    backup:\n      - spare  # haproxy.cfg:24 backup\n"), "{}", a.text);
}
