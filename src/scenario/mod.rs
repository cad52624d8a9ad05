//! The scenario file: serde types that mirror what users write.
//!
//! YAML (or JSON, a subset of YAML) read with serde-saphyr, so every syntax
//! and type error carries a line and column. Types avoid `flatten`, `untagged`
//! and internally tagged enums, which would lose those locations. Semantic
//! checks (unknown names, impossible values) happen when the scenario is
//! compiled into a [`crate::model::World`], using the `Spanned` locations
//! kept here.

mod errors;
pub mod monitoring;
pub mod names;
pub mod network;
mod paths;
pub mod replay;
pub mod resilience;
pub mod source;
pub mod timeline;

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::balancer::AlgorithmKind;
use crate::dist::DistSpec;
use crate::error::Error;
use crate::units::{Duration, Percent, Rate};

pub use network::{Foreign, LinkSpec, NetworkSpec, RouteAction, RouteSpec, RouterSpec, SubnetSpec, SwitchSpec};
pub use replay::ReplaySpec;
pub use resilience::*;
pub use source::{Override, ScenarioSource};
pub use timeline::{Action, IncidentWindowSpec, TimelineEntry};

/// A value and where it was written: serde-saphyr's `Spanned`, kept as a
/// type of our own so that the scenario's JSON Schema (`lbsim schema`) can
/// describe a spanned field as the plain value it is in the file.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    /// Where the value is used (for an alias, the alias).
    pub referenced: serde_saphyr::Location,
    /// Where the value is defined (for an alias, its anchor).
    pub defined: serde_saphyr::Location,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Spanned { value: s.value, referenced: s.referenced, defined: s.defined })
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A mapping whose keys are names, kept in file order (ids follow it, so
/// runs do not depend on hashing or sorting), with each key's location.
#[derive(Clone, Debug)]
pub struct NamedMap<T>(pub Vec<(Spanned<String>, T)>);

impl<T> Default for NamedMap<T> {
    fn default() -> Self {
        NamedMap(Vec::new())
    }
}

impl<T> NamedMap<T> {
    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &T)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for NamedMap<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("NamedMap_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<T>(),
        })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NamedMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = NamedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping from names to definitions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(Spanned<String>, T)> = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if out.iter().any(|(k, _)| k.value == key.value) {
                        return Err(de::Error::custom(format!("`{}` is defined twice", key.value)));
                    }
                    let value = map.next_value::<T>()?;
                    out.push((key, value));
                }
                Ok(NamedMap(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name used for the output directory; defaults to the file name.
    pub name: Option<Spanned<String>>,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: String,
    /// Seed of every random stream (default 1); `--seed` overrides it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time to run. At least one of `duration` and `requests`.
    pub duration: Option<Spanned<Duration>>,
    /// Stop after this many requests have been generated.
    pub requests: Option<Spanned<u64>>,
    /// Requests generated before this time are simulated but left out of
    /// the summary's statistics (they still appear in the time series).
    pub warmup: Option<Spanned<Duration>>,
    /// Length of one interval of the time series (default 1s).
    #[schemars(extend("default" = "1s"))]
    pub interval: Option<Spanned<Duration>>,
    /// Response time above which a user counts as slowed (default 1s).
    #[schemars(extend("default" = "1s"))]
    pub slow_threshold: Option<Spanned<Duration>>,
    /// Wall-clock time of the run's start (RFC 3339); enables `at: "14:10"`
    /// and wall-clock times in reports.
    pub start: Option<Spanned<String>>,
    /// Client groups by name: who sends requests, how often, to which balancer.
    pub clients: NamedMap<ClientSpec>,
    /// Load balancers by name: algorithm, backends, health checks.
    pub balancers: NamedMap<BalancerSpec>,
    /// Servers by name, range (`web-{01..08}`) or counted group (`app: {count: 24}`).
    pub servers: NamedMap<ServerSpec>,
    /// Changes over time: the incident and its remedies.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// The period "within the incident" figures cover (default: from the
    /// first timeline change to the end of the last one's effect).
    pub incident_window: Option<IncidentWindowSpec>,
    /// Alert rules over the per-interval metrics.
    #[serde(default)]
    pub alerts: Vec<monitoring::AlertSpec>,
    /// Service-level objectives: pass/fail verdicts.
    #[serde(default)]
    pub slos: Vec<monitoring::SloSpec>,
    /// Routers, switches and links between the parts.
    pub network: Option<NetworkSpec>,
    /// Limits raised above their defaults (`crate::limits`):
    /// `{entities: 3000000, series_bytes: 5000000000, allow_large_run: true}`.
    #[serde(default)]
    pub limits: NamedMap<Spanned<LimitValue>>,
}

/// A value under `limits:`: a number, or `true`/`false` for `allow_large_run`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LimitValue {
    Number(u64),
    Flag(bool),
}

