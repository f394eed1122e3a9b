//! Green judged on its real traffic at ECS's own production traffic shift, in process: the
//! service's canned revision and test rule (green answering on a real server), its two target
//! groups behind one ALB, and a canned CloudWatch answering from each side's traffic per minute.
//! A later call of a step is a new payload whose `hookDetails` carry what the first call left, as
//! ECS merges them; its step began minutes ago on the wall clock.

use stand_in::kit::minutes_ago;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::types::TargetGroup;
use aws_smithy_mocks::{Rule, mock};
use serde_json::{Value, json};
use stand_in::fixtures::TEST_RULE_HOST;

use super::{KEY, StepStart, judged_at, read};
use crate::ecs_hook::payload::Stage;
use crate::ecs_hook::tests::{CannedAws, blue_group, call, green, green_group, payload, production_rule};
use crate::plumbing::aws::canned::{Served, cloudwatch_serving};
use crate::plumbing::aws::{AwsClients, canned};

const MINUTE: Duration = Duration::from_secs(60);

/// DescribeTargetGroups by ARN: green's and blue's groups behind the service's one ALB.
fn target_groups() -> Rule {
    mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(|| {
        let group = |arn: &str| {
            TargetGroup::builder()
                .target_group_arn(arn)
                .load_balancer_arns(
                    "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/shop/50dc6c495c0c9188",
                )
                .build()
        };
        DescribeTargetGroupsOutput::builder()
            .target_groups(group(green_group()))
            .target_groups(group(blue_group()))
            .build()
    })
}

const JUDGED: &str = "PRODUCTION_TRAFFIC_SHIFT@10";

/// The hook's own checks and canary key, and, for a later call of a step, when it began.
fn hook_details(canary: Value, step_began: Option<(&str, SystemTime)>) -> Value {
    let mut details = json!({"preflight": {"checks": [{"path": "/healthcheck"}], "canary": canary}});
    if let Some((step, since)) = step_began {
        details[KEY] = StepStart {
            step: step.into(),
            since,
            synthetic: 0,
        }
        .to_value();
    }
    details
}

struct Call {
    answer: Value,
    reason: String,
    green_requests: usize,
    /// Of those, the ones that came through the production rule, which asks for no host (the
    /// test rule asks for its own).
    through_production: usize,
    looks: usize,
}

/// One call at `stage` with green at `weight`, the two sides having served `green` and `blue`.
async fn call_at(stage: &str, weight: Option<f64>, details: Value, green_served: Served, blue_served: Served) -> Call {
    call_with(stage, weight, details, (green_served, blue_served), &[], &[]).await
}

/// [`call_at`], ELBv2 and CloudWatch answering from `elb` and `cloudwatch` first.
async fn call_with(
    stage: &str,
    weight: Option<f64>,
    details: Value,
    (green_served, blue_served): (Served, Served),
    elb: &[&Rule],
    cloudwatch: &[&Rule],
) -> Call {
    let (target, port) = green(200).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let groups = target_groups();
    let metrics = cloudwatch_serving(green_served, blue_served);
    let mut elb = elb.to_vec();
    elb.extend([&aws.rule, &aws.listeners, &aws.balancers, &groups]);
    let mut cloudwatch = cloudwatch.to_vec();
    cloudwatch.push(&metrics);
    let clients = Arc::new(
        AwsClients::from_clients(canned::codedeploy(&[]), canned::lambda(&[]), canned::elb(&elb))
            .with_ecs(canned::ecs(&[&aws.revision]))
            .with_cloudwatch(canned::cloudwatch(&cloudwatch)),
    );
    let (answer, reason) = call(&[], clients, &payload(stage, weight, Some(details)))
        .await
        .expect("answered");
    let requests = target.requests();
    let test_host = format!("{TEST_RULE_HOST}:{port}");
    Call {
        answer,
        reason,
        green_requests: requests.len(),
        through_production: requests
            .iter()
            .filter(|request| request.header("host") != Some(test_host.as_str()))
            .count(),
        looks: metrics.num_calls(),
    }
}

