//! The verdict event of an ECS hook call, in process on canned answers: sent just before the
//! final answer is returned, with the service deployment, the stage and what was checked; never
//! for `IN_PROGRESS`, which is no verdict; none for a payload that cannot be read; and an answer
//! unchanged when EventBridge refuses the event.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eventbridge::Client as EventBridge;
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{Rule, mock};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{CannedAws, green, green_group, payload};
use crate::checks::announce::EventSettings;
use crate::checks::setup::CheckSetup;
use crate::ecs_hook::{EcsHook, HookAnswer, config_from};
use crate::plumbing::aws::{AwsClients, canned};

fn announcing(pairs: &[(&str, &str)]) -> Arc<EcsHook> {
    let setup = CheckSetup::new(Ok(config_from(pairs))).with_events(Ok(EventSettings::default()));
    Arc::new(EcsHook::new(Arc::new(setup)))
}

/// The service's canned ECS and ELBv2 answers, and EventBridge's `eventbridge`.
fn clients(aws: &CannedAws, eventbridge: &Rule) -> Arc<AwsClients> {
    Arc::new(
        AwsClients::from_clients(
            canned::codedeploy(&[]),
            canned::lambda(&[]),
            canned::elb(&[&aws.rule, &aws.listeners, &aws.balancers]),
        )
        .with_ecs(canned::ecs(&[&aws.revision]))
        .with_eventbridge(canned::eventbridge(&[eventbridge])),
    )
}

/// One call of a function whose Lambda timeout is `timeout`.
async fn answer(hook: &Arc<EcsHook>, clients: Arc<AwsClients>, payload: &Value, timeout: Duration) -> HookAnswer {
    Arc::clone(hook)
        .answer(clients, payload, Instant::now() + timeout)
        .await
        .expect("answered")
}

fn accepted() -> Rule {
    mock!(EventBridge::put_events)
        .match_requests(|request| {
            let entry = &request.entries()[0];
            let detail: Value = serde_json::from_str(entry.detail().unwrap_or_default()).unwrap_or_default();
            entry.source() == Some("preflight")
                && detail["status"] == "FAILED"
                && detail["cause"] == "ReleaseFailed"
                && detail["stage"] == "POST_TEST_TRAFFIC_SHIFT"
                && detail["service"] == "checkout-1"
                && detail["serviceDeploymentArn"]
                    .as_str()
                    .is_some_and(|arn| arn.contains(":service-deployment/"))
                && detail["targets"][0]["checks"]
                    .as_array()
                    .is_some_and(|checks| checks.iter().all(|check| check["status"] == 503))
        })
        .then_output(|| {
            PutEventsOutput::builder()
                .entries(PutEventsResultEntry::builder().event_id("e-1").build())
                .build()
        })
}

#[tokio::test(start_paused = true)]
async fn in_progress_is_no_verdict_and_the_final_answer_is_announced_once() {
    let (_target, port) = green(503).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let event = accepted();
    // Two attempts fit in a call: the third waits for the next one.
    let hook = announcing(&[
        ("CHECK_ATTEMPTS", "3"),
        ("CHECK_INTERVAL_MS", "1500"),
        ("CHECK_TIMEOUT_MS", "1000"),
        ("DEADLINE_MARGIN_MS", "200"),
    ]);
    let two_seconds = Duration::from_secs(2);
    let first = answer(
        &hook,
        clients(&aws, &event),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
        two_seconds,
    )
    .await;
    assert_eq!(first.to_value()["hookStatus"], "IN_PROGRESS");
    assert_eq!(event.num_calls(), 0, "IN_PROGRESS sends no event");

    tokio::time::sleep(Duration::from_secs(first.call_back_delay.unwrap_or(1))).await;
    let details = first.hook_details.clone();
    let last = answer(
        &hook,
        clients(&aws, &event),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, details),
        two_seconds,
    )
    .await;
    assert_eq!(last.to_value(), json!({"hookStatus": "FAILED"}));
    assert_eq!(event.num_calls(), 1, "the final answer's event");
}

#[tokio::test(start_paused = true)]
async fn an_answer_stands_when_eventbridge_refuses_its_event() {
    let (_target, port) = green(503).await;
    let aws = CannedAws::routing_to(green_group(), port);
    let throttled = mock!(EventBridge::put_events)
        .then_http_response(|| canned::json_error(400, "ThrottlingException", "Rate exceeded"));
    let hook = announcing(&[("CHECK_ATTEMPTS", "1")]);
    let answered = answer(
        &hook,
        clients(&aws, &throttled),
        &payload("POST_TEST_TRAFFIC_SHIFT", None, None),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(answered.to_value(), json!({"hookStatus": "FAILED"}));
    assert_eq!(answered.cause.name(), "ReleaseFailed");
    assert_eq!(throttled.num_calls(), 4, "the SDK's retries, then given up");
}

#[tokio::test]
async fn a_payload_that_cannot_be_read_announces_nothing() {
    let aws = CannedAws::routing_to(green_group(), 1);
    let event = accepted();
    let mut bad = payload("POST_TEST_TRAFFIC_SHIFT", None, None);
    bad["executionDetails"] = json!("green");
    let refused = Arc::clone(&announcing(&[]))
        .answer(clients(&aws, &event), &bad, Instant::now() + Duration::from_secs(2))
        .await;
    assert!(refused.is_err());
    assert_eq!(event.num_calls(), 0);
}