impl schemars::JsonSchema for LimitValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LimitValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A limit's new value (a whole number), or true/false for allow_large_run.",
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "boolean"}]
        })
    }
}

impl<'de> Deserialize<'de> for LimitValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LimitValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number (or true/false for allow_large_run)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LimitValue, E> {
                Ok(LimitValue::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LimitValue, E> {
                u64::try_from(v).map(LimitValue::Number).map_err(|_| E::custom("a limit cannot be negative"))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LimitValue, E> {
                Ok(LimitValue::Flag(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn default_seed() -> u64 {
    1
}

/// How open-loop requests are spaced.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalKind {
    /// Exponential gaps: a Poisson process (non-homogeneous under a profile).
    #[default]
    Poisson,
    /// Evenly spaced requests at the current rate.
    Constant,
}

/// How a group's requests are spread over its users.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Popularity {
    /// Every user equally likely.
    #[default]
    Uniform,
    /// Zipf-skewed with this exponent: user k is chosen with weight 1/k^s.
    Zipf(f64),
}

/// One point of a rate profile: a step to `rate`, or a linear ramp to
/// `ramp_to` lasting `over`, starting at `at`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePoint {
    /// When the point starts (an offset from the start).
    pub at: Spanned<Duration>,
    /// A step to this rate.
    pub rate: Option<Rate>,
    /// A linear ramp to this rate, lasting `over`.
    pub ramp_to: Option<Rate>,
    /// The length of a ramp.
    pub over: Option<Duration>,
}

/// Closed-loop behaviour: each user sends its next request a think time
/// after the previous one returned.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosedLoopSpec {
    /// Time a user thinks between an answer and its next request.
    pub think_time: Spanned<DistSpec>,
}

/// One balancer name, or a list of them.
#[derive(Clone, Debug)]
pub struct Targets {
    /// The names; a single name has no location of its own (use the field's).
    pub names: Vec<(String, Option<serde_saphyr::Location>)>,
}

impl schemars::JsonSchema for Targets {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Targets".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A balancer name, or a list of balancer names.",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1}
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Targets;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a balancer name or a list of balancer names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Targets, E> {
                Ok(Targets { names: vec![(v.to_string(), None)] })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Targets, A::Error> {
                let mut names = Vec::new();
                while let Some(n) = seq.next_element::<Spanned<String>>()? {
                    names.push((n.value, Some(n.referenced)));
                }
                Ok(Targets { names })
            }
        }
        d.deserialize_any(V)
    }
}

