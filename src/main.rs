//! The `bootstrap` binary: preflight behind the Lambda Runtime API.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use preflight::Preflight;
use serde_json::Value;

// One thread is plenty: the flows wait on the network, and a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    preflight::plumbing::logging::init();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "preflight's bootstrap runs inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set).\n\
             To try it locally, run a rehearsal: cargo run --release -p preflight-rehearsal"
        );
        std::process::exit(2);
    }
    let preflight = Arc::new(Preflight::from_env());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        Arc::clone(&preflight).handle(event)
    }))
    .await
}
