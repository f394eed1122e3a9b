//! The executor: looks at the listener and at CodeDeploy, asks [`super::plan`] what to do, and
//! does it through [`super::listener`]. Every decision is the plan's; this module only orders
//! the calls and turns their failures into an [`ApplyError`] that says whether a redelivery can
//! help.

use std::collections::HashMap;

use aws_sdk_codedeploy::Client as CodeDeploy;
use serde::Serialize;

use super::config::MaintenanceConfig;
use super::listener::{NewPage, PRIORITY_IN_USE, find_pages, put_up, take_down};
use super::notification::DeploymentNotification;
use super::plan::{
    DeploymentState, OwnPage, deployments_to_ask, is_stale, own_page, page_owners, plan, stale_pages, state_of,
};
use crate::plumbing::aws::codedeploy::{DEPLOYMENT_DOES_NOT_EXIST, get_deployment};
use crate::plumbing::aws::{AwsClients, AwsError};

#[cfg(test)]
mod tests;

/// What one notification did to the listener's maintenance page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PageAction {
    /// The page went up.
    Shown,
    /// The page was up already.
    AlreadyShown,
    /// The page was taken down.
    Removed,
    /// Nothing to do: no page, none wanted.
    #[serde(rename = "none")]
    Unchanged,
    /// The deployment group has no maintenance listener.
    Ignored,
}

impl PageAction {
    /// The name the summary line and the answer use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PageAction::Shown => "shown",
            PageAction::AlreadyShown => "already_shown",
            PageAction::Removed => "removed",
            PageAction::Unchanged => "none",
            PageAction::Ignored => "ignored",
        }
    }
}

/// What one notification did to the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    pub action: PageAction,
    pub reason: String,
    pub listener_arn: Option<String>,
    pub rule_arn: Option<String>,
    /// Pages of other deployments that were over, taken down on the way.
    pub stale_removed: Vec<String>,
}

/// Why the listener could not be brought to the plan's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyError {
    pub reason: String,
    /// AWS's error code, when AWS answered with one.
    pub code: Option<String>,
    /// False when AWS refused in a way no redelivery of the notification changes (a missing
    /// permission or listener, a priority held by another rule): someone must change something.
    pub retry_can_help: bool,
}

impl From<AwsError> for ApplyError {
    fn from(error: AwsError) -> ApplyError {
        ApplyError {
            retry_can_help: error.retry_can_help(),
            reason: error.to_string(),
            code: error.code,
        }
    }
}

