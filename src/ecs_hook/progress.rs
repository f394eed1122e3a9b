//! Checks that outlast one invocation (pure). When the deadline, not a check's attempts, ended
//! it, preflight answers `IN_PROGRESS` and keeps in `hookDetails` how many attempts each
//! unfinished check has used; ECS hands that back on its next call, which goes on with the
//! attempts left. The overall limit is the checks' attempts, not the Lambda timeout.

use std::time::Duration;

use serde_json::{Value, json};

use super::payload::EcsHookEvent;
use crate::checks::{Check, CheckResult};

/// The `hookDetails` key the state travels under (beside the `preflight` checks, which ECS keeps).
pub(crate) const KEY: &str = "preflightProgress";

/// What earlier calls of this step used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The stage and green's production weight: a linear or canary deployment calls the same
    /// stage at every step, and a new step starts afresh.
    pub step: String,
    /// The checks, in plan order; a different plan starts afresh.
    pub checks: Vec<String>,
    /// Attempts each unfinished check has used (0 for a check that passed).
    pub attempts: Vec<u32>,
    /// Calls so far, this one included once it is recorded.
    pub calls: u32,
}

/// What comes after this call's checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Next {
    /// Every check passed, or one failed for good: the results are the verdict.
    Done,
    /// Checks ran out of time with attempts left: call again after `delay`.
    Continue { delay: Duration, progress: Progress },
    /// Checks ran out of time without making a single attempt in this call: calling again
    /// would change nothing.
    Stuck(String),
}

/// The step of `event`, as [`Progress::step`] records it.
pub(crate) fn step_of(event: &EcsHookEvent) -> String {
    let weight = event
        .production_weights
        .get(&event.target_revision_arn)
        .map_or_else(|| "-".to_string(), |weight| weight.to_string());
    format!("{}@{weight}", event.stage)
}