fn serving(from: SystemTime, per_minute: f64, error_share: f64, p99_ms: f64) -> Served {
    Served::during(from, from + MINUTE * 120, per_minute, error_share, p99_ms)
}

#[tokio::test]
async fn a_step_s_first_call_checks_green_then_waits_for_its_traffic_in_progress() {
    let began = minutes_ago(0);
    let call = call_at(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(10.0),
        hook_details(json!({}), None),
        serving(began, 40.0, 0.0, 80.0),
        serving(began, 360.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer["hookStatus"], "IN_PROGRESS", "{}", call.reason);
    assert_eq!(call.green_requests, 1, "the synthetic checks ran first");
    assert_eq!(call.looks, 0, "no minute of the step could be read yet");
    let state = &call.answer["hookDetails"][KEY];
    assert_eq!(state["step"], JUDGED);
    let delay = call.answer["callBackDelay"].as_u64().unwrap_or_default();
    // The step's first whole minute, and the three it takes to settle.
    assert!((180..=240).contains(&delay), "{delay}");
    assert!(
        call.reason
            .starts_with("InProgress: judging green's real traffic at PRODUCTION_TRAFFIC_SHIFT@10: no complete minute"),
        "{}",
        call.reason
    );
}

#[tokio::test]
async fn a_later_call_of_the_step_fails_a_green_erring_beyond_blue_without_checking_again() {
    let began = minutes_ago(10);
    let call = call_at(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(10.0),
        hook_details(json!({}), Some((JUDGED, began))),
        serving(began, 40.0, 0.2, 80.0),
        serving(began, 360.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer, json!({"hookStatus": "FAILED"}), "{}", call.reason);
    assert!(
        call.reason.starts_with("ReleaseFailed: checkout-1 failed on its real traffic: errors 56/280 (20.0%) against 0/2520 (0.0%) on targetgroup/checkout-1-blue/"),
        "{}",
        call.reason
    );
    assert_eq!(call.green_requests, 0, "the step's checks passed in its first call");
    assert_eq!(call.looks, 1);
}

#[tokio::test]
async fn a_healthy_green_passes_the_step() {
    let began = minutes_ago(10);
    let call = call_at(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(10.0),
        hook_details(json!({}), Some((JUDGED, began))),
        serving(began, 40.0, 0.0, 85.0),
        serving(began, 360.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer, json!({"hookStatus": "SUCCEEDED"}), "{}", call.reason);
    assert!(
        call.reason.starts_with("Passed: checkout-1 passed on its real traffic"),
        "{}",
        call.reason
    );
}

#[tokio::test]
async fn the_next_step_starts_afresh() {
    let began = minutes_ago(10);
    // What the 10% step left, handed to the 20% step's first call.
    let call = call_at(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(20.0),
        hook_details(json!({}), Some((JUDGED, began))),
        serving(began, 40.0, 0.2, 80.0),
        serving(began, 360.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer["hookStatus"], "IN_PROGRESS", "{}", call.reason);
    assert_eq!(call.answer["hookDetails"][KEY]["step"], "PRODUCTION_TRAFFIC_SHIFT@20");
    assert_eq!(call.green_requests, 1, "a new step is checked again");
}

#[tokio::test]
async fn after_the_shift_green_s_minutes_are_judged_against_blue_s_before_it() {
    let shifted = minutes_ago(8);
    // Blue served until the shift, green since.
    let call = call_at(
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        None,
        hook_details(json!({}), Some(("POST_PRODUCTION_TRAFFIC_SHIFT@-", shifted))),
        serving(shifted, 400.0, 0.0, 900.0),
        Served::during(shifted - MINUTE * 60, shifted, 400.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer, json!({"hookStatus": "FAILED"}), "{}", call.reason);
    assert!(call.reason.contains("p99 900 ms against 80 ms"), "{}", call.reason);
}

#[tokio::test]
async fn a_step_without_traffic_after_the_bake_is_inconclusive_and_goes_on() {
    let began = minutes_ago(20);
    let nothing = Served::during(began, began, 0.0, 0.0, 0.0);
    let call = call_at(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(10.0),
        hook_details(json!({"bake_minutes": 5}), Some((JUDGED, began))),
        nothing,
        nothing,
    )
    .await;
    assert_eq!(call.answer, json!({"hookStatus": "SUCCEEDED"}), "{}", call.reason);
    assert!(
        call.reason
            .starts_with("Inconclusive: checkout-1 is inconclusive, not passed"),
        "{}",
        call.reason
    );
    assert!(call.reason.contains("after baking 5 min"), "{}", call.reason);
}

#[tokio::test]
async fn a_rollback_is_answered_at_once_reading_no_metric() {
    let began = minutes_ago(10);
    let call = call_at(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(0.0),
        hook_details(json!({}), Some((JUDGED, began))),
        serving(began, 40.0, 0.2, 80.0),
        serving(began, 360.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer, json!({"hookStatus": "SUCCEEDED"}));
    assert_eq!((call.looks, call.green_requests), (0, 0));
}

#[test]
fn a_step_start_travels_in_hook_details_and_a_broken_one_is_refused() {
    let start = StepStart {
        step: "PRODUCTION_TRAFFIC_SHIFT@10".into(),
        since: UNIX_EPOCH + Duration::from_secs(1_796_637_600),
        synthetic: 7,
    };
    let details = json!({ KEY: start.to_value(), "preflight": {} });
    assert_eq!(read(Some(&details)), Ok(Some(start)));
    assert_eq!(read(Some(&json!({"preflight": {}}))), Ok(None));
    let broken = read(Some(&json!({ KEY: {"since": "yesterday"} }))).unwrap_err();
    assert!(broken.contains("remove it"), "{broken}");
}

#[test]
fn green_is_judged_where_production_traffic_moved() {
    assert!(judged_at(Stage::ProductionTrafficShift));
    assert!(judged_at(Stage::PostProductionTrafficShift));
    assert!(!judged_at(Stage::PostTestTrafficShift));
    assert!(!judged_at(Stage::PreProductionTrafficShift));
}

#[tokio::test]
async fn green_given_all_of_production_is_judged_against_blue_before_the_shift() {
    let shifted = minutes_ago(8);
    // A blue/green shift: green has everything since the step began, blue had it before.
    let call = call_at(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(100.0),
        hook_details(json!({}), Some(("PRODUCTION_TRAFFIC_SHIFT@100", shifted))),
        serving(shifted, 400.0, 0.2, 80.0),
        Served::during(shifted - MINUTE * 60, shifted, 400.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer, json!({"hookStatus": "FAILED"}), "{}", call.reason);
    assert!(
        call.reason.contains("errors 400/2000 (20.0%) against 0/2000 (0.0%)"),
        "{}",
        call.reason
    );
}

#[tokio::test]
async fn a_step_start_in_the_future_or_too_long_ago_starts_the_step_afresh() {
    let began = minutes_ago(0);
    for since in [
        SystemTime::now() + Duration::from_secs(86_400),
        minutes_ago(3 * 24 * 60),
    ] {
        let call = call_at(
            "PRODUCTION_TRAFFIC_SHIFT",
            Some(10.0),
            hook_details(json!({}), Some((JUDGED, since))),
            serving(began, 40.0, 0.2, 80.0),
            serving(began, 360.0, 0.0, 80.0),
        )
        .await;
        assert_eq!(call.answer["hookStatus"], "IN_PROGRESS", "{}", call.reason);
        assert_eq!(call.green_requests, 1, "checked again, as a step's first call");
    }
    let overflowing = read(Some(&json!({ KEY: {"step": JUDGED, "since": u64::MAX} })));
    assert!(overflowing.is_err(), "{overflowing:?}");
}

#[tokio::test(start_paused = true)]
async fn a_quiet_step_gets_a_minute_of_get_checks_through_the_production_listener_and_counts_them() {
    let began = minutes_ago(0);
    let production = production_rule();
    let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = Arc::clone(&kept);
    let put = mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_compute_output(move |request| {
        keep.lock().expect("not poisoned").push(request.clone());
        aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput::builder().build()
    });
    let details = json!({"checks": [{"path": "/healthcheck"}], "canary": {"traffic": {"per_minute": 20}}});
    let call = call_with(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(10.0),
        json!({ "preflight": details }),
        (serving(began, 1.0, 0.0, 80.0), serving(began, 9.0, 0.0, 80.0)),
        &[&production],
        &[&put],
    )
    .await;

    let reason = &call.reason;
    assert_eq!(call.answer["hookStatus"], "IN_PROGRESS", "{reason}");
    assert!(
        reason.contains("sent 20 synthetic requests through the production listener"),
        "{reason}"
    );
    // The step's one check through the test rule, then a minute's traffic through the production
    // rule.
    assert_eq!((call.green_requests, call.through_production), (21, 20), "{reason}");
    assert_eq!(
        call.answer["hookDetails"][KEY]["synthetic"], 20,
        "the step remembers what it sent"
    );
    let counted: f64 = kept
        .lock()
        .expect("not poisoned")
        .iter()
        .flat_map(|request| request.metric_data())
        .inspect(|datum| assert_eq!(datum.metric_name(), Some("SyntheticRequests")))
        .filter_map(|datum| datum.value())
        .sum();
    assert_eq!(counted, 20.0);
}

#[test]
fn a_step_sends_at_its_rate_for_each_minute_begun_within_its_cap() {
    let since = UNIX_EPOCH + Duration::from_secs(1_796_637_600);
    let traffic = crate::checks::canary::settings::TrafficSettings {
        per_minute: 20,
        max_requests: 50,
        ..Default::default()
    };
    let start = |synthetic| StepStart {
        step: JUDGED.into(),
        since,
        synthetic,
    };
    let at = |seconds| since + Duration::from_secs(seconds);
    assert_eq!(super::step_allowance(&traffic, &start(0), at(5)), 20);
    assert_eq!(
        super::step_allowance(&traffic, &start(20), at(30)),
        0,
        "a call back within the minute"
    );
    assert_eq!(super::step_allowance(&traffic, &start(20), at(61)), 20);
    assert_eq!(super::step_allowance(&traffic, &start(40), at(150)), 10, "the cap");
    assert_eq!(super::step_allowance(&traffic, &start(50), at(600)), 0);
}

#[tokio::test]
async fn traffic_that_cannot_go_out_is_a_note_never_the_step_s_failure() {
    use aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesError;
    use aws_sdk_elasticloadbalancingv2::types::error::RuleNotFoundException;
    let began = minutes_ago(0);
    // The production rule is gone: the production path cannot be found.
    let missing = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_rules)
        .match_requests(|request| {
            request
                .rule_arns()
                .iter()
                .any(|rule| rule.ends_with("/0467ef3c8400ae65"))
        })
        .then_error(|| DescribeRulesError::RuleNotFoundException(RuleNotFoundException::builder().build()));
    let call = call_with(
        "PRODUCTION_TRAFFIC_SHIFT",
        Some(10.0),
        hook_details(json!({"traffic": {}}), None),
        (serving(began, 1.0, 0.0, 80.0), serving(began, 9.0, 0.0, 80.0)),
        &[&missing],
        &[],
    )
    .await;
    assert_eq!(call.answer["hookStatus"], "IN_PROGRESS", "{}", call.reason);
    assert!(call.reason.contains("no synthetic traffic sent"), "{}", call.reason);
    assert_eq!(
        call.answer["hookDetails"][KEY]["synthetic"], 0,
        "nothing counted as spent"
    );
    assert_eq!(call.through_production, 0);
}

#[tokio::test]
async fn no_traffic_once_green_has_all_of_production() {
    // Green's minutes are then judged against blue's before the shift: synthetic requests on
    // green's side alone would water its error rate down.
    let shifted = minutes_ago(1);
    let call = call_at(
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        None,
        hook_details(json!({"traffic": {}}), Some(("PRODUCTION_TRAFFIC_SHIFT@100", shifted))),
        serving(shifted, 1.0, 0.0, 80.0),
        serving(shifted - MINUTE * 30, 9.0, 0.0, 80.0),
    )
    .await;
    assert_eq!(call.answer["hookStatus"], "IN_PROGRESS", "{}", call.reason);
    assert!(!call.reason.contains("synthetic"), "{}", call.reason);
    assert_eq!(call.through_production, 0, "nothing through the production rule");
}
