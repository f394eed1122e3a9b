//! CodeDeploy deployment notifications, read into one shape: which deployment, in which
//! deployment group, and whether it is still running or over.
//!
//! Two carriers bring them: an SNS trigger (`Records[].Sns.Message` holds the trigger's JSON as a
//! string) and an EventBridge "CodeDeploy Deployment State-change Notification". Trigger messages
//! come in two forms: the documented one (`"status": "Failed"`, objects for `deploymentOverview`
//! and `errorInformation`) and the one captured from real triggers (`"status": "FAILED"`, those
//! two fields as JSON *strings*, `completeTime: null`). Both are accepted; everything else is a
//! [`NotificationError`] that says what was wrong.

use std::fmt;

use aws_lambda_events::codedeploy::CodeDeployEvent;
use aws_lambda_events::sns::SnsEvent;
use serde::Deserialize;
use serde_json::Value;

/// The EventBridge `detail-type` of deployment state changes.
pub const DEPLOYMENT_STATE_CHANGE: &str = "CodeDeploy Deployment State-change Notification";
const INSTANCE_STATE_CHANGE: &str = "CodeDeploy Instance State-change Notification";

/// What carried a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Sns,
    EventBridge,
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Carrier::Sns => "sns",
            Carrier::EventBridge => "eventbridge",
        })
    }
}

/// Where a deployment stands, as far as the maintenance page cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Created, queued, in progress, ready, baking: instances may be out of service.
    Running,
    /// Succeeded, failed or stopped: the page must go.
    Ended,
}

/// One deployment state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentNotification {
    pub carrier: Carrier,
    pub deployment_id: String,
    pub application: String,
    pub deployment_group: String,
    /// The status as sent (`CREATED`, `Succeeded`, `START`, …), for the log.
    pub status: String,
    pub phase: Phase,
    /// `errorInformation`, when a failed deployment's message carries it.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationError(String);

impl fmt::Display for NotificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid deployment notification: {}", self.0)
    }
}

impl std::error::Error for NotificationError {}

fn invalid(why: impl Into<String>) -> NotificationError {
    NotificationError(why.into())
}

/// Whether the payload claims to be a notification (SNS records or an EventBridge event) rather
/// than a lifecycle hook payload; the claim is then checked by [`parse_notifications`].
///
/// A payload with a hook execution id always goes to the hook, whatever else it carries: only the
/// hook can report on that execution, and an unreported one leaves the deployment hanging.
pub fn looks_like_notification(payload: &Value) -> bool {
    payload.as_object().is_some_and(|object| {
        !object.contains_key("LifecycleEventHookExecutionId")
            && ["Records", "detail-type", "detail"]
                .iter()
                .any(|key| object.contains_key(*key))
    })
}

/// What an event asks of the maintenance page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaintenanceEvent {
    /// Deployment state changes: reconcile each one's listener.
    Notifications(Vec<DeploymentNotification>),
    /// EventBridge's scheduled event (the template's `MaintenanceReconcileMinutes` schedule):
    /// remove the pages of deployments that are over from every configured listener.
    Sweep,
}

/// EventBridge's `source` and `detail-type` of a scheduled rule's event.
pub const SCHEDULED_SOURCE: &str = "aws.events";
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// Reads the payload: a scheduled event, or deployment notifications.
pub fn parse_event(payload: &Value) -> Result<MaintenanceEvent, NotificationError> {
    let text = |key: &str| payload.get(key).and_then(Value::as_str);
    if text("source") == Some(SCHEDULED_SOURCE) && text("detail-type") == Some(SCHEDULED_EVENT) {
        return Ok(MaintenanceEvent::Sweep);
    }
    parse_notifications(payload).map(MaintenanceEvent::Notifications)
}

/// Reads every deployment notification in the payload (an SNS event may carry several records).
pub fn parse_notifications(payload: &Value) -> Result<Vec<DeploymentNotification>, NotificationError> {
    if payload.get("Records").is_some() {
        parse_sns(payload)
    } else {
        parse_eventbridge(payload).map(|notification| vec![notification])
    }
}

