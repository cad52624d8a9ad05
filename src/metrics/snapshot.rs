//! One interval's metrics, as a flat table every consumer reads: the series
//! writer, alert rules, SLO checks and the chart store.
//!
//! Metrics are named by small enums (one per entity kind) so that a rule in a
//! scenario file is resolved to an array index once, when the scenario is
//! compiled, and evaluating it at each interval is an indexed load.

use super::Failure;

macro_rules! metric_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub const COUNT: usize = $name::ALL.len();

            /// The name used in `timeseries.csv` and in scenario files.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|m| m.name() == text)
            }

            pub fn names() -> Vec<&'static str> {
                $name::ALL.iter().map(|m| m.name()).collect()
            }

            #[inline]
            pub fn idx(self) -> usize {
                self as usize
            }
        }
    };
}

metric_enum! {
    /// Metrics of the whole system in one interval.
    GlobalMetric {
        /// Requests (calls) users sent.
        Requests => "requests",
        /// Calls answered successfully.
        Completed => "completed",
        /// Calls that failed, any reason.
        Failed => "failed",
        Rejected => "rejected",
        TimedOut => "timed_out",
        NoBackend => "no_backend",
        ServerError => "server_error",
        Refused => "refused",
        Reset => "reset",
        Unreachable => "unreachable",
        Dropped => "dropped",
        Loop => "loop",
        Misrouted => "misrouted",
        ResponseLost => "response_lost",
        /// failed / (completed + failed).
        ErrorRate => "error_rate",
        ThroughputRps => "throughput_rps",
        LatencyP50 => "latency_p50_ms",
        LatencyP90 => "latency_p90_ms",
        LatencyP99 => "latency_p99_ms",
        LatencyMax => "latency_max_ms",
        /// Calls without an outcome at the end of the interval.
        InFlight => "in_flight",
        /// Distinct users with at least one failure in the interval.
        UsersFailed => "users_failed",
        /// Attempts sent (first tries and retries).
        Attempts => "attempts",
        Retries => "retries",
    }
}

metric_enum! {
    /// Metrics of one server in one interval.
    ServerMetric {
        Requests => "requests",
        Completed => "completed",
        /// Requests the server answered with an error or dropped: rejected,
        /// 5xx, refused while down, reset by a crash.
        Errors => "errors",
        ErrorRate => "error_rate",
        Rejected => "rejected",
        Share => "share",
        Utilisation => "utilisation",
        Queue => "queue",
        MaxQueue => "max_queue",
        /// 1 when the server is up at the end of the interval.
        Up => "up",
        /// Mean response time users saw for requests this server answered.
        LatencyMs => "latency_ms",
    }
}

metric_enum! {
    /// Metrics of one balancer in one interval.
    BalancerMetric {
        Requests => "requests",
        NoBackend => "no_backend",
        /// Backends the balancer considers usable at the end of the interval.
        HealthyBackends => "healthy_backends",
        /// The largest share of this balancer's requests sent to one backend.
        MaxShare => "max_share",
        Up => "up",
    }
}

metric_enum! {
    /// Metrics of one client subnet (with a network) in one interval.
    SubnetMetric {
        Requests => "requests",
        Completed => "completed",
        Failed => "failed",
        ErrorRate => "error_rate",
    }
}

metric_enum! {
    /// Metrics of one client group in one interval.
    ClientMetric {
        Requests => "requests",
        Completed => "completed",
        Failed => "failed",
        ErrorRate => "error_rate",
        Attempts => "attempts",
    }
}

impl GlobalMetric {
    /// The per-reason failure count metric.
    pub fn of_failure(f: Failure) -> GlobalMetric {
        match f {
            Failure::Rejected => GlobalMetric::Rejected,
            Failure::TimedOut => GlobalMetric::TimedOut,
            Failure::NoBackend => GlobalMetric::NoBackend,
            Failure::ServerError => GlobalMetric::ServerError,
            Failure::Refused => GlobalMetric::Refused,
            Failure::Reset => GlobalMetric::Reset,
            Failure::Unreachable => GlobalMetric::Unreachable,
            Failure::Dropped => GlobalMetric::Dropped,
            Failure::Loop => GlobalMetric::Loop,
            Failure::Misrouted => GlobalMetric::Misrouted,
            Failure::ResponseLost => GlobalMetric::ResponseLost,
        }
    }
}

