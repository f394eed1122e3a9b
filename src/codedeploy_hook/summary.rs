//! The one summary line each invocation logs: what was checked, and why it passed or failed.

use std::time::Duration;

use tracing::Level;

use super::payload::{HookEvent, PayloadError};
use super::report::Delivery;
use crate::checks::verdict::{Status, Verdict};
use crate::checks::{CheckResult, Selection};

pub struct Summary<'a> {
    pub event: &'a HookEvent,
    pub deployed: Option<&'a str>,
    pub selections: &'a [Selection],
    pub results: &'a [CheckResult],
    pub verdict: &'a Verdict,
    pub delivery: Result<Delivery, &'a str>,
    pub elapsed: Duration,
}

impl Summary<'_> {
    pub fn log(&self) {
        let checks = describe_checks(self.results);
        let targets = describe_selections(self.selections);
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
                    reason = self.verdict.reason.as_str(),
                    targets = %targets,
                    checks = %checks,
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

/// `my-api:2 /healthcheck: 200 in 12 ms, 2 attempts (error, pass), pass | …`: each attempt
/// was a pass, a failure (an answer that broke an expectation) or an error (no answer to judge).
/// (Reasons may contain `;`.)
pub fn describe_checks(results: &[CheckResult]) -> String {
    results
        .iter()
        .map(|result| {
            let status = result.status.map_or("no status".to_string(), |s| s.to_string());
            let outcome = result.failure.as_deref().unwrap_or("pass");
            let plural = if result.attempts() == 1 { "" } else { "s" };
            let kinds: Vec<&str> = result.outcomes.iter().map(|outcome| outcome.name()).collect();
            format!(
                "{}: {status} in {} ms, {} attempt{plural} ({}), {outcome}",
                result.target,
                result.latency.as_millis(),
                result.attempts(),
                kinds.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `my-api: targets[0] | worker: defaults | legacy: targets[2] (skipped)`: which entry of
/// `PREFLIGHT_CHECKS` (or the `CHECK_*` defaults) each target's checks came from.
pub fn describe_selections(selections: &[Selection]) -> String {
    selections
        .iter()
        .map(Selection::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A payload without usable ids cannot be reported on; this line is its summary.
pub fn log_rejected_payload(error: &PayloadError) {
    tracing::error!(status = "NotReported", reason = %error, "hook summary");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::judge::Outcome;

    #[test]
    fn each_check_says_target_status_time_attempts_and_outcome() {
        let results = [
            CheckResult {
                target: "my-api:2 /healthcheck".into(),
                outcomes: vec![Outcome::Pass],
                status: Some(200),
                latency: Duration::from_millis(12),
                failure: None,
            },
            CheckResult {
                target: "my-api:2 /ready".into(),
                outcomes: vec![Outcome::Error, Outcome::Failure, Outcome::Error],
                status: None,
                latency: Duration::from_millis(2000),
                failure: Some("no answer within 2000 ms".into()),
            },
        ];
        assert_eq!(
            describe_checks(&results),
            "my-api:2 /healthcheck: 200 in 12 ms, 1 attempt (pass), pass | \
             my-api:2 /ready: no status in 2000 ms, 3 attempts (error, failure, error), no answer within 2000 ms"
        );
    }
}
