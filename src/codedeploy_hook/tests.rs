//! The hook's AWS-facing decisions in process, against the SDK's own mock clients: discovery
//! (GetDeployment, then GetApplicationRevision by type and sha256), the report, what a failed
//! Invoke means, and whole invocations from payload to report. No process, no Python, no port.
//! The deployments are the stand-in's (`stand_in::fixtures`): the process-level tests run the same
//! ones through the real binary.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codedeploy::Client as CodeDeploy;
use aws_sdk_codedeploy::operation::get_application_revision::GetApplicationRevisionOutput;
use aws_sdk_codedeploy::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::PutLifecycleEventHookExecutionStatusOutput;
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentInfo, LifecycleEventStatus, RevisionLocation, RevisionLocationType, S3Location,
};
use aws_sdk_lambda::Client as Lambda;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_smithy_mocks::{Rule, mock};
use serde_json::json;
use stand_in::fixtures::{self, APPLICATION, DEPLOYMENT_GROUP, ECS_APPSPEC, FUNCTION, TARGET_VERSION};
use stand_in::{Answer, HttpTarget};
use tokio::time::Instant;

use super::deployment::{AppSpecText, DiscoveryError, discover};
use super::payload::HookEvent;
use super::report::{Delivery, send_report};
use super::{Hook, HookError};
use crate::checks::assertions::Expectations;
use crate::checks::config::Config;
use crate::checks::judge::Outcome;
use crate::checks::probe::Probe;
use crate::checks::setup::CheckSetup;
use crate::checks::verdict::Status;
use crate::checks::{Check, Request};
use crate::plumbing::aws::{AwsClients, canned};
use crate::plumbing::env::ConfigError;

mod events;

/// The deployment's AppSpec: `my-api` from version 1 to 2.
fn appspec() -> String {
    fixtures::lambda_release_appspec()
}

const SHA: &str = "5e1f6a1c0b3d8e2f";

