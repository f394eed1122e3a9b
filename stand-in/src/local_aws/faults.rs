//! Faults injected into the stand-in's operations: each call of an operation takes the next
//! queued fault, if any, and answers with the error that service would send for it.

use axum::response::Response;

use super::model::{Fault, Operation};
use super::records::Shared;

/// Records the call and takes the next fault queued for `operation`.
pub(crate) fn take_fault(shared: &Shared, operation: Operation) -> Option<Fault> {
    let mut records = shared.records();
    records.calls.push(operation);
    records.faults.get_mut(&operation).and_then(|queue| queue.pop_front())
}

/// Waits out a latency fault (then the call goes on), or answers with `respond`'s error.
pub(crate) async fn apply_fault(fault: Option<Fault>, respond: fn(Fault) -> Response) -> Option<Response> {
    match fault? {
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        other => Some(respond(other)),
    }
}
