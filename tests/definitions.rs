//! `PREFLIGHT_CHECKS` and the emergency skip, through the real `bootstrap` against the local
//! stand-in (and a real HTTP server for checks through the load balancer).

mod common;

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use common::{HookRig as Rig, text};
use serde_json::{Value, json};
use stand_in::kit::lambda_appspec;
use stand_in::{Answer, Deployment, DeploymentSpec, FunctionVersion, HttpTarget, Operation, Reply};

const STATUS_OK: &str = "
targets:
  - function: my-api
    checks:
      - path: /health
        expect:
          json: {$.status: ok}
";

/// An RFC 3339 time `offset` from now (negative: in the past).
fn time_from_now(offset: i64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    DateTime::from_secs(now + offset)
        .fmt(Format::DateTime)
        .expect("a printable time")
}

/// A deployment of each `(function, version, behaviour)` from version 1 to `version`.
fn release(rig: &Rig, functions: Vec<(&str, &str, FunctionVersion)>) -> Deployment {
    let mut appspec = Vec::new();
    for (function, version, behaviour) in functions {
        rig.aws.add_function(function, version, behaviour);
        appspec.push((function, "1", version));
    }
    rig.aws
        .create_deployment(DeploymentSpec::lambda(lambda_appspec(&appspec)))
}

async fn verdict(rig: &Rig, deployment: &Deployment) -> (String, Value) {
    rig.run(deployment).await;
    let summary = rig.summary(1).await;
    (rig.aws.accepted_status(deployment).unwrap_or_default(), summary)
}

/// `my-api` version 2 answers `200 {"status": "degraded"}`; the hook asserts `$.status` is `ok`,
/// with two attempts.
async fn degraded_release() -> (Rig, Deployment) {
    let rig = Rig::start(&[
        ("PREFLIGHT_CHECKS", STATUS_OK),
        ("CHECK_ATTEMPTS", "2"),
        ("CHECK_INTERVAL_MS", "10"),
    ])
    .await;
    let deployment = rig.my_api(Reply::http_json(200, json!({"status": "degraded"})));
    (rig, deployment)
}

