//! The top of the kit: a [`Rig`] is the stand-in with one function process polling it, what
//! every end-to-end run starts with.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::hook_process::{HookProcess, Program};
use crate::local_aws::{Delivered, Deployment, LocalAws, RuntimeOutcome};

/// The stand-in with one function process polling it: what every end-to-end run starts with.
pub struct Rig {
    pub aws: LocalAws,
    pub hook: HookProcess,
}

impl Rig {
    /// Starts the stand-in and `bootstrap` with preflight's `config` on top of the Lambda
    /// environment.
    pub async fn start(bootstrap: &Path, config: &[(&str, &str)]) -> std::io::Result<Rig> {
        Rig::start_program(&Program::binary(bootstrap), config).await
    }

    /// The same for any Runtime API program.
    pub async fn start_program(program: &Program, config: &[(&str, &str)]) -> std::io::Result<Rig> {
        let aws = LocalAws::start().await?;
        let hook = HookProcess::launch_program(program, &aws, config)?;
        Ok(Rig { aws, hook })
    }

    /// Delivers the deployment's hook event; the function may take `timeout`.
    pub async fn deliver(&self, deployment: &Deployment, timeout: Duration) -> Delivered {
        self.aws.deliver(deployment, timeout).await
    }

    /// Delivers any payload and returns how the invocation ended.
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> RuntimeOutcome {
        self.aws.deliver_payload(payload, timeout).await.outcome
    }
}
