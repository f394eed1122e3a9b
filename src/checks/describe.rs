//! How the summary lines of every flow show the checks: each check's target, status, time,
//! attempts and outcome, and where each target's checks came from.

use super::{CheckResult, Selection};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::judge::Outcome;
    use std::time::Duration;

    #[test]
    fn each_check_says_target_status_time_attempts_and_outcome() {
        let results = [
            CheckResult {
                target: "my-api:2 /healthcheck".into(),
                outcomes: vec![Outcome::Pass],
                status: Some(200),
                latency: Duration::from_millis(12),
                failure: None,
                out_of_time: false,
            },
            CheckResult {
                target: "my-api:2 /ready".into(),
                outcomes: vec![Outcome::Error, Outcome::Failure, Outcome::Error],
                status: None,
                latency: Duration::from_millis(2000),
                failure: Some("no answer within 2000 ms".into()),
                out_of_time: false,
            },
        ];
        assert_eq!(
            describe_checks(&results),
            "my-api:2 /healthcheck: 200 in 12 ms, 1 attempt (pass), pass | \
             my-api:2 /ready: no status in 2000 ms, 3 attempts (error, failure, error), no answer within 2000 ms"
        );
    }
}
