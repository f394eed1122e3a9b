//! The verdict: `Succeeded` only when every check passed, `Failed` otherwise, always with its
//! typed [`Cause`] (so that "the release is broken" and "preflight cannot do its job" are told
//! apart in the summary line and the metrics) and a reason a person can act on.

use std::fmt;

use serde::Serialize;

use super::CheckResult;
use crate::plumbing::aws::AwsError;
use crate::plumbing::aws::error::{Failure, is_access_denied};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    Succeeded,
    Failed,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
        })
    }
}

/// Why a verdict is what it is. Its name is the summary line's `cause` and the `Cause` metric
/// dimension; [`Cause::fault`] groups the causes for the two alarms a team sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Cause {
    /// Every check passed.
    Passed,
    /// Nothing was checked, on purpose (`PREFLIGHT_SKIP_UNTIL`, `[skip preflight]`, every target
    /// `skip: true`).
    Skipped,
    /// A rollback, answered at once (ECS's own hooks).
    Rollback,
    /// Not decided yet: the checks go on in the next call (ECS's `IN_PROGRESS`).
    InProgress,
    /// The canary judge saw too little traffic to decide; the target's `on_inconclusive` chose
    /// the status. Never a pass, and neither alarm's business: the `Judgements` metric counts it.
    Inconclusive,
    /// The release failed its checks.
    ReleaseFailed,
    /// preflight's configuration, check definitions, `hookDetails` or the deployment's AppSpec
    /// cannot be used, or they leave nothing to check.
    Misconfigured,
    /// An AWS call was denied: a permission is missing.
    NotPermitted,
    /// Something named does not exist (a function version, a deployment, a listener...).
    NotFound,
    /// AWS throttled, failed or did not answer, after the retries.
    AwsUnavailable,
    /// The Lambda deadline came before the evaluation ended.
    OutOfTime,
    /// A fault in preflight itself.
    Internal,
}

/// Whose problem a verdict is: what the two alarms of the operations guide watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing is wrong (passed, skipped, a rollback let through, still checking).
    None,
    /// The release failed its checks: "a release was stopped".
    Release,
    /// preflight could not decide: "preflight cannot do its job".
    Preflight,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::Passed => "Passed",
            Cause::Skipped => "Skipped",
            Cause::Rollback => "Rollback",
            Cause::InProgress => "InProgress",
            Cause::Inconclusive => "Inconclusive",
            Cause::ReleaseFailed => "ReleaseFailed",
            Cause::Misconfigured => "Misconfigured",
            Cause::NotPermitted => "NotPermitted",
            Cause::NotFound => "NotFound",
            Cause::AwsUnavailable => "AwsUnavailable",
            Cause::OutOfTime => "OutOfTime",
            Cause::Internal => "Internal",
        }
    }

    pub fn fault(self) -> Fault {
        match self {
            Cause::Passed | Cause::Skipped | Cause::Rollback | Cause::InProgress | Cause::Inconclusive => Fault::None,
            Cause::ReleaseFailed => Fault::Release,
            Cause::Misconfigured
            | Cause::NotPermitted
            | Cause::NotFound
            | Cause::AwsUnavailable
            | Cause::OutOfTime
            | Cause::Internal => Fault::Preflight,
        }
    }
}

impl Cause {
    /// The cause of a failed AWS call: a denial is a missing permission, a missing resource
    /// something named that does not exist, what a retry could have helped AWS's unavailability,
    /// and any other refusal (a bad parameter) preflight's configuration. A request that could not
    /// even be built is preflight's own fault.
    pub fn of(error: &AwsError) -> Cause {
        let code = error.code().unwrap_or("");
        if error.failure == Failure::Construction {
            Cause::Internal
        } else if is_access_denied(code) {
            Cause::NotPermitted
        } else if code.contains("NotFound")
            || code.contains("DoesNotExist")
            || code.contains("NoSuch")
            // ECS's `failures` reason for an ARN it does not know.
            || code == "MISSING"
        {
            Cause::NotFound
        } else if error.retry_can_help() {
            Cause::AwsUnavailable
        } else {
            Cause::Misconfigured
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "None",
            Fault::Release => "Release",
            Fault::Preflight => "Preflight",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub cause: Cause,
    pub reason: String,
}

impl Verdict {
    /// A failure for `cause`, which must be one of the failing causes.
    pub fn failed(cause: Cause, reason: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Failed,
            cause,
            reason: reason.into(),
        }
    }

    /// Traffic may move: every check passed, or nothing was to be checked on purpose.
    pub fn succeeded(cause: Cause, reason: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Succeeded,
            cause,
            reason: reason.into(),
        }
    }

