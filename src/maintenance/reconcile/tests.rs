//! Every branch of the reconcile, in process, against the SDK's mock ELBv2 and CodeDeploy
//! clients: what is created, what is deleted, what the outcome says, and which failures a
//! redelivery can mend.

use aws_sdk_codedeploy::Client as CodeDeploy;
use aws_sdk_codedeploy::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_codedeploy::types::{DeploymentCreator, DeploymentInfo, DeploymentStatus};
use aws_sdk_elasticloadbalancingv2::Client as Elb;
use aws_sdk_elasticloadbalancingv2::operation::create_rule::CreateRuleOutput;
use aws_sdk_elasticloadbalancingv2::operation::delete_rule::DeleteRuleOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_tags::DescribeTagsOutput;
use aws_sdk_elasticloadbalancingv2::types::{Rule as ElbRule, Tag, TagDescription};
use aws_smithy_mocks::{Rule, mock};

use super::{Applied, ApplyError, PageAction, reconcile, sweep};
use crate::maintenance::config::MaintenanceConfig;
use crate::maintenance::notification::{Carrier, DeploymentNotification, Phase};
use crate::maintenance::plan::{DEPLOYMENT_TAG, ROLE_TAG, ROLE_VALUE};
use crate::plumbing::aws::{AwsClients, canned};

const LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
const NEW_RULE: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/shop/50dc/f2f7/new";

