//! The real `bootstrap`, run as a child process against the local stand-in for CodeDeploy, Lambda
//! and the Runtime API; every test asserts on what was reported and invoked.

mod common;

use std::time::Duration;

use common::{HookRig as Rig, TIMEOUT, text};
use serde_json::{Value, json};
use stand_in::kit::{ECS_APPSPEC, lambda_appspec, sample};
use stand_in::{
    Answer, Deployment, DeploymentSpec, Fault, FunctionVersion, HttpTarget, Operation, Reply, RevisionForm,
    RuntimeOutcome,
};

/// Fast retries, so that failing checks do not slow the suite.
const QUICK: &[(&str, &str)] = &[("CHECK_INTERVAL_MS", "20")];

fn appspec(functions: &[(&str, &str, &str)]) -> String {
    lambda_appspec(functions)
}

#[tokio::test]
async fn healthy_version_is_reported_succeeded() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.my_api(Reply::Status(200));
    let outcome = rig.run(&deployment).await;

    assert!(
        matches!(&outcome, RuntimeOutcome::Response(body) if body["status"] == "Succeeded"),
        "{outcome:?}"
    );
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    assert_eq!(rig.aws.reports().len(), 1);
    let invocations = rig.aws.invocations();
    assert_eq!(invocations.len(), 1);
    assert_eq!(invocations[0].function, "my-api");
    assert_eq!(invocations[0].qualifier.as_deref(), Some("2"));
    assert_eq!(invocations[0].payload["httpMethod"], "GET");
    assert_eq!(invocations[0].payload["path"], "/healthcheck");
    assert_eq!(invocations[0].payload["requestContext"]["httpMethod"], "GET");

    let summary = rig.summary(1).await;
    assert_eq!(text(&summary, "deployment_id"), deployment.id);
    assert_eq!(text(&summary, "status"), "Succeeded");
    assert_eq!(text(&summary, "cause"), "Passed");
    assert_eq!(text(&summary, "report"), "accepted");
    assert!(
        text(&summary, "checks").starts_with("my-api:2 /healthcheck: 200 in "),
        "{summary}"
    );
    assert!(text(&summary, "deployed").contains("Lambda my-api 1→2"), "{summary}");
    assert!(
        summary.get("report_error").is_none(),
        "a delivered report has no error: {summary}"
    );

    let metrics = rig.hook.wait_for_metric_records(1).await;
    assert_eq!(metrics.len(), 1, "one metrics record per invocation: {metrics:?}");
    assert_eq!(preflight::plumbing::metrics::check_emf(&metrics[0]), Ok(()));
    assert_eq!(metrics[0]["Flow"], "codedeploy_hook");
    assert_eq!(metrics[0]["Verdict"], "Succeeded");
    assert_eq!(
        (metrics[0]["Verdicts"].as_f64(), metrics[0]["Checks"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    // The verdict is published also by its cause and by whose fault it is, for the two alarms.
    assert_eq!((&metrics[0]["Cause"], &metrics[0]["Fault"]), (&json!("Passed"), &json!("None")));
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][1]["Dimensions"],
        json!([["Flow", "Cause"], ["Fault"]])
    );
}

#[tokio::test]
async fn server_error_is_reported_failed_after_every_attempt() {
    let rig = Rig::start(&[("CHECK_INTERVAL_MS", "20"), ("CHECK_ATTEMPTS", "2")]).await;
    let deployment = rig.my_api(Reply::Status(500));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert_eq!(rig.aws.invocations().len(), 2);
    let summary = rig.summary(1).await;
    assert!(
        text(&summary, "reason").contains("status 500, expected 200-399"),
        "{summary}"
    );
    assert_eq!(text(&summary, "cause"), "ReleaseFailed", "{summary}");
    let metrics = rig.hook.wait_for_metric_records(1).await;
    assert_eq!((&metrics[0]["Cause"], &metrics[0]["Fault"]), (&json!("ReleaseFailed"), &json!("Release")));
    assert!(text(&summary, "checks").contains("2 attempts"), "{summary}");
}

