//! The cold-start floor: the smallest `lambda_runtime` function, built with preflight's release
//! profile and the same single-threaded runtime, so that the difference is preflight's own work.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