fn config(extra: &[(&str, &str)]) -> MaintenanceConfig {
    let listeners = format!(r#"{{"shop": {{"shop-web": "{LISTENER}"}}}}"#);
    let mut pairs: Vec<(String, String)> = vec![("MAINTENANCE_LISTENERS".into(), listeners)];
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    MaintenanceConfig::from_lookup(&|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .expect("valid")
        .expect("configured")
}

fn notification(id: &str, group: &str, phase: Phase) -> DeploymentNotification {
    DeploymentNotification {
        carrier: Carrier::Sns,
        deployment_id: id.into(),
        application: "shop".into(),
        deployment_group: group.into(),
        status: if phase == Phase::Running {
            "CREATED"
        } else {
            "SUCCEEDED"
        }
        .into(),
        phase,
        error: None,
    }
}

/// The listener as DescribeRules and DescribeTags show it: a default rule, a team's own rule, and
/// preflight pages `(rule, deployment)`.
fn listener_with(pages: &[(&'static str, &'static str)]) -> (Rule, Rule) {
    let pages = pages.to_vec();
    let rule_arns: Vec<&'static str> = pages.iter().map(|(rule, _)| *rule).collect();
    let describe_rules = mock!(Elb::describe_rules)
        .match_requests(|request| request.listener_arn() == Some(LISTENER))
        .then_output(move || {
            let mut output = DescribeRulesOutput::builder()
                .rules(ElbRule::builder().rule_arn("default").is_default(true).build())
                .rules(ElbRule::builder().rule_arn("team-rule").is_default(false).build());
            for rule in &rule_arns {
                output = output.rules(ElbRule::builder().rule_arn(*rule).is_default(false).build());
            }
            output.build()
        });
    let describe_tags = mock!(Elb::describe_tags).then_output(move || {
        let mut output =
            DescribeTagsOutput::builder().tag_descriptions(TagDescription::builder().resource_arn("team-rule").build());
        for (rule, deployment) in &pages {
            output = output.tag_descriptions(
                TagDescription::builder()
                    .resource_arn(*rule)
                    .tags(Tag::builder().key(ROLE_TAG).value(ROLE_VALUE).build())
                    .tags(Tag::builder().key(DEPLOYMENT_TAG).value(*deployment).build())
                    .build(),
            );
        }
        output.build()
    });
    (describe_rules, describe_tags)
}

fn deployment(id: &'static str, status: DeploymentStatus, creator: DeploymentCreator) -> Rule {
    mock!(CodeDeploy::get_deployment)
        .match_requests(move |request| request.deployment_id() == Some(id))
        .then_output(move || {
            GetDeploymentOutput::builder()
                .deployment_info(
                    DeploymentInfo::builder()
                        .deployment_id(id)
                        .status(status.clone())
                        .creator(creator.clone())
                        .build(),
                )
                .build()
        })
}

fn running(id: &'static str) -> Rule {
    deployment(id, DeploymentStatus::InProgress, DeploymentCreator::User)
}

fn create_rule() -> Rule {
    mock!(Elb::create_rule).then_output(|| {
        CreateRuleOutput::builder()
            .rules(ElbRule::builder().rule_arn(NEW_RULE).priority("1").build())
            .build()
    })
}

/// DeleteRule for one rule ARN.
fn delete(rule: &'static str) -> Rule {
    mock!(Elb::delete_rule)
        .match_requests(move |request| request.rule_arn() == Some(rule))
        .then_output(|| DeleteRuleOutput::builder().build())
}

async fn run(
    config: &MaintenanceConfig,
    notification: &DeploymentNotification,
    codedeploy: &[&Rule],
    elb: &[&Rule],
) -> Result<Applied, ApplyError> {
    let clients = AwsClients::from_clients(canned::codedeploy(codedeploy), canned::lambda(&[]), canned::elb(elb));
    reconcile(&clients, config, notification).await
}

#[tokio::test]
async fn a_group_without_a_listener_is_ignored_without_a_call() {
    // Mock clients without rules fail any call they get.
    let outcome = run(
        &config(&[]),
        &notification("d-1", "shop-batch", Phase::Running),
        &[],
        &[],
    )
    .await
    .expect("ignored");
    assert_eq!(outcome.action, PageAction::Ignored);
    assert!(
        outcome
            .reason
            .contains("shop/shop-batch is not in MAINTENANCE_LISTENERS")
    );
}

#[tokio::test]
async fn a_running_deployment_gets_its_page_tagged_at_the_configured_priority() {
    let (rules, tags) = listener_with(&[]);
    let ours = running("d-1");
    let create = mock!(Elb::create_rule)
        .match_requests(|request| {
            let tagged = |key: &str, value: &str| {
                request
                    .tags()
                    .iter()
                    .any(|tag| tag.key() == Some(key) && tag.value() == Some(value))
            };
            request.listener_arn() == Some(LISTENER)
                && request.priority() == Some(7)
                && tagged(ROLE_TAG, ROLE_VALUE)
                && tagged(DEPLOYMENT_TAG, "d-1")
                && tagged("preflight:deployment-group", "shop/shop-web")
        })
        .then_output(|| {
            CreateRuleOutput::builder()
                .rules(ElbRule::builder().rule_arn(NEW_RULE).build())
                .build()
        });
    let outcome = run(
        &config(&[("MAINTENANCE_PRIORITY", "7")]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&ours],
        &[&rules, &tags, &create],
    )
    .await
    .expect("shown");
    assert_eq!(outcome.action, PageAction::Shown);
    assert_eq!(outcome.rule_arn.as_deref(), Some(NEW_RULE));
    assert_eq!(create.num_calls(), 1);
    // Once before deciding, once after the page went up.
    assert_eq!(ours.num_calls(), 2);
}

#[tokio::test]
async fn a_page_that_is_up_stays_and_its_duplicates_go() {
    let (rules, tags) = listener_with(&[("page-a", "d-1"), ("page-b", "d-1")]);
    let (ours, duplicate, create) = (running("d-1"), delete("page-b"), create_rule());
    let outcome = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&ours],
        &[&rules, &tags, &duplicate, &create],
    )
    .await
    .expect("already shown");
    assert_eq!(outcome.action, PageAction::AlreadyShown);
    assert_eq!(outcome.rule_arn.as_deref(), Some("page-a"));
    assert_eq!((duplicate.num_calls(), create.num_calls()), (1, 0));
}

#[tokio::test]
async fn an_end_removes_the_page_without_asking_codedeploy() {
    let (rules, tags) = listener_with(&[("page-a", "d-1")]);
    let removal = delete("page-a");
    let outcome = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Ended),
        &[],
        &[&rules, &tags, &removal],
    )
    .await
    .expect("removed");
    assert_eq!(
        (outcome.action, outcome.reason.as_str()),
        (PageAction::Removed, "the deployment ended")
    );
    assert_eq!(removal.num_calls(), 1);

    let (rules, tags) = listener_with(&[]);
    let outcome = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Ended),
        &[],
        &[&rules, &tags],
    )
    .await
    .expect("nothing to do");
    assert_eq!(outcome.action, PageAction::Unchanged);
}

