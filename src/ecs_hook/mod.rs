//! Amazon ECS's own lifecycle hooks (ECS-native blue/green, linear and canary deployments), whose
//! verdict is the function's return value, `{"hookStatus": …}`, rather than a CodeDeploy report.
//!
//! One call: the payload ([`payload`]) → what the stage asks ([`stage`]: a rollback is answered
//! at once, never held up) → where green answers ([`green`]: its revision's test listener rule
//! and the listener) → the checks, as the rule routes them to green ([`rule`]) → the verdict,
//! or `IN_PROGRESS` with the attempts used so far when the checks outlast the invocation
//! ([`progress`]) → one summary line ([`summary`]) → the verdict event, sent just before the
//! answer is returned (the answer is the verdict), and never for `IN_PROGRESS`
//! ([`crate::checks::announce`]). Nothing here calls CodeDeploy.

pub(crate) mod canary;
pub(crate) mod green;
pub mod payload;
pub(crate) mod progress;
pub(crate) mod rule;
pub(crate) mod stage;
pub(crate) mod summary;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::checks::announce::{Deployment, VerdictEvent, announce};
use crate::checks::canary::{CanarySettings, verdict_with};
use crate::checks::config::Mode;
use crate::checks::deciding::{Checking, Deciding, Decision, Findings, Stop, evaluate_invocation, flow_record};
use crate::checks::definitions::Subject as Selected;
use crate::checks::definitions::document::parse_entry;
use crate::checks::setup::CheckSetup;
use crate::checks::verdict::{Cause, Status, Verdict};
use crate::checks::{Plan, Selection, ServiceTarget, Targets, canary_for, listener_checks, plan_checks, service_plan};
use crate::plumbing::aws::AwsClients;
use canary::StepJudgement;
use green::{GreenError, find_green};
use payload::{EcsHookEvent, EcsPayloadError, parse_ecs_hook_event};
use progress::{Next, Progress};
use stage::{CHECKABLE_FROM, StageDecision, decide};
use summary::{Summary, log_rejected_payload};

/// The `hookDetails` key that carries this service's checks, in the shape of one entry of
/// `PREFLIGHT_CHECKS`.
pub const CHECKS_KEY: &str = "preflight";

/// What ECS does with the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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
pub struct HookAnswer {
    pub status: HookStatus,
    pub cause: Cause,
    pub reason: String,
    /// Seconds before ECS calls again (`IN_PROGRESS` only).
    pub call_back_delay: Option<u64>,
    /// What ECS merges into the next call's `hookDetails` (`IN_PROGRESS` only).
    pub hook_details: Option<Value>,
}

/// The function's return value, as ECS reads it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Returned<'a> {
    hook_status: HookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_back_delay: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hook_details: Option<&'a Value>,
}

impl HookAnswer {
    /// The function's return value, as ECS reads it.
    pub fn to_value(&self) -> Value {
        let returned = Returned {
            hook_status: self.status,
            call_back_delay: self.call_back_delay,
            hook_details: self.hook_details.as_ref(),
        };
        // Never fails: the fields are a string, a number and a JSON value.
        serde_json::to_value(returned).unwrap_or_else(|_| json!({"hookStatus": "FAILED"}))
    }
}

impl Decision for HookAnswer {
    fn from_verdict(verdict: Verdict) -> HookAnswer {
        HookAnswer {
            status: match verdict.status {
                Status::Succeeded => HookStatus::Succeeded,
                Status::Failed => HookStatus::Failed,
            },
            cause: verdict.cause,
            reason: verdict.reason,
            call_back_delay: None,
            hook_details: None,
        }
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

impl From<GreenError> for Stop {
    fn from(error: GreenError) -> Stop {
        let cause = match &error {
            GreenError::Aws(aws) => Cause::of(aws),
            GreenError::Listener(listener) => Stop::from(listener.clone()).0.cause,
            GreenError::NoTestRule { .. } | GreenError::NoTargetGroup { .. } | GreenError::Rule { .. } => {
                Cause::Misconfigured
            }
        };
        Stop::failed(cause, format!("green could not be found: {error}"))
    }
}

/// ECS's lifecycle hook: the check set-up the router shares with every flow that checks.
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

    /// [`EcsHook::handle`]'s answer, with its cause and reason (which only the summary line shows
    /// ECS).
    pub async fn answer(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        payload: &Value,
        deadline: Instant,
    ) -> Result<HookAnswer, EcsHookError> {
        let started = Instant::now();
        let (event, evaluation) = evaluate_invocation(Arc::clone(&self), Arc::clone(&clients), payload, deadline)
            .await
            .map_err(EcsHookError::Payload)?;
        let answer = evaluation.decision;
        Summary {
            event: &event,
            answer: &answer,
            green: evaluation.findings.subject.as_deref(),
            selections: &evaluation.findings.selections,
            results: &evaluation.findings.results,
            judgements: &evaluation.findings.judgements,
            elapsed: started.elapsed(),
        }
        .log();
        for judgement in &evaluation.findings.judgements {
            judgement.record(Self::FLOW).emit();
        }
        flow_record::<EcsHook>(
            answer.status.to_string(),
            Some(answer.cause),
            &evaluation.findings.results,
            started.elapsed(),
        )
        .emit();
        // The verdict is this function's return value, so its event goes just before it, once
        // it is final: `IN_PROGRESS` is no verdict, and sends none. The answer stands whatever
        // becomes of the event (`announce` logs and counts a failure).
        if answer.status != HookStatus::InProgress {
            let findings = &evaluation.findings;
            let deployment = Deployment::Ecs {
                service_deployment_arn: &event.resource_arn,
                service: event.service_name(),
                revision: &event.target_revision_arn,
                stage: event.stage.name(),
                green: findings.subject.as_deref(),
            };
            let verdict_event = VerdictEvent::of_findings(
                Self::FLOW,
                deployment,
                &answer.status,
                answer.cause,
                &answer.reason,
                findings,
            );
            let _ = announce(&clients, self.setup.events(), &verdict_event, deadline, Self::FLOW).await;
        }
        Ok(answer)
    }
}

impl Deciding for EcsHook {
    type Event = EcsHookEvent;
    type PayloadError = EcsPayloadError;
    type Decision = HookAnswer;

