//! The hook's AWS-facing decisions in process, against the SDK's own mock clients: discovery
//! (GetDeployment, then GetApplicationRevision by type and sha256), the report, what a failed
//! Invoke means, and whole invocations from payload to report. No process, no Python, no port.

use std::sync::Arc;
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

const APPSPEC: &str = "version: 0.0\nResources:\n  - api:\n      Type: AWS::Lambda::Function\n      \
    Properties: {Name: my-api, Alias: live, CurrentVersion: 1, TargetVersion: 2}\n";
const SHA: &str = "5e1f6a1c0b3d8e2f";

/// GetDeployment as AWS answers it: the revision named by type and sha256 only.
fn deployment_named_by_sha() -> Rule {
    deployment_described(None)
}

/// GetDeployment of a deployment created with `--description`.
fn deployment_described(description: Option<&'static str>) -> Rule {
    mock!(CodeDeploy::get_deployment)
        .match_requests(|request| request.deployment_id() == Some("d-1"))
        .then_output(move || {
            GetDeploymentOutput::builder()
                .deployment_info(
                    DeploymentInfo::builder()
                        .application_name("my-app")
                        .deployment_group_name("my-app-live")
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
        })
}

/// GetApplicationRevision that answers only for the deployment's application, type and sha256.
fn revision_by_sha() -> Rule {
    revision_holding(APPSPEC)
}

/// GetApplicationRevision returning `appspec` for the deployment's revision.
fn revision_holding(appspec: &'static str) -> Rule {
    mock!(CodeDeploy::get_application_revision)
        .match_requests(|request| {
            let revision = request.revision();
            request.application_name() == Some("my-app")
                && revision.and_then(|r| r.revision_type()) == Some(&RevisionLocationType::AppSpecContent)
                && revision.and_then(|r| r.app_spec_content()).and_then(|c| c.sha256()) == Some(SHA)
        })
        .then_output(move || {
            GetApplicationRevisionOutput::builder()
                .application_name("my-app")
                .revision(
                    RevisionLocation::builder()
                        .revision_type(RevisionLocationType::AppSpecContent)
                        .app_spec_content(AppSpecContent::builder().content(appspec).sha256(SHA).build())
                        .build(),
                )
                .build()
        })
}

fn report_accepted(status: LifecycleEventStatus) -> Rule {
    mock!(CodeDeploy::put_lifecycle_event_hook_execution_status)
        .match_requests(move |request| {
            request.deployment_id() == Some("d-1")
                && request.lifecycle_event_hook_execution_id() == Some("exec-1")
                && request.status() == Some(&status)
        })
        .then_output(|| PutLifecycleEventHookExecutionStatusOutput::builder().build())
}

fn invoke_answering(status_code: u16) -> Rule {
    mock!(Lambda::invoke)
        .match_requests(|request| request.function_name() == Some("my-api") && request.qualifier() == Some("2"))
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
    assert_eq!(facts.application, "my-app");
    assert_eq!(facts.group, "my-app-live");
    assert_eq!(facts.appspec, AppSpecText::Content(APPSPEC.into()));
    assert_eq!(revision.num_calls(), 1);
}

#[tokio::test]
async fn an_s3_revision_is_not_looked_up() {
    let deployment = mock!(CodeDeploy::get_deployment).then_output(|| {
        GetDeploymentOutput::builder()
            .deployment_info(
                DeploymentInfo::builder()
                    .application_name("shop")
                    .revision(
                        RevisionLocation::builder()
                            .revision_type(RevisionLocationType::S3)
                            .s3_location(S3Location::builder().bucket("releases").key("shop.zip").build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
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
                .deployment_info(DeploymentInfo::builder().application_name("my-app").build())
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
            function: "my-api".into(),
            version: "2".into(),
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
fn hook_with(config: Result<Config, ConfigError>) -> Hook {
    Hook::new(Arc::new(CheckSetup::new(config)))
}

async fn run(hook: Hook, clients: Arc<AwsClients>) -> Result<serde_json::Value, HookError> {
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

/// GetDeploymentGroup of an ECS group (service `checkout`), with a test listener when given.
fn ecs_group(test_listener: Option<&'static str>) -> Rule {
    use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput;
    mock!(CodeDeploy::get_deployment_group)
        .match_requests(|request| {
            request.application_name() == Some("my-app") && request.deployment_group_name() == Some("my-app-live")
        })
        .then_output(move || {
            GetDeploymentGroupOutput::builder()
                .deployment_group_info(canned::ecs_deployment_group(test_listener))
                .build()
        })
}

/// DescribeListeners and DescribeLoadBalancers for the test listener `arn:listener/test`, an
/// HTTP listener on `port` of a load balancer whose DNS name is `dns_name`.
fn test_listener_at(dns_name: &'static str, port: i32) -> (Rule, Rule) {
    use aws_sdk_elasticloadbalancingv2::Client as Elb;
    use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
    use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
    use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, ProtocolEnum};
    let listeners = mock!(Elb::describe_listeners)
        .match_requests(|request| request.listener_arns() == ["arn:listener/test".to_string()])
        .then_output(move || {
            DescribeListenersOutput::builder()
                .listeners(
                    Listener::builder()
                        .listener_arn("arn:listener/test")
                        .load_balancer_arn("arn:loadbalancer/app/shop")
                        .port(port)
                        .protocol(ProtocolEnum::Http)
                        .build(),
                )
                .build()
        });
    let balancers = mock!(Elb::describe_load_balancers)
        .match_requests(|request| request.load_balancer_arns() == ["arn:loadbalancer/app/shop".to_string()])
        .then_output(move || {
            DescribeLoadBalancersOutput::builder()
                .load_balancers(
                    LoadBalancer::builder()
                        .load_balancer_arn("arn:loadbalancer/app/shop")
                        .dns_name(dns_name)
                        .build(),
                )
                .build()
        });
    (listeners, balancers)
}

fn ecs_clients(codedeploy: &[&Rule], elb: &[&Rule]) -> Arc<AwsClients> {
    Arc::new(AwsClients::from_clients(
        canned::codedeploy(codedeploy),
        canned::lambda(&[]),
        canned::elb(elb),
    ))
}

#[tokio::test]
async fn an_ecs_deployment_is_checked_through_the_test_listener_its_group_names() {
    let target = rehearsal::HttpTarget::start(&[("/healthcheck", rehearsal::Answer::Status(200))])
        .await
        .expect("start the HTTP target");
    let port = i32::from(target.port());
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(rehearsal::kit::ECS_APPSPEC));
    let group = ecs_group(Some("arn:listener/test"));
    let (listeners, balancers) = test_listener_at("127.0.0.1", port);
    let report = report_accepted(LifecycleEventStatus::Succeeded);
    let answer = run(
        hook_with(Ok(config(&[]))),
        ecs_clients(&[&deployment, &revision, &group, &report], &[&listeners, &balancers]),
    )
    .await
    .expect("reported");
    assert_eq!(answer["status"], "Succeeded", "{answer}");
    let requests = target.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/healthcheck");
    assert_eq!(
        (group.num_calls(), listeners.num_calls(), balancers.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_ecs_group_without_a_test_route_is_reported_failed_saying_what_to_add() {
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(rehearsal::kit::ECS_APPSPEC));
    let group = ecs_group(None);
    let (listeners, balancers) = test_listener_at("127.0.0.1", 1);
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
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(rehearsal::kit::ECS_APPSPEC));
    let group = ecs_group(Some("arn:listener/test"));
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
        reason.contains("ListenerNotFound") && reason.contains("arn:listener/test does not exist"),
        "{reason}"
    );
    assert_eq!(missing.num_calls(), 1, "a missing listener is not asked for again");
}

#[tokio::test]
async fn alb_url_wins_and_the_group_is_not_asked() {
    let target = rehearsal::HttpTarget::start(&[("/healthcheck", rehearsal::Answer::Status(200))])
        .await
        .expect("start the HTTP target");
    let (deployment, revision) = (deployment_named_by_sha(), revision_holding(rehearsal::kit::ECS_APPSPEC));
    let group = ecs_group(Some("arn:listener/test"));
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
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(hook_with(Ok(config(&[]))), clients(&[&denied, &report], &[]))
        .await
        .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("NotPermitted"))
    );
    assert_eq!(report.num_calls(), 1);
}

#[tokio::test]
async fn a_release_that_fails_its_checks_is_the_releases_cause() {
    let (deployment, revision, broken) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(500));
    let report = report_accepted(LifecycleEventStatus::Failed);
    let answer = run(
        hook_with(Ok(config(&[("CHECK_ATTEMPTS", "1")]))),
        clients(&[&deployment, &revision, &report], &[&broken]),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("ReleaseFailed"))
    );
}
