//! The maintenance page: CodeDeploy deployment notifications in, an ALB listener rule up or down.
//!
//! While a deployment runs in a configured deployment group, a listener rule of the configured
//! priority answers every path with the maintenance page (or forwards to a maintenance target
//! group). [`notification`] reads SNS and EventBridge notifications, [`config`] says which groups
//! and what page, [`plan`] decides, [`reconcile`] carries the decision out through
//! [`listener`]'s ELBv2 calls. Every notification ends in one `maintenance summary` log line; an
//! AWS failure fails the invocation, so that SNS or EventBridge delivers the notification again,
//! and its `errorType` says whether a redelivery can help.

pub mod config;
pub(crate) mod listener;
pub mod notification;
pub(crate) mod plan;
pub(crate) mod reconcile;

use std::fmt;

use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::plumbing::aws::AwsClients;
use crate::plumbing::env::ConfigError;
use crate::plumbing::metrics::{Record, Unit};
use config::MaintenanceConfig;
use notification::{DeploymentNotification, MaintenanceEvent, NotificationError, parse_event};
use reconcile::{Applied, ApplyError, PageAction, Swept, reconcile, sweep};

/// The maintenance side of the function: its configuration, read at start-up.
pub struct Maintenance {
    config: Result<Option<MaintenanceConfig>, ConfigError>,
}

/// Why a notification invocation failed.
#[derive(Debug)]
pub enum MaintenanceError {
    Notification(NotificationError),
    NotConfigured,
    Config(ConfigError),
    /// A passing fault (throttling, 5xx, no answer in time): the redelivery may succeed.
    NotApplied(String),
    /// AWS refused in a way no redelivery changes; the message says what to change.
    Refused(String),
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
            MaintenanceError::Refused(why) => write!(
                f,
                "the maintenance page was not updated, and a redelivery will not change that: {why}"
            ),
        }
    }
}

