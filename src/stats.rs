//! Confidence intervals (placeholder; being written).
