//! Which lifecycle event called the hook, and when traffic moved (pure). CodeDeploy's payload
//! does not say which event it is for, and one function serves `BeforeAllowTraffic` and
//! `AfterAllowTraffic` alike: the deployment's targets do say, as the one event `InProgress`.

use std::time::SystemTime;

use aws_sdk_codedeploy::types::{DeploymentTarget, LifecycleEvent, LifecycleEventStatus};

/// The event after traffic moved, where a target with `canary` is judged on its traffic.
pub(crate) const AFTER_ALLOW_TRAFFIC: &str = "AfterAllowTraffic";
/// The event in which traffic moved: for a canary or linear configuration, the minutes in which
/// the alias split traffic between the two versions.
pub(crate) const ALLOW_TRAFFIC: &str = "AllowTraffic";

/// What the deployment's targets say of the hook's call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Lifecycle {
    /// The event `InProgress`: the one that called.
    pub caller: Option<String>,
    /// `AllowTraffic`'s start and end, once it ended.
    pub allow_traffic: Option<(SystemTime, SystemTime)>,
    /// When `AllowTraffic` started, ended or not (for `preflight judge` on a running deployment).
    pub allow_traffic_started: Option<SystemTime>,
    /// An ECS deployment's task sets: which target group is blue's and which green's.
    pub task_sets: Vec<TaskSet>,
    /// An ECS deployment's service, from its target's id (`CLUSTER:SERVICE`).
    pub ecs_service: Option<String>,
}

/// One ECS task set as the deployment target names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskSet {
    /// `Blue` (the original) or `Green` (the replacement).
    pub label: String,
    /// The target group's name (CodeDeploy gives no ARN).
    pub target_group: String,
}

impl Lifecycle {
    pub(crate) fn after_traffic(&self) -> bool {
        self.caller.as_deref() == Some(AFTER_ALLOW_TRAFFIC)
    }
}