/// A named group of clients.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The balancer the group sends to, or several (see `target_policy`).
    pub target: Spanned<Targets>,
    /// With several targets: `spread` (default) or `failover`.
    #[serde(default)]
    pub target_policy: TargetPolicy,
    /// With `spread`: weight per balancer (default 1 each).
    #[serde(default)]
    pub target_weights: NamedMap<u32>,
    /// With `failover`: how long clients keep sending to a balancer after it
    /// went down before they move on (DNS TTL, VIP takeover; default 0).
    #[schemars(extend("default" = "0s"))]
    pub failover_after: Option<Spanned<Duration>>,
    /// Retries of failed or slow attempts.
    pub retry: Option<RetrySpec>,
    /// With a network: the subnets the group's users sit in.
    #[serde(default)]
    pub subnets: Vec<SubnetSpec>,
    /// Open loop: requests per second (the rate before any profile point).
    pub rate: Option<Spanned<Rate>>,
    /// Open loop: `poisson` (default) or `constant` spacing.
    #[serde(default)]
    pub arrival: ArrivalKind,
    /// Open loop: the rate over time.
    #[serde(default)]
    pub profile: Vec<ProfilePoint>,
    /// Repeat the profile with this period (e.g. 24h for a diurnal curve).
    pub profile_repeat: Option<Spanned<Duration>>,
    /// Closed loop instead of a rate: `users` users, one request each at a time.
    pub closed_loop: Option<ClosedLoopSpec>,
    /// Instead of a rate: rerun a recorded trace's arrivals and users.
    pub replay: Option<Spanned<ReplaySpec>>,
    /// Number of distinct users behind the group (default 10000 for open
    /// loop; required for closed loop).
    pub users: Option<Spanned<u64>>,
    /// `uniform` (default) or `{zipf: 1.1}`.
    #[serde(default)]
    pub user_popularity: Popularity,
    /// A request not answered within this time fails for its user.
    pub timeout: Option<Spanned<Duration>>,
    /// Scales the group's whole load: every rate of an open loop's profile,
    /// a closed loop's users, or a replay's `scale` (`2x`, `1.5x`, `150%`,
    /// or a number).
    #[schemars(extend("default" = "1x"))]
    pub load: Option<Spanned<LoadFactor>>,
}

/// A multiplier of a client group's load: `2x`, `0.5x`, `150%` or `2`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LoadFactor(pub f64);

impl LoadFactor {
    const HELP: &'static str = "a multiplier like 2x, 0.5x or 150%";

    pub fn parse(text: &str) -> Result<LoadFactor, String> {
        let t = text.trim();
        let (num, scale) = match (t.strip_suffix(['x', 'X']), t.strip_suffix('%')) {
            (Some(n), _) => (n, 1.0),
            (None, Some(n)) => (n, 0.01),
            (None, None) => (t, 1.0),
        };
        match num.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(LoadFactor(v * scale)),
            Ok(_) => Err(format!("`{t}`: the load multiplier must be more than zero")),
            Err(_) => Err(format!("`{t}` is not {}", LoadFactor::HELP)),
        }
    }
}

impl<'de> Deserialize<'de> for LoadFactor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LoadFactor;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(LoadFactor::HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LoadFactor, E> {
                LoadFactor::parse(v).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LoadFactor, E> {
                LoadFactor::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LoadFactor, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LoadFactor, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for LoadFactor {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LoadFactor".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A multiplier: 2x, 0.5x, 150%, or a number.",
            "anyOf": [{"type": "string", "pattern": "^\\s*[0-9.]+\\s*[xX%]?\\s*$"}, {"type": "number", "exclusiveMinimum": 0}],
            "examples": ["2x", "0.5x", "150%"]
        })
    }
}

