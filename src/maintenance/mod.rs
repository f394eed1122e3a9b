//! The maintenance page: CodeDeploy deployment notifications in, an ALB listener rule up or down.
//!
//! While a deployment runs in a configured deployment group, a listener rule of the configured
//! priority answers every path with the maintenance page (or forwards to a maintenance target
//! group). [`plan`] decides, [`listener`] talks to ELBv2, [`config`] says which groups and what
//! page. Every notification ends in one `maintenance summary` log line; an AWS failure fails the
//! invocation, so that SNS or EventBridge delivers the notification again.

pub mod config;
pub mod listener;
pub mod plan;

use std::fmt;

use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::aws::describe_sdk_error;
use crate::config::ConfigError;
use crate::notification::{DeploymentNotification, NotificationError, Phase, parse_notifications};
use config::MaintenanceConfig;
use listener::{NewPage, find_pages, put_up, take_down};
use plan::{DeploymentState, PageRule, is_stale, page_wanted};

/// The maintenance side of the function: its configuration and, from the first notification
/// on, its AWS clients.
pub struct Maintenance {
    config: Result<Option<MaintenanceConfig>, ConfigError>,
    clients: tokio::sync::OnceCell<Clients>,
}

struct Clients {
    codedeploy: aws_sdk_codedeploy::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
}

/// Why a notification invocation failed.
#[derive(Debug)]
pub enum MaintenanceError {
    Notification(NotificationError),
    NotConfigured,
    Config(ConfigError),
    NotApplied(String),
}

impl fmt::Display for MaintenanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaintenanceError::Notification(error) => error.fmt(f),
            MaintenanceError::NotConfigured => f.write_str(
                "a deployment notification arrived but the maintenance page is not configured: \
                 set MAINTENANCE_LISTENERS on this function, or stop sending it notifications",
            ),
            MaintenanceError::Config(error) => error.fmt(f),
            MaintenanceError::NotApplied(why) => write!(f, "the maintenance page was not updated: {why}"),
        }
    }
}

impl From<MaintenanceError> for Diagnostic {
    fn from(error: MaintenanceError) -> Diagnostic {
        let error_type = match error {
            MaintenanceError::Notification(_) => "InvalidNotification",
            MaintenanceError::NotConfigured | MaintenanceError::Config(_) => "MaintenanceNotConfigured",
            MaintenanceError::NotApplied(_) => "MaintenanceNotApplied",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// What one notification did to the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `shown`, `already_shown`, `removed`, `none` or `ignored`.
    pub action: &'static str,
    pub reason: String,
    pub listener_arn: Option<String>,
    pub rule_arn: Option<String>,
    /// Pages of other deployments that were over, taken down on the way.
    pub stale_removed: Vec<String>,
}

impl Maintenance {
    /// Reads the configuration; a bad one is logged now and returned by every notification.
    pub fn from_env() -> Maintenance {
        let config = MaintenanceConfig::from_env();
        if let Err(error) = &config {
            tracing::error!(variable = error.variable, "{error}");
        }
        Maintenance {
            config,
            clients: tokio::sync::OnceCell::new(),
        }
    }

    async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| async {
                let sdk = crate::aws::load_sdk_config().await;
                Clients {
                    codedeploy: aws_sdk_codedeploy::Client::new(&sdk),
                    elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
                }
            })
            .await
    }

    /// Handles every notification in the payload, in order, stopping at the first failure (all
    /// of them are safe to apply again when the delivery is retried).
    pub async fn handle(&self, payload: &Value, deadline: Instant) -> Result<Value, MaintenanceError> {
        let started = Instant::now();
        let notifications = parse_notifications(payload).map_err(|error| {
            tracing::error!(error = %error, "maintenance summary");
            MaintenanceError::Notification(error)
        })?;
        let config = match &self.config {
            Ok(Some(config)) => config,
            Ok(None) => return Err(log_each_failure(&notifications, MaintenanceError::NotConfigured)),
            Err(error) => {
                return Err(log_each_failure(
                    &notifications,
                    MaintenanceError::Config(error.clone()),
                ));
            }
        };
        let mut done = Vec::new();
        for notification in &notifications {
            let result = tokio::time::timeout_at(deadline, self.apply(config, notification))
                .await
                .unwrap_or_else(|_| {
                    Err("ran out of time before ELBv2 and CodeDeploy answered (the function's timeout)".into())
                });
            log_summary(notification, &result, started);
            match result {
                Ok(outcome) => done.push(json!({
                    "deploymentId": notification.deployment_id,
                    "action": outcome.action,
                    "reason": outcome.reason,
                    "ruleArn": outcome.rule_arn,
                })),
                Err(why) => return Err(MaintenanceError::NotApplied(why)),
            }
        }
        Ok(json!({ "maintenance": done }))
    }

