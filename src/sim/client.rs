//! Client groups at run time: the arrival process (with the timeline's rate
//! changes), the user population, timeout lists, and retry budgets.

use rand_distr::{Distribution, Exp1, Zipf};

use crate::engine::{FifoTimers, Handle};
use crate::model::{ArrivalKind, Popularity};
use crate::model::{Budget, ClientDef, Load};
use crate::rng::{SimRng, below};
use crate::time::{SimTime, secs_to_nanos};

/// Who sends the next request.
pub(super) enum UserPicker {
    Uniform(u32),
    /// The distribution over `1..=n`, and `n`.
    Zipf(Zipf<f64>, u32),
}

pub(super) struct ClientState {
    pub rng: SimRng,
    users: UserPicker,
    /// Time of the last open-loop arrival, in seconds of the process's own
    /// clock (kept as f64 so a profile's integral inverts exactly).
    process_time: f64,
    /// Open-loop arrivals so far (constant spacing starts with one at t = 0).
    arrivals: u64,
    /// Bumped when the rate changes: pending arrival events become stale.
    pub arrival_gen: u32,
    /// Rate changes from the timeline: (change, new rate, factor).
    pub rate_layers: Vec<(u32, Option<f64>, Option<f64>)>,
    rate_override: Option<f64>,
    rate_factor: f64,
    /// 1 / rate when the effective rate is constant (no profile in force),
    /// 0 when it is zero; None when the profile must be integrated.
    constant_gap: Option<f64>,
    /// Pending call deadlines (the group's `timeout`), in order.
    pub call_timers: FifoTimers<Handle>,
    /// Pending per-try deadlines, in order.
    pub try_timers: FifoTimers<Handle>,
    /// Attempts the clients are waiting on, and how many of them are retries.
    pub active_attempts: u32,
    pub active_retries: u32,
    /// Token-bucket budget state.
    pub tokens: f64,
    /// Copied from the definition to keep the hot path off `World`.
    pub call_timeout: Option<u64>,
    pub per_try_timeout: Option<u64>,
    /// The balancer when there is only one.
    pub single_target: Option<u32>,
    /// The constant network latency from the group to its balancers, folded
    /// into event times (0 without a network, or when latencies vary).
    pub displacement: u64,
    /// Every path to the balancers is delivered with exactly that latency
    /// and no loss: requests need not look at the network on the way in.
    pub fixed_forward: bool,
    /// A replay group's place in its trace (None for every other group).
    pub replay: Option<Box<super::replay::ReplayCursor>>,
    /// The open-loop arrival process (None: closed loop).
    arrival: Option<ArrivalKind>,
    /// Closed loop: a user sends again after each outcome.
    pub closed_loop: bool,
    /// A token-bucket retry budget's (max tokens, tokens per success).
    pub token_refill: Option<(f64, f64)>,
    /// No retries: a call is its one attempt, and needs no record of its
    /// own (see `NO_CALL`).
    pub single_attempt: bool,
    /// A retry budget by ratio reads `active_attempts` and `active_retries`:
    /// only then are they kept.
    pub counts_active: bool,
}

/// Whether each call of the group is exactly one attempt: no retries.
pub(super) fn single_attempt(def: &ClientDef) -> bool {
    def.retry.is_none()
}

/// The user (in `0..n`, `n >= 1`) of a Zipf draw `x` over `1..=n`. The draw
/// is floating point and may round to one past `n`; the user id must stay
/// below the group's size (the recorder takes it unchecked), so it is
/// clamped to the last user.
#[inline(always)]
fn zipf_user(x: f64, n: u32) -> u32 {
    (x as u32).saturating_sub(1).min(n - 1)
}

