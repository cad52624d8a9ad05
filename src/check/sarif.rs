//! SARIF 2.1.0 output (`--format sarif`), as GitHub code scanning loads it:
//! one run whose driver lists every rule of the catalogue (ID, name, short
//! and full description, help, default level) and one result per finding,
//! located at its line and column in the scenario file, with a partial
//! fingerprint so a finding is tracked across commits. `tests/check.rs`
//! validates the output against the OASIS SARIF 2.1.0 schema.

use serde_json::{Value, json};

use super::Finding;
use super::rules::{self, Severity};
use crate::rng::stable_hash;

/// The schema a SARIF 2.1.0 log names.
pub const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A path as a relative URI reference (forward slashes, spaces escaped).
fn uri(path: &str) -> String {
    path.replace('\\', "/").replace(' ', "%20")
}

/// `single-backend` -> `SingleBackend`, the form SARIF rule names take.
fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| f.to_ascii_uppercase().to_string() + c.as_str())
        })
        .collect()
}

/// The log for the findings of one scenario (and its baseline, with `--against`).
pub fn log(findings: &[Finding]) -> String {
    let rules_json: Vec<Value> = rules::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": pascal(r.name),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": format!("{} Why: {}.", capitalised(r.summary), r.why)},
                "help": {"text": r.help},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": [r.family.name()]},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let index = rules::ALL.iter().position(|r| r.id == f.rule.id).unwrap_or(0);
            let mut region = json!({"startLine": f.place.line.max(1)});
            if f.place.line > 0 {
                region["startColumn"] = json!(f.place.column.max(1));
                region["endColumn"] = json!(f.place.column.max(1) + f.place.length);
            }
            let fingerprint =
                format!("{:016x}", stable_hash(format!("{}|{}|{}", f.rule.id, f.key, f.message).as_bytes()));
            json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": format!("{} Help: {}", f.message, f.help)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.place.file)},
                        "region": region,
                    }
                }],
                "partialFingerprints": {"lbsimFinding/v1": fingerprint},
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lbsim",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules_json,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).expect("plain data serialises");
    s.push('\n');
    s
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().collect::<String>() + c.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal("single-backend"), "SingleBackend");
        assert_eq!(pascal("no-n-plus-one"), "NoNPlusOne");
        assert_eq!(uri("scenarios\\a b.yaml"), "scenarios/a%20b.yaml");
    }
}
