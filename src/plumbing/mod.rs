//! What every flow shares, written once: AWS set-up, clients and errors ([`aws`]), reading the
//! environment ([`env`]), the invocation's deadline ([`deadline`]), text for log lines
//! ([`text`]), the JSON logs ([`logging`]) and the metrics beside them ([`metrics`]). Nothing
//! here knows which flow it serves.

pub mod aws;
pub(crate) mod deadline;
pub mod env;
pub mod logging;
pub mod metrics;
pub(crate) mod text;
