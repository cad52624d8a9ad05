//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz; see the README's
//! "Limits and safety"). Each takes arbitrary bytes and must return, whatever
//! the bytes: no panic, no hang, no allocation past the limits. Not part of
//! the library's API: the names may change with the targets.

use std::path::Path;

use crate::model;
use crate::scenario::{Override, ScenarioSource};

/// A scenario that compiles, for the targets that change one.
const BASE: &str = "name: fuzz
duration: 10s
clients:
  web: {target: edge, rate: 100/s, users: 50, timeout: 2s}
balancers:
  edge: {algorithm: least_connections, backends: [\"web-*\"]}
servers:
  web-{01..03}: {workers: 2, queue_limit: 10, service: {exponential: 20ms}}
  app: {count: 2, service: {constant: 5ms}}
timeline:
  - {name: slow, at: 2s, server: web-01, slow_down: 3, duration: 2s}
";

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Scenario text to a compiled model.
pub fn scenario(data: &[u8]) {
    if let Some(text) = text(data) {
        let _ = model::load_str("fuzz.yaml", text);
    }
}

/// `--set` arguments, one per line, applied to a scenario that compiles.
pub fn set(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(overrides) = text.lines().take(8).map(Override::parse).collect::<Result<Vec<_>, _>>() else { return };
    let source = ScenarioSource::from_text(Path::new("fuzz.yaml"), BASE.to_string());
    let _ = model::load_source(source, &overrides, None);
}

/// Durations, rates, percentages and distributions, as a scenario's fields
/// take them: the bytes as a duration, a rate and a percentage, and as the
/// service time of the one server.
pub fn units(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = crate::units::parse_duration(text);
    let _ = crate::units::parse_rate(text);
    let _ = crate::units::parse_percent(text);
    let line = text.lines().next().unwrap_or("");
    let scenario = format!(
        "duration: 1s\nclients:\n  c: {{target: b, rate: 10/s}}\nbalancers:\n  b: {{backends: [s]}}\nservers:\n  s: {{service: {line}}}\n"
    );
    let _ = model::load_str("fuzz.yaml", &scenario);
}

/// `lbsim import`'s parsers. The first byte picks one: an NGINX
/// configuration, an HAProxy configuration (each mapped, assembled into
/// scenario text and compiled), or an access log (its first line a
/// `--format`: a preset name or a `log_format` template; the rest the log,
/// read through the whole streaming import in a scratch folder).
pub fn import(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let Some(text) = text(rest) else { return };
    let draft = match which % 3 {
        0 => crate::import::nginx::import_text("nginx.conf", text),
        1 => crate::import::haproxy::import_text("haproxy.cfg", text),
        _ => return crate::import::accesslog::fuzz(text),
    };
    if let Ok(draft) = draft
        && let Ok(a) = crate::import::assemble(draft, &crate::import::Options::default())
    {
        let _ = crate::import::validate(&a.text, Path::new("imported.yaml"));
    }
}

/// A sweep shard's work-item file, as `lbsim merge` reads it.
pub fn merge_item(data: &[u8]) {
    crate::experiment::shard::read_item_bytes(data);
}
