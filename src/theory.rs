//! Closed-form queueing results (placeholder; being written).
