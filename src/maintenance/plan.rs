//! What the listener should look like after a notification, decided without I/O.
//!
//! The rule set is reconciled rather than edited blindly: each notification compares the
//! preflight pages found on the listener with what CodeDeploy says about their deployments. That
//! is what makes redelivery and reordering harmless: a second start finds its page, an end with
//! no page has nothing to do, and a start that arrives after its end finds the deployment over.

use crate::notification::Phase;

/// Tag keys that mark a listener rule as a preflight maintenance page.
pub const ROLE_TAG: &str = "preflight:role";
pub const ROLE_VALUE: &str = "maintenance-page";
pub const DEPLOYMENT_TAG: &str = "preflight:deployment-id";
pub const GROUP_TAG: &str = "preflight:deployment-group";

/// A maintenance page found on the listener (a rule tagged [`ROLE_TAG`] = [`ROLE_VALUE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRule {
    pub rule_arn: String,
    /// Absent only if someone removed the tag by hand.
    pub deployment_id: Option<String>,
}

/// What CodeDeploy says about a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentState {
    Running {
        created_by_auto_scaling: bool,
    },
    Over,
    /// DeploymentDoesNotExist: nothing will ever end it, so its page must go.
    Unknown,
}

/// Why a running deployment gets no page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPage {
    /// The notification says the deployment ended.
    Ended,
    /// A start or progress notification arrived after the deployment had ended.
    AlreadyOver,
    /// CodeDeploy has no such deployment.
    NotFound,
    /// Auto Scaling created it (scale-out) and `MAINTENANCE_ON_SCALE_OUT` is off.
    ScaleOut,
}

impl NoPage {
    pub fn describe(self) -> &'static str {
        match self {
            NoPage::Ended => "the deployment ended",
            NoPage::AlreadyOver => "the deployment is already over (the notification came late)",
            NoPage::NotFound => "CodeDeploy has no such deployment",
            NoPage::ScaleOut => "Auto Scaling created the deployment (scale-out); MAINTENANCE_ON_SCALE_OUT is off",
        }
    }
}

/// Whether the notified deployment should have a page. `state` is only needed (and only looked
/// up) for a running notification.
pub fn page_wanted(phase: Phase, state: Option<&DeploymentState>, on_scale_out: bool) -> Result<(), NoPage> {
    match (phase, state) {
        (Phase::Ended, _) => Err(NoPage::Ended),
        (
            Phase::Running,
            Some(DeploymentState::Running {
                created_by_auto_scaling,
            }),
        ) => {
            if *created_by_auto_scaling && !on_scale_out {
                Err(NoPage::ScaleOut)
            } else {
                Ok(())
            }
        }
        (Phase::Running, Some(DeploymentState::Over) | None) => Err(NoPage::AlreadyOver),
        (Phase::Running, Some(DeploymentState::Unknown)) => Err(NoPage::NotFound),
    }
}

/// A page left by another deployment goes once that deployment is over or unknown.
pub fn is_stale(state: &DeploymentState) -> bool {
    !matches!(state, DeploymentState::Running { .. })
}

/// CodeDeploy's `creator` values for deployments Auto Scaling starts: on scale-out, and on
/// instance termination.
pub fn created_by_auto_scaling(creator: &str) -> bool {
    matches!(creator, "autoscaling" | "autoscalingTermination")
}

/// CodeDeploy's deployment statuses that are final.
pub fn status_is_over(status: &str) -> bool {
    matches!(status, "Succeeded" | "Failed" | "Stopped")
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_RUNNING: DeploymentState = DeploymentState::Running {
        created_by_auto_scaling: false,
    };
    const SCALE_OUT_RUNNING: DeploymentState = DeploymentState::Running {
        created_by_auto_scaling: true,
    };

    #[test]
    fn a_running_user_deployment_wants_a_page() {
        assert_eq!(page_wanted(Phase::Running, Some(&USER_RUNNING), false), Ok(()));
    }

    #[test]
    fn an_end_never_wants_a_page_whatever_codedeploy_says() {
        for state in [None, Some(&USER_RUNNING), Some(&DeploymentState::Over)] {
            assert_eq!(page_wanted(Phase::Ended, state, true), Err(NoPage::Ended));
        }
    }

    #[test]
    fn a_late_start_for_a_finished_deployment_wants_no_page() {
        assert_eq!(
            page_wanted(Phase::Running, Some(&DeploymentState::Over), false),
            Err(NoPage::AlreadyOver)
        );
        assert_eq!(
            page_wanted(Phase::Running, Some(&DeploymentState::Unknown), false),
            Err(NoPage::NotFound)
        );
    }

    #[test]
    fn scale_out_wants_a_page_only_when_configured() {
        assert_eq!(
            page_wanted(Phase::Running, Some(&SCALE_OUT_RUNNING), false),
            Err(NoPage::ScaleOut)
        );
        assert_eq!(page_wanted(Phase::Running, Some(&SCALE_OUT_RUNNING), true), Ok(()));
    }

    #[test]
    fn pages_of_finished_or_unknown_deployments_are_stale() {
        assert!(!is_stale(&USER_RUNNING));
        assert!(is_stale(&DeploymentState::Over));
        assert!(is_stale(&DeploymentState::Unknown));
    }

    #[test]
    fn auto_scaling_creators_and_final_statuses() {
        assert!(created_by_auto_scaling("autoscaling"));
        assert!(created_by_auto_scaling("autoscalingTermination"));
        assert!(!created_by_auto_scaling("user"));
        assert!(!created_by_auto_scaling("CloudFormation"));
        for over in ["Succeeded", "Failed", "Stopped"] {
            assert!(status_is_over(over));
        }
        for running in ["Created", "Queued", "InProgress", "Baking", "Ready"] {
            assert!(!status_is_over(running));
        }
    }
}