#[tokio::test]
async fn function_error_is_reported_failed() {
    let rig = Rig::start(QUICK).await;
    let deployment = rig.my_api(Reply::FunctionError("cannot connect to the database".into()));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let summary = rig.summary(1).await;
    assert!(
        text(&summary, "reason").contains("function error (Unhandled)"),
        "{summary}"
    );
    assert!(
        text(&summary, "reason").contains("cannot connect to the database"),
        "{summary}"
    );
}

#[tokio::test]
async fn a_version_warming_up_passes_on_a_later_attempt() {
    let rig = Rig::start(QUICK).await;
    rig.aws.add_function(
        "my-api",
        "2",
        FunctionVersion {
            fail_first: 1,
            ..FunctionVersion::replying(Reply::Status(200))
        },
    );
    let deployment = rig
        .aws
        .create_deployment(DeploymentSpec::lambda(appspec(&[("my-api", "1", "2")])));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    assert_eq!(rig.aws.invocations().len(), 2);
}

#[tokio::test]
async fn hanging_version_is_reported_failed_before_the_deadline() {
    let rig = Rig::start(&[("DEADLINE_MARGIN_MS", "1500"), ("CHECK_TIMEOUT_MS", "600000")]).await;
    let deployment = rig.my_api(Reply::Hang);
    let delivered = rig.aws.deliver(&deployment, Duration::from_secs(4)).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let report = &rig.aws.reports()[0];
    assert!(report.at < delivered.deadline, "reported after the Lambda deadline");
    assert!(
        report.at >= delivered.deadline - Duration::from_millis(2_500),
        "gave up far too early"
    );
    let summary = rig.summary(1).await;
    assert!(
        text(&summary, "reason").contains("no answer before the deadline"),
        "{summary}"
    );
}

#[tokio::test]
async fn json_appspec_is_read_like_yaml() {
    let rig = Rig::start(&[]).await;
    rig.aws
        .add_function("my-api", "7", FunctionVersion::replying(Reply::Status(204)));
    let json = json!({"version": 0.0, "Resources": [{"fn": {"Type": "AWS::Lambda::Function",
        "Properties": {"Name": "my-api", "Alias": "live", "CurrentVersion": 6, "TargetVersion": 7}}}]});
    let deployment = rig.aws.create_deployment(DeploymentSpec::lambda(json.to_string()));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    assert_eq!(rig.aws.invocations()[0].qualifier.as_deref(), Some("7"));
}

#[tokio::test]
async fn the_appspec_is_fetched_by_its_sha256_for_either_revision_type() {
    for form in [RevisionForm::AppSpecContent, RevisionForm::String] {
        let rig = Rig::start(&[]).await;
        let deployment = rig
            .aws
            .create_deployment(DeploymentSpec::lambda(appspec(&[("my-api", "1", "2")])).form(form));
        rig.aws
            .add_function("my-api", "2", FunctionVersion::replying(Reply::Status(200)));
        rig.run(&deployment).await;

        assert_eq!(rig.aws.calls(Operation::GetApplicationRevision), 1, "{form:?}");
        assert_eq!(
            rig.aws.accepted_status(&deployment).as_deref(),
            Some("Succeeded"),
            "{form:?}"
        );
        assert_eq!(rig.aws.invocations()[0].qualifier.as_deref(), Some("2"));
    }
}

#[tokio::test]
async fn a_denied_invoke_is_tried_once_and_reported_failed_saying_what_to_grant() {
    let rig = Rig::start(QUICK).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.aws.inject(Operation::Invoke, Fault::AccessDenied, 3);
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert_eq!(rig.aws.calls(Operation::Invoke), 1, "a refusal is not retried");
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("tag function my-api preflight:check=true"), "{reason}");
    assert!(reason.contains("InvokeTargetArns"), "{reason}");
}

