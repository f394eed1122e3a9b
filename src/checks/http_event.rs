//! Synthetic HTTP requests in the shape API Gateway (REST and HTTP APIs) and ALB hand to Lambda.
//!
//! Built from `aws_lambda_events`' own request types, then filled with the fields real frameworks
//! insist on (Rust `lambda_http`, Python Mangum, Node serverless-express): both `httpMethod`s and
//! `resource` for REST APIs, `version`/`rawPath`/`requestContext.http` for HTTP APIs, and
//! `requestContext.elb` for ALB.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupRequestContext, ElbContext};
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayRequestIdentity, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use aws_lambda_events::http::header::{HOST, USER_AGENT};
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue, Method};
use aws_lambda_events::query_map::QueryMap;
use serde_json::Value;

use super::config::EventFormat;

/// The request a check sends; `path` may carry a query string.
pub struct SyntheticRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a [(HeaderName, HeaderValue)],
    pub body: Option<&'a str>,
}

const SOURCE_IP: &str = "127.0.0.1";
const USER_AGENT_VALUE: &str = concat!("preflight/", env!("CARGO_PKG_VERSION"));
const HOST_VALUE: &str = "preflight.invalid";

/// Builds the event as JSON, ready to be the Invoke payload.
pub fn build_event(format: EventFormat, request: &SyntheticRequest) -> Value {
    let (path, query) = request.path.split_once('?').unwrap_or((request.path, ""));
    let headers = header_map(request.headers);
    let query_map: QueryMap = query.parse().unwrap_or_default();
    let body = request.body.map(str::to_string);
    let event = match format {
        EventFormat::ApiGatewayV1 => {
            serde_json::to_value(rest_api_event(request.method, path, headers, query_map, body))
        }
        EventFormat::ApiGatewayV2 => {
            serde_json::to_value(http_api_event(request.method, path, query, headers, query_map, body))
        }
        EventFormat::Alb => serde_json::to_value(alb_event(request.method, path, headers, query_map, body)),
    };
    // Serialising these plain structs cannot fail; Null would be rejected by the function, loudly.
    let mut event = event.unwrap_or(Value::Null);
    match format {
        EventFormat::ApiGatewayV2 => remove_fields(&mut event, V2_AUTHORIZER_FIELDS),
        EventFormat::Alb => remove_fields(&mut event, ALB_MULTI_VALUE_FIELDS),
        EventFormat::ApiGatewayV1 => {}
    }
    event
}

/// What a browser behind the load balancer would send, then the configured headers on top.
fn header_map(configured: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static(HOST_VALUE));
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert("x-forwarded-for", HeaderValue::from_static(SOURCE_IP));
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    headers.insert("x-forwarded-port", HeaderValue::from_static("443"));
    for (name, value) in configured {
        headers.insert(name.clone(), value.clone());
    }
    headers
}

fn rest_api_event(
    method: &Method,
    path: &str,
    headers: HeaderMap,
    query: QueryMap,
    body: Option<String>,
) -> ApiGatewayProxyRequest {
    let now = epoch_millis();
    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some(SOURCE_IP.into());
    identity.user_agent = Some(USER_AGENT_VALUE.into());

    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some("000000000000".into());
    context.resource_id = Some("preflight".into());
    context.domain_name = Some(HOST_VALUE.into());
    context.request_id = Some(format!("preflight-{now}"));
    context.protocol = Some("HTTP/1.1".into());
    context.identity = identity;
    context.resource_path = Some(path.to_string());
    // No stage, as behind a custom domain: frameworks that prefix the stage (lambda_http) then
    // route exactly the configured path.
    context.path = Some(path.to_string());
    context.http_method = method.clone();
    context.request_time_epoch = now;
    context.apiid = Some("preflight".into());

    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(path.to_string());
    event.path = Some(path.to_string());
    event.http_method = method.clone();
    event.multi_value_headers = headers.clone();
    event.headers = headers;
    event.multi_value_query_string_parameters = query.clone();
    event.query_string_parameters = query;
    event.request_context = context;
    event.body = body;
    event
}

