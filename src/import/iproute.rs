//! `lbsim import routes`: a Linux routing table (`ip -j route`, `ip -j -6
//! route`, `ip -j route show table all`) as a router's table under
//! `network.routers`. A route through a gateway goes `via` a neighbour
//! router of that address; a directly connected prefix (`dev` only) goes
//! `via` a switch standing for the device's segment; `blackhole` is
//! `action: blackhole`, `unreachable` and `prohibit` are `action: reject`.
//! Each file is one router (named after the file, or `--router`).
//!
//! The mapping, field by field, is in docs/import.md.

use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::doc::Item;
use super::tree::{self, Tree};
use super::{Draft, Provenance, SourceFile, entity_name};
use crate::error::Error;

/// Reads routing tables into a draft's `network:` section.
pub(crate) fn import(paths: &[PathBuf], router: Option<&str>) -> Result<Draft, Error> {
    if router.is_some() && paths.len() > 1 {
        return Err(Error::Usage(
            "--router names the router of one file; with several, each is named after its file".into(),
        ));
    }
    let mut draft = Draft::new("routes");
    let mut network = Item::map(None);
    for path in paths {
        let file = SourceFile::read(path)?;
        draft.files.push(file.name.to_string());
        let name = entity_name(router.unwrap_or_else(|| stem(path)));
        let docs = tree::parse_documents(&file)?;
        let Some(list) = docs.first().filter(|d| d.is_seq()) else {
            let at = docs.first().map_or(0, |d| d.at.offset);
            return Err(file.error_at(
                at,
                "expected the JSON list `ip -j route` prints",
                Some("ip -j route > routes.json".into()),
            ));
        };
        table(&name, list, &mut network, &mut draft)?;
    }
    draft.network = Some(network);
    Ok(draft)
}

fn stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("router")
}

/// One router's table, and the neighbours and links its routes need.
fn table(router: &str, list: &Tree, network: &mut Item, draft: &mut Draft) -> Result<(), Error> {
    network.child("routers").child(router);
    let mut routes = Vec::new();
    let mut links: Vec<(String, Item)> = Vec::new();
    for r in list.items() {
        if let Some(entry) = route(router, r, network, &mut links, draft)? {
            routes.push(entry);
        }
    }
    let node = network.child("routers").child(router);
    node.comment = Some(format!("{} routing table", list.at.short()));
    node.set("routes", Item::seq(routes, None));
    let link_list = match network.get_mut("links") {
        Some(l) => l,
        None => {
            network.set("links", Item::seq(Vec::new(), None));
            network.get_mut("links").expect("just set")
        }
    };
    if let super::doc::Node::Seq(items, _) = &mut link_list.node {
        for (_, link) in links {
            items.push(link);
        }
    }
    Ok(())
}