impl ClientState {
    pub(super) fn new(def: &ClientDef, rng: SimRng) -> ClientState {
        let n = def.users.clamp(1, u64::from(u32::MAX)) as u32;
        let users = match def.popularity {
            Popularity::Uniform => UserPicker::Uniform(n),
            Popularity::Zipf(s) => match Zipf::new(f64::from(n), s) {
                Ok(z) => UserPicker::Zipf(z, n),
                Err(_) => UserPicker::Uniform(n),
            },
        };
        let token_refill = match def.retry.as_ref().and_then(|r| r.budget) {
            Some(Budget::TokenBucket { max_tokens, token_ratio }) => Some((max_tokens, token_ratio)),
            _ => None,
        };
        let tokens = token_refill.map_or(0.0, |(max_tokens, _)| max_tokens);
        let arrival = match &def.load {
            Load::Open { arrival, .. } => Some(*arrival),
            Load::Closed { .. } | Load::Replay(_) => None,
        };
        let mut s = ClientState {
            rng,
            users,
            process_time: 0.0,
            arrivals: 0,
            arrival_gen: 0,
            rate_layers: Vec::new(),
            rate_override: None,
            rate_factor: 1.0,
            constant_gap: None,
            call_timers: FifoTimers::new(),
            try_timers: FifoTimers::new(),
            active_attempts: 0,
            active_retries: 0,
            tokens,
            call_timeout: def.timeout,
            per_try_timeout: def.retry.as_ref().and_then(|r| r.per_try_timeout),
            single_target: (def.targets.len() == 1).then(|| def.targets[0].0),
            displacement: 0,
            fixed_forward: false,
            replay: None,
            arrival,
            closed_loop: matches!(def.load, Load::Closed { .. }),
            token_refill,
            single_attempt: single_attempt(def),
            counts_active: def.retry.as_ref().is_some_and(|r| matches!(r.budget, Some(Budget::Ratio { .. }))),
        };
        s.constant_gap = s.compute_gap(def);
        s
    }

    fn compute_gap(&self, def: &ClientDef) -> Option<f64> {
        let Load::Open { profile, .. } = &def.load else { return None };
        let rate = match self.rate_override {
            Some(r) => r,
            None if profile.is_constant() => profile.segments[0].rate,
            None => return None,
        } * self.rate_factor;
        Some(if rate > 0.0 { 1.0 / rate } else { 0.0 })
    }

    /// A user id in `0..users`.
    #[inline]
    pub(super) fn pick_user(&mut self) -> u32 {
        match &self.users {
            UserPicker::Uniform(n) => below(&mut self.rng, *n),
            UserPicker::Zipf(z, n) => zipf_user(z.sample(&mut self.rng), *n),
        }
    }

    /// Recomputes the rate override and factor from the layers, and
    /// restarts the arrival process at `now` (memoryless for Poisson).
    pub(super) fn apply_rate_layers(&mut self, now: SimTime, def: &ClientDef) {
        self.rate_override = self.rate_layers.iter().rev().find_map(|l| l.1);
        self.rate_factor = self.rate_layers.iter().filter_map(|l| l.2).product();
        self.constant_gap = self.compute_gap(def);
        self.process_time = now.as_secs_f64();
        self.arrival_gen = self.arrival_gen.wrapping_add(1);
    }

    /// Time of the next open-loop arrival, or `None` when the rate stays at
    /// zero from now on.
    #[inline(always)]
    pub(super) fn next_open_arrival(&mut self, def: &ClientDef) -> Option<SimTime> {
        let mass = match self.arrival? {
            ArrivalKind::Poisson => Exp1.sample(&mut self.rng),
            // Evenly spaced, the first at the start (as a constant-rate load generator does).
            ArrivalKind::Constant if self.arrivals == 0 => 0.0,
            ArrivalKind::Constant => 1.0,
        };
        self.arrivals += 1;
        let next = if let Some(gap) = self.constant_gap {
            if gap == 0.0 {
                return None;
            }
            self.process_time + mass * gap
        } else {
            let Load::Open { profile, .. } = &def.load else { return None };
            if self.rate_factor <= 0.0 {
                return None;
            }
            profile.advance(self.process_time, mass / self.rate_factor)?
        };
        self.process_time = next;
        Some(SimTime(secs_to_nanos(next)))
    }
}

#[cfg(test)]
mod tests {
    use super::zipf_user;

    #[test]
    fn a_zipf_draw_gives_a_user_of_the_group() {
        assert_eq!(zipf_user(1.0, 10), 0);
        assert_eq!(zipf_user(10.0, 10), 9);
        // A draw that rounded past `n` still names the last user.
        assert_eq!(zipf_user(11.0, 10), 9);
        assert_eq!(zipf_user(2.0, 1), 0);
        assert_eq!(zipf_user(0.0, 1), 0);
    }
}
