//! The request path on its way in (run stage, `sim`): arrivals of the
//! open-loop generators, a user's call, the choice of balancer, each
//! attempt's trip through the network and the balancer to a backend, the
//! server taking it, its completion, and the answer's way back. How an
//! attempt and a call end (retries, timeouts) is in `outcome`.

use super::balancer::{BalancerState, Passive};
use super::network::{Crossing, Leg};
use super::server::Arrival;
use super::{Attempt, Call, Event, NO_CALL, Simulation, Stage};
use crate::balancer::Algorithm;
use crate::engine::Handle;
use crate::metrics::{Failure, ServerOutcome};
use crate::model::{ServerId, TargetPolicy, World};
use crate::rng::mix64;
use crate::time::{SimDuration, SimTime};

impl Simulation {
    pub(super) fn on_arrival(&mut self, client: u32, generation: u32) {
        if !self.may_generate() {
            return;
        }
        // SAFETY (both): a client id of the run is in range of `clients`
        // and `world.clients` ("Ids on the request path", `Simulation`).
        let state = unsafe { self.clients.get_unchecked_mut(client as usize) };
        if generation != state.arrival_gen {
            return;
        }
        let def = unsafe { self.world.clients.get_unchecked(client as usize) };
        let user = state.pick_user();
        if let Some(t) = state.next_open_arrival(def) {
            let at = t + SimDuration(state.displacement);
            self.events.push_side(at, Event::Arrival { client, generation });
        }
        self.new_call(client, user);
    }

    /// When a call entered the simulation: its creation (the user's send)
    /// plus the group's constant path latency to the balancer, which is
    /// folded into the time its events fire.
    #[inline]
    pub(super) fn entered(&self, call: &Call) -> SimTime {
        call.created + SimDuration(self.clients[call.client as usize].displacement)
    }

    /// A user of `client` sends a request (the caller checked that the
    /// request budget allows it). With a network whose paths to the
    /// balancers have one constant latency, events fire when the request
    /// reaches the balancer, and the user sent it that latency earlier.
    #[inline(always)]
    pub(super) fn new_call(&mut self, client: u32, user: u32) {
        // SAFETY: a client id of the run ("Ids on the request path", `Simulation`).
        let cs = unsafe { self.clients.get_unchecked(client as usize) };
        let (displacement, call_timeout, single_attempt) = (cs.displacement, cs.call_timeout, cs.single_attempt);
        let created = SimTime(self.now.0.saturating_sub(displacement));
        self.generated += 1;
        let subnet = match &self.net {
            Some(n) => n.subnet_of(client, user) as u32,
            None => 0,
        };
        // SAFETY: a client id and user of the run, and the recorder was
        // made with the world's sizes ("Ids on the request path", `Simulation`).
        unsafe { self.recorder.on_call(client, user, created.0, subnet) };
        self.enter_system();
        let call =
            Call { created, user, client, subnet, attempts: 0, current: Handle { index: u32::MAX, generation: 0 } };
        if single_attempt {
            // No retries: the attempt is the call, and its timer holds the
            // attempt's handle.
            self.callless += 1;
            if call_timeout.is_some() {
                let attempt = self.attempts.next_handle();
                self.set_call_timer(client, created, call_timeout, attempt);
            }
            self.launch(NO_CALL, &Call { attempts: 1, ..call });
            return;
        }
        let call = self.calls.insert(call);
        self.set_call_timer(client, created, call_timeout, call);
        self.start_attempt(call);
    }

    /// Arms the call timeout of a call created at `created` (`timer`: the
    /// call's handle, or its attempt's when it has no record).
    #[inline(always)]
    fn set_call_timer(&mut self, client: u32, created: SimTime, call_timeout: Option<u64>, timer: Handle) {
        if let Some(timeout) = call_timeout {
            let deadline = created + SimDuration(timeout);
            if self.clients[client as usize].call_timers.push(deadline, timer) {
                self.events.push(deadline, Event::CallTimeout { client });
            }
        }
    }

