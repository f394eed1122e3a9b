//! The verdict event of a CodeDeploy hook invocation, in process on canned answers: sent once
//! CodeDeploy has accepted the report and never before it, carrying what was found; a failure to
//! send it (a refused call, a refused entry) changes neither the verdict nor the report; none with
//! `PREFLIGHT_EVENTS=off` (and no client built), none for a payload that cannot be read, and a bad
//! events setting fails the verdict naming it.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_eventbridge::Client as EventBridge;
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{Rule, mock};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{config, deployment_named_by_sha, invoke_answering, report_accepted, revision_by_sha};
use crate::checks::announce::EventSettings;
use crate::checks::config::Config;
use crate::checks::setup::CheckSetup;
use crate::codedeploy_hook::{Hook, HookError};
use crate::plumbing::aws::{AwsClients, canned};
use crate::plumbing::env::ConfigError;

/// A hook announcing its verdicts as `events` say.
fn announcing(config: Config, events: Result<EventSettings, ConfigError>) -> Arc<Hook> {
    Arc::new(Hook::new(Arc::new(CheckSetup::new(Ok(config)).with_events(events))))
}

fn on() -> Result<EventSettings, ConfigError> {
    Ok(EventSettings::default())
}

/// The one entry's detail, parsed.
fn detail(request: &PutEventsInput) -> Value {
    let entry = request.entries().first();
    serde_json::from_str(entry.and_then(|entry| entry.detail()).unwrap_or_default()).unwrap_or_default()
}

/// PutEvents accepting the event, when `matches` holds for the request.
fn accepted_when(matches: impl Fn(&PutEventsInput) -> bool + Send + Sync + 'static) -> Rule {
    mock!(EventBridge::put_events).match_requests(matches).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("e-1").build())
            .build()
    })
}

/// The clients of a Lambda release: CodeDeploy's `codedeploy`, Lambda's `lambda`, EventBridge's
/// `eventbridge`.
fn clients(codedeploy: &[&Rule], lambda: &[&Rule], eventbridge: &[&Rule]) -> Arc<AwsClients> {
    Arc::new(
        AwsClients::from_clients(canned::codedeploy(codedeploy), canned::lambda(lambda), canned::elb(&[]))
            .with_eventbridge(canned::eventbridge(eventbridge)),
    )
}

async fn run(hook: Arc<Hook>, clients: Arc<AwsClients>, payload: Value) -> Result<Value, HookError> {
    hook.handle(clients, &payload, Instant::now() + Duration::from_secs(30))
        .await
}

fn payload() -> Value {
    json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"})
}

#[tokio::test]
async fn the_verdict_is_announced_after_its_report_with_what_was_checked() {
    let (deployment, revision, broken) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(500));
    let report = report_accepted(LifecycleEventStatus::Failed);
    let reported = report.clone();
    let event = accepted_when(move |request| {
        let entry = &request.entries()[0];
        let detail = detail(request);
        // Matched only once CodeDeploy has the report: an event before it would find no answer.
        reported.num_calls() == 1
            && entry.source() == Some("preflight")
            && entry.detail_type() == Some("Preflight Verdict")
            && entry.event_bus_name() == Some("default")
            && detail["deploymentId"] == "d-1"
            && detail["status"] == "Failed"
            && detail["cause"] == "ReleaseFailed"
            && detail["fault"] == "Release"
            && detail["targets"][0]["target"] == "my-api"
            && detail["targets"][0]["checks"][0]["check"] == "my-api:2 /healthcheck"
            && detail["targets"][0]["checks"][0]["status"] == 500
    });
    let hook = announcing(config(&[("CHECK_ATTEMPTS", "1")]), on());
    let answer = run(
        hook,
        clients(&[&deployment, &revision, &report], &[&broken], &[&event]),
        payload(),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["report"]),
        (&json!("Failed"), &json!("accepted"))
    );
    assert_eq!((report.num_calls(), event.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_failure_to_announce_changes_neither_the_verdict_nor_the_report() {
    let denied = mock!(EventBridge::put_events).then_http_response(|| {
        canned::json_error(
            400,
            "AccessDeniedException",
            "not authorized to perform: events:PutEvents",
        )
    });
    let refused = mock!(EventBridge::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(
                PutEventsResultEntry::builder()
                    .error_code("InvalidArgument")
                    .error_message("Parameter Detail is not valid.")
                    .build(),
            )
            .build()
    });
    for failing in [&denied, &refused] {
        let (deployment, revision, healthy) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(200));
        let report = report_accepted(LifecycleEventStatus::Succeeded);
        let answer = run(
            announcing(config(&[]), on()),
            clients(&[&deployment, &revision, &report], &[&healthy], &[failing]),
            payload(),
        )
        .await
        .expect("reported, whatever became of the event");
        assert_eq!(
            (&answer["status"], &answer["cause"], &answer["report"]),
            (&json!("Succeeded"), &json!("Passed"), &json!("accepted"))
        );
        assert_eq!(report.num_calls(), 1, "the report went out once");
    }
    assert_eq!((denied.num_calls(), refused.num_calls()), (1, 1));
}

