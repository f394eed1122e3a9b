//! The ECS hook's decisions in process, against the SDK's own mock clients (ECS, ELBv2) and a
//! real HTTP server as green: where green is, what the requests carry, what each stage answers.
//! The service is the stand-in's first (`stand_in::fixtures`), its payloads built as the stand-in
//! builds them: the process-level tests run the same one through the real binary.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aws_sdk_ecs::operation::describe_service_revisions::DescribeServiceRevisionsOutput;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, LoadBalancer, ResolvedConfiguration, ServiceRevision, ServiceRevisionLoadBalancer,
};
use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, HostHeaderConditionConfig, HttpHeaderConditionConfig, Listener,
    LoadBalancer as Balancer, PathPatternConditionConfig, ProtocolEnum, Rule as ListenerRule, RuleCondition,
    TargetGroupTuple,
};
use aws_smithy_mocks::{Rule, mock};
use serde_json::{Value, json};
use stand_in::fixtures::{self, EcsNative, TEST_RULE_HEADER, TEST_RULE_HOST, TEST_RULE_PATHS};
use stand_in::{Answer, HttpTarget};
use tokio::time::Instant;

use super::{EcsHook, EcsHookError, config_from};
use crate::checks::setup::CheckSetup;
use crate::plumbing::aws::{AwsClients, canned};

mod events;

/// The stand-in's first ECS-native service: its revisions, test listener and rules, target groups.
static SERVICE: LazyLock<EcsNative> = LazyLock::new(|| fixtures::ecs_native(1));

pub(super) fn green_group() -> &'static str {
    &SERVICE.green_target_group
}

pub(super) fn blue_group() -> &'static str {
    &SERVICE.blue_target_group
}

/// ECS's payload at `stage`, with green's production weight when production traffic is shifting
/// (`None`: `productionTrafficWeights` is `{}`), and the hook's `hookDetails`.
pub(super) fn payload(stage: &str, green_production: Option<f64>, hook_details: Option<Value>) -> Value {
    SERVICE.service().hook_event(stage, green_production, hook_details)
}

/// DescribeServiceRevisions for green: its test rule, and green's own target group.
pub(super) fn green_revision() -> Rule {
    mock!(aws_sdk_ecs::Client::describe_service_revisions)
        .match_requests(|request| request.service_revision_arns() == [SERVICE.green_revision.clone()])
        .then_output(green_revision_output)
}

fn green_revision_output() -> DescribeServiceRevisionsOutput {
    revision_output_testing_through(&SERVICE.test_rule)
}

