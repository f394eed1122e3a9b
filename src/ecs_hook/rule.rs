//! What green's test listener rule asks of a request (pure): the checks must satisfy the rule's
//! conditions, or the load balancer sends them to blue. A `host-header` condition gives the
//! `Host` to send, `http-header` conditions headers, `query-string` conditions a query, and a
//! `path-pattern` condition limits the paths a check may use. The rule must forward to green's
//! target group, or there is nothing of green to check yet.

use aws_lambda_events::http::{HeaderName, HeaderValue};
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, Rule, RuleCondition};
use wildmatch::WildMatch;

use crate::checks::{Check, Request};

/// How to reach green through its test listener rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GreenRoute {
    /// A `Host` the rule's `host-header` condition accepts (also the TLS server name on HTTPS).
    pub host: Option<String>,
    /// Headers the `http-header` conditions ask for, one value each.
    pub headers: Vec<(String, String)>,
    /// `key=value` pairs the `query-string` conditions ask for.
    pub query: Vec<(Option<String>, String)>,
    /// The `path-pattern` values (any one must match); empty: every path reaches green.
    pub path_patterns: Vec<String>,
    /// The `http-request-method` values; empty: any method.
    pub methods: Vec<String>,
}

impl GreenRoute {
    /// Whether a check of `path` (its query aside) would be routed by the rule.
    pub(crate) fn routes_path(&self, path: &str) -> bool {
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        // ELB path patterns are case-sensitive, with `*` and `?`, applied to the path only.
        self.path_patterns.is_empty()
            || self
                .path_patterns
                .iter()
                .any(|pattern| WildMatch::new(pattern).matches(path))
    }

    /// Whether a check sent with `method` would be routed by the rule.
    pub(crate) fn routes_method(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|allowed| allowed.eq_ignore_ascii_case(method))
    }
}

impl GreenRoute {
    /// `check` as the rule routes it to green: the rule's host (sent to the listener's address),
    /// headers and query added. A check the rule would send to blue is an error naming what to
    /// change.
    pub(crate) fn apply(&self, check: Check) -> Result<Check, String> {
        let Request::Http {
            mut url,
            method,
            mut headers,
            connect_to,
        } = check.request
        else {
            return Err("a Lambda invocation cannot go through a load balancer's listener rule".into());
        };
        if !self.routes_path(url.path()) {
            return Err(format!(
                "the check of {} is outside the test listener rule's path patterns ({}): the load balancer would \
                 send it to blue, not green; check a path the rule matches, or widen the rule",
                url.path(),
                self.path_patterns.join(", ")
            ));
        }
        if !self.routes_method(method.as_str()) {
            return Err(format!(
                "the check of {} sends {method}, which the test listener rule does not route (it routes {}): \
                 change the check's method or the rule",
                url.path(),
                self.methods.join(", ")
            ));
        }
        for (name, value) in &self.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .ok()
                .zip(HeaderValue::from_str(value).ok())
                .ok_or_else(|| {
                    format!("the test listener rule's http-header condition on `{name}` cannot be sent as a header")
                })?;
            // The rule's value, not a check's own, decides where the request goes.
            headers.retain(|(existing, _)| *existing != header.0);
            headers.push(header);
        }
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &self.query {
                // A condition without a key matches the value under any key.
                pairs.append_pair(key.as_deref().unwrap_or("preflight"), value);
            }
        }
        let connect_to = match &self.host {
            Some(host) => {
                let listener = url.host_str().map(str::to_string);
                url.set_host(Some(host)).map_err(|error| {
                    format!("the test listener rule's host-header `{host}` is not a host name ({error})")
                })?;
                listener.or(connect_to)
            }
            None => connect_to,
        };
        Ok(Check {
            request: Request::Http {
                url,
                method,
                headers,
                connect_to,
            },
            ..check
        })
    }
}

/// A value that a condition's pattern (`*` any run, `?` one character) accepts.
fn instance(pattern: &str) -> String {
    pattern.replace('*', "preflight").replace('?', "p")
}

/// The values of a condition, from its typed config or the legacy `Values`.
fn values(condition: &RuleCondition, typed: Option<&[String]>) -> Vec<String> {
    match typed {
        Some(values) if !values.is_empty() => values.to_vec(),
        _ => condition.values().to_vec(),
    }
}

/// Reads the rule's conditions; a condition no request from preflight can satisfy is an error
/// that says so.
pub(crate) fn green_route(rule: &Rule) -> Result<GreenRoute, String> {
    let mut route = GreenRoute::default();
    for condition in rule.conditions() {
        match condition.field().unwrap_or_default() {
            "host-header" => {
                let hosts = values(condition, condition.host_header_config().map(|c| c.values()));
                route.host = hosts.first().map(|host| instance(host));
            }
            "path-pattern" => {
                route.path_patterns = values(condition, condition.path_pattern_config().map(|c| c.values()));
            }
            "http-header" => {
                if let Some(config) = condition.http_header_config() {
                    let name = config.http_header_name().unwrap_or_default();
                    if let Some(value) = config.values().first() {
                        route.headers.push((name.to_string(), instance(value)));
                    }
                }
            }
            "query-string" => {
                if let Some(pair) = condition.query_string_config().and_then(|c| c.values().first()) {
                    route
                        .query
                        .push((pair.key().map(instance), instance(pair.value().unwrap_or_default())));
                }
            }
            "http-request-method" => {
                route.methods = condition
                    .http_request_method_config()
                    .map(|c| c.values().to_vec())
                    .unwrap_or_default();
            }
            "source-ip" => {
                return Err(
                    "the test listener rule matches on source-ip, which preflight's requests cannot be made to \
                     satisfy: match the test rule on a header or host instead"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "the test listener rule has a condition on `{other}`, which preflight does not know"
                ));
            }
        }
    }
    Ok(route)
}

