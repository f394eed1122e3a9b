//! What the listener should look like after a notification, decided without I/O.
//!
//! The rule set is reconciled rather than edited blindly: the executor ([`super::reconcile`])
//! looks at the preflight pages on the listener and asks CodeDeploy about their deployments, and
//! [`plan`] says what to remove and whether to put a page up. That is what makes redelivery and
//! reordering harmless: a second start finds its page, an end with no page has nothing to do, a
//! start that arrives after its end finds the deployment over, and a page whose end notification
//! was lost goes with the next notification for the listener.

use std::collections::HashMap;

use super::notification::Phase;

/// Tag keys that mark a listener rule as a preflight maintenance page.
pub(crate) const ROLE_TAG: &str = "preflight:role";
pub(crate) const ROLE_VALUE: &str = "maintenance-page";
pub(crate) const DEPLOYMENT_TAG: &str = "preflight:deployment-id";
pub(crate) const GROUP_TAG: &str = "preflight:deployment-group";

/// A maintenance page found on the listener (a rule tagged [`ROLE_TAG`] = [`ROLE_VALUE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRule {
    pub rule_arn: String,
    /// Absent only if someone removed the tag by hand.
    pub deployment_id: Option<String>,
}

/// What CodeDeploy says about a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeploymentState {
    Running {
        created_by_auto_scaling: bool,
    },
    Over,
    /// DeploymentDoesNotExist: nothing will ever end it, so its page must go.
    Unknown,
}

/// Why a deployment gets no page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoPage {
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
    pub(crate) fn describe(self) -> &'static str {
        match self {
            NoPage::Ended => "the deployment ended",
            NoPage::AlreadyOver => "the deployment is already over (the notification came late)",
            NoPage::NotFound => "CodeDeploy has no such deployment",
            NoPage::ScaleOut => "Auto Scaling created the deployment (scale-out); MAINTENANCE_ON_SCALE_OUT is off",
        }
    }
}

/// What to do about the notified deployment's own page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnPage {
    /// No page is wanted; these rules (possibly none) come down.
    TakeDown { rules: Vec<String>, why: NoPage },
    /// The page is up already; any duplicates come down.
    Keep { rule: String, duplicates: Vec<String> },
    /// Put the page up.
    PutUp,
}

/// The whole decision for one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Pages of other deployments that are over or unknown: they come down first.
    pub stale: Vec<String>,
    pub own: OwnPage,
}

