//! The CodeDeploy lifecycle hook, end to end: payload ([`payload`]) → what was deployed
//! ([`deployment`], [`appspec`]) → the checks ([`crate::checks`]) → exactly one report
//! ([`report`]) → one summary line ([`summary`]) → once CodeDeploy accepted the report, the
//! verdict event ([`crate::checks::announce`]).
//!
//! [`Hook::handle`] serves one invocation. Once the two ids are known, every path ends in a
//! report: configuration errors, AWS errors, unreadable AppSpecs, failed checks, even a panic in
//! the evaluation. Only a payload without ids, or a report that cannot be delivered, makes the
//! invocation itself fail (the second so that Lambda's retry reports again).

pub mod appspec;
pub(crate) mod canary;
pub(crate) mod deployment;
pub(crate) mod lifecycle;
pub mod live;
pub mod payload;
pub(crate) mod report;
pub(crate) mod summary;
pub(crate) mod test_listener;
#[cfg(test)]
mod tests;

use std::pin::pin;
use std::sync::Arc;

use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::checks::announce::{Deployment, VerdictEvent, announce};
use crate::checks::canary::{OnInconclusive, verdict_with};
use crate::checks::config::Mode;
use crate::checks::deciding::{Checking, Deciding, Findings, Stop, evaluate_invocation, flow_record};
use crate::checks::definitions::{Definitions, Subject as Selected};
use crate::checks::setup::CheckSetup;
use crate::checks::skip::{DESCRIPTION_DIRECTIVE, description_asks_to_skip};
use crate::checks::verdict::{Cause, Status, Verdict};
use crate::checks::{Moment, Plan, Targets, canary_for, checks_without_targets, function_subject, plan_checks_at};
use crate::plumbing::aws::codedeploy::deployment_targets;
use crate::plumbing::aws::{AwsClients, AwsError};
use appspec::{AppSpecError, Deployed, parse_appspec};
use canary::{ToJudge, judge_targets, unjudged};
use deployment::{AppSpecText, DiscoveryError, discover};
use lifecycle::{Lifecycle, lifecycle_of};
use payload::{HookEvent, PayloadError, parse_hook_event};
use report::{Delivery, send_report};
use summary::{Summary, log_rejected_payload};
use test_listener::find_test_listener;

/// The CodeDeploy hook: the check set-up the router shares with every flow that checks.
pub struct Hook {
    setup: Arc<CheckSetup>,
}

/// Why an invocation itself failed (as opposed to reporting `Failed`).
#[derive(Debug)]
pub enum HookError {
    Payload(PayloadError),
    ReportNotDelivered(ReportFailure),
}

/// Why the report did not reach CodeDeploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportFailure {
    Aws(AwsError),
    /// CodeDeploy did not answer before the Lambda deadline.
    NoAnswerInTime,
}

impl std::fmt::Display for ReportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportFailure::Aws(error) => error.fmt(f),
            ReportFailure::NoAnswerInTime => f.write_str("no answer from CodeDeploy before the Lambda deadline"),
        }
    }
}

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookError::Payload(error) => error.fmt(f),
            HookError::ReportNotDelivered(why) => write!(f, "the verdict could not be reported: {why}"),
        }
    }
}