#[tokio::test]
async fn a_throttled_target_is_invoked_once_per_attempt() {
    let rig = Rig::start(&[("CHECK_ATTEMPTS", "2"), ("CHECK_INTERVAL_MS", "20")]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.aws.inject(Operation::Invoke, Fault::Throttle, 2);
    rig.run(&deployment).await;

    assert_eq!(
        rig.aws.calls(Operation::Invoke),
        2,
        "the SDK must not add attempts of its own"
    );
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("TooManyRequestsException"), "{reason}");
}

#[tokio::test]
async fn an_s3_revision_without_alb_url_is_reported_failed_saying_what_to_set() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::server("shop", "shop-web"));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert_eq!(rig.aws.calls(Operation::GetApplicationRevision), 0);
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("an S3 revision"), "{reason}");
    assert!(reason.contains("set ALB_URL"), "{reason}");
}

#[tokio::test]
async fn every_function_is_checked_and_one_bad_one_fails_the_deployment() {
    let rig = Rig::start(QUICK).await;
    rig.aws
        .add_function("orders", "4", FunctionVersion::replying(Reply::Status(200)));
    rig.aws
        .add_function("payments", "9", FunctionVersion::replying(Reply::Status(503)));
    let spec = DeploymentSpec::lambda(appspec(&[("orders", "3", "4"), ("payments", "8", "9")]));
    let deployment = rig.aws.create_deployment(spec);
    rig.run(&deployment).await;

    let invoked: Vec<(String, Option<String>)> = rig
        .aws
        .invocations()
        .into_iter()
        .map(|i| (i.function, i.qualifier))
        .collect();
    assert!(invoked.contains(&("orders".into(), Some("4".into()))), "{invoked:?}");
    assert!(invoked.contains(&("payments".into(), Some("9".into()))), "{invoked:?}");
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let reason = text(&rig.summary(1).await, "reason");
    assert!(
        reason.starts_with("1 of 2 checks failed: payments:9 /healthcheck"),
        "{reason}"
    );
}

#[tokio::test]
async fn every_path_is_checked_over_http_and_one_bad_path_fails() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200)), ("/ready", Answer::Status(503))])
        .await
        .unwrap();
    let alb = target.host_port();
    let config = [
        ("ALB_URL", alb.as_str()),
        ("CHECK_PATHS", "/healthcheck,/ready"),
        ("CHECK_INTERVAL_MS", "20"),
    ];
    let rig = Rig::start(&config).await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let paths: Vec<String> = target.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.iter().filter(|p| *p == "/healthcheck").count(), 1, "{paths:?}");
    assert_eq!(paths.iter().filter(|p| *p == "/ready").count(), 3, "{paths:?}");
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("/ready: status 503"), "{reason}");
    assert!(!reason.contains("/healthcheck"), "{reason}");
}

#[tokio::test]
async fn http_checks_send_the_configured_method_and_headers() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .unwrap();
    let alb = target.host_port();
    let headers = r#"{"Host": "shop.example.com", "X-Api-Key": "k-123"}"#;
    let config = [
        ("ALB_URL", alb.as_str()),
        ("CHECK_METHOD", "HEAD"),
        ("CHECK_HEADERS", headers),
    ];
    let rig = Rig::start(&config).await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    let request = &target.requests()[0];
    assert_eq!(request.method, "HEAD");
    assert!(
        request.headers.contains(&("host".into(), "shop.example.com".into())),
        "{request:?}"
    );
    assert!(
        request.headers.contains(&("x-api-key".into(), "k-123".into())),
        "{request:?}"
    );
    let logs = rig.hook.lines().join("\n");
    assert!(!logs.contains("k-123"), "a header value reached the logs:\n{logs}");
}

#[tokio::test]
async fn a_hanging_http_target_is_cut_by_the_check_timeout() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Hang)]).await.unwrap();
    let alb = target.host_port();
    let config = [
        ("ALB_URL", alb.as_str()),
        ("CHECK_TIMEOUT_MS", "200"),
        ("CHECK_ATTEMPTS", "2"),
        ("CHECK_INTERVAL_MS", "20"),
    ];
    let rig = Rig::start(&config).await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert_eq!(target.requests().len(), 2);
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("no answer within 200 ms"), "{reason}");
}

