//! Where green answers. Its service revision (DescribeServiceRevisions) names the test listener
//! rule and green's own target group; the rule (DescribeRules) says what a request must carry and
//! whether it forwards to green yet; the rule's listener (DescribeListeners, then
//! DescribeLoadBalancers) says where to send it. Behind a Network Load Balancer the revision names
//! the test *listener* itself: no conditions, and its default actions say whether it forwards to
//! green.

use std::fmt;

use aws_sdk_ecs::types::ServiceRevision;
use reqwest::Url;

use super::rule::{GreenRoute, forwards_to, green_route, listener_of_rule};
use crate::plumbing::aws::AwsClients;
use crate::plumbing::aws::AwsError;
use crate::plumbing::aws::ecs::describe_service_revision;
use crate::plumbing::aws::elb::{ListenerError, describe_listener, describe_rule, listener_address, listener_url};

/// Green's test listener rule and target group, read from its service revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GreenRouting {
    /// An ALB's listener rule ARN, or an NLB's listener ARN.
    pub test_rule: String,
    pub target_group: String,
    /// Blue's target group: the other of the load balancer's pair, when the revision names both.
    pub blue_target_group: Option<String>,
    /// The production listener rule (an NLB's production listener), where real traffic comes in
    /// and a canary's synthetic traffic is sent.
    pub production_rule: Option<String>,
}

/// What preflight needs to check green.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Green {
    pub routing: GreenRouting,
    /// The test listener's address, `scheme://dns-name:port`; `None` when the rule does not
    /// forward to green (there is nothing to send yet).
    pub listener: Option<Url>,
    pub route: GreenRoute,
}

/// Why green could not be found; every message says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GreenError {
    Aws(AwsError),
    Listener(ListenerError),
    /// The revision has no load balancer with a test listener rule.
    NoTestRule {
        revision: String,
    },
    /// The revision does not say which target group green is in.
    NoTargetGroup {
        revision: String,
    },
    /// The rule asks for what a request from preflight cannot carry.
    Rule {
        rule: String,
        problem: String,
    },
}

impl fmt::Display for GreenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GreenError::Aws(error) => error.fmt(f),
            GreenError::Listener(error) => error.fmt(f),
            GreenError::NoTestRule { revision } => write!(
                f,
                "service revision {revision} has no load balancer with a test listener rule, so green cannot be \
                 reached apart from blue: give the service's load balancer an advancedConfiguration with a \
                 testListenerRule"
            ),
            GreenError::NoTargetGroup { revision } => write!(
                f,
                "service revision {revision} does not say which target group green is in \
                 (resolvedConfiguration.loadBalancers): check that the deployment is a blue/green, linear or \
                 canary one"
            ),
            GreenError::Rule { rule, problem } => write!(f, "listener rule {rule}: {problem}"),
        }
    }
}

impl std::error::Error for GreenError {}

impl From<ListenerError> for GreenError {
    fn from(error: ListenerError) -> GreenError {
        GreenError::Listener(error)
    }
}

/// Green's test rule and target group (pure). The first load balancer with a test listener rule
/// is green's way in; its target group is the resolved one that shares its production rule, or
/// the only one.
pub(crate) fn routing_of(revision: &ServiceRevision, revision_arn: &str) -> Result<GreenRouting, GreenError> {
    let (test_rule, production_rule, pair) = revision
        .load_balancers()
        .iter()
        .filter_map(|balancer| Some((balancer, balancer.advanced_configuration()?)))
        .find_map(|(balancer, advanced)| {
            advanced.test_listener_rule().map(|rule| {
                (
                    rule.to_string(),
                    advanced.production_listener_rule(),
                    [balancer.target_group_arn(), advanced.alternate_target_group_arn()],
                )
            })
        })
        .ok_or_else(|| GreenError::NoTestRule {
            revision: revision_arn.to_string(),
        })?;
    let resolved = revision
        .resolved_configuration()
        .map(|configuration| configuration.load_balancers())
        .unwrap_or_default();
    let same_production = resolved
        .iter()
        .find(|balancer| production_rule.is_some() && balancer.production_listener_rule() == production_rule);
    let target_group = same_production
        .or(if resolved.len() == 1 { resolved.first() } else { None })
        .and_then(|balancer| balancer.target_group_arn())
        .ok_or_else(|| GreenError::NoTargetGroup {
            revision: revision_arn.to_string(),
        })?;
    // The load balancer's target group and its alternate are blue's and green's, in either order.
    let blue_target_group = pair
        .into_iter()
        .flatten()
        .find(|group| *group != target_group)
        .map(str::to_string);
    Ok(GreenRouting {
        test_rule,
        target_group: target_group.to_string(),
        blue_target_group,
        production_rule: production_rule.map(str::to_string),
    })
}

/// Whether a test listener "rule" is a listener's ARN, as ECS gives for a Network Load Balancer:
/// `…:listener/net/LB/LBID/LISTENERID` (four parts, no rule id).
pub(crate) fn is_listener_arn(arn: &str) -> bool {
    arn.split_once(":listener/")
        .is_some_and(|(_, path)| path.split('/').count() == 4 && path.split('/').all(|part| !part.is_empty()))
}

