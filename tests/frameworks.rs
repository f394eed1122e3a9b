//! The synthetic events must be accepted by a real framework: each one is parsed by Rust's
//! `lambda_http` and must come out as the request preflight meant to send.

use lambda_http::RequestExt;
use lambda_http::aws_lambda_events::http::{HeaderName, HeaderValue, Method};
use lambda_http::request::{RequestContext, from_str};
use preflight::checks::config::EventFormat;
use preflight::checks::http_event::{SyntheticRequest, build_event};

fn parsed(format: EventFormat, method: &Method) -> lambda_http::Request {
    let headers = [(
        HeaderName::from_static("x-preflight-check"),
        HeaderValue::from_static("1"),
    )];
    let event = build_event(
        format,
        &SyntheticRequest {
            method,
            path: "/healthcheck?deep=1",
            headers: &headers,
            body: Some(r#"{"probe":true}"#),
        },
    );
    let text = event.to_string();
    match from_str(&text) {
        Ok(request) => request,
        Err(error) => panic!("lambda_http rejected the {} event: {error}\n{text}", format.name()),
    }
}

fn assert_request(request: &lambda_http::Request, method: &Method) {
    assert_eq!(request.method(), method);
    assert_eq!(request.uri().path(), "/healthcheck");
    assert_eq!(request.uri().query(), Some("deep=1"));
    assert_eq!(request.headers()["x-preflight-check"], "1");
    assert_eq!(
        request.query_string_parameters_ref().and_then(|q| q.first("deep")),
        Some("1")
    );
    assert_eq!(request.body().as_ref(), br#"{"probe":true}"#);
}

#[test]
fn rest_api_event_parses_as_api_gateway_v1() {
    let request = parsed(EventFormat::ApiGatewayV1, &Method::POST);
    assert_request(&request, &Method::POST);
    assert!(matches!(
        request.request_context_ref(),
        Some(RequestContext::ApiGatewayV1(_))
    ));
}

#[test]
fn http_api_event_parses_as_api_gateway_v2() {
    let request = parsed(EventFormat::ApiGatewayV2, &Method::PUT);
    assert_request(&request, &Method::PUT);
    assert!(matches!(
        request.request_context_ref(),
        Some(RequestContext::ApiGatewayV2(_))
    ));
}

#[test]
fn alb_event_parses_as_alb() {
    let request = parsed(EventFormat::Alb, &Method::GET);
    assert_request(&request, &Method::GET);
    assert!(matches!(request.request_context_ref(), Some(RequestContext::Alb(_))));
}