#[tokio::test]
async fn each_bad_payload_is_rejected_and_the_hook_keeps_serving() {
    let rig = Rig::start(&[]).await;
    let bad_payloads = [
        (json!(["d-1"]), "not a JSON object"),
        (json!("hello"), "not a JSON object"),
        (
            json!({"LifecycleEventHookExecutionId": "x"}),
            "`DeploymentId` is missing",
        ),
        (
            json!({"DeploymentId": "d-1"}),
            "`LifecycleEventHookExecutionId` is missing",
        ),
        (
            json!({"DeploymentId": 42, "LifecycleEventHookExecutionId": "x"}),
            "`DeploymentId` is a number",
        ),
        (
            json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": ""}),
            "is empty",
        ),
    ];
    for (payload, expected) in &bad_payloads {
        let outcome = rig.aws.deliver_payload(payload.clone(), TIMEOUT).await.outcome;
        let RuntimeOutcome::Error(error) = &outcome else {
            panic!("{payload} was not rejected: {outcome:?}");
        };
        assert_eq!(error["errorType"], "InvalidHookPayload", "{error}");
        assert!(
            error["errorMessage"].as_str().unwrap_or_default().contains(expected),
            "{payload}: {error}"
        );
    }
    assert!(rig.aws.reports().is_empty());

    let deployment = rig.my_api(Reply::Status(200));
    rig.run(&deployment).await;
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    let summaries = rig.hook.wait_for_summaries(bad_payloads.len() + 1).await;
    assert_eq!(
        summaries.len(),
        bad_payloads.len() + 1,
        "one summary line per invocation"
    );
}

#[tokio::test]
async fn throttled_report_is_retried_until_accepted() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.aws
        .inject(Operation::PutLifecycleEventHookExecutionStatus, Fault::Throttle, 2);
    let outcome = rig.run(&deployment).await;

    assert!(matches!(outcome, RuntimeOutcome::Response(_)), "{outcome:?}");
    assert_eq!(rig.aws.calls(Operation::PutLifecycleEventHookExecutionStatus), 3);
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
}

#[tokio::test]
async fn codedeploy_server_errors_are_retried() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.aws.inject(Operation::GetDeployment, Fault::ServerError, 2);
    rig.run(&deployment).await;

    assert_eq!(rig.aws.calls(Operation::GetDeployment), 3);
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
}

#[tokio::test]
async fn duplicate_delivery_is_reported_once() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.run(&deployment).await;
    let second = rig.run(&deployment).await;

    assert!(
        matches!(&second, RuntimeOutcome::Response(body) if body["report"] == "already_reported"),
        "{second:?}"
    );
    assert_eq!(rig.accepted_reports(), 1);
    assert_eq!(rig.aws.reports().len(), 2, "the duplicate tried once and stopped");
    assert_eq!(text(&rig.summary(2).await, "report"), "already_reported");
}

#[tokio::test]
async fn get_deployment_denied_is_reported_failed() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.aws.inject(Operation::GetDeployment, Fault::AccessDenied, 1);
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert!(
        rig.aws.invocations().is_empty(),
        "nothing can be checked without the AppSpec"
    );
    let reason = text(&rig.summary(1).await, "reason");
    assert!(
        reason.starts_with("GetDeployment failed: AccessDeniedException"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_report_that_cannot_be_delivered_fails_the_invocation_for_a_retry() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.aws
        .inject(Operation::PutLifecycleEventHookExecutionStatus, Fault::AccessDenied, 1);
    let first = rig.run(&deployment).await;

    let RuntimeOutcome::Error(error) = &first else {
        panic!("the invocation should fail: {first:?}");
    };
    assert_eq!(error["errorType"], "ReportNotDelivered");
    assert_eq!(rig.aws.accepted_status(&deployment), None);
    let summary = rig.summary(1).await;
    assert_eq!(text(&summary, "report"), "not_delivered", "{summary}");
    assert_eq!(text(&summary, "level"), "ERROR", "{summary}");
    assert!(
        text(&summary, "report_error").contains("AccessDeniedException"),
        "{summary}"
    );
    // Lambda's retry of the asynchronous invocation then reports.
    rig.run(&deployment).await;
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    let verdicts: Vec<Value> = rig
        .hook
        .wait_for_metric_records(2)
        .await
        .iter()
        .map(|record| record["Verdict"].clone())
        .collect();
    assert_eq!(verdicts, [json!("NotReported"), json!("Succeeded")]);
}

#[tokio::test]
async fn invalid_configuration_is_reported_failed_naming_the_variable() {
    let rig = Rig::start(&[("CHECK_ATTEMPTS", "lots")]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert!(rig.aws.invocations().is_empty());
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("CHECK_ATTEMPTS"), "{reason}");
    let startup = rig.hook.lines().join("\n");
    assert!(
        startup.contains("\"variable\":\"CHECK_ATTEMPTS\""),
        "the start-up log names the variable:\n{startup}"
    );
}

#[tokio::test]
async fn unreadable_appspec_is_reported_failed() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::lambda(
        "Resources:\n  - fn: {Type: AWS::Lambda::Function}\n",
    ));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("has no `Name`"), "{reason}");
}

