//! Stage: model. How a client group's open-loop requests arrive: their
//! spacing ([`ArrivalKind`]) and how they spread over the group's users
//! ([`Popularity`]), converted from the scenario's serde forms.

use crate::scenario as spec;

/// How open-loop requests are spaced.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ArrivalKind {
    /// Exponential gaps: a Poisson process (non-homogeneous under a profile).
    #[default]
    Poisson,
    /// Evenly spaced requests at the current rate.
    Constant,
}

impl From<spec::ArrivalKind> for ArrivalKind {
    fn from(a: spec::ArrivalKind) -> ArrivalKind {
        match a {
            spec::ArrivalKind::Poisson => ArrivalKind::Poisson,
            spec::ArrivalKind::Constant => ArrivalKind::Constant,
        }
    }
}

/// How a group's requests are spread over its users.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub enum Popularity {
    /// Every user equally likely.
    #[default]
    Uniform,
    /// Zipf-skewed with this exponent: user k is chosen with weight 1/k^s.
    Zipf(f64),
}

impl From<spec::Popularity> for Popularity {
    fn from(p: spec::Popularity) -> Popularity {
        match p {
            spec::Popularity::Uniform => Popularity::Uniform,
            spec::Popularity::Zipf(s) => Popularity::Zipf(s),
        }
    }
}