/// Finds green for the revision `revision_arn`. The listener's address is looked up only when
/// the rule forwards to green.
pub(crate) async fn find_green(clients: &AwsClients, revision_arn: &str) -> Result<Green, GreenError> {
    let revision = describe_service_revision(clients.ecs().await, revision_arn)
        .await
        .map_err(GreenError::Aws)?;
    let routing = routing_of(&revision, revision_arn)?;
    let elb = clients.elb().await;
    if is_listener_arn(&routing.test_rule) {
        // An NLB: the listener forwards by its default actions, and asks nothing of a request.
        let listener = describe_listener(elb, &routing.test_rule).await?;
        let address = if forwards_to(listener.default_actions(), &routing.target_group) {
            Some(listener_address(elb, &listener).await?)
        } else {
            None
        };
        return Ok(Green {
            routing,
            listener: address,
            route: GreenRoute::default(),
        });
    }
    let Some(listener_arn) = listener_of_rule(&routing.test_rule) else {
        return Err(GreenError::Rule {
            rule: routing.test_rule,
            problem: "is neither a listener rule ARN (…:listener-rule/app/LB/ID/LISTENER/RULE) nor a listener ARN \
                      (…:listener/net/LB/ID/LISTENER)"
                .into(),
        });
    };
    let rule = describe_rule(elb, &routing.test_rule).await?;
    let route = green_route(&rule).map_err(|problem| GreenError::Rule {
        rule: routing.test_rule.clone(),
        problem,
    })?;
    let listener = if forwards_to(rule.actions(), &routing.target_group) {
        Some(listener_url(elb, &listener_arn).await?)
    } else {
        None
    };
    Ok(Green {
        routing,
        listener,
        route,
    })
}

/// The production path of green's service: its production listener's address and what its rule
/// asks of a request, for a canary's synthetic traffic (which the rule's weights split between
/// blue and green as they split real traffic).
pub(crate) async fn find_production(
    clients: &AwsClients,
    routing: &GreenRouting,
) -> Result<(Url, GreenRoute), GreenError> {
    let Some(production_rule) = &routing.production_rule else {
        return Err(GreenError::Rule {
            rule: routing.test_rule.clone(),
            problem: "has no production listener rule beside it in the service revision, so there is no production \
                      path to send canary traffic through: give the load balancer's advancedConfiguration a \
                      productionListenerRule, or remove canary.traffic"
                .into(),
        });
    };
    let elb = clients.elb().await;
    if is_listener_arn(production_rule) {
        let listener = describe_listener(elb, production_rule).await?;
        return Ok((listener_address(elb, &listener).await?, GreenRoute::default()));
    }
    let Some(listener_arn) = listener_of_rule(production_rule) else {
        return Err(GreenError::Rule {
            rule: production_rule.clone(),
            problem: "is neither a listener rule ARN nor a listener ARN".into(),
        });
    };
    let rule = describe_rule(elb, production_rule).await?;
    let route = green_route(&rule).map_err(|problem| GreenError::Rule {
        rule: production_rule.clone(),
        problem,
    })?;
    Ok((listener_url(elb, &listener_arn).await?, route))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{AdvancedConfiguration, LoadBalancer, ResolvedConfiguration, ServiceRevisionLoadBalancer};

    const TEST_RULE: &str = "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/shop/1/2/3";
    const PRODUCTION_RULE: &str = "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/shop/1/4/5";
    const GREEN_GROUP: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/green/1";

    fn revision(test_rule: Option<&str>, resolved: &[(&str, &str)]) -> ServiceRevision {
        let mut advanced = AdvancedConfiguration::builder()
            .production_listener_rule(PRODUCTION_RULE)
            .alternate_target_group_arn("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/2");
        if let Some(rule) = test_rule {
            advanced = advanced.test_listener_rule(rule);
        }
        let mut configuration = ResolvedConfiguration::builder();
        for (group, production) in resolved {
            configuration = configuration.load_balancers(
                ServiceRevisionLoadBalancer::builder()
                    .target_group_arn(*group)
                    .production_listener_rule(*production)
                    .build(),
            );
        }
        ServiceRevision::builder()
            .load_balancers(LoadBalancer::builder().advanced_configuration(advanced.build()).build())
            .resolved_configuration(configuration.build())
            .build()
    }

    #[test]
    fn the_test_rule_and_greens_own_target_group_are_read_from_the_revision() {
        let routing = routing_of(
            &revision(
                Some(TEST_RULE),
                &[("arn:other", "arn:other-rule"), (GREEN_GROUP, PRODUCTION_RULE)],
            ),
            "arn:rev",
        )
        .unwrap();
        assert_eq!(
            routing,
            GreenRouting {
                test_rule: TEST_RULE.into(),
                target_group: GREEN_GROUP.into(),
                blue_target_group: Some("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/2".into()),
                production_rule: Some(PRODUCTION_RULE.into()),
            }
        );
    }

    #[test]
    fn a_revision_without_a_test_rule_or_target_group_says_what_is_missing() {
        let error = routing_of(&revision(None, &[(GREEN_GROUP, PRODUCTION_RULE)]), "arn:rev").unwrap_err();
        assert!(matches!(error, GreenError::NoTestRule { .. }), "{error:?}");
        assert!(error.to_string().contains("testListenerRule"), "{error}");
        let error = routing_of(&revision(Some(TEST_RULE), &[]), "arn:rev").unwrap_err();
        assert!(matches!(error, GreenError::NoTargetGroup { .. }), "{error:?}");
    }

    const NLB_LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:1:listener/net/shop/1/9";

    #[test]
    fn an_nlbs_test_listener_is_told_from_an_albs_rule_by_its_arn() {
        assert!(is_listener_arn(NLB_LISTENER));
        assert!(!is_listener_arn(TEST_RULE));
        assert!(!is_listener_arn(
            "arn:aws:elasticloadbalancing:us-east-1:1:listener/net/shop/1/"
        ));
    }
}
