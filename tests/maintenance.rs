//! The maintenance page, end to end: the real `bootstrap` gets deployment notifications through
//! the Runtime API, asks the local CodeDeploy about the deployment, and changes the listener of a
//! real ELBv2 implementation (`moto_server`, installed by `stand_in::moto`). Every test asserts
//! on the listener's rules after its sequence of notifications.

mod common;

use std::ops::Deref;

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, FixedResponseActionConfig, RuleCondition};
use common::{MotoRig, TIMEOUT, bootstrap};
use serde_json::{Value, json};
use stand_in::kit::sample;
use stand_in::{Alb, Deployment, DeploymentSpec, Rig as StandIn, RuntimeOutcome};

/// A rule on the listener, as the tests look at it.
#[derive(Debug)]
struct RuleView {
    priority: String,
    paths: Vec<String>,
    action: Action,
    tags: Vec<(String, String)>,
}

impl RuleView {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn is_preflight_page(&self) -> bool {
        self.tag("preflight:role") == Some("maintenance-page")
    }
}

/// The real hook with a load balancer of its own in the shared moto server.
struct Rig(MotoRig);

impl Deref for Rig {
    type Target = MotoRig;
    fn deref(&self) -> &MotoRig {
        &self.0
    }
}

impl Rig {
    /// The ALB's listener shows the page for deployment group `shop`/`shop-web`.
    async fn start(extra: &[(&'static str, &str)]) -> Rig {
        let extra: Vec<(&'static str, String)> = extra.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Rig::start_with(move |_| extra.clone()).await
    }

    /// As [`Rig::start`], with settings that depend on what moto created (ARNs).
    async fn start_with(extra: impl Fn(&Alb) -> Vec<(&'static str, String)>) -> Rig {
        Rig(MotoRig::start(extra).await)
    }

    fn deployment(&self, group: &str, creator: &str) -> Deployment {
        self.rig
            .aws
            .create_deployment(DeploymentSpec::server("shop", group).created_by(creator))
    }

    async fn notify(&self, payload: Value) -> RuntimeOutcome {
        self.rig.invoke(payload, TIMEOUT).await
    }

    /// Every non-default rule of the listener, with its tags.
    async fn rules(&self) -> Vec<RuleView> {
        let described = self
            .elb
            .describe_rules()
            .listener_arn(&self.alb.listener)
            .send()
            .await
            .expect("DescribeRules");
        let mut rules = Vec::new();
        for rule in described.rules().iter().filter(|r| r.is_default() != Some(true)) {
            let arn = rule.rule_arn().unwrap_or_default().to_string();
            let tags = self
                .elb
                .describe_tags()
                .resource_arns(&arn)
                .send()
                .await
                .expect("DescribeTags");
            rules.push(RuleView {
                priority: rule.priority().unwrap_or_default().to_string(),
                paths: rule.conditions().iter().flat_map(condition_paths).collect(),
                action: rule.actions().first().cloned().expect("a rule has an action"),
                tags: tags
                    .tag_descriptions()
                    .iter()
                    .flat_map(|d| d.tags())
                    .map(|t| (t.key().unwrap_or_default().into(), t.value().unwrap_or_default().into()))
                    .collect(),
            });
        }
        rules
    }

    async fn pages(&self) -> Vec<RuleView> {
        self.rules()
            .await
            .into_iter()
            .filter(RuleView::is_preflight_page)
            .collect()
    }

    async fn summaries(&self, count: usize) -> Vec<Value> {
        let found = self.rig.hook.wait_for_logged("maintenance summary", count).await;
        assert!(
            found.len() >= count,
            "expected {count} summaries: {:?}",
            self.rig.hook.lines()
        );
        found
    }
}

fn condition_paths(condition: &RuleCondition) -> Vec<String> {
    condition
        .path_pattern_config()
        .map(|config| config.values().to_vec())
        .unwrap_or_default()
}

/// An SNS delivery of a CodeDeploy trigger message, in the form captured from real triggers
/// (upper-case status, string-encoded overview, null `completeTime`).
fn sns_trigger(deployment: &Deployment, group: &str, status: &str) -> Value {
    let message = json!({
        "region": "us-east-1", "accountId": "123456789012", "eventTriggerName": "preflight-maintenance",
        "applicationName": "shop", "deploymentId": deployment.id, "deploymentGroupName": group,
        "createTime": "Tue Nov 24 10:15:00 UTC 2026", "completeTime": null,
        "deploymentOverview": "{\"Succeeded\":0,\"Failed\":0,\"Skipped\":0,\"InProgress\":2,\"Pending\":0}",
        "status": status
    });
    json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:preflight-maintenance:1",
        "Sns": {
            "Type": "Notification", "MessageId": format!("{}-{status}", deployment.id),
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:preflight-maintenance",
            "Subject": null, "Message": message.to_string(),
            "Timestamp": "2026-11-24T10:15:02.000Z", "SignatureVersion": "1", "Signature": "c2ln",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {}
        }
    }]})
}

