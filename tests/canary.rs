//! The Lambda canary judge through the real `bootstrap`: what only a real process shows. The hook
//! asks the stand-in's CodeDeploy which lifecycle event called it, reads the versions' traffic
//! from its CloudWatch (simulated into minutes of the past, so nothing waits real minutes), and
//! reports; the summary line carries the evidence and the metric records the judgement. The
//! judge's rules and the hook's decisions around it are tested in process, on the SDK's canned
//! answers: `src/codedeploy_hook/canary/tests.rs`.

mod common;

use stand_in::kit::minutes_ago;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use common::{HookRig as Rig, text};
use serde_json::{Value, json};
use stand_in::fixtures::{CURRENT_VERSION, FUNCTION, TARGET_VERSION, lambda_release_appspec};
use stand_in::{Deployment, DeploymentSpec, FunctionVersion, Lifecycle, Operation, Reply, RuntimeOutcome};

/// `my-api` judged on its real traffic after traffic moved, and checked before; judged on what
/// the shift left, without waiting for more.
const CANARY: &str = "targets: [{function: my-api, checks: [{path: /healthcheck}], canary: {bake_minutes: 0}}]";

/// The new version's share of the alias's invocations during `AllowTraffic`.
const CANARY_WEIGHT: f64 = 0.1;
/// The invocations simulated through the alias during `AllowTraffic`.
const REQUESTS: u32 = 3000;

/// `2026-12-07T10:00:00Z`, as the summary line shows a time.
fn shown(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(Format::DateTime)
        .expect("a time CloudWatch can show")
}

/// The fixtures' release of `my-api` (version 1 → 2, alias `live`), whose new version answers as
/// `new`, with the hook on `BeforeAllowTraffic` and `AfterAllowTraffic`.
fn release(rig: &Rig, new: FunctionVersion, lifecycle: Lifecycle) -> Deployment {
    rig.aws
        .add_function(FUNCTION, CURRENT_VERSION, FunctionVersion::replying(Reply::Status(200)));
    rig.aws.add_function(FUNCTION, TARGET_VERSION, new);
    let appspec = lambda_release_appspec() + "  - AfterAllowTraffic: CodeDeployHook_preflight\n";
    rig.aws
        .create_deployment(DeploymentSpec::lambda(appspec).lifecycle(lifecycle))
}

/// A ten-minute canary that ended five minutes ago: the alias `live` sent a tenth of
/// [`REQUESTS`] to the new version; the deployment is at `AfterAllowTraffic`.
async fn canary_release(rig: &Rig, new: FunctionVersion) -> (Deployment, (SystemTime, SystemTime)) {
    let (from, to) = (minutes_ago(15), minutes_ago(5));
    let deployment = release(rig, new, Lifecycle::after_allow_traffic(from, to));
    rig.aws
        .add_alias(FUNCTION, "live", CURRENT_VERSION, Some((TARGET_VERSION, CANARY_WEIGHT)));
    let served = rig
        .aws
        .simulate_alias_traffic(FUNCTION, "live", REQUESTS, from, to)
        .await;
    assert_eq!(
        (
            served.version(TARGET_VERSION).invocations,
            served.version(CURRENT_VERSION).invocations
        ),
        (300, 2700),
        "the alias's split"
    );
    (deployment, (from, to))
}

/// The hook's answer to the invocation.
fn answered(outcome: &RuntimeOutcome) -> &Value {
    match outcome {
        RuntimeOutcome::Response(answer) => answer,
        other => panic!("the hook did not answer: {other:?}"),
    }
}

fn status_and_cause(answer: &Value) -> (&str, &str) {
    (
        answer["status"].as_str().unwrap_or_default(),
        answer["cause"].as_str().unwrap_or_default(),
    )
}

/// The summary line's `judged` field: the judgements, as JSON in a string.
fn judged(summary: &Value) -> Vec<Value> {
    let judged = summary
        .get("judged")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no `judged` in {summary}"));
    serde_json::from_str(judged).unwrap_or_else(|error| panic!("`judged` is not JSON ({error}): {judged}"))
}

/// The `Judgements` metric record, once the hook has written it.
async fn judgement_record(rig: &Rig) -> Value {
    let records = rig.hook.wait_for_metric_records(2).await;
    let judgements: Vec<&Value> = records
        .iter()
        .filter(|record| record.get("Judgements").is_some())
        .collect();
    assert_eq!(judgements.len(), 1, "one Judgements record: {records:?}");
    let record = judgements[0].clone();
    assert_eq!(preflight::plumbing::metrics::check_emf(&record), Ok(()));
    assert_eq!(record["Flow"], "codedeploy_hook", "{record}");
    assert_eq!(record["Judgements"].as_f64(), Some(1.0), "{record}");
    record
}

