//! The one summary line each ECS hook call logs: the stage, green, what was checked, and the
//! answer with its reason.

use std::time::Duration;

use tracing::Level;

use super::payload::{EcsHookEvent, EcsPayloadError};
use super::{HookAnswer, HookStatus};
use crate::checks::canary::TargetJudgement;
use crate::checks::describe::{describe_checks, describe_judgements, describe_selections};
use crate::checks::{CheckResult, Selection};

pub(crate) struct Summary<'a> {
    pub event: &'a EcsHookEvent,
    pub answer: &'a HookAnswer,
    /// The test listener the checks went to.
    pub green: Option<&'a str>,
    pub selections: &'a [Selection],
    pub results: &'a [CheckResult],
    /// Green judged on its real traffic, with the evidence.
    pub judgements: &'a [TargetJudgement],
    pub elapsed: Duration,
}

impl Summary<'_> {
    pub(crate) fn log(&self) {
        let checks = describe_checks(self.results);
        // Left out (`None`) when nothing was judged.
        let judged = describe_judgements(self.judgements);
        let targets = describe_selections(self.selections);
        let elapsed_ms = self.elapsed.as_millis() as u64;
        macro_rules! summary {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    execution_id = self.event.execution_id.as_str(),
                    stage = %self.event.stage,
                    service = self.event.service_name().unwrap_or(""),
                    revision = self.event.target_revision_arn.as_str(),
                    hook_status = %self.answer.status,
                    cause = self.answer.cause.name(),
                    reason = self.answer.reason.as_str(),
                    green = self.green.unwrap_or(""),
                    targets = %targets,
                    checks = %checks,
                    judged,
                    elapsed_ms,
                    "ecs hook summary"
                )
            };
        }
        match self.answer.status {
            HookStatus::Succeeded | HookStatus::InProgress => summary!(Level::INFO),
            HookStatus::Failed => summary!(Level::WARN),
        }
    }
}

/// A payload that cannot be read is answered by the invocation's error; this line is its summary.
pub(crate) fn log_rejected_payload(error: &EcsPayloadError) {
    tracing::error!(hook_status = "NotAnswered", reason = %error, "ecs hook summary");
}