fn route(
    router: &str,
    r: &Tree,
    network: &mut Item,
    links: &mut Vec<(String, Item)>,
    draft: &mut Draft,
) -> Result<Option<Item>, Error> {
    let text = |k: &str| r.get(k).and_then(Tree::text);
    let Some(dst_tree) = r.get("dst") else {
        return Err(super::error_at(&r.at, "a route needs a `dst`"));
    };
    let kind = text("type").unwrap_or("unicast");
    if let Some(t) = r.get("table").filter(|t| t.text() != Some("main")) {
        match t.text() {
            Some("local") => draft.findings.ignore("local table entry", &r.at),
            _ => draft.findings.unsupported(
                &t.at,
                format!("table {}", t.text().unwrap_or("")),
                "only the main table is modelled, not policy routing",
            ),
        }
        return Ok(None);
    }
    if matches!(kind, "local" | "broadcast" | "multicast" | "anycast") {
        draft.findings.ignore(format!("{kind} route"), &r.at);
        return Ok(None);
    }
    if matches!(kind, "throw" | "nat") {
        draft.findings.unsupported(
            &r.at,
            format!("{kind} {}", dst_tree.text().unwrap_or("")),
            "not a route type lbsim models",
        );
        return Ok(None);
    }
    let gateway = text("gateway").or_else(|| r.get("via").and_then(|v| v.get("host")).and_then(Tree::text));
    let v6 = dst_tree.text().is_some_and(|d| d.contains(':')) || gateway.is_some_and(|g| g.contains(':'));
    let prefix = prefix(dst_tree, v6)?;
    let mut entry = vec![("prefix".to_string(), Item::scalar(prefix.to_string(), None))];
    let written = written(r);
    match kind {
        "blackhole" => entry.push(("action".into(), Item::scalar("blackhole", None))),
        "unreachable" | "prohibit" => entry.push(("action".into(), Item::scalar("reject", None))),
        _ => {
            let (gw, dev) = match r.get("nexthops").filter(|h| !h.items().is_empty()) {
                Some(hops) => {
                    draft.findings.approximated(
                        &hops.at,
                        "nexthops",
                        "lbsim has no multipath: the first next hop carries the prefix",
                    );
                    let first = &hops.items()[0];
                    (first.get("gateway").and_then(Tree::text), first.get("dev").and_then(Tree::text))
                }
                None => (gateway, text("dev")),
            };
            let neighbour = match (gw, dev) {
                (Some(g), _) => {
                    let at = r.get("gateway").map_or(&r.at, |t| &t.at);
                    let addr: std::net::IpAddr =
                        g.parse().map_err(|_| super::error_at(at, format!("`{g}` is not an IP address")))?;
                    let name = format!("gw-{}", entity_name(g));
                    let gw_node = network.child("routers").child(&name);
                    if gw_node.get("address").is_none() {
                        gw_node.comment =
                            Some(format!("gateway {g}{}", dev.map_or(String::new(), |d| format!(" on {d}"))));
                        gw_node.set("address", Item::scalar(addr.to_string(), None));
                    }
                    name
                }
                (None, Some(d)) => {
                    let name = format!("{router}-{}", entity_name(d));
                    let sw = network.child("switches").child(&name);
                    sw.comment = Some(format!("the segment on {d}"));
                    name
                }
                (None, None) => {
                    return Err(super::error_at(&r.at, "a unicast route needs a `gateway` or a `dev`"));
                }
            };
            if !links.iter().any(|(n, _)| *n == neighbour) {
                let mut link = vec![(
                    "between".to_string(),
                    Item {
                        node: super::doc::Node::Seq(
                            vec![Item::scalar(router, None), Item::scalar(&neighbour, None)],
                            true,
                        ),
                        comment: None,
                    },
                )];
                let down = r.get("flags").is_some_and(|f| f.items().iter().any(|x| x.text() == Some("linkdown")));
                if down {
                    link.push(("down".into(), Item::scalar("true", None)));
                }
                let why = match dev {
                    Some(d) if down => format!("{} dev {d} (linkdown)", r.at.short()),
                    Some(d) => format!("{} dev {d}", r.at.short()),
                    None => r.at.short(),
                };
                links.push((neighbour.clone(), Item::flow_map(link, Some(why))));
            }
            entry.push(("via".into(), Item::scalar(&neighbour, None)));
        }
    }
    if let Some(m) = r.get("metric") {
        let n = m.as_u64().ok_or_else(|| super::error_at(&m.at, "`metric` expects a whole number"))?;
        entry.push(("metric".into(), Item::scalar(n.to_string(), None)));
    }
    for (key, at, _) in r.entries() {
        match key.as_str() {
            "dst" | "gateway" | "via" | "dev" | "type" | "metric" | "table" | "nexthops" | "flags" => {}
            "protocol" | "scope" | "prefsrc" | "pref" | "metrics" | "expires" | "uid" | "cache" | "rt_offload" => {
                draft.findings.ignore(format!("route {key}"), at);
            }
            "encap" | "realm" | "nhid" | "tos" | "dsfield" => {
                draft.findings.unsupported(at, format!("route {key}"), "not a route attribute lbsim models");
            }
            _ => draft.findings.ignore(format!("route {key}"), at),
        }
    }
    Ok(Some(Item::flow_map(entry, Provenance::at(&r.at, written).comment())))
}

/// `dst` as a prefix: `default` is the default route, a bare address a
/// host route.
fn prefix(t: &Tree, v6: bool) -> Result<IpNet, Error> {
    let text = t.text().unwrap_or("");
    if text == "default" {
        return Ok(if v6 { "::/0".parse().expect("valid") } else { "0.0.0.0/0".parse().expect("valid") });
    }
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    if let Ok(addr) = text.parse::<std::net::IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    Err(super::error_at(&t.at, format!("`{text}` is not a destination: expected `default`, a prefix or an address")))
}

