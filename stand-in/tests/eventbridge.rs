//! The stand-in's EventBridge through the real SDK client, which speaks awsJson1_1 with
//! `X-Amz-Target: AWSEvents.PutEvents`: events accepted on the default bus (by name or ARN) and on
//! a bus a test added, each with its id; entries refused one by one as AWS refuses them, the rest
//! accepted; whole requests refused (too many entries, too large); injected faults.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::json;
use stand_in::{Fault, LocalAws, Operation};

/// A client of the stand-in that gives up at the first error, to read it.
async fn eventbridge(aws: &LocalAws) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(aws.endpoint_url())
        .region("us-east-1")
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "AKIASTANDIN000000000",
            "stand-in-secret-not-real",
            None,
            None,
            "eventbridge-tests",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Client::new(&config)
}

fn entry(bus: Option<&str>, detail: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .set_event_bus_name(bus.map(str::to_string))
        .source("preflight")
        .detail_type("Preflight Verdict")
        .detail(detail)
        .build()
}

#[tokio::test]
async fn events_are_accepted_on_existing_buses_and_refused_entry_by_entry() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    aws.add_event_bus("releases");
    let client = eventbridge(&aws).await;
    let answer = client
        .put_events()
        .entries(entry(None, r#"{"status": "Failed"}"#))
        .entries(entry(
            Some("arn:aws:events:us-east-1:000000000000:event-bus/default"),
            r#"{"n": 2}"#,
        ))
        .entries(entry(Some("releases"), r#"{"n": 3}"#))
        .entries(entry(Some("nowhere"), r#"{"n": 4}"#))
        .entries(entry(None, "[1, 2]"))
        .entries(
            PutEventsRequestEntry::builder()
                .source("preflight")
                .detail("{}")
                .build(),
        )
        .send()
        .await
        .expect("answered");

    assert_eq!(answer.failed_entry_count(), 3);
    let results = answer.entries();
    assert_eq!(results.len(), 6, "one result per entry, in order");
    assert!(results[..3].iter().all(|result| result.event_id().is_some()));
    let refusals: Vec<(Option<&str>, Option<&str>)> = results[3..]
        .iter()
        .map(|result| (result.error_code(), result.error_message()))
        .collect();
    assert_eq!(
        refusals,
        [
            (
                Some("ResourceNotFoundException"),
                Some("Event bus nowhere does not exist.")
            ),
            (Some("MalformedDetail"), Some("Detail is malformed.")),
            (
                Some("InvalidArgument"),
                Some("Parameter DetailType is not valid. Reason: DetailType is a required argument.")
            ),
        ]
    );

    let events = aws.eventbridge_events();
    let buses: Vec<&str> = events.iter().map(|event| event.bus.as_str()).collect();
    assert_eq!(buses, ["default", "default", "releases"]);
    assert_eq!(events[0].detail, json!({"status": "Failed"}));
    assert_eq!(
        (events[0].source.as_str(), events[0].detail_type.as_str()),
        ("preflight", "Preflight Verdict")
    );
    assert_eq!(Some(events[0].event_id.as_str()), results[0].event_id());
    assert_eq!(events[0].reports_before, 0);
    assert_eq!(aws.calls(Operation::PutEvents), 1);
}

#[tokio::test]
async fn too_many_or_too_large_entries_refuse_the_whole_request() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let client = eventbridge(&aws).await;
    let mut eleven = client.put_events();
    for n in 0..11 {
        eleven = eleven.entries(entry(None, &format!(r#"{{"n": {n}}}"#)));
    }
    let error = eleven.send().await.unwrap_err();
    assert_eq!(error.code(), Some("ValidationException"));

    let large = format!(r#"{{"text": "{}"}}"#, "x".repeat(256 * 1024));
    let error = client
        .put_events()
        .entries(entry(None, &large))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ValidationException"));
    assert!(
        error.message().unwrap_or_default().contains("over the limit"),
        "{error:?}"
    );
    assert!(aws.eventbridge_events().is_empty());
}

#[tokio::test]
async fn injected_faults_answer_as_eventbridge_does() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let client = eventbridge(&aws).await;
    for (fault, code) in [
        (Fault::AccessDenied, "AccessDeniedException"),
        (Fault::Throttle, "ThrottlingException"),
        (Fault::ServerError, "InternalException"),
    ] {
        aws.inject(Operation::PutEvents, fault, 1);
        let error = client.put_events().entries(entry(None, "{}")).send().await.unwrap_err();
        assert_eq!(error.code(), Some(code), "{fault:?}");
    }
    assert!(aws.eventbridge_events().is_empty());
    assert_eq!(aws.calls(Operation::PutEvents), 3);
}