    const FLOW: &'static str = "ecs_hook";
    const STATUS_DIMENSION: &'static str = "HookStatus";
    const NO_VERDICT: &'static str = "NotAnswered";

    const OUT_OF_TIME: &'static str = "ran out of time before green was found (Lambda timeout minus \
                                        DEADLINE_MARGIN_MS): raise the hook's timeout";

    fn setup(&self) -> &Arc<CheckSetup> {
        &self.setup
    }

    fn parse(payload: &Value) -> Result<EcsHookEvent, EcsPayloadError> {
        parse_ecs_hook_event(payload)
    }

    fn log_rejected(error: &EcsPayloadError) {
        log_rejected_payload(error);
    }

    async fn evaluate(
        &self,
        checking: &Checking,
        event: &EcsHookEvent,
        findings: &mut Findings,
    ) -> Result<HookAnswer, Stop> {
        // First of all, before the configuration: nothing may hold a rollback up.
        if let StageDecision::Rollback { reason } = decide(event) {
            return Ok(HookAnswer::from_verdict(Verdict::succeeded(Cause::Rollback, reason)));
        }
        let config = checking.config()?;
        let previous =
            progress::read(event.hook_details.as_ref()).map_err(|why| Stop::failed(Cause::Misconfigured, why))?;
        let step_start =
            canary::read(event.hook_details.as_ref()).map_err(|why| Stop::failed(Cause::Misconfigured, why))?;
        let own_checks = match event.hook_details.as_ref().and_then(|details| details.get(CHECKS_KEY)) {
            Some(entry) => Some(
                parse_entry(entry, &format!("hookDetails.{CHECKS_KEY}"), &config.inherited).map_err(|error| {
                    Stop::failed(
                        Cause::Misconfigured,
                        format!(
                            "the checks in the hook's hookDetails are not usable: {}: {}",
                            error.place, error.problem
                        ),
                    )
                })?,
            ),
            None => None,
        };
        let green = find_green(checking.clients(), &event.target_revision_arn).await?;
        let Some(listener) = &green.listener else {
            return Err(Stop::failed(
                Cause::Misconfigured,
                format!(
                    "the test {} {} does not forward to green's target group {} at {}, so green cannot be \
                     checked yet: attach preflight to the stages from {CHECKABLE_FROM} on (POST_TEST_TRAFFIC_SHIFT, \
                     PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT)",
                    if green::is_listener_arn(&green.routing.test_rule) {
                        "listener"
                    } else {
                        "listener rule"
                    },
                    green.routing.test_rule,
                    green.routing.target_group,
                    event.stage
                ),
            ));
        };
        // ALB_URL, when set, is where the listener answers (an internal alias, say); the rule's
        // conditions still apply.
        let base = match &config.mode {
            Mode::Http { base_url } => base_url.clone(),
            Mode::Lambda(_) => listener.clone(),
        };
        findings.subject = Some(base.to_string());
        let Plan { checks, selections } = match &own_checks {
            Some(chosen) => listener_checks(chosen, &base)?,
            None => plan_checks(
                config,
                &Targets::Service(ServiceTarget {
                    name: event.service_name().map(str::to_string),
                    test_listener: Some(base.clone()),
                }),
                None,
            )?,
        };
        findings.selections = selections;
        // Green's real traffic is judged where production traffic moved to it, when the service's
        // entry asks; the synthetic checks still run first, once a step.
        let canary = match &own_checks {
            Some(chosen) => chosen.canary,
            None => canary_for(
                config,
                &Selected {
                    service: event.service_name().map(str::to_string),
                    ..Selected::default()
                },
            ),
        }
        .filter(|_| canary::judged_at(event.stage));
        // The entry whose traffic (if it asks for any) goes through the production listener.
        let chosen = own_checks
            .clone()
            .unwrap_or_else(|| service_plan(config, event.service_name()).clone());
        let judging = Judging {
            routing: &green.routing,
            chosen: &chosen,
            config,
        };
        let step = progress::step_of(event);
        if let Some(settings) = &canary
            && step_start
                .as_ref()
                .is_some_and(|start| start.continues(&step, settings, std::time::SystemTime::now()))
        {
            // A later call of a step being judged: its checks passed in the step's first call.
            return Self::judge(checking, event, &judging, step_start, settings, None, findings).await;
        }
        let mut checks = checks
            .into_iter()
            .map(|check| green.route.apply(check))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| Stop::failed(Cause::Misconfigured, why))?;
        let start = Progress::resume(previous, step, &mut checks);
        findings.results = checking.run(config, checks.clone()).await?;
        let results = &findings.results;
        Ok(match start.next(&checks, results) {
            Next::Done => {
                let checked = Verdict::from_results(results, Selection::skipped_in(&findings.selections));
                match &canary {
                    Some(settings) if checked.status == Status::Succeeded => {
                        return Self::judge(checking, event, &judging, step_start, settings, Some(checked), findings)
                            .await;
                    }
                    _ => HookAnswer::from_verdict(checked),
                }
            }
            Next::Stuck(why) => HookAnswer::from_verdict(Verdict::failed(Cause::OutOfTime, why)),
            Next::Continue { delay, progress } => HookAnswer {
                status: HookStatus::InProgress,
                cause: Cause::InProgress,
                reason: format!(
                    "checks ran out of this invocation's time with attempts left (call {} of this step): ECS calls \
                     again in {} s",
                    progress.calls,
                    call_back_seconds(delay)
                ),
                call_back_delay: Some(call_back_seconds(delay)),
                hook_details: Some(json!({ progress::KEY: progress.to_value() })),
            },
        })
    }
}

