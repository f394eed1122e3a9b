//! The terms the check settings ([`super::config`]) and the check definitions
//! ([`super::definitions`]) share: the event formats, patience, and how a method or a header is
//! read. Both read them the same way, so a value means the same in a variable and in a document.

use std::time::Duration;

use aws_lambda_events::http::{HeaderName, HeaderValue, Method};

use crate::plumbing::text::truncate;

/// The event source a synthetic HTTP request imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFormat {
    ApiGatewayV1,
    ApiGatewayV2,
    Alb,
}

impl EventFormat {
    pub fn name(self) -> &'static str {
        match self {
            EventFormat::ApiGatewayV1 => "apigw-v1",
            EventFormat::ApiGatewayV2 => "apigw-v2",
            EventFormat::Alb => "alb",
        }
    }
}

/// How patient each check is (per target when `PREFLIGHT_CHECKS` says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    pub attempts: u32,
    pub interval: Duration,
    pub timeout: Duration,
}

/// `apigw-v1`, `apigw-v2` or `alb` (any case).
pub(crate) fn parse_event_format_name(name: &str) -> Result<EventFormat, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "apigw-v1" => Ok(EventFormat::ApiGatewayV1),
        "apigw-v2" => Ok(EventFormat::ApiGatewayV2),
        "alb" => Ok(EventFormat::Alb),
        other => Err(format!("is `{}`: use apigw-v1, apigw-v2 or alb", truncate(other))),
    }
}

/// A method a check may use: HTTP checks through the load balancer only read (HEAD, GET).
pub(crate) fn method_named(name: &str, http_mode: bool) -> Result<Method, String> {
    let name = name.trim().to_ascii_uppercase();
    let allowed: &[&str] = if http_mode {
        &["GET", "HEAD"]
    } else {
        &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    };
    if !allowed.contains(&name.as_str()) {
        return Err(format!("is `{}`: use one of {}", truncate(&name), allowed.join(", ")));
    }
    Method::from_bytes(name.as_bytes()).map_err(|_| format!("is `{name}`"))
}

/// One header; the value is never echoed (it may be a secret).
pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("names `{}`, not a valid header name", truncate(name)))?;
    let value =
        HeaderValue::from_str(value).map_err(|_| format!("gives header `{name}` a value with invalid characters"))?;
    Ok((header, value))
}
