//! Verdict events through the real `bootstrap` and the stand-in's EventBridge (PutEvents in its
//! real protocol): one event per kind of verdict (pre-traffic checks passed and failed, a canary
//! judged at `AfterAllowTraffic`, an ECS-native canary step's `FAILED`, a misconfiguration, a
//! denied call), each with its detail, each after the report it announces; none while an ECS step
//! is `IN_PROGRESS`, none with `PREFLIGHT_EVENTS=off`, none for a payload that cannot be read; and
//! an event EventBridge refuses leaves the verdict as it was, logged and counted. What decides the
//! events is tested in process: `src/checks/announce.rs`, and the `events` tests of each hook.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{HookRig as Rig, TIMEOUT, text};
use serde_json::{Value, json};
use stand_in::fixtures::{CURRENT_VERSION, FUNCTION, TARGET_VERSION, ecs_native, lambda_release_appspec, test_rule};
use stand_in::kit::{lambda_appspec, minutes_ago};
use stand_in::local_aws::PutEventRecord;
use stand_in::{
    Answer, DeploymentSpec, Fault, FunctionVersion, HttpTarget, Lifecycle, Operation, Reply, RuntimeOutcome,
    TargetGroupRequests,
};

/// Quick to fail: two attempts 20 ms apart.
const QUICK: [(&str, &str); 2] = [("CHECK_ATTEMPTS", "2"), ("CHECK_INTERVAL_MS", "20")];

/// The one event the stand-in's EventBridge holds, checked for what every verdict event has.
fn the_event(rig: &Rig) -> PutEventRecord {
    let events = rig.aws.eventbridge_events();
    assert_eq!(events.len(), 1, "one event: {events:?}");
    let event = events[0].clone();
    assert_eq!(
        (event.source.as_str(), event.detail_type.as_str(), event.bus.as_str()),
        ("preflight", "Preflight Verdict", "default")
    );
    event
}

/// `(status, cause, fault)` of a detail.
fn said(detail: &Value) -> (&str, &str, &str) {
    let field = |name: &str| detail[name].as_str().unwrap_or_default();
    (field("status"), field("cause"), field("fault"))
}

#[tokio::test]
async fn checks_passed_and_failed_before_traffic_are_each_announced_after_their_report() {
    let rig = Rig::start(&QUICK).await;
    let healthy = rig.my_api(Reply::Status(200));
    rig.run(&healthy).await;

    assert_eq!(rig.aws.accepted_status(&healthy).as_deref(), Some("Succeeded"));
    let event = the_event(&rig);
    assert_eq!(event.reports_before, 1, "the report came first");
    let detail = &event.detail;
    assert_eq!(said(detail), ("Succeeded", "Passed", "None"));
    assert_eq!(detail["flow"], "codedeploy_hook");
    assert_eq!(detail["deploymentId"], healthy.id.as_str());
    assert_eq!(detail["deployed"], "my-app/my-app-live: Lambda my-api 1→2");
    assert_eq!(detail["reason"], "all 1 checks passed");
    assert!(
        detail.get("lifecycleEvent").is_none(),
        "not read without a canary entry: {detail}"
    );
    let target = &detail["targets"][0];
    assert_eq!(
        (&target["target"], &target["source"]),
        (&json!("my-api"), &json!("defaults"))
    );
    let check = &target["checks"][0];
    assert_eq!(
        (&check["check"], &check["passed"], &check["status"], &check["attempts"]),
        (
            &json!("my-api:2 /healthcheck"),
            &json!(true),
            &json!(200),
            &json!(["pass"])
        )
    );

    rig.aws
        .add_function(FUNCTION, "3", FunctionVersion::replying(Reply::Status(500)));
    let broken = rig
        .aws
        .create_deployment(DeploymentSpec::lambda(lambda_appspec(&[(FUNCTION, "2", "3")])));
    rig.run(&broken).await;

    assert_eq!(rig.aws.accepted_status(&broken).as_deref(), Some("Failed"));
    let events = rig.aws.eventbridge_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].reports_before, 2, "after its own report");
    let detail = &events[1].detail;
    assert_eq!(said(detail), ("Failed", "ReleaseFailed", "Release"));
    assert_eq!(detail["deploymentId"], broken.id.as_str());
    // The example in docs/operations.md is this event's detail.
    eprintln!("{}", serde_json::to_string_pretty(detail).unwrap_or_default());
    let check = &detail["targets"][0]["checks"][0];
    assert_eq!(
        (&check["check"], &check["passed"], &check["attempts"]),
        (
            &json!("my-api:3 /healthcheck"),
            &json!(false),
            &json!(["failure", "failure"])
        )
    );
    assert!(
        check["failure"]
            .as_str()
            .is_some_and(|failure| failure.starts_with("status 500, expected 200-399")),
        "{check}"
    );
    assert_eq!(
        text(&rig.summary(2).await, "reason"),
        detail["reason"].as_str().unwrap_or_default()
    );
}