    /// Brings the listener of the notification's deployment group to the state [`plan`] wants.
    async fn apply(
        &self,
        config: &MaintenanceConfig,
        notification: &DeploymentNotification,
    ) -> Result<Outcome, String> {
        let Some(listener_arn) = config.listener_for(&notification.application, &notification.deployment_group) else {
            return Ok(Outcome {
                action: "ignored",
                reason: format!(
                    "deployment group {}/{} is not in MAINTENANCE_LISTENERS",
                    notification.application, notification.deployment_group
                ),
                listener_arn: None,
                rule_arn: None,
                stale_removed: Vec::new(),
            });
        };
        let clients = self.clients().await;
        let (ours, others): (Vec<PageRule>, Vec<PageRule>) = find_pages(&clients.elb, listener_arn)
            .await?
            .into_iter()
            .partition(|page| page.deployment_id.as_deref() == Some(notification.deployment_id.as_str()));
        let stale_removed = remove_stale_pages(clients, others).await?;
        let state = match notification.phase {
            Phase::Running => Some(deployment_state(&clients.codedeploy, &notification.deployment_id).await?),
            Phase::Ended => None,
        };
        let outcome = |action, reason: String, rule_arn| Outcome {
            action,
            reason,
            listener_arn: Some(listener_arn.to_string()),
            rule_arn,
            stale_removed: stale_removed.clone(),
        };
        if let Err(no_page) = page_wanted(notification.phase, state.as_ref(), config.on_scale_out) {
            for page in &ours {
                take_down(&clients.elb, &page.rule_arn).await?;
            }
            let action = if ours.is_empty() { "none" } else { "removed" };
            return Ok(outcome(
                action,
                no_page.describe().into(),
                ours.first().map(|p| p.rule_arn.clone()),
            ));
        }
        if let Some((kept, extra)) = ours.split_first() {
            for page in extra {
                take_down(&clients.elb, &page.rule_arn).await?;
            }
            return Ok(outcome(
                "already_shown",
                "the deployment's page is already up".into(),
                Some(kept.rule_arn.clone()),
            ));
        }
        let rule_arn = put_up(
            &clients.elb,
            NewPage {
                listener_arn,
                priority: config.priority,
                page: &config.page,
                deployment_id: &notification.deployment_id,
                deployment_group: format!("{}/{}", notification.application, notification.deployment_group),
            },
        )
        .await?;
        // The end may have been handled while this start was on its way, finding no page to
        // remove; looking again after the page is up closes that window.
        if is_stale(&deployment_state(&clients.codedeploy, &notification.deployment_id).await?) {
            take_down(&clients.elb, &rule_arn).await?;
            return Ok(outcome(
                "removed",
                "the deployment ended while its page went up".into(),
                Some(rule_arn),
            ));
        }
        Ok(outcome("shown", "the deployment is running".into(), Some(rule_arn)))
    }
}

/// Takes down the pages of other deployments that are over: an end that was never delivered
/// must not leave a page up for good.
async fn remove_stale_pages(clients: &Clients, pages: Vec<PageRule>) -> Result<Vec<String>, String> {
    let mut removed = Vec::new();
    for page in pages {
        let state = match &page.deployment_id {
            Some(id) => deployment_state(&clients.codedeploy, id).await?,
            None => DeploymentState::Unknown,
        };
        if is_stale(&state) {
            take_down(&clients.elb, &page.rule_arn).await?;
            removed.push(page.rule_arn);
        }
    }
    Ok(removed)
}

/// GetDeployment, reduced to what the page depends on.
async fn deployment_state(client: &aws_sdk_codedeploy::Client, deployment_id: &str) -> Result<DeploymentState, String> {
    let output = match client.get_deployment().deployment_id(deployment_id).send().await {
        Ok(output) => output,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_deployment_does_not_exist_exception()) =>
        {
            return Ok(DeploymentState::Unknown);
        }
        Err(error) => return Err(describe_sdk_error("GetDeployment", &error)),
    };
    let info = output
        .deployment_info()
        .ok_or_else(|| format!("GetDeployment returned no deploymentInfo for {deployment_id}"))?;
    let status = info.status().map(|s| s.as_str()).unwrap_or_default();
    if plan::status_is_over(status) {
        return Ok(DeploymentState::Over);
    }
    let creator = info.creator().map(|c| c.as_str()).unwrap_or_default();
    Ok(DeploymentState::Running {
        created_by_auto_scaling: plan::created_by_auto_scaling(creator),
    })
}

fn log_each_failure(notifications: &[DeploymentNotification], error: MaintenanceError) -> MaintenanceError {
    let why = error.to_string();
    for notification in notifications {
        log_summary(notification, &Err(why.clone()), Instant::now());
    }
    error
}

/// The one line per notification: which deployment, what the listener got, and why.
fn log_summary(notification: &DeploymentNotification, result: &Result<Outcome, String>, started: Instant) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let group = format!("{}/{}", notification.application, notification.deployment_group);
    match result {
        Ok(outcome) => tracing::info!(
            carrier = %notification.carrier,
            deployment_id = notification.deployment_id.as_str(),
            deployment_group = group.as_str(),
            status = notification.status.as_str(),
            deployment_error = notification.error.as_deref(),
            action = outcome.action,
            reason = outcome.reason.as_str(),
            listener = outcome.listener_arn.as_deref(),
            rule = outcome.rule_arn.as_deref(),
            stale_removed = outcome.stale_removed.len(),
            elapsed_ms,
            "maintenance summary"
        ),
        Err(why) => tracing::error!(
            carrier = %notification.carrier,
            deployment_id = notification.deployment_id.as_str(),
            deployment_group = group.as_str(),
            status = notification.status.as_str(),
            action = "failed",
            error = why.as_str(),
            elapsed_ms,
            "maintenance summary"
        ),
    }
}
