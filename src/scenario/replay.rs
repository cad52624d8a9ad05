//! `replay:` on a client group: rerun a recorded trace's own arrival
//! times and users (written by `lbsim import access-log --replay`),
//! faster (`speed: 2x`) or with more of the same mix (`scale: 1.5`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

/// `replay: trace.csv.gz` or `replay: {file: trace.csv.gz, speed: 2x, scale: 1.5}`.
#[derive(Clone, Debug)]
pub struct ReplaySpec {
    /// The trace, relative to the scenario file.
    pub file: String,
    /// Time runs this many times faster: the same requests in less time.
    pub speed: Option<Spanned<Multiplier>>,
    /// Each recorded request is sent this many times on average (copies
    /// spread over the gap to the next one): the same mix, the rate scaled.
    pub scale: Option<Spanned<Multiplier>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayFields {
    file: String,
    speed: Option<Spanned<Multiplier>>,
    scale: Option<Spanned<Multiplier>>,
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

/// A positive factor, written `2x`, `0.5x` or `1.5`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Multiplier(pub f64);

impl<'de> Deserialize<'de> for Multiplier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Multiplier;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a factor above zero, like 2x, 0.5x or 1.5")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Multiplier, E> {
                let n = v.trim().strip_suffix('x').unwrap_or(v.trim());
                n.trim()
                    .parse::<f64>()
                    .map_err(|_| E::custom(format!("`{v}` is not a factor: expected like 2x, 0.5x or 1.5")))
                    .and_then(|x| self.visit_f64(x))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Multiplier, E> {
                if v.is_finite() && v > 0.0 {
                    Ok(Multiplier(v))
                } else {
                    Err(E::custom(format!("the factor must be above zero, not {v}")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Multiplier, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Multiplier, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}
