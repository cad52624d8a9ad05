//! The catalogue of `lbsim check` rules: each with a stable ID, a short
//! name, a severity, a one-line why and a default help line. IDs never change
//! meaning once shipped (a retired rule keeps its number unused), so CI
//! configurations and SARIF baselines that name them keep working.
//!
//! docs/check.md documents each rule with a bad and a good example;
//! `tests/check.rs` checks that every rule here is documented there.

use std::fmt;

/// How much a finding matters.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; never fails anything.
    Note,
    /// Probably a mistake; fails `check` only with `--deny warnings`.
    Warning,
    /// A misconfiguration: `check` exits 1.
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The family a rule belongs to (one source file each in `src/check/`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Family {
    Scenario,
    Balancers,
    Network,
    Redundancy,
    Capacity,
    Clients,
    Monitoring,
    Timeline,
    Differential,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Scenario => "scenario",
            Family::Balancers => "balancers",
            Family::Network => "network",
            Family::Redundancy => "redundancy",
            Family::Capacity => "capacity",
            Family::Clients => "clients",
            Family::Monitoring => "monitoring",
            Family::Timeline => "timeline",
            Family::Differential => "differential",
        }
    }
}

/// One rule of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable ID, e.g. `BAL001`.
    pub id: &'static str,
    /// Short kebab-case name, e.g. `single-backend`.
    pub name: &'static str,
    pub family: Family,
    pub severity: Severity,
    /// What the rule finds, in a line.
    pub summary: &'static str,
    /// Why it matters, in a line.
    pub why: &'static str,
    /// The usual fix, in a line (a finding may give a more specific one).
    pub help: &'static str,
}

macro_rules! rules {
    ($($konst:ident = $id:literal $name:literal $family:ident $sev:ident
        summary: $summary:literal why: $why:literal help: $help:literal;)*) => {
        $(pub const $konst: &Rule = &Rule {
            id: $id,
            name: $name,
            family: Family::$family,
            severity: Severity::$sev,
            summary: $summary,
            why: $why,
            help: $help,
        };)*
        /// Every rule, in catalogue order.
        pub const ALL: &[&Rule] = &[$($konst,)*];
    };
}