/// A named load balancer.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalancerSpec {
    /// How the balancer picks a backend (default `round_robin`; `lbsim list algorithms`).
    #[serde(default = "default_algorithm")]
    pub algorithm: AlgorithmKind,
    /// Candidates for `power_of_two_choices` (default 2).
    #[schemars(extend("default" = 2))]
    pub choices: Option<Spanned<u32>>,
    /// Ring points per unit of weight for `consistent_hash` (default 160).
    #[schemars(extend("default" = 160))]
    pub vnodes: Option<Spanned<u32>>,
    /// Server names, `{..}` patterns or `*` globs.
    pub backends: Vec<Spanned<String>>,
    /// Weight per server name (default 1; 0 takes a server out of rotation).
    #[serde(default)]
    pub weights: NamedMap<u32>,
    /// Backends that take traffic only while no other backend is usable
    /// (NGINX and HAProxy `backup`); names, patterns or globs.
    #[serde(default)]
    pub backup: Vec<Spanned<String>>,
    /// Connection slots per server for `first` (default: the server's workers).
    pub max_conn: Option<Spanned<u32>>,
    /// Active health checks.
    pub health_check: Option<HealthCheckSpec>,
    /// Passive outlier detection.
    pub outlier_detection: Option<OutlierSpec>,
    /// When no backend is usable: `panic` (default) or `fail_closed`.
    #[serde(default)]
    pub on_all_unhealthy: AllUnhealthy,
    /// Panic (use every backend) when fewer than this share are usable
    /// (default 0%: only when none is; Envoy's default is 50%).
    #[schemars(extend("default" = "0%"))]
    pub panic_threshold: Option<Spanned<Percent>>,
    /// Checks that block bad configuration changes from the timeline.
    pub validation: Option<ValidationSpec>,
    /// With a network: the balancer's address.
    pub address: Option<Spanned<String>>,
    /// With a network: the balancer's own routing table.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
}

fn default_algorithm() -> AlgorithmKind {
    AlgorithmKind::RoundRobin
}

/// A named server, a range of identical ones (`web-{01..16}`), or a counted
/// group of them (`app: {count: 24}`, servers `app-01` .. `app-24`).
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Declare this many servers, `<key>-01` upwards (the key is a plain name).
    pub count: Option<Spanned<u32>>,
    /// With `count`: digits in each server's number (default: the count's
    /// digits, at least 2).
    pub pad: Option<Spanned<u32>>,
    /// Requests served at once (default 1).
    #[schemars(extend("default" = 1))]
    pub workers: Option<Spanned<u32>>,
    /// Requests that may wait; more are rejected (default: unlimited).
    pub queue_limit: Option<Spanned<u64>>,
    /// Service-time distribution.
    pub service: Spanned<DistSpec>,
    /// Share of requests answered at once with an error (default 0%).
    #[schemars(extend("default" = "0%"))]
    pub error_rate: Option<Spanned<Percent>>,
    /// Not running at the start (a decommissioned or spare server); the
    /// timeline can `restart` it.
    #[serde(default)]
    pub down: bool,
    /// Time from a crash or restart to being back up (default 30s).
    #[schemars(extend("default" = "30s"))]
    pub restart_time: Option<Spanned<Duration>>,
    /// Slower after a restart, recovering linearly.
    pub cold_start: Option<ColdStartSpec>,
    /// Service slows as concurrency grows.
    pub degrade: Option<DegradeSpec>,
    /// Crash when overwhelmed for long enough.
    pub crash: Option<CrashSpec>,
    /// With a network: the address (a range of servers counts up from it).
    pub address: Option<Spanned<String>>,
    /// With a network: the server's own routing table.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// What it does with traffic addressed to someone else (default `refuse`).
    #[serde(default)]
    pub foreign: Foreign,
}

/// A mistake in a server key or its `count` or `pad`, and where it is.
#[derive(Clone, Debug)]
pub struct NameError {
    pub at: serde_saphyr::Location,
    pub message: String,
    pub help: Option<String>,
}

