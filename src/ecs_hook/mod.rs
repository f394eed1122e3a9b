//! Amazon ECS's own lifecycle hooks (ECS-native blue/green, linear and canary deployments), whose
//! verdict is the function's return value, `{"hookStatus": …}`, rather than a CodeDeploy report.
//!
//! One call: the payload ([`payload`]) → what the stage asks ([`stage`]: a rollback is answered
//! at once, never held up) → where green answers ([`green`]: its revision's test listener rule
//! and the listener) → the checks, as the rule routes them to green ([`rule`]) → the verdict,
//! or `IN_PROGRESS` with the attempts used so far when the checks outlast the invocation
//! ([`progress`]) → one summary line ([`summary`]). Nothing here calls CodeDeploy.

pub mod green;
pub mod payload;
pub mod progress;
pub mod rule;
pub mod stage;
pub mod summary;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lambda_runtime::Diagnostic;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::checks::config::Mode;
use crate::checks::definitions::document::parse_entry;
use crate::checks::describe::with_check_metrics;
use crate::checks::runner::run_checks;
use crate::checks::setup::CheckSetup;
use crate::checks::verdict::{Status, Verdict};
use crate::checks::{CheckResult, Plan, Selection, ServiceTarget, Targets, listener_checks, plan_checks};
use crate::plumbing::aws::AwsClients;
use crate::plumbing::deadline::{Stopped, keep_back, run_guarded};
use crate::plumbing::metrics::{Record, Unit};
use green::find_green;
use payload::{EcsHookEvent, EcsPayloadError, parse_ecs_hook_event};
use progress::{Next, Progress};
use stage::{CHECKABLE_FROM, StageDecision, decide};
use summary::{Summary, log_rejected_payload};

/// The `hookDetails` key that carries this service's checks, in the shape of one entry of
/// `PREFLIGHT_CHECKS`.
pub const CHECKS_KEY: &str = "preflight";

/// What ECS does with the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStatus {
    Succeeded,
    Failed,
    /// Call again after `callBackDelay` seconds.
    InProgress,
}

impl fmt::Display for HookStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HookStatus::Succeeded => "SUCCEEDED",
            HookStatus::Failed => "FAILED",
            HookStatus::InProgress => "IN_PROGRESS",
        })
    }
}

/// The answer to one call, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: HookStatus,
    pub reason: String,
    /// Seconds before ECS calls again (`IN_PROGRESS` only).
    pub call_back_delay: Option<u64>,
    /// What ECS merges into the next call's `hookDetails` (`IN_PROGRESS` only).
    pub hook_details: Option<Value>,
}

impl Answer {
    fn of(verdict: Verdict) -> Answer {
        Answer {
            status: match verdict.status {
                Status::Succeeded => HookStatus::Succeeded,
                Status::Failed => HookStatus::Failed,
            },
            reason: verdict.reason,
            call_back_delay: None,
            hook_details: None,
        }
    }

    fn failed(reason: impl Into<String>) -> Answer {
        Answer::of(Verdict::failed(reason))
    }

    /// The function's return value, as ECS reads it.
    pub fn to_value(&self) -> Value {
        let mut answer = Map::new();
        answer.insert("hookStatus".into(), json!(self.status.to_string()));
        if let Some(delay) = self.call_back_delay {
            answer.insert("callBackDelay".into(), json!(delay));
        }
        if let Some(details) = &self.hook_details {
            answer.insert("hookDetails".into(), details.clone());
        }
        Value::Object(answer)
    }
}

/// Why the invocation itself failed: only an unreadable payload (ECS rolls back on a function
/// error, so even this is never a pass).
#[derive(Debug)]
pub enum EcsHookError {
    Payload(EcsPayloadError),
}

impl fmt::Display for EcsHookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EcsHookError::Payload(error) => error.fmt(f),
        }
    }
}

impl From<EcsHookError> for Diagnostic {
    fn from(error: EcsHookError) -> Diagnostic {
        Diagnostic {
            error_type: "InvalidEcsHookPayload".into(),
            error_message: error.to_string(),
        }
    }
}

/// What one call found, for the answer and the summary line.
struct Evaluation {
    answer: Answer,
    /// The test listener the checks went to.
    green: Option<String>,
    selections: Vec<Selection>,
    results: Vec<CheckResult>,
    skipped: bool,
}

