//! The real `bootstrap`, run as a child process against the local stand-in for CodeDeploy, Lambda
//! and the Runtime API: what only a real process shows. The Runtime API contract (answers, the
//! invocation's errors, serving on after a bad payload), the environment, the summary line and
//! the metric records, deadlines, the sample events, and one run of each CodeDeploy flow per AWS
//! service (Lambda; ELBv2 through the stand-in and through moto). The hook's decisions are tested
//! in process, on the SDK's canned answers: `src/codedeploy_hook/tests.rs`.

mod common;

use std::time::Duration;

use common::{HookRig as Rig, TIMEOUT, text};
use serde_json::{Value, json};
use stand_in::fixtures::{ECS_APPSPEC, FUNCTION, TARGET_VERSION, lambda_release_appspec};
use stand_in::kit::{lambda_appspec, sample};
use stand_in::{Answer, DeploymentSpec, Fault, FunctionVersion, HttpTarget, Operation, Reply, RuntimeOutcome};

#[tokio::test]
async fn a_healthy_version_and_a_broken_one_are_reported_with_their_summary_lines_and_metrics() {
    let rig = Rig::start(&[("CHECK_INTERVAL_MS", "20"), ("CHECK_ATTEMPTS", "2")]).await;
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
    assert_eq!(
        (&metrics[0]["Cause"], &metrics[0]["Fault"]),
        (&json!("Passed"), &json!("None"))
    );
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][1]["Dimensions"],
        json!([["Flow", "Cause"], ["Fault"]])
    );

    // The next release of my-api is broken: the release's fault, in the line and the metric.
    rig.aws
        .add_function("my-api", "3", FunctionVersion::replying(Reply::Status(500)));
    let broken = rig
        .aws
        .create_deployment(DeploymentSpec::lambda(lambda_appspec(&[("my-api", "2", "3")])));
    rig.run(&broken).await;

    assert_eq!(rig.aws.accepted_status(&broken).as_deref(), Some("Failed"));
    let summary = rig.summary(2).await;
    assert!(
        text(&summary, "reason").contains("my-api:3 /healthcheck: status 500, expected 200-399"),
        "{summary}"
    );
    assert_eq!(text(&summary, "cause"), "ReleaseFailed", "{summary}");
    assert!(text(&summary, "checks").contains("2 attempts"), "{summary}");
    let metrics = rig.hook.wait_for_metric_records(2).await;
    assert_eq!(preflight::plumbing::metrics::check_emf(&metrics[1]), Ok(()));
    assert_eq!(
        (&metrics[1]["Verdict"], &metrics[1]["Cause"], &metrics[1]["Fault"]),
        (&json!("Failed"), &json!("ReleaseFailed"), &json!("Release"))
    );
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
async fn the_sample_events_drive_a_deployment_and_bad_payloads_are_the_invocations_error() {
    let rig = Rig::start(&[]).await;
    let bad_payloads = [
        (json!(["d-1"]), "not a JSON object"),
        (
            sample("missing-execution-id.json").expect("the sample"),
            "`LifecycleEventHookExecutionId` is missing",
        ),
        (
            sample("wrong-types.json").expect("the sample"),
            "`DeploymentId` is a number",
        ),
    ];
    for (payload, expected) in &bad_payloads {
        let outcome = rig.invoke(payload.clone(), TIMEOUT).await;
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

    // The hook serves on: the good sample drives the deployment it names.
    let good = sample("lifecycle-hook.json").expect("the sample");
    let ids = |field: &str| good[field].as_str().unwrap_or_default().to_string();
    rig.aws
        .add_function(FUNCTION, TARGET_VERSION, FunctionVersion::replying(Reply::Status(200)));
    let deployment = rig.aws.create_deployment_with_ids(
        DeploymentSpec::lambda(lambda_release_appspec()),
        &ids("DeploymentId"),
        &ids("LifecycleEventHookExecutionId"),
    );
    rig.invoke(good, TIMEOUT).await;
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    let summaries = rig.hook.wait_for_summaries(bad_payloads.len() + 1).await;
    assert_eq!(
        summaries.len(),
        bad_payloads.len() + 1,
        "one summary line per invocation"
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
async fn an_ecs_deployment_is_checked_through_the_test_listener_found_without_alb_url() {
    // The deployment group's test listener, in the stand-in's ELBv2 (a load balancer at
    // 127.0.0.1: moto's DNS names do not resolve), leads to a loopback target.
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200)), ("/ready", Answer::Status(503))])
        .await
        .expect("start the HTTP target");
    let port = target.port();
    let checks = "targets: [{service: checkout, checks: [{path: /healthcheck}]}, {checks: [{path: /ready}]}]";
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", checks)]).await;
    let listener = rig.aws.add_test_listener(port);
    let deployment = rig
        .aws
        .create_deployment(DeploymentSpec::ecs(ECS_APPSPEC).test_listener(&listener));
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

#[tokio::test]
async fn http_checks_through_alb_url_run_alongside_the_lookup_with_the_configured_request() {
    let target = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start the HTTP target");
    let alb = target.host_port();
    let headers = r#"{"Host": "shop.example.com", "X-Api-Key": "k-123"}"#;
    let rig = Rig::start(&[
        ("ALB_URL", alb.as_str()),
        ("CHECK_METHOD", "HEAD"),
        ("CHECK_HEADERS", headers),
    ])
    .await;
    let deployment = rig.aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    let lookup = Duration::from_secs(2);
    rig.aws.inject(Operation::GetDeployment, Fault::Latency(lookup), 1);
    let delivered = rig.deliver(&deployment, TIMEOUT).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    let request = &target.requests()[0];
    // GetDeployment could not answer before `started + lookup`: a check sent earlier ran alongside it.
    assert!(
        request.at < delivered.started + lookup,
        "the check waited for GetDeployment ({:?} after delivery)",
        request.at - delivered.started
    );
    assert_eq!(request.method, "HEAD");
    assert_eq!(request.header("host"), Some("shop.example.com"), "{request:?}");
    assert_eq!(request.header("x-api-key"), Some("k-123"), "{request:?}");
    assert!(text(&rig.summary(1).await, "deployed").contains("ECS TargetService"));
    let logs = rig.hook.lines().join("\n");
    assert!(!logs.contains("k-123"), "a header value reached the logs:\n{logs}");
}
