//! The Lambda handler: one binary, two jobs. A lifecycle hook payload goes to the [`Hook`]; a
//! CodeDeploy deployment notification (SNS or EventBridge) goes to the [`Maintenance`] page.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::hook::{Hook, instant_of};
use crate::maintenance::Maintenance;
use crate::notification::looks_like_notification;

/// Time kept back from the Lambda deadline so that a slow ELBv2 call still ends in a logged
/// error rather than a killed process.
const NOTIFICATION_MARGIN: Duration = Duration::from_millis(500);

pub struct Preflight {
    hook: Arc<Hook>,
    maintenance: Maintenance,
}

impl Preflight {
    /// Reads both configurations; neither can fail here (bad values are logged and returned by
    /// the invocations that need them).
    pub fn from_env() -> Preflight {
        Preflight {
            hook: Arc::new(Hook::from_env()),
            maintenance: Maintenance::from_env(),
        }
    }

    pub async fn handle(self: Arc<Self>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        if looks_like_notification(&event.payload) {
            let deadline = instant_of(event.context.deadline);
            let deadline = deadline.checked_sub(NOTIFICATION_MARGIN).unwrap_or(deadline);
            return self
                .maintenance
                .handle(&event.payload, deadline)
                .await
                .map_err(Diagnostic::from);
        }
        Arc::clone(&self.hook).handle(event).await.map_err(Diagnostic::from)
    }
}
