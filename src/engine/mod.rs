//! The generic discrete-event kernel: a pending-event set ordered by
//! (time, insertion sequence), a slab of live items with generation counters,
//! FIFO timer lists, and a ring-buffer FIFO. It knows nothing about load
//! balancers.

mod queue;
mod ring;
mod slab;
mod timers;

pub(crate) use queue::EventQueue;
pub(crate) use ring::Ring;
pub(crate) use slab::{Handle, Slab};
pub(crate) use timers::FifoTimers;