    /// Chooses the balancer for a call's next attempt when the group has
    /// several. (An associated function, so the caller may hold the
    /// client's state meanwhile.)
    #[inline(never)]
    fn choose_balancer(
        world: &World,
        balancers: &[BalancerState],
        now: SimTime,
        client: u32,
        user: u32,
        attempt: u32,
    ) -> u32 {
        let def = &world.clients[client as usize];
        match def.target_policy {
            TargetPolicy::Spread => {
                // A user keeps its balancer (as with cached DNS); each retry
                // tries the next address in the list, as a client with
                // several addresses would.
                let total: u64 = def.targets.iter().map(|t| u64::from(t.1)).sum();
                let h = mix64(u64::from(user) ^ (u64::from(client) << 32));
                let mut pick = h % total.max(1);
                let mut first = 0;
                for (i, &(_, w)) in def.targets.iter().enumerate() {
                    if pick < u64::from(w) {
                        first = i;
                        break;
                    }
                    pick -= u64::from(w);
                }
                def.targets[(first + attempt as usize - 1) % def.targets.len()].0
            }
            TargetPolicy::Failover => def
                .targets
                .iter()
                .map(|t| t.0)
                .find(|&b| {
                    let lb = &balancers[b as usize];
                    !lb.down || now.since(lb.down_since).0 < def.failover_after
                })
                .unwrap_or(def.targets[0].0),
        }
    }

    #[inline(always)]
    pub(super) fn start_attempt(&mut self, call_h: Handle) {
        let Some(call) = self.calls.get_mut(call_h) else { return };
        call.attempts += 1;
        call.current = self.attempts.next_handle();
        let call = *call;
        self.launch(call_h, &call);
    }

    /// Sends the next attempt of `call` (handle `call_h`, or `NO_CALL`),
    /// its `call.attempts`-th.
    #[inline(always)]
    fn launch(&mut self, call_h: Handle, call: &Call) {
        let (client, user, attempt_no, subnet) = (call.client, call.user, call.attempts, call.subnet);
        let counted = call.created >= self.world.warmup;
        // SAFETY: a client id of the run ("Ids on the request path", `Simulation`).
        let cs = unsafe { self.clients.get_unchecked_mut(client as usize) };
        let (call_timeout, per_try_timeout, displacement) = (cs.call_timeout, cs.per_try_timeout, cs.displacement);
        let call_deadline = call_timeout.map_or(SimTime::MAX, |t| call.created + SimDuration(t));
        let retry = attempt_no > 1;
        let balancer = match cs.single_target {
            Some(b) => b,
            None => Self::choose_balancer(&self.world, &self.balancers, self.now, client, user, attempt_no),
        };
        let sent = SimTime(self.now.0.saturating_sub(displacement));
        let try_deadline = per_try_timeout.map_or(SimTime::MAX, |t| sent + SimDuration(t));
        let att = Attempt {
            call: call_h,
            created: call.created,
            client,
            user,
            subnet,
            balancer,
            backend: u32::MAX,
            server: ServerId::NONE,
            shift: 0,
            deadline: call_deadline.min(try_deadline),
            stage: Stage::ToBalancer,
            lost: None,
            abandoned: false,
            retry,
            released: false,
            counted,
        };
        let handle = self.attempts.insert(att);
        if cs.counts_active {
            cs.active_attempts += 1;
            cs.active_retries += u32::from(retry);
        }
        if !cs.single_attempt {
            // Otherwise the recorder counts the call as its attempt.
            self.recorder.on_attempt(client, retry, counted);
        }
        if try_deadline != SimTime::MAX && cs.try_timers.push(try_deadline, handle) {
            self.events.push(try_deadline, Event::TryTimeout { client });
        }
        if let Some(net) = self.net.as_mut().filter(|_| !cs.fixed_forward) {
            match net.cross(Leg::ToBalancer { subnet: subnet as usize, balancer }) {
                Crossing::Arrives(ns) if ns > displacement => {
                    self.events.push(self.now + SimDuration(ns - displacement), Event::AtBalancer { attempt: handle });
                    return;
                }
                Crossing::Arrives(_) => {}
                Crossing::FailsFast(why) => {
                    self.end_attempt(handle, att, Some(why), None, 0);
                    return;
                }
                Crossing::Lost(why) => {
                    self.lose(handle, att, why);
                    return;
                }
            }
        }
        self.balance(handle, att);
    }

    /// An attempt reaches its balancer over the network.
    pub(super) fn on_at_balancer(&mut self, handle: Handle) {
        if let Some(att) = self.attempts.get(handle).copied() {
            self.balance(handle, att);
        }
    }