/// An ECS deployment whose group's test listener, in the stand-in's ELBv2 (a load balancer at
/// 127.0.0.1: moto's DNS names do not resolve), leads to a loopback target answering
/// `/healthcheck` 200 and `/ready` 503.
async fn ecs_with_a_test_listener(config: &[(&str, &str)]) -> (HttpTarget, Rig, Deployment, u16) {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200)), ("/ready", Answer::Status(503))])
        .await
        .unwrap();
    let port = target.port();
    let rig = Rig::start(config).await;
    let listener = rig.aws.add_test_listener(port);
    let deployment = rig
        .aws
        .create_deployment(DeploymentSpec::ecs(ECS_APPSPEC).test_listener(&listener));
    (target, rig, deployment, port)
}

#[tokio::test]
async fn an_ecs_deployment_is_checked_through_the_test_listener_found_without_alb_url() {
    let checks = "targets: [{service: checkout, checks: [{path: /healthcheck}]}, {checks: [{path: /ready}]}]";
    let (target, rig, deployment, port) = ecs_with_a_test_listener(&[("PREFLIGHT_CHECKS", checks)]).await;
    rig.run(&deployment).await;

    let summary = rig.summary(1).await;
    assert_eq!(
        rig.aws.accepted_status(&deployment).as_deref(),
        Some("Succeeded"),
        "{summary}"
    );
    assert_eq!(
        text(&summary, "targets"),
        format!("http://127.0.0.1:{port}/: targets[0]")
    );
    let paths: Vec<String> = target.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/healthcheck"], "the service's own entry chose the path");
    assert_eq!(
        (
            rig.aws.calls(Operation::GetDeploymentGroup),
            rig.aws.calls(Operation::DescribeListeners),
            rig.aws.calls(Operation::DescribeLoadBalancers)
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_ecs_deployment_whose_service_fails_through_the_found_listener_is_reported_failed() {
    let config = [("CHECK_PATHS", "/ready"), ("CHECK_INTERVAL_MS", "20")];
    let (target, rig, deployment, port) = ecs_with_a_test_listener(&config).await;
    rig.run(&deployment).await;
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let reason = text(&rig.summary(1).await, "reason");
    assert!(
        reason.contains(&format!("http://127.0.0.1:{port}/ready: status 503")),
        "{reason}"
    );
    assert_eq!(target.requests().len(), 3, "every attempt went to the found listener");
}

#[tokio::test]
async fn a_throttled_listener_lookup_is_retried_and_a_denied_one_is_not() {
    let (_target, rig, throttled, _) = ecs_with_a_test_listener(&[]).await;
    rig.aws.inject(Operation::DescribeListeners, Fault::Throttle, 1);
    rig.run(&throttled).await;
    assert_eq!(rig.aws.accepted_status(&throttled).as_deref(), Some("Succeeded"));
    assert_eq!(rig.aws.calls(Operation::DescribeListeners), 2);

    let denied = rig
        .aws
        .create_deployment(DeploymentSpec::ecs(ECS_APPSPEC).test_listener("arn:denied"));
    rig.aws.inject(Operation::DescribeListeners, Fault::AccessDenied, 1);
    rig.run(&denied).await;
    assert_eq!(rig.aws.accepted_status(&denied).as_deref(), Some("Failed"));
    let reason = text(&rig.summary(2).await, "reason");
    assert!(
        reason.contains("AccessDenied") && reason.contains("elasticloadbalancing:DescribeListeners"),
        "{reason}"
    );
    assert_eq!(
        rig.aws.calls(Operation::DescribeListeners),
        3,
        "a denial is not retried"
    );
}

#[tokio::test]
async fn an_ecs_deployment_s_test_listener_is_found_through_codedeploy_and_a_real_elbv2() {
    // The deployment group comes from the stand-in (moto has no test traffic routes); the listener
    // and its load balancer from moto's ELBv2, whose DNS names are made up and do not resolve. So
    // the check cannot connect: what this shows is the address found through the real ELBv2 API.
    // (Checks that reach a target through a found listener run in process, against canned ELBv2
    // answers naming a loopback server: `codedeploy_hook::tests`.)
    let moto = stand_in::MotoServer::shared().await.expect("start moto's server");
    let alb = moto.create_alb().await.expect("create the load balancer in moto");
    let endpoint = moto.endpoint_url();
    let rig = Rig::start(&[
        ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", endpoint.as_str()),
        ("CHECK_ATTEMPTS", "1"),
        ("CHECK_TIMEOUT_MS", "3000"),
    ])
    .await;
    let deployment = rig
        .aws
        .create_deployment(DeploymentSpec::ecs(ECS_APPSPEC).test_listener(&alb.listener));
    rig.run(&deployment).await;

    let summary = rig.summary(1).await;
    let checks = text(&summary, "checks");
    let expected = format!("http://{}/healthcheck: ", alb.dns_name.to_ascii_lowercase());
    assert!(checks.starts_with(&expected), "{expected} in {summary}");
    assert!(checks.contains("1 attempt (error)"), "{summary}");
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert_eq!(rig.aws.calls(Operation::GetDeploymentGroup), 1);
}

#[tokio::test]
async fn ecs_deployment_without_a_test_route_or_alb_url_is_reported_failed_with_advice() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let reason = text(&rig.summary(1).await, "reason");
    assert!(
        reason.contains("my-app/my-app-live has no test traffic route") && reason.contains("set ALB_URL"),
        "{reason}"
    );
    assert_eq!(rig.aws.calls(Operation::GetDeploymentGroup), 1);
}

#[tokio::test]
async fn http_api_and_alb_events_reach_the_function_in_their_own_shape() {
    for (format, check) in [
        (
            "apigw-v2",
            (|event: &Value| event["version"] == "2.0" && event["rawPath"] == "/healthcheck") as fn(&Value) -> bool,
        ),
        ("alb", |event: &Value| {
            event["requestContext"]["elb"]["targetGroupArn"].is_string() && event["path"] == "/healthcheck"
        }),
    ] {
        let rig = Rig::start(&[("EVENT_FORMAT", format)]).await;
        let deployment = rig.my_api(Reply::Status(200));
        rig.run(&deployment).await;
        assert_eq!(
            rig.aws.accepted_status(&deployment).as_deref(),
            Some("Succeeded"),
            "{format}"
        );
        let payload = &rig.aws.invocations()[0].payload;
        assert!(check(payload), "{format}: {payload}");
    }
}

#[tokio::test]
async fn http_api_response_without_status_code_counts_as_200() {
    let rig = Rig::start(&[("EVENT_FORMAT", "apigw-v2")]).await;
    let deployment = rig.my_api(Reply::Json(json!({"healthy": true})));
    rig.run(&deployment).await;
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
}

#[tokio::test]
async fn raw_payload_is_sent_as_is_and_passes_without_function_error() {
    let rig = Rig::start(&[("CHECK_PAYLOAD", r#"{"action": "selftest"}"#)]).await;
    let deployment = rig.my_api(Reply::Json(json!({"ok": true})));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    assert_eq!(rig.aws.invocations()[0].payload, json!({"action": "selftest"}));
}

#[tokio::test]
async fn lambda_path_matters_to_the_function() {
    let rig = Rig::start(&[("CHECK_PATHS", "/healthcheck,/ready"), ("CHECK_INTERVAL_MS", "20")]).await;
    let reply = Reply::StatusByPath(vec![("/healthcheck".into(), 200), ("/ready".into(), 500)], 404);
    let deployment = rig.my_api(reply);
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let reason = text(&rig.summary(1).await, "reason");
    assert!(reason.contains("my-api:2 /ready: status 500"), "{reason}");
}

#[tokio::test]
async fn sample_events_drive_a_deployment_or_are_rejected() {
    let rig = Rig::start(&[]).await;
    let good = sample("lifecycle-hook.json").expect("the sample");
    let ids = |field: &str| good[field].as_str().unwrap().to_string();
    rig.aws
        .add_function("my-api", "2", FunctionVersion::replying(Reply::Status(200)));
    let deployment = rig.aws.create_deployment_with_ids(
        DeploymentSpec::lambda(appspec(&[("my-api", "1", "2")])),
        &ids("DeploymentId"),
        &ids("LifecycleEventHookExecutionId"),
    );
    rig.aws.deliver_payload(good, TIMEOUT).await;
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));

    for bad in ["missing-execution-id.json", "wrong-types.json"] {
        let outcome = rig.invoke(sample(bad).expect("the sample"), TIMEOUT).await;
        assert!(
            matches!(&outcome, RuntimeOutcome::Error(e) if e["errorType"] == "InvalidHookPayload"),
            "{bad}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_placeholder_deadline_from_a_local_emulator_still_gets_checked() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.my_api(Reply::Status(200));
    // cargo lambda's emulator sends 600000: a deadline in 1970.
    rig.aws
        .deliver_with_deadline_header(deployment.hook_event(), TIMEOUT, Some("600000".into()))
        .await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    assert_eq!(rig.aws.invocations().len(), 1);
    let logs = rig.hook.lines().join("\n");
    assert!(logs.contains("local emulator's placeholder"), "{logs}");
}

/// An ECS deployment checked through a listener whose `/healthcheck` answers 200.
async fn ecs_behind_a_healthy_listener() -> (HttpTarget, Rig, Deployment) {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .unwrap();
    let alb = target.host_port();
    let rig = Rig::start(&[("ALB_URL", alb.as_str())]).await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    (target, rig, deployment)
}

#[tokio::test]
async fn http_checks_do_not_wait_for_the_deployment_lookup() {
    let (target, rig, deployment) = ecs_behind_a_healthy_listener().await;
    let lookup = Duration::from_secs(2);
    rig.aws.inject(Operation::GetDeployment, Fault::Latency(lookup), 1);
    let delivered = rig.deliver(&deployment, TIMEOUT).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    let asked = target.requests()[0].at;
    // GetDeployment could not answer before `started + lookup`: a check sent earlier ran alongside it.
    assert!(
        asked < delivered.started + lookup,
        "the check waited for GetDeployment ({:?} after delivery)",
        asked - delivered.started
    );
    assert!(text(&rig.summary(1).await, "deployed").contains("ECS TargetService"));
}

#[tokio::test]
async fn a_failed_lookup_still_fails_http_checks_that_passed() {
    let (target, rig, deployment) = ecs_behind_a_healthy_listener().await;
    rig.aws.inject(Operation::GetDeployment, Fault::AccessDenied, 1);
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    assert_eq!(target.requests().len(), 1, "the check ran alongside the lookup");
    let summary = rig.summary(1).await;
    assert!(
        text(&summary, "reason").starts_with("GetDeployment failed: AccessDeniedException"),
        "{summary}"
    );
    assert!(text(&summary, "checks").contains("/healthcheck: 200"), "{summary}");
}
