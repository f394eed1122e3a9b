//! The Lambda canary judge in process: CodeDeploy's canned lifecycle (which event called, when
//! traffic moved) and a canned CloudWatch that answers `GetMetricData` from each version's traffic
//! per minute, summed over the periods asked for as CloudWatch sums them, publishing a count only
//! when it is not zero. Waits run on tokio's paused clock.

use stand_in::kit::minutes_ago;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataInput;
use aws_sdk_codedeploy::Client as CodeDeploy;
use aws_sdk_codedeploy::operation::batch_get_deployment_targets::BatchGetDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput;
use aws_sdk_codedeploy::types::{DeploymentTarget, LambdaTarget, LifecycleEvent, LifecycleEventStatus};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::DateTime;
use serde_json::{Value, json};
use stand_in::fixtures::{CURRENT_VERSION, ECS_APPSPEC, FUNCTION, TARGET_VERSION, ecs_target_group_name};
use tokio::time::Instant;

use crate::checks::canary::Subject;
use crate::checks::canary::metrics::queries;
use crate::checks::canary::window::{Look, Window};
use crate::checks::config::Config;
use crate::codedeploy_hook::tests::{
    deployment_in_s3, deployment_named_by_sha, hook_with, invoke_answering, report_accepted, revision_by_sha,
    revision_holding,
};
use crate::plumbing::aws::canned::{Served, answering, cloudwatch_serving};
use crate::plumbing::aws::{AwsClients, canned};

const MINUTE: Duration = Duration::from_secs(60);

/// The deployment's one Lambda target, at `caller`, with AllowTraffic over `allow` (only started
/// at `allow.0` while it is the event in progress).
pub(crate) fn lifecycle(caller: &'static str, allow: (SystemTime, SystemTime)) -> [Rule; 2] {
    let list = mock!(CodeDeploy::list_deployment_targets)
        .match_requests(|request| request.deployment_id() == Some("d-1"))
        .then_output(|| ListDeploymentTargetsOutput::builder().target_ids(FUNCTION).build());
    let batch = mock!(CodeDeploy::batch_get_deployment_targets)
        .match_requests(|request| request.target_ids() == [FUNCTION.to_string()])
        .then_output(move || lambda_target(caller, allow));
    [list, batch]
}

/// BatchGetDeploymentTargets' answer for the deployment's one Lambda target, at `caller`.
pub(crate) fn lambda_target(caller: &str, allow: (SystemTime, SystemTime)) -> BatchGetDeploymentTargetsOutput {
    let events = [
        "Start",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
        "End",
    ];
    let position = events
        .iter()
        .position(|event| *event == caller)
        .expect("a Lambda event");
    let lifecycle_events = events.iter().enumerate().map(|(index, name)| {
        let event = LifecycleEvent::builder().lifecycle_event_name(*name);
        match index.cmp(&position) {
            std::cmp::Ordering::Less => {
                let (start, end) = if *name == "AllowTraffic" {
                    allow
                } else {
                    (allow.0, allow.0)
                };
                event
                    .status(LifecycleEventStatus::Succeeded)
                    .start_time(DateTime::from(start))
                    .end_time(DateTime::from(end))
            }
            std::cmp::Ordering::Equal if *name == "AllowTraffic" => event
                .status(LifecycleEventStatus::InProgress)
                .start_time(DateTime::from(allow.0)),
            std::cmp::Ordering::Equal => event.status(LifecycleEventStatus::InProgress),
            std::cmp::Ordering::Greater => event.status(LifecycleEventStatus::Pending),
        }
        .build()
    });
    BatchGetDeploymentTargetsOutput::builder()
        .deployment_targets(
            DeploymentTarget::builder()
                .lambda_target(
                    LambdaTarget::builder()
                        .target_id(FUNCTION)
                        .set_lifecycle_events(Some(lifecycle_events.collect()))
                        .build(),
                )
                .build(),
        )
        .build()
}

/// A configuration whose one entry judges `my-api` with `canary`.
fn judging(canary: &str) -> Config {
    let checks = format!("targets: [{{function: {FUNCTION}, checks: [{{path: /health}}], canary: {canary}}}]");
    Config::from_lookup(&|name| (name == "PREFLIGHT_CHECKS").then(|| checks.clone())).expect("config")
}

