//! Replay at run time: a client group's arrivals read from its trace one
//! line ahead, sped up by `speed`, and with `scale` copies of each
//! recorded request on average (spread evenly over the gap to the next
//! one, decided by a running remainder, so exactly scale × N requests go
//! out and nothing random is drawn). Groups without `replay:` never reach
//! this file: their arrivals are another event.

use std::collections::VecDeque;

use super::{Event, Simulation};
use crate::model::{Load, Replay};
use crate::time::{SimDuration, SimTime, secs_to_nanos};
use crate::trace::Reader;

/// Where a group is in its trace.
pub(super) struct ReplayCursor {
    reader: Option<Reader>,
    /// The next recorded arrival (seconds, user), read ahead.
    ahead: Option<(f64, u32)>,
    /// Arrivals due, in order: (seconds of trace time, user).
    due: VecDeque<(f64, u32)>,
    carry: f64,
    speed: f64,
    scale: f64,
    users: u32,
}

impl ReplayCursor {
    /// Opens the trace of `def` for a group of `users` users (a trace's
    /// user is taken modulo it).
    pub(super) fn open(def: &Replay, users: u64) -> ReplayCursor {
        let mut reader = match Reader::open(&def.path) {
            Ok(r) => Some(r),
            Err(e) => {
                // Checked when the scenario was compiled; gone since.
                eprintln!("warning: replay of {} stopped: {}", def.path.display(), e.message);
                None
            }
        };
        let ahead = reader.as_mut().and_then(Reader::next_arrival);
        ReplayCursor {
            reader,
            ahead,
            due: VecDeque::new(),
            carry: 0.0,
            speed: def.speed,
            scale: def.scale,
            users: users.clamp(1, u64::from(u32::MAX)) as u32,
        }
    }

    /// The next arrival: simulated time and user, `None` at the trace's end.
    pub(super) fn next(&mut self) -> Option<(SimTime, u32)> {
        while self.due.is_empty() {
            let (t, user) = self.ahead.take()?;
            self.ahead = self.reader.as_mut().and_then(Reader::next_arrival);
            self.carry += self.scale;
            let copies = self.carry.floor();
            self.carry -= copies;
            let gap = self.ahead.map_or(0.0, |(next, _)| next - t);
            for j in 0..copies as u64 {
                self.due.push_back((t + gap * j as f64 / copies, user));
            }
        }
        let (t, user) = self.due.pop_front()?;
        Some((SimTime(secs_to_nanos(t / self.speed)), user % self.users))
    }
}

impl Simulation {
    /// Opens the replay of every group that has one and schedules its
    /// first arrival.
    pub(super) fn start_replays(&mut self) {
        for c in 0..self.clients.len() {
            if let Load::Replay(def) = &self.world.clients[c].load {
                let mut cursor = ReplayCursor::open(def, self.world.clients[c].users);
                let first = cursor.next();
                self.clients[c].replay = Some(Box::new(cursor));
                if let Some((t, user)) = first {
                    self.schedule_replay(c as u32, t, user);
                }
            }
        }
    }

    fn schedule_replay(&mut self, client: u32, at: SimTime, user: u32) {
        let at = at + SimDuration(self.clients[client as usize].displacement);
        self.events.push(at, Event::ReplayArrival { client, user });
    }

    /// A recorded request arrives: it is sent, and the next one scheduled.
    pub(super) fn on_replay_arrival(&mut self, client: u32, user: u32) {
        if !self.may_generate() {
            return;
        }
        let next = self.clients[client as usize].replay.as_mut().and_then(|r| r.next());
        if let Some((t, next_user)) = next {
            self.schedule_replay(client, t, next_user);
        }
        self.new_call(client, user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{TraceInfo, Writer};

    fn trace(name: &str, arrivals: &[(f64, u64)]) -> Replay {
        let path = std::env::temp_dir().join(format!("lbsim-replay-{}-{name}.csv.gz", std::process::id()));
        let mut w = Writer::create(&path).unwrap();
        for &(t, u) in arrivals {
            w.push(t, u).unwrap();
        }
        w.finish().unwrap();
        let info = crate::trace::scan(&path).unwrap();
        Replay { path, speed: 1.0, scale: 1.0, info }
    }

    fn all(def: &Replay) -> Vec<(u64, u32)> {
        let mut c = ReplayCursor::open(def, def.info.users);
        std::iter::from_fn(|| c.next()).map(|(t, u)| (t.0 / 1_000_000, u)).collect()
    }

    #[test]
    fn a_trace_replays_as_recorded() {
        let def = trace("plain", &[(0.0, 5), (0.1, 6), (0.3, 5), (1.0, 7)]);
        assert_eq!(def.info, TraceInfo { requests: 4, users: 3, span_s: 1.0, peak_per_s: 4.0 });
        assert_eq!(all(&def), [(0, 0), (100, 1), (300, 0), (1000, 2)]);
    }

    #[test]
    fn speed_compresses_time_and_scale_keeps_the_mix() {
        let def = trace("scaled", &[(0.0, 5), (0.1, 6), (0.3, 5), (1.0, 7)]);
        let fast = Replay { speed: 2.0, ..def.clone() };
        assert_eq!(all(&fast), [(0, 0), (50, 1), (150, 0), (500, 2)]);
        // Twice the requests: each once more, halfway to the next.
        let double = Replay { scale: 2.0, ..def.clone() };
        assert_eq!(all(&double), [(0, 0), (50, 0), (100, 1), (200, 1), (300, 0), (650, 0), (1000, 2), (1000, 2)]);
        // Half: every other request, by a running remainder.
        let half = Replay { scale: 0.5, ..def.clone() };
        assert_eq!(all(&half), [(100, 1), (1000, 2)]);
        // 1.5: exactly three halves of the requests.
        let more = Replay { scale: 1.5, ..def };
        assert_eq!(all(&more).len(), 6);
    }
}