impl Evaluation {
    fn answered(answer: Answer) -> Evaluation {
        Evaluation {
            answer,
            green: None,
            selections: Vec::new(),
            results: Vec::new(),
            skipped: false,
        }
    }

    fn failed(reason: impl Into<String>) -> Evaluation {
        Evaluation::answered(Answer::failed(reason))
    }
}

/// ECS's lifecycle hook: the check set-up it shares with the CodeDeploy hook.
pub struct EcsHook {
    setup: Arc<CheckSetup>,
}

impl EcsHook {
    pub fn new(setup: Arc<CheckSetup>) -> EcsHook {
        EcsHook { setup }
    }

    /// Serves one call: `payload` is the event, `deadline` the Lambda deadline. The value is
    /// what ECS reads.
    pub async fn handle(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        payload: &Value,
        deadline: Instant,
    ) -> Result<Value, EcsHookError> {
        self.answer(clients, payload, deadline)
            .await
            .map(|answer| answer.to_value())
    }

    /// [`EcsHook::handle`]'s answer, with its reason (which only the summary line shows ECS).
    pub async fn answer(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        payload: &Value,
        deadline: Instant,
    ) -> Result<Answer, EcsHookError> {
        let started = Instant::now();
        let event = parse_ecs_hook_event(payload).map_err(|error| {
            log_rejected_payload(&error);
            metrics(None, &[], started.elapsed()).emit();
            EcsHookError::Payload(error)
        })?;
        let check_deadline = keep_back(deadline, self.setup.deadline_margin());
        let evaluation = Arc::clone(&self)
            .evaluate_in_time(clients, event.clone(), check_deadline)
            .await;
        Summary {
            event: &event,
            answer: &evaluation.answer,
            green: evaluation.green.as_deref(),
            selections: &evaluation.selections,
            results: &evaluation.results,
            elapsed: started.elapsed(),
        }
        .log();
        metrics(Some(evaluation.answer.status), &evaluation.results, started.elapsed())
            .metric("Skipped", Unit::Count, if evaluation.skipped { 1.0 } else { 0.0 })
            .emit();
        Ok(evaluation.answer)
    }

    /// Runs the evaluation in its own task, so that neither a hang nor a panic can keep the
    /// answer from going out.
    async fn evaluate_in_time(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        event: EcsHookEvent,
        deadline: Instant,
    ) -> Evaluation {
        let evaluation = run_guarded(async move { self.evaluate(&clients, &event, deadline).await }, deadline);
        match evaluation.await {
            Ok(evaluation) => evaluation,
            Err(Stopped::Panicked(why)) => Evaluation::failed(format!("internal error while checking: {why}")),
            Err(Stopped::OutOfTime) => Evaluation::failed(
                "ran out of time before green was found (Lambda timeout minus DEADLINE_MARGIN_MS): raise the \
                 hook's timeout",
            ),
        }
    }

