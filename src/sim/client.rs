//! Client groups at run time: the arrival process, the user population and
//! the timeout list.

use rand_distr::{Distribution, Exp1, Zipf};

use crate::engine::{FifoTimers, Handle};
use crate::model::{ClientDef, Load};
use crate::rng::{SimRng, below};
use crate::scenario::{ArrivalKind, Popularity};
use crate::time::{SimTime, secs_to_nanos};

/// Who sends the next request.
pub(super) enum UserPicker {
    Uniform(u32),
    Zipf(Zipf<f64>),
}

pub(super) struct ClientState {
    pub rng: SimRng,
    users: UserPicker,
    /// Time of the last open-loop arrival, in seconds of the process's own
    /// clock (kept as f64 so a profile's integral inverts exactly).
    process_time: f64,
    /// Open-loop arrivals so far (constant spacing starts with one at t = 0).
    arrivals: u64,
    /// Pending client timeouts, in deadline order.
    pub timers: FifoTimers<Handle>,
}

impl ClientState {
    pub fn new(def: &ClientDef, rng: SimRng) -> ClientState {
        let n = def.users.min(u64::from(u32::MAX)) as u32;
        let users = match def.popularity {
            Popularity::Uniform => UserPicker::Uniform(n.max(1)),
            Popularity::Zipf(s) => match Zipf::new(f64::from(n.max(1)), s) {
                Ok(z) => UserPicker::Zipf(z),
                Err(_) => UserPicker::Uniform(n.max(1)),
            },
        };
        ClientState { rng, users, process_time: 0.0, arrivals: 0, timers: FifoTimers::new() }
    }

    /// A user id in `0..users`.
    #[inline]
    pub fn pick_user(&mut self) -> u32 {
        match &self.users {
            UserPicker::Uniform(n) => below(&mut self.rng, *n),
            UserPicker::Zipf(z) => (z.sample(&mut self.rng) as u32).saturating_sub(1),
        }
    }

    /// Time of the next open-loop arrival, or `None` when the rate stays at
    /// zero from now on.
    #[inline]
    pub fn next_open_arrival(&mut self, def: &ClientDef) -> Option<SimTime> {
        let Load::Open { arrival, profile } = &def.load else {
            return None;
        };
        let mass = match arrival {
            ArrivalKind::Poisson => Exp1.sample(&mut self.rng),
            // Evenly spaced, the first at the start (as a constant-rate load generator does).
            ArrivalKind::Constant if self.arrivals == 0 => 0.0,
            ArrivalKind::Constant => 1.0,
        };
        self.arrivals += 1;
        let next = if profile.is_constant() {
            let rate = profile.segments[0].rate;
            if rate <= 0.0 {
                return None;
            }
            self.process_time + mass / rate
        } else {
            profile.advance(self.process_time, mass)?
        };
        self.process_time = next;
        Some(SimTime(secs_to_nanos(next)))
    }
}