/// Brings the listener of the notification's deployment group to the state the plan wants. A
/// group without a listener is ignored before any client is made.
pub(crate) async fn reconcile(
    clients: &AwsClients,
    config: &MaintenanceConfig,
    notification: &DeploymentNotification,
) -> Result<Applied, ApplyError> {
    let Some(listener_arn) = config.listener_for(&notification.application, &notification.deployment_group) else {
        return Ok(Applied {
            action: PageAction::Ignored,
            reason: format!(
                "deployment group {}/{} is not in MAINTENANCE_LISTENERS",
                notification.application, notification.deployment_group
            ),
            listener_arn: None,
            rule_arn: None,
            stale_removed: Vec::new(),
        });
    };
    let (codedeploy, elb) = (clients.codedeploy().await, clients.elb().await);
    let id = notification.deployment_id.as_str();
    let pages = find_pages(elb, listener_arn).await?;
    let mut states = HashMap::new();
    for asked in deployments_to_ask(notification.phase, id, &pages) {
        let state = deployment_state(codedeploy, &asked).await?;
        states.insert(asked, state);
    }
    let plan = plan(notification.phase, id, &pages, &states, config.on_scale_out);
    for rule in &plan.stale {
        take_down(elb, rule).await?;
    }
    let outcome = |action, reason: String, rule_arn: Option<&String>| Applied {
        action,
        reason,
        listener_arn: Some(listener_arn.to_string()),
        rule_arn: rule_arn.cloned(),
        stale_removed: plan.stale.clone(),
    };
    match &plan.own {
        OwnPage::TakeDown { rules, why } => {
            for rule in rules {
                take_down(elb, rule).await?;
            }
            let action = if rules.is_empty() {
                PageAction::Unchanged
            } else {
                PageAction::Removed
            };
            Ok(outcome(action, why.describe().into(), rules.first()))
        }
        OwnPage::Keep { rule, duplicates } => {
            for duplicate in duplicates {
                take_down(elb, duplicate).await?;
            }
            Ok(outcome(
                PageAction::AlreadyShown,
                "the deployment's page is already up".into(),
                Some(rule),
            ))
        }
        OwnPage::PutUp => {
            let new = NewPage {
                listener_arn,
                priority: config.priority,
                page: &config.page,
                deployment_id: id,
                deployment_group: format!("{}/{}", notification.application, notification.deployment_group),
            };
            let rule = match put_up(elb, new).await {
                Ok(rule) => rule,
                Err(error) if error.is(PRIORITY_IN_USE) => {
                    // A simultaneous delivery may have put this very page up a moment ago.
                    let pages = find_pages(elb, listener_arn).await?;
                    return match own_page(&pages, id) {
                        Some(page) => Ok(outcome(
                            PageAction::AlreadyShown,
                            "the deployment's page went up in a simultaneous delivery".into(),
                            Some(&page.rule_arn),
                        )),
                        None => Err(ApplyError::from(error.with_advice(format!(
                            "another rule on the listener holds priority {}: free it or set MAINTENANCE_PRIORITY",
                            config.priority
                        )))),
                    };
                }
                Err(error) => return Err(error.into()),
            };
            // The end may have been handled while this start was on its way, finding no page to
            // remove; looking again after the page is up closes that window.
            if is_stale(&deployment_state(codedeploy, id).await?) {
                take_down(elb, &rule).await?;
                return Ok(outcome(
                    PageAction::Removed,
                    "the deployment ended while its page went up".into(),
                    Some(&rule),
                ));
            }
            Ok(outcome(
                PageAction::Shown,
                "the deployment is running".into(),
                Some(&rule),
            ))
        }
    }
}

/// What a sweep did to one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Swept {
    pub listener_arn: String,
    /// Pages of deployments that were over or unknown, taken down.
    pub removed: Vec<String>,
    /// Pages of running deployments, left up.
    pub kept: usize,
}

/// Removes, from `listener_arn`, every preflight page whose deployment is over or unknown, and
/// leaves running deployments' pages alone: what the scheduled reconcile does on each listener.
pub(crate) async fn sweep(clients: &AwsClients, listener_arn: &str) -> Result<Swept, ApplyError> {
    let (codedeploy, elb) = (clients.codedeploy().await, clients.elb().await);
    let pages = find_pages(elb, listener_arn).await?;
    let mut states = HashMap::new();
    for owner in page_owners(&pages) {
        let state = deployment_state(codedeploy, &owner).await?;
        states.insert(owner, state);
    }
    let removed = stale_pages(&pages, &states);
    for rule in &removed {
        take_down(elb, rule).await?;
    }
    Ok(Swept {
        listener_arn: listener_arn.to_string(),
        kept: pages.len() - removed.len(),
        removed,
    })
}

/// GetDeployment, reduced to what the page depends on; a deployment CodeDeploy does not know is
/// [`DeploymentState::Unknown`], not an error.
async fn deployment_state(client: &CodeDeploy, deployment_id: &str) -> Result<DeploymentState, AwsError> {
    match get_deployment(client, deployment_id).await {
        Ok(info) => Ok(state_of(
            info.status().map(|s| s.as_str()).unwrap_or_default(),
            info.creator().map(|c| c.as_str()).unwrap_or_default(),
        )),
        Err(error) if error.is(DEPLOYMENT_DOES_NOT_EXIST) => Ok(DeploymentState::Unknown),
        Err(error) => Err(error),
    }
}