fn http_api_event(
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: HeaderMap,
    query: QueryMap,
    body: Option<String>,
) -> ApiGatewayV2httpRequest {
    let now = epoch_millis();
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method.clone();
    http.path = Some(path.to_string());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(SOURCE_IP.into());
    http.user_agent = Some(USER_AGENT_VALUE.into());

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some("$default".into());
    context.account_id = Some("000000000000".into());
    context.stage = Some("$default".into());
    context.request_id = Some(format!("preflight-{now}"));
    context.apiid = Some("preflight".into());
    context.domain_name = Some(HOST_VALUE.into());
    context.domain_prefix = Some("preflight".into());
    context.time_epoch = now;
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some("$default".into());
    event.raw_path = Some(path.to_string());
    event.raw_query_string = Some(raw_query.to_string());
    event.headers = headers;
    event.query_string_parameters = query;
    event.request_context = context;
    event.body = body;
    event
}

fn alb_event(
    method: &Method,
    path: &str,
    headers: HeaderMap,
    query: QueryMap,
    body: Option<String>,
) -> AlbTargetGroupRequest {
    let mut elb = ElbContext::default();
    elb.target_group_arn =
        Some("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/preflight/0000000000000000".into());
    let mut context = AlbTargetGroupRequestContext::default();
    context.elb = elb;

    let mut event = AlbTargetGroupRequest::default();
    event.http_method = method.clone();
    event.path = Some(path.to_string());
    event.query_string_parameters = query;
    event.headers = headers;
    event.request_context = context;
    event.body = body;
    event
}

/// The v2 struct also models custom-authorizer payloads; a real HTTP API event has none of these,
/// and a top-level `httpMethod` would make some frameworks mistake the event for a REST API one.
const V2_AUTHORIZER_FIELDS: &[&str] = &[
    "type",
    "methodArn",
    "httpMethod",
    "identitySource",
    "authorizationToken",
    "resource",
];

/// An ALB sends either single-value or multi-value fields, never both (single-value unless the
/// target group enables multi-value headers). Mangum and serverless-express take the presence of
/// `multiValueHeaders` as the switch, so empty ones would hide every header and the query.
const ALB_MULTI_VALUE_FIELDS: &[&str] = &["multiValueHeaders", "multiValueQueryStringParameters"];

fn remove_fields(event: &mut Value, fields: &[&str]) {
    if let Some(object) = event.as_object_mut() {
        for field in fields {
            object.remove(*field);
        }
    }
}

fn epoch_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(format: EventFormat, path: &str) -> Value {
        let headers = [(HeaderName::from_static("x-check"), HeaderValue::from_static("yes"))];
        build_event(
            format,
            &SyntheticRequest {
                method: &Method::POST,
                path,
                headers: &headers,
                body: Some("{}"),
            },
        )
    }

    #[test]
    fn rest_api_event_has_both_methods_and_the_resource() {
        let event = event(EventFormat::ApiGatewayV1, "/healthcheck?deep=1");
        assert_eq!(event["httpMethod"], "POST");
        assert_eq!(event["requestContext"]["httpMethod"], "POST");
        assert_eq!(event["path"], "/healthcheck");
        assert_eq!(event["resource"], "/healthcheck");
        assert_eq!(event["queryStringParameters"]["deep"], "1");
        assert_eq!(event["headers"]["x-check"], "yes");
        assert_eq!(event["body"], "{}");
    }

    #[test]
    fn http_api_event_is_version_2_with_raw_path_and_query() {
        let event = event(EventFormat::ApiGatewayV2, "/healthcheck?deep=1");
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["rawPath"], "/healthcheck");
        assert_eq!(event["rawQueryString"], "deep=1");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["requestContext"]["http"]["sourceIp"], SOURCE_IP);
        assert!(event.get("httpMethod").is_none(), "{event}");
    }

    #[test]
    fn alb_event_is_single_value_only() {
        let event = event(EventFormat::Alb, "/healthcheck?deep=1");
        assert_eq!(event["queryStringParameters"]["deep"], "1");
        assert_eq!(event["headers"]["x-check"], "yes");
        assert!(event.get("multiValueHeaders").is_none(), "{event}");
        assert!(event.get("multiValueQueryStringParameters").is_none(), "{event}");
    }

    #[test]
    fn alb_event_carries_the_target_group() {
        let event = event(EventFormat::Alb, "/healthcheck");
        assert_eq!(event["httpMethod"], "POST");
        assert_eq!(event["path"], "/healthcheck");
        assert!(
            event["requestContext"]["elb"]["targetGroupArn"]
                .as_str()
                .unwrap()
                .contains("targetgroup")
        );
    }
}