/// Green's revision whose test route is `test_route`: a listener rule (ALB) or a listener (NLB).
fn revision_output_testing_through(test_route: &str) -> DescribeServiceRevisionsOutput {
    DescribeServiceRevisionsOutput::builder()
        .service_revisions(
            ServiceRevision::builder()
                .service_revision_arn(&SERVICE.green_revision)
                .load_balancers(
                    LoadBalancer::builder()
                        .target_group_arn(blue_group())
                        .advanced_configuration(
                            AdvancedConfiguration::builder()
                                .alternate_target_group_arn(green_group())
                                .production_listener_rule(&SERVICE.production_rule)
                                .test_listener_rule(test_route)
                                .build(),
                        )
                        .build(),
                )
                .resolved_configuration(
                    ResolvedConfiguration::builder()
                        .load_balancers(
                            ServiceRevisionLoadBalancer::builder()
                                .target_group_arn(green_group())
                                .production_listener_rule(&SERVICE.production_rule)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
}

fn condition(field: &str) -> aws_sdk_elasticloadbalancingv2::types::builders::RuleConditionBuilder {
    RuleCondition::builder().field(field)
}

/// The test rule: `Host: test.checkout.example` and `X-Preflight-Green: 1`, paths `/healthcheck`
/// and `/api/*` (the fixtures' [`stand_in::fixtures::test_rule`]), forwarding to `to` (green, or
/// still blue).
fn test_rule(to: &'static str) -> Rule {
    mock!(aws_sdk_elasticloadbalancingv2::Client::describe_rules)
        .match_requests(|request| request.rule_arns() == [SERVICE.test_rule.clone()])
        .then_output(move || {
            DescribeRulesOutput::builder()
                .rules(
                    ListenerRule::builder()
                        .rule_arn(&SERVICE.test_rule)
                        .conditions(
                            condition("host-header")
                                .host_header_config(HostHeaderConditionConfig::builder().values(TEST_RULE_HOST).build())
                                .build(),
                        )
                        .conditions(
                            condition("http-header")
                                .http_header_config(
                                    HttpHeaderConditionConfig::builder()
                                        .http_header_name(TEST_RULE_HEADER.0)
                                        .values(TEST_RULE_HEADER.1)
                                        .build(),
                                )
                                .build(),
                        )
                        .conditions(
                            condition("path-pattern")
                                .path_pattern_config(
                                    PathPatternConditionConfig::builder()
                                        .set_values(Some(TEST_RULE_PATHS.map(str::to_string).to_vec()))
                                        .build(),
                                )
                                .build(),
                        )
                        .actions(
                            Action::builder()
                                .r#type(ActionTypeEnum::Forward)
                                .forward_config(
                                    ForwardActionConfig::builder()
                                        .target_groups(
                                            TargetGroupTuple::builder().target_group_arn(to).weight(1).build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

/// The service's production rule, on the same listener as its test rule: no conditions, blue
/// and green weighted as production traffic is.
pub(super) fn production_rule() -> Rule {
    mock!(aws_sdk_elasticloadbalancingv2::Client::describe_rules)
        .match_requests(|request| request.rule_arns() == [SERVICE.production_rule.clone()])
        .then_output(|| {
            let weighted = |group: &str, weight: i32| {
                TargetGroupTuple::builder()
                    .target_group_arn(group)
                    .weight(weight)
                    .build()
            };
            DescribeRulesOutput::builder()
                .rules(
                    ListenerRule::builder()
                        .rule_arn(&SERVICE.production_rule)
                        .actions(
                            Action::builder()
                                .r#type(ActionTypeEnum::Forward)
                                .forward_config(
                                    ForwardActionConfig::builder()
                                        .target_groups(weighted(blue_group(), 90))
                                        .target_groups(weighted(green_group(), 10))
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

/// The test listener (HTTP on `port`) and its load balancer, at loopback.
fn listener_at(port: u16) -> (Rule, Rule) {
    listener_speaking(port, ProtocolEnum::Http)
}

/// The same with the listener's `protocol`.
fn listener_speaking(port: u16, protocol: ProtocolEnum) -> (Rule, Rule) {
    let listeners = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_listeners)
        .match_requests(|request| request.listener_arns() == [SERVICE.test_listener.clone()])
        .then_output(move || {
            DescribeListenersOutput::builder()
                .listeners(
                    Listener::builder()
                        .listener_arn(&SERVICE.test_listener)
                        .load_balancer_arn(&SERVICE.load_balancer)
                        .port(i32::from(port))
                        .protocol(protocol.clone())
                        .build(),
                )
                .build()
        });
    let balancers = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers).then_output(|| {
        DescribeLoadBalancersOutput::builder()
            .load_balancers(
                Balancer::builder()
                    .load_balancer_arn(&SERVICE.load_balancer)
                    .dns_name(fixtures::TEST_LISTENER_DNS_NAME)
                    .build(),
            )
            .build()
    });
    (listeners, balancers)
}

/// The canned ECS and ELBv2 answers of one service: green's revision, its test rule forwarding
/// to `to` (green or blue), and the test listener on `port`.
pub(super) struct CannedAws {
    pub(super) revision: Rule,
    pub(super) rule: Rule,
    pub(super) listeners: Rule,
    pub(super) balancers: Rule,
}

impl CannedAws {
    pub(super) fn routing_to(to: &'static str, port: u16) -> CannedAws {
        let (listeners, balancers) = listener_at(port);
        CannedAws {
            revision: green_revision(),
            rule: test_rule(to),
            listeners,
            balancers,
        }
    }

    pub(super) fn clients(&self) -> Arc<AwsClients> {
        clients(&[&self.revision], &[&self.rule, &self.listeners, &self.balancers])
    }
}

pub(super) fn clients(ecs: &[&Rule], elb: &[&Rule]) -> Arc<AwsClients> {
    Arc::new(
        AwsClients::from_clients(canned::codedeploy(&[]), canned::lambda(&[]), canned::elb(elb))
            .with_ecs(canned::ecs(ecs)),
    )
}

/// One call: what ECS reads, and the cause and reason the summary line gives, as `Cause: reason`.
pub(super) async fn call(
    pairs: &[(&str, &str)],
    clients: Arc<AwsClients>,
    payload: &Value,
) -> Result<(Value, String), EcsHookError> {
    call_within(pairs, clients, payload, Duration::from_secs(30)).await
}

/// The same, for a function whose Lambda timeout is `timeout`.
async fn call_within(
    pairs: &[(&str, &str)],
    clients: Arc<AwsClients>,
    payload: &Value,
    timeout: Duration,
) -> Result<(Value, String), EcsHookError> {
    let hook = Arc::new(EcsHook::new(Arc::new(CheckSetup::new(Ok(config_from(pairs))))));
    let answer = hook.answer(clients, payload, Instant::now() + timeout).await?;
    Ok((answer.to_value(), format!("{}: {}", answer.cause, answer.reason)))
}

pub(super) async fn green(answer: u16) -> (HttpTarget, u16) {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(answer))])
        .await
        .expect("start green");
    let port = target.port();
    (target, port)
}

#[tokio::test]
async fn a_healthy_green_succeeds_through_the_test_rule_with_its_host_and_header() {
    let (target, port) = green(200).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let (answer, reason) = call(&[], aws.clients(), &payload("POST_TEST_TRAFFIC_SHIFT", None, None))
        .await
        .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert_eq!(reason, "Passed: all 1 checks passed");
    let requests = target.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/healthcheck");
    assert_eq!(
        requests[0].header("host"),
        Some(format!("{TEST_RULE_HOST}:{port}").as_str())
    );
    assert_eq!(requests[0].header(TEST_RULE_HEADER.0), Some(TEST_RULE_HEADER.1));
}

#[tokio::test]
async fn a_broken_green_fails() {
    let (target, port) = green(503).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let (answer, reason) = call(
        &[("CHECK_ATTEMPTS", "2"), ("CHECK_INTERVAL_MS", "10")],
        aws.clients(),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert!(reason.contains("status 503"), "{reason}");
    assert!(reason.starts_with("ReleaseFailed: "), "{reason}");
    assert_eq!(target.requests().len(), 2);
}

#[tokio::test]
async fn a_test_rule_still_on_blue_fails_without_a_request() {
    let (target, port) = green(200).await;
    let aws = CannedAws::routing_to(blue_group(), port);
    let (answer, reason) = call(&[], aws.clients(), &payload("PRE_SCALE_UP", None, None))
        .await
        .expect("answered");
    assert_eq!(answer["hookStatus"], "FAILED");
    assert!(reason.starts_with("Misconfigured: "), "{reason}");
    assert!(
        reason.contains("does not forward to green's target group") && reason.contains("POST_TEST_TRAFFIC_SHIFT"),
        "{reason}"
    );
    assert!(target.requests().is_empty());
    assert_eq!(
        aws.listeners.num_calls(),
        0,
        "no listener is looked up for a rule that does not reach green"
    );
}

#[tokio::test]
async fn a_rollback_succeeds_at_once_without_asking_anything() {
    // Not even a configuration that cannot be read holds a rollback up.
    let unreadable =
        crate::checks::config::Config::from_lookup(&|name| (name == "CHECK_ATTEMPTS").then(|| "lots".into()));
    assert!(unreadable.is_err());
    let hook = Arc::new(EcsHook::new(Arc::new(CheckSetup::new(unreadable))));
    // ECS rolls back through both traffic shift stages, green at 0% of production.
    for stage in ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"] {
        let (revision, rule) = (green_revision(), test_rule(green_group()));
        let answer = Arc::clone(&hook)
            .answer(
                clients(&[&revision], &[&rule]),
                &payload(stage, Some(0.0), None),
                Instant::now() + Duration::from_secs(30),
            )
            .await
            .expect("answered");
        assert_eq!(answer.to_value(), json!({"hookStatus": "SUCCEEDED"}), "{stage}");
        assert_eq!(answer.cause.to_string(), "Rollback", "{stage}");
        assert!(answer.reason.contains("rolling back"), "{stage}: {}", answer.reason);
        assert_eq!((revision.num_calls(), rule.num_calls()), (0, 0), "{stage}");
    }
}

#[tokio::test]
async fn checks_in_hook_details_are_the_services_own() {
    let target = HttpTarget::start(&[("/api/ping", Answer::Json(200, r#"{"ok": true}"#))])
        .await
        .expect("start green");
    let port = target.port();
    let aws = CannedAws::routing_to(green_group(), port);
    let details = json!({"preflight": {"checks": [{"path": "/api/ping", "expect": {"json": {"$.ok": true}}}]}});
    let (answer, reason) = call(
        &[("CHECK_PATHS", "/healthcheck")],
        aws.clients(),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, Some(details)),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert_eq!(reason, "Passed: all 1 checks passed");
    let paths: Vec<String> = target.requests().into_iter().map(|request| request.path).collect();
    assert_eq!(paths, vec!["/api/ping"]);
}

#[tokio::test]
async fn a_check_path_outside_the_rules_patterns_fails_naming_both() {
    let (target, port) = green(200).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let (answer, reason) = call(
        &[("CHECK_PATHS", "/status")],
        aws.clients(),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer["hookStatus"], "FAILED");
    assert!(
        reason.contains("/status") && reason.contains(&TEST_RULE_PATHS.join(", ")),
        "{reason}"
    );
    assert!(target.requests().is_empty());
}

#[tokio::test]
async fn an_unknown_revision_fails_and_is_not_asked_again() {
    let missing = mock!(aws_sdk_ecs::Client::describe_service_revisions).then_output(|| {
        DescribeServiceRevisionsOutput::builder()
            .failures(
                aws_sdk_ecs::types::Failure::builder()
                    .arn(&SERVICE.green_revision)
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let (answer, reason) = call(
        &[],
        clients(&[&missing], &[]),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer["hookStatus"], "FAILED");
    assert!(reason.starts_with("NotFound: "), "{reason}");
    assert!(
        reason.contains("MISSING") && reason.contains(SERVICE.green_revision.as_str()),
        "{reason}"
    );
    assert_eq!(missing.num_calls(), 1);
}

#[tokio::test]
async fn a_throttled_describe_service_revisions_is_retried() {
    let flaky = mock!(aws_sdk_ecs::Client::describe_service_revisions)
        .sequence()
        .http_response(|| canned::json_error(400, "ThrottlingException", "Rate exceeded"))
        .output(green_revision_output)
        .build();
    let (target, port) = green(200).await;
    let rule = test_rule(green_group());
    let (listeners, balancers) = listener_at(port);
    let (answer, reason) = call(
        &[],
        clients(&[&flaky], &[&rule, &listeners, &balancers]),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer["hookStatus"], "SUCCEEDED", "{reason}");
    assert_eq!(flaky.num_calls(), 2);
    assert_eq!(target.requests().len(), 1);
}

#[tokio::test]
async fn an_unreadable_payload_is_the_invocations_error() {
    let mut bad = payload("POST_TEST_TRAFFIC_SHIFT", None, None);
    bad["executionDetails"] = json!("green");
    let error = call(&[], clients(&[], &[]), &bad).await.unwrap_err();
    assert!(error.to_string().contains("`executionDetails` is a string"), "{error}");
}

/// The server name a TLS ClientHello asks for (its `server_name` extension), if it is one.
fn server_name(hello: &[u8]) -> Option<String> {
    let u16_at = |at: usize| Some(u16::from_be_bytes([*hello.get(at)?, *hello.get(at + 1)?]) as usize);
    // Record header (5), handshake header (4), version (2), random (32).
    if hello.first() != Some(&0x16) || hello.get(5) != Some(&0x01) {
        return None;
    }
    let mut at = 5 + 4 + 2 + 32;
    at += 1 + *hello.get(at)? as usize; // session id
    at += 2 + u16_at(at)?; // cipher suites
    at += 1 + *hello.get(at)? as usize; // compression methods
    let end = at + 2 + u16_at(at)?;
    at += 2;
    while at + 4 <= end {
        let (kind, length) = (u16_at(at)?, u16_at(at + 2)?);
        if kind == 0 {
            // server_name_list length (2), name type (1), name length (2), name.
            let name_length = u16_at(at + 4 + 3)?;
            let name = hello.get(at + 4 + 5..at + 4 + 5 + name_length)?;
            return String::from_utf8(name.to_vec()).ok();
        }
        at += 4 + length;
    }
    None
}

#[tokio::test]
async fn on_https_the_rules_host_is_the_tls_server_name_while_the_connection_goes_to_the_listener() {
    use tokio::io::AsyncReadExt;
    // A listener that reads the ClientHello and hangs up: enough to see the server name asked for.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("an address").port();
    let (seen, mut hello) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut bytes = vec![0; 4096];
            let read = stream.read(&mut bytes).await.unwrap_or(0);
            let _ = seen.send(bytes[..read].to_vec());
        }
    });
    let aws = CannedAws {
        listeners: listener_speaking(port, ProtocolEnum::Https).0,
        ..CannedAws::routing_to(green_group(), port)
    };
    let (answer, _) = call(
        &[("CHECK_ATTEMPTS", "1")],
        aws.clients(),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer["hookStatus"], "FAILED", "the handshake never completes");
    // The listener hung up only after passing the hello on, so it is here if a connection came.
    let hello = hello.try_recv().expect("a connection to the listener's address");
    assert_eq!(server_name(&hello).as_deref(), Some(TEST_RULE_HOST));
}

#[tokio::test]
async fn without_hook_details_a_service_selector_of_preflight_checks_chooses() {
    let target = HttpTarget::start(&[("/api/ready", Answer::Status(200))])
        .await
        .expect("start green");
    let port = target.port();
    let aws = CannedAws::routing_to(green_group(), port);
    let checks = "targets: [{service: billing, checks: [{path: /api/billing}]}, {service: check*, checks: [{path: /api/ready}]}]";
    let (answer, reason) = call(
        &[("PREFLIGHT_CHECKS", checks)],
        aws.clients(),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}), "{reason}");
    let paths: Vec<String> = target.requests().into_iter().map(|request| request.path).collect();
    assert_eq!(paths, vec!["/api/ready"], "the entry of service checkout");
}

#[tokio::test]
async fn a_canary_step_is_checked_again_through_the_test_rule() {
    let (target, port) = green(200).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let (answer, _) = call(
        &[],
        aws.clients(),
        &payload("PRODUCTION_TRAFFIC_SHIFT", Some(10.0), None),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert_eq!(target.requests().len(), 1);
}

#[tokio::test]
async fn the_emergency_skip_answers_succeeded_without_asking_anything() {
    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    let in_an_hour = DateTime::from(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .fmt(Format::DateTime)
        .expect("an RFC 3339 time");
    let aws = CannedAws::routing_to(green_group(), 1);
    let (answer, reason) = call(
        &[("PREFLIGHT_SKIP_UNTIL", &in_an_hour)],
        aws.clients(),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}));
    assert!(reason.contains("PREFLIGHT_SKIP_UNTIL"), "{reason}");
    assert!(reason.starts_with("Skipped: "), "{reason}");
    assert_eq!((aws.revision.num_calls(), aws.rule.num_calls()), (0, 0));
}

#[tokio::test]
async fn bad_checks_in_hook_details_fail_naming_the_place_without_a_request() {
    let (target, port) = green(200).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let details = json!({"preflight": {"checks": [{"path": "/healthcheck", "expect": {"stauts": 200}}]}});
    let (answer, reason) = call(
        &[],
        aws.clients(),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, Some(details)),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert!(reason.starts_with("Misconfigured: "), "{reason}");
    assert!(
        reason.contains("hookDetails.preflight.checks[0].expect") && reason.contains("stauts"),
        "{reason}"
    );
    assert!(target.requests().is_empty());
}

#[tokio::test]
async fn a_denied_describe_service_revisions_fails_as_not_permitted_saying_what_to_grant() {
    let denied = mock!(aws_sdk_ecs::Client::describe_service_revisions).then_http_response(|| {
        canned::json_error(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::1:assumed-role/hook is not authorized to perform: ecs:DescribeServiceRevisions",
        )
    });
    let (target, port) = green(200).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let (answer, reason) = call(
        &[],
        clients(&[&denied], &[&aws.rule, &aws.listeners, &aws.balancers]),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    // A missing permission is preflight's fault, not the release's.
    assert!(reason.starts_with("NotPermitted: "), "{reason}");
    assert!(reason.contains("ecs:DescribeServiceRevisions"), "{reason}");
    assert_eq!(denied.num_calls(), 1, "a denied call is not retried");
    assert!(target.requests().is_empty());
}

/// Two seconds a call and 1.5 s between attempts, each cut at 1 s: at most two attempts fit in
/// one call.
const TWO_ATTEMPTS_A_CALL: [(&str, &str); 3] = [
    ("CHECK_INTERVAL_MS", "1500"),
    ("CHECK_TIMEOUT_MS", "1000"),
    ("DEADLINE_MARGIN_MS", "200"),
];

/// Calls the hook as ECS does, each call with a two-second Lambda timeout: again after each
/// `IN_PROGRESS`, once its `callBackDelay` has passed, with the `hookDetails` it returned merged
/// into the hook's own. Returns every answer.
async fn call_until_done(attempts: &str, aws: &CannedAws) -> Vec<Value> {
    let mut pairs = vec![("CHECK_ATTEMPTS", attempts)];
    pairs.extend(TWO_ATTEMPTS_A_CALL);
    let mut answers = Vec::new();
    let mut details = json!({});
    for _ in 0..6 {
        let event = payload("POST_TEST_TRAFFIC_SHIFT", None, Some(details.clone()));
        let (answer, _) = call_within(&pairs, aws.clients(), &event, Duration::from_secs(2))
            .await
            .expect("answered");
        answers.push(answer.clone());
        if answer["hookStatus"] != "IN_PROGRESS" {
            break;
        }
        if let (Some(merged), Some(returned)) = (details.as_object_mut(), answer["hookDetails"].as_object()) {
            merged.extend(returned.clone());
        }
        tokio::time::sleep(Duration::from_secs(answer["callBackDelay"].as_u64().unwrap_or(1))).await;
    }
    answers
}

#[tokio::test(start_paused = true)]
async fn checks_that_outlast_an_invocation_continue_on_the_next_call() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::WarmingUp(3))])
        .await
        .expect("start green");
    let aws = CannedAws::routing_to(green_group(), target.port());
    let answers = call_until_done("6", &aws).await;

    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(
        answers[0],
        json!({
            "hookStatus": "IN_PROGRESS",
            // The interval, in whole seconds.
            "callBackDelay": 2,
            "hookDetails": {"preflightProgress": answers[0]["hookDetails"]["preflightProgress"]},
        })
    );
    assert_eq!(
        answers[0]["hookDetails"]["preflightProgress"]["attempts"],
        json!([2]),
        "two refusals in the first call"
    );
    assert_eq!(answers[1], json!({"hookStatus": "SUCCEEDED"}));
    assert_eq!(target.requests().len(), 4, "three refusals, then the pass");
}

#[tokio::test(start_paused = true)]
async fn the_attempts_not_the_lambda_timeout_are_the_limit() {
    let (target, port) = green(503).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let answers = call_until_done("3", &aws).await;

    let statuses: Vec<&Value> = answers.iter().map(|answer| &answer["hookStatus"]).collect();
    assert_eq!(statuses, [&json!("IN_PROGRESS"), &json!("FAILED")], "{answers:?}");
    assert_eq!(target.requests().len(), 3, "three attempts over both calls");
}

/// A Network Load Balancer's TCP test listener, as ECS names it in the revision (a listener ARN).
const NLB_LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/net/shop-nlb/4f2c8a4e1b1d2c3d/6a7b8c9d0e1f2a3b";

/// Green's revision behind the NLB; DescribeListeners of its TCP test listener on `port`, whose
/// default action forwards to `to`; and DescribeLoadBalancers at loopback.
fn behind_an_nlb(port: u16, to: &'static str) -> (Rule, Rule, Rule) {
    let revision = mock!(aws_sdk_ecs::Client::describe_service_revisions)
        .then_output(|| revision_output_testing_through(NLB_LISTENER));
    let listeners = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_listeners)
        .match_requests(|request| request.listener_arns() == [NLB_LISTENER.to_string()])
        .then_output(move || {
            DescribeListenersOutput::builder()
                .listeners(
                    Listener::builder()
                        .listener_arn(NLB_LISTENER)
                        .load_balancer_arn("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/shop-nlb/4f2c8a4e1b1d2c3d")
                        .port(i32::from(port))
                        .protocol(ProtocolEnum::Tcp)
                        .default_actions(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(to).build())
                        .build(),
                )
                .build()
        });
    let balancers = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers).then_output(|| {
        DescribeLoadBalancersOutput::builder()
            .load_balancers(Balancer::builder().dns_name(fixtures::TEST_LISTENER_DNS_NAME).build())
            .build()
    });
    (revision, listeners, balancers)
}

#[tokio::test]
async fn a_healthy_green_behind_an_nlb_succeeds_through_its_tcp_test_listener() {
    let (target, port) = green(200).await;
    let (revision, listeners, balancers) = behind_an_nlb(port, green_group());
    let (answer, reason) = call(
        &[],
        clients(&[&revision], &[&listeners, &balancers]),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "SUCCEEDED"}), "{reason}");
    let requests = target.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/healthcheck");
    assert_eq!(
        requests[0].header("host"),
        Some(format!("{}:{port}", fixtures::TEST_LISTENER_DNS_NAME).as_str()),
        "an NLB listener has no host condition: the request goes to the load balancer as it is"
    );
}

#[tokio::test]
async fn an_nlb_test_listener_still_on_blue_fails_without_a_request() {
    let (target, port) = green(200).await;
    let (revision, listeners, balancers) = behind_an_nlb(port, blue_group());
    let (answer, reason) = call(
        &[],
        clients(&[&revision], &[&listeners, &balancers]),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
    )
    .await
    .expect("answered");
    assert_eq!(answer, json!({"hookStatus": "FAILED"}));
    assert!(
        reason.starts_with("Misconfigured: the test listener arn:") && reason.contains("does not forward to green"),
        "{reason}"
    );
    assert!(target.requests().is_empty());
    assert_eq!(balancers.num_calls(), 0);
}