#[tokio::test]
async fn a_json_assertion_fails_a_version_that_answers_200_degraded() {
    let (rig, deployment) = degraded_release().await;
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Failed", "{summary}");
    let reason = text(&summary, "reason");
    assert!(
        reason.contains(r#"my-api:2 /health: $.status is "degraded", expected "ok""#),
        "{reason}"
    );
    assert_eq!(text(&summary, "targets"), "my-api: targets[0]");
    assert!(
        text(&summary, "checks").contains("200 in ")
            && text(&summary, "checks").contains("2 attempts (failure, failure)"),
        "{summary}"
    );
    assert_eq!(rig.aws.invocations()[0].payload["path"], "/health");
}

#[tokio::test]
async fn the_same_assertion_passes_a_healthy_version() {
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", STATUS_OK)]).await;
    let deployment = rig.my_api(Reply::http_json(200, json!({"status": "ok"})));
    let (status, summary) = verdict(&rig, &deployment).await;
    assert_eq!(status, "Succeeded", "{summary}");
}

#[tokio::test]
async fn two_functions_get_their_own_checks() {
    let checks = r#"
targets:
  - function: shop-api
    checks:
      - path: /health?deep=1
        event_format: apigw-v2
        expect: {status: 200, json: {$.status: ok}}
  - function: "shop-*"
    deployment_group: "my-app/*"
    checks:
      - payload: {"source": "preflight"}
        expect: {json: {$.ok: true}}
"#;
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", checks)]).await;
    let deployment = release(
        &rig,
        vec![
            (
                "shop-api",
                "7",
                FunctionVersion::replying(Reply::http_json(200, json!({"status": "ok"}))),
            ),
            (
                "shop-consumer",
                "3",
                FunctionVersion::replying(Reply::Json(json!({"ok": true, "processed": 0}))),
            ),
        ],
    );
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Succeeded", "{summary}");
    assert_eq!(
        text(&summary, "targets"),
        "shop-api: targets[0] | shop-consumer: targets[1]"
    );
    let invocations = rig.aws.invocations();
    let api = invocations
        .iter()
        .find(|i| i.function == "shop-api")
        .expect("shop-api invoked");
    assert_eq!(api.payload["version"], "2.0", "an HTTP API event: {}", api.payload);
    assert_eq!(api.payload["rawPath"], "/health");
    assert_eq!(api.payload["rawQueryString"], "deep=1");
    let consumer = invocations
        .iter()
        .find(|i| i.function == "shop-consumer")
        .expect("shop-consumer invoked");
    assert_eq!(
        consumer.payload,
        json!({"source": "preflight"}),
        "the raw payload, as is"
    );
}

#[tokio::test]
async fn a_consumer_returning_the_wrong_json_fails_its_own_check() {
    let checks = "targets: [{function: worker, checks: [{payload: {ping: 1}, expect: {json: {$.ok: true}}}]}]";
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", checks), ("CHECK_ATTEMPTS", "1")]).await;
    let wrong = FunctionVersion::replying(Reply::Json(json!({"ok": false})));
    let deployment = release(&rig, vec![("worker", "5", wrong)]);
    let (status, summary) = verdict(&rig, &deployment).await;
    assert_eq!(status, "Failed");
    assert!(
        text(&summary, "reason").contains("worker:5: $.ok is false, expected true"),
        "{summary}"
    );
}

#[tokio::test]
async fn a_skipped_target_is_listed_and_not_invoked() {
    let checks = "targets: [{function: legacy-*, skip: true}]";
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", checks)]).await;
    let deployment = release(
        &rig,
        vec![
            ("legacy-cron", "9", FunctionVersion::replying(Reply::Status(500))),
            ("my-api", "2", FunctionVersion::replying(Reply::Status(200))),
        ],
    );
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Succeeded", "{summary}");
    assert_eq!(
        text(&summary, "targets"),
        "legacy-cron: targets[0] (skipped) | my-api: defaults"
    );
    assert_eq!(text(&summary, "reason"), "all 1 checks passed, 1 target skipped");
    let invoked: Vec<String> = rig.aws.invocations().into_iter().map(|i| i.function).collect();
    assert_eq!(invoked, vec!["my-api"]);
}

#[tokio::test]
async fn a_skip_in_force_reports_succeeded_without_checking_and_counts_it() {
    let until = time_from_now(3600);
    let rig = Rig::start(&[("PREFLIGHT_SKIP_UNTIL", until.as_str())]).await;
    let deployment = rig.my_api(Reply::Status(500));
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Succeeded", "{summary}");
    let reason = text(&summary, "reason");
    assert!(reason.starts_with(&format!("skipped until {until}")), "{reason}");
    assert_eq!(rig.aws.calls(Operation::Invoke), 0);
    assert_eq!(rig.aws.calls(Operation::GetDeployment), 0);
    let warned = rig.hook.wait_for_logged("checks skipped", 1).await;
    assert_eq!(text(&warned[0], "level"), "WARN", "{warned:?}");
    let metrics = rig.hook.wait_for_metric_records(1).await;
    assert_eq!(metrics[0]["Skipped"].as_f64(), Some(1.0), "{metrics:?}");
    assert_eq!(metrics[0]["Verdict"], "Succeeded");
}

#[tokio::test]
async fn an_expired_skip_changes_nothing() {
    let until = time_from_now(-60);
    let rig = Rig::start(&[("PREFLIGHT_SKIP_UNTIL", until.as_str()), ("CHECK_ATTEMPTS", "1")]).await;
    let deployment = rig.my_api(Reply::Status(500));
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Failed", "{summary}");
    assert!(text(&summary, "reason").contains("status 500"), "{summary}");
    let metrics = rig.hook.wait_for_metric_records(1).await;
    assert_eq!(metrics[0]["Skipped"].as_f64(), Some(0.0));
}

#[tokio::test]
async fn a_skip_more_than_a_week_ahead_is_a_configuration_error() {
    let until = time_from_now(8 * 24 * 3600);
    let rig = Rig::start(&[("PREFLIGHT_SKIP_UNTIL", until.as_str())]).await;
    let deployment = rig.my_api(Reply::Status(200));
    let (status, summary) = verdict(&rig, &deployment).await;
    assert_eq!(status, "Failed");
    let reason = text(&summary, "reason");
    assert!(
        reason.contains("PREFLIGHT_SKIP_UNTIL") && reason.contains("more than 7 days ahead"),
        "{reason}"
    );
    assert_eq!(rig.aws.calls(Operation::Invoke), 0);
}

#[tokio::test]
async fn a_bad_document_is_reported_failed_naming_its_place() {
    let bad = "targets: [{function: my-api, checks: [{path: /health, expect: {json: {'$.st atus': ok}}}]}]";
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", bad)]).await;
    let deployment = rig.my_api(Reply::Status(200));
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Failed");
    let reason = text(&summary, "reason");
    assert!(
        reason.contains(r#"PREFLIGHT_CHECKS: targets[0].checks[0].expect.json."$.st atus": invalid JSONPath"#),
        "{reason}"
    );
    assert_eq!(rig.aws.calls(Operation::Invoke), 0);
    let startup = rig.hook.lines();
    assert!(
        startup
            .iter()
            .any(|line| line.contains("\"variable\":\"PREFLIGHT_CHECKS\"")),
        "logged at start-up: {startup:?}"
    );
}

#[tokio::test]
async fn a_latency_bound_fails_a_slow_answer() {
    let checks = "targets: [{checks: [{path: /health, expect: {max_latency_ms: 100}}]}]";
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", checks), ("CHECK_ATTEMPTS", "1")]).await;
    let slow = FunctionVersion {
        delay: Duration::from_millis(400),
        ..FunctionVersion::replying(Reply::Status(200))
    };
    let deployment = release(&rig, vec![("my-api", "2", slow)]);
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Failed", "{summary}");
    let reason = text(&summary, "reason");
    assert!(
        reason.contains("latency ") && reason.contains(" ms > 100 ms"),
        "{reason}"
    );
}

#[tokio::test]
async fn http_checks_assert_on_the_listener_s_answer() {
    let target = HttpTarget::start(&[
        ("/health", Answer::Json(200, r#"{"status":"degraded"}"#)),
        ("/ready", Answer::Json(200, r#"{"status":"ok"}"#)),
    ])
    .await
    .expect("start the HTTP target");
    let checks = "
targets:
  - deployment_group: my-app/*
    checks:
      - path: /ready
        expect: {json: {$.status: ok}, headers: {Content-Type: application/json}}
      - path: /health
        expect: {json: {$.status: ok}}
";
    let rig = Rig::start(&[
        ("ALB_URL", target.host_port().as_str()),
        ("PREFLIGHT_CHECKS", checks),
        ("CHECK_ATTEMPTS", "1"),
    ])
    .await;
    let deployment = rig.my_api(Reply::Status(200));
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Failed", "{summary}");
    let reason = text(&summary, "reason");
    assert!(reason.starts_with("1 of 2 checks failed"), "{reason}");
    assert!(
        reason.contains(r#"/health: $.status is "degraded", expected "ok""#),
        "{reason}"
    );
    assert!(text(&summary, "targets").ends_with(": targets[0]"), "{summary}");
    assert_eq!(target.requests().len(), 2);
}

#[tokio::test]
async fn errors_and_failures_are_told_apart_attempt_by_attempt() {
    let (rig, deployment) = degraded_release().await;
    rig.aws.inject(Operation::Invoke, stand_in::Fault::Throttle, 1);
    let (status, summary) = verdict(&rig, &deployment).await;

    assert_eq!(status, "Failed");
    assert!(
        text(&summary, "checks").contains("2 attempts (error, failure)"),
        "{summary}"
    );
}
