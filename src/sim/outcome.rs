//! The request path's end (run stage, `sim`): an attempt is over, as the
//! balancer and the client see it; a call succeeds, or fails and is retried
//! when the policy and the budget allow (with backoff and jitter); the
//! bookkeeping when a call has its outcome (Little's law, the closed-loop
//! user's next send); and the clients' call and try timeouts.

use super::{Attempt, Call, Event, NO_CALL, Simulation, Stage};
use crate::engine::Handle;
use crate::metrics::{Failure, ServerOutcome};
use crate::model::{Budget, Jitter, Load, RetryOn, ServerId};
use crate::rng::unit_f64;
use crate::time::SimDuration;

impl Simulation {
    /// An attempt is over: `failure` None is a success. The balancer sees
    /// the server's outcome; the client (unless it gave up on this attempt)
    /// gets its answer `delay` ns from now, or retries.
    #[inline(always)]
    pub(super) fn end_attempt(
        &mut self,
        handle: Handle,
        att: Attempt,
        failure: Option<Failure>,
        at_server: Option<ServerOutcome>,
        delay: u64,
    ) {
        if let Some(outcome) = at_server {
            // SAFETY: a server outcome is a routed attempt's, and the recorder
            // was made with the world's sizes ("Ids on the request path", `Simulation`).
            unsafe { self.recorder.on_server_outcome(att.server, outcome, att.counted) };
            self.balancer_sees(&att, outcome);
        }
        if !att.abandoned && delay > 0 && self.arrives_too_late(&att, delay) {
            // The answer would reach the client after its deadline: the
            // timeout fires first and counts it.
            if let Some(a) = self.attempts.get_mut(handle) {
                a.stage = Stage::Lost;
                a.released = true;
            }
            return;
        }
        self.attempts.remove(handle);
        if att.abandoned {
            return;
        }
        self.client_attempt_over(&att);
        let Some(call) = self.call_of(&att, handle) else { return };
        match failure {
            None => self.call_succeeded(att.call, &call, delay, att.server, handle),
            Some(why) => self.attempt_failed(att.call, &call, why, delay),
        }
    }

    /// The call of attempt `att` (handle `handle`): its record, or for a
    /// `NO_CALL` attempt what its record would hold. None: the call is over.
    #[inline(always)]
    pub(super) fn call_of(&self, att: &Attempt, handle: Handle) -> Option<Call> {
        if att.call == NO_CALL { Some(att.as_call(handle)) } else { self.calls.get(att.call).copied() }
    }

    /// Whether an answer leaving now reaches the client after a deadline.
    #[inline(always)]
    fn arrives_too_late(&self, att: &Attempt, delay: u64) -> bool {
        self.now + SimDuration(delay) > att.deadline
    }

    /// The client stops counting an attempt as active.
    #[inline(always)]
    pub(super) fn client_attempt_over(&mut self, att: &Attempt) {
        if att.call == NO_CALL {
            // A group without retries has no budget to count for.
            debug_assert!(!self.clients[att.client as usize].counts_active);
            return;
        }
        let cs = &mut self.clients[att.client as usize];
        if !cs.counts_active {
            return;
        }
        cs.active_attempts = cs.active_attempts.saturating_sub(1);
        if att.retry {
            cs.active_retries = cs.active_retries.saturating_sub(1);
        }
    }

    /// The call succeeded (its attempt `ended` is over); the client has the
    /// answer `delay` ns from now.
    #[inline(always)]
    fn call_succeeded(&mut self, call_h: Handle, call: &Call, delay: u64, server: ServerId, ended: Handle) {
        let latency = (self.now + SimDuration(delay)).since(call.created).0;
        // SAFETY: a client id and user of the run, and the recorder was made
        // with the world's sizes ("Ids on the request path", `Simulation`).
        unsafe { self.recorder.on_success(call.client, call.user, call.created.0, latency, server, call.subnet) };
        // A group without retries (`NO_CALL`) has no budget to refill.
        debug_assert!(call_h != NO_CALL || self.clients[call.client as usize].token_refill.is_none());
        if call_h != NO_CALL {
            let cs = &mut self.clients[call.client as usize];
            if let Some((max_tokens, token_ratio)) = cs.token_refill {
                cs.tokens = (cs.tokens + token_ratio).min(max_tokens);
            }
        }
        self.finish_call(call_h, call, delay, Some(ended));
    }

    /// An attempt failed (the client learns it `delay` ns from now): retry
    /// if the policy and budget allow, else the call fails.
    pub(super) fn attempt_failed(&mut self, call_h: Handle, call: &Call, why: Failure, delay: u64) {
        let client = call.client as usize;
        if let Some(policy) = &self.world.clients[client].retry {
            let cs = &mut self.clients[client];
            if let Some(Budget::TokenBucket { .. }) = policy.budget {
                cs.tokens = (cs.tokens - 1.0).max(0.0);
            }
            let kind = match why {
                Failure::TimedOut | Failure::Dropped | Failure::Loop | Failure::ResponseLost => RetryOn::Timeout,
                Failure::Rejected => RetryOn::Rejected,
                Failure::ServerError | Failure::Misrouted => RetryOn::ServerError,
                Failure::Refused | Failure::Unreachable => RetryOn::Refused,
                Failure::Reset => RetryOn::Reset,
                Failure::NoBackend => RetryOn::NoBackend,
            };
            let budget_ok = match policy.budget {
                None => true,
                Some(Budget::Ratio { ratio, min_concurrency }) => {
                    let allowed = (ratio * f64::from(cs.active_attempts)).max(f64::from(min_concurrency));
                    f64::from(cs.active_retries) < allowed
                }
                Some(Budget::TokenBucket { max_tokens, .. }) => cs.tokens > max_tokens / 2.0,
            };
            if call.attempts < policy.attempts && policy.retries(kind) && budget_ok {
                let cap =
                    policy.backoff_base.saturating_mul(1u64 << (call.attempts - 1).min(32)).min(policy.backoff_max);
                let backoff = match policy.jitter {
                    Jitter::Full => (unit_f64(&mut cs.rng) * cap as f64) as u64,
                    Jitter::Equal => cap / 2 + (unit_f64(&mut cs.rng) * (cap / 2) as f64) as u64,
                    Jitter::None => cap,
                };
                // The retry is sent after the backoff and reaches the
                // balancer the group's folded latency later.
                let at = self.now + SimDuration(delay + backoff + cs.displacement);
                self.events.push(at, Event::Retry { call: call_h });
                return;
            }
        }
        self.recorder.on_failure(call.client, call.user, call.created.0, why, call.subnet);
        self.finish_call(call_h, call, delay, None);
    }