/// Reads the first target with an event in progress (a Lambda or ECS deployment has one target),
/// or of a finished deployment its first target.
pub(crate) fn lifecycle_of(targets: &[DeploymentTarget]) -> Lifecycle {
    let events_of = |target: &DeploymentTarget| -> Vec<LifecycleEvent> {
        if let Some(lambda) = target.lambda_target() {
            lambda.lifecycle_events().to_vec()
        } else if let Some(ecs) = target.ecs_target() {
            ecs.lifecycle_events().to_vec()
        } else {
            Vec::new()
        }
    };
    let in_progress = |event: &LifecycleEvent| event.status() == Some(&LifecycleEventStatus::InProgress);
    let task_sets = targets
        .iter()
        .filter_map(DeploymentTarget::ecs_target)
        .flat_map(|ecs| ecs.task_sets_info())
        .filter_map(|task_set| {
            Some(TaskSet {
                label: task_set.task_set_label()?.as_str().to_string(),
                target_group: task_set.target_group()?.name()?.to_string(),
            })
        })
        .collect();
    // The target with an event in progress; for a finished deployment (nothing in progress, as
    // `preflight judge` reads one) the first target with events.
    let all: Vec<Vec<LifecycleEvent>> = targets.iter().map(events_of).collect();
    let events = all
        .iter()
        .find(|events| events.iter().any(in_progress))
        .or_else(|| all.iter().find(|events| !events.is_empty()))
        .cloned()
        .unwrap_or_default();
    let caller = events
        .iter()
        .find(|event| in_progress(event))
        .and_then(|event| event.lifecycle_event_name())
        .map(str::to_string);
    let allow = events
        .iter()
        .find(|event| event.lifecycle_event_name() == Some(ALLOW_TRAFFIC));
    let time = |time: Option<&aws_smithy_types::DateTime>| time.and_then(|time| SystemTime::try_from(*time).ok());
    let allow_traffic_started = allow.and_then(|event| time(event.start_time()));
    let allow_traffic = allow.and_then(|event| {
        let start = allow_traffic_started?;
        let end = time(event.end_time())?;
        Some((start, end.max(start)))
    });
    let ecs_service = targets
        .iter()
        .filter_map(DeploymentTarget::ecs_target)
        .filter_map(|ecs| ecs.target_id())
        .map(|id| id.rsplit(':').next().unwrap_or(id).to_string())
        .next();
    Lifecycle {
        caller,
        allow_traffic,
        allow_traffic_started,
        task_sets,
        ecs_service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codedeploy::types::LambdaTarget;
    use aws_smithy_types::DateTime;

    fn event(name: &str, status: LifecycleEventStatus, times: Option<(i64, i64)>) -> LifecycleEvent {
        let mut event = LifecycleEvent::builder().lifecycle_event_name(name).status(status);
        if let Some((start, end)) = times {
            event = event
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end));
        }
        event.build()
    }

    fn lambda(events: Vec<LifecycleEvent>) -> DeploymentTarget {
        DeploymentTarget::builder()
            .lambda_target(LambdaTarget::builder().set_lifecycle_events(Some(events)).build())
            .build()
    }

    #[test]
    fn the_event_in_progress_is_the_caller_and_allow_traffic_gives_the_split() {
        use LifecycleEventStatus::{InProgress, Pending, Succeeded};
        let after = lifecycle_of(&[lambda(vec![
            event("Start", Succeeded, Some((100, 101))),
            event("BeforeAllowTraffic", Succeeded, Some((101, 130))),
            event("AllowTraffic", Succeeded, Some((130, 730))),
            event("AfterAllowTraffic", InProgress, None),
            event("End", Pending, None),
        ])]);
        assert!(after.after_traffic());
        let at = |secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        assert_eq!(after.allow_traffic, Some((at(130), at(730))));
        assert_eq!(after.allow_traffic_started, Some(at(130)));

        let before = lifecycle_of(&[lambda(vec![
            event("BeforeAllowTraffic", InProgress, None),
            event("AllowTraffic", Pending, None),
        ])]);
        assert_eq!(before.caller.as_deref(), Some("BeforeAllowTraffic"));
        assert!(!before.after_traffic());
        assert_eq!(before.allow_traffic, None);
        assert_eq!(lifecycle_of(&[]), Lifecycle::default());

        let finished = lifecycle_of(&[lambda(vec![
            event("AllowTraffic", Succeeded, Some((130, 730))),
            event("AfterAllowTraffic", Succeeded, Some((730, 800))),
        ])]);
        assert_eq!(finished.caller, None, "nothing in progress");
        assert_eq!(
            finished.allow_traffic,
            Some((at(130), at(730))),
            "a finished deployment's split"
        );
    }

    #[test]
    fn an_ecs_target_names_blue_s_and_green_s_target_groups() {
        use aws_sdk_codedeploy::types::{EcsTarget, EcsTaskSet, TargetGroupInfo, TargetLabel};
        let task_set = |label: TargetLabel, group: &str| {
            EcsTaskSet::builder()
                .task_set_label(label)
                .target_group(TargetGroupInfo::builder().name(group).build())
                .build()
        };
        let ecs = DeploymentTarget::builder()
            .ecs_target(
                EcsTarget::builder()
                    .target_id("shop:checkout")
                    .lifecycle_events(event("AfterAllowTraffic", LifecycleEventStatus::InProgress, None))
                    .task_sets_info(task_set(TargetLabel::Blue, "web-blue"))
                    .task_sets_info(task_set(TargetLabel::Green, "web-green"))
                    .build(),
            )
            .build();
        let lifecycle = lifecycle_of(&[ecs]);
        assert!(lifecycle.after_traffic());
        assert_eq!(lifecycle.ecs_service.as_deref(), Some("checkout"));
        assert_eq!(
            lifecycle.task_sets,
            [
                TaskSet {
                    label: "Blue".into(),
                    target_group: "web-blue".into()
                },
                TaskSet {
                    label: "Green".into(),
                    target_group: "web-green".into()
                }
            ]
        );
    }
}
