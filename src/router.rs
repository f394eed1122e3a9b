//! The Lambda handler: one binary, several flows. A CodeDeploy lifecycle hook payload goes to
//! the [`Hook`], and so does the live judge's schedule (`{"preflight": "judge-live"}`); an
//! Amazon ECS lifecycle hook call to the [`EcsHook`]; a CodeDeploy deployment notification (SNS
//! or EventBridge) to the [`Maintenance`] page. The router owns the AWS clients
//! and lends them to the flow it calls; it builds the check set-up the deciding flows share.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::checks::setup::CheckSetup;
use crate::codedeploy_hook::Hook;
use crate::codedeploy_hook::live::schedule::is_live_judge_payload;
use crate::ecs_hook::EcsHook;
use crate::ecs_hook::payload::is_ecs_hook_payload;
use crate::maintenance::Maintenance;
use crate::maintenance::notification::looks_like_notification;
use crate::plumbing::aws::AwsClients;
use crate::plumbing::deadline::{instant_of, keep_back};

/// Time kept back from the Lambda deadline so that a slow ELBv2 call still ends in a logged
/// error rather than a killed process.
const NOTIFICATION_MARGIN: Duration = Duration::from_millis(500);

pub struct Preflight {
    clients: Arc<AwsClients>,
    hook: Arc<Hook>,
    ecs_hook: Arc<EcsHook>,
    maintenance: Maintenance,
}

/// What the router builds once and hands to the flows: the AWS clients (each made on first
/// use), the check set-up every deciding flow shares, and the maintenance page's settings.
pub struct Parts {
    pub clients: AwsClients,
    pub checks: CheckSetup,
    pub maintenance: Maintenance,
}

impl Preflight {
    /// Reads every flow's configuration; none can fail here (bad values are logged and returned
    /// by the invocations that need them). No AWS client is made yet.
    pub fn from_env() -> Preflight {
        Preflight::new(Parts {
            clients: AwsClients::from_env(),
            checks: CheckSetup::from_env(),
            maintenance: Maintenance::from_env(),
        })
    }

    /// A router over these parts (tests give it mock clients). Every deciding flow shares one
    /// check set-up: the configuration is read, and the probe made, once.
    pub fn new(parts: Parts) -> Preflight {
        let checks = Arc::new(parts.checks);
        Preflight {
            clients: Arc::new(parts.clients),
            hook: Arc::new(Hook::new(Arc::clone(&checks))),
            ecs_hook: Arc::new(EcsHook::new(checks)),
            maintenance: parts.maintenance,
        }
    }

    pub async fn handle(self: Arc<Self>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let deadline = instant_of(event.context.deadline);
        // Each flow's future is boxed: nested inline, their types grew deep enough that rustc's
        // layout query overflowed its depth limit in the arm64 build `sam build` makes.
        // The live judge's schedule names its action; checked first, as it is the most specific.
        if is_live_judge_payload(&event.payload) {
            let judged = Arc::clone(&self.hook).judge_live(Arc::clone(&self.clients), &event.payload, deadline);
            return Box::pin(judged).await.map_err(Diagnostic::from);
        }
        if looks_like_notification(&event.payload) {
            let notified =
                self.maintenance
                    .handle(&self.clients, &event.payload, keep_back(deadline, NOTIFICATION_MARGIN));
            return Box::pin(notified).await.map_err(Diagnostic::from);
        }
        if is_ecs_hook_payload(&event.payload) {
            let hooked = Arc::clone(&self.ecs_hook).handle(Arc::clone(&self.clients), &event.payload, deadline);
            return Box::pin(hooked).await.map_err(Diagnostic::from);
        }
        let hooked = Arc::clone(&self.hook).handle(Arc::clone(&self.clients), &event.payload, deadline);
        Box::pin(hooked).await.map_err(Diagnostic::from)
    }
}
