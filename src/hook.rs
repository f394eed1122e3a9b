//! The hook, end to end: payload → what was deployed → checks → exactly one report → summary.
//!
//! [`Hook::handle`] is the Lambda handler. Once the two ids are known, every path ends in a
//! report: configuration errors, AWS errors, unreadable AppSpecs, failed checks, even a panic in
//! the evaluation. Only a payload without ids, or a report that cannot be delivered, makes the
//! invocation itself fail (the second so that Lambda's retry reports again).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::appspec::{Deployed, parse_appspec};
use crate::checks::probe::Probe;
use crate::checks::runner::run_checks;
use crate::checks::{CheckResult, plan_checks};
use crate::config::{Config, ConfigError};
use crate::deployment::{AppSpecText, discover};
use crate::event::{HookEvent, PayloadError, parse_hook_event};
use crate::report::send_report;
use crate::summary::{Summary, log_rejected_payload};
use crate::verdict::Verdict;

/// Everything that lives across invocations. The configuration is read at start-up; the AWS
/// clients are made by the first invocation, which needs them at once, so that nothing delays
/// the first poll of the Runtime API that can wait until there is an event.
pub struct Hook {
    config: Result<Config, ConfigError>,
    clients: tokio::sync::OnceCell<Clients>,
}

struct Clients {
    codedeploy: aws_sdk_codedeploy::Client,
    probe: Result<Arc<Probe>, String>,
}

/// Why an invocation itself failed (as opposed to reporting `Failed`).
#[derive(Debug)]
pub enum HookError {
    Payload(PayloadError),
    ReportNotDelivered(String),
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
    results: Vec<CheckResult>,
    verdict: Verdict,
}

impl Evaluation {
    fn failed(deployed: Option<String>, reason: impl Into<String>) -> Evaluation {
        Evaluation {
            deployed,
            results: Vec::new(),
            verdict: Verdict::failed(reason),
        }
    }
}

impl Hook {
    /// Reads the configuration. Never fails: a bad configuration is kept and reported as
    /// `Failed` by every execution.
    pub fn from_env() -> Hook {
        let config = Config::from_env();
        if let Err(error) = &config {
            tracing::error!(variable = error.variable, "{error}");
        }
        Hook {
            config,
            clients: tokio::sync::OnceCell::new(),
        }
    }

    async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| async {
                let sdk = crate::aws::load_sdk_config().await;
                let probe = match &self.config {
                    Ok(config) => Probe::new(config, aws_sdk_lambda::Client::new(&sdk)).map(Arc::new),
                    Err(error) => Err(error.to_string()),
                };
                Clients {
                    codedeploy: aws_sdk_codedeploy::Client::new(&sdk),
                    probe,
                }
            })
            .await
    }

    /// The Lambda handler.
    pub async fn handle(self: Arc<Self>, event: LambdaEvent<Value>) -> Result<Value, HookError> {
        let started = Instant::now();
        let hook_event = parse_hook_event(&event.payload).map_err(|error| {
            log_rejected_payload(&error);
            HookError::Payload(error)
        })?;
        let lambda_deadline = instant_of(event.context.deadline);
        tracing::debug!(
            deployment_id = %hook_event.deployment_id,
            remaining_ms = lambda_deadline.saturating_duration_since(started).as_millis() as u64,
            "hook invoked"
        );
        let margin = self
            .config
            .as_ref()
            .map_or(Duration::from_secs(3), |c| c.patience.deadline_margin);
        let check_deadline = lambda_deadline.checked_sub(margin).unwrap_or_else(Instant::now);

        let evaluation = self.clone().evaluate_in_time(hook_event.clone(), check_deadline).await;
        let report_time = lambda_deadline.saturating_duration_since(Instant::now());
        let delivery = match tokio::time::timeout(
            report_time,
            send_report(&self.clients().await.codedeploy, &hook_event, evaluation.verdict.status),
        )
        .await
        {
            Ok(delivery) => delivery,
            Err(_) => Err("no answer from CodeDeploy before the Lambda deadline".to_string()),
        };
        Summary {
            event: &hook_event,
            deployed: evaluation.deployed.as_deref(),
            results: &evaluation.results,
            verdict: &evaluation.verdict,
            delivery: delivery.as_ref().map(|d| *d).map_err(String::as_str),
            elapsed: started.elapsed(),
        }
        .log();
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
    async fn evaluate_in_time(self: Arc<Self>, event: HookEvent, deadline: Instant) -> Evaluation {
        let task = tokio::spawn(async move { self.evaluate(&event, deadline).await });
        let abort = task.abort_handle();
        // The runner stops itself at the deadline; this bound is for the AWS calls before it.
        let grace = Duration::from_millis(100);
        match tokio::time::timeout_at(deadline + grace, task).await {
            Ok(Ok(evaluation)) => evaluation,
            Ok(Err(join_error)) => Evaluation::failed(None, format!("internal error while checking: {join_error}")),
            Err(_) => {
                // Nothing may outlive the verdict: a late check would be checking for nobody.
                abort.abort();
                Evaluation::failed(
                    None,
                    "ran out of time before the checks finished (Lambda timeout minus DEADLINE_MARGIN_MS): \
                 raise the hook's timeout or lower CHECK_TIMEOUT_MS / CHECK_ATTEMPTS",
                )
            }
        }
    }

    async fn evaluate(&self, event: &HookEvent, deadline: Instant) -> Evaluation {
        let clients = self.clients().await;
        let (config, probe) = match (&self.config, &clients.probe) {
            (Ok(config), Ok(probe)) => (config, Arc::clone(probe)),
            (Err(error), _) => return Evaluation::failed(None, error.to_string()),
            (_, Err(error)) => return Evaluation::failed(None, error.clone()),
        };
        let facts = match discover(&clients.codedeploy, &event.deployment_id).await {
            Ok(facts) => facts,
            Err(why) => return Evaluation::failed(None, why),
        };
        let deployed = match &facts.appspec {
            AppSpecText::Content(text) => match parse_appspec(text) {
                Ok(deployed) => Some(deployed),
                Err(error) => return Evaluation::failed(None, error.to_string()),
            },
            AppSpecText::Elsewhere(_) => None,
        };
        let description = Some(describe(
            &facts.application,
            &facts.group,
            deployed.as_ref(),
            &facts.appspec,
        ));
        let checks = match plan_checks(config, deployed.as_ref()) {
            Ok(checks) => checks,
            Err(error) => return Evaluation::failed(description, error.to_string()),
        };
        let results = run_checks(checks, config.patience, deadline, move |check| {
            let probe = Arc::clone(&probe);
            async move { probe.attempt(&check).await }
        })
        .await;
        Evaluation {
            deployed: description,
            verdict: Verdict::from_results(&results),
            results,
        }
    }
}