impl EcsHook {
    /// Judges green's real traffic at this call of its step; `checked` is the verdict of the
    /// checks this call ran, if it ran them.
    async fn judge(
        checking: &Checking,
        event: &EcsHookEvent,
        judging: &Judging<'_>,
        step_start: Option<canary::StepStart>,
        settings: &CanarySettings,
        checked: Option<Verdict>,
        findings: &mut Findings,
    ) -> Result<HookAnswer, Stop> {
        let service = event.service_name().unwrap_or(&event.service_arn).to_string();
        let all_on_green = event
            .production_weights
            .get(&event.target_revision_arn)
            .is_none_or(|weight| *weight >= 100.0);
        let judged = canary::judge_step(
            checking,
            &service,
            judging.routing,
            canary::StepCall {
                stage: event.stage,
                step: &progress::step_of(event),
                all_on_green,
            },
            step_start,
            settings,
        )
        .await?;
        Ok(match judged {
            StepJudgement::Decided(judgement) => {
                findings.judgements = vec![judgement];
                HookAnswer::from_verdict(verdict_with(checked, &findings.judgements))
            }
            StepJudgement::Wait {
                delay,
                mut start,
                reason,
            } => {
                // Too little traffic yet: a quiet service's entry may send some while ECS waits,
                // but only while production is split: once green has it all, green's minutes are
                // judged against blue's before the shift, and synthetic requests on green's side
                // alone would water its error rate down.
                let split = event.stage == payload::Stage::ProductionTrafficShift && !all_on_green;
                let traffic = if split {
                    canary::send_step_traffic(
                        checking,
                        judging.config,
                        judging.routing,
                        judging.chosen,
                        &service,
                        &mut start,
                    )
                    .await
                } else {
                    canary::StepTraffic { sent: 0, note: None }
                };
                let sent = match (traffic.sent, traffic.note) {
                    (0, None) => String::new(),
                    (0, Some(note)) => format!("; {note}"),
                    (sent, None) => format!("; sent {sent} synthetic requests through the production listener"),
                    (sent, Some(note)) => {
                        format!("; sent {sent} synthetic requests through the production listener ({note})")
                    }
                };
                HookAnswer {
                    status: HookStatus::InProgress,
                    cause: Cause::InProgress,
                    reason: format!("{reason}{sent}: ECS calls again in {} s", call_back_seconds(delay)),
                    call_back_delay: Some(call_back_seconds(delay)),
                    hook_details: Some(json!({ canary::KEY: start.to_value() })),
                }
            }
        })
    }
}

/// What judging green needs beyond the call: its routing, the entry that chose its checks (and
/// maybe traffic), and the configuration (for the probe the traffic is sent with).
struct Judging<'a> {
    routing: &'a green::GreenRouting,
    chosen: &'a crate::checks::definitions::TargetPlan,
    config: &'a crate::checks::config::Config,
}

/// ECS counts `callBackDelay` in whole seconds; at least one, so that the wait between two
/// attempts is never shorter than the checks' interval.
fn call_back_seconds(interval: Duration) -> u64 {
    interval.as_millis().div_ceil(1000).max(1) as u64
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