/// The names of the servers one entry under `servers:` declares, in order,
/// as a pattern (counted before any name is made): the key itself, the
/// key's pattern (`web-{01..03}`), or, with `count`, `<key>-01` ..
/// `<key>-<count>` zero-padded to `pad` digits (default: the count's
/// digits, at least 2). Every place that turns a server key into names goes
/// through here.
pub fn server_pattern(key: &Spanned<String>, spec: &ServerSpec) -> Result<names::Pattern, NameError> {
    let fail =
        |at: &serde_saphyr::Location, message: String, help: Option<String>| NameError { at: *at, message, help };
    let Some(count) = &spec.count else {
        if let Some(pad) = &spec.pad {
            return Err(fail(
                &pad.referenced,
                "`pad` needs a `count`: it sets the digits of a counted group's numbers".to_string(),
                Some(format!("a range pads to the width of its first number: `{}-{{001..024}}`", key.value)),
            ));
        }
        return names::Pattern::parse(&key.value).map_err(|m| fail(&key.referenced, m, None));
    };
    let name = &key.value;
    if name.contains(['{', '}', '*']) {
        return Err(fail(
            &key.referenced,
            format!("a key with `count` must be a plain name; `{name}` contains `{{`, `}}` or `*`"),
            Some("name the group, e.g. `app: {count: 24}` declares app-01 .. app-24".to_string()),
        ));
    }
    let n = count.value;
    if n == 0 {
        return Err(fail(&count.referenced, format!("`count` of `{name}` must be at least 1"), None));
    }
    let digits = n.to_string().len();
    let width = match &spec.pad {
        None => digits.max(2),
        Some(p) if !(1..=9).contains(&p.value) => {
            return Err(fail(&p.referenced, format!("`pad` must be from 1 to 9 digits, not {}", p.value), None));
        }
        Some(p) if (p.value as usize) < digits => {
            return Err(fail(
                &p.referenced,
                format!("`pad: {}` is too narrow for {n} servers: it needs at least {digits} digits", p.value),
                Some(format!("write `pad: {digits}` or more, or leave it out")),
            ));
        }
        Some(p) => p.value as usize,
    };
    Ok(names::Pattern::counted(&format!("{name}-"), u64::from(n), width))
}

/// The names of [`server_pattern`], made (for small entries and tests).
pub fn server_names(key: &Spanned<String>, spec: &ServerSpec) -> Result<Vec<String>, NameError> {
    Ok(server_pattern(key, spec)?.names().collect())
}