rules! {
    SCENARIO_INVALID = "SCN001" "invalid-scenario" Scenario Error
        summary: "the scenario does not compile: an unknown name (a backend that does not exist), an impossible value"
        why: "nothing else can be checked, and `lbsim run` refuses it"
        help: "fix the value the message points at";
    COMPILER_WARNING = "SCN002" "compiler-warning" Scenario Warning
        summary: "something the compiler allows but probably did not mean (a server no balancer uses, a change after the end)"
        why: "the run will not simulate what the file seems to say"
        help: "remove the unused part, or connect it";
    SINGLE_BACKEND = "BAL001" "single-backend" Balancers Warning
        summary: "a balancer with one backend in rotation"
        why: "one server takes all of the balancer's traffic: when it is slow or down, so is every request"
        help: "put at least two servers in rotation, or add `validation: {min_backends: 2}` so that no change leaves one";
    DOMINANT_WEIGHT = "BAL002" "dominant-weight" Balancers Warning
        summary: "weights that give one backend more than half of a balancer's traffic"
        why: "that server saturates long before the others, and its failure takes most requests with it"
        help: "spread the weights, or add `validation: {max_weight_share: 50%}`";
    NO_USABLE_BACKEND = "BAL003" "no-usable-backend" Balancers Error
        summary: "a balancer whose backends in rotation are all down or weighted 0 (or that has none)"
        why: "every request sent to it fails"
        help: "put running servers with a weight above 0 in rotation";
    HEALTH_BLIND = "BAL004" "health-blind" Balancers Warning
        summary: "no health checks or outlier detection on a balancer whose servers can fail or crash in the scenario"
        why: "the balancer keeps sending to a dead server; least connections sends it the most, since a server that refuses at once never has requests in flight"
        help: "add `health_check: {interval: 5s}` or `outlier_detection: {}` to the balancer";
    DOWN_BACKEND = "BAL005" "down-backend-in-rotation" Balancers Warning
        summary: "a server that is down kept in a balancer's rotation"
        why: "its share of the requests fails until it is restarted"
        help: "take it out of `backends:`, or add health checks";
    UNREACHABLE_SERVICE = "NET001" "unreachable-service" Network Error
        summary: "a client subnet whose requests do not reach the balancer it targets (wrong destination, blackhole, reject, loop, no route)"
        why: "every request from the subnet fails: its users cannot use the service"
        help: "fix the route that sends the subnet's traffic elsewhere";
    BROKEN_RETURN_PATH = "NET002" "broken-return-path" Network Error
        summary: "answers that cannot get back: a balancer to a client subnet, or a server to its balancer (a missing or wrong return route)"
        why: "the work is done but the answer is lost; the client waits for its timeout"
        help: "add or fix the route back towards the sender";
    VLAN_MISMATCH = "NET003" "vlan-mismatch" Network Warning
        summary: "a switch port on a VLAN where the peers it talks to are not"
        why: "a switch forwards only within a VLAN: the node is cut off from its peers on that switch"
        help: "put the port on its peers' VLAN";
    BACKEND_UNREACHABLE = "NET004" "backend-unreachable" Network Error
        summary: "a balancer that cannot reach a backend in its rotation over the network"
        why: "the requests it sends there are lost or refused"
        help: "fix the balancer's route, the switch port or the link towards the server";
    DEGRADED_PATH = "NET005" "degraded-path" Network Warning
        summary: "a path in use that loses more than 1% of packets or takes more than 250 ms one way on average"
        why: "users see timeouts and slow answers on every request that takes it"
        help: "route around the lossy or slow link";
    SINGLE_BALANCER = "SPF001" "single-balancer" Redundancy Note
        summary: "a client group that reaches its service through one balancer only"
        why: "the balancer is a single point of failure: a bad change or an outage on it reaches every user"
        help: "give the group a second balancer (`target: [lb-a, lb-b]`)";
    SINGLE_LINK = "SPF002" "single-link" Redundancy Note
        summary: "a link that every path between a client group and its service (or a balancer and its servers) crosses"
        why: "when that link goes down, the service is cut off"
        help: "add a second link or path, with tracked routes so traffic moves over";
    SINGLE_NODE = "SPF003" "single-switch-or-router" Redundancy Note
        summary: "a router or switch that every such path crosses"
        why: "a bad change on it, or its failure, takes the whole service down"
        help: "add a redundant router or switch, with tracked routes so traffic moves over";
    OVER_CAPACITY = "CAP001" "over-capacity" Capacity Error
        summary: "offered load at its peak above what a balancer's rotation can serve (workers / mean service time)"
        why: "queues grow without bound: requests are rejected or time out, servers with crash rules fall over"
        help: "add servers or workers, or lower the load";
    NO_N_PLUS_ONE = "CAP002" "no-n-plus-one" Capacity Warning
        summary: "offered load at its peak above the capacity that is left with the largest server out (N+1)"
        why: "one server failing, or out for a deploy, overloads the rest"
        help: "add a server's worth of capacity";
    FIXED_SPLIT_OVERLOAD = "CAP003" "fixed-split-overload" Capacity Warning
        summary: "a server that a fixed split (round robin, random, consistent hash) sends more than it can serve, though the rotation as a whole could"
        why: "these algorithms do not look at load: the slower or smaller server's queue grows while the others idle"
        help: "lower its weight, or use `least_connections` or `power_of_two_choices`";
    RETRY_AMPLIFICATION = "CLI001" "retry-amplification" Clients Warning
        summary: "retries that can multiply a group's load by more than 2 without a retry budget"
        why: "when the servers struggle, retries multiply the load on them and turn a slowdown into an outage"
        help: "add `retry: {budget: {ratio: 20%}}`, or allow fewer attempts";
    TIMEOUT_BELOW_P99 = "CLI002" "timeout-below-p99" Clients Warning
        summary: "a client timeout (or per-try timeout) shorter than the p99 service time of the servers it reaches"
        why: "more than 1% of requests time out even when nothing is wrong (and are retried, doubling their load)"
        help: "raise the timeout above the service's p99";
    ALERT_NEVER_FIRES = "MON001" "alert-never-fires" Monitoring Warning
        summary: "an alert on a metric this scenario never produces (always zero, or constant)"
        why: "the alert looks like protection but can never page anyone"
        help: "alert on a metric the scenario produces, or add what produces it";
    THRESHOLD_OUT_OF_RANGE = "MON002" "threshold-out-of-range" Monitoring Warning
        summary: "an alert threshold outside the values its metric can take (above 100%, below 0)"
        why: "the condition can never hold, so the alert can never fire"
        help: "write a threshold within the metric's range, e.g. `above: 5%`";
    SLO_UNWATCHED = "MON003" "slo-unwatched" Monitoring Warning
        summary: "an SLO that no alert watches"
        why: "the objective can be breached without anyone being paged"
        help: "add an alert on the SLO's metric (e.g. `metric: error_rate` for availability)";
    CHANGE_BLOCKED = "TLN001" "change-blocked" Timeline Note
        summary: "a timeline change the scenario's validation (balancer `validation:`, `network.validation`) would block"
        why: "the change never takes effect: the validation is doing its job"
        help: "nothing to do; remove the change if it is not meant to be tested";
    OUTCOME_CHANGED = "DIF001" "outcome-changed" Differential Error
        summary: "with --against: a client subnet -> service pair whose outcome differs from the baseline's"
        why: "users behind that subnet gain or lose the service"
        help: "check that the change means to move this traffic";
    CAPACITY_DROPPED = "DIF002" "capacity-dropped" Differential Warning
        summary: "with --against: a balancer's rotation serves less than in the baseline"
        why: "the service has less headroom than before the change"
        help: "check that the change means to remove capacity";
}

/// The rule with this ID or name.
pub fn find(id_or_name: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id.eq_ignore_ascii_case(id_or_name) || r.name == id_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        for (i, a) in ALL.iter().enumerate() {
            assert_eq!(a.id.len(), 6, "{}", a.id);
            assert!(a.id[..3].chars().all(|c| c.is_ascii_uppercase()), "{}", a.id);
            assert!(a.id[3..].chars().all(|c| c.is_ascii_digit()), "{}", a.id);
            assert!(a.name.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()), "{}", a.name);
            for b in &ALL[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(find("bal001"), Some(SINGLE_BACKEND));
        assert_eq!(find("single-backend"), Some(SINGLE_BACKEND));
        assert_eq!(find("nope"), None);
    }
}