#[tokio::test]
async fn a_late_start_and_a_scale_out_get_no_page() {
    for (state, on_scale_out, reason) in [
        (
            deployment("d-1", DeploymentStatus::Succeeded, DeploymentCreator::User),
            "false",
            "already over",
        ),
        (
            deployment("d-1", DeploymentStatus::InProgress, DeploymentCreator::Autoscaling),
            "false",
            "scale-out",
        ),
    ] {
        let (rules, tags) = listener_with(&[]);
        let create = create_rule();
        let outcome = run(
            &config(&[("MAINTENANCE_ON_SCALE_OUT", on_scale_out)]),
            &notification("d-1", "shop-web", Phase::Running),
            &[&state],
            &[&rules, &tags, &create],
        )
        .await
        .expect("no page");
        assert_eq!(outcome.action, PageAction::Unchanged);
        assert!(outcome.reason.contains(reason), "{}", outcome.reason);
        assert_eq!(create.num_calls(), 0);
    }
    let (rules, tags) = listener_with(&[]);
    let (scale_out, create) = (
        deployment("d-1", DeploymentStatus::InProgress, DeploymentCreator::Autoscaling),
        create_rule(),
    );
    let outcome = run(
        &config(&[("MAINTENANCE_ON_SCALE_OUT", "true")]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&scale_out],
        &[&rules, &tags, &create],
    )
    .await
    .expect("shown");
    assert_eq!(outcome.action, PageAction::Shown);
}

#[tokio::test]
async fn pages_of_finished_and_unknown_deployments_go_and_running_ones_stay() {
    let (rules, tags) = listener_with(&[("old", "d-0"), ("gone", "d-9"), ("busy", "d-5")]);
    let finished = deployment("d-0", DeploymentStatus::Succeeded, DeploymentCreator::User);
    let unknown = mock!(CodeDeploy::get_deployment)
        .match_requests(|request| request.deployment_id() == Some("d-9"))
        .then_http_response(|| canned::json_error(400, "DeploymentDoesNotExistException", "no such deployment"));
    let (busy, ours) = (running("d-5"), running("d-1"));
    let (remove_old, remove_gone, remove_busy) = (delete("old"), delete("gone"), delete("busy"));
    let create = create_rule();
    let outcome = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&finished, &unknown, &busy, &ours],
        &[&rules, &tags, &remove_old, &remove_gone, &remove_busy, &create],
    )
    .await
    .expect("shown");
    assert_eq!(outcome.stale_removed, vec!["old", "gone"]);
    assert_eq!(
        (remove_old.num_calls(), remove_gone.num_calls(), remove_busy.num_calls()),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn a_page_whose_deployment_ends_while_it_goes_up_comes_down_again() {
    let (rules, tags) = listener_with(&[]);
    let ending = mock!(CodeDeploy::get_deployment)
        .sequence()
        .output(|| {
            GetDeploymentOutput::builder()
                .deployment_info(DeploymentInfo::builder().status(DeploymentStatus::InProgress).build())
                .build()
        })
        .output(|| {
            GetDeploymentOutput::builder()
                .deployment_info(DeploymentInfo::builder().status(DeploymentStatus::Succeeded).build())
                .build()
        })
        .build();
    let (create, removal) = (create_rule(), delete(NEW_RULE));
    let outcome = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&ending],
        &[&rules, &tags, &create, &removal],
    )
    .await
    .expect("removed");
    assert_eq!(outcome.action, PageAction::Removed);
    assert_eq!(outcome.reason, "the deployment ended while its page went up");
    assert_eq!(removal.num_calls(), 1);
}