fn parse_sns(payload: &Value) -> Result<Vec<DeploymentNotification>, NotificationError> {
    let event: SnsEvent = SnsEvent::deserialize(payload)
        .map_err(|error| invalid(format!("`Records` is there but this is not an SNS event: {error}")))?;
    if event.records.is_empty() {
        return Err(invalid("the SNS event has no records"));
    }
    event
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            parse_trigger_message(&record.sns.message)
                .map_err(|why| invalid(format!("SNS record {index} (message {}): {why}", record.sns.message_id)))
        })
        .collect()
}

/// The JSON a CodeDeploy deployment trigger publishes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TriggerMessage {
    deployment_id: Option<String>,
    application_name: Option<String>,
    deployment_group_name: Option<String>,
    status: Option<String>,
    instance_id: Option<String>,
    #[serde(default)]
    error_information: Value,
}

/// Parses one trigger message (the string inside `Sns.Message`).
pub fn parse_trigger_message(text: &str) -> Result<DeploymentNotification, String> {
    let message: TriggerMessage = serde_json::from_str(text)
        .map_err(|error| format!("the message is not a CodeDeploy trigger's JSON ({error})"))?;
    if message.instance_id.is_some() && message.deployment_group_name.is_none() {
        return Err("this is an instance trigger; give the trigger deployment events only \
                    (DeploymentStart, DeploymentSuccess, DeploymentFailure, DeploymentStop)"
            .into());
    }
    let status = required(message.status, "status")?;
    Ok(DeploymentNotification {
        carrier: Carrier::Sns,
        deployment_id: required(message.deployment_id, "deploymentId")?,
        application: required(message.application_name, "applicationName")?,
        deployment_group: required(message.deployment_group_name, "deploymentGroupName")?,
        phase: phase_of(&status)?,
        status,
        error: describe_error_information(&message.error_information),
    })
}