    /// Bookkeeping when a call has its outcome: the in-system count, the
    /// attempt it leaves behind, and the closed-loop user's next request
    /// (the client has the outcome `delay` ns from now). `ended`: an
    /// attempt of the call already removed (nothing to look up for it).
    #[inline(always)]
    fn finish_call(&mut self, call_h: Handle, call: &Call, delay: u64, ended: Option<Handle>) {
        // The client no longer waits for the current attempt; one the
        // network lost holds nothing anywhere and goes.
        if ended != Some(call.current)
            && let Some(a) = self.attempts.get_mut(call.current)
            && a.call == call_h
            && !a.abandoned
        {
            a.abandoned = true;
            let a = *a;
            self.client_attempt_over(&a);
            if a.stage == Stage::Lost {
                self.attempts.remove(call.current);
            }
        }
        if call_h == NO_CALL {
            self.callless -= 1;
        } else {
            self.calls.remove(call_h);
        }
        self.leave_system();
        // Little's law counts a call from when it entered the simulation to
        // when its outcome was decided (now), the time it spent in `in_system`.
        // SAFETY: a client id of the run ("Ids on the request path", `Simulation`).
        let cs = unsafe { self.clients.get_unchecked(call.client as usize) };
        let (displacement, closed_loop) = (cs.displacement, cs.closed_loop);
        // The call entered the simulation at its creation (the user's send)
        // plus the group's constant path latency to the balancer, which is
        // folded into the time its events fire.
        let entered = call.created + SimDuration(displacement);
        if call.created >= self.world.warmup {
            self.sojourn_sum_ns += u128::from(self.now.since(entered).0);
            self.sojourn_count += 1;
        } else if self.now > self.world.warmup {
            // Sent during the warm-up, finished after it: only the part
            // inside the measured period counts.
            self.edge_ns += u128::from(self.now.since(entered.max(self.world.warmup)).0);
        }
        if closed_loop
            && self.may_generate()
            && let Load::Closed { think } = &self.world.clients[call.client as usize].load
        {
            let cs = &mut self.clients[call.client as usize];
            let pause = think.sample(&mut cs.rng);
            let at = self.now + SimDuration(delay + pause + cs.displacement);
            self.events.push(at, Event::UserSend { client: call.client, user: call.user });
        }
    }

    pub(super) fn on_call_timeout(&mut self, client: u32) {
        let now = self.now;
        let single = self.clients[client as usize].single_attempt;
        loop {
            // Most timers reach the head after their call finished: this
            // loop drops one per request (30 instructions on three-hops).
            // SAFETY: a client id of the run ("Ids on the request path",
            // `Simulation`).
            let timers = &mut unsafe { self.clients.get_unchecked_mut(client as usize) }.call_timers;
            let Some((deadline, timer)) = timers.front() else { break };
            // The timer holds the call's handle, or its attempt's when the
            // call has no record (a call is over when that attempt is gone
            // or abandoned).
            let found = if single {
                self.attempts.get(timer).filter(|a| !a.abandoned).map(|a| (NO_CALL, a.as_call(timer)))
            } else {
                self.calls.get(timer).map(|c| (timer, *c))
            };
            let Some((call_h, call)) = found else {
                // Finished already: drop it, due or not.
                timers.pop();
                continue;
            };
            if deadline > now {
                break;
            }
            timers.pop();
            // A request the network lost times out blamed on the network.
            let why = self
                .attempts
                .get(call.current)
                .filter(|a| a.call == call_h && !a.abandoned)
                .and_then(|a| a.lost)
                .unwrap_or(Failure::TimedOut);
            self.recorder.on_failure(call.client, call.user, call.created.0, why, call.subnet);
            self.finish_call(call_h, &call, 0, None);
        }
        if let Some(next) = self.clients[client as usize].call_timers.next_deadline() {
            self.events.push(next, Event::CallTimeout { client });
        }
    }

    pub(super) fn on_try_timeout(&mut self, client: u32) {
        let now = self.now;
        while let Some((deadline, handle)) = self.clients[client as usize].try_timers.front() {
            let Some(a) = self.attempts.get(handle).copied().filter(|a| !a.abandoned) else {
                self.clients[client as usize].try_timers.pop();
                continue;
            };
            if deadline > now {
                break;
            }
            self.clients[client as usize].try_timers.pop();
            if let Some(x) = self.attempts.get_mut(handle) {
                x.abandoned = true;
            }
            if a.stage == Stage::Lost {
                self.attempts.remove(handle);
            }
            self.client_attempt_over(&a);
            if let Some(call) = self.call_of(&a, handle) {
                self.attempt_failed(a.call, &call, a.lost.unwrap_or(Failure::TimedOut), 0);
            }
        }
        if let Some(next) = self.clients[client as usize].try_timers.next_deadline() {
            self.events.push(next, Event::TryTimeout { client });
        }
    }
}