#[tokio::test]
async fn with_events_off_nothing_is_announced_and_no_client_is_built() {
    let off = || EventSettings::from_lookup(&|name: &str| (name == "PREFLIGHT_EVENTS").then(|| "off".to_string()));
    let (deployment, revision, healthy) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(200));
    let report = report_accepted(LifecycleEventStatus::Succeeded);
    let event = accepted_when(|_| true);
    run(
        announcing(config(&[]), off()),
        clients(&[&deployment, &revision, &report], &[&healthy], &[&event]),
        payload(),
    )
    .await
    .expect("reported");
    assert_eq!((report.num_calls(), event.num_calls()), (1, 0));

    let unbuilt = Arc::new(AwsClients::from_clients(
        canned::codedeploy(&[&deployment, &revision, &report]),
        canned::lambda(&[&healthy]),
        canned::elb(&[]),
    ));
    run(announcing(config(&[]), off()), Arc::clone(&unbuilt), payload())
        .await
        .expect("reported");
    assert!(!unbuilt.eventbridge_built(), "no EventBridge client with events off");
}

#[tokio::test]
async fn a_payload_that_cannot_be_read_has_no_verdict_and_announces_none() {
    let event = accepted_when(|_| true);
    let error = run(
        announcing(config(&[]), on()),
        clients(&[], &[], &[&event]),
        json!({"DeploymentId": "d-1"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, HookError::Payload(_)), "{error}");
    assert_eq!(event.num_calls(), 0);
}

#[tokio::test]
async fn a_bad_events_setting_fails_the_verdict_naming_it_and_the_failure_is_still_announced() {
    let report = report_accepted(LifecycleEventStatus::Failed);
    let event = accepted_when(|request| {
        let detail = detail(request);
        request.entries()[0].event_bus_name() == Some("default")
            && detail["cause"] == "Misconfigured"
            && detail["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("PREFLIGHT_EVENT_BUS"))
    });
    let bad = EventSettings::from_lookup(&|name: &str| (name == "PREFLIGHT_EVENT_BUS").then(|| "my bus".to_string()));
    let answer = run(
        announcing(config(&[]), bad),
        clients(&[&report], &[], &[&event]),
        payload(),
    )
    .await
    .expect("reported");
    assert_eq!(
        (&answer["status"], &answer["cause"]),
        (&json!("Failed"), &json!("Misconfigured"))
    );
    assert!(
        answer["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("PREFLIGHT_EVENT_BUS is `my bus`"),
        "{answer}"
    );
    assert_eq!(event.num_calls(), 1);
}

#[tokio::test]
async fn an_undelivered_report_announces_nothing() {
    let (deployment, revision, healthy) = (deployment_named_by_sha(), revision_by_sha(), invoke_answering(200));
    let unknown =
        mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status).then_http_response(|| {
            canned::json_error(
                400,
                "InvalidLifecycleEventHookExecutionIdException",
                "unknown hook execution",
            )
        });
    let event = accepted_when(|_| true);
    let error = run(
        announcing(config(&[]), on()),
        clients(&[&deployment, &revision, &unknown], &[&healthy], &[&event]),
        payload(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, HookError::ReportNotDelivered(_)), "{error}");
    assert_eq!(event.num_calls(), 0, "CodeDeploy has no verdict to announce");
}