#[tokio::test]
async fn a_canary_judged_after_traffic_moved_is_announced_with_its_evidence() {
    let canary = "targets: [{function: my-api, checks: [{path: /healthcheck}], canary: {bake_minutes: 0}}]";
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", canary)]).await;
    rig.aws
        .add_function(FUNCTION, CURRENT_VERSION, FunctionVersion::replying(Reply::Status(200)));
    rig.aws.add_function(
        FUNCTION,
        TARGET_VERSION,
        FunctionVersion::failing_every(6, Reply::Status(200)),
    );
    let (from, to) = (minutes_ago(15), minutes_ago(5));
    let appspec = lambda_release_appspec() + "  - AfterAllowTraffic: CodeDeployHook_preflight\n";
    let deployment = rig
        .aws
        .create_deployment(DeploymentSpec::lambda(appspec).lifecycle(Lifecycle::after_allow_traffic(from, to)));
    rig.aws
        .add_alias(FUNCTION, "live", CURRENT_VERSION, Some((TARGET_VERSION, 0.1)));
    rig.aws.simulate_alias_traffic(FUNCTION, "live", 3000, from, to).await;

    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let event = the_event(&rig);
    assert_eq!(event.reports_before, 1);
    let detail = &event.detail;
    assert_eq!(said(detail), ("Failed", "ReleaseFailed", "Release"));
    assert_eq!(detail["lifecycleEvent"], "AfterAllowTraffic");
    let target = &detail["targets"][0];
    assert_eq!(target["target"], "my-api");
    assert_eq!(target["checks"], json!([]), "judged, not checked");
    let judged = &target["judged"];
    assert_eq!(
        (&judged["target"], &judged["ruling"]),
        (&json!("my-api:live"), &json!("Fail"))
    );
    assert_eq!(
        (
            &judged["new"]["requests"],
            &judged["new"]["errors"],
            &judged["old"]["requests"]
        ),
        (&json!(300), &json!(50), &json!(2700))
    );
    assert!(
        judged["rule"]
            .as_str()
            .unwrap_or_default()
            .starts_with("errors 50/300 (16.7%)"),
        "{judged}"
    );
}

/// What follows `marker` in `arn`, with `prefix` before it: CloudWatch's name of a load balancer
/// or a target group.
fn named_after(arn: &str, marker: &str, prefix: &str) -> String {
    let (_, rest) = arn
        .split_once(marker)
        .unwrap_or_else(|| panic!("{arn} has no {marker}"));
    format!("{prefix}{rest}")
}

async fn answer(rig: &Rig, payload: Value) -> Value {
    match rig.aws.deliver_payload(payload, TIMEOUT).await.outcome {
        RuntimeOutcome::Response(answer) => answer,
        other => panic!("the hook did not answer: {other:?}"),
    }
}

