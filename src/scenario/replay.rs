//! `replay:` on a client group: rerun a recorded trace's own arrival
//! times and users (written by `lbsim import access-log --replay`),
//! faster (`speed: 2x`) or with more of the same mix (`scale: 1.5`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::{LoadFactor, Spanned};

/// `replay: trace.csv.gz` or `replay: {file: trace.csv.gz, speed: 2x, scale: 1.5}`.
#[derive(Clone, Debug)]
pub struct ReplaySpec {
    /// The trace, relative to the scenario file.
    pub file: String,
    /// Time runs this many times faster: the same requests in less time.
    pub speed: Option<Spanned<LoadFactor>>,
    /// Each recorded request is sent this many times on average (copies
    /// spread over the gap to the next one): the same mix, the rate scaled.
    pub scale: Option<Spanned<LoadFactor>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayFields {
    file: String,
    speed: Option<Spanned<LoadFactor>>,
    scale: Option<Spanned<LoadFactor>>,
}

impl<'de> Deserialize<'de> for ReplaySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ReplaySpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a trace file, or {file: trace.csv.gz, speed: 2x, scale: 1.5}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ReplaySpec, E> {
                Ok(ReplaySpec { file: v.to_string(), speed: None, scale: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ReplaySpec, A::Error> {
                let f = ReplayFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ReplaySpec { file: f.file, speed: f.speed, scale: f.scale })
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for ReplaySpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReplaySpec".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let factor = generator.subschema_for::<LoadFactor>();
        schemars::json_schema!({
            "description": "A recorded trace (time_s,user CSV, gzip allowed) to rerun, relative to the scenario file.",
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "description": "The trace, relative to the scenario file."},
                        "speed": {"description": "Time runs this many times faster: the same requests in less time.", "allOf": [factor], "default": "1x"},
                        "scale": {"description": "Each recorded request is sent this many times on average: the same mix, the rate scaled.", "allOf": [factor], "default": 1}
                    }
                }
            ],
            "examples": ["peak.trace.csv.gz", {"file": "peak.trace.csv.gz", "speed": "2x", "scale": 1.5}]
        })
    }
}
