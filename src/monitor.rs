//! Stand-in for the alert and SLO module (being written on a helper branch).
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct AlertSpec {}

#[derive(Clone, Debug, Deserialize)]
pub struct SloSpec {}