fn eventbridge(deployment: &Deployment, state: &str) -> Value {
    json!({
        "version": "0", "id": format!("{}-{state}", deployment.id),
        "detail-type": "CodeDeploy Deployment State-change Notification", "source": "aws.codedeploy",
        "account": "123456789012", "time": "2026-11-24T10:15:00Z", "region": "us-east-1",
        "resources": ["arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:shop/shop-web"],
        "detail": {"region": "us-east-1", "deploymentId": deployment.id, "instanceGroupId": "6f0d",
                   "deploymentGroup": "shop-web", "state": state, "application": "shop"}
    })
}

fn response(outcome: &RuntimeOutcome) -> &Value {
    match outcome {
        RuntimeOutcome::Response(value) => value,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn error(outcome: &RuntimeOutcome) -> (String, String) {
    match outcome {
        RuntimeOutcome::Error(value) => (
            value["errorType"].as_str().unwrap_or_default().to_string(),
            value["errorMessage"].as_str().unwrap_or_default().to_string(),
        ),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn action_of(outcome: &RuntimeOutcome) -> String {
    response(outcome)["maintenance"][0]["action"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn start_shows_a_503_page_on_every_path_and_the_end_removes_it() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.deployment("shop-web", "user");

    let started = rig.notify(sns_trigger(&deployment, "shop-web", "CREATED")).await;
    assert_eq!(action_of(&started), "shown");
    let pages = rig.pages().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    let page = &pages[0];
    assert_eq!(page.priority, "1");
    assert_eq!(page.paths, ["/*"]);
    assert_eq!(page.action.r#type(), Some(&ActionTypeEnum::FixedResponse));
    let fixed: &FixedResponseActionConfig = page.action.fixed_response_config().expect("a fixed response");
    assert_eq!(fixed.status_code(), Some("503"));
    assert_eq!(fixed.content_type(), Some("text/html"));
    assert!(fixed.message_body().unwrap_or_default().contains("Back soon"));
    assert_eq!(page.tag("preflight:deployment-id"), Some(deployment.id.as_str()));
    assert_eq!(page.tag("preflight:deployment-group"), Some("shop/shop-web"));

    rig.rig.aws.set_status(&deployment, "Succeeded");
    let ended = rig.notify(sns_trigger(&deployment, "shop-web", "SUCCEEDED")).await;
    assert_eq!(action_of(&ended), "removed");
    assert!(rig.rules().await.is_empty(), "the page is still up");

    let metrics = rig.rig.hook.wait_for_metric_records(2).await;
    for record in &metrics {
        assert_eq!(preflight::plumbing::metrics::check_emf(record), Ok(()), "{record}");
        assert_eq!(record["Flow"], "maintenance");
    }
    assert_eq!(
        (metrics[0]["Shown"].as_f64(), metrics[0]["Removed"].as_f64()),
        (Some(1.0), Some(0.0))
    );
    assert_eq!(
        (metrics[1]["Shown"].as_f64(), metrics[1]["Removed"].as_f64()),
        (Some(0.0), Some(1.0))
    );

    let summaries = rig.summaries(2).await;
    assert_eq!(summaries[0]["action"], "shown");
    assert_eq!(summaries[0]["carrier"], "sns");
    assert_eq!(summaries[0]["deployment_group"], "shop/shop-web");
    assert_eq!(summaries[1]["action"], "removed");
    assert_eq!(summaries[1]["reason"], "the deployment ended");
}

#[tokio::test]
async fn repeated_starts_from_both_carriers_make_one_page() {
    let rig = Rig::start(&[]).await;
    let deployment = rig.deployment("shop-web", "user");

    assert_eq!(
        action_of(&rig.notify(sns_trigger(&deployment, "shop-web", "CREATED")).await),
        "shown"
    );
    let again = rig.notify(sns_trigger(&deployment, "shop-web", "CREATED")).await;
    assert_eq!(action_of(&again), "already_shown");
    let progress = rig.notify(eventbridge(&deployment, "START")).await;
    assert_eq!(action_of(&progress), "already_shown");
    assert_eq!(rig.pages().await.len(), 1);

    rig.rig.aws.set_status(&deployment, "Stopped");
    assert_eq!(
        action_of(&rig.notify(eventbridge(&deployment, "STOP")).await),
        "removed"
    );
    let redelivered = rig.notify(eventbridge(&deployment, "STOP")).await;
    assert_eq!(action_of(&redelivered), "none", "removing an absent page is fine");
    assert!(rig.rules().await.is_empty());
}

#[tokio::test]
async fn a_page_left_by_a_lost_end_is_removed_by_the_next_deployment() {
    let rig = Rig::start(&[]).await;
    let first = rig.deployment("shop-web", "user");
    assert_eq!(action_of(&rig.notify(eventbridge(&first, "START")).await), "shown");
    // The first deployment ends, but its end notification never arrives.
    rig.rig.aws.set_status(&first, "Succeeded");

    let second = rig.deployment("shop-web", "user");
    assert_eq!(action_of(&rig.notify(eventbridge(&second, "START")).await), "shown");
    let pages = rig.pages().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(pages[0].tag("preflight:deployment-id"), Some(second.id.as_str()));
    assert_eq!(rig.summaries(2).await[1]["stale_removed"], 1);
}

#[tokio::test]
async fn the_page_can_forward_to_a_maintenance_target_group_at_a_chosen_priority() {
    let rig = Rig::start_with(|alb| {
        vec![
            ("MAINTENANCE_TARGET_GROUP_ARN", alb.sorry_target_group.clone()),
            ("MAINTENANCE_PRIORITY", "7".to_string()),
        ]
    })
    .await;
    let deployment = rig.deployment("shop-web", "user");
    assert_eq!(action_of(&rig.notify(eventbridge(&deployment, "START")).await), "shown");
    let pages = rig.pages().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(pages[0].priority, "7");
    assert_eq!(pages[0].action.r#type(), Some(&ActionTypeEnum::Forward));
    assert_eq!(
        pages[0].action.target_group_arn(),
        Some(rig.alb.sorry_target_group.as_str())
    );
}

#[tokio::test]
async fn elbv2_errors_fail_the_invocation_with_their_reason() {
    // A listener that does not exist: DescribeRules fails.
    let rig = Rig::start_with(|alb| {
        let missing = alb
            .listener
            .replace(|c: char| c.is_ascii_hexdigit() && c.is_ascii_digit(), "0");
        vec![(
            "MAINTENANCE_LISTENERS",
            json!({"shop": {"shop-web": missing}}).to_string(),
        )]
    })
    .await;
    let deployment = rig.deployment("shop-web", "user");
    let (kind, message) = error(&rig.notify(eventbridge(&deployment, "START")).await);
    assert_eq!(kind, "MaintenanceRefused", "a redelivery cannot create the listener");
    assert!(message.contains("DescribeRules failed: ListenerNotFound"), "{message}");
    assert!(message.contains("correct MAINTENANCE_LISTENERS"), "{message}");
    let summary = &rig.summaries(1).await[0];
    assert_eq!(summary["level"], "ERROR");
    assert_eq!(summary["action"], "failed");
    assert_eq!(summary["error_code"], "ListenerNotFound");
    assert_eq!(summary["retry_can_help"], false);
    assert!(
        summary["error"]
            .as_str()
            .unwrap_or_default()
            .contains("ListenerNotFound")
    );

    // Someone else's rule holds the priority: CreateRule fails, and the message says what to do.
    let rig = Rig::start(&[]).await;
    rig.elb
        .create_rule()
        .listener_arn(&rig.alb.listener)
        .priority(1)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    aws_sdk_elasticloadbalancingv2::types::PathPatternConditionConfig::builder()
                        .values("/admin/*")
                        .build(),
                )
                .build(),
        )
        .actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&rig.alb.app_target_group)
                .build(),
        )
        .send()
        .await
        .expect("the team's own rule");
    let deployment = rig.deployment("shop-web", "user");
    let (kind, message) = error(&rig.notify(sns_trigger(&deployment, "shop-web", "CREATED")).await);
    assert_eq!(kind, "MaintenanceRefused");
    assert!(message.contains("PriorityInUse"), "{message}");
    assert!(message.contains("MAINTENANCE_PRIORITY"), "{message}");
    assert!(rig.pages().await.is_empty());
    assert_eq!(rig.rules().await.len(), 1, "the team's rule is untouched");
}

#[tokio::test]
async fn bad_notifications_and_missing_configuration_are_clear_errors() {
    let rig = Rig::start(&[]).await;
    let (kind, message) = error(
        &rig.notify(json!({"detail-type": "CodeDeploy Instance State-change Notification", "detail": {}}))
            .await,
    );
    assert_eq!(kind, "InvalidNotification");
    assert!(message.contains("instance state change"), "{message}");

    let unconfigured = StandIn::start(bootstrap(), &[])
        .await
        .expect("start the stand-in and bootstrap");
    let deployment = unconfigured
        .aws
        .create_deployment(DeploymentSpec::server("shop", "shop-web"));
    let outcome = unconfigured.invoke(eventbridge(&deployment, "START"), TIMEOUT).await;
    let (kind, message) = error(&outcome);
    assert_eq!(kind, "MaintenanceNotConfigured");
    assert!(message.contains("set MAINTENANCE_LISTENERS"), "{message}");
}

/// The samples in `events/` are what the README tells people to try: each must do what its name
/// says when the real binary gets it.
#[tokio::test]
async fn the_sample_notifications_in_events_put_the_page_up_and_take_it_down() {
    let rig = Rig::start(&[]).await;
    let sample = |name: &str| sample(name).expect("the sample");
    let deployment =
        rig.rig
            .aws
            .create_deployment_with_ids(DeploymentSpec::server("shop", "shop-web"), "d-SAMPLE0002", "unused");
    for (start, end) in [
        ("sns-start-documented.json", "sns-end-documented.json"),
        ("sns-start-captured.json", "sns-end-captured.json"),
        ("eventbridge-start.json", "eventbridge-end.json"),
    ] {
        rig.rig.aws.set_status(&deployment, "InProgress");
        assert_eq!(action_of(&rig.notify(sample(start)).await), "shown", "{start}");
        assert_eq!(rig.pages().await.len(), 1, "{start}");
        rig.rig.aws.set_status(&deployment, "Succeeded");
        assert_eq!(action_of(&rig.notify(sample(end)).await), "removed", "{end}");
        assert!(rig.pages().await.is_empty(), "{end}");
    }
}

/// The scheduled reconcile: a page whose end notification was lost goes, with no deployment to
/// follow; a running deployment's page stays.
#[tokio::test]
async fn the_scheduled_reconcile_removes_a_page_whose_end_was_lost_and_keeps_running_ones() {
    let rig = Rig::start(&[]).await;
    let lost_end = rig.deployment("shop-web", "user");
    assert_eq!(action_of(&rig.notify(eventbridge(&lost_end, "START")).await), "shown");
    // It ends, but its end notification never arrives.
    rig.rig.aws.set_status(&lost_end, "Succeeded");
    let swept = rig
        .notify(sample("scheduled-reconcile.json").expect("the sample"))
        .await;
    let done = &response(&swept)["maintenance"][0];
    assert_eq!(done["action"], "swept");
    assert_eq!(done["removed"].as_array().map(Vec::len), Some(1), "{swept:?}");
    assert!(rig.pages().await.is_empty(), "the page outlived its deployment");
    let metrics = rig.rig.hook.wait_for_metric_records(2).await;
    assert_eq!(
        (metrics[1]["Swept"].as_f64(), metrics[1]["StalePagesRemoved"].as_f64()),
        (Some(1.0), Some(1.0)),
        "{metrics:?}"
    );

    let running = rig.deployment("shop-web", "user");
    assert_eq!(action_of(&rig.notify(eventbridge(&running, "START")).await), "shown");
    let swept = rig
        .notify(sample("scheduled-reconcile.json").expect("the sample"))
        .await;
    assert_eq!(response(&swept)["maintenance"][0]["kept"], 1);
    let pages = rig.pages().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(pages[0].tag("preflight:deployment-id"), Some(running.id.as_str()));
    let summaries = rig.summaries(4).await;
    assert_eq!(summaries[1]["carrier"], "schedule");
    assert_eq!(summaries[1]["stale_removed"], 1);
}
