//! Where a load balancer listener answers: DescribeListeners (port, protocol, load balancer),
//! then DescribeLoadBalancers (DNS name), as `scheme://dns-name:port`; and one listener rule
//! (DescribeRules). Shared by the flows that check a test listener they found themselves.

use std::fmt;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{Listener, ProtocolEnum, Rule};
use reqwest::Url;

use super::error::{AwsError, Service};

/// Why a listener's address could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListenerError {
    Aws(AwsError),
    /// ELBv2 answered, but not with what an address needs; the text says what was missing.
    Unusable(String),
}

impl fmt::Display for ListenerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenerError::Aws(error) => error.fmt(f),
            ListenerError::Unusable(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ListenerError {}

impl From<AwsError> for ListenerError {
    fn from(error: AwsError) -> ListenerError {
        ListenerError::Aws(error)
    }
}

/// `scheme://dns-name:port` of the listener `listener_arn`.
pub(crate) async fn listener_url(client: &Client, listener_arn: &str) -> Result<Url, ListenerError> {
    let listener = describe_listener(client, listener_arn).await?;
    listener_address(client, &listener).await
}

/// The listener `listener_arn`: its port, protocol, load balancer and default actions.
pub(crate) async fn describe_listener(client: &Client, listener_arn: &str) -> Result<Listener, ListenerError> {
    let listeners = client
        .describe_listeners()
        .listener_arns(listener_arn)
        .send()
        .await
        .map_err(|error| {
            let error = AwsError::from_sdk(Service::ElasticLoadBalancing, "DescribeListeners", &error);
            if error.is("ListenerNotFound") {
                error.with_advice(format!(
                    "the listener {listener_arn} does not exist in this account and region"
                ))
            } else {
                error
            }
        })?;
    listeners
        .listeners()
        .first()
        .cloned()
        .ok_or_else(|| ListenerError::Unusable(format!("listener {listener_arn}: ELBv2 gave no listener")))
}

/// `scheme://dns-name:port` of `listener` (DescribeLoadBalancers gives the DNS name).
pub(crate) async fn listener_address(client: &Client, listener: &Listener) -> Result<Url, ListenerError> {
    let listener_arn = listener.listener_arn().unwrap_or("(no ARN)");
    let unusable = |what: &str| ListenerError::Unusable(format!("listener {listener_arn}: ELBv2 gave {what}"));
    let port = listener
        .port()
        .and_then(|port| u16::try_from(port).ok())
        .ok_or_else(|| unusable("no port"))?;
    let load_balancer_arn = listener
        .load_balancer_arn()
        .ok_or_else(|| unusable("no load balancer"))?;
    // An NLB's TCP listener passes HTTP through; TLS listeners speak HTTPS to the client.
    let scheme = match listener.protocol() {
        Some(ProtocolEnum::Https | ProtocolEnum::Tls) => "https",
        _ => "http",
    };
    let balancers = client
        .describe_load_balancers()
        .load_balancer_arns(load_balancer_arn)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(Service::ElasticLoadBalancing, "DescribeLoadBalancers", &error))?;
    let dns_name = balancers
        .load_balancers()
        .first()
        .and_then(|balancer| balancer.dns_name())
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| unusable("no DNS name for its load balancer"))?;
    Url::parse(&format!("{scheme}://{dns_name}:{port}"))
        .map_err(|error| unusable(&format!("`{dns_name}`:{port}, not an address ({error})")))
}

/// The listener rule `rule_arn`: its conditions and actions.
pub(crate) async fn describe_rule(client: &Client, rule_arn: &str) -> Result<Rule, ListenerError> {
    let rules = client
        .describe_rules()
        .rule_arns(rule_arn)
        .send()
        .await
        .map_err(|error| {
            let error = AwsError::from_sdk(Service::ElasticLoadBalancing, "DescribeRules", &error);
            if error.is("RuleNotFound") {
                error.with_advice(format!(
                    "the listener rule {rule_arn} does not exist in this account and region"
                ))
            } else {
                error
            }
        })?;
    rules
        .rules()
        .first()
        .cloned()
        .ok_or_else(|| ListenerError::Unusable(format!("listener rule {rule_arn}: ELBv2 gave no rule")))
}

/// The load balancers each of `target_group_arns` serves (DescribeTargetGroups), by target group
/// ARN, in the order asked.
pub(crate) async fn target_group_load_balancers(
    client: &Client,
    target_group_arns: &[String],
) -> Result<Vec<(String, Vec<String>)>, AwsError> {
    let output = client
        .describe_target_groups()
        .set_target_group_arns(Some(target_group_arns.to_vec()))
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(Service::ElasticLoadBalancing, "DescribeTargetGroups", &error))?;
    Ok(target_group_arns
        .iter()
        .map(|arn| {
            let load_balancers = output
                .target_groups()
                .iter()
                .find(|group| group.target_group_arn() == Some(arn.as_str()))
                .map(|group| group.load_balancer_arns().to_vec())
                .unwrap_or_default();
            (arn.clone(), load_balancers)
        })
        .collect())
}

/// Target groups by name (DescribeTargetGroups): each one's ARN and the load balancers it serves,
/// in the order asked; a name ELBv2 did not describe is left out.
pub(crate) async fn target_groups_named(
    client: &Client,
    names: &[String],
) -> Result<Vec<(String, String, Vec<String>)>, AwsError> {
    let output = client
        .describe_target_groups()
        .set_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(Service::ElasticLoadBalancing, "DescribeTargetGroups", &error))?;
    Ok(names
        .iter()
        .filter_map(|name| {
            let group = output
                .target_groups()
                .iter()
                .find(|group| group.target_group_name() == Some(name.as_str()))?;
            Some((
                name.clone(),
                group.target_group_arn()?.to_string(),
                group.load_balancer_arns().to_vec(),
            ))
        })
        .collect())
}
