//! The CodeDeploy lifecycle hook, end to end: payload ([`payload`]) → what was deployed
//! ([`deployment`], [`appspec`]) → the checks ([`crate::checks`]) → exactly one report
//! ([`report`]) → one summary line ([`summary`]).
//!
//! [`Hook::handle`] serves one invocation. Once the two ids are known, every path ends in a
//! report: configuration errors, AWS errors, unreadable AppSpecs, failed checks, even a panic in
//! the evaluation. Only a payload without ids, or a report that cannot be delivered, makes the
//! invocation itself fail (the second so that Lambda's retry reports again).

pub mod appspec;
pub mod deployment;
pub mod payload;
pub mod report;
pub mod summary;
pub mod test_listener;
#[cfg(test)]
mod tests;

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::checks::config::{Config, Mode};
use crate::checks::describe::with_check_metrics;
use crate::checks::runner::run_checks;
use crate::checks::setup::CheckSetup;
use crate::checks::skip::{DESCRIPTION_DIRECTIVE, description_asks_to_skip};
use crate::checks::verdict::{Status, Verdict};
use crate::checks::{CheckResult, Plan, Selection, Targets, checks_without_targets, plan_checks};
use crate::plumbing::aws::{AwsClients, AwsError};
use crate::plumbing::deadline::{Stopped, keep_back, run_guarded};
use crate::plumbing::env::ConfigError;
use crate::plumbing::metrics::{Record, Unit};
use appspec::{Deployed, parse_appspec};
use deployment::{AppSpecText, discover};
use payload::{HookEvent, PayloadError, parse_hook_event};
use report::send_report;
use summary::{Summary, log_rejected_payload};
use test_listener::find_test_listener;

/// What lives across invocations: the check set-up, shared with the other flows that check.
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

/// What the evaluation found, for the verdict and the summary line.
struct Evaluation {
    deployed: Option<String>,
    selections: Vec<Selection>,
    results: Vec<CheckResult>,
    verdict: Verdict,
    /// The checks were skipped on purpose (`PREFLIGHT_SKIP_UNTIL`, `[skip preflight]`).
    skipped: bool,
}

impl Evaluation {
    fn failed(deployed: Option<String>, reason: impl Into<String>) -> Evaluation {
        Evaluation {
            deployed,
            selections: Vec::new(),
            results: Vec::new(),
            verdict: Verdict::failed(reason),
            skipped: false,
        }
    }

    /// `Succeeded` without checking; logged at WARN, since traffic moves unchecked.
    fn skipped(deployed: Option<String>, reason: String) -> Evaluation {
        tracing::warn!(reason = reason.as_str(), "checks skipped");
        Evaluation {
            deployed,
            selections: Vec::new(),
            results: Vec::new(),
            verdict: Verdict::succeeded(reason),
            skipped: true,
        }
    }

    fn checked(deployed: Option<String>, selections: Vec<Selection>, results: Vec<CheckResult>) -> Evaluation {
        Evaluation {
            deployed,
            verdict: Verdict::from_results(&results, Selection::skipped_in(&selections)),
            selections,
            results,
            skipped: false,
        }
    }
}

impl Hook {
    /// Reads the configuration. Never fails: a bad configuration is kept and reported as
    /// `Failed` by every execution.
    pub fn from_env() -> Hook {
        Hook::sharing(Arc::new(CheckSetup::from_env()))
    }

    /// A hook with this configuration (or configuration error).
    pub fn new(config: Result<Config, ConfigError>) -> Hook {
        Hook::sharing(Arc::new(CheckSetup::new(config)))
    }

    /// A hook on a check set-up that other flows share.
    pub fn sharing(setup: Arc<CheckSetup>) -> Hook {
        Hook { setup }
    }

    /// The check set-up, for the flows that share it.
    pub fn setup(&self) -> Arc<CheckSetup> {
        Arc::clone(&self.setup)
    }