/// The deployments whose state the plan needs: the owners of other pages, and for a running
/// notification the notified deployment itself. An end needs no lookup for its own page.
pub(crate) fn deployments_to_ask(phase: Phase, deployment_id: &str, pages: &[PageRule]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    if phase == Phase::Running {
        ids.push(deployment_id.to_string());
    }
    let others = pages
        .iter()
        .filter_map(|page| page.deployment_id.as_deref())
        .filter(|id| *id != deployment_id);
    for id in others {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    ids
}

/// Decides from the pages found and the states looked up (see [`deployments_to_ask`]); a
/// deployment missing from `states` counts as unknown.
pub(crate) fn plan(
    phase: Phase,
    deployment_id: &str,
    pages: &[PageRule],
    states: &HashMap<String, DeploymentState>,
    on_scale_out: bool,
) -> Plan {
    let state_of = |id: Option<&str>| {
        id.and_then(|id| states.get(id))
            .cloned()
            .unwrap_or(DeploymentState::Unknown)
    };
    let (own, others): (Vec<PageRule>, Vec<PageRule>) = pages
        .iter()
        .cloned()
        .partition(|page| page.deployment_id.as_deref() == Some(deployment_id));
    let stale = stale_pages(&others, states);
    let own_rules: Vec<String> = own.into_iter().map(|page| page.rule_arn.clone()).collect();
    let wanted = match phase {
        Phase::Ended => Err(NoPage::Ended),
        Phase::Running => page_wanted(&state_of(Some(deployment_id)), on_scale_out),
    };
    let own = match (wanted, own_rules.split_first()) {
        (Err(why), _) => OwnPage::TakeDown { rules: own_rules, why },
        (Ok(()), Some((rule, duplicates))) => OwnPage::Keep {
            rule: rule.clone(),
            duplicates: duplicates.to_vec(),
        },
        (Ok(()), None) => OwnPage::PutUp,
    };
    Plan { stale, own }
}

/// The rules among `pages` whose deployments are over or unknown (missing from `states`, or
/// untagged): what a sweep removes, and what every notification removes on the way.
pub(crate) fn stale_pages(pages: &[PageRule], states: &HashMap<String, DeploymentState>) -> Vec<String> {
    pages
        .iter()
        .filter(|page| {
            let state = page.deployment_id.as_deref().and_then(|id| states.get(id));
            state.is_none_or(is_stale)
        })
        .map(|page| page.rule_arn.clone())
        .collect()
}

/// The deployments whose state a sweep of `pages` needs, each once.
pub(crate) fn page_owners(pages: &[PageRule]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in pages.iter().filter_map(|page| page.deployment_id.as_deref()) {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    ids
}

/// Whether a deployment CodeDeploy reports as `state` should have a page now.
pub(crate) fn page_wanted(state: &DeploymentState, on_scale_out: bool) -> Result<(), NoPage> {
    match state {
        DeploymentState::Running {
            created_by_auto_scaling: true,
        } if !on_scale_out => Err(NoPage::ScaleOut),
        DeploymentState::Running { .. } => Ok(()),
        DeploymentState::Over => Err(NoPage::AlreadyOver),
        DeploymentState::Unknown => Err(NoPage::NotFound),
    }
}

/// A page goes once its deployment is over or unknown.
pub(crate) fn is_stale(state: &DeploymentState) -> bool {
    !matches!(state, DeploymentState::Running { .. })
}

/// The page of `deployment_id` among `pages`, if there is one: after `PriorityInUse`, the rule
/// holding the priority may be this deployment's own page, put up by a simultaneous delivery.
pub(crate) fn own_page<'a>(pages: &'a [PageRule], deployment_id: &str) -> Option<&'a PageRule> {
    pages
        .iter()
        .find(|page| page.deployment_id.as_deref() == Some(deployment_id))
}

/// GetDeployment's `status` and `creator`, reduced to what the page depends on.
pub(crate) fn state_of(status: &str, creator: &str) -> DeploymentState {
    if status_is_over(status) {
        DeploymentState::Over
    } else {
        DeploymentState::Running {
            created_by_auto_scaling: created_by_auto_scaling(creator),
        }
    }
}

/// CodeDeploy's `creator` values for deployments Auto Scaling starts: on scale-out, and on
/// instance termination.
pub(crate) fn created_by_auto_scaling(creator: &str) -> bool {
    matches!(creator, "autoscaling" | "autoscalingTermination")
}