/// One row of metrics per entity, all in one flat vector (a million
/// servers are one allocation, not a million).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    width: usize,
    values: Vec<f64>,
}

impl Rows {
    /// `rows` rows of `width` zeros.
    pub fn new(rows: usize, width: usize) -> Rows {
        Rows { width, values: vec![0.0; rows * width] }
    }

    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    #[inline]
    pub fn get(&self, row: usize) -> Option<&[f64]> {
        self.values.get(row * self.width..(row + 1) * self.width)
    }

    pub fn iter(&self) -> std::slice::ChunksExact<'_, f64> {
        self.values.chunks_exact(self.width.max(1))
    }

    pub fn iter_mut(&mut self) -> std::slice::ChunksExactMut<'_, f64> {
        self.values.chunks_exact_mut(self.width.max(1))
    }
}

impl std::ops::Index<usize> for Rows {
    type Output = [f64];
    #[inline]
    fn index(&self, row: usize) -> &[f64] {
        &self.values[row * self.width..(row + 1) * self.width]
    }
}

impl std::ops::IndexMut<usize> for Rows {
    #[inline]
    fn index_mut(&mut self, row: usize) -> &mut [f64] {
        &mut self.values[row * self.width..(row + 1) * self.width]
    }
}

/// The values of one closed interval.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub index: u32,
    /// Start and end, simulated nanoseconds.
    pub start: u64,
    pub end: u64,
    pub global: Vec<f64>,
    pub servers: Rows,
    pub balancers: Rows,
    pub clients: Rows,
    pub subnets: Rows,
}

impl Snapshot {
    pub fn sized(servers: usize, balancers: usize, clients: usize, subnets: usize) -> Snapshot {
        Snapshot {
            index: 0,
            start: 0,
            end: 0,
            global: vec![0.0; GlobalMetric::COUNT],
            servers: Rows::new(servers, ServerMetric::COUNT),
            balancers: Rows::new(balancers, BalancerMetric::COUNT),
            clients: Rows::new(clients, ClientMetric::COUNT),
            subnets: Rows::new(subnets, SubnetMetric::COUNT),
        }
    }

    #[inline]
    pub fn global(&self, m: GlobalMetric) -> f64 {
        self.global[m.idx()]
    }

    #[inline]
    pub fn server(&self, s: usize, m: ServerMetric) -> f64 {
        self.servers[s][m.idx()]
    }

    #[inline]
    pub fn balancer(&self, b: usize, m: BalancerMetric) -> f64 {
        self.balancers[b][m.idx()]
    }

    #[inline]
    pub fn client(&self, c: usize, m: ClientMetric) -> f64 {
        self.clients[c][m.idx()]
    }

    pub fn start_s(&self) -> f64 {
        self.start as f64 / 1e9
    }

    pub fn end_s(&self) -> f64 {
        self.end as f64 / 1e9
    }
}

/// Which entity kind a metric belongs to, with the metric itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Global(GlobalMetric),
    Server(ServerMetric),
    Balancer(BalancerMetric),
    Client(ClientMetric),
    Subnet(SubnetMetric),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_densely() {
        for (i, m) in GlobalMetric::ALL.iter().enumerate() {
            assert_eq!(m.idx(), i);
            assert_eq!(GlobalMetric::parse(m.name()), Some(*m));
        }
        assert_eq!(ServerMetric::parse("share"), Some(ServerMetric::Share));
        assert_eq!(ServerMetric::parse("shares"), None);
        for f in Failure::ALL {
            assert_eq!(GlobalMetric::of_failure(f).name(), f.name());
        }
    }

    #[test]
    fn rows_index_one_flat_vector() {
        let mut r = Rows::new(3, 2);
        r[1][1] = 5.0;
        assert_eq!((r.len(), r.get(1), r.get(3)), (3, Some(&[0.0, 5.0][..]), None));
        assert_eq!(r.iter().map(|row| row.iter().sum::<f64>()).collect::<Vec<_>>(), [0.0, 5.0, 0.0]);
        assert!(Rows::new(0, 4).is_empty() && Rows::new(0, 4).get(0).is_none());
    }
}