    async fn evaluate(&self, clients: &AwsClients, event: &EcsHookEvent, deadline: Instant) -> Evaluation {
        // First of all, before the configuration: nothing may hold a rollback up.
        if let StageDecision::Rollback { reason } = decide(event) {
            return Evaluation::answered(Answer::of(Verdict::succeeded(reason)));
        }
        let config = match self.setup.config() {
            Ok(config) => config,
            Err(error) => return Evaluation::failed(error.to_string()),
        };
        if let Some(skip) = config.skip_until.filter(|skip| skip.in_force(SystemTime::now())) {
            let reason = format!(
                "skipped until {} (PREFLIGHT_SKIP_UNTIL): nothing was checked; checking resumes by itself then",
                skip.shown()
            );
            tracing::warn!(reason = reason.as_str(), "checks skipped");
            return Evaluation {
                skipped: true,
                ..Evaluation::answered(Answer::of(Verdict::succeeded(reason)))
            };
        }
        let previous = match progress::read(event.hook_details.as_ref()) {
            Ok(previous) => previous,
            Err(why) => return Evaluation::failed(why),
        };
        let own_checks = match event.hook_details.as_ref().and_then(|details| details.get(CHECKS_KEY)) {
            Some(entry) => match parse_entry(entry, &format!("hookDetails.{CHECKS_KEY}"), &config.inherited) {
                Ok(plan) => Some(plan),
                Err(error) => {
                    return Evaluation::failed(format!(
                        "the checks in the hook's hookDetails are not usable: {}: {}",
                        error.place, error.problem
                    ));
                }
            },
            None => None,
        };
        let green = match find_green(clients, &event.target_revision_arn).await {
            Ok(green) => green,
            Err(error) => return Evaluation::failed(format!("green could not be found: {error}")),
        };
        let Some(listener) = &green.listener else {
            return Evaluation::failed(format!(
                "the test listener rule {} does not forward to green's target group {} at {}, so green cannot be \
                 checked yet: attach preflight to the stages from {CHECKABLE_FROM} on (POST_TEST_TRAFFIC_SHIFT, \
                 PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT)",
                green.routing.test_rule, green.routing.target_group, event.stage
            ));
        };
        // ALB_URL, when set, is where the listener answers (an internal alias, say); the rule's
        // conditions still apply.
        let base = match &config.mode {
            Mode::Http { base_url } => base_url.clone(),
            Mode::Lambda(_) => listener.clone(),
        };
        let planned = match &own_checks {
            Some(chosen) => listener_checks(chosen, &base),
            None => plan_checks(
                config,
                &Targets::Service(ServiceTarget {
                    name: event.service_name().map(str::to_string),
                    test_listener: Some(base.clone()),
                }),
                None,
            ),
        };
        let Plan { checks, selections } = match planned {
            Ok(plan) => plan,
            Err(error) => return Evaluation::failed(error.to_string()),
        };
        let mut checks = match checks
            .into_iter()
            .map(|check| green.route.apply(check))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(checks) => checks,
            Err(why) => return Evaluation::failed(why),
        };
        let start = Progress::resume(previous, progress::step_of(event), &mut checks);
        let probe = match self.setup.probe(config, clients).await {
            Ok(probe) => probe,
            Err(error) => return Evaluation::failed(error),
        };
        let results = run_checks(checks.clone(), config.concurrency, deadline, move |check| {
            let probe = Arc::clone(&probe);
            async move { probe.attempt(&check).await }
        })
        .await;
        let answer = match start.next(&checks, &results) {
            Next::Done => Answer::of(Verdict::from_results(&results, Selection::skipped_in(&selections))),
            Next::Stuck(why) => Answer::failed(why),
            Next::Continue { delay, progress } => Answer {
                status: HookStatus::InProgress,
                reason: format!(
                    "checks ran out of this invocation's time with attempts left (call {} of this step): ECS calls \
                     again in {} s",
                    progress.calls,
                    call_back_seconds(delay)
                ),
                call_back_delay: Some(call_back_seconds(delay)),
                hook_details: Some(json!({ progress::KEY: progress.to_value() })),
            },
        };
        Evaluation {
            answer,
            green: Some(base.to_string()),
            selections,
            results,
            skipped: false,
        }
    }
}

/// ECS counts `callBackDelay` in whole seconds; at least one, so that the wait between two
/// attempts is never shorter than the checks' interval.
fn call_back_seconds(interval: Duration) -> u64 {
    interval.as_millis().div_ceil(1000).max(1) as u64
}

/// The call's metrics: one answer (`NotAnswered` when the payload could not be read), the checks,
/// the time taken.
fn metrics(status: Option<HookStatus>, results: &[CheckResult], elapsed: Duration) -> Record {
    let status = status.map_or_else(|| "NotAnswered".to_string(), |status| status.to_string());
    with_check_metrics(
        Record::new("ecs_hook").dimension("HookStatus", status),
        results,
        elapsed,
    )
}

/// The configuration this flow reads, for tests that build one.
#[cfg(test)]
pub(crate) fn config_from(pairs: &[(&str, &str)]) -> crate::checks::config::Config {
    let env: std::collections::HashMap<&str, &str> = pairs.iter().copied().collect();
    match crate::checks::config::Config::from_lookup(&|name| env.get(name).map(|value| value.to_string())) {
        Ok(config) => config,
        Err(error) => panic!("test configuration: {error}"),
    }
}