    /// The network lost the attempt `att` (or its answer): it holds nothing
    /// anywhere, and nothing more happens to it until the client's timeout,
    /// which will be blamed on `why`. Unless the client gave up on it
    /// already: no timer will come for it then, so it goes now.
    fn lose(&mut self, handle: Handle, att: Attempt, why: Failure) {
        if att.abandoned {
            self.attempts.remove(handle);
        } else if let Some(a) = self.attempts.get_mut(handle) {
            *a = Attempt { stage: Stage::Lost, lost: Some(why), released: true, ..att };
        }
    }

    /// At the balancer: it picks a backend and forwards the attempt.
    #[inline(always)]
    fn balance(&mut self, handle: Handle, mut att: Attempt) {
        // SAFETY: one of the group's targets ("Ids on the request path", `Simulation`).
        let lb = unsafe { self.balancers.get_unchecked_mut(att.balancer as usize) };
        if lb.down {
            self.end_attempt(handle, att, Some(Failure::Refused), None, 0);
            return;
        }
        let key = mix64(u64::from(att.user) ^ (u64::from(att.client) << 32));
        let Some(backend) = lb.algorithm.pick(&lb.pool, key, &mut lb.rng) else {
            self.recorder.on_no_backend(att.balancer, att.counted);
            self.end_attempt(handle, att, Some(Failure::NoBackend), None, 0);
            return;
        };
        // The pick is checked here, once for the attempt's life.
        lb.pool.backends[backend as usize].inflight += 1;
        att.backend = backend;
        // SAFETY: `servers` is as long as `pool.backends`, just indexed.
        att.server = *unsafe { lb.servers.get_unchecked(backend as usize) };
        att.stage = Stage::ToServer;
        self.recorder.on_balancer(att.balancer, backend, att.counted);
        if let Some(net) = &mut self.net {
            // A constant, lossless hop to the server is applied as a shift:
            // the server takes the request now and its answer leaves that
            // much later. For the server's queue this is exact (every request
            // it gets from this balancer is shifted alike); the balancer's
            // in-flight count and timeline events see the server that much
            // early, a microsecond-scale difference on a LAN.
            if let Some(shift) = net.fixed_to_server(att.balancer, backend) {
                att.shift = shift;
                self.arrive_at_server(handle, att);
                return;
            }
            match net.cross(Leg::ToServer { balancer: att.balancer, backend }) {
                Crossing::Arrives(0) => {}
                Crossing::Arrives(ns) => {
                    if let Some(a) = self.attempts.get_mut(handle) {
                        *a = att;
                    }
                    self.events.push(self.now + SimDuration(ns), Event::AtServer { attempt: handle });
                    return;
                }
                Crossing::FailsFast(why) => {
                    // The balancer is refused: passive detection counts it.
                    self.balancer_sees(&att, ServerOutcome::Refused);
                    att.released = true;
                    self.end_attempt(handle, att, Some(why), None, 0);
                    return;
                }
                Crossing::Lost(why) => {
                    // The balancer gives up on the connection; the client waits.
                    let lb = &mut self.balancers[att.balancer as usize];
                    let b = &mut lb.pool.backends[backend as usize];
                    b.inflight = b.inflight.saturating_sub(1);
                    self.lose(handle, att, why);
                    return;
                }
            }
        }
        self.arrive_at_server(handle, att);
    }

    /// Writes back what the balancer decided and where the attempt is.
    #[inline(always)]
    fn store_routing(&mut self, handle: Handle, att: &Attempt) {
        if let Some(a) = self.attempts.get_mut(handle) {
            a.backend = att.backend;
            a.server = att.server;
            a.stage = att.stage;
            a.shift = att.shift;
        }
    }

    pub(super) fn on_at_server(&mut self, handle: Handle) {
        let Some(att) = self.attempts.get(handle).copied() else { return };
        if att.stage == Stage::ToServer {
            self.arrive_at_server(handle, att);
        }
    }

