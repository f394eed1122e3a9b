//! The ALB listener's rules, through ELBv2: find preflight's pages, put one up, take one down.
//!
//! Every failure comes back as an [`AwsError`] with AWS's code, so that the executor can tell a
//! refusal from a passing fault, log it, and fail the invocation; never swallow it.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, PathPatternConditionConfig, RuleCondition, Tag,
};

use super::config::Page;
use super::plan::{DEPLOYMENT_TAG, GROUP_TAG, PageRule, ROLE_TAG, ROLE_VALUE};
use crate::plumbing::aws::{AwsError, Service};

/// ELBv2's error code when another rule holds the priority.
pub(crate) const PRIORITY_IN_USE: &str = "PriorityInUse";

fn elb_error<E>(
    operation: &'static str,
) -> impl Fn(
    aws_sdk_elasticloadbalancingv2::error::SdkError<E, aws_sdk_elasticloadbalancingv2::config::http::HttpResponse>,
) -> AwsError
where
    E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |error| {
        let error = AwsError::from_sdk(Service::ElasticLoadBalancing, operation, &error);
        let advice = match error.code() {
            Some("ListenerNotFound") => Some("the listener does not exist: correct MAINTENANCE_LISTENERS"),
            Some("TargetGroupNotFound") => {
                Some("the target group does not exist: correct MAINTENANCE_TARGET_GROUP_ARN")
            }
            Some("TooManyRules") => Some("the listener holds as many rules as it may: remove one"),
            Some("TooManyTags") => Some("the listener rule cannot take preflight's three tags"),
            _ => None,
        };
        match advice {
            Some(advice) => error.with_advice(advice),
            None => error,
        }
    }
}

/// DescribeTags takes at most 20 ARNs a call.
const TAGS_PER_CALL: usize = 20;

/// The preflight pages on `listener_arn`, found by their tags.
pub(crate) async fn find_pages(client: &Client, listener_arn: &str) -> Result<Vec<PageRule>, AwsError> {
    let rule_arns = list_rule_arns(client, listener_arn).await?;
    let mut pages = Vec::new();
    for chunk in rule_arns.chunks(TAGS_PER_CALL) {
        let output = client
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(elb_error("DescribeTags"))?;
        for description in output.tag_descriptions() {
            let tag = |key: &str| {
                description
                    .tags()
                    .iter()
                    .find(|tag| tag.key() == Some(key))
                    .and_then(|tag| tag.value())
            };
            if tag(ROLE_TAG) != Some(ROLE_VALUE) {
                continue;
            }
            if let Some(rule_arn) = description.resource_arn() {
                pages.push(PageRule {
                    rule_arn: rule_arn.to_string(),
                    deployment_id: tag(DEPLOYMENT_TAG).map(str::to_string),
                });
            }
        }
    }
    Ok(pages)
}

/// Every non-default rule of the listener, following DescribeRules' markers.
async fn list_rule_arns(client: &Client, listener_arn: &str) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut marker = None;
    loop {
        let output = client
            .describe_rules()
            .listener_arn(listener_arn)
            .set_marker(marker)
            .send()
            .await
            .map_err(elb_error("DescribeRules"))?;
        arns.extend(
            output
                .rules()
                .iter()
                .filter(|rule| rule.is_default() != Some(true))
                .filter_map(|rule| rule.rule_arn().map(str::to_string)),
        );
        match output.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_string()),
            _ => return Ok(arns),
        }
    }
}

/// What a new page is: where, at which priority, showing what, for which deployment.
pub(crate) struct NewPage<'a> {
    pub listener_arn: &'a str,
    pub priority: i32,
    pub page: &'a Page,
    pub deployment_id: &'a str,
    pub deployment_group: String,
}

/// Creates the page's rule, tagged in the same call so that it is never untracked. Two
/// simultaneous starts cannot both succeed: the second meets [`PRIORITY_IN_USE`].
pub(crate) async fn put_up(client: &Client, new: NewPage<'_>) -> Result<String, AwsError> {
    let every_path = RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(PathPatternConditionConfig::builder().values("/*").build())
        .build();
    let tags = [
        (ROLE_TAG, ROLE_VALUE),
        (DEPLOYMENT_TAG, new.deployment_id),
        (GROUP_TAG, new.deployment_group.as_str()),
    ]
    .map(|(key, value)| Tag::builder().key(key).value(value).build());
    let output = client
        .create_rule()
        .listener_arn(new.listener_arn)
        .priority(new.priority)
        .conditions(every_path)
        .actions(page_action(new.page))
        .set_tags(Some(tags.to_vec()))
        .send()
        .await
        .map_err(elb_error("CreateRule"))?;
    output
        .rules()
        .first()
        .and_then(|rule| rule.rule_arn())
        .map(str::to_string)
        .ok_or_else(|| AwsError {
            service: Service::ElasticLoadBalancing,
            operation: "CreateRule",
            failure: crate::plumbing::aws::error::Failure::Response,
            code: None,
            message: Some("the answer has no rule ARN".into()),
            http_status: None,
            advice: None,
        })
}

fn page_action(page: &Page) -> Action {
    match page {
        Page::Fixed {
            status,
            content_type,
            body,
        } => Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(status.to_string())
                    .content_type(content_type)
                    .message_body(body)
                    .build(),
            )
            .build(),
        Page::Forward { target_group_arn } => Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(target_group_arn)
            .build(),
    }
}

/// Deletes a page's rule; one that is already gone counts as deleted.
pub(crate) async fn take_down(client: &Client, rule_arn: &str) -> Result<(), AwsError> {
    match client.delete_rule().rule_arn(rule_arn).send().await {
        Ok(_) => Ok(()),
        Err(error) => {
            let error = elb_error("DeleteRule")(error);
            if error.is("RuleNotFound") { Ok(()) } else { Err(error) }
        }
    }
}
