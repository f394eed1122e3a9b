//! Amazon ECS's own lifecycle hooks through the real `bootstrap`: what only a real process shows.
//! ECS's payload delivered by the Runtime API (the sample's too, and bad ones as the invocation's
//! error), green found through the stand-in's ECS (DescribeServiceRevisions, which moto does not
//! implement) and ELBv2 (DescribeRules, DescribeListeners, DescribeLoadBalancers: the stand-in's,
//! because moto's load balancers have DNS names that do not resolve, and these checks must reach
//! a loopback server), checks sent to a real HTTP server as green, the verdict read from the
//! function's answer, and the summary line and metric record. One test reads the rule from moto's
//! real ELBv2 instead, with `ALB_URL` giving the listener's address. The hook's decisions (each
//! stage, the rule's conditions, `hookDetails`, continuing after `IN_PROGRESS`) are tested in
//! process, on the SDK's canned answers and the paused clock: `src/ecs_hook/tests.rs`. Green
//! judged on its real traffic at a linear or canary step goes through the real binary too: its
//! target groups' load balancer from the stand-in's DescribeTargetGroups, their ALB metrics from
//! its GetMetricData (`src/ecs_hook/canary/tests.rs` has the step's decisions in process).

mod common;

use stand_in::kit::minutes_ago;
use std::time::{Duration, UNIX_EPOCH};

use common::{HookRig as Rig, TIMEOUT, text};
use serde_json::{Value, json};
use stand_in::fixtures::{TEST_RULE_HEADER, TEST_RULE_HOST, ecs_native, test_rule};
use stand_in::{
    Answer, EcsService, Fault, HttpTarget, Operation, RuntimeOutcome, TargetGroupRequests, TargetGroupTraffic, TestRule,
};

/// Green answering `answers`, behind a test listener whose rule is the fixtures' (a host, a
/// header and two path patterns, as the in-process tests' canned rule), test traffic shifted to
/// green.
async fn ecs_service(answers: &[(&str, Answer)]) -> (HttpTarget, Rig, EcsService) {
    let green = HttpTarget::start(answers).await.expect("start green");
    let port = green.port();
    let rig = Rig::start(&[]).await;
    let service = rig.aws.add_ecs_service(port, test_rule());
    rig.aws.shift_test_traffic(&service, true);
    (green, rig, service)
}

async fn call(rig: &Rig, payload: Value) -> Value {
    match rig.aws.deliver_payload(payload, TIMEOUT).await.outcome {
        RuntimeOutcome::Response(answer) => answer,
        other => panic!("the hook did not answer: {other:?}"),
    }
}

/// The `count`th ECS summary line.
async fn summary(rig: &Rig, count: usize) -> Value {
    let lines = rig.hook.wait_for_logged("ecs hook summary", count).await;
    assert!(
        lines.len() >= count,
        "expected {count} ECS summary lines: {:?}",
        rig.hook.lines()
    );
    lines[count - 1].clone()
}

#[tokio::test]
async fn a_healthy_green_succeeds_through_the_test_rule_and_a_denied_lookup_is_preflight_s_fault() {
    let (green, rig, service) = ecs_service(&[("/healthcheck", Answer::Status(200))]).await;
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));

    let requests = green.requests();
    assert_eq!(requests.len(), 1);
    let port = green.port();
    assert_eq!(
        requests[0].header("host"),
        Some(format!("{TEST_RULE_HOST}:{port}").as_str())
    );
    assert_eq!(requests[0].header(TEST_RULE_HEADER.0), Some(TEST_RULE_HEADER.1));

    let line = summary(&rig, 1).await;
    assert_eq!(text(&line, "hook_status"), "SUCCEEDED");
    assert_eq!(text(&line, "cause"), "Passed");
    assert_eq!(text(&line, "stage"), "POST_TEST_TRAFFIC_SHIFT");
    assert_eq!(text(&line, "revision"), service.green_revision);
    assert!(
        text(&line, "checks").starts_with(&format!("http://{TEST_RULE_HOST}")),
        "{line}"
    );
    assert!(rig.hook.summaries().is_empty(), "no CodeDeploy summary for an ECS call");
    assert_eq!(rig.aws.reports().len(), 0, "nothing is reported to CodeDeploy");

    // The role lost ecs:DescribeServiceRevisions: preflight's fault, not the release's.
    rig.aws
        .inject(Operation::DescribeServiceRevisions, Fault::AccessDenied, 1);
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert_eq!(green.requests().len(), 1, "nothing more was sent");
    let line = summary(&rig, 2).await;
    assert!(text(&line, "reason").contains("ecs:DescribeServiceRevisions"), "{line}");
    assert_eq!(text(&line, "cause"), "NotPermitted", "{line}");
    let metrics = rig.hook.wait_for_metric_records(2).await;
    for record in &metrics {
        assert_eq!(preflight::plumbing::metrics::check_emf(record), Ok(()), "{record}");
        assert_eq!(record["Flow"], "ecs_hook");
    }
    assert_eq!(
        (&metrics[0]["HookStatus"], &metrics[0]["Cause"], &metrics[0]["Fault"]),
        (&json!("SUCCEEDED"), &json!("Passed"), &json!("None"))
    );
    assert_eq!(
        (&metrics[1]["HookStatus"], &metrics[1]["Cause"], &metrics[1]["Fault"]),
        (&json!("FAILED"), &json!("NotPermitted"), &json!("Preflight"))
    );
}

