//! Judging a deployment's new version on its real traffic at `AfterAllowTraffic`. For Lambda, the
//! alias split traffic between the AppSpec's `CurrentVersion` and `TargetVersion` during
//! `AllowTraffic`, and CloudWatch published each version's metrics apart (`ExecutedVersion`). For
//! ECS, the deployment target names the blue and green task sets' target groups, whose load
//! balancer counted each apart.

#[cfg(test)]
pub(super) mod tests;

use std::time::SystemTime;

use tokio::time::Instant;

use super::appspec::{Deployed, LambdaFunction, parse_appspec};
use super::deployment::{AppSpecText, discover};
use super::lifecycle::{TaskSet, lifecycle_of};
use crate::checks::canary::window::Window;
use crate::checks::canary::{
    CanarySettings, Clock, Judged, OnInconclusive, Pair, Subject, TargetJudgement, judge_baking,
};
use crate::checks::deciding::{Checking, Stop};
use crate::checks::verdict::Cause;
use crate::plumbing::aws::codedeploy::deployment_targets;
use crate::plumbing::aws::elb::target_groups_named;
use crate::plumbing::aws::{AwsClients, AwsError};

/// A target to judge, with its entry's settings.
pub(crate) enum ToJudge {
    Function {
        function: LambdaFunction,
        settings: CanarySettings,
    },
    /// An ECS service, green's task set against blue's.
    Service {
        service: String,
        task_sets: Vec<TaskSet>,
        settings: CanarySettings,
    },
}

/// Judges each target in turn (a deployment has one), from `allow_traffic` (the split; when
/// CodeDeploy gave no times, the split is taken to have just ended).
pub(crate) async fn judge_targets(
    checking: &Checking,
    targets: Vec<ToJudge>,
    allow_traffic: Option<(SystemTime, SystemTime)>,
) -> Result<Vec<TargetJudgement>, Stop> {
    let clock = Clock::start();
    let split = allow_traffic.unwrap_or_else(|| (clock.now(), clock.now()));
    let deadline = Some(checking.deadline());
    let mut judgements = Vec::with_capacity(targets.len());
    for target in targets {
        judgements.push(match target {
            ToJudge::Function { function, settings } => {
                judge_function(checking.clients(), &function, &settings, split, &clock, deadline).await?
            }
            ToJudge::Service {
                service,
                task_sets,
                settings,
            } => {
                let pair = task_set_pair(checking.clients(), &service, &task_sets).await?;
                let client = checking.clients().cloudwatch().await;
                TargetJudgement {
                    target: service,
                    judged: judge_baking(client, &pair, split, &settings, &clock, deadline).await?,
                    on_inconclusive: settings.on_inconclusive,
                }
            }
        });
    }
    Ok(judgements)
}

/// Green's and blue's target groups as CloudWatch names them: CodeDeploy names them, ELBv2
/// (DescribeTargetGroups) gives their load balancer.
pub(crate) async fn task_set_pair(clients: &AwsClients, service: &str, task_sets: &[TaskSet]) -> Result<Pair, Stop> {
    let named = |label: &str| {
        task_sets
            .iter()
            .find(|task_set| task_set.label == label)
            .map(|task_set| task_set.target_group.clone())
            .ok_or_else(|| {
                Stop::failed(
                    Cause::NotFound,
                    format!(
                        "the deployment target of {service} names no {label} task set with a target group, so its \
                         traffic cannot be judged"
                    ),
                )
            })
    };
    let (green, blue) = (named("Green")?, named("Blue")?);
    let found = target_groups_named(clients.elb().await, &[green.clone(), blue.clone()]).await?;
    let subject = |name: &str| -> Result<Subject, Stop> {
        let (_, arn, load_balancers) = found.iter().find(|(found, _, _)| found == name).ok_or_else(|| {
            Stop::failed(
                Cause::NotFound,
                format!("DescribeTargetGroups did not describe target group {name}"),
            )
        })?;
        Subject::behind(arn, load_balancers).map_err(|why| Stop::failed(Cause::Misconfigured, why))
    };
    Ok(Pair {
        new: subject(&green)?,
        old: subject(&blue)?,
        // preflight sends no synthetic traffic to an ECS service under CodeDeploy.
        synthetic: None,
    })
}

/// Judges one function's new version against its current one over `split` (see
/// [`judge_baking`]; without a deadline, what can be read now).
pub(crate) async fn judge_function(
    clients: &AwsClients,
    function: &LambdaFunction,
    settings: &CanarySettings,
    split: (SystemTime, SystemTime),
    clock: &Clock,
    deadline: Option<Instant>,
) -> Result<TargetJudgement, AwsError> {
    let (target, judged) = match version_pair(function, settings) {
        Some((target, pair)) => {
            let judged = judge_baking(clients.cloudwatch().await, &pair, split, settings, clock, deadline).await?;
            (target, judged)
        }
        None => (function.name.clone(), nothing_to_compare(function, split)),
    };
    Ok(TargetJudgement {
        target,
        judged,
        on_inconclusive: settings.on_inconclusive,
    })
}