    /// Serves one invocation: `payload` is the event, `deadline` the Lambda deadline.
    pub async fn handle(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        payload: &Value,
        deadline: Instant,
    ) -> Result<Value, HookError> {
        let started = Instant::now();
        let hook_event = parse_hook_event(payload).map_err(|error| {
            log_rejected_payload(&error);
            verdict_metrics(None, &[], started.elapsed()).emit();
            HookError::Payload(error)
        })?;
        tracing::debug!(
            deployment_id = %hook_event.deployment_id,
            remaining_ms = deadline.saturating_duration_since(started).as_millis() as u64,
            "hook invoked"
        );
        let check_deadline = keep_back(deadline, self.setup.deadline_margin());

        let evaluation = Arc::clone(&self)
            .evaluate_in_time(Arc::clone(&clients), hook_event.clone(), check_deadline)
            .await;
        let report_time = deadline.saturating_duration_since(Instant::now());
        let delivery = match tokio::time::timeout(
            report_time,
            send_report(clients.codedeploy().await, &hook_event, evaluation.verdict.status),
        )
        .await
        {
            Ok(delivery) => delivery.map_err(ReportFailure::Aws),
            Err(_) => Err(ReportFailure::NoAnswerInTime),
        };
        let logged_delivery = delivery.as_ref().map(|d| *d).map_err(ReportFailure::to_string);
        Summary {
            event: &hook_event,
            deployed: evaluation.deployed.as_deref(),
            selections: &evaluation.selections,
            results: &evaluation.results,
            verdict: &evaluation.verdict,
            delivery: logged_delivery.as_ref().map(|d| *d).map_err(String::as_str),
            elapsed: started.elapsed(),
        }
        .log();
        let reported = delivery.is_ok().then_some(evaluation.verdict.status);
        verdict_metrics(reported, &evaluation.results, started.elapsed())
            .metric("Skipped", Unit::Count, if evaluation.skipped { 1.0 } else { 0.0 })
            .emit();
        match delivery {
            Ok(delivery) => Ok(json!({
                "deploymentId": hook_event.deployment_id,
                "status": evaluation.verdict.status.to_string(),
                "reason": evaluation.verdict.reason,
                "report": delivery.to_string(),
            })),
            Err(why) => Err(HookError::ReportNotDelivered(why)),
        }
    }

    /// Runs the evaluation in its own task, so that neither a hang nor a panic can keep the
    /// report from going out.
    async fn evaluate_in_time(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        event: HookEvent,
        deadline: Instant,
    ) -> Evaluation {
        let evaluation = run_guarded(async move { self.evaluate(&clients, &event, deadline).await }, deadline);
        match evaluation.await {
            Ok(evaluation) => evaluation,
            Err(Stopped::Panicked(why)) => Evaluation::failed(None, format!("internal error while checking: {why}")),
            Err(Stopped::OutOfTime) => Evaluation::failed(
                None,
                "ran out of time before the checks finished (Lambda timeout minus DEADLINE_MARGIN_MS): \
                 raise the hook's timeout or lower CHECK_TIMEOUT_MS / CHECK_ATTEMPTS",
            ),
        }
    }

    async fn evaluate(&self, clients: &AwsClients, event: &HookEvent, deadline: Instant) -> Evaluation {
        let config = match self.setup.config() {
            Ok(config) => config,
            Err(error) => return Evaluation::failed(None, error.to_string()),
        };
        if let Some(skip) = config.skip_until.filter(|skip| skip.in_force(SystemTime::now())) {
            return Evaluation::skipped(
                None,
                format!(
                    "skipped until {} (PREFLIGHT_SKIP_UNTIL): nothing was checked; checking resumes by itself then",
                    skip.shown()
                ),
            );
        }
        let probe = match self.setup.probe(config, clients).await {
            Ok(probe) => probe,
            Err(error) => return Evaluation::failed(None, error),
        };
        let run = |checks| {
            run_checks(checks, config.concurrency, deadline, move |check| {
                let probe = Arc::clone(&probe);
                async move { probe.attempt(&check).await }
            })
        };
        // With ALB_URL the checks go there; without it, an ECS deployment's test listener is found.
        let find_listener = !matches!(config.mode, Mode::Http { .. });
        let lookup = look_up(clients, &event.deployment_id, find_listener);
        if let Some(plan) = checks_without_targets(config) {
            let plan = match plan {
                Ok(plan) => plan,
                Err(error) => return Evaluation::failed(None, error.to_string()),
            };
            // HTTP checks go to the listener whatever was deployed: the lookup (two CodeDeploy
            // round trips) runs alongside them instead of before them. Its failure still fails
            // the verdict, as it would have before the checks; a `[skip preflight]` in the
            // deployment's description stops them.
            let mut lookup = pin!(lookup);
            let Plan { checks, selections } = plan;
            let mut checks = pin!(run(checks));
            let (found, results) = tokio::select! {
                found = &mut lookup => match found {
                    Ok(found) if found.skip_requested => (Ok(found), Vec::new()),
                    found => (found, checks.await),
                },
                results = &mut checks => (lookup.await, results),
            };
            return match found {
                Ok(found) if found.skip_requested => Evaluation::skipped(Some(found.description), skip_directive()),
                Ok(found) => Evaluation::checked(Some(found.description), selections, results),
                Err(why) => Evaluation {
                    verdict: Verdict::failed(why),
                    ..Evaluation::checked(None, selections, results)
                },
            };
        }
        let found = match lookup.await {
            Ok(found) => found,
            Err(why) => return Evaluation::failed(None, why),
        };
        if found.skip_requested {
            return Evaluation::skipped(Some(found.description), skip_directive());
        }
        let plan = match plan_checks(config, &found.targets, Some(&found.deployment_group)) {
            Ok(plan) => plan,
            Err(error) => return Evaluation::failed(Some(found.description), error.to_string()),
        };
        let Plan { checks, selections } = plan;
        let results = run(checks).await;
        Evaluation::checked(Some(found.description), selections, results)
    }
}