struct Run {
    answer: Value,
    elapsed: Duration,
}

/// One invocation at `caller`, the Lambda deadline `budget` away.
async fn invoked(
    config: Config,
    caller: &'static str,
    allow: (SystemTime, SystemTime),
    metrics: &Rule,
    invoke: &Rule,
    budget: Duration,
) -> Run {
    let [list, batch] = lifecycle(caller, allow);
    let (deployment, revision) = (deployment_named_by_sha(), revision_by_sha());
    answered(
        config,
        &[&deployment, &revision, &list, &batch],
        &[invoke],
        &[],
        metrics,
        budget,
    )
    .await
}

/// One invocation answered from these rules (the report, either way, is added), the Lambda
/// deadline `budget` away.
async fn answered(
    config: Config,
    codedeploy: &[&Rule],
    lambda: &[&Rule],
    elb: &[&Rule],
    metrics: &Rule,
    budget: Duration,
) -> Run {
    let succeeded = report_accepted(LifecycleEventStatus::Succeeded);
    let failed = report_accepted(LifecycleEventStatus::Failed);
    let mut codedeploy = codedeploy.to_vec();
    codedeploy.extend([&succeeded, &failed]);
    let clients = AwsClients::from_clients(
        canned::codedeploy(&codedeploy),
        canned::lambda(lambda),
        canned::elb(elb),
    )
    .with_cloudwatch(canned::cloudwatch(&[metrics]));
    let started = Instant::now();
    let answer = Arc::new(hook_with(Ok(config)))
        .handle(
            Arc::new(clients),
            &json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"}),
            Instant::now() + budget,
        )
        .await
        .expect("reported");
    Run {
        answer,
        elapsed: started.elapsed(),
    }
}

/// One entry judging every target, its checks going to `ALB_URL`: no test listener is looked up.
fn judging_through_alb() -> Config {
    let checks = "targets: [{checks: [{path: /health}], canary: {}}]".to_string();
    Config::from_lookup(&|name| match name {
        "PREFLIGHT_CHECKS" => Some(checks.clone()),
        "ALB_URL" => Some("http://127.0.0.1:9".into()),
        _ => None,
    })
    .expect("config")
}

/// A ten-minute canary that ended five minutes ago: the new version took a tenth of the traffic.
fn canary_window() -> (SystemTime, SystemTime) {
    (minutes_ago(15), minutes_ago(5))
}

