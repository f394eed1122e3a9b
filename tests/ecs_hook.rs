//! Amazon ECS's own lifecycle hooks through the real `bootstrap`: ECS's payload delivered by the
//! Runtime API, green found through the stand-in's ECS (DescribeServiceRevisions, which moto
//! does not implement) and ELBv2 (DescribeRules, DescribeListeners, DescribeLoadBalancers: the
//! stand-in's, because moto's load balancers have DNS names that do not resolve, and these
//! checks must reach a loopback server), checks sent to a real HTTP server as green, and the
//! verdict read from the function's answer. One test reads the rule from moto's real ELBv2
//! instead, with `ALB_URL` giving the listener's address.

mod common;

use common::{HookRig as Rig, TIMEOUT, text};
use serde_json::{Value, json};
use stand_in::{Answer, EcsService, Fault, HttpTarget, Operation, RuntimeOutcome, TestRule};

/// The test listener rule of these tests: a host, a header and two path patterns.
fn rule() -> TestRule {
    TestRule {
        host: Some("test.checkout.example".into()),
        header: Some(("X-Preflight-Green".into(), "1".into())),
        path_patterns: vec!["/healthcheck".into(), "/api/*".into()],
    }
}

/// Green answering `answers`, behind a test listener whose rule is [`rule`]; test traffic has
/// shifted to green when `shifted`.
async fn ecs_service(
    config: &[(&str, &str)],
    answers: &[(&str, Answer)],
    shifted: bool,
) -> (HttpTarget, Rig, EcsService) {
    let green = HttpTarget::start(answers).await.expect("start green");
    let port = green.port();
    let rig = Rig::start(config).await;
    let service = rig.aws.add_ecs_service(port, rule());
    rig.aws.shift_test_traffic(&service, shifted);
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
async fn a_healthy_green_succeeds_through_the_test_rule_carrying_its_host_and_header() {
    let (green, rig, service) = ecs_service(&[], &[("/healthcheck", Answer::Status(200))], true).await;
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));

    let requests = green.requests();
    assert_eq!(requests.len(), 1);
    let port = green.port();
    assert_eq!(
        requests[0].header("host"),
        Some(format!("test.checkout.example:{port}").as_str())
    );
    assert_eq!(requests[0].header("x-preflight-green"), Some("1"));

    let line = summary(&rig, 1).await;
    assert_eq!(text(&line, "hook_status"), "SUCCEEDED");
    assert_eq!(text(&line, "cause"), "Passed");
    assert_eq!(text(&line, "stage"), "POST_TEST_TRAFFIC_SHIFT");
    assert_eq!(text(&line, "revision"), service.green_revision);
    assert!(
        text(&line, "checks").starts_with("http://test.checkout.example"),
        "{line}"
    );
    assert!(rig.hook.summaries().is_empty(), "no CodeDeploy summary for an ECS call");
    assert_eq!(rig.aws.reports().len(), 0, "nothing is reported to CodeDeploy");
}

#[tokio::test]
async fn a_broken_green_fails() {
    let config = [("CHECK_ATTEMPTS", "2"), ("CHECK_INTERVAL_MS", "20")];
    let (green, rig, service) = ecs_service(&config, &[("/healthcheck", Answer::Status(500))], true).await;
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert_eq!(green.requests().len(), 2);
    let line = summary(&rig, 1).await;
    assert!(text(&line, "reason").contains("status 500"), "{line}");
}

