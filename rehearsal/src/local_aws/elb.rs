//! The stand-in's ELBv2 (awsQuery: `POST /`, a form body with `Action=…&Version=2015-12-01`, XML
//! answers): DescribeListeners and DescribeLoadBalancers, for the test listeners of ECS
//! deployments. moto implements ELBv2 fully, but its load balancers' DNS names do not resolve;
//! here a load balancer's `DNSName` is `127.0.0.1`, so that a check sent to a found listener
//! reaches a loopback server. Only the fields preflight reads are given, in AWS's names.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::faults::{apply_fault, take_fault};
use super::{Fault, Operation, Shared};

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
            "<LoadBalancerArn>{}</LoadBalancerArn><DNSName>{}</DNSName><Scheme>internal</Scheme><Type>application</Type>",
            l.load_balancer_arn, l.dns_name
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
            Some(record) => members.push_str(&format!("<member>{}</member>", (describe.member)(record))),
            None => return error(StatusCode::BAD_REQUEST, describe.not_found.0, describe.not_found.1),
        }
    }
    ok(name, &format!("<{0}>{members}</{0}>", describe.answered))
}
