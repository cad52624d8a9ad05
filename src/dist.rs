//! Service-time and latency distributions (placeholder; being written).