    #[inline(always)]
    fn arrive_at_server(&mut self, handle: Handle, mut att: Attempt) {
        let now = self.now;
        let server = att.server;
        // SAFETY: a routed attempt's server ("Ids on the request path", `Simulation`).
        let s = unsafe { self.servers.get_unchecked_mut(server.index()) };
        let outcome = s.arrive(now, handle);
        // What the server holds waiting once it has the request (a queued
        // one is counted in; one it starts waits for nothing).
        let queue_len = match outcome {
            Arrival::Started(_) => 0,
            Arrival::Queued(len) => len,
            _ => s.queue_len() as u64,
        };
        // SAFETY: as above; the recorder was made with the world's sizes.
        unsafe { self.recorder.on_server_arrival(server, queue_len, att.counted) };
        match outcome {
            Arrival::Started(done_at) => {
                att.stage = Stage::Serving;
                self.store_routing(handle, &att);
                self.events.push(done_at, Event::Complete { server, attempt: handle });
            }
            Arrival::Queued(_) => {
                att.stage = Stage::Queued;
                self.store_routing(handle, &att);
            }
            Arrival::Rejected => {
                self.server_answers(handle, att, Some(Failure::Rejected), ServerOutcome::Rejected);
            }
            Arrival::Error => {
                self.server_answers(handle, att, Some(Failure::ServerError), ServerOutcome::Error);
            }
            Arrival::Refused => {
                self.server_answers(handle, att, Some(Failure::Refused), ServerOutcome::Refused);
            }
        }
        self.overload_changed(server);
    }

    pub(super) fn on_complete(&mut self, server: ServerId, handle: Handle) {
        // A completion from before a crash: the crash already ended the attempt.
        let Some(att) = self.attempts.get(handle).copied() else { return };
        if att.server != server || !matches!(att.stage, Stage::Serving | Stage::Queued) {
            return;
        }
        let now = self.now;
        // SAFETY: a server id of the run ("Ids on the request path", `Simulation`).
        let s = unsafe { self.servers.get_unchecked_mut(server.index()) };
        if let Some((next, done_at)) = s.complete(now) {
            // `next` keeps its stage `Queued` in service (see `Stage`).
            self.events.push(done_at, Event::Complete { server, attempt: next });
        }
        self.server_answers(handle, att, None, ServerOutcome::Completed);
        self.overload_changed(server);
    }

    /// The server's answer (or error) travels back through the balancer to
    /// the client: with a network it takes the return paths' latency, or is lost.
    #[inline(always)]
    pub(super) fn server_answers(
        &mut self,
        handle: Handle,
        att: Attempt,
        failure: Option<Failure>,
        outcome: ServerOutcome,
    ) {
        let mut delay = 0;
        if let Some(net) = &mut self.net {
            // The attempt carries its call's subnet, so an answer to a call
            // that is over (its timeout fired) still takes its user's path.
            let subnet = att.subnet as usize;
            let (back, to_client) = match net.fixed_answer(att.balancer, att.backend, subnet) {
                Some(ns) => (Crossing::Arrives(ns), Crossing::Arrives(0)),
                None => (
                    net.cross(Leg::FromServer { balancer: att.balancer, backend: att.backend }),
                    net.cross(Leg::ToClient { balancer: att.balancer, subnet }),
                ),
            };
            match (back, to_client) {
                (Crossing::Arrives(a), Crossing::Arrives(b)) => delay = u64::from(att.shift) + a + b,
                _ => {
                    // The answer never gets back: the balancer saw the server
                    // finish, the client will time out.
                    // SAFETY: a routed attempt's server, and the recorder was
                    // made with the world's sizes ("Ids on the request path").
                    unsafe { self.recorder.on_server_outcome(att.server, outcome, att.counted) };
                    self.balancer_sees(&att, outcome);
                    self.lose(handle, att, Failure::ResponseLost);
                    return;
                }
            }
        }
        self.end_attempt(handle, att, failure, Some(outcome), delay);
    }

    /// The balancer sees the server's outcome: its in-flight count drops and
    /// passive detection counts a failure or a success. The caller marks the
    /// attempt released if it lives on.
    #[inline(always)]
    pub(super) fn balancer_sees(&mut self, att: &Attempt, outcome: ServerOutcome) {
        if att.released || att.backend == u32::MAX {
            return;
        }
        // SAFETY: the attempt's balancer, and the backend `balance` checked
        // ("Ids on the request path", `Simulation`).
        let lb = unsafe { self.balancers.get_unchecked_mut(att.balancer as usize) };
        let b = unsafe { lb.pool.backends.get_unchecked_mut(att.backend as usize) };
        b.inflight = b.inflight.saturating_sub(1);
        let failed = outcome != ServerOutcome::Completed;
        if let Passive::Eject(until, generation) = lb.observe(att.backend as usize, failed, self.now) {
            self.on_ejection(att.balancer, att.backend, until, generation);
        }
    }
}