#[tokio::test]
async fn a_test_rule_from_a_real_elbv2_routes_the_checks_and_decides_whether_green_is_reachable() {
    // The rule, its listener and the target groups live in moto's ELBv2: DescribeRules is a real
    // implementation's answer. moto's DNS names do not resolve, so ALB_URL gives the listener's
    // address (a loopback server as green); the rule's host and header must still be sent.
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ForwardActionConfig, HostHeaderConditionConfig, HttpHeaderConditionConfig,
        PathPatternConditionConfig, RuleCondition, TargetGroupTuple,
    };
    let forward_to = |group: &str| {
        Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .target_groups(TargetGroupTuple::builder().target_group_arn(group).weight(1).build())
                    .build(),
            )
            .build()
    };
    let moto = stand_in::MotoServer::shared().await.expect("start moto's server");
    let alb = moto.create_alb().await.expect("create the load balancer in moto");
    let elb = stand_in::kit::elb_client(&moto.endpoint_url()).await;
    let created = elb
        .create_rule()
        .listener_arn(&alb.listener)
        .priority(7)
        .conditions(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(HostHeaderConditionConfig::builder().values(TEST_RULE_HOST).build())
                .build(),
        )
        .conditions(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .http_header_name(TEST_RULE_HEADER.0)
                        .values(TEST_RULE_HEADER.1)
                        .build(),
                )
                .build(),
        )
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(PathPatternConditionConfig::builder().values("/healthcheck").build())
                .build(),
        )
        .actions(forward_to(&alb.app_target_group))
        .send()
        .await
        .expect("create the test rule in moto");
    let rule_arn = created
        .rules()
        .first()
        .and_then(|rule| rule.rule_arn())
        .expect("moto names the rule")
        .to_string();

    let green = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start green");
    let endpoint = moto.endpoint_url();
    let rig = Rig::start(&[
        ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", endpoint.as_str()),
        ("ALB_URL", green.host_port().as_str()),
    ])
    .await;
    let service = rig.aws.add_ecs_service_routed(
        &rule_arn,
        &alb.app_target_group,
        &alb.sorry_target_group,
        TestRule::default(),
    );
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}), "{:?}", rig.hook.lines());
    let requests = green.requests();
    assert_eq!(requests.len(), 1);
    let port = green.port();
    assert_eq!(
        requests[0].header("host"),
        Some(format!("{TEST_RULE_HOST}:{port}").as_str())
    );
    assert_eq!(requests[0].header(TEST_RULE_HEADER.0), Some(TEST_RULE_HEADER.1));

    // The rule moved back to blue: nothing of green to check.
    elb.modify_rule()
        .rule_arn(&rule_arn)
        .actions(forward_to(&alb.sorry_target_group))
        .send()
        .await
        .expect("point the rule at blue");
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert_eq!(green.requests().len(), 1, "nothing more was sent");
    assert!(text(&summary(&rig, 2).await, "reason").contains("does not forward to green"));
}

#[tokio::test]
async fn the_sample_ecs_payload_is_read_and_bad_ones_are_the_invocations_error() {
    let rig = Rig::start(&[]).await;
    let sample = stand_in::kit::sample("ecs-lifecycle-hook.json").expect("the sample");
    // The stand-in's ECS does not know the sample's revision.
    let answer = call(&rig, sample.clone()).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    let line = summary(&rig, 1).await;
    assert_eq!(text(&line, "stage"), "POST_TEST_TRAFFIC_SHIFT");
    assert_eq!(text(&line, "service"), "checkout");
    let reason = text(&line, "reason");
    assert!(
        reason.contains("MISSING") && reason.contains("4980306466373577095"),
        "{reason}"
    );
    assert_eq!(
        rig.aws.calls(Operation::DescribeServiceRevisions),
        1,
        "MISSING is not retried"
    );

    let mut unknown_stage = sample.clone();
    unknown_stage["lifecycleStage"] = json!("AFTER_LUNCH");
    let mut no_green = sample.clone();
    no_green["executionDetails"]
        .as_object_mut()
        .map(|details| details.remove("targetServiceRevisionArn"));
    for (payload, says) in [
        (unknown_stage, "`lifecycleStage` is `AFTER_LUNCH`"),
        (no_green, "`executionDetails.targetServiceRevisionArn` is missing"),
    ] {
        let RuntimeOutcome::Error(error) = rig.aws.deliver_payload(payload, TIMEOUT).await.outcome else {
            panic!("a bad ECS payload was answered");
        };
        assert_eq!(error["errorType"], "InvalidEcsHookPayload", "{error}");
        assert!(
            error["errorMessage"].as_str().unwrap_or_default().contains(says),
            "{error}"
        );
    }
    // The hook serves on.
    assert_eq!(call(&rig, sample).await, json!({"hookStatus": "FAILED"}));
    assert_eq!(rig.aws.calls(Operation::DescribeServiceRevisions), 2);
}