/// Reads a scenario from its source (overrides already applied).
pub fn parse(source: &ScenarioSource) -> Result<Scenario, Error> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options::<Scenario>(&source.effective, options).map_err(|err| {
        let raw = err.render_with_formatter(&serde_saphyr::UserMessageFormatter);
        let (message, help) = errors::explain(&raw, &source.effective, err.location());
        match err.location() {
            Some(loc) if loc.line() > 0 => source.error_at_location(&loc, message, help),
            _ => source.error_at(0, 1, message, help),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse_text(text: &str) -> Result<Scenario, String> {
        let src = ScenarioSource::from_text(Path::new("t.yaml"), text.to_string());
        parse(&src).map_err(|e| e.to_string())
    }

    const MINIMAL: &str = "duration: 1m\nclients:\n  web: {target: edge, rate: 100/s}\nbalancers:\n  edge: {backends: [s1]}\nservers:\n  s1: {service: {constant: 5ms}}\n";

    #[test]
    fn minimal_scenario_parses_with_defaults() {
        let s = parse_text(MINIMAL).unwrap();
        assert_eq!(s.seed, 1);
        assert_eq!(s.clients.len(), 1);
        assert_eq!(s.balancers.0[0].1.algorithm, AlgorithmKind::RoundRobin);
        assert_eq!(s.clients.0[0].1.arrival, ArrivalKind::Poisson);
    }

    #[test]
    fn mistakes_name_line_and_column() {
        let err = parse_text(&MINIMAL.replace("rate: 100/s", "rate: -100/s")).unwrap_err();
        assert!(err.starts_with("t.yaml:3:"), "{err}");
        assert!(err.contains("negative"), "{err}");
        let err = parse_text(&MINIMAL.replace("{backends", "{algorithm: round_robbin, backends")).unwrap_err();
        assert!(err.contains("t.yaml:5:") && err.contains("unknown value `round_robbin`"), "{err}");
        let err = parse_text(&MINIMAL.replace("duration", "durration")).unwrap_err();
        assert!(err.starts_with("t.yaml:1:1") && err.contains("unknown field"), "{err}");
        let err = parse_text(&MINIMAL.replace("s1: {service", "s1: {workers: -2, service")).unwrap_err();
        assert!(err.contains("t.yaml:7:") && err.contains("whole number"), "{err}");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let text = format!("{MINIMAL}  s1: {{service: {{constant: 5ms}}}}\n");
        let err = parse_text(&text).unwrap_err();
        assert!(err.contains("s1") && err.contains("t.yaml:8"), "{err}");
    }

    /// The names the first server entry of `servers_yaml` declares, or the
    /// error as `line:col: message`.
    fn names_of(servers_yaml: &str) -> Result<Vec<String>, String> {
        let s = parse_text(&MINIMAL.replace("  s1: {service: {constant: 5ms}}\n", servers_yaml)).unwrap();
        let (key, spec) = &s.servers.0[0];
        server_names(key, spec).map_err(|e| format!("{}:{}: {}", e.at.line(), e.at.column(), e.message))
    }

    #[test]
    fn counted_groups_name_their_servers_padded() {
        let five = names_of("  app: {count: 5, service: {constant: 5ms}}\n").unwrap();
        assert_eq!(five, ["app-01", "app-02", "app-03", "app-04", "app-05"]);
        let many = names_of("  app: {count: 120, service: {constant: 5ms}}\n").unwrap();
        assert_eq!((many.len(), many[0].as_str(), many[99].as_str()), (120, "app-001", "app-100"));
        let padded = names_of("  app: {count: 12, pad: 4, service: {constant: 5ms}}\n").unwrap();
        assert_eq!((padded[0].as_str(), padded[11].as_str()), ("app-0001", "app-0012"));
        assert_eq!(
            names_of("  app: {count: 3, pad: 1, service: {constant: 5ms}}\n").unwrap(),
            ["app-1", "app-2", "app-3"]
        );
        // Without `count`, keys expand as before.
        assert_eq!(names_of("  web-{1..2}: {service: {constant: 5ms}}\n").unwrap(), ["web-1", "web-2"]);
        assert_eq!(names_of("  db: {service: {constant: 5ms}}\n").unwrap(), ["db"]);
    }

    #[test]
    fn counted_group_mistakes_are_located() {
        let err = |yaml: &str| names_of(&format!("{yaml}\n")).unwrap_err();
        assert_eq!(err("  app: {count: 0, service: {constant: 5ms}}"), "7:16: `count` of `app` must be at least 1");
        // Its size is the compiler's to check, against the `entities` limit.
        assert_eq!(names_of("  app: {count: 100001, service: {constant: 5ms}}\n").unwrap().len(), 100_001);
        assert_eq!(
            err("  \"app-{01..04}\": {count: 4, service: {constant: 5ms}}"),
            "7:3: a key with `count` must be a plain name; `app-{01..04}` contains `{`, `}` or `*`"
        );
        assert!(err("  app-*: {count: 4, service: {constant: 5ms}}").starts_with("7:3: a key with `count`"));
        assert_eq!(
            err("  app: {pad: 3, service: {constant: 5ms}}"),
            "7:14: `pad` needs a `count`: it sets the digits of a counted group's numbers"
        );
        assert_eq!(
            err("  app: {count: 120, pad: 2, service: {constant: 5ms}}"),
            "7:26: `pad: 2` is too narrow for 120 servers: it needs at least 3 digits"
        );
        assert_eq!(
            err("  app: {count: 3, pad: 0, service: {constant: 5ms}}"),
            "7:24: `pad` must be from 1 to 9 digits, not 0"
        );
        assert!(err("  app: {count: 3, pad: 10, service: {constant: 5ms}}").contains("not 10"));
        assert!(err("  web-{01..: {service: {constant: 5ms}}").starts_with("7:3: "));
    }

    #[test]
    fn json_is_accepted() {
        let json = r#"{"duration": "1m", "clients": {"web": {"target": "edge", "rate": "10/s"}},
            "balancers": {"edge": {"backends": ["s1"]}}, "servers": {"s1": {"service": {"exponential": "5ms"}}}}"#;
        let s = parse_text(json).unwrap();
        assert_eq!(s.servers.0[0].0.value, "s1");
    }
}
