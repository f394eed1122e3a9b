//! How every flow shows its checks: in the summary line, each check's target, status, time,
//! attempts and outcome, and where each target's checks came from; in the metrics record, the
//! counts and latencies.

use std::time::Duration;

use super::canary::TargetJudgement;
use super::{CheckResult, Selection};
use crate::plumbing::metrics::{Record, Unit};

/// `record` with one verdict (`Verdicts` = 1), the checks (`Checks`, `ChecksFailed`,
/// `CheckLatency`, one value a check) and the invocation's `Duration`.
pub(crate) fn with_check_metrics(record: Record, results: &[CheckResult], elapsed: Duration) -> Record {
    let failed = results.iter().filter(|result| !result.passed()).count();
    let record = record
        .metric("Verdicts", Unit::Count, 1.0)
        .metric("Checks", Unit::Count, results.len() as f64)
        .metric("ChecksFailed", Unit::Count, failed as f64)
        .metric("Duration", Unit::Milliseconds, elapsed.as_millis() as f64);
    if results.is_empty() {
        return record;
    }
    let latencies = results.iter().map(|result| result.latency.as_millis() as f64).collect();
    record.metric_values("CheckLatency", Unit::Milliseconds, latencies)
}

/// `my-api:2 /healthcheck: 200 in 12 ms, 2 attempts (error, pass), pass | …`: each attempt
/// was a pass, a failure (an answer that broke an expectation) or an error (no answer to judge).
/// (Reasons may contain `;`.)
pub(crate) fn describe_checks(results: &[CheckResult]) -> String {
    results
        .iter()
        .map(|result| {
            let status = result.status.map_or("no status".to_string(), |s| s.to_string());
            let outcome = result.failure.as_deref().unwrap_or("pass");
            let plural = if result.attempts() == 1 { "" } else { "s" };
            let kinds: Vec<&str> = result.outcomes.iter().map(|outcome| outcome.name()).collect();
            let waited = if result.waited.is_zero() {
                String::new()
            } else {
                format!(" after waiting {} s for it to be ready,", result.waited.as_secs())
            };
            format!(
                "{}: {status} in {} ms,{waited} {} attempt{plural} ({}), {outcome}",
                result.target,
                result.latency.as_millis(),
                result.attempts(),
                kinds.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The judgements as the summary line's `judged` field: per target, the ruling, the rule that
/// decided with its numbers, and both sides' requests, errors, rates, p99 and windows. `None`
/// when nothing was judged, so that the field is left out.
pub(crate) fn describe_judgements(judgements: &[TargetJudgement]) -> Option<String> {
    if judgements.is_empty() {
        return None;
    }
    let shown: Vec<_> = judgements.iter().map(TargetJudgement::shown).collect();
    serde_json::to_string(&shown).ok()
}

/// `my-api: targets[0] | worker: defaults | legacy: targets[2] (skipped)`: which entry of
/// `PREFLIGHT_CHECKS` (or the `CHECK_*` defaults) each target's checks came from.
pub(crate) fn describe_selections(selections: &[Selection]) -> String {
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

    #[test]
    fn each_check_says_target_status_time_attempts_and_outcome() {
        let results = [
            CheckResult {
                target: "my-api:2 /healthcheck".into(),
                outcomes: vec![Outcome::Pass],
                status: Some(200),
                latency: Duration::from_millis(12),
                failure: None,
                refused: None,
                waited: Duration::ZERO,
                out_of_time: false,
            },
            CheckResult {
                target: "my-api:2 /ready".into(),
                outcomes: vec![Outcome::Error, Outcome::Failure, Outcome::Error],
                status: None,
                latency: Duration::from_millis(2000),
                failure: Some("no answer within 2000 ms".into()),
                refused: None,
                waited: Duration::ZERO,
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