impl From<HookError> for Diagnostic {
    fn from(error: HookError) -> Diagnostic {
        let error_type = match error {
            HookError::Payload(_) => "InvalidHookPayload",
            HookError::ReportNotDelivered(_) => "ReportNotDelivered",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

impl From<DiscoveryError> for Stop {
    fn from(error: DiscoveryError) -> Stop {
        let cause = match &error {
            DiscoveryError::Aws(aws) => Cause::of(aws),
            DiscoveryError::Listener(listener) => Stop::from(listener.clone()).0.cause,
            DiscoveryError::NoRevision { .. } | DiscoveryError::NoContent { .. } => Cause::NotFound,
            DiscoveryError::NoTestRoute { .. } => Cause::Misconfigured,
        };
        Stop::failed(cause, error.to_string())
    }
}

impl From<AppSpecError> for Stop {
    fn from(error: AppSpecError) -> Stop {
        Stop::failed(Cause::Misconfigured, error.to_string())
    }
}

/// The function's answer to the invocation, once CodeDeploy has the verdict.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Reported<'a> {
    deployment_id: &'a str,
    status: Status,
    cause: Cause,
    reason: &'a str,
    report: Delivery,
}

impl Hook {
    /// A hook on the check set-up that the router shares with the other flows that check.
    pub fn new(setup: Arc<CheckSetup>) -> Hook {
        Hook { setup }
    }

    /// Serves one invocation: `payload` is the event, `deadline` the Lambda deadline.
    pub async fn handle(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        payload: &Value,
        deadline: Instant,
    ) -> Result<Value, HookError> {
        let started = Instant::now();
        let (hook_event, evaluation) = evaluate_invocation(Arc::clone(&self), Arc::clone(&clients), payload, deadline)
            .await
            .map_err(HookError::Payload)?;
        let verdict = &evaluation.decision;
        // The client's set-up counts against the report's time too: nothing may outlast the
        // deadline.
        let report = async { send_report(clients.codedeploy().await, &hook_event, verdict.status).await };
        let delivery = match tokio::time::timeout_at(deadline, report).await {
            Ok(delivery) => delivery.map_err(ReportFailure::Aws),
            Err(_) => Err(ReportFailure::NoAnswerInTime),
        };
        let logged_delivery = delivery.as_ref().map(|d| *d).map_err(ReportFailure::to_string);
        Summary {
            event: &hook_event,
            deployed: evaluation.findings.subject.as_deref(),
            selections: &evaluation.findings.selections,
            results: &evaluation.findings.results,
            judgements: &evaluation.findings.judgements,
            verdict,
            delivery: logged_delivery.as_ref().map(|d| *d).map_err(String::as_str),
            elapsed: started.elapsed(),
        }
        .log();
        // `NotReported` when CodeDeploy did not get the verdict.
        let reported = match delivery {
            Ok(_) => verdict.status.to_string(),
            Err(_) => Self::NO_VERDICT.to_string(),
        };
        flow_record::<Hook>(
            reported,
            Some(verdict.cause),
            &evaluation.findings.results,
            started.elapsed(),
        )
        .emit();
        for judgement in &evaluation.findings.judgements {
            judgement.record(Self::FLOW).emit();
        }
        // Announced once CodeDeploy has the verdict, and only then: a report not delivered fails
        // the invocation (Lambda's retry reports and announces), and a retried delivery that
        // CodeDeploy already had was announced by the first. The verdict stands whatever becomes
        // of the event (`announce` logs and counts a failure).
        if matches!(delivery, Ok(Delivery::Accepted)) {
            let findings = &evaluation.findings;
            let deployment = Deployment::CodeDeploy {
                deployment_id: &hook_event.deployment_id,
                deployed: findings.subject.as_deref(),
                lifecycle_event: findings.stage.as_deref(),
            };
            let event = VerdictEvent::of_findings(
                Self::FLOW,
                deployment,
                &verdict.status,
                verdict.cause,
                &verdict.reason,
                findings,
            );
            let _ = announce(&clients, self.setup.events(), &event, deadline, Self::FLOW).await;
        }
        match delivery {
            Ok(report) => Ok(serde_json::to_value(Reported {
                deployment_id: &hook_event.deployment_id,
                status: verdict.status,
                cause: verdict.cause,
                reason: &verdict.reason,
                report,
            })
            .unwrap_or(Value::Null)),
            Err(why) => Err(HookError::ReportNotDelivered(why)),
        }
    }
}

impl Deciding for Hook {
    type Event = HookEvent;
    type PayloadError = PayloadError;
    type Decision = Verdict;

    const FLOW: &'static str = "codedeploy_hook";
    const STATUS_DIMENSION: &'static str = "Verdict";
    const NO_VERDICT: &'static str = "NotReported";

    const OUT_OF_TIME: &'static str = "ran out of time before the checks finished (Lambda timeout minus \
                                        DEADLINE_MARGIN_MS): raise the hook's timeout or lower CHECK_TIMEOUT_MS / \
                                        CHECK_ATTEMPTS";

    fn setup(&self) -> &Arc<CheckSetup> {
        &self.setup
    }

    fn parse(payload: &Value) -> Result<HookEvent, PayloadError> {
        parse_hook_event(payload)
    }

    fn log_rejected(error: &PayloadError) {
        log_rejected_payload(error);
    }

    async fn evaluate(&self, checking: &Checking, event: &HookEvent, findings: &mut Findings) -> Result<Verdict, Stop> {
        let config = checking.config()?;
        let judges_traffic = config.definitions.as_ref().is_some_and(Definitions::judge_traffic);
        // With ALB_URL the checks go there; without it, an ECS deployment's test listener is found.
        let find_listener = !matches!(config.mode, Mode::Http { .. });
        let lookup = look_up(checking.clients(), &event.deployment_id, find_listener);
        // A hook that may judge traffic must know the lifecycle event first.
        if !judges_traffic && let Some(plan) = checks_without_targets(config) {
            // HTTP checks go to the listener whatever was deployed: the lookup (two CodeDeploy
            // round trips) runs alongside them instead of before them. Its failure still fails
            // the verdict, as it would have before the checks; a `[skip preflight]` in the
            // deployment's description stops them.
            let Plan { checks, selections } = plan?;
            findings.selections = selections;
            let mut lookup = pin!(lookup);
            let mut checks = pin!(checking.run(config, checks));
            let (found, results) = tokio::select! {
                found = &mut lookup => match found {
                    Ok(found) if found.skip_requested => (Ok(found), Ok(Vec::new())),
                    found => (found, checks.await),
                },
                results = &mut checks => (lookup.await, results),
            };
            findings.results = results?;
            let found = found?;
            findings.subject = Some(found.description);
            if found.skip_requested {
                return Ok(Verdict::skipped(skip_directive()));
            }
            return Ok(Verdict::from_results(&findings.results, skipped_in(findings)));
        }
        let found = lookup.await?;
        findings.subject = Some(found.description);
        if found.skip_requested {
            return Ok(Verdict::skipped(skip_directive()));
        }
        let group = Some(found.deployment_group.as_str());
        // The two extra CodeDeploy calls are made only when an entry asks for judging.
        let lifecycle = if judges_traffic {
            lifecycle_of(&deployment_targets(checking.clients().codedeploy().await, &event.deployment_id).await?)
        } else {
            Lifecycle::default()
        };
        findings.stage = lifecycle.caller.clone();
        let moment = if lifecycle.after_traffic() {
            Moment::AfterTraffic
        } else {
            Moment::BeforeTraffic
        };
        let Plan { checks, selections } = plan_checks_at(config, &found.targets, group, moment)?;
        findings.selections = selections;
        let to_judge: Vec<ToJudge> = match (&found.deployed, &found.targets, moment) {
            (Some(Deployed::Lambda(functions)), _, Moment::AfterTraffic) => functions
                .iter()
                .filter_map(|function| {
                    canary_for(config, &function_subject(&function.name, group)).map(|settings| ToJudge::Function {
                        function: function.clone(),
                        settings,
                    })
                })
                .collect(),
            (Some(Deployed::Ecs(_)), targets, Moment::AfterTraffic) => {
                let service = match targets {
                    Targets::Service(service) => service.name.clone(),
                    _ => None,
                };
                let selected = Selected {
                    functions: Vec::new(),
                    deployment_group: group.map(str::to_string),
                    service: service.clone(),
                };
                canary_for(config, &selected)
                    .map(|settings| ToJudge::Service {
                        service: service.unwrap_or_else(|| found.deployment_group.clone()),
                        task_sets: lifecycle.task_sets.clone(),
                        settings,
                    })
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        };
        // After traffic moved, an entry asked for judging but the AppSpec could not be read: never
        // a silent pass.
        let unjudged = match (&found.deployed, moment) {
            (None, Moment::AfterTraffic) => {
                let selected = Selected {
                    deployment_group: group.map(str::to_string),
                    ..Selected::default()
                };
                let on_inconclusive =
                    canary_for(config, &selected).map_or(OnInconclusive::Succeed, |s| s.on_inconclusive);
                Some(unjudged(
                    &found.deployment_group,
                    &found.targets,
                    lifecycle.allow_traffic,
                    on_inconclusive,
                ))
            }
            _ => None,
        };
        let checked = if checks.is_empty() && (!to_judge.is_empty() || unjudged.is_some()) {
            None
        } else {
            findings.results = checking.run(config, checks).await?;
            Some(Verdict::from_results(&findings.results, skipped_in(findings)))
        };
        // Failed checks decide already: no need to wait for traffic.
        if checked
            .as_ref()
            .is_none_or(|checked| checked.status == Status::Succeeded)
        {
            findings.judgements = judge_targets(checking, to_judge, lifecycle.allow_traffic).await?;
            findings.judgements.extend(unjudged);
        }
        Ok(verdict_with(checked, &findings.judgements))
    }
}

fn skipped_in(findings: &Findings) -> usize {
    crate::checks::Selection::skipped_in(&findings.selections)
}

fn skip_directive() -> String {
    format!("skipped: the deployment's description contains {DESCRIPTION_DIRECTIVE}, so nothing was checked")
}

/// What the lookup found: the summary's description, what the checks can reach, and what
/// chooses their definitions.
struct Found {
    description: String,
    /// What the AppSpec says was deployed, when it could be read.
    deployed: Option<Deployed>,
    targets: Targets,
    /// `APPLICATION/DEPLOYMENT_GROUP`.
    deployment_group: String,
    /// The deployment's description contains `[skip preflight]`.
    skip_requested: bool,
}

/// GetDeployment, GetApplicationRevision and the AppSpec, and for an ECS deployment, when
/// `find_listener`, its test listener.
async fn look_up(clients: &AwsClients, deployment_id: &str, find_listener: bool) -> Result<Found, Stop> {
    let facts = discover(clients.codedeploy().await, deployment_id).await?;
    let skip_requested = description_asks_to_skip(&facts.description);
    let deployed = match &facts.appspec {
        AppSpecText::Content(text) => match parse_appspec(text) {
            Ok(deployed) => Some(deployed),
            // A skipped deployment is not checked, so its AppSpec need not be readable.
            Err(_) if skip_requested => None,
            Err(error) => return Err(error.into()),
        },
        AppSpecText::Elsewhere(_) => None,
    };
    let targets = match (&deployed, &facts.appspec) {
        (Some(Deployed::Ecs(_)), _) if find_listener && !skip_requested => {
            Targets::Service(find_test_listener(clients, &facts.application, &facts.group).await?)
        }
        (Some(deployed), _) => deployed.targets(),
        (None, AppSpecText::Elsewhere(kind)) => Targets::Unknown(format!(
            "the deployment's AppSpec is in {kind}, which CodeDeploy's API does not show"
        )),
        (None, AppSpecText::Content(_)) => Targets::Unknown("the deployment's AppSpec could not be read".into()),
    };
    Ok(Found {
        description: describe(&facts.application, &facts.group, deployed.as_ref(), &facts.appspec),
        deployed,
        targets,
        deployment_group: format!("{}/{}", facts.application, facts.group),
        skip_requested,
    })
}

fn describe(application: &str, group: &str, deployed: Option<&Deployed>, appspec: &AppSpecText) -> String {
    let what = match (deployed, appspec) {
        (Some(deployed), _) => deployed.describe(),
        (None, AppSpecText::Elsewhere(kind)) => format!("{kind} (AppSpec not read)"),
        (None, AppSpecText::Content(_)) => String::new(),
    };
    format!("{application}/{group}: {what}")
}