    /// `Succeeded` without checking; logged at WARN, since traffic moves unchecked.
    pub fn skipped(reason: impl Into<String>) -> Verdict {
        let reason = reason.into();
        tracing::warn!(reason = reason.as_str(), "checks skipped");
        Verdict::succeeded(Cause::Skipped, reason)
    }

    /// An empty list is a failure (a hook that checked nothing must not let traffic through)
    /// unless targets were skipped on purpose (`skip: true` in `PREFLIGHT_CHECKS`). A check that
    /// AWS refused for good (a denied or missing function) is preflight's cause, not the
    /// release's: the release was not judged.
    pub fn from_results(results: &[CheckResult], skipped_targets: usize) -> Verdict {
        let skipped = match skipped_targets {
            0 => String::new(),
            1 => ", 1 target skipped".to_string(),
            n => format!(", {n} targets skipped"),
        };
        if results.is_empty() {
            return if skipped_targets > 0 {
                Verdict::skipped(format!(
                    "nothing to check: every target is skipped by PREFLIGHT_CHECKS ({skipped_targets} with skip: true)"
                ))
            } else {
                Verdict::failed(Cause::Misconfigured, "nothing was checked")
            };
        }
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.failure.as_ref().map(|why| format!("{}: {why}", r.target)))
            .collect();
        if failed.is_empty() {
            return Verdict::succeeded(Cause::Passed, format!("all {} checks passed{skipped}", results.len()));
        }
        // A check preflight could not make (denied, missing, out of time) means the release was
        // not fully judged: that is the cause, ahead of any failure the release showed.
        let cause = results
            .iter()
            .filter_map(|r| r.refused)
            .filter(|cause| cause.fault() == Fault::Preflight)
            .min()
            .unwrap_or(Cause::ReleaseFailed);
        Verdict::failed(
            cause,
            format!(
                "{} of {} checks failed{skipped}: {}",
                failed.len(),
                results.len(),
                failed.join(" | ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn result(target: &str, failure: Option<&str>) -> CheckResult {
        CheckResult {
            target: target.into(),
            outcomes: vec![crate::checks::judge::Outcome::Pass],
            status: None,
            latency: Duration::ZERO,
            failure: failure.map(str::to_string),
            refused: None,
            waited: Duration::ZERO,
            out_of_time: false,
        }
    }

    #[test]
    fn succeeds_only_when_every_check_passed() {
        let all_good = Verdict::from_results(&[result("a", None), result("b", None)], 0);
        assert_eq!(all_good.status, Status::Succeeded);
        assert_eq!(all_good.cause, Cause::Passed);
        let one_bad = Verdict::from_results(&[result("a", None), result("b", Some("status 500"))], 0);
        assert_eq!(
            one_bad,
            Verdict::failed(Cause::ReleaseFailed, "1 of 2 checks failed: b: status 500")
        );
    }

    #[test]
    fn nothing_checked_is_a_failure_unless_every_target_was_skipped_on_purpose() {
        let nothing = Verdict::from_results(&[], 0);
        assert_eq!((nothing.status, nothing.cause), (Status::Failed, Cause::Misconfigured));
        let skipped = Verdict::from_results(&[], 2);
        assert_eq!((skipped.status, skipped.cause), (Status::Succeeded, Cause::Skipped));
        assert!(skipped.reason.contains("every target is skipped"), "{}", skipped.reason);
    }

    #[test]
    fn skipped_targets_are_counted_in_the_reason() {
        let verdict = Verdict::from_results(&[result("a", None)], 1);
        assert_eq!(
            verdict,
            Verdict::succeeded(Cause::Passed, "all 1 checks passed, 1 target skipped")
        );
    }

    #[test]
    fn a_check_aws_refused_is_preflights_cause_even_beside_a_failed_one() {
        let denied = CheckResult {
            refused: Some(Cause::NotPermitted),
            waited: Duration::ZERO,
            ..result("a", Some("denied"))
        };
        let verdict = Verdict::from_results(&[result("b", Some("status 500")), denied.clone()], 0);
        assert_eq!((verdict.status, verdict.cause), (Status::Failed, Cause::NotPermitted));
        // A version that failed to become Active is the release's, but a denied check beside it
        // still means the release was not fully judged.
        let failed_version = CheckResult {
            refused: Some(Cause::ReleaseFailed),
            ..result("c", Some("failed to become Active"))
        };
        let verdict = Verdict::from_results(&[failed_version.clone(), denied], 0);
        assert_eq!(verdict.cause, Cause::NotPermitted);
        assert_eq!(Verdict::from_results(&[failed_version], 0).cause, Cause::ReleaseFailed);
        assert_eq!(verdict.cause.fault(), Fault::Preflight);
        assert_eq!(Cause::ReleaseFailed.fault(), Fault::Release);
    }
}