/// The function's alias as targets are named (`my-api:live`), and its new version against its
/// current one (with the synthetic requests preflight sent it, when `settings` send traffic);
/// `None` without an alias and a current version (nothing to compare with).
pub(crate) fn version_pair(function: &LambdaFunction, settings: &CanarySettings) -> Option<(String, Pair)> {
    let (Some(alias), Some(current)) = (&function.alias, &function.current_version) else {
        return None;
    };
    let version = |version: &str| Subject::LambdaVersion {
        function: function.name.clone(),
        alias: alias.clone(),
        version: version.to_string(),
    };
    let pair = Pair {
        new: version(&function.target_version),
        old: version(current),
        synthetic: settings.traffic.map(|_| synthetic_dimensions(&function.name)),
    };
    Some((format!("{}:{alias}", function.name), pair))
}

/// What `preflight judge --deployment` judges.
pub(crate) struct DeploymentToJudge {
    /// A Lambda deployment's functions.
    pub functions: Vec<LambdaFunction>,
    /// An ECS deployment's service (when its target names it) and task sets.
    pub ecs: Option<(Option<String>, Vec<TaskSet>)>,
    /// `APPLICATION/DEPLOYMENT_GROUP`, for the selectors.
    pub group: String,
    /// `AllowTraffic`'s start and end; its start and `now` while it runs.
    pub split: (SystemTime, SystemTime),
}

/// Reads a past or running deployment: for Lambda its AppSpec's functions, for ECS its task sets'
/// target groups, and when traffic moved.
pub(crate) async fn deployment_to_judge(
    clients: &AwsClients,
    deployment_id: &str,
    now: SystemTime,
) -> Result<DeploymentToJudge, String> {
    let codedeploy = clients.codedeploy().await;
    let facts = discover(codedeploy, deployment_id)
        .await
        .map_err(|error| error.to_string())?;
    let lifecycle = lifecycle_of(
        &deployment_targets(codedeploy, deployment_id)
            .await
            .map_err(|error| error.to_string())?,
    );
    let split = match (lifecycle.allow_traffic, lifecycle.allow_traffic_started) {
        (Some(split), _) => split,
        (None, Some(started)) => (started, now),
        (None, None) => {
            return Err(format!(
                "deployment {deployment_id} has not started moving traffic (its AllowTraffic event has no start \
                 time): judge it once traffic moves"
            ));
        }
    };
    let group = format!("{}/{}", facts.application, facts.group);
    // ECS: the deployment target names the task sets; the AppSpec is not needed.
    if !lifecycle.task_sets.is_empty() {
        return Ok(DeploymentToJudge {
            functions: Vec::new(),
            ecs: Some((lifecycle.ecs_service, lifecycle.task_sets)),
            group,
            split,
        });
    }
    let functions = match &facts.appspec {
        AppSpecText::Content(text) => match parse_appspec(text).map_err(|error| error.to_string())? {
            Deployed::Lambda(functions) => functions,
            Deployed::Ecs(_) => {
                return Err(format!(
                    "deployment {deployment_id} is an ECS deployment whose target names no task sets: name the \
                     target groups with --new-target-group and --old-target-group instead"
                ));
            }
        },
        AppSpecText::Elsewhere(kind) => {
            return Err(format!(
                "deployment {deployment_id}'s AppSpec is in {kind}, which CodeDeploy's API does not show: name the \
                 function with --function NAME:ALIAS --new VERSION --old VERSION instead"
            ));
        }
    };
    Ok(DeploymentToJudge {
        functions,
        ecs: None,
        group,
        split,
    })
}

/// `Inconclusive` for a deployment whose AppSpec could not be read (an S3 or GitHub revision):
/// preflight cannot tell which versions to compare.
pub(crate) fn unjudged(
    group: &str,
    targets: &crate::checks::Targets,
    allow_traffic: Option<(SystemTime, SystemTime)>,
    on_inconclusive: OnInconclusive,
) -> TargetJudgement {
    let (start, end) = allow_traffic.unwrap_or_else(|| (SystemTime::now(), SystemTime::now()));
    let why = match targets {
        crate::checks::Targets::Unknown(why) => why.clone(),
        _ => "the deployment's AppSpec could not be read".to_string(),
    };
    TargetJudgement {
        target: group.to_string(),
        judged: Judged::unseen(
            "the new version".into(),
            "the old version".into(),
            Window::covering(start, end),
            format!("{why}, so preflight cannot tell which versions to compare"),
        ),
        on_inconclusive,
    }
}

/// Without an alias and a current version there is no old version's traffic to compare with.
pub(crate) fn nothing_to_compare(function: &LambdaFunction, (start, end): (SystemTime, SystemTime)) -> Judged {
    Judged::unseen(
        format!("version {}", function.target_version),
        "no old version".into(),
        Window::covering(start, end),
        format!(
            "the AppSpec gives {} no Alias and CurrentVersion, so there is no old version's traffic to compare with",
            function.name
        ),
    )
}

/// The dimensions of the `SyntheticRequests` preflight publishes for a function's alias.
pub(crate) fn synthetic_dimensions(function: &str) -> Vec<(&'static str, String)> {
    vec![("FunctionName", function.to_string())]
}