/// The smoke test for Network Load Balancers: the real binary reads an NLB's TCP test
/// listener from the stand-in's ELBv2 (a listener ARN in the revision, a default action instead
/// of a rule), checks green through it once it forwards to green, and not while it is on blue.
#[tokio::test]
async fn green_behind_an_nlb_is_checked_through_its_tcp_test_listener_once_it_forwards_to_green() {
    let green = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start green");
    let rig = Rig::start(&[]).await;
    let service = rig.aws.add_ecs_service_behind_nlb(green.port());
    assert!(
        service.test_rule_arn.contains(":listener/net/"),
        "{}",
        service.test_rule_arn
    );

    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}), "still on blue");
    assert!(
        green.requests().is_empty(),
        "nothing is sent while the listener forwards to blue"
    );
    let reason = text(&summary(&rig, 1).await, "reason");
    assert!(
        reason.contains("the test listener") && reason.contains("does not forward to green"),
        "{reason}"
    );

    rig.aws.shift_test_traffic(&service, true);
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    let requests = green.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/healthcheck");
    assert_eq!(
        rig.aws.calls(Operation::DescribeRules),
        0,
        "an NLB listener has no rules to read"
    );
}

/// What follows `marker` in `arn`, with `prefix` before it: CloudWatch's dimension of a load
/// balancer (`app/NAME/ID`) or a target group (`targetgroup/NAME/ID`).
fn dimension(arn: &str, marker: &str, prefix: &str) -> String {
    let (_, rest) = arn
        .split_once(marker)
        .unwrap_or_else(|| panic!("{arn} has no {marker}"));
    format!("{prefix}{rest}")
}

/// The hook's own checks and an ECS canary with its defaults (3 settle minutes).
fn canary_details() -> Value {
    json!({"preflight": {"checks": [{"path": "/healthcheck"}], "canary": {}}})
}

/// How a canary step of the fixtures' first ECS-native service went through the binary.
struct Step {
    rig: Rig,
    green: HttpTarget,
    /// The step's first call's answer, and the later call's (ECS's, its step begun ten minutes ago).
    first: Value,
    later: Value,
    /// Green's and blue's simulated traffic.
    traffic: (TargetGroupTraffic, TargetGroupTraffic),
}

/// Green (answering the synthetic check 200) and blue served the ten minutes before this one,
/// green failing `green_five_xx` of its requests; then a step at 10% is judged: its first call,
/// and a later one as ECS makes it after the delay, with what the first left in `hookDetails`
/// and the step begun ten minutes ago.
async fn canary_step(green_five_xx: f64) -> Step {
    let (green, rig, service) = ecs_service(&[("/healthcheck", Answer::Status(200))]).await;
    let names = ecs_native(1);
    assert_eq!(service, names.service());
    let load_balancer = dimension(&names.load_balancer, ":loadbalancer/", "");
    let group = |arn: &str| dimension(arn, ":000000000000:", "");
    let (from, to) = (minutes_ago(10), minutes_ago(0));
    let load = |requests, five_xx_share| TargetGroupRequests {
        requests,
        five_xx_share,
        latency: Duration::from_millis(80),
    };
    let traffic = (
        rig.aws.simulate_target_group_traffic(
            &load_balancer,
            &group(&names.green_target_group),
            from,
            to,
            load(400, green_five_xx),
        ),
        rig.aws.simulate_target_group_traffic(
            &load_balancer,
            &group(&names.blue_target_group),
            from,
            to,
            load(3600, 0.0),
        ),
    );

    let first = call(
        &rig,
        service.hook_event("PRODUCTION_TRAFFIC_SHIFT", Some(10.0), Some(canary_details())),
    )
    .await;
    // ECS merges the returned hookDetails into the next call's; the step began ten minutes ago.
    let mut details = canary_details();
    details["preflightCanary"] = first["hookDetails"]["preflightCanary"].clone();
    details["preflightCanary"]["since"] = json!(from.duration_since(UNIX_EPOCH).expect("after 1970").as_secs());
    let later = call(
        &rig,
        service.hook_event("PRODUCTION_TRAFFIC_SHIFT", Some(10.0), Some(details)),
    )
    .await;
    Step {
        rig,
        green,
        first,
        later,
        traffic,
    }
}

