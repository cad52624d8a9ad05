//! What a `--set` path may name, read from the scenario's JSON Schema (the
//! one `lbsim schema` prints): a field the file leaves out may be added
//! (`clients.web.timeout=2s`), but a name that is not there (a client group,
//! balancer or server the file does not declare) or a field the format does
//! not have is an error with a "did you mean", never a new entity that then
//! fails with "missing field `service`".

use std::sync::OnceLock;

use serde_json::Value;

use super::names;

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::to_value(schemars::schema_for!(super::Scenario)).expect("a schema serialises"))
}

/// The schemas a node stands for: itself with `$ref` followed, and the
/// alternatives of `anyOf`, `oneOf` and `allOf` (an `Option` is `anyOf`
/// with `null`).
fn alternatives(node: &Value) -> Vec<&Value> {
    let root = schema();
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if let Some(r) = n.get("$ref").and_then(Value::as_str) {
            if let Some(target) = r.strip_prefix("#/$defs/").and_then(|d| root["$defs"].get(d)) {
                stack.push(target);
            }
            continue;
        }
        let mut branched = false;
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(list) = n.get(key).and_then(Value::as_array) {
                stack.extend(list.iter());
                branched = true;
            }
        }
        if !branched || n.get("properties").is_some() {
            out.push(n);
        }
    }
    out
}

/// The schema of `segment` under `node`: a property, a named entry of a
/// map, or an item of a list.
fn child<'a>(node: &'a Value, segment: &str) -> Option<&'a Value> {
    for alt in alternatives(node) {
        if let Some(p) = alt.get("properties").and_then(|p| p.get(segment)) {
            return Some(p);
        }
        if let Some(a) = alt.get("additionalProperties").filter(|a| a.is_object()) {
            return Some(a);
        }
        if let Some(items) = alt.get("items").filter(|_| segment.parse::<usize>().is_ok()) {
            return Some(items);
        }
    }
    None
}

/// What an entry of the section at `path` is called in messages.
fn entry_kind(path: &[String]) -> &'static str {
    match path.last().map(String::as_str) {
        Some("clients") => "client group",
        Some("balancers") => "balancer",
        Some("servers") => "server",
        Some("routers") => "router",
        Some("switches") => "switch",
        Some("weights" | "target_weights") => "weight",
        Some("vlans") => "port",
        _ => "entry",
    }
}

/// Whether keys `path[depth..]`, missing from the file below `path[..depth]`
/// (whose existing keys are `existing`), may be added. The error is a
/// message and a help line.
pub(super) fn may_add(path: &[String], depth: usize, existing: &[&str]) -> Result<(), (String, Option<String>)> {
    let mut node = schema();
    for segment in &path[..depth] {
        match child(node, segment) {
            Some(c) => node = c,
            // Somewhere the schema does not describe: leave it to the parser.
            None => return Ok(()),
        }
    }
    for (i, segment) in path[depth..].iter().enumerate() {
        let alts = alternatives(node);
        if let Some(p) = alts.iter().find_map(|a| a.get("properties").and_then(|p| p.get(segment.as_str()))) {
            node = p;
            continue;
        }
        let at = path[..depth + i].join(".");
        if alts.iter().any(|a| a.get("additionalProperties").is_some_and(Value::is_object)) {
            let kind = entry_kind(&path[..depth + i]);
            let known: Vec<&str> = if i == 0 { existing.to_vec() } else { Vec::new() };
            let help = match names::closest(segment, known.iter().copied()) {
                Some(n) => Some(format!("did you mean `{at}.{n}`?")),
                None if !known.is_empty() && known.len() <= 12 => Some(format!("`{at}` has: {}", known.join(", "))),
                None => None,
            };
            return Err((
                format!(
                    "there is no {kind} `{segment}` in `{at}`; --set changes what the file declares and adds no new {kind}"
                ),
                help,
            ));
        }
        let fields: Vec<&str> = alts
            .iter()
            .filter_map(|a| a.get("properties").and_then(Value::as_object))
            .flat_map(|p| p.keys().map(String::as_str))
            .collect();
        if fields.is_empty() {
            return Err((format!("`{at}` is a single value and has no field `{segment}`"), None));
        }
        let where_ = if at.is_empty() { "the top level".to_string() } else { format!("`{at}`") };
        let help = match names::closest(segment, fields.iter().copied()) {
            Some(n) => format!("did you mean `{}`?", if at.is_empty() { n.to_string() } else { format!("{at}.{n}") }),
            None => format!("{where_} has the fields: {}", fields.join(", ")),
        };
        return Err((format!("{where_} has no field `{segment}`"), Some(help)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    #[test]
    fn fields_may_be_added_and_names_may_not() {
        assert!(may_add(&p("clients.web.timeout"), 2, &["rate", "target"]).is_ok());
        assert!(may_add(&p("clients.web.retry.attempts"), 2, &["rate"]).is_ok());
        assert!(may_add(&p("seed"), 0, &["name"]).is_ok());
        assert!(may_add(&p("servers.app.count"), 2, &["service"]).is_ok());
        let (m, h) = may_add(&p("clients.web.rate"), 1, &["browsers", "mobile"]).unwrap_err();
        assert_eq!(
            m,
            "there is no client group `web` in `clients`; --set changes what the file declares and adds no new client group"
        );
        assert_eq!(h.as_deref(), Some("`clients` has: browsers, mobile"));
        let (_, h) = may_add(&p("clients.browser.rate"), 1, &["browsers", "mobile"]).unwrap_err();
        assert_eq!(h.as_deref(), Some("did you mean `clients.browsers`?"));
        let (m, h) = may_add(&p("clients.web.rat"), 2, &["rate"]).unwrap_err();
        assert_eq!(
            (m.as_str(), h.as_deref()),
            ("`clients.web` has no field `rat`", Some("did you mean `clients.web.rate`?"))
        );
        let (m, h) = may_add(&p("durration"), 0, &["name"]).unwrap_err();
        assert_eq!(
            (m.as_str(), h.as_deref()),
            ("the top level has no field `durration`", Some("did you mean `duration`?"))
        );
        // Through a list item and an optional section.
        assert!(may_add(&p("timeline.0.note"), 2, &["at"]).is_ok());
        assert!(may_add(&p("balancers.lb.health_check.interval"), 2, &["backends"]).is_ok());
        assert!(may_add(&p("network.routers.core.routes"), 3, &[]).is_ok());
        assert!(may_add(&p("network.routers.cor.routes"), 2, &["core"]).is_err());
    }
}