#[tokio::test]
async fn an_ecs_canary_step_announces_its_failed_judgement_and_nothing_while_in_progress() {
    let green = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start green");
    let rig = Rig::start(&[]).await;
    let service = rig.aws.add_ecs_service(green.port(), test_rule());
    rig.aws.shift_test_traffic(&service, true);
    // Green erred on a fifth of its requests over the last ten minutes, blue on none.
    let names = ecs_native(1);
    let load_balancer = named_after(&names.load_balancer, ":loadbalancer/", "");
    let (from, to) = (minutes_ago(10), minutes_ago(0));
    for (group, requests, five_xx_share) in [
        (&names.green_target_group, 400, 0.2),
        (&names.blue_target_group, 3600, 0.0),
    ] {
        let load = TargetGroupRequests {
            requests,
            five_xx_share,
            latency: Duration::from_millis(80),
        };
        let group = named_after(group, ":000000000000:", "");
        rig.aws
            .simulate_target_group_traffic(&load_balancer, &group, from, to, load);
    }
    let canary = json!({"preflight": {"checks": [{"path": "/healthcheck"}], "canary": {}}});

    let first = answer(
        &rig,
        service.hook_event("PRODUCTION_TRAFFIC_SHIFT", Some(10.0), Some(canary.clone())),
    )
    .await;
    assert_eq!(first["hookStatus"], "IN_PROGRESS", "{first}");
    assert_eq!(rig.aws.calls(Operation::PutEvents), 0, "IN_PROGRESS is no verdict");

    // ECS calls again with what the first call returned; the step began ten minutes ago.
    let mut details = canary;
    details["preflightCanary"] = first["hookDetails"]["preflightCanary"].clone();
    details["preflightCanary"]["since"] = json!(from.duration_since(UNIX_EPOCH).expect("after 1970").as_secs());
    let later = answer(
        &rig,
        service.hook_event("PRODUCTION_TRAFFIC_SHIFT", Some(10.0), Some(details)),
    )
    .await;
    assert_eq!(later, json!({"hookStatus": "FAILED"}));

    let event = the_event(&rig);
    let detail = &event.detail;
    assert_eq!(said(detail), ("FAILED", "ReleaseFailed", "Release"));
    assert_eq!(
        (&detail["flow"], &detail["stage"], &detail["service"]),
        (
            &json!("ecs_hook"),
            &json!("PRODUCTION_TRAFFIC_SHIFT"),
            &json!("checkout-1")
        )
    );
    assert_eq!(detail["revision"], service.green_revision.as_str());
    assert!(
        detail["serviceDeploymentArn"]
            .as_str()
            .is_some_and(|arn| arn.contains(":service-deployment/shop/checkout-1/")),
        "{detail}"
    );
    let judged = &detail["targets"][0]["judged"];
    assert_eq!(judged["ruling"], "Fail", "{detail}");
    // The minutes that had settled: a fifth of green's requests erred, none of blue's.
    let side = |name: &str| (judged[name]["requests"].as_u64(), judged[name]["errors"].as_u64());
    let (Some(requests), Some(errors)) = side("new") else {
        panic!("{judged}")
    };
    assert!(requests > 0 && errors * 5 == requests, "{judged}");
    assert_eq!(side("old").1, Some(0), "{judged}");
}