fn skip_directive() -> String {
    format!("skipped: the deployment's description contains {DESCRIPTION_DIRECTIVE}, so nothing was checked")
}

/// What the lookup found: the summary's description, what the checks can reach, and what
/// chooses their definitions.
struct Found {
    description: String,
    targets: Targets,
    /// `APPLICATION/DEPLOYMENT_GROUP`.
    deployment_group: String,
    /// The deployment's description contains `[skip preflight]`.
    skip_requested: bool,
}

/// GetDeployment, GetApplicationRevision and the AppSpec, and for an ECS deployment, when
/// `find_listener`, its test listener; an error is the verdict's reason.
async fn look_up(clients: &AwsClients, deployment_id: &str, find_listener: bool) -> Result<Found, String> {
    let facts = discover(clients.codedeploy().await, deployment_id)
        .await
        .map_err(|error| error.to_string())?;
    let skip_requested = description_asks_to_skip(&facts.description);
    let deployed = match &facts.appspec {
        AppSpecText::Content(text) => match parse_appspec(text) {
            Ok(deployed) => Some(deployed),
            // A skipped deployment is not checked, so its AppSpec need not be readable.
            Err(_) if skip_requested => None,
            Err(error) => return Err(error.to_string()),
        },
        AppSpecText::Elsewhere(_) => None,
    };
    let targets = match (&deployed, &facts.appspec) {
        (Some(Deployed::Ecs(_)), _) if find_listener && !skip_requested => Targets::Service(
            find_test_listener(clients, &facts.application, &facts.group)
                .await
                .map_err(|error| error.to_string())?,
        ),
        (Some(deployed), _) => deployed.targets(),
        (None, AppSpecText::Elsewhere(kind)) => Targets::Unknown(format!(
            "the deployment's AppSpec is in {kind}, which CodeDeploy's API does not show"
        )),
        (None, AppSpecText::Content(_)) => Targets::Unknown("the deployment's AppSpec could not be read".into()),
    };
    Ok(Found {
        description: describe(&facts.application, &facts.group, deployed.as_ref(), &facts.appspec),
        targets,
        deployment_group: format!("{}/{}", facts.application, facts.group),
        skip_requested,
    })
}

/// The invocation's metrics: one verdict (`NotReported` when CodeDeploy did not get it), the
/// checks, their latencies, the time taken.
fn verdict_metrics(reported: Option<Status>, results: &[CheckResult], elapsed: Duration) -> Record {
    let verdict = reported.map_or_else(|| "NotReported".to_string(), |status| status.to_string());
    with_check_metrics(
        Record::new("codedeploy_hook").dimension("Verdict", verdict),
        results,
        elapsed,
    )
}

fn describe(application: &str, group: &str, deployed: Option<&Deployed>, appspec: &AppSpecText) -> String {
    let what = match (deployed, appspec) {
        (Some(deployed), _) => deployed.describe(),
        (None, AppSpecText::Elsewhere(kind)) => format!("{kind} (AppSpec not read)"),
        (None, AppSpecText::Content(_)) => String::new(),
    };
    format!("{application}/{group}: {what}")
}