impl From<MaintenanceError> for Diagnostic {
    fn from(error: MaintenanceError) -> Diagnostic {
        let error_type = match error {
            MaintenanceError::Notification(_) => "InvalidNotification",
            MaintenanceError::NotConfigured | MaintenanceError::Config(_) => "MaintenanceNotConfigured",
            MaintenanceError::NotApplied(_) => "MaintenanceNotApplied",
            MaintenanceError::Refused(_) => "MaintenanceRefused",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

impl From<ApplyError> for MaintenanceError {
    fn from(error: ApplyError) -> MaintenanceError {
        if error.retry_can_help {
            MaintenanceError::NotApplied(error.reason)
        } else {
            MaintenanceError::Refused(error.reason)
        }
    }
}

impl Maintenance {
    /// Reads the configuration; a bad one is logged now and returned by every notification.
    pub fn from_env() -> Maintenance {
        Maintenance::new(MaintenanceConfig::from_env())
    }

    /// The maintenance page with this configuration (`Ok(None)`: switched off).
    pub fn new(config: Result<Option<MaintenanceConfig>, ConfigError>) -> Maintenance {
        if let Err(error) = &config {
            tracing::error!(variable = error.variable, "{error}");
        }
        Maintenance { config }
    }

    /// Handles every notification in the payload, in order, stopping at the first failure (all
    /// of them are safe to apply again when the delivery is retried), or sweeps every listener
    /// for a scheduled event. Work stops at `deadline`. One metrics record tells what was done.
    pub async fn handle(
        &self,
        clients: &AwsClients,
        payload: &Value,
        deadline: Instant,
    ) -> Result<Value, MaintenanceError> {
        let mut tally = Tally::default();
        let result = self.handle_counting(clients, payload, deadline, &mut tally).await;
        if result.is_err() && tally.failed == 0 {
            // Refused before any notification was applied: a bad payload or configuration.
            tally.failed = 1;
        }
        tally.record().emit();
        result
    }

    async fn handle_counting(
        &self,
        clients: &AwsClients,
        payload: &Value,
        deadline: Instant,
        tally: &mut Tally,
    ) -> Result<Value, MaintenanceError> {
        let started = Instant::now();
        let event = parse_event(payload).map_err(|error| {
            tracing::error!(error = %error, "maintenance summary");
            MaintenanceError::Notification(error)
        })?;
        let notifications = match event {
            MaintenanceEvent::Notifications(notifications) => notifications,
            MaintenanceEvent::Sweep => return self.sweep_every_listener(clients, deadline, tally).await,
        };
        let config = self
            .configured()
            .map_err(|error| log_each_failure(&notifications, error))?;
        let mut done = Vec::new();
        for notification in &notifications {
            let result = tokio::time::timeout_at(deadline, reconcile(clients, config, notification))
                .await
                .unwrap_or_else(|_| Err(out_of_time()));
            log_summary(notification, &result, started);
            tally.add(&result);
            match result {
                Ok(outcome) => done.push(Done::Notified {
                    deployment_id: notification.deployment_id.clone(),
                    action: outcome.action,
                    reason: outcome.reason,
                    rule_arn: outcome.rule_arn,
                }),
                Err(error) => return Err(error.into()),
            }
        }
        Ok(answer(done))
    }

    /// The configuration, or why there is none to act on.
    fn configured(&self) -> Result<&MaintenanceConfig, MaintenanceError> {
        match &self.config {
            Ok(Some(config)) => Ok(config),
            Ok(None) => Err(MaintenanceError::NotConfigured),
            Err(error) => Err(MaintenanceError::Config(error.clone())),
        }
    }

    /// The scheduled reconcile: every configured listener loses the pages of deployments that
    /// are over, whatever notifications were lost. Every listener is tried; the first failure is
    /// the invocation's error (the next schedule tries again in any case).
    async fn sweep_every_listener(
        &self,
        clients: &AwsClients,
        deadline: Instant,
        tally: &mut Tally,
    ) -> Result<Value, MaintenanceError> {
        let started = Instant::now();
        let config = self.configured().map_err(log_sweep_failure)?;
        let mut done = Vec::new();
        let mut first_failure = None;
        for listener in config.listener_arns() {
            let result = tokio::time::timeout_at(deadline, sweep(clients, listener))
                .await
                .unwrap_or_else(|_| Err(out_of_time()));
            log_sweep(listener, &result, started);
            match result {
                Ok(swept) => {
                    tally.swept += 1;
                    tally.stale_removed += swept.removed.len();
                    done.push(Done::Swept {
                        listener: swept.listener_arn,
                        action: "swept",
                        removed: swept.removed,
                        kept: swept.kept,
                    });
                }
                Err(error) => {
                    tally.failed += 1;
                    first_failure.get_or_insert(error);
                }
            }
        }
        match first_failure {
            Some(error) => Err(error.into()),
            None => Ok(answer(done)),
        }
    }
}

/// What one notification or one listener's sweep did, as the invocation's answer lists it.
#[derive(Debug, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
enum Done {
    Notified {
        deployment_id: String,
        action: PageAction,
        reason: String,
        rule_arn: Option<String>,
    },
    Swept {
        listener: String,
        action: &'static str,
        removed: Vec<String>,
        kept: usize,
    },
}

/// The invocation's answer: `{"maintenance": [...]}`.
fn answer(done: Vec<Done>) -> Value {
    #[derive(Serialize)]
    struct Answer {
        maintenance: Vec<Done>,
    }
    serde_json::to_value(Answer { maintenance: done }).unwrap_or(Value::Null)
}

/// What one invocation did, counted for its metrics record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    shown: usize,
    already_shown: usize,
    removed: usize,
    unchanged: usize,
    ignored: usize,
    swept: usize,
    failed: usize,
    stale_removed: usize,
}

impl Tally {
    fn add(&mut self, result: &Result<Applied, ApplyError>) {
        let Ok(outcome) = result else {
            self.failed += 1;
            return;
        };
        self.stale_removed += outcome.stale_removed.len();
        let counter = match outcome.action {
            PageAction::Shown => &mut self.shown,
            PageAction::AlreadyShown => &mut self.already_shown,
            PageAction::Removed => &mut self.removed,
            PageAction::Ignored => &mut self.ignored,
            PageAction::Unchanged => &mut self.unchanged,
        };
        *counter += 1;
    }

    /// One record, the flow its only dimension: each action is a count of its own.
    pub(crate) fn record(&self) -> Record {
        [
            ("Shown", self.shown),
            ("AlreadyShown", self.already_shown),
            ("Removed", self.removed),
            ("Unchanged", self.unchanged),
            ("Ignored", self.ignored),
            ("Swept", self.swept),
            ("Failed", self.failed),
            ("StalePagesRemoved", self.stale_removed),
        ]
        .into_iter()
        .fold(Record::new("maintenance"), |record, (name, count)| {
            record.metric(name, Unit::Count, count as f64)
        })
    }
}

/// The function's own deadline came before AWS's answers: a later delivery may do better.
fn out_of_time() -> ApplyError {
    ApplyError {
        reason: "ran out of time before ELBv2 and CodeDeploy answered (the function's timeout)".into(),
        code: None,
        retry_can_help: true,
    }
}

fn log_sweep_failure(error: MaintenanceError) -> MaintenanceError {
    tracing::error!(carrier = "schedule", action = "failed", error = %error, "maintenance summary");
    error
}

/// The one line per listener swept.
fn log_sweep(listener: &str, result: &Result<Swept, ApplyError>, started: Instant) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(swept) => tracing::info!(
            carrier = "schedule",
            action = "swept",
            reason = "the scheduled reconcile removes the pages of deployments that are over",
            listener,
            stale_removed = swept.removed.len(),
            kept = swept.kept,
            elapsed_ms,
            "maintenance summary"
        ),
        Err(error) => tracing::error!(
            carrier = "schedule",
            action = "failed",
            listener,
            error = error.reason.as_str(),
            error_code = error.code.as_deref(),
            retry_can_help = error.retry_can_help,
            elapsed_ms,
            "maintenance summary"
        ),
    }
}