#[tokio::test]
async fn a_misconfiguration_and_a_denied_call_are_announced_as_preflight_s_fault() {
    let misconfigured = Rig::start(&[("CHECK_ATTEMPTS", "lots")]).await;
    let deployment = misconfigured.my_api(Reply::Status(200));
    misconfigured.run(&deployment).await;

    assert_eq!(
        misconfigured.aws.accepted_status(&deployment).as_deref(),
        Some("Failed")
    );
    let event = the_event(&misconfigured);
    assert_eq!(event.reports_before, 1);
    assert_eq!(said(&event.detail), ("Failed", "Misconfigured", "Preflight"));
    assert!(
        event.detail["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("CHECK_ATTEMPTS is `lots`"),
        "{}",
        event.detail
    );
    assert_eq!(event.detail["targets"], json!([]));

    let denied = Rig::start(&[]).await;
    let deployment = denied.my_api(Reply::Status(200));
    denied.aws.inject(Operation::GetDeployment, Fault::AccessDenied, 1);
    denied.run(&deployment).await;

    assert_eq!(denied.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let event = the_event(&denied);
    assert_eq!(event.reports_before, 1);
    assert_eq!(said(&event.detail), ("Failed", "NotPermitted", "Preflight"));
    assert!(
        event.detail["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("grant this function's role codedeploy:GetDeployment"),
        "{}",
        event.detail
    );
}

#[tokio::test]
async fn an_event_eventbridge_refuses_changes_nothing_and_is_logged_and_counted() {
    let rig = Rig::start(&[("PREFLIGHT_EVENT_BUS", "releases")]).await;
    let deployment = rig.my_api(Reply::Status(200));
    let outcome = rig.run(&deployment).await;

    assert!(
        matches!(&outcome, RuntimeOutcome::Response(answer) if answer["status"] == "Succeeded"),
        "{outcome:?}"
    );
    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    assert_eq!(rig.aws.calls(Operation::PutEvents), 1);
    assert!(rig.aws.eventbridge_events().is_empty(), "the bus does not exist");
    let records = rig.hook.wait_for_metric_records(2).await;
    let not_sent: Vec<&Value> = records
        .iter()
        .filter(|record| record.get("VerdictEventsNotSent").is_some())
        .collect();
    assert_eq!(not_sent.len(), 1, "{records:?}");
    assert_eq!(preflight::plumbing::metrics::check_emf(not_sent[0]), Ok(()));
    assert_eq!(
        (&not_sent[0]["Flow"], &not_sent[0]["VerdictEventsNotSent"]),
        (&json!("codedeploy_hook"), &json!(1.0))
    );
    assert_eq!(
        not_sent[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Flow"]])
    );
    let logged = rig
        .hook
        .wait_for_logged("verdict event not sent; the verdict stands", 1)
        .await;
    assert_eq!(logged.len(), 1, "{:?}", rig.hook.lines());
    let error = text(&logged[0], "error");
    assert!(
        error.contains("ResourceNotFoundException") && error.contains("create the event bus releases"),
        "{error}"
    );

    // Once the bus is there, the next verdict reaches it.
    rig.aws.add_event_bus("releases");
    let next = rig.my_api(Reply::Status(200));
    rig.run(&next).await;
    let events = rig.aws.eventbridge_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].bus.as_str(), &events[0].detail["deploymentId"]),
        ("releases", &json!(next.id))
    );
}

#[tokio::test]
async fn nothing_is_announced_with_events_off_or_for_a_payload_that_cannot_be_read() {
    let off = Rig::start(&[("PREFLIGHT_EVENTS", "off")]).await;
    let deployment = off.my_api(Reply::Status(200));
    off.run(&deployment).await;
    assert_eq!(off.aws.accepted_status(&deployment).as_deref(), Some("Succeeded"));
    assert_eq!(off.aws.calls(Operation::PutEvents), 0);

    let on = Rig::start(&[]).await;
    let outcome = on.invoke(json!({"DeploymentId": "d-1"}), TIMEOUT).await;
    assert!(matches!(outcome, RuntimeOutcome::Error(_)), "{outcome:?}");
    assert_eq!(on.aws.calls(Operation::PutEvents), 0, "no verdict, no event");
}

#[tokio::test]
async fn a_bad_events_setting_fails_the_verdict_naming_it_and_the_failure_is_announced() {
    let rig = Rig::start(&[("PREFLIGHT_EVENTS", "sometimes")]).await;
    let deployment = rig.my_api(Reply::Status(200));
    rig.run(&deployment).await;

    assert_eq!(rig.aws.accepted_status(&deployment).as_deref(), Some("Failed"));
    let event = the_event(&rig);
    assert_eq!(said(&event.detail), ("Failed", "Misconfigured", "Preflight"));
    assert!(
        event.detail["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("PREFLIGHT_EVENTS is `sometimes`"),
        "{}",
        event.detail
    );
}