/// The step's first call checks green, then waits for its minutes to settle.
async fn first_call_waits(step: &Step) {
    let first = &step.first;
    assert_eq!(
        first["hookStatus"],
        "IN_PROGRESS",
        "{first} {:?}",
        step.rig.hook.lines()
    );
    assert_eq!(
        first["hookDetails"]["preflightCanary"]["step"],
        "PRODUCTION_TRAFFIC_SHIFT@10"
    );
    let delay = first["callBackDelay"].as_u64().unwrap_or_default();
    // The step's first whole minute, and the three it takes to settle.
    assert!((180..=240).contains(&delay), "{first}");
    let line = summary(&step.rig, 1).await;
    assert_eq!(text(&line, "cause"), "InProgress", "{line}");
    assert!(
        text(&line, "reason").starts_with("judging green's real traffic at PRODUCTION_TRAFFIC_SHIFT@10"),
        "{line}"
    );
    assert_eq!(
        step.green.requests().len(),
        1,
        "the synthetic check ran once, in the step's first call"
    );
    assert_eq!(
        step.rig.aws.calls(Operation::DescribeTargetGroups),
        2,
        "each call learns the target groups' load balancer"
    );
}

/// The summary line's `judged` field, parsed: the one judgement.
fn judged(line: &Value) -> Value {
    let judged: Vec<Value> =
        serde_json::from_str(&text(line, "judged")).unwrap_or_else(|error| panic!("{error}: {line}"));
    assert_eq!(judged.len(), 1, "{line}");
    judged[0].clone()
}

/// The `Judgements` record the later call wrote, after the first call's and its own flow records.
async fn judgement_record(rig: &Rig) -> Value {
    let records = rig.hook.wait_for_metric_records(3).await;
    let judgements: Vec<&Value> = records
        .iter()
        .filter(|record| record.get("Judgements").is_some())
        .collect();
    assert_eq!(judgements.len(), 1, "one Judgements record: {records:?}");
    let record = judgements[0].clone();
    assert_eq!(preflight::plumbing::metrics::check_emf(&record), Ok(()), "{record}");
    assert_eq!(record["Flow"], "ecs_hook", "{record}");
    record
}

#[tokio::test]
async fn a_canary_step_waits_for_green_s_minutes_then_fails_a_green_erring_beyond_blue() {
    let step = canary_step(0.2).await;
    assert_eq!(
        step.traffic,
        (
            TargetGroupTraffic {
                requests: 400,
                five_xx: 80
            },
            TargetGroupTraffic {
                requests: 3600,
                five_xx: 0
            }
        )
    );
    first_call_waits(&step).await;

    assert_eq!(
        step.later,
        json!({"hookStatus": "FAILED"}),
        "{:?}",
        step.rig.hook.lines()
    );
    let line = summary(&step.rig, 2).await;
    assert_eq!(text(&line, "hook_status"), "FAILED");
    assert_eq!(text(&line, "cause"), "ReleaseFailed", "{line}");
    let reason = text(&line, "reason");
    assert!(
        reason.starts_with("checkout-1 failed on its real traffic: errors ")
            && reason.contains("targetgroup/checkout-1-blue/"),
        "{reason}"
    );
    assert_eq!(text(&line, "checks"), "", "the step's checks passed in its first call");
    let judgement = judged(&line);
    assert_eq!(judgement["ruling"], "Fail", "{judgement}");
    assert!(
        judgement["rule"].as_str().unwrap_or_default().starts_with("errors "),
        "{judgement}"
    );
    assert_eq!(step.green.requests().len(), 1, "green is not checked again");
    assert_eq!(judgement_record(&step.rig).await["Judgement"], "Fail");
}

#[tokio::test]
async fn a_canary_step_passes_a_green_as_healthy_as_blue_on_its_real_traffic() {
    let step = canary_step(0.0).await;
    first_call_waits(&step).await;

    assert_eq!(
        step.later,
        json!({"hookStatus": "SUCCEEDED"}),
        "{:?}",
        step.rig.hook.lines()
    );
    let line = summary(&step.rig, 2).await;
    assert_eq!(text(&line, "cause"), "Passed", "{line}");
    assert!(
        text(&line, "reason").starts_with("checkout-1 passed on its real traffic"),
        "{line}"
    );
    assert_eq!(judged(&line)["ruling"], "Pass");
    assert_eq!(judgement_record(&step.rig).await["Judgement"], "Pass");
}
