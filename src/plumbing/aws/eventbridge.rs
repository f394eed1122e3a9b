//! EventBridge's `PutEvents`, one entry at a time, with its errors typed once: an answer that
//! counts the entry among its `FailedEntryCount` is a failure too, named by the entry's
//! `ErrorCode` and `ErrorMessage` (EventBridge answers HTTP 200 for it, which the SDK's retries
//! never see).

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::error::{AwsError, Failure, Service};

const OPERATION: &str = "PutEvents";

/// How many times an entry EventBridge refused with a code it documents as retryable is sent.
const ENTRY_TRIES: usize = 3;

/// The entry codes `PutEventsResultEntry` documents as retryable.
const RETRYABLE_ENTRY_CODES: [&str; 2] = ["ThrottlingException", "InternalFailure"];

/// One event to put on a bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    /// The bus's name or ARN (`default`: the account's default bus).
    pub bus: &'a str,
    pub source: &'a str,
    pub detail_type: &'a str,
    /// A JSON object, as text.
    pub detail: &'a str,
}

/// Puts `entry` and returns the event's id. Throttling and 5xx answers are retried by the SDK;
/// an entry refused with a retryable code is sent again here; a denied call names
/// `events:PutEvents` and the bus.
pub(crate) async fn put_event(client: &Client, entry: Entry<'_>) -> Result<String, AwsError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match put_once(client, entry).await {
            Err(error) if tries < ENTRY_TRIES && is_retryable_entry(&error) => continue,
            put => return put,
        }
    }
}

async fn put_once(client: &Client, entry: Entry<'_>) -> Result<String, AwsError> {
    let answer = client
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(entry.bus)
                .source(entry.source)
                .detail_type(entry.detail_type)
                .detail(entry.detail)
                .build(),
        )
        .send()
        .await
        .map_err(|error| advised(AwsError::from_sdk(Service::EventBridge, OPERATION, &error), entry.bus))?;
    let first = answer.entries().first();
    if answer.failed_entry_count() > 0 || first.is_none_or(|result| result.event_id().is_none()) {
        let refused = AwsError {
            service: Service::EventBridge,
            operation: OPERATION,
            failure: Failure::Service,
            code: Some(
                first
                    .and_then(|result| result.error_code())
                    .unwrap_or("FailedEntry")
                    .to_string(),
            ),
            message: Some(match first.and_then(|result| result.error_message()) {
                Some(message) => format!("the event was refused by bus {}: {message}", entry.bus),
                None => format!(
                    "the event was refused by bus {} ({} failed entries, no event id)",
                    entry.bus,
                    answer.failed_entry_count()
                ),
            }),
            http_status: None,
            advice: None,
        };
        return Err(advised(refused, entry.bus));
    }
    Ok(first
        .and_then(|result| result.event_id())
        .unwrap_or_default()
        .to_string())
}

/// What to change when the bus refused for good: a missing permission, or a bus that is not there.
fn advised(error: AwsError, bus: &str) -> AwsError {
    let code = error.code().unwrap_or_default();
    if super::error::is_access_denied(code) {
        let advice = format!(
            "grant this function's role events:PutEvents on the event bus {bus} (PREFLIGHT_EVENT_BUS), or set \
             PREFLIGHT_EVENTS to off"
        );
        error.with_advice(advice)
    } else if code.contains("NotFound") {
        let advice = format!("create the event bus {bus}, or name one that exists in PREFLIGHT_EVENT_BUS");
        error.with_advice(advice)
    } else {
        error
    }
}

fn is_retryable_entry(error: &AwsError) -> bool {
    error.http_status.is_none() && error.code().is_some_and(|code| RETRYABLE_ENTRY_CODES.contains(&code))
}

#[cfg(test)]
mod tests {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::plumbing::aws::canned;

    const ENTRY: Entry<'static> = Entry {
        bus: "default",
        source: "preflight",
        detail_type: "Preflight Verdict",
        detail: r#"{"status":"Failed"}"#,
    };

    fn refused(code: &'static str) -> aws_smithy_mocks::Rule {
        mock!(Client::put_events).then_output(move || {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code(code)
                        .error_message("Detail is malformed.")
                        .build(),
                )
                .build()
        })
    }

    #[tokio::test]
    async fn the_entry_goes_to_the_bus_and_its_event_id_comes_back() {
        let accepted = mock!(Client::put_events)
            .match_requests(|request| {
                let entry = &request.entries()[0];
                request.entries().len() == 1
                    && entry.event_bus_name() == Some("default")
                    && entry.source() == Some("preflight")
                    && entry.detail_type() == Some("Preflight Verdict")
                    && entry.detail() == Some(r#"{"status":"Failed"}"#)
            })
            .then_output(|| {
                PutEventsOutput::builder()
                    .failed_entry_count(0)
                    .entries(PutEventsResultEntry::builder().event_id("e-1").build())
                    .build()
            });
        let id = put_event(&canned::eventbridge(&[&accepted]), ENTRY).await;
        assert_eq!(id.as_deref(), Ok("e-1"));
    }

    #[tokio::test]
    async fn a_failed_entry_is_an_error_naming_its_code_and_message_and_is_not_sent_again() {
        let malformed = refused("MalformedDetail");
        let error = put_event(&canned::eventbridge(&[&malformed]), ENTRY).await.unwrap_err();
        assert_eq!(error.code(), Some("MalformedDetail"));
        assert!(
            error
                .to_string()
                .contains("refused by bus default: Detail is malformed."),
            "{error}"
        );
        assert_eq!(malformed.num_calls(), 1, "a malformed event stays malformed");
    }

    #[tokio::test]
    async fn a_throttled_entry_is_sent_again_a_bounded_number_of_times() {
        let throttled = refused("ThrottlingException");
        let error = put_event(&canned::eventbridge(&[&throttled]), ENTRY).await.unwrap_err();
        assert_eq!(error.code(), Some("ThrottlingException"));
        assert_eq!(throttled.num_calls(), ENTRY_TRIES);
    }

    #[tokio::test]
    async fn a_denied_call_says_which_permission_on_which_bus_and_how_to_turn_events_off() {
        let denied = mock!(Client::put_events).then_http_response(|| {
            canned::json_error(
                400,
                "AccessDeniedException",
                "User: arn:aws:sts::1:assumed-role/hook is not authorized to perform: events:PutEvents",
            )
        });
        let error = put_event(&canned::eventbridge(&[&denied]), ENTRY).await.unwrap_err();
        assert_eq!(error.code(), Some("AccessDeniedException"));
        let said = error.to_string();
        assert!(
            said.ends_with(
                "grant this function's role events:PutEvents on the event bus default (PREFLIGHT_EVENT_BUS), or set \
                 PREFLIGHT_EVENTS to off"
            ),
            "{said}"
        );
        assert_eq!(denied.num_calls(), 1, "a refusal is not retried");
    }
}