/// Whether `actions` (a rule's, or an NLB listener's default actions) forward to
/// `target_group_arn` with a weight above zero.
pub(crate) fn forwards_to(actions: &[Action], target_group_arn: &str) -> bool {
    actions.iter().any(|action| {
        action.r#type() == Some(&ActionTypeEnum::Forward)
            && (action.target_group_arn() == Some(target_group_arn)
                || action.forward_config().is_some_and(|config| {
                    config.target_groups().iter().any(|group| {
                        group.target_group_arn() == Some(target_group_arn) && group.weight().unwrap_or(1) > 0
                    })
                }))
    })
}

/// The listener a rule belongs to: `…:listener-rule/app/LB/LBID/LISTENERID/RULEID` →
/// `…:listener/app/LB/LBID/LISTENERID`.
pub(crate) fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let (prefix, path) = rule_arn.split_once(":listener-rule/")?;
    let (listener, rule_id) = path.rsplit_once('/')?;
    (!rule_id.is_empty() && listener.split('/').count() == 4).then(|| format!("{prefix}:listener/{listener}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ForwardActionConfig, HostHeaderConditionConfig, HttpHeaderConditionConfig, PathPatternConditionConfig,
        TargetGroupTuple,
    };

    const GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/green/1";
    const BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/2";

    fn rule(conditions: Vec<RuleCondition>, forward: &[(&str, i32)]) -> Rule {
        let groups = forward
            .iter()
            .map(|(arn, weight)| {
                TargetGroupTuple::builder()
                    .target_group_arn(*arn)
                    .weight(*weight)
                    .build()
            })
            .collect();
        Rule::builder()
            .set_conditions(Some(conditions))
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .forward_config(ForwardActionConfig::builder().set_target_groups(Some(groups)).build())
                    .build(),
            )
            .build()
    }

    fn header(name: &str, value: &str) -> RuleCondition {
        RuleCondition::builder()
            .field("http-header")
            .http_header_config(
                HttpHeaderConditionConfig::builder()
                    .http_header_name(name)
                    .values(value)
                    .build(),
            )
            .build()
    }

    fn host(value: &str) -> RuleCondition {
        RuleCondition::builder()
            .field("host-header")
            .host_header_config(HostHeaderConditionConfig::builder().values(value).build())
            .build()
    }

    fn paths(values: &[&str]) -> RuleCondition {
        let mut config = PathPatternConditionConfig::builder();
        for value in values {
            config = config.values(*value);
        }
        RuleCondition::builder()
            .field("path-pattern")
            .path_pattern_config(config.build())
            .build()
    }

    #[test]
    fn host_and_header_conditions_become_what_the_checks_send() {
        let route = green_route(&rule(
            vec![host("test.shop.example.com"), header("X-Canary", "green")],
            &[],
        ))
        .unwrap();
        assert_eq!(route.host.as_deref(), Some("test.shop.example.com"));
        assert_eq!(route.headers, vec![("X-Canary".to_string(), "green".to_string())]);
    }

    #[test]
    fn wildcard_values_get_a_value_they_accept() {
        let route = green_route(&rule(vec![host("*.test.example.com"), header("x-env", "gre?n*")], &[])).unwrap();
        let host = route.host.unwrap();
        assert!(WildMatch::new("*.test.example.com").matches(&host), "{host}");
        assert!(WildMatch::new("gre?n*").matches(&route.headers[0].1));
    }

    #[test]
    fn paths_outside_the_pattern_are_not_routed() {
        let route = green_route(&rule(vec![paths(&["/api/*", "/health"])], &[])).unwrap();
        assert!(route.routes_path("/api/orders?x=1"));
        assert!(route.routes_path("/health"));
        assert!(!route.routes_path("/healthcheck"));
        assert!(!route.routes_path("/API/orders"), "path patterns are case-sensitive");
        assert!(GreenRoute::default().routes_path("/anything"));
    }

    #[test]
    fn a_source_ip_condition_cannot_be_satisfied() {
        let condition = RuleCondition::builder().field("source-ip").build();
        let error = green_route(&rule(vec![condition], &[])).unwrap_err();
        assert!(error.contains("source-ip"), "{error}");
    }

    #[test]
    fn the_rule_must_forward_to_green_with_a_weight() {
        assert!(forwards_to(
            rule(Vec::new(), &[(GREEN, 100), (BLUE, 0)]).actions(),
            GREEN
        ));
        assert!(!forwards_to(
            rule(Vec::new(), &[(GREEN, 0), (BLUE, 100)]).actions(),
            GREEN
        ));
        assert!(!forwards_to(rule(Vec::new(), &[(BLUE, 100)]).actions(), GREEN));
        let simple = Rule::builder()
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(GREEN)
                    .build(),
            )
            .build();
        assert!(forwards_to(simple.actions(), GREEN));
    }

    #[test]
    fn a_rule_belongs_to_the_listener_its_arn_names() {
        assert_eq!(
            listener_of_rule(
                "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
            )
            .as_deref(),
            Some("arn:aws:elasticloadbalancing:us-east-1:1:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2")
        );
        assert_eq!(
            listener_of_rule("arn:aws:elasticloadbalancing:us-east-1:1:listener/app/shop/1/2"),
            None
        );
        assert_eq!(
            listener_of_rule("arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/shop/1"),
            None
        );
    }
}