fn log_each_failure(notifications: &[DeploymentNotification], error: MaintenanceError) -> MaintenanceError {
    let why = ApplyError {
        reason: error.to_string(),
        code: None,
        retry_can_help: false,
    };
    for notification in notifications {
        log_summary(notification, &Err(why.clone()), Instant::now());
    }
    error
}

/// The one line per notification: which deployment, what the listener got, and why.
fn log_summary(notification: &DeploymentNotification, result: &Result<Applied, ApplyError>, started: Instant) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let group = format!("{}/{}", notification.application, notification.deployment_group);
    match result {
        Ok(outcome) => tracing::info!(
            carrier = %notification.carrier,
            deployment_id = notification.deployment_id.as_str(),
            deployment_group = group.as_str(),
            status = notification.status.as_str(),
            deployment_error = notification.error.as_deref(),
            action = outcome.action.name(),
            reason = outcome.reason.as_str(),
            listener = outcome.listener_arn.as_deref(),
            rule = outcome.rule_arn.as_deref(),
            stale_removed = outcome.stale_removed.len(),
            elapsed_ms,
            "maintenance summary"
        ),
        Err(error) => tracing::error!(
            carrier = %notification.carrier,
            deployment_id = notification.deployment_id.as_str(),
            deployment_group = group.as_str(),
            status = notification.status.as_str(),
            action = "failed",
            error = error.reason.as_str(),
            error_code = error.code.as_deref(),
            retry_can_help = error.retry_can_help,
            elapsed_ms,
            "maintenance summary"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(action: PageAction, stale: usize) -> Result<Applied, ApplyError> {
        Ok(Applied {
            action,
            reason: String::new(),
            listener_arn: None,
            rule_arn: None,
            stale_removed: vec!["rule".into(); stale],
        })
    }

    #[test]
    fn the_tally_counts_each_action_and_makes_one_valid_record() {
        let mut tally = Tally::default();
        tally.add(&outcome(PageAction::Shown, 2));
        tally.add(&outcome(PageAction::Unchanged, 0));
        tally.add(&Err(ApplyError {
            reason: "throttled".into(),
            code: Some("Throttling".into()),
            retry_can_help: true,
        }));
        let document = tally.record().to_json(1);
        assert_eq!(crate::plumbing::metrics::check_emf(&document), Ok(()));
        for (metric, count) in [
            ("Shown", 1.0),
            ("Unchanged", 1.0),
            ("Failed", 1.0),
            ("StalePagesRemoved", 2.0),
            ("Removed", 0.0),
        ] {
            assert_eq!(document[metric].as_f64(), Some(count), "{metric}: {document}");
        }
    }
}