#[tokio::test]
async fn a_test_rule_still_on_blue_fails_without_a_request() {
    let (green, rig, service) = ecs_service(&[], &[("/healthcheck", Answer::Status(200))], false).await;
    let answer = call(&rig, service.hook_event("POST_SCALE_UP", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert!(green.requests().is_empty());
    let reason = text(&summary(&rig, 1).await, "reason");
    assert!(
        reason.contains("does not forward to green") && reason.contains("from POST_TEST_TRAFFIC_SHIFT on"),
        "{reason}"
    );
    assert_eq!(rig.aws.calls(Operation::DescribeListeners), 0);
}

#[tokio::test]
async fn a_rollback_succeeds_at_once_and_checks_nothing() {
    let (green, rig, service) = ecs_service(&[], &[("/healthcheck", Answer::Status(500))], true).await;
    let answer = call(&rig, service.hook_event("TEST_TRAFFIC_SHIFT", Some(0.0), None)).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert!(green.requests().is_empty());
    assert_eq!(rig.aws.calls(Operation::DescribeServiceRevisions), 0);
    assert!(text(&summary(&rig, 1).await, "reason").contains("rolling back"));
}

#[tokio::test]
async fn a_check_path_outside_the_rules_patterns_fails_naming_the_path_and_the_patterns() {
    let config = [("CHECK_PATHS", "/status")];
    let (green, rig, service) = ecs_service(&config, &[("/status", Answer::Status(200))], true).await;
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert!(green.requests().is_empty());
    let reason = text(&summary(&rig, 1).await, "reason");
    assert!(
        reason.contains("/status") && reason.contains("/healthcheck, /api/*"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_checks_in_hook_details_are_the_services_own() {
    let answers = [
        ("/healthcheck", Answer::Status(500)),
        ("/api/health", Answer::Json(200, r#"{"status": "ok"}"#)),
    ];
    let (green, rig, service) = ecs_service(&[], &answers, true).await;
    let details = json!({"preflight": {"checks": [{"path": "/api/health", "expect": {"json": {"$.status": "ok"}}}]}});
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, Some(details))).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    let paths: Vec<String> = green.requests().into_iter().map(|request| request.path).collect();
    assert_eq!(paths, vec!["/api/health"]);
    assert!(text(&summary(&rig, 1).await, "targets").ends_with(": hookDetails.preflight"));
}

#[tokio::test]
async fn bad_checks_in_hook_details_fail_naming_the_place() {
    let (green, rig, service) = ecs_service(&[], &[("/healthcheck", Answer::Status(200))], true).await;
    let details = json!({"preflight": {"checks": [{"path": "/healthcheck", "expect": {"stauts": 200}}]}});
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, Some(details))).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert!(green.requests().is_empty());
    let reason = text(&summary(&rig, 1).await, "reason");
    assert!(
        reason.contains("hookDetails.preflight.checks[0].expect") && reason.contains("stauts"),
        "{reason}"
    );
}

/// Calls the hook as ECS does: again after each `IN_PROGRESS`, with the `hookDetails` it returned
/// merged into the hook's own; returns every answer.
async fn call_until_done(rig: &Rig, service: &EcsService, timeout: std::time::Duration) -> Vec<Value> {
    let mut answers = Vec::new();
    let mut details = json!({});
    for _ in 0..6 {
        let payload = service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, Some(details.clone()));
        let answer = match rig.aws.deliver_payload(payload, timeout).await.outcome {
            RuntimeOutcome::Response(answer) => answer,
            other => panic!("the hook did not answer: {other:?}"),
        };
        answers.push(answer.clone());
        if answer["hookStatus"] != "IN_PROGRESS" {
            break;
        }
        if let (Some(merged), Some(returned)) = (details.as_object_mut(), answer["hookDetails"].as_object()) {
            merged.extend(returned.clone());
        }
    }
    answers
}

#[tokio::test]
async fn checks_that_outlast_an_invocation_continue_on_the_next_call() {
    // Two seconds a call, 1.5 s between attempts: at most two attempts fit in one call.
    let config = [
        ("CHECK_ATTEMPTS", "6"),
        ("CHECK_INTERVAL_MS", "1500"),
        ("CHECK_TIMEOUT_MS", "1000"),
        ("DEADLINE_MARGIN_MS", "200"),
    ];
    let (green, rig, service) = ecs_service(&config, &[("/healthcheck", Answer::WarmingUp(3))], true).await;
    let answers = call_until_done(&rig, &service, std::time::Duration::from_secs(2)).await;

    let first = &answers[0];
    assert_eq!(first["hookStatus"], "IN_PROGRESS", "{answers:?}");
    assert_eq!(first["callBackDelay"], 2, "the interval, in whole seconds");
    assert!(
        first["hookDetails"]["preflightProgress"]["attempts"][0].as_u64() >= Some(1),
        "{first}"
    );
    assert_eq!(
        answers.last().map(|answer| answer["hookStatus"].clone()),
        Some(json!("SUCCEEDED")),
        "{answers:?}"
    );
    assert_eq!(green.requests().len(), 4, "three refusals, then the pass");
}

#[tokio::test]
async fn the_attempts_not_the_lambda_timeout_are_the_limit() {
    let config = [
        ("CHECK_ATTEMPTS", "3"),
        ("CHECK_INTERVAL_MS", "1500"),
        ("CHECK_TIMEOUT_MS", "1000"),
        ("DEADLINE_MARGIN_MS", "200"),
    ];
    let (green, rig, service) = ecs_service(&config, &[("/healthcheck", Answer::Status(503))], true).await;
    let answers = call_until_done(&rig, &service, std::time::Duration::from_secs(2)).await;
    assert!(answers.len() >= 2, "{answers:?}");
    assert_eq!(
        answers.last().map(|answer| answer["hookStatus"].clone()),
        Some(json!("FAILED")),
        "{answers:?}"
    );
    assert_eq!(green.requests().len(), 3, "three attempts over all calls");
}

#[tokio::test]
async fn a_throttled_revision_lookup_is_retried_and_a_denied_one_fails_saying_what_to_grant() {
    let (_green, rig, service) = ecs_service(&[], &[("/healthcheck", Answer::Status(200))], true).await;
    rig.aws.inject(Operation::DescribeServiceRevisions, Fault::Throttle, 1);
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert_eq!(rig.aws.calls(Operation::DescribeServiceRevisions), 2);

    rig.aws
        .inject(Operation::DescribeServiceRevisions, Fault::AccessDenied, 1);
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert_eq!(
        rig.aws.calls(Operation::DescribeServiceRevisions),
        3,
        "a denied call is not retried"
    );
    let line = summary(&rig, 2).await;
    let reason = text(&line, "reason");
    assert!(reason.contains("ecs:DescribeServiceRevisions"), "{reason}");
    // A missing permission is preflight's fault, not the release's: the other alarm.
    assert_eq!(text(&line, "cause"), "NotPermitted", "{line}");
    let metrics = rig.hook.wait_for_metric_records(2).await;
    assert_eq!(preflight::plumbing::metrics::check_emf(&metrics[1]), Ok(()));
    assert_eq!(
        (&metrics[1]["HookStatus"], &metrics[1]["Cause"], &metrics[1]["Fault"]),
        (&json!("FAILED"), &json!("NotPermitted"), &json!("Preflight"))
    );
}

#[tokio::test]
async fn bad_ecs_payloads_are_the_invocations_error_and_the_hook_keeps_serving() {
    let (_green, rig, service) = ecs_service(&[], &[("/healthcheck", Answer::Status(200))], true).await;
    let mut unknown_stage = service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None);
    unknown_stage["lifecycleStage"] = json!("AFTER_LUNCH");
    let mut no_green = service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None);
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
    let answer = call(&rig, service.hook_event("POST_TEST_TRAFFIC_SHIFT", None, None)).await;
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
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
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .values("test.checkout.example")
                        .build(),
                )
                .build(),
        )
        .conditions(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .http_header_name("X-Preflight-Green")
                        .values("1")
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
        Some(format!("test.checkout.example:{port}").as_str())
    );
    assert_eq!(requests[0].header("x-preflight-green"), Some("1"));

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
async fn the_sample_ecs_payload_is_read_and_an_unknown_revision_fails_it() {
    let rig = Rig::start(&[]).await;
    let sample = stand_in::kit::sample("ecs-lifecycle-hook.json").expect("the sample");
    let answer = call(&rig, sample).await;
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
}