/// GetDeployment as AWS answers it: the revision named by type and sha256 only.
/// GetDeployment of `shop/shop-web` deploying an S3 revision, whose AppSpec CodeDeploy's API does
/// not show.
pub(super) fn deployment_in_s3() -> Rule {
    mock!(CodeDeploy::get_deployment).then_output(|| {
        GetDeploymentOutput::builder()
            .deployment_info(
                DeploymentInfo::builder()
                    .application_name("shop")
                    .deployment_group_name("shop-web")
                    .revision(
                        RevisionLocation::builder()
                            .revision_type(RevisionLocationType::S3)
                            .s3_location(S3Location::builder().bucket("releases").key("shop.zip").build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

pub(super) fn deployment_named_by_sha() -> Rule {
    deployment_described(None)
}

/// GetDeployment of a deployment created with `--description`.
fn deployment_described(description: Option<&'static str>) -> Rule {
    mock!(CodeDeploy::get_deployment)
        .match_requests(|request| request.deployment_id() == Some("d-1"))
        .then_output(move || deployment_output(description))
}

/// GetDeployment's answer for `d-1`, its revision named by type and sha256.
fn deployment_output(description: Option<&'static str>) -> GetDeploymentOutput {
    GetDeploymentOutput::builder()
        .deployment_info(
            DeploymentInfo::builder()
                .application_name(APPLICATION)
                .deployment_group_name(DEPLOYMENT_GROUP)
                .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Lambda)
                .set_description(description.map(str::to_string))
                .revision(
                    RevisionLocation::builder()
                        .revision_type(RevisionLocationType::AppSpecContent)
                        .app_spec_content(AppSpecContent::builder().sha256(SHA).build())
                        .build(),
                )
                .build(),
        )
        .build()
}

/// GetApplicationRevision that answers only for the deployment's application, type and sha256.
pub(super) fn revision_by_sha() -> Rule {
    revision_holding(appspec())
}

/// GetApplicationRevision returning `appspec` for the deployment's revision.
pub(super) fn revision_holding(appspec: impl Into<String>) -> Rule {
    let appspec: String = appspec.into();
    mock!(CodeDeploy::get_application_revision)
        .match_requests(|request| {
            let revision = request.revision();
            request.application_name() == Some(APPLICATION)
                && revision.and_then(|r| r.revision_type()) == Some(&RevisionLocationType::AppSpecContent)
                && revision.and_then(|r| r.app_spec_content()).and_then(|c| c.sha256()) == Some(SHA)
        })
        .then_output(move || {
            GetApplicationRevisionOutput::builder()
                .application_name(APPLICATION)
                .revision(
                    RevisionLocation::builder()
                        .revision_type(RevisionLocationType::AppSpecContent)
                        .app_spec_content(AppSpecContent::builder().content(appspec.clone()).sha256(SHA).build())
                        .build(),
                )
                .build()
        })
}

pub(super) fn report_accepted(status: LifecycleEventStatus) -> Rule {
    mock!(CodeDeploy::put_lifecycle_event_hook_execution_status)
        .match_requests(move |request| {
            request.deployment_id() == Some("d-1")
                && request.lifecycle_event_hook_execution_id() == Some("exec-1")
                && request.status() == Some(&status)
        })
        .then_output(|| PutLifecycleEventHookExecutionStatusOutput::builder().build())
}

pub(super) fn invoke_answering(status_code: u16) -> Rule {
    mock!(Lambda::invoke)
        .match_requests(|request| {
            request.function_name() == Some(FUNCTION) && request.qualifier() == Some(TARGET_VERSION)
        })
        .then_output(move || {
            InvokeOutput::builder()
                .status_code(200)
                .payload(Blob::new(json!({"statusCode": status_code}).to_string()))
                .build()
        })
}

fn event() -> HookEvent {
    serde_json::from_value(json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"}))
        .expect("a hook event")
}

fn config(pairs: &[(&str, &str)]) -> Config {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(&|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).expect("config")
}

#[tokio::test]
async fn discovery_fetches_the_appspec_by_the_revisions_type_and_sha256() {
    let (deployment, revision) = (deployment_named_by_sha(), revision_by_sha());
    let facts = discover(&canned::codedeploy(&[&deployment, &revision]), "d-1")
        .await
        .expect("discovered");
    assert_eq!(facts.application, APPLICATION);
    assert_eq!(facts.group, DEPLOYMENT_GROUP);
    assert_eq!(facts.appspec, AppSpecText::Content(appspec()));
    assert_eq!(revision.num_calls(), 1);
}

#[tokio::test]
#[allow(deprecated)] // `RawString`: older tools still create String revisions.
async fn a_string_revision_is_fetched_by_its_type_and_sha256_too() {
    use aws_sdk_codedeploy::types::RawString;
    let string_revision = |content: Option<&str>| {
        RevisionLocation::builder()
            .revision_type(RevisionLocationType::String)
            .string(
                RawString::builder()
                    .set_content(content.map(str::to_string))
                    .sha256(SHA)
                    .build(),
            )
            .build()
    };
    let deployment = mock!(CodeDeploy::get_deployment).then_output(move || {
        GetDeploymentOutput::builder()
            .deployment_info(
                DeploymentInfo::builder()
                    .application_name(APPLICATION)
                    .revision(string_revision(None))
                    .build(),
            )
            .build()
    });
    let revision = mock!(CodeDeploy::get_application_revision)
        .match_requests(|request| {
            let revision = request.revision();
            revision.and_then(|r| r.revision_type()) == Some(&RevisionLocationType::String)
                && revision.and_then(|r| r.string()).and_then(|s| s.sha256()) == Some(SHA)
        })
        .then_output(move || {
            GetApplicationRevisionOutput::builder()
                .revision(string_revision(Some(&appspec())))
                .build()
        });
    let facts = discover(&canned::codedeploy(&[&deployment, &revision]), "d-1")
        .await
        .expect("discovered");
    assert_eq!(facts.appspec, AppSpecText::Content(appspec()));
    assert_eq!(revision.num_calls(), 1);
}

#[tokio::test]
async fn an_s3_revision_is_not_looked_up() {
    let deployment = deployment_in_s3();
    let revision = revision_by_sha();
    let facts = discover(&canned::codedeploy(&[&deployment, &revision]), "d-1")
        .await
        .expect("discovered");
    assert_eq!(facts.appspec, AppSpecText::Elsewhere("an S3 revision".into()));
    assert_eq!(revision.num_calls(), 0);
}

#[tokio::test]
async fn a_denied_get_deployment_is_not_retried_and_names_the_permission() {
    let denied = mock!(CodeDeploy::get_deployment).then_http_response(|| {
        canned::json_error(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::1:assumed-role/hook is not authorized",
        )
    });
    let error = discover(&canned::codedeploy(&[&denied]), "d-1").await.unwrap_err();
    let DiscoveryError::Aws(aws) = &error else {
        panic!("expected an AWS error: {error:?}");
    };
    assert_eq!(aws.code(), Some("AccessDeniedException"));
    assert!(!aws.retry_can_help());
    assert_eq!(denied.num_calls(), 1, "the SDK must not retry a refusal");
    assert!(
        error
            .to_string()
            .ends_with("grant this function's role codedeploy:GetDeployment"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttled_get_deployment_is_retried_by_the_sdk() {
    let flaky = mock!(CodeDeploy::get_deployment)
        .sequence()
        .http_response(|| canned::json_error(400, "ThrottlingException", "Rate exceeded"))
        .times(2)
        .output(|| {
            GetDeploymentOutput::builder()
                .deployment_info(DeploymentInfo::builder().application_name(APPLICATION).build())
                .build()
        })
        .build();
    let error = discover(&canned::codedeploy(&[&flaky]), "d-1").await.unwrap_err();
    // Through the throttling to the answer, which has no revision.
    assert_eq!(flaky.num_calls(), 3);
    assert!(matches!(error, DiscoveryError::NoRevision { .. }), "{error:?}");
}

#[tokio::test]
async fn an_unknown_revision_says_so() {
    let deployment = deployment_named_by_sha();
    let missing = mock!(CodeDeploy::get_application_revision).then_http_response(|| {
        canned::json_error(
            400,
            "RevisionDoesNotExistException",
            "The named revision does not exist",
        )
    });
    let error = discover(&canned::codedeploy(&[&deployment, &missing]), "d-1")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("CodeDeploy has no revision with the deployment's sha256 in application my-app"),
        "{error}"
    );
}

#[tokio::test]
async fn the_report_carries_the_ids_and_status_and_a_duplicate_is_already_reported() {
    let accepted = report_accepted(LifecycleEventStatus::Failed);
    let delivery = send_report(&canned::codedeploy(&[&accepted]), &event(), Status::Failed).await;
    assert_eq!(delivery, Ok(Delivery::Accepted));
    assert_eq!(accepted.num_calls(), 1);

    let duplicate = mock!(CodeDeploy::put_lifecycle_event_hook_execution_status)
        .then_http_response(|| canned::json_error(400, "LifecycleEventAlreadyCompletedException", "already completed"));
    let delivery = send_report(&canned::codedeploy(&[&duplicate]), &event(), Status::Succeeded).await;
    assert_eq!(delivery, Ok(Delivery::AlreadyReported));

    let denied = mock!(CodeDeploy::put_lifecycle_event_hook_execution_status)
        .then_http_response(|| canned::json_error(400, "AccessDeniedException", "not authorized"));
    let error = send_report(&canned::codedeploy(&[&denied]), &event(), Status::Succeeded)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("grant this function's role codedeploy:PutLifecycleEventHookExecutionStatus"),
        "{error}"
    );
}

fn lambda_check() -> Check {
    let config = config(&[]);
    Check {
        request: Request::Lambda {
            function: FUNCTION.into(),
            version: TARGET_VERSION.into(),
            path: None,
            format: None,
            payload: json!({"ping": true}),
        },
        expect: Arc::new(Expectations::status_only(config.expected)),
        patience: config.patience,
    }
}

#[tokio::test]
async fn what_a_failed_invoke_means_for_the_check() {
    type Case = (u16, &'static str, bool, &'static str);
    let cases: [Case; 4] = [
        (403, "AccessDeniedException", false, "InvokeTargetArns"),
        (
            404,
            "ResourceNotFoundException",
            false,
            "function my-api has no version 2",
        ),
        (429, "TooManyRequestsException", true, "TooManyRequestsException"),
        (500, "ServiceException", true, "ServiceException"),
    ];
    for (status, code, worth_retrying, says) in cases {
        let failing = mock!(Lambda::invoke).then_http_response(move || canned::rest_error(status, code, "from Lambda"));
        let probe = Probe::new(&config(&[]), canned::lambda(&[&failing])).expect("probe");
        let judgement = probe.attempt(&lambda_check()).await;
        let reason = judgement.failure().unwrap_or_default().to_string();
        assert_eq!(judgement.worth_retrying(), worth_retrying, "{code}: {reason}");
        assert_eq!(
            judgement.outcome(),
            Outcome::Error,
            "{code}: no answer to judge is an error"
        );
        assert!(reason.contains(says), "{code}: {reason}");
        assert_eq!(
            failing.num_calls(),
            1,
            "{code}: the Lambda client must not retry by itself"
        );
    }
}

#[tokio::test]
async fn a_function_error_is_worth_another_attempt_and_a_good_answer_passes() {
    let function_error = mock!(Lambda::invoke).then_output(|| {
        InvokeOutput::builder()
            .status_code(200)
            .function_error("Unhandled")
            .payload(Blob::new(r#"{"errorType":"Boom","errorMessage":"no database"}"#))
            .build()
    });
    let probe = Probe::new(&config(&[]), canned::lambda(&[&function_error])).expect("probe");
    let judgement = probe.attempt(&lambda_check()).await;
    assert!(judgement.worth_retrying());
    assert_eq!(
        judgement.outcome(),
        Outcome::Failure,
        "the function answered: a failure"
    );
    assert_eq!(
        judgement.failure(),
        Some("function error (Unhandled): Boom: no database")
    );

    let healthy = invoke_answering(200);
    let probe = Probe::new(&config(&[]), canned::lambda(&[&healthy])).expect("probe");
    assert!(probe.attempt(&lambda_check()).await.passed());
}

fn clients(codedeploy: &[&Rule], lambda: &[&Rule]) -> Arc<AwsClients> {
    Arc::new(AwsClients::from_clients(
        canned::codedeploy(codedeploy),
        canned::lambda(lambda),
        canned::elb(&[]),
    ))
}

/// A hook on its own check set-up, as the router would build it with this configuration.
pub(super) fn hook_with(config: Result<Config, ConfigError>) -> Hook {
    Hook::new(Arc::new(CheckSetup::new(config)))
}

pub(super) async fn run(hook: Hook, clients: Arc<AwsClients>) -> Result<serde_json::Value, HookError> {
    let payload = json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"});
    Arc::new(hook)
        .handle(clients, &payload, Instant::now() + Duration::from_secs(30))
        .await
}

#[tokio::test]
async fn a_healthy_version_is_reported_succeeded_in_process() {
    let (deployment, revision, healthy) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(200));
    let report = report_accepted(LifecycleEventStatus::Succeeded);
    let answer = run(
        hook_with(Ok(config(&[]))),
        clients(&[&deployment, &revision, &report], &[&healthy]),
    )
    .await
    .expect("reported");
    assert_eq!(answer["status"], "Succeeded");
    assert_eq!(answer["cause"], "Passed");
    assert_eq!(answer["report"], "accepted");
    assert_eq!((healthy.num_calls(), report.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_denied_invoke_is_reported_failed_after_one_call_saying_what_to_grant() {
    let (deployment, revision) = (deployment_named_by_sha(), revision_by_sha());
    let denied = mock!(Lambda::invoke).then_http_response(|| {
        canned::rest_error(
            403,
            "AccessDeniedException",
            "User: arn:aws:sts::1:assumed-role/hook is not authorized to perform: lambda:InvokeFunction",
        )
    });
    let report = report_accepted(LifecycleEventStatus::Failed);
    let hook = hook_with(Ok(config(&[("CHECK_ATTEMPTS", "3"), ("CHECK_INTERVAL_MS", "0")])));
    let answer = run(hook, clients(&[&deployment, &revision, &report], &[&denied]))
        .await
        .expect("reported");
    assert_eq!(answer["status"], "Failed");
    assert_eq!(
        answer["cause"], "NotPermitted",
        "a missing permission is preflight's, not the release's"
    );
    assert_eq!(
        denied.num_calls(),
        1,
        "an invocation that was denied is not tried again"
    );
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("tag function my-api preflight:check=true"), "{reason}");
    assert!(reason.contains("InvokeTargetArns"), "{reason}");
}

#[tokio::test]
async fn a_bad_configuration_is_reported_failed_without_asking_aws_anything_else() {
    let report = report_accepted(LifecycleEventStatus::Failed);
    let bad = Config::from_lookup(&|name| (name == "CHECK_ATTEMPTS").then(|| "lots".to_string()));
    let answer = run(hook_with(bad), clients(&[&report], &[])).await.expect("reported");
    assert_eq!(answer["status"], "Failed");
    assert_eq!(answer["cause"], "Misconfigured");
    assert!(answer["reason"].as_str().unwrap_or_default().contains("CHECK_ATTEMPTS"));
}

#[tokio::test]
async fn an_undeliverable_report_fails_the_invocation() {
    let (deployment, revision, healthy) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(200));
    let unknown = mock!(CodeDeploy::put_lifecycle_event_hook_execution_status).then_http_response(|| {
        canned::json_error(
            400,
            "InvalidLifecycleEventHookExecutionIdException",
            "unknown hook execution",
        )
    });
    let error = run(
        hook_with(Ok(config(&[]))),
        clients(&[&deployment, &revision, &unknown], &[&healthy]),
    )
    .await
    .unwrap_err();
    let HookError::ReportNotDelivered(super::ReportFailure::Aws(aws)) = &error else {
        panic!("expected an undelivered report: {error}");
    };
    assert_eq!(aws.code(), Some("InvalidLifecycleEventHookExecutionIdException"));
}

#[tokio::test]
async fn a_deployment_described_skip_preflight_is_reported_succeeded_without_an_invoke() {
    let (deployment, revision) = (
        deployment_described(Some("rollback [Skip Preflight]")),
        revision_by_sha(),
    );
    let broken = invoke_answering(500);
    let report = report_accepted(LifecycleEventStatus::Succeeded);
    let answer = run(
        hook_with(Ok(config(&[]))),
        clients(&[&deployment, &revision, &report], &[&broken]),
    )
    .await
    .expect("reported");
    assert_eq!(answer["status"], "Succeeded");
    assert_eq!(answer["cause"], "Skipped");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("[skip preflight]"),
        "{answer}"
    );
    assert_eq!((broken.num_calls(), report.num_calls()), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn the_description_directive_stops_http_checks_already_under_way() {
    // A listener that never accepts: each request hangs until its timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let alb_url = silent.local_addr().expect("address").to_string();
    let (deployment, revision) = (deployment_described(Some("[skip preflight]")), revision_by_sha());
    let report = report_accepted(LifecycleEventStatus::Succeeded);
    let hook = hook_with(Ok(config(&[("ALB_URL", &alb_url), ("CHECK_TIMEOUT_MS", "25000")])));
    let started = Instant::now();
    let answer = run(hook, clients(&[&deployment, &revision, &report], &[]))
        .await
        .expect("reported");
    assert_eq!(answer["status"], "Succeeded");
    // On the paused clock: had the hanging check been left to run, its 25 s would have passed.
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the check under way was not stopped: {:?}",
        started.elapsed()
    );
    drop(silent);
}

/// GetDeploymentGroup of an ECS group (service `checkout`), whose test traffic route is the
/// stand-in's first test listener when `with_test_listener`.
fn ecs_group(with_test_listener: bool) -> Rule {
    use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput;
    let test_listener = with_test_listener.then(|| fixtures::test_listener(1));
    mock!(CodeDeploy::get_deployment_group)
        .match_requests(|request| {
            request.application_name() == Some(APPLICATION) && request.deployment_group_name() == Some(DEPLOYMENT_GROUP)
        })
        .then_output(move || {
            GetDeploymentGroupOutput::builder()
                .deployment_group_info(canned::ecs_deployment_group(test_listener.as_deref()))
                .build()
        })
}

/// DescribeListeners and DescribeLoadBalancers for the stand-in's first test listener, an HTTP
/// listener on `port` of a load balancer at loopback.
fn test_listener_at(port: i32) -> (Rule, Rule) {
    test_listener_speaking(port, aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
}

/// The same with the listener's `protocol` (an NLB's test listener is `TCP` or `TLS`).
fn test_listener_speaking(port: i32, protocol: aws_sdk_elasticloadbalancingv2::types::ProtocolEnum) -> (Rule, Rule) {
    use aws_sdk_elasticloadbalancingv2::Client as Elb;
    use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
    use aws_sdk_elasticloadbalancingv2::types::LoadBalancer;
    let listeners = mock!(Elb::describe_listeners)
        .match_requests(|request| request.listener_arns() == [fixtures::test_listener(1)])
        .then_output(move || test_listener_output_speaking(port, protocol.clone()));
    let balancers = mock!(Elb::describe_load_balancers)
        .match_requests(|request| request.load_balancer_arns() == [fixtures::load_balancer(1)])
        .then_output(move || {
            DescribeLoadBalancersOutput::builder()
                .load_balancers(
                    LoadBalancer::builder()
                        .load_balancer_arn(fixtures::load_balancer(1))
                        .dns_name(fixtures::TEST_LISTENER_DNS_NAME)
                        .build(),
                )
                .build()
        });
    (listeners, balancers)
}

/// DescribeListeners' answer for the stand-in's first test listener: HTTP on `port`.
fn test_listener_output(
    port: i32,
) -> aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput {
    test_listener_output_speaking(port, aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
}

/// The same with the listener's `protocol`.
fn test_listener_output_speaking(
    port: i32,
    protocol: aws_sdk_elasticloadbalancingv2::types::ProtocolEnum,
) -> aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput {
    use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
    use aws_sdk_elasticloadbalancingv2::types::Listener;
    DescribeListenersOutput::builder()
        .listeners(
            Listener::builder()
                .listener_arn(fixtures::test_listener(1))
                .load_balancer_arn(fixtures::load_balancer(1))
                .port(port)
                .protocol(protocol)
                .build(),
        )
        .build()
}

fn ecs_clients(codedeploy: &[&Rule], elb: &[&Rule]) -> Arc<AwsClients> {
    Arc::new(AwsClients::from_clients(
        canned::codedeploy(codedeploy),
        canned::lambda(&[]),
        canned::elb(elb),
    ))
}

#[tokio::test]
async fn an_ecs_deployment_is_checked_through_the_test_listener_its_group_names_an_albs_or_an_nlbs() {
    use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;
    // An ALB's HTTP listener, and a Network Load Balancer's TCP one, which passes HTTP through.
    for protocol in [ProtocolEnum::Http, ProtocolEnum::Tcp] {
        let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
            .await
            .expect("start the HTTP target");
        let port = i32::from(target.port());
        let (deployment, revision) = (deployment_named_by_sha(), revision_holding(ECS_APPSPEC));
        let group = ecs_group(true);
        let (listeners, balancers) = test_listener_speaking(port, protocol.clone());
        let report = report_accepted(LifecycleEventStatus::Succeeded);
        let answer = run(
            hook_with(Ok(config(&[]))),
            ecs_clients(&[&deployment, &revision, &group, &report], &[&listeners, &balancers]),
        )
        .await
        .expect("reported");
        assert_eq!(answer["status"], "Succeeded", "{protocol:?}: {answer}");
        let requests = target.requests();
        assert_eq!(requests.len(), 1, "{protocol:?}");
        assert_eq!(requests[0].path, "/healthcheck");
        assert_eq!(
            (group.num_calls(), listeners.num_calls(), balancers.num_calls()),
            (1, 1, 1)
        );
    }
}

#[tokio::test]
async fn an_ecs_group_without_a_test_route_is_reported_failed_saying_what_to_add() {
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(ECS_APPSPEC));
    let group = ecs_group(false);
    let (listeners, balancers) = test_listener_at(1);
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(
        hook_with(Ok(config(&[]))),
        ecs_clients(&[&deployment, &revision, &group, &report], &[&listeners, &balancers]),
    )
    .await
    .expect("reported");
    assert_eq!(answer["status"], "Failed");
    assert_eq!(answer["cause"], "Misconfigured");
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("my-app/my-app-live has no test traffic route") && reason.contains("set ALB_URL"),
        "{reason}"
    );
    assert_eq!((listeners.num_calls(), report.num_calls()), (0, 1));
}

#[tokio::test]
async fn a_missing_test_listener_is_reported_failed_with_elbv2_s_code() {
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(ECS_APPSPEC));
    let group = ecs_group(true);
    let missing = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_listeners)
        .then_http_response(|| canned::query_error(400, "ListenerNotFound", "One or more listeners not found"));
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(
        hook_with(Ok(config(&[]))),
        ecs_clients(&[&deployment, &revision, &group, &report], &[&missing]),
    )
    .await
    .expect("reported");
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("NotFound"))
    );
    assert!(
        reason.contains("ListenerNotFound")
            && reason.contains(&format!("{} does not exist", fixtures::test_listener(1))),
        "{reason}"
    );
    assert_eq!(missing.num_calls(), 1, "a missing listener is not asked for again");
}

#[tokio::test]
async fn alb_url_wins_and_the_group_is_not_asked() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start the HTTP target");
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(ECS_APPSPEC));
    let group = ecs_group(true);
    let report = report_accepted(LifecycleEventStatus::Succeeded);
    let answer = run(
        hook_with(Ok(config(&[("ALB_URL", &target.host_port())]))),
        ecs_clients(&[&deployment, &revision, &group, &report], &[]),
    )
    .await
    .expect("reported");
    assert_eq!(answer["status"], "Succeeded");
    assert_eq!(group.num_calls(), 0);
}

#[tokio::test]
async fn a_denied_get_deployment_is_reported_failed_as_not_permitted() {
    let denied = mock!(CodeDeploy::get_deployment)
        .then_http_response(|| canned::json_error(400, "AccessDeniedException", "not authorized"));
    let (report, healthy) = (report_accepted(LifecycleEventStatus::Failed), invoke_answering(200));
    let answer = run(hook_with(Ok(config(&[]))), clients(&[&denied, &report], &[&healthy]))
        .await
        .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("NotPermitted"))
    );
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("GetDeployment failed: AccessDeniedException"),
        "{reason}"
    );
    assert_eq!(healthy.num_calls(), 0, "nothing can be checked without the AppSpec");
    assert_eq!(report.num_calls(), 1);
}