fn parse_eventbridge(payload: &Value) -> Result<DeploymentNotification, NotificationError> {
    match payload.get("detail-type").and_then(Value::as_str) {
        Some(DEPLOYMENT_STATE_CHANGE) => {}
        Some(INSTANCE_STATE_CHANGE) => {
            return Err(invalid(format!(
                "this is an instance state change; match only `detail-type: [\"{DEPLOYMENT_STATE_CHANGE}\"]` in the EventBridge rule"
            )));
        }
        Some(other) => {
            return Err(invalid(format!(
                "EventBridge `detail-type` is `{other}`, not `{DEPLOYMENT_STATE_CHANGE}`"
            )));
        }
        None => return Err(invalid("an EventBridge event needs a string `detail-type`")),
    }
    let event: CodeDeployEvent = CodeDeployEvent::deserialize(payload)
        .map_err(|error| invalid(format!("not a CodeDeploy EventBridge event: {error}")))?;
    let detail = event.detail;
    let missing = |field: &str| invalid(format!("`detail.{field}` is missing or empty"));
    let status = detail.state;
    Ok(DeploymentNotification {
        carrier: Carrier::EventBridge,
        deployment_id: non_empty(detail.deployment_id).ok_or_else(|| missing("deploymentId"))?,
        application: non_empty(detail.application).ok_or_else(|| missing("application"))?,
        deployment_group: non_empty(detail.deployment_group).ok_or_else(|| missing("deploymentGroup"))?,
        phase: phase_of(&status).map_err(invalid)?,
        status,
        error: None,
    })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

fn required(value: Option<String>, field: &str) -> Result<String, String> {
    non_empty(value).ok_or_else(|| format!("`{field}` is missing or empty"))
}

/// Trigger statuses (`Created`, `IN_PROGRESS`, …) and EventBridge states (`START`, `SUCCESS`, …),
/// in any case and with or without underscores.
pub fn phase_of(status: &str) -> Result<Phase, String> {
    let normalised: String = status
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match normalised.as_str() {
        "created" | "queued" | "inprogress" | "ready" | "baking" | "start" | "resume" => Ok(Phase::Running),
        "succeeded" | "success" | "failed" | "failure" | "stopped" | "stop" => Ok(Phase::Ended),
        _ => Err(format!(
            "deployment status `{status}` is not one preflight knows (Created, InProgress, Ready, Succeeded, Failed, Stopped, or EventBridge's START, SUCCESS, FAILURE, STOP)"
        )),
    }
}

/// `errorInformation` is an object in the documented form and a JSON string in the captured one.
fn describe_error_information(value: &Value) -> Option<String> {
    let decoded;
    let object = match value {
        Value::String(text) if text.trim().is_empty() => return None,
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(inner) => {
                decoded = inner;
                &decoded
            }
            Err(_) => return Some(text.clone()),
        },
        Value::Object(_) => value,
        _ => return None,
    };
    let field = |name: &str| object.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    match (field("ErrorCode"), field("ErrorMessage")) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (Some(only), None) | (None, Some(only)) => Some(only.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sns(message: &str) -> Value {
        json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:111122223333:preflight-maintenance:5f1c",
            "Sns": {
                "Type": "Notification",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": "arn:aws:sns:us-east-1:111122223333:preflight-maintenance",
                "Subject": "CREATED: AWS CodeDeploy d-ABC in us-east-1 to shop",
                "Message": message,
                "Timestamp": "2026-11-24T10:00:00.000Z",
                "SignatureVersion": "1",
                "Signature": "c2lnbmF0dXJl",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {}
            }
        }]})
    }

    #[test]
    fn documented_trigger_message_is_read() {
        let message = json!({
            "region": "us-west-1", "accountId": "111222333444",
            "eventTriggerName": "deploy-failed", "applicationName": "shop",
            "deploymentId": "d-75I7MBT7C", "deploymentGroupName": "shop-web",
            "createTime": "1446744188.595", "completeTime": "1446744190.402",
            "deploymentOverview": {"Failed": "10", "InProgress": "0", "Pending": "0", "Skipped": "0", "Succeeded": "0"},
            "status": "Failed",
            "errorInformation": {"ErrorCode": "IAM_ROLE_MISSING", "ErrorMessage": "IAM Role is missing"}
        });
        let found = parse_notifications(&sns(&message.to_string())).unwrap();
        assert_eq!(
            found,
            vec![DeploymentNotification {
                carrier: Carrier::Sns,
                deployment_id: "d-75I7MBT7C".into(),
                application: "shop".into(),
                deployment_group: "shop-web".into(),
                status: "Failed".into(),
                phase: Phase::Ended,
                error: Some("IAM_ROLE_MISSING: IAM Role is missing".into()),
            }]
        );
    }

    #[test]
    fn captured_trigger_message_with_string_fields_and_null_time_is_read() {
        let message = json!({
            "region": "us-east-1", "accountId": "111122223333",
            "eventTriggerName": "preflight-maintenance", "applicationName": "shop",
            "deploymentId": "d-CAPTURED1", "deploymentGroupName": "shop-web",
            "createTime": "Thu Oct 13 15:50:45 UTC 2022", "completeTime": null,
            "deploymentOverview": "{\"Failed\":0,\"InProgress\":0,\"Pending\":2,\"Succeeded\":0,\"Skipped\":0}",
            "status": "CREATED",
            "errorInformation": "{\"ErrorCode\":\"HEALTH_CONSTRAINTS\",\"ErrorMessage\":\"too few healthy\"}"
        });
        let found = parse_notifications(&sns(&message.to_string())).unwrap();
        assert_eq!(found[0].phase, Phase::Running);
        assert_eq!(found[0].status, "CREATED");
        assert_eq!(found[0].error.as_deref(), Some("HEALTH_CONSTRAINTS: too few healthy"));
    }

    #[test]
    fn eventbridge_state_change_is_read() {
        let event = json!({
            "account": "123456789012", "region": "us-east-1",
            "detail-type": DEPLOYMENT_STATE_CHANGE, "source": "aws.codedeploy",
            "version": "0", "time": "2026-11-24T10:00:00Z", "id": "c071bfbf",
            "resources": ["arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:shop/shop-web"],
            "detail": {"instanceGroupId": "9fd2", "region": "us-east-1", "application": "shop",
                       "deploymentId": "d-EB1", "state": "START", "deploymentGroup": "shop-web"}
        });
        assert!(looks_like_notification(&event));
        let found = parse_notifications(&event).unwrap();
        assert_eq!(found[0].carrier, Carrier::EventBridge);
        assert_eq!(found[0].deployment_group, "shop-web");
        assert_eq!(found[0].phase, Phase::Running);
    }

    #[test]
    fn every_known_status_has_a_phase_and_unknown_ones_are_named() {
        for running in [
            "Created",
            "CREATED",
            "InProgress",
            "IN_PROGRESS",
            "Queued",
            "Ready",
            "START",
            "RESUME",
        ] {
            assert_eq!(phase_of(running), Ok(Phase::Running), "{running}");
        }
        for ended in [
            "Succeeded",
            "SUCCEEDED",
            "Failed",
            "FAILURE",
            "Stopped",
            "STOP",
            "SUCCESS",
        ] {
            assert_eq!(phase_of(ended), Ok(Phase::Ended), "{ended}");
        }
        assert!(phase_of("Exploded").unwrap_err().contains("`Exploded`"));
    }

    #[test]
    fn each_bad_notification_says_what_is_wrong() {
        let instance = json!({"deploymentId": "d-1", "instanceId": "i-1", "instanceStatus": "Succeeded"});
        let no_group = json!({"deploymentId": "d-1", "applicationName": "shop", "status": "Created"});
        let cases = [
            (sns("not json"), "not a CodeDeploy trigger's JSON"),
            (sns(&instance.to_string()), "instance trigger"),
            (sns(&no_group.to_string()), "`deploymentGroupName` is missing"),
            (json!({"Records": []}), "no records"),
            (json!({"Records": [{"Sns": {}}]}), "not an SNS event"),
            (
                json!({"detail-type": "EC2 Instance State-change Notification", "detail": {}}),
                "not `CodeDeploy",
            ),
            (
                json!({"detail-type": INSTANCE_STATE_CHANGE, "detail": {}}),
                "instance state change",
            ),
            (json!({"detail": {}}), "needs a string `detail-type`"),
        ];
        for (payload, expected) in cases {
            assert!(looks_like_notification(&payload), "{payload}");
            let error = parse_notifications(&payload).unwrap_err().to_string();
            assert!(error.contains(expected), "{payload}: {error}");
        }
    }

    #[test]
    fn a_scheduled_event_asks_for_a_sweep_and_nothing_else_does() {
        let scheduled = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-25T01:00:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/preflight-reconcile"],
            "detail": {}
        });
        assert!(looks_like_notification(&scheduled));
        assert_eq!(parse_event(&scheduled), Ok(MaintenanceEvent::Sweep));
        // The same detail-type from another source is not a schedule.
        let mut other = scheduled.clone();
        other["source"] = json!("custom.app");
        let error = parse_event(&other).unwrap_err().to_string();
        assert!(error.contains("`Scheduled Event`"), "{error}");
    }

    #[test]
    fn hook_payloads_are_not_notifications() {
        assert!(!looks_like_notification(
            &json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "x"})
        ));
        assert!(!looks_like_notification(&json!([1])));
        // Stray notification-looking keys must not take an execution away from the hook.
        assert!(!looks_like_notification(&json!({
            "DeploymentId": "d-1", "LifecycleEventHookExecutionId": "x", "Records": [], "detail": {}
        })));
    }
}