/// CodeDeploy's deployment statuses that are final.
pub(crate) fn status_is_over(status: &str) -> bool {
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

    fn page(rule: &str, deployment: &str) -> PageRule {
        PageRule {
            rule_arn: rule.into(),
            deployment_id: Some(deployment.into()),
        }
    }

    fn states(pairs: &[(&str, DeploymentState)]) -> HashMap<String, DeploymentState> {
        pairs
            .iter()
            .map(|(id, state)| (id.to_string(), state.clone()))
            .collect()
    }

    #[test]
    fn a_running_user_deployment_without_a_page_gets_one() {
        let plan = plan(Phase::Running, "d-1", &[], &states(&[("d-1", USER_RUNNING)]), false);
        assert_eq!(
            plan,
            Plan {
                stale: vec![],
                own: OwnPage::PutUp
            }
        );
    }

    #[test]
    fn a_page_that_is_up_is_kept_and_its_duplicates_go() {
        let pages = [page("r1", "d-1"), page("r2", "d-1")];
        let plan = plan(Phase::Running, "d-1", &pages, &states(&[("d-1", USER_RUNNING)]), false);
        assert_eq!(
            plan.own,
            OwnPage::Keep {
                rule: "r1".into(),
                duplicates: vec!["r2".into()]
            }
        );
    }

    #[test]
    fn an_end_takes_the_page_down_whatever_codedeploy_says() {
        let pages = [page("r1", "d-1")];
        for state in [USER_RUNNING, DeploymentState::Over] {
            let plan = plan(Phase::Ended, "d-1", &pages, &states(&[("d-1", state)]), true);
            assert_eq!(
                plan.own,
                OwnPage::TakeDown {
                    rules: vec!["r1".into()],
                    why: NoPage::Ended
                }
            );
        }
        let nothing_up = plan(Phase::Ended, "d-1", &[], &HashMap::new(), false);
        assert_eq!(
            nothing_up.own,
            OwnPage::TakeDown {
                rules: vec![],
                why: NoPage::Ended
            }
        );
    }

    #[test]
    fn a_late_start_for_a_finished_or_unknown_deployment_gets_no_page() {
        let over = plan(
            Phase::Running,
            "d-1",
            &[],
            &states(&[("d-1", DeploymentState::Over)]),
            false,
        );
        assert!(matches!(
            over.own,
            OwnPage::TakeDown {
                why: NoPage::AlreadyOver,
                ..
            }
        ));
        let unknown = plan(Phase::Running, "d-1", &[], &HashMap::new(), false);
        assert!(matches!(
            unknown.own,
            OwnPage::TakeDown {
                why: NoPage::NotFound,
                ..
            }
        ));
    }

    #[test]
    fn scale_out_gets_a_page_only_when_configured() {
        let scale_out = states(&[("d-1", SCALE_OUT_RUNNING)]);
        assert!(matches!(
            plan(Phase::Running, "d-1", &[], &scale_out, false).own,
            OwnPage::TakeDown {
                why: NoPage::ScaleOut,
                ..
            }
        ));
        assert_eq!(plan(Phase::Running, "d-1", &[], &scale_out, true).own, OwnPage::PutUp);
    }

    #[test]
    fn pages_of_other_deployments_go_when_those_are_over_or_unknown() {
        let pages = [
            page("running", "d-2"),
            page("over", "d-3"),
            page("unknown", "d-4"),
            PageRule {
                rule_arn: "untagged".into(),
                deployment_id: None,
            },
        ];
        let known = states(&[
            ("d-1", USER_RUNNING),
            ("d-2", USER_RUNNING),
            ("d-3", DeploymentState::Over),
        ]);
        let plan = plan(Phase::Running, "d-1", &pages, &known, false);
        assert_eq!(plan.stale, vec!["over", "unknown", "untagged"]);
    }

    #[test]
    fn a_sweep_removes_exactly_the_pages_of_deployments_that_are_over_or_unknown() {
        let pages = [
            page("running", "d-2"),
            page("over", "d-3"),
            page("unknown", "d-4"),
            page("running-twin", "d-2"),
            PageRule {
                rule_arn: "untagged".into(),
                deployment_id: None,
            },
        ];
        assert_eq!(page_owners(&pages), vec!["d-2", "d-3", "d-4"]);
        let known = states(&[("d-2", SCALE_OUT_RUNNING), ("d-3", DeploymentState::Over)]);
        assert_eq!(stale_pages(&pages, &known), vec!["over", "unknown", "untagged"]);
    }

    #[test]
    fn the_lookups_cover_the_notified_deployment_only_while_it_runs() {
        let pages = [page("a", "d-2"), page("b", "d-2"), page("c", "d-1")];
        assert_eq!(deployments_to_ask(Phase::Running, "d-1", &pages), vec!["d-1", "d-2"]);
        assert_eq!(deployments_to_ask(Phase::Ended, "d-1", &pages), vec!["d-2"]);
        assert!(deployments_to_ask(Phase::Ended, "d-1", &[]).is_empty());
    }

    #[test]
    fn the_own_page_is_found_among_others() {
        let pages = [page("a", "d-2"), page("b", "d-1")];
        assert_eq!(own_page(&pages, "d-1").map(|p| p.rule_arn.as_str()), Some("b"));
        assert_eq!(own_page(&pages, "d-9"), None);
    }

    #[test]
    fn codedeploy_statuses_and_creators() {
        assert_eq!(state_of("InProgress", "user"), USER_RUNNING);
        assert_eq!(state_of("Ready", "autoscaling"), SCALE_OUT_RUNNING);
        assert!(created_by_auto_scaling("autoscalingTermination"));
        assert!(!created_by_auto_scaling("CloudFormation"));
        for over in ["Succeeded", "Failed", "Stopped"] {
            assert_eq!(state_of(over, "user"), DeploymentState::Over);
        }
        for running in ["Created", "Queued", "InProgress", "Baking", "Ready"] {
            assert!(!status_is_over(running));
        }
    }
}