#[tokio::test]
async fn a_release_that_fails_its_checks_is_the_releases_cause_after_every_attempt() {
    let (deployment, revision, broken) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(500));
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(
        hook_with(Ok(config(&[("CHECK_ATTEMPTS", "2"), ("CHECK_INTERVAL_MS", "0")]))),
        clients(&[&deployment, &revision, &report], &[&broken]),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("ReleaseFailed"))
    );
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("status 500, expected 200-399"), "{reason}");
    assert_eq!(broken.num_calls(), 2, "every attempt was made");
}

/// An Invoke as [`invoke_recording`] saw it: function, qualifier and the event sent.
type Invoked = (String, String, serde_json::Value);

/// Invoke answering, with status 200, whatever `reply` makes of each call's function, version and
/// event; keeps what was sent.
fn invoke_recording(
    reply: impl Fn(&str, &str, &serde_json::Value) -> serde_json::Value + Send + Sync + 'static,
) -> (Rule, Arc<Mutex<Vec<Invoked>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let rule = mock!(Lambda::invoke).then_compute_output(move |request| {
        let function = request.function_name().unwrap_or_default().to_string();
        let version = request.qualifier().unwrap_or_default().to_string();
        let event = request
            .payload()
            .and_then(|blob| serde_json::from_slice(blob.as_ref()).ok())
            .unwrap_or_default();
        let answer = reply(&function, &version, &event);
        record.lock().expect("the record").push((function, version, event));
        InvokeOutput::builder()
            .status_code(200)
            .payload(Blob::new(answer.to_string()))
            .build()
    });
    (rule, seen)
}

