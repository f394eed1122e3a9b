//! The stand-in's ELBv2 (awsQuery: `POST /`, a form body with `Action=…&Version=2015-12-01`, XML
//! answers): DescribeListeners and DescribeLoadBalancers, for the test listeners of ECS
//! deployments (an NLB's with its default action), and DescribeRules, for the test listener
//! rules of ECS-native ones. moto implements ELBv2 fully, but its load balancers' DNS names do not resolve;
//! here a load balancer's `DNSName` is `127.0.0.1`, so that a check sent to a found listener
//! reaches a loopback server. Only the fields preflight reads are given, in AWS's names.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::faults::{apply_fault, take_fault};
use super::model::{EcsServiceRecord, Fault, ListenerRecord, Operation};
use super::records::Shared;

const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// ELBv2's awsQuery error document.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>local-stand-in</RequestId></ErrorResponse>"
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Throttle => error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        Fault::AccessDenied => error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized to \
             perform: elasticloadbalancing:DescribeListeners",
        ),
        // Never reached: apply_fault waits out latency and lets the call go on.
        Fault::Latency(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "latency is not an error",
        ),
    }
}

fn ok(action: &str, result: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>local-stand-in</RequestId></ResponseMetadata></{action}Response>"
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

/// What one Describe action lists, and how it finds and shows each listener record.
struct Describe {
    operation: Operation,
    /// The request's list (`ListenerArns`) and the answer's (`Listeners`).
    asked: &'static str,
    answered: &'static str,
    /// AWS refuses the whole call when one ARN is unknown, with this code.
    not_found: (&'static str, &'static str),
    arn: fn(&ListenerRecord) -> &str,
    member: fn(&ListenerRecord) -> String,
}

const DESCRIBE_LISTENERS: Describe = Describe {
    operation: Operation::DescribeListeners,
    asked: "ListenerArns",
    answered: "Listeners",
    not_found: ("ListenerNotFound", "One or more listeners not found"),
    arn: |l| &l.listener_arn,
    member: |l| {
        format!(
            "<ListenerArn>{}</ListenerArn><LoadBalancerArn>{}</LoadBalancerArn><Port>{}</Port><Protocol>{}</Protocol>",
            l.listener_arn, l.load_balancer_arn, l.port, l.protocol
        )
    },
};

const DESCRIBE_LOAD_BALANCERS: Describe = Describe {
    operation: Operation::DescribeLoadBalancers,
    asked: "LoadBalancerArns",
    answered: "LoadBalancers",
    not_found: ("LoadBalancerNotFound", "One or more load balancers not found"),
    arn: |l| &l.load_balancer_arn,
    member: |l| {
        format!(
            "<LoadBalancerArn>{}</LoadBalancerArn><DNSName>{}</DNSName><Scheme>internal</Scheme><Type>{}</Type>",
            l.load_balancer_arn, l.dns_name, l.load_balancer_type
        )
    },
};

/// Serves one awsQuery request whose form fields are `form`.
pub(crate) async fn serve(shared: &Shared, form: &[(String, String)]) -> Response {
    let action = form
        .iter()
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.as_str());
    let (name, describe) = match action {
        Some("DescribeRules") => return describe_rules(shared, form).await,
        Some(name @ "DescribeListeners") => (name, DESCRIBE_LISTENERS),
        Some(name @ "DescribeLoadBalancers") => (name, DESCRIBE_LOAD_BALANCERS),
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                &format!("The action {} is not valid for this web service.", other.unwrap_or("")),
            );
        }
    };
    if let Some(response) = apply_fault(take_fault(shared, describe.operation), fault_response).await {
        return response;
    }
    let prefix = format!("{}.member.", describe.asked);
    let records = shared.records();
    let mut members = String::new();
    for (_, arn) in form.iter().filter(|(key, _)| key.starts_with(&prefix)) {
        match records.listeners.iter().find(|record| (describe.arn)(record) == arn) {
            Some(record) => {
                // A listener an ECS-native service names as its test listener (an NLB's) forwards
                // by its default action to where the service's test traffic goes.
                let default_actions = match describe.operation {
                    Operation::DescribeListeners => records
                        .ecs_services
                        .iter()
                        .find(|service| service.test_rule_arn == record.listener_arn)
                        .map(|service| forward_actions("DefaultActions", &service.test_rule_forwards_to))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                members.push_str(&format!(
                    "<member>{}{default_actions}</member>",
                    (describe.member)(record)
                ));
            }
            None => return error(StatusCode::BAD_REQUEST, describe.not_found.0, describe.not_found.1),
        }
    }
    ok(name, &format!("<{0}>{members}</{0}>", describe.answered))
}

