//! The stand-in's ELBv2 (awsQuery: `POST /`, a form body with `Action=…&Version=2015-12-01`, XML
//! answers): DescribeListeners and DescribeLoadBalancers, for the test listeners of ECS
//! deployments. moto implements ELBv2 fully, but its load balancers' DNS names do not resolve;
//! here a load balancer's `DNSName` is `127.0.0.1`, so that a check sent to a found listener
//! reaches a loopback server. Only the fields preflight reads are given, in AWS's names.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Operation, Shared};
use crate::local_aws::faults::take_fault;

const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// A listener and its load balancer, as the stand-in holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRecord {
    pub listener_arn: String,
    pub load_balancer_arn: String,
    pub port: u16,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    pub dns_name: String,
}

/// ELBv2's awsQuery error document.
fn error(code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>local-stand-in</RequestId></ErrorResponse>"
    );
    (StatusCode::BAD_REQUEST, [("content-type", "text/xml")], body).into_response()
}

fn ok(action: &str, result: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>local-stand-in</RequestId></ResponseMetadata></{action}Response>"
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

/// Serves one awsQuery request whose form fields are `form`.
pub(crate) fn serve(shared: &Shared, form: &[(String, String)]) -> Response {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let members = |list: &str| -> Vec<String> {
        let prefix = format!("{list}.member.");
        form.iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(_, value)| value.clone())
            .collect()
    };
    match field("Action") {
        Some("DescribeListeners") => {
            take_fault(shared, Operation::DescribeListeners);
            let records = shared.records();
            let mut found = Vec::new();
            for arn in members("ListenerArns") {
                match records.listeners.iter().find(|l| l.listener_arn == arn) {
                    Some(listener) => found.push(listener.clone()),
                    // AWS refuses the whole call when one ARN is unknown.
                    None => return error("ListenerNotFound", "One or more listeners not found"),
                }
            }
            let members: String = found
                .iter()
                .map(|l| {
                    format!(
                        "<member><ListenerArn>{}</ListenerArn><LoadBalancerArn>{}</LoadBalancerArn>\
                         <Port>{}</Port><Protocol>{}</Protocol></member>",
                        l.listener_arn, l.load_balancer_arn, l.port, l.protocol
                    )
                })
                .collect();
            ok("DescribeListeners", &format!("<Listeners>{members}</Listeners>"))
        }
        Some("DescribeLoadBalancers") => {
            take_fault(shared, Operation::DescribeLoadBalancers);
            let records = shared.records();
            let mut found = Vec::new();
            for arn in members("LoadBalancerArns") {
                match records.listeners.iter().find(|l| l.load_balancer_arn == arn) {
                    Some(listener) => found.push(listener.clone()),
                    None => return error("LoadBalancerNotFound", "One or more load balancers not found"),
                }
            }
            let members: String = found
                .iter()
                .map(|l| {
                    format!(
                        "<member><LoadBalancerArn>{}</LoadBalancerArn><DNSName>{}</DNSName>\
                         <Scheme>internal</Scheme><Type>application</Type></member>",
                        l.load_balancer_arn, l.dns_name
                    )
                })
                .collect();
            ok(
                "DescribeLoadBalancers",
                &format!("<LoadBalancers>{members}</LoadBalancers>"),
            )
        }
        other => error(
            "InvalidAction",
            &format!("The action {} is not valid for this web service.", other.unwrap_or("")),
        ),
    }
}