#[tokio::test]
async fn every_function_and_path_is_checked_and_one_bad_pair_fails_the_deployment() {
    let appspec = stand_in::kit::lambda_appspec(&[("orders", "3", "4"), ("payments", "8", "9")]);
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(appspec));
    // The functions answer by the event's path: payments' /ready is broken.
    let (invoke, seen) = invoke_recording(|function, _, event| {
        let broken = function == "payments" && event["path"] == "/ready";
        json!({"statusCode": if broken { 500 } else { 200 }})
    });
    let report = report_accepted(LifecycleEventStatus::Failed);
    let hook = hook_with(Ok(config(&[
        ("CHECK_PATHS", "/healthcheck,/ready"),
        ("CHECK_ATTEMPTS", "1"),
    ])));
    let answer = run(hook, clients(&[&deployment, &revision, &report], &[&invoke]))
        .await
        .expect("reported");
    assert_eq!(answer["status"], "Failed");
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("1 of 4 checks failed: payments:9 /ready: status 500"),
        "{reason}"
    );
    let mut invoked: Vec<String> = seen
        .lock()
        .expect("the record")
        .iter()
        .map(|(function, version, event)| format!("{function}:{version} {}", event["path"].as_str().unwrap_or("?")))
        .collect();
    invoked.sort();
    assert_eq!(
        invoked,
        [
            "orders:4 /healthcheck",
            "orders:4 /ready",
            "payments:9 /healthcheck",
            "payments:9 /ready"
        ]
    );
}