#[tokio::test]
async fn a_canary_failing_one_request_in_six_is_rolled_back_at_after_allow_traffic_with_the_evidence() {
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", CANARY)]).await;
    let (deployment, (from, to)) = canary_release(&rig, FunctionVersion::failing_every(6, Reply::Status(200))).await;

    let outcome = rig.run(&deployment).await;

    let answer = answered(&outcome);
    assert_eq!(status_and_cause(answer), ("Failed", "ReleaseFailed"), "{answer}");
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let evidence = format!(
        "{FUNCTION}:live failed on its real traffic: errors 50/300 (16.7%) against 0/2700 (0.0%) on version \
         {CURRENT_VERSION}: higher beyond chance"
    );
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with(&evidence), "{reason}");

    let summary = rig.summary(1).await;
    assert_eq!(
        (text(&summary, "status"), text(&summary, "cause")),
        ("Failed".to_string(), "ReleaseFailed".to_string())
    );
    assert_eq!(text(&summary, "reason"), reason);
    assert_eq!(text(&summary, "checks"), "", "a judged target is not checked again");
    let judged = judged(&summary);
    assert_eq!(judged.len(), 1, "{judged:?}");
    let window = format!("{}/{}", shown(from), shown(to));
    assert_eq!(judged[0]["target"], "my-api:live");
    assert_eq!(judged[0]["ruling"], "Fail");
    let rule = judged[0]["rule"].as_str().unwrap_or_default();
    assert!(rule.starts_with("errors 50/300 (16.7%)"), "{rule}");
    assert_eq!(reason, format!("{FUNCTION}:live failed on its real traffic: {rule}"));
    let side = |side: &Value| {
        (
            side["name"].as_str().unwrap_or_default().to_string(),
            side["window"].as_str().unwrap_or_default().to_string(),
            side["requests"].as_u64(),
            side["errors"].as_u64(),
        )
    };
    assert_eq!(
        side(&judged[0]["new"]),
        ("version 2".to_string(), window.clone(), Some(300), Some(50))
    );
    assert_eq!(
        side(&judged[0]["old"]),
        ("version 1".to_string(), window, Some(2700), Some(0))
    );

    let record = judgement_record(&rig).await;
    assert_eq!(record["Judgement"], "Fail", "{record}");

    assert_eq!(
        rig.aws.calls(Operation::GetMetricData),
        1,
        "one look read both versions"
    );
    assert_eq!(
        (
            rig.aws.calls(Operation::ListDeploymentTargets),
            rig.aws.calls(Operation::BatchGetDeploymentTargets)
        ),
        (1, 1),
        "the lifecycle, asked once"
    );
    assert_eq!(rig.aws.calls(Operation::Invoke), 0, "the hook invoked nothing itself");
    assert!(rig.aws.invocations().is_empty());
}

#[tokio::test]
async fn a_healthy_canary_is_passed_on_its_real_traffic() {
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", CANARY)]).await;
    let (deployment, _) = canary_release(&rig, FunctionVersion::replying(Reply::Status(200))).await;

    let outcome = rig.run(&deployment).await;

    let answer = answered(&outcome);
    assert_eq!(status_and_cause(answer), ("Succeeded", "Passed"), "{answer}");
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(&format!(
            "{FUNCTION}:live passed on its real traffic: errors 0/300 (0.0%) against 0/2700 (0.0%)"
        )),
        "{reason}"
    );
    let summary = rig.summary(1).await;
    let judged = judged(&summary);
    assert_eq!(
        (&judged[0]["ruling"], &judged[0]["new"]["requests"]),
        (&json!("Pass"), &json!(300))
    );
    assert_eq!(judgement_record(&rig).await["Judgement"], "Pass");
    assert_eq!(rig.aws.calls(Operation::GetMetricData), 1);
    assert_eq!(rig.aws.calls(Operation::Invoke), 0);
}

#[tokio::test]
async fn before_allow_traffic_the_same_release_is_checked_and_no_metric_is_read() {
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", CANARY)]).await;
    // Before traffic moves: the alias is still all on version 1.
    let deployment = release(
        &rig,
        FunctionVersion::failing_every(6, Reply::Status(200)),
        Lifecycle::in_progress("BeforeAllowTraffic"),
    );

    let outcome = rig.run(&deployment).await;

    let answer = answered(&outcome);
    assert_eq!(status_and_cause(answer), ("Succeeded", "Passed"), "{answer}");
    let invocations = rig.aws.invocations();
    assert_eq!(invocations.len(), 1, "{invocations:?}");
    assert_eq!(
        (invocations[0].function.as_str(), invocations[0].qualifier.as_deref()),
        (FUNCTION, Some(TARGET_VERSION))
    );
    assert_eq!(invocations[0].payload["path"], "/healthcheck");
    let summary = rig.summary(1).await;
    assert!(
        text(&summary, "checks").starts_with("my-api:2 /healthcheck: 200 in "),
        "{summary}"
    );
    assert!(summary.get("judged").is_none(), "nothing judged: {summary}");
    assert_eq!(rig.aws.calls(Operation::GetMetricData), 0, "no metric read");
    assert_eq!(
        rig.aws.calls(Operation::ListDeploymentTargets),
        1,
        "the hook asked which event called it"
    );
    let records = rig.hook.wait_for_metric_records(1).await;
    assert!(
        records.iter().all(|record| record.get("Judgements").is_none()),
        "{records:?}"
    );
}