#[tokio::test]
async fn priority_in_use_by_this_deployments_own_page_is_already_shown() {
    // First look: no page. CreateRule: PriorityInUse. Second look: the page a simultaneous
    // delivery put up.
    let describe_rules = mock!(Elb::describe_rules)
        .sequence()
        .output(|| DescribeRulesOutput::builder().build())
        .output(|| {
            DescribeRulesOutput::builder()
                .rules(ElbRule::builder().rule_arn("twin").is_default(false).build())
                .build()
        })
        .build();
    let (_, tags) = listener_with(&[("twin", "d-1")]);
    let ours = running("d-1");
    let in_use = mock!(Elb::create_rule)
        .then_http_response(|| canned::query_error(400, "PriorityInUse", "Priority '1' is currently in use"));
    let outcome = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&ours],
        &[&describe_rules, &tags, &in_use],
    )
    .await
    .expect("already shown");
    assert_eq!(outcome.action, PageAction::AlreadyShown);
    assert_eq!(outcome.rule_arn.as_deref(), Some("twin"));
}

#[tokio::test]
async fn priority_in_use_by_another_rule_is_refused_with_what_to_change() {
    let (rules, tags) = listener_with(&[]);
    let ours = running("d-1");
    let in_use = mock!(Elb::create_rule)
        .then_http_response(|| canned::query_error(400, "PriorityInUse", "Priority '1' is currently in use"));
    let error = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&ours],
        &[&rules, &tags, &in_use],
    )
    .await
    .unwrap_err();
    assert!(!error.retry_can_help);
    assert_eq!(error.code.as_deref(), Some("PriorityInUse"));
    assert!(
        error.reason.contains("CreateRule failed: PriorityInUse"),
        "{}",
        error.reason
    );
    assert!(
        error
            .reason
            .contains("holds priority 1: free it or set MAINTENANCE_PRIORITY"),
        "{}",
        error.reason
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_is_a_failure_a_redelivery_can_mend_and_a_denial_is_not() {
    let throttled =
        mock!(Elb::describe_rules).then_http_response(|| canned::query_error(400, "Throttling", "Rate exceeded"));
    let error = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Running),
        &[],
        &[&throttled],
    )
    .await
    .unwrap_err();
    assert!(error.retry_can_help, "{}", error.reason);
    assert_eq!(throttled.num_calls(), 4, "the SDK's own attempts come first");

    let (rules, tags) = listener_with(&[]);
    let ours = running("d-1");
    let denied = mock!(Elb::create_rule).then_http_response(|| {
        canned::query_error(
            403,
            "AccessDenied",
            "User is not authorized to perform: elasticloadbalancing:CreateRule",
        )
    });
    let error = run(
        &config(&[]),
        &notification("d-1", "shop-web", Phase::Running),
        &[&ours],
        &[&rules, &tags, &denied],
    )
    .await
    .unwrap_err();
    assert!(!error.retry_can_help);
    assert!(
        error
            .reason
            .ends_with("grant this function's role elasticloadbalancing:CreateRule"),
        "{}",
        error.reason
    );
}

#[tokio::test]
async fn a_sweep_removes_the_pages_of_finished_and_unknown_deployments_and_keeps_running_ones() {
    let (rules, tags) = listener_with(&[("old", "d-0"), ("gone", "d-9"), ("busy", "d-5")]);
    let finished = deployment("d-0", DeploymentStatus::Failed, DeploymentCreator::User);
    let unknown = mock!(CodeDeploy::get_deployment)
        .match_requests(|request| request.deployment_id() == Some("d-9"))
        .then_http_response(|| canned::json_error(400, "DeploymentDoesNotExistException", "no such deployment"));
    let busy = running("d-5");
    let (remove_old, remove_gone, remove_busy) = (delete("old"), delete("gone"), delete("busy"));
    let clients = AwsClients::from_clients(
        canned::codedeploy(&[&finished, &unknown, &busy]),
        canned::lambda(&[]),
        canned::elb(&[&rules, &tags, &remove_old, &remove_gone, &remove_busy]),
    );
    let swept = sweep(&clients, LISTENER).await.expect("swept");
    assert_eq!(swept.removed, vec!["old", "gone"]);
    assert_eq!(swept.kept, 1);
    assert_eq!(
        (remove_old.num_calls(), remove_gone.num_calls(), remove_busy.num_calls()),
        (1, 1, 0)
    );
}