#[tokio::test]
async fn each_event_format_reaches_the_function_in_its_own_shape() {
    /// The configuration, what the function answers, and the shape its event must have.
    type Case = (
        &'static [(&'static str, &'static str)],
        serde_json::Value,
        fn(&serde_json::Value) -> bool,
    );
    let cases: [Case; 4] = [
        (&[], json!({"statusCode": 200}), |event| {
            event["httpMethod"] == "GET"
                && event["path"] == "/healthcheck"
                && event["requestContext"]["httpMethod"] == "GET"
        }),
        // An HTTP API's function may answer a bare JSON document: that is a 200.
        (&[("EVENT_FORMAT", "apigw-v2")], json!({"healthy": true}), |event| {
            event["version"] == "2.0" && event["rawPath"] == "/healthcheck"
        }),
        (&[("EVENT_FORMAT", "alb")], json!({"statusCode": 200}), |event| {
            event["requestContext"]["elb"]["targetGroupArn"].is_string() && event["path"] == "/healthcheck"
        }),
        // A raw payload goes as it is, and any answer without a function error passes.
        (
            &[("CHECK_PAYLOAD", r#"{"action": "selftest"}"#)],
            json!({"ok": true}),
            |event| *event == json!({"action": "selftest"}),
        ),
    ];
    for (pairs, reply, shape) in cases {
        let (deployment, revision) = (deployment_named_by_sha(), revision_by_sha());
        let (invoke, seen) = invoke_recording(move |_, _, _| reply.clone());
        let report = report_accepted(LifecycleEventStatus::Succeeded);
        let answer = run(
            hook_with(Ok(config(pairs))),
            clients(&[&deployment, &revision, &report], &[&invoke]),
        )
        .await
        .expect("reported");
        assert_eq!(answer["status"], "Succeeded", "{pairs:?}: {answer}");
        let seen = seen.lock().expect("the record");
        assert_eq!(seen.len(), 1, "{pairs:?}");
        let (function, version, event) = &seen[0];
        assert_eq!((function.as_str(), version.as_str()), (FUNCTION, TARGET_VERSION));
        assert!(shape(event), "{pairs:?}: {event}");
    }
}

#[tokio::test]
async fn an_s3_revision_without_alb_url_is_reported_failed_saying_what_to_set() {
    let deployment = deployment_in_s3();
    let (revision, report) = (revision_by_sha(), report_accepted(LifecycleEventStatus::Failed));
    let answer = run(
        hook_with(Ok(config(&[]))),
        clients(&[&deployment, &revision, &report], &[]),
    )
    .await
    .expect("reported");
    assert_eq!(answer["status"], "Failed");
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("an S3 revision") && reason.contains("set ALB_URL"),
        "{reason}"
    );
    assert_eq!(revision.num_calls(), 0);
}

#[tokio::test]
async fn an_unreadable_appspec_is_reported_failed_saying_why() {
    let deployment = deployment_named_by_sha();
    let revision = revision_holding("Resources:\n  - fn: {Type: AWS::Lambda::Function}\n");
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(
        hook_with(Ok(config(&[]))),
        clients(&[&deployment, &revision, &report], &[]),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("Misconfigured"))
    );
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("has no `Name`"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn codedeploy_server_errors_are_retried_by_the_sdk() {
    let flaky = mock!(CodeDeploy::get_deployment)
        .sequence()
        .http_response(|| canned::json_error(500, "InternalFailure", "unknown error"))
        .times(2)
        .output(|| deployment_output(None))
        .build();
    let (revision, healthy) = (revision_by_sha(), invoke_answering(200));
    let report = report_accepted(LifecycleEventStatus::Succeeded);
    let answer = run(
        hook_with(Ok(config(&[]))),
        clients(&[&flaky, &revision, &report], &[&healthy]),
    )
    .await
    .expect("reported");
    assert_eq!(answer["status"], "Succeeded", "{answer}");
    assert_eq!(flaky.num_calls(), 3, "two server errors, then the answer");
}

#[tokio::test(start_paused = true)]
async fn a_throttled_report_is_retried_until_accepted() {
    let (deployment, revision, healthy) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(200));
    let report = mock!(CodeDeploy::put_lifecycle_event_hook_execution_status)
        .sequence()
        .http_response(|| canned::json_error(400, "ThrottlingException", "Rate exceeded"))
        .times(2)
        .output(|| PutLifecycleEventHookExecutionStatusOutput::builder().build())
        .build();
    let answer = run(
        hook_with(Ok(config(&[]))),
        clients(&[&deployment, &revision, &report], &[&healthy]),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["report"]),
        (&json!("Succeeded"), &json!("accepted"))
    );
    assert_eq!(report.num_calls(), 3);
}