fn reason(run: &Run) -> &str {
    run.answer["reason"].as_str().unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn before_allow_traffic_the_checks_run_and_no_metric_is_read() {
    let (from, to) = canary_window();
    let metrics = cloudwatch_serving(
        Served::during(from, to, 30.0, 0.0, 80.0),
        Served::during(from, to, 270.0, 0.0, 80.0),
    );
    let invoke = invoke_answering(200);
    let run = invoked(
        judging("{}"),
        "BeforeAllowTraffic",
        (from, to),
        &metrics,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Succeeded"), Some("Passed"))
    );
    assert_eq!((invoke.num_calls(), metrics.num_calls()), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_canary_failing_one_request_in_six_is_stopped_at_after_allow_traffic_with_the_evidence() {
    let (from, to) = canary_window();
    let metrics = cloudwatch_serving(
        Served::during(from, to, 30.0, 1.0 / 6.0, 80.0),
        Served::during(from - MINUTE * 30, to + MINUTE * 30, 270.0, 0.0, 80.0),
    );
    let invoke = invoke_answering(200);
    let run = invoked(
        judging("{}"),
        "AfterAllowTraffic",
        (from, to),
        &metrics,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Failed"), Some("ReleaseFailed"))
    );
    let said = reason(&run);
    assert!(
        said.starts_with(&format!(
            "{FUNCTION}:live failed on its real traffic: errors 50/300 (16.7%) against 0/2700 (0.0%) on version {CURRENT_VERSION}: higher beyond chance"
        )),
        "{said}"
    );
    assert_eq!(invoke.num_calls(), 0, "a judged target is not checked again");
    assert_eq!(metrics.num_calls(), 1, "one look read both sides");
}

#[tokio::test(start_paused = true)]
async fn a_healthy_canary_passes_on_its_real_traffic() {
    let (from, to) = canary_window();
    let metrics = cloudwatch_serving(
        Served::during(from, to, 30.0, 0.002, 82.0),
        Served::during(from, to, 270.0, 0.002, 80.0),
    );
    let invoke = invoke_answering(200);
    let run = invoked(
        judging("{}"),
        "AfterAllowTraffic",
        (from, to),
        &metrics,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Succeeded"), Some("Passed"))
    );
    assert!(
        reason(&run).contains("passed on its real traffic: errors"),
        "{}",
        reason(&run)
    );
}

#[tokio::test(start_paused = true)]
async fn an_all_at_once_shift_bakes_until_a_minute_of_traffic_decides() {
    // AllAtOnce: traffic moved in seconds, at the start of this minute; 150 requests a minute
    // before and after.
    let shifted = minutes_ago(0);
    let into_the_minute = SystemTime::now().duration_since(shifted).expect("after the shift");
    let metrics = cloudwatch_serving(
        Served::during(shifted, shifted + MINUTE * 60, 150.0, 0.0, 80.0),
        Served::during(shifted - MINUTE * 60, shifted, 150.0, 0.0, 80.0),
    );
    let invoke = invoke_answering(200);
    let run = invoked(
        judging("{bake_minutes: 10}"),
        "AfterAllowTraffic",
        (shifted - Duration::from_secs(5), shifted),
        &metrics,
        &invoke,
        Duration::from_secs(900),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Succeeded"), Some("Passed")),
        "{}",
        reason(&run)
    );
    // The first whole minute after the shift, plus the three minutes its points take to settle.
    // (The wall clock moves on while tokio's is paused: a second's slack.)
    let waited = run.elapsed + into_the_minute;
    assert!(
        waited > MINUTE * 4 - Duration::from_secs(1) && waited < MINUTE * 4 + Duration::from_secs(1),
        "decided as soon as that minute could be read: {waited:?}"
    );
    assert!(metrics.num_calls() >= 1);
}

#[tokio::test(start_paused = true)]
async fn no_traffic_is_inconclusive_never_passed_and_on_inconclusive_fail_stops_it() {
    let (from, to) = canary_window();
    let nothing = || {
        cloudwatch_serving(
            Served::during(from, from, 0.0, 0.0, 0.0),
            Served::during(from, from, 0.0, 0.0, 0.0),
        )
    };
    let invoke = invoke_answering(200);
    let metrics = nothing();
    let run = invoked(
        judging("{bake_minutes: 0}"),
        "AfterAllowTraffic",
        (from, to),
        &metrics,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Succeeded"), Some("Inconclusive"))
    );
    assert!(reason(&run).contains("is inconclusive, not passed"), "{}", reason(&run));
    assert!(reason(&run).contains("version 2 had 0 requests"), "{}", reason(&run));

    let metrics = nothing();
    let run = invoked(
        judging("{bake_minutes: 0, on_inconclusive: fail}"),
        "AfterAllowTraffic",
        (from, to),
        &metrics,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Failed"), Some("Inconclusive"))
    );
}

#[tokio::test(start_paused = true)]
async fn the_bake_stops_at_the_deadline_inconclusive_not_out_of_time() {
    let shifted = minutes_ago(0);
    let metrics = cloudwatch_serving(
        Served::during(shifted, shifted, 0.0, 0.0, 0.0),
        Served::during(shifted - MINUTE * 60, shifted, 150.0, 0.0, 80.0),
    );
    let invoke = invoke_answering(200);
    let run = invoked(
        judging("{bake_minutes: 10}"),
        "AfterAllowTraffic",
        (shifted, shifted),
        &metrics,
        &invoke,
        Duration::from_secs(300),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Succeeded"), Some("Inconclusive")),
        "{}",
        reason(&run)
    );
    assert!(
        reason(&run).contains("the bake stopped at the hook's deadline"),
        "{}",
        reason(&run)
    );
    assert!(run.elapsed < Duration::from_secs(300), "{:?}", run.elapsed);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_look_is_retried_and_a_denied_one_names_the_permission_after_one_call() {
    let (from, to) = canary_window();
    // The SDK retries within one call: the throttling and the answer are one rule's sequence,
    // the answer CloudWatch gives the one look this canary needs.
    let look = Look::side_by_side(Window::covering(from, to)).expect("whole minutes");
    let version = |version: &str| Subject::LambdaVersion {
        function: FUNCTION.into(),
        alias: "live".into(),
        version: version.into(),
    };
    let request = GetMetricDataInput::builder()
        .set_metric_data_queries(Some(queries(
            &look,
            &version(TARGET_VERSION),
            &version(CURRENT_VERSION),
            None,
        )))
        .start_time(DateTime::from(look.start))
        .end_time(DateTime::from(look.end()))
        .build()
        .expect("a request");
    let healthy = answering(
        Served::during(from, to, 30.0, 0.0, 80.0),
        Served::during(from, to, 270.0, 0.0, 80.0),
    );
    let answer = healthy(&request);
    let throttled_then_healthy = mock!(CloudWatch::get_metric_data)
        .sequence()
        .http_response(|| canned::cbor_error(400, "Throttling", "Rate exceeded"))
        .output(move || answer.clone())
        .build();
    let invoke = invoke_answering(200);
    let run = invoked(
        judging("{}"),
        "AfterAllowTraffic",
        (from, to),
        &throttled_then_healthy,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Succeeded"), Some("Passed")),
        "{}",
        run.answer
    );
    assert_eq!(
        throttled_then_healthy.num_calls(),
        2,
        "the throttled call and its retry"
    );

    let denied = mock!(CloudWatch::get_metric_data).then_http_response(|| {
        canned::cbor_error(
            403,
            "AccessDenied",
            "User: arn:aws:sts::1:assumed-role/preflight/hook is not authorized to perform: cloudwatch:GetMetricData",
        )
    });
    let run = invoked(
        judging("{}"),
        "AfterAllowTraffic",
        (from, to),
        &denied,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Failed"), Some("NotPermitted"))
    );
    assert!(
        reason(&run).contains("grant this function's role cloudwatch:GetMetricData"),
        "{}",
        reason(&run)
    );
    assert_eq!(denied.num_calls(), 1, "a denied call is not retried");
}

#[tokio::test(start_paused = true)]
async fn a_target_without_canary_gets_its_checks_after_traffic_too() {
    let (from, to) = canary_window();
    let checks =
        "targets: [{function: other-*, checks: [{path: /}], canary: {}}, {checks: [{path: /health}]}]".to_string();
    let config = Config::from_lookup(&|name| (name == "PREFLIGHT_CHECKS").then(|| checks.clone())).expect("config");
    let metrics = cloudwatch_serving(
        Served::during(from, to, 30.0, 0.0, 80.0),
        Served::during(from, to, 270.0, 0.0, 80.0),
    );
    let invoke = invoke_answering(200);
    let run = invoked(
        config,
        "AfterAllowTraffic",
        (from, to),
        &metrics,
        &invoke,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        (run.answer["status"].as_str(), run.answer["cause"].as_str()),
        (Some("Succeeded"), Some("Passed"))
    );
    assert_eq!((invoke.num_calls(), metrics.num_calls()), (1, 0));
}

/// An ECS deployment's target at `AfterAllowTraffic`, its task sets in `service-blue` and
/// `service-green`, traffic moved over `allow`.
fn ecs_lifecycle(allow: (SystemTime, SystemTime)) -> [Rule; 2] {
    use aws_sdk_codedeploy::types::{EcsTarget, EcsTaskSet, TargetGroupInfo, TargetLabel};
    let list = mock!(CodeDeploy::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("shop:checkout")
            .build()
    });
    let batch = mock!(CodeDeploy::batch_get_deployment_targets).then_output(move || {
        let event = |name: &str, status: LifecycleEventStatus| {
            LifecycleEvent::builder().lifecycle_event_name(name).status(status)
        };
        let task_set = |label: TargetLabel, colour: &str| {
            EcsTaskSet::builder()
                .task_set_label(label)
                .target_group(TargetGroupInfo::builder().name(ecs_target_group_name(colour)).build())
                .build()
        };
        BatchGetDeploymentTargetsOutput::builder()
            .deployment_targets(
                DeploymentTarget::builder()
                    .ecs_target(
                        EcsTarget::builder()
                            .target_id("shop:checkout")
                            .lifecycle_events(
                                event("AllowTraffic", LifecycleEventStatus::Succeeded)
                                    .start_time(DateTime::from(allow.0))
                                    .end_time(DateTime::from(allow.1))
                                    .build(),
                            )
                            .lifecycle_events(event("AfterAllowTraffic", LifecycleEventStatus::InProgress).build())
                            .task_sets_info(task_set(TargetLabel::Blue, "blue"))
                            .task_sets_info(task_set(TargetLabel::Green, "green"))
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    [list, batch]
}

/// DescribeTargetGroups by name, as ELBv2 answers for the two task sets' groups behind one ALB.
fn target_groups_behind_one_alb() -> Rule {
    use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
    use aws_sdk_elasticloadbalancingv2::types::TargetGroup;
    mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(|| {
        let group = |colour: &str, id: &str| {
            TargetGroup::builder()
                .target_group_name(ecs_target_group_name(colour))
                .target_group_arn(format!(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{}/{id}",
                    ecs_target_group_name(colour)
                ))
                .load_balancer_arns(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188",
                )
                .build()
        };
        DescribeTargetGroupsOutput::builder()
            .target_groups(group("blue", "1a2b3c4d5e6f7081"))
            .target_groups(group("green", "9a8b7c6d5e4f3021"))
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn an_ecs_deployment_s_green_target_group_is_judged_against_blue_s() {
    let (from, to) = canary_window();
    // Green answers 5xx to one request in five, and slower.
    let metrics = cloudwatch_serving(
        Served::during(from, to, 40.0, 0.2, 900.0),
        Served::during(from, to, 360.0, 0.001, 80.0),
    );
    let [list, batch] = ecs_lifecycle((from, to));
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(ECS_APPSPEC));
    let groups = target_groups_behind_one_alb();
    let answer = answered(
        judging_through_alb(),
        &[&deployment, &revision, &list, &batch],
        &[],
        &[&groups],
        &metrics,
        Duration::from_secs(30),
    )
    .await
    .answer;
    assert_eq!(
        (answer["status"].as_str(), answer["cause"].as_str()),
        (Some("Failed"), Some("ReleaseFailed")),
        "{answer}"
    );
    let said = answer["reason"].as_str().unwrap_or_default();
    assert!(
        said.contains("failed on its real traffic: errors 80/400 (20.0%) against 4/3600 (0.1%) on targetgroup/checkout-blue/1a2b3c4d5e6f7081"),
        "{said}"
    );
    assert!(said.contains("p99 900 ms against 80 ms"), "{said}");
    assert_eq!((groups.num_calls(), metrics.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn an_appspec_that_cannot_be_read_is_inconclusive_after_traffic_never_a_silent_pass() {
    let (from, to) = canary_window();
    let deployment = deployment_in_s3();
    let [list, batch] = lifecycle("AfterAllowTraffic", (from, to));
    let metrics = cloudwatch_serving(
        Served::during(from, to, 30.0, 0.0, 80.0),
        Served::during(from, to, 270.0, 0.0, 80.0),
    );
    let answer = answered(
        judging_through_alb(),
        &[&deployment, &list, &batch],
        &[],
        &[],
        &metrics,
        Duration::from_secs(30),
    )
    .await
    .answer;
    assert_eq!(
        (answer["status"].as_str(), answer["cause"].as_str()),
        (Some("Succeeded"), Some("Inconclusive")),
        "{answer}"
    );
    let said = answer["reason"].as_str().unwrap_or_default();
    assert!(said.contains("cannot tell which versions to compare"), "{said}");
    assert_eq!(metrics.num_calls(), 0, "nothing to read");
}
