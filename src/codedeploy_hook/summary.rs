//! The one summary line each invocation logs: what was checked, and why it passed or failed.

use std::time::Duration;

use tracing::Level;

use super::payload::{HookEvent, PayloadError};
use super::report::Delivery;
use crate::checks::canary::TargetJudgement;
use crate::checks::describe::{describe_checks, describe_judgements, describe_selections};
use crate::checks::verdict::{Status, Verdict};
use crate::checks::{CheckResult, Selection};

pub(crate) struct Summary<'a> {
    pub event: &'a HookEvent,
    pub deployed: Option<&'a str>,
    pub selections: &'a [Selection],
    pub results: &'a [CheckResult],
    /// Targets judged on their real traffic, with the evidence.
    pub judgements: &'a [TargetJudgement],
    pub verdict: &'a Verdict,
    pub delivery: Result<Delivery, &'a str>,
    pub elapsed: Duration,
}

impl Summary<'_> {
    pub(crate) fn log(&self) {
        let checks = describe_checks(self.results);
        let targets = describe_selections(self.selections);
        // Left out (`None`) when nothing was judged.
        let judged = describe_judgements(self.judgements);
        let (report, report_error) = match self.delivery {
            Ok(delivery) => (delivery.to_string(), None),
            Err(why) => ("not_delivered".to_string(), Some(why)),
        };
        let elapsed_ms = self.elapsed.as_millis() as u64;
        // `tracing` needs a constant level per call site; the macro writes the fields once.
        // `report_error` is an `Option`, which `tracing` leaves out when it is `None`.
        macro_rules! summary {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    deployment_id = self.event.deployment_id.as_str(),
                    deployed = self.deployed.unwrap_or(""),
                    status = %self.verdict.status,
                    cause = self.verdict.cause.name(),
                    reason = self.verdict.reason.as_str(),
                    targets = %targets,
                    checks = %checks,
                    judged,
                    report = %report,
                    report_error,
                    elapsed_ms,
                    "hook summary"
                )
            };
        }
        match (self.verdict.status, report_error) {
            (_, Some(_)) => summary!(Level::ERROR),
            (Status::Succeeded, None) => summary!(Level::INFO),
            (Status::Failed, None) => summary!(Level::WARN),
        }
    }
}

/// A payload without usable ids cannot be reported on; this line is its summary.
pub(crate) fn log_rejected_payload(error: &PayloadError) {
    tracing::error!(status = "NotReported", reason = %error, "hook summary");
}