/// The route as `ip route` would print it, for the comment.
fn written(r: &Tree) -> String {
    let mut parts = Vec::new();
    if let Some(t) = r.get("type").and_then(Tree::text) {
        parts.push(t.to_string());
    }
    for key in ["dst", "gateway", "dev", "metric"] {
        if let Some(v) = r.get(key).and_then(Tree::text) {
            parts.push(if key == "dst" {
                v.to_string()
            } else {
                format!("{} {v}", if key == "gateway" { "via" } else { key })
            });
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testing::{self, text};
    use crate::import::{Options, Severity, assemble, doc::Node};

    const TABLE: &str = r#"[
{"dst":"default","gateway":"10.0.0.1","dev":"eth0","protocol":"dhcp","prefsrc":"10.0.0.5","metric":100,"flags":[]},
{"dst":"10.0.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.0.0.5","metric":100,"flags":[]},
{"dst":"10.9.0.0/16","gateway":"10.0.0.254","dev":"eth1","metric":50,"flags":["linkdown"]},
{"type":"blackhole","dst":"192.168.99.0/24","flags":[]},
{"type":"unreachable","dst":"172.16.0.0/12","flags":[]},
{"dst":"10.20.0.0/16","nexthops":[{"gateway":"10.0.0.2","dev":"eth0","weight":1},{"gateway":"10.0.0.3","dev":"eth0","weight":1}]},
{"dst":"10.0.0.77","gateway":"10.0.0.1","dev":"eth0"},
{"type":"local","dst":"10.0.0.5","dev":"eth0","table":"local","protocol":"kernel","scope":"host"},
{"dst":"10.30.0.0/16","gateway":"10.0.0.1","table":"100"}
]"#;

    fn draft(case: &str, text: &str) -> Draft {
        import(&[testing::write("routes", case, "edge.json", text)], None).unwrap()
    }

    fn routes(d: &Draft) -> Vec<String> {
        let net = d.network.as_ref().unwrap();
        let Node::Seq(items, _) = &net.get("routers").unwrap().get("edge").unwrap().get("routes").unwrap().node else {
            panic!()
        };
        items
            .iter()
            .map(|i| {
                let Node::Map(e, _) = &i.node else { panic!() };
                e.iter().map(|(k, v)| format!("{k}={}", v.text().unwrap())).collect::<Vec<_>>().join(" ")
            })
            .collect()
    }

    #[test]
    fn every_kind_of_route_maps() {
        let d = draft("all", TABLE);
        assert_eq!(
            routes(&d),
            [
                "prefix=0.0.0.0/0 via=gw-10-0-0-1 metric=100",
                "prefix=10.0.0.0/24 via=edge-eth0 metric=100",
                "prefix=10.9.0.0/16 via=gw-10-0-0-254 metric=50",
                "prefix=192.168.99.0/24 action=blackhole",
                "prefix=172.16.0.0/12 action=reject",
                "prefix=10.20.0.0/16 via=gw-10-0-0-2",
                "prefix=10.0.0.77/32 via=gw-10-0-0-1",
            ]
        );
        let net = d.network.as_ref().unwrap();
        assert_eq!(text(net, &["routers", "gw-10-0-0-1", "address"]), Some("10.0.0.1"));
        assert!(net.get("switches").unwrap().get("edge-eth0").is_some());
        let Node::Seq(links, _) = &net.get("links").unwrap().node else { panic!() };
        assert_eq!(links.len(), 4);
        let down: Vec<bool> = links.iter().map(|l| l.get("down").is_some()).collect();
        assert_eq!(down, [false, false, true, false], "linkdown");
    }

    #[test]
    fn what_is_not_modelled_is_located() {
        let d = draft("findings", TABLE);
        let multipath = d.findings.list.iter().find(|f| f.what == "nexthops").unwrap();
        assert_eq!((multipath.severity, multipath.at.line), (Severity::Approximated, 7));
        let table = d.findings.list.iter().find(|f| f.what == "table 100").unwrap();
        assert_eq!((table.severity, table.at.line), (Severity::Unsupported, 10));
        assert!(d.findings.ignored.iter().any(|(k, _)| k == "route prefsrc"));
        assert!(d.findings.ignored.iter().any(|(k, _)| k == "local table entry"));
    }

    #[test]
    fn ipv6_default_and_host_routes() {
        let d = draft(
            "v6",
            r#"[{"dst":"default","gateway":"fe80::1","dev":"eth0","metric":1024,"pref":"medium"},{"dst":"2001:db8::/64","dev":"eth0"}]"#,
        );
        assert_eq!(routes(&d), ["prefix=::/0 via=gw-fe80-1 metric=1024", "prefix=2001:db8::/64 via=edge-eth0"]);
    }

    #[test]
    fn malformed_tables_are_located_errors() {
        let bad =
            |case: &str, text: &str| import(&[testing::write("routes", case, "edge.json", text)], None).unwrap_err();
        let e = bad("dst", "[\n {\"dst\": \"10.0.0.300/24\", \"dev\": \"eth0\"}\n]");
        assert!(
            e.to_string().ends_with(
                "edge.json:2:10: `10.0.0.300/24` is not a destination: expected `default`, a prefix or an address"
            ),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
        let e = bad("gw", "[{\"dst\": \"default\", \"gateway\": \"router\"}]");
        assert!(e.to_string().ends_with("edge.json:1:32: `router` is not an IP address"), "{e}");
        let e = bad("obj", "{\"dst\": \"default\"}");
        assert!(e.to_string().contains("expected the JSON list"), "{e}");
        let e = bad("json", "[{\"dst\": \"default\"");
        assert!(e.to_string().contains("not valid YAML or JSON"), "{e}");
    }

    #[test]
    fn the_assembled_scenario_compiles() {
        let a = assemble(draft("compiles", TABLE), &Options::default()).unwrap();
        crate::import::validate(&a.text, std::path::Path::new("/tmp/routes.yaml")).unwrap();
        assert!(a.text.contains("- {prefix: 0.0.0.0/0, via: gw-10-0-0-1, metric: 100}  # edge.json:2 default via 10.0.0.1 dev eth0 metric 100"), "{}", a.text);
    }
}