/// The progress an earlier call left in `hook_details`, if any.
pub(crate) fn read(hook_details: Option<&Value>) -> Result<Option<Progress>, String> {
    let Some(state) = hook_details.and_then(|details| details.get(KEY)) else {
        return Ok(None);
    };
    let broken = || {
        format!(
            "hookDetails.{KEY} is not what preflight leaves there ({state}): remove it from the hook's \
             hookDetails, which ECS fills in by itself"
        )
    };
    let step = state.get("step").and_then(Value::as_str).ok_or_else(broken)?;
    let checks = state
        .get("checks")
        .and_then(Value::as_array)
        .and_then(|checks| checks.iter().map(|c| c.as_str().map(str::to_string)).collect())
        .ok_or_else(broken)?;
    let attempts: Vec<u32> = state
        .get("attempts")
        .and_then(Value::as_array)
        .and_then(|counts| {
            counts
                .iter()
                .map(|n| n.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect()
        })
        .ok_or_else(broken)?;
    let calls = state
        .get("calls")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(broken)?;
    Ok(Some(Progress {
        step: step.to_string(),
        checks,
        attempts,
        calls,
    }))
}

impl Progress {
    /// Where this call starts: `previous`, when it was left by the same step and plan, with each
    /// check's attempts reduced by those it used; else nothing used yet.
    pub(crate) fn resume(previous: Option<Progress>, step: String, checks: &mut [Check]) -> Progress {
        let names: Vec<String> = checks.iter().map(Check::target).collect();
        let fresh = Progress {
            step: step.clone(),
            attempts: vec![0; checks.len()],
            checks: names.clone(),
            calls: 0,
        };
        let Some(previous) =
            previous.filter(|p| p.step == step && p.checks == names && p.attempts.len() == names.len())
        else {
            return fresh;
        };
        for (check, used) in checks.iter_mut().zip(&previous.attempts) {
            // An unfinished check always had attempts left, so at least one remains.
            check.patience.attempts = check.patience.attempts.saturating_sub(*used).max(1);
        }
        previous
    }

    /// What follows `results` (in the order of `checks`, this call's plan).
    pub(crate) fn next(self, checks: &[Check], results: &[CheckResult]) -> Next {
        let unfinished = |result: &CheckResult| !result.passed() && result.out_of_time;
        let failed_for_good = results.iter().any(|result| !result.passed() && !result.out_of_time);
        if failed_for_good || !results.iter().any(unfinished) {
            return Next::Done;
        }
        if results
            .iter()
            .any(|result| unfinished(result) && result.attempts() == 0)
        {
            return Next::Stuck(
                "a check ran out of time before making a single attempt in this call: raise the hook function's \
                 timeout, or lower DEADLINE_MARGIN_MS or the checks' timeout_ms"
                    .into(),
            );
        }
        let attempts = results
            .iter()
            .zip(&self.attempts)
            .map(|(result, used)| {
                if unfinished(result) {
                    used.saturating_add(u32::try_from(result.attempts()).unwrap_or(u32::MAX))
                } else {
                    0
                }
            })
            .collect();
        let delay = checks
            .iter()
            .zip(results)
            .filter(|(_, result)| unfinished(result))
            .map(|(check, _)| check.patience.interval)
            .max()
            .unwrap_or_default();
        Next::Continue {
            delay,
            progress: Progress {
                attempts,
                calls: self.calls.saturating_add(1),
                ..self
            },
        }
    }

    /// The state as `hookDetails` carries it.
    pub(crate) fn to_value(&self) -> Value {
        json!({
            "step": self.step,
            "checks": self.checks,
            "attempts": self.attempts,
            "calls": self.calls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::checks::Request;
    use crate::checks::assertions::Expectations;
    use crate::checks::expected_status::ExpectedStatus;
    use crate::checks::judge::Outcome;
    use crate::checks::terms::Patience;

    fn check(path: &str, attempts: u32) -> Check {
        Check {
            request: Request::Http {
                url: reqwest::Url::parse(&format!("http://listener{path}")).unwrap(),
                method: reqwest::Method::GET,
                headers: Vec::new(),
                connect_to: None,
            },
            expect: Arc::new(Expectations::status_only(ExpectedStatus::default())),
            patience: Patience {
                attempts,
                interval: Duration::from_millis(2_500),
                timeout: Duration::from_secs(1),
            },
        }
    }

    fn result(outcomes: Vec<Outcome>, failure: Option<&str>, out_of_time: bool) -> CheckResult {
        CheckResult {
            target: "t".into(),
            outcomes,
            status: None,
            latency: Duration::ZERO,
            failure: failure.map(str::to_string),
            refused: None,
            waited: Duration::ZERO,
            out_of_time,
        }
    }

    #[test]
    fn a_check_cut_short_by_the_deadline_continues_with_its_attempts_left() {
        let mut checks = vec![check("/health", 5), check("/ready", 5)];
        let start = Progress::resume(None, "POST_TEST_TRAFFIC_SHIFT@-".into(), &mut checks);
        let results = [
            result(vec![Outcome::Pass], None, false),
            result(vec![Outcome::Error, Outcome::Error], Some("refused"), true),
        ];
        let Next::Continue { delay, progress } = start.next(&checks, &results) else {
            panic!("should continue");
        };
        assert_eq!(delay, Duration::from_millis(2_500));
        assert_eq!(progress.attempts, vec![0, 2]);
        assert_eq!(progress.calls, 1);

        // The next call reads it back and has 3 attempts left for /ready, all 5 for /health.
        let details = json!({"preflight": {}, KEY: progress.to_value()});
        let mut again = vec![check("/health", 5), check("/ready", 5)];
        let resumed = Progress::resume(
            read(Some(&details)).unwrap(),
            "POST_TEST_TRAFFIC_SHIFT@-".into(),
            &mut again,
        );
        assert_eq!(again[0].patience.attempts, 5);
        assert_eq!(again[1].patience.attempts, 3);
        assert_eq!(resumed.calls, 1);
    }

    #[test]
    fn another_step_or_plan_starts_afresh() {
        let progress = Progress {
            step: "PRODUCTION_TRAFFIC_SHIFT@10".into(),
            checks: vec![check("/health", 5).target()],
            attempts: vec![4],
            calls: 3,
        };
        let mut checks = vec![check("/health", 5)];
        let next_step = Progress::resume(
            Some(progress.clone()),
            "PRODUCTION_TRAFFIC_SHIFT@20".into(),
            &mut checks,
        );
        assert_eq!((next_step.calls, checks[0].patience.attempts), (0, 5));
        let mut other_plan = vec![check("/ready", 5)];
        let resumed = Progress::resume(Some(progress), "PRODUCTION_TRAFFIC_SHIFT@10".into(), &mut other_plan);
        assert_eq!((resumed.calls, other_plan[0].patience.attempts), (0, 5));
    }

    #[test]
    fn a_failure_for_good_or_a_pass_ends_it() {
        let checks = vec![check("/a", 3), check("/b", 3)];
        let start = || Progress::resume(None, "s".into(), &mut checks.clone());
        let for_good = [
            result(vec![Outcome::Failure], Some("status 500"), false),
            result(vec![Outcome::Error], Some("refused"), true),
        ];
        assert_eq!(start().next(&checks, &for_good), Next::Done);
        let passed = [
            result(vec![Outcome::Pass], None, false),
            result(vec![Outcome::Pass], None, false),
        ];
        assert_eq!(start().next(&checks, &passed), Next::Done);
    }

    #[test]
    fn no_attempt_at_all_in_a_call_is_stuck_not_continued() {
        let checks = vec![check("/a", 3)];
        let start = Progress::resume(None, "s".into(), &mut checks.clone());
        let none = [result(
            Vec::new(),
            Some("deadline reached before the first attempt"),
            true,
        )];
        assert!(matches!(start.next(&checks, &none), Next::Stuck(_)));
    }

    #[test]
    fn a_state_preflight_did_not_write_is_refused() {
        let details = json!({KEY: {"step": 1}});
        let error = read(Some(&details)).unwrap_err();
        assert!(error.contains("hookDetails.preflightProgress"), "{error}");
        assert_eq!(read(Some(&json!({"preflight": {}}))).unwrap(), None);
    }
}