#[tokio::test]
async fn a_second_delivery_of_a_reported_execution_is_already_reported() {
    let (deployment, revision, healthy) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(200));
    let completed = mock!(CodeDeploy::put_lifecycle_event_hook_execution_status).then_http_response(|| {
        canned::json_error(
            400,
            "LifecycleEventAlreadyCompletedException",
            "An attempt to return the status of an already completed lifecycle event occurred.",
        )
    });
    let answer = run(
        hook_with(Ok(config(&[]))),
        clients(&[&deployment, &revision, &completed], &[&healthy]),
    )
    .await
    .expect("an answer, not an error: the execution is reported");
    assert_eq!(answer["report"], "already_reported");
    assert_eq!(completed.num_calls(), 1, "a completed execution is not reported again");
}

/// GetDeployment and GetApplicationRevision of a deployment of the ECS AppSpec.
fn ecs_deployment() -> (Rule, Rule) {
    (deployment_named_by_sha(), revision_holding(ECS_APPSPEC))
}

#[tokio::test]
async fn every_path_is_checked_through_alb_url_and_only_the_bad_one_is_named() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200)), ("/ready", Answer::Status(503))])
        .await
        .expect("start the HTTP target");
    let (deployment, revision) = ecs_deployment();
    let report = report_accepted(LifecycleEventStatus::Failed);
    let alb_url = target.host_port();
    let hook = hook_with(Ok(config(&[
        ("ALB_URL", &alb_url),
        ("CHECK_PATHS", "/healthcheck,/ready"),
        ("CHECK_INTERVAL_MS", "0"),
    ])));
    let answer = run(hook, ecs_clients(&[&deployment, &revision, &report], &[]))
        .await
        .expect("reported");
    assert_eq!(answer["status"], "Failed");
    let paths: Vec<String> = target.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.iter().filter(|p| *p == "/healthcheck").count(), 1, "{paths:?}");
    assert_eq!(paths.iter().filter(|p| *p == "/ready").count(), 3, "{paths:?}");
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("/ready: status 503"), "{reason}");
    assert!(!reason.contains("/healthcheck"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_http_target_is_cut_by_the_check_timeout() {
    // A listener that never accepts: each request hangs until its timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let alb_url = silent.local_addr().expect("address").to_string();
    let (deployment, revision) = ecs_deployment();
    let report = report_accepted(LifecycleEventStatus::Failed);
    let hook = hook_with(Ok(config(&[
        ("ALB_URL", &alb_url),
        ("CHECK_TIMEOUT_MS", "200"),
        ("CHECK_ATTEMPTS", "2"),
    ])));
    let answer = run(hook, ecs_clients(&[&deployment, &revision, &report], &[]))
        .await
        .expect("reported");
    assert_eq!(answer["status"], "Failed");
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("no answer within 200 ms"), "{reason}");
    drop(silent);
}

#[tokio::test]
async fn a_failed_lookup_still_fails_http_checks_that_passed() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start the HTTP target");
    let denied = mock!(CodeDeploy::get_deployment)
        .then_http_response(|| canned::json_error(400, "AccessDeniedException", "not authorized"));
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(
        hook_with(Ok(config(&[("ALB_URL", &target.host_port())]))),
        ecs_clients(&[&denied, &report], &[]),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("NotPermitted"))
    );
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("GetDeployment failed: AccessDeniedException"),
        "{reason}"
    );
    assert_eq!(target.requests().len(), 1, "the check ran alongside the lookup");
}

