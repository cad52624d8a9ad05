//! The open interval's counters, one small record per entity so that the
//! hot path touches one slot (one bounds check) per entity it counts for.
//! Totals over all entities (requests, completed, attempts) are sums taken
//! when the interval closes, not counted twice per request.

use super::FAILURE_KINDS;

/// One server's counts in the open interval.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ServerCounts {
    pub(super) requests: u64,
    pub(super) completed: u64,
    /// Rejected, 5xx, refused and reset.
    pub(super) errors: u64,
    pub(super) rejected: u64,
    pub(super) max_queue: u64,
    /// Sum of the latencies of the successes it served, and their number.
    pub(super) latency_ns: u64,
    pub(super) answered: u64,
}

/// One client group's counts in the open interval.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ClientCounts {
    pub(super) generated: u64,
    pub(super) completed: u64,
    pub(super) failed: u64,
    pub(super) attempts: u64,
}

/// One balancer's counts in the open interval.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct BalancerCounts {
    pub(super) requests: u64,
    pub(super) no_backend: u64,
}

/// One client subnet's counts in the open interval.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SubnetCounts {
    pub(super) generated: u64,
    pub(super) completed: u64,
    pub(super) failed: u64,
}

/// Counters for one interval.
#[derive(Clone, Debug, Default)]
pub(super) struct Interval {
    pub(super) failed: [u64; FAILURE_KINDS],
    pub(super) retries: u64,
    pub(super) users_failed: u64,
    pub(super) servers: Vec<ServerCounts>,
    pub(super) clients: Vec<ClientCounts>,
    pub(super) balancers: Vec<BalancerCounts>,
    pub(super) subnets: Vec<SubnetCounts>,
    /// Requests each balancer forwarded to each backend (for the max
    /// share): balancer `b`'s backends are `backend_requests[backend_start[b]..backend_start[b + 1]]`.
    backend_requests: Vec<u64>,
    backend_start: Vec<usize>,
}

impl Interval {
    pub(super) fn sized(servers: usize, balancer_backends: &[usize], clients: usize, subnets: usize) -> Interval {
        let mut backend_start = Vec::with_capacity(balancer_backends.len() + 1);
        let mut total = 0;
        backend_start.push(0);
        for &n in balancer_backends {
            total += n;
            backend_start.push(total);
        }
        Interval {
            servers: vec![ServerCounts::default(); servers],
            clients: vec![ClientCounts::default(); clients],
            balancers: vec![BalancerCounts::default(); balancer_backends.len()],
            subnets: vec![SubnetCounts::default(); subnets],
            backend_requests: vec![0; total],
            backend_start,
            ..Interval::default()
        }
    }

    /// Counts a request balancer `b` forwarded to its backend `backend`.
    #[inline(always)]
    pub(super) fn forwarded(&mut self, b: usize, backend: usize) {
        self.backend_requests[self.backend_start[b] + backend] += 1;
    }

    /// Requests balancer `b` forwarded, per backend.
    pub(super) fn backend_requests(&self, b: usize) -> &[u64] {
        &self.backend_requests[self.backend_start[b]..self.backend_start[b + 1]]
    }

    pub(super) fn generated(&self) -> u64 {
        self.clients.iter().map(|c| c.generated).sum()
    }

    pub(super) fn completed(&self) -> u64 {
        self.clients.iter().map(|c| c.completed).sum()
    }

    pub(super) fn attempts(&self) -> u64 {
        self.clients.iter().map(|c| c.attempts).sum()
    }

    pub(super) fn clear(&mut self) {
        self.failed = [0; FAILURE_KINDS];
        self.retries = 0;
        self.users_failed = 0;
        self.servers.fill(ServerCounts::default());
        self.clients.fill(ClientCounts::default());
        self.balancers.fill(BalancerCounts::default());
        self.subnets.fill(SubnetCounts::default());
        self.backend_requests.fill(0);
    }
}