fn describe(application: &str, group: &str, deployed: Option<&Deployed>, appspec: &AppSpecText) -> String {
    let what = match (deployed, appspec) {
        (Some(deployed), _) => deployed.describe(),
        (None, AppSpecText::Elsewhere(kind)) => format!("{kind} (AppSpec not read)"),
        (None, AppSpecText::Content(_)) => String::new(),
    };
    format!("{application}/{group}: {what}")
}

/// The time left until the invocation's deadline, and whether the deadline was a placeholder.
///
/// Lambda sends the deadline as milliseconds since the epoch, always in the future. Local
/// emulators may send a placeholder instead (cargo lambda sends `600000`, a moment in 1970); a
/// deadline more than a minute in the past cannot come from Lambda, so it is replaced by
/// [`PLACEHOLDER_DEADLINE_BUDGET`] rather than failing every check at once.
pub fn remaining_time(deadline_epoch_ms: u64, now_epoch_ms: u64) -> (Duration, bool) {
    const IMPLAUSIBLY_LATE_MS: u64 = 60_000;
    if deadline_epoch_ms.saturating_add(IMPLAUSIBLY_LATE_MS) < now_epoch_ms {
        return (PLACEHOLDER_DEADLINE_BUDGET, true);
    }
    (
        Duration::from_millis(deadline_epoch_ms.saturating_sub(now_epoch_ms)),
        false,
    )
}

/// The budget assumed when the deadline is a placeholder: the template's default hook timeout.
pub const PLACEHOLDER_DEADLINE_BUDGET: Duration = Duration::from_secs(60);

/// Timers want an `Instant`; see [`remaining_time`].
pub(crate) fn instant_of(deadline_epoch_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let (remaining, placeholder) = remaining_time(deadline_epoch_ms, now_ms);
    if placeholder {
        tracing::warn!(
            deadline_epoch_ms,
            assumed_budget_ms = remaining.as_millis() as u64,
            "the invocation's deadline is long past, so it is a local emulator's placeholder; assuming a 60 s budget"
        );
    }
    Instant::now() + remaining
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_000_000_000;

    #[test]
    fn a_real_deadline_gives_the_time_left() {
        assert_eq!(remaining_time(NOW + 30_000, NOW), (Duration::from_secs(30), false));
    }

    #[test]
    fn a_deadline_just_passed_leaves_no_time() {
        assert_eq!(remaining_time(NOW - 500, NOW), (Duration::ZERO, false));
    }

    #[test]
    fn a_placeholder_deadline_in_1970_gets_the_fallback_budget() {
        assert_eq!(remaining_time(600_000, NOW), (PLACEHOLDER_DEADLINE_BUDGET, true));
    }
}