#[tokio::test]
async fn an_ecs_service_failing_through_the_found_listener_is_reported_failed() {
    let target = HttpTarget::start(&[("/ready", Answer::Status(503))])
        .await
        .expect("start the HTTP target");
    let port = target.port();
    let (deployment, revision) = ecs_deployment();
    let group = ecs_group(true);
    let (listeners, balancers) = test_listener_at(i32::from(port));
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(
        hook_with(Ok(config(&[("CHECK_PATHS", "/ready"), ("CHECK_INTERVAL_MS", "0")]))),
        ecs_clients(&[&deployment, &revision, &group, &report], &[&listeners, &balancers]),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("ReleaseFailed"))
    );
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("http://127.0.0.1:{port}/ready: status 503")),
        "{reason}"
    );
    assert_eq!(target.requests().len(), 3, "every attempt went to the found listener");
}

#[tokio::test(start_paused = true)]
async fn a_throttled_listener_lookup_is_retried_and_a_denied_one_is_not() {
    use aws_sdk_elasticloadbalancingv2::Client as Elb;
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start the HTTP target");
    let port = i32::from(target.port());
    let (_, balancers) = test_listener_at(port);
    let throttled = mock!(Elb::describe_listeners)
        .sequence()
        .http_response(|| canned::query_error(400, "Throttling", "Rate exceeded"))
        .output(move || test_listener_output(port))
        .build();
    let denied = mock!(Elb::describe_listeners).then_http_response(|| {
        canned::query_error(
            403,
            "AccessDenied",
            "User: arn:aws:sts::1:assumed-role/hook is not authorized to perform: elasticloadbalancing:DescribeListeners",
        )
    });
    let mut answers = Vec::new();
    for (listeners, reported) in [
        (&throttled, LifecycleEventStatus::Succeeded),
        (&denied, LifecycleEventStatus::Failed),
    ] {
        let (deployment, revision) = ecs_deployment();
        let (group, report) = (ecs_group(true), report_accepted(reported));
        let answer = run(
            hook_with(Ok(config(&[]))),
            ecs_clients(&[&deployment, &revision, &group, &report], &[listeners, &balancers]),
        )
        .await
        .expect("reported");
        assert_eq!(report.num_calls(), 1, "{answer}");
        answers.push(answer);
    }
    assert_eq!(answers[0]["status"], "Succeeded", "{}", answers[0]);
    assert_eq!(throttled.num_calls(), 2, "retried after the throttling");
    assert_eq!(target.requests().len(), 1);
    assert_eq!(
        (&answers[1]["status"], &answers[1]["cause"]),
        (&json!("Failed"), &json!("NotPermitted"))
    );
    let reason = answers[1]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("AccessDenied") && reason.contains("elasticloadbalancing:DescribeListeners"),
        "{reason}"
    );
    assert_eq!(denied.num_calls(), 1, "a denial is not retried");
}