/// `<member>…</member>` of each value.
fn members(values: &[String]) -> String {
    values.iter().map(|value| format!("<member>{value}</member>")).collect()
}

/// A test listener rule in DescribeRules' shape: each condition with its typed config (and the
/// legacy `Values` where AWS gives them), one forward action with its `ForwardConfig`.
fn rule_member(service: &EcsServiceRecord) -> String {
    let rule = &service.test_rule;
    let mut conditions = String::new();
    if let Some(host) = &rule.host {
        let values = members(std::slice::from_ref(host));
        conditions.push_str(&format!(
            "<member><Field>host-header</Field><Values>{values}</Values>\
             <HostHeaderConfig><Values>{values}</Values></HostHeaderConfig></member>"
        ));
    }
    if let Some((name, value)) = &rule.header {
        conditions.push_str(&format!(
            "<member><Field>http-header</Field><HttpHeaderConfig><HttpHeaderName>{name}</HttpHeaderName>\
             <Values>{}</Values></HttpHeaderConfig></member>",
            members(std::slice::from_ref(value))
        ));
    }
    if !rule.path_patterns.is_empty() {
        let values = members(&rule.path_patterns);
        conditions.push_str(&format!(
            "<member><Field>path-pattern</Field><Values>{values}</Values>\
             <PathPatternConfig><Values>{values}</Values></PathPatternConfig></member>"
        ));
    }
    format!(
        "<member><RuleArn>{}</RuleArn><Priority>1</Priority><IsDefault>false</IsDefault>\
         <Conditions>{conditions}</Conditions>{}</member>",
        service.test_rule_arn,
        forward_actions("Actions", &service.test_rule_forwards_to)
    )
}

/// One forward action to `group`, with its `ForwardConfig`, under `list` (`Actions` of a rule,
/// `DefaultActions` of a listener).
fn forward_actions(list: &str, group: &str) -> String {
    format!(
        "<{list}><member><Type>forward</Type><Order>1</Order><TargetGroupArn>{group}</TargetGroupArn>\
         <ForwardConfig><TargetGroups><member><TargetGroupArn>{group}</TargetGroupArn><Weight>1</Weight></member>\
         </TargetGroups></ForwardConfig></member></{list}>"
    )
}

/// DescribeRules by `RuleArns`; one unknown ARN refuses the call with `RuleNotFound`, as in AWS.
async fn describe_rules(shared: &Shared, form: &[(String, String)]) -> Response {
    if let Some(response) = apply_fault(take_fault(shared, Operation::DescribeRules), fault_response).await {
        return response;
    }
    let records = shared.records();
    let mut rules = String::new();
    for (_, arn) in form.iter().filter(|(key, _)| key.starts_with("RuleArns.member.")) {
        match records
            .ecs_services
            .iter()
            .find(|service| &service.test_rule_arn == arn)
        {
            Some(service) => rules.push_str(&rule_member(service)),
            None => return error(StatusCode::BAD_REQUEST, "RuleNotFound", "One or more rules not found"),
        }
    }
    ok("DescribeRules", &format!("<Rules>{rules}</Rules>"))
}
