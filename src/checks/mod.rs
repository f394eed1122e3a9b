//! Checks, shared by every flow that decides about a new version: the settings ([`config`],
//! and per target [`definitions`]), what to poke ([`plan`], pure), how to poke it once
//! ([`probe`]: a Lambda Invoke with a synthetic event from [`http_event`], or an HTTP request),
//! how to judge the answer ([`judge`], against the [`assertions`]), how patiently ([`runner`]:
//! attempts, interval, a deadline, bounded concurrency), what it all means ([`verdict`]), when
//! not to check at all ([`skip`]), and how a verdict is told to EventBridge ([`announce`]).

pub mod announce;
pub(crate) mod assertions;
pub mod canary;
pub mod config;
pub(crate) mod deciding;
pub mod definitions;
pub(crate) mod describe;
pub(crate) mod expected_status;
pub mod http_event;
pub(crate) mod judge;
pub(crate) mod plan;
pub(crate) mod probe;
pub(crate) mod runner;
pub(crate) mod setup;
pub(crate) mod skip;
pub(crate) mod terms;
pub(crate) mod verdict;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::http::{HeaderName, HeaderValue, Method};
use reqwest::Url;
use serde_json::Value;

use assertions::Expectations;
use config::{EventFormat, Patience};
use judge::Outcome;
use verdict::Cause;

pub use plan::{
    Moment, Plan, PlanError, Selection, alias_traffic, canary_for, checks_without_targets, function_subject,
    listener_checks, listener_traffic, plan_checks, plan_checks_at, service_plan,
};

/// What a flow found deployed, in the terms the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// New Lambda function versions, invoked directly unless `ALB_URL` is set.
    Lambda(Vec<LambdaTarget>),
    /// An ECS service: reachable only through a load balancer, `ALB_URL` or the test listener
    /// the flow found.
    Service(ServiceTarget),
    /// Nothing the checks can reach by themselves; the text says why (an S3 revision, say).
    Unknown(String),
}

/// An ECS service, as far as the flow found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTarget {
    /// The service's name, for `service` selectors.
    pub name: Option<String>,
    /// The test listener, `scheme://host:port`, when the flow found it (not with `ALB_URL`).
    pub test_listener: Option<Url>,
}

/// A function version to invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaTarget {
    pub function: String,
    pub version: String,
}

/// One thing to check, with everything needed to send it and judge the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub request: Request,
    pub expect: Arc<Expectations>,
    pub patience: Patience,
}

/// What one attempt sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Invoke `function` at `version` with `payload`; `format` says how to read the answer
    /// (`None`: a raw invocation, whose returned JSON is the answer).
    Lambda {
        function: String,
        version: String,
        path: Option<String>,
        format: Option<EventFormat>,
        payload: Value,
    },
    /// Send `method` with `headers` to `url`.
    Http {
        url: Url,
        method: Method,
        headers: Vec<(HeaderName, HeaderValue)>,
        /// Connect to this host instead of the URL's, which is then only the `Host` and the TLS
        /// server name: how a request reaches a load balancer with the host a listener rule asks.
        connect_to: Option<String>,
    },
}

impl Check {
    /// What the logs call this check: `my-api:2 /healthcheck`, or the URL.
    pub fn target(&self) -> String {
        match &self.request {
            Request::Lambda {
                function,
                version,
                path: Some(path),
                ..
            } => format!("{function}:{version} {}", strip_query(path)),
            Request::Lambda { function, version, .. } => format!("{function}:{version}"),
            Request::Http { url, .. } => shown_url(url),
        }
    }
}

/// Queries and user info can carry secrets; the logs get host and path only.
pub(crate) fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(path, _)| path)
}

/// How one check ended, after all its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub target: String,
    /// What each attempt was, in order.
    pub outcomes: Vec<Outcome>,
    pub status: Option<u16>,
    /// Latency of the last attempt.
    pub latency: Duration,
    /// `None` when the check passed.
    pub failure: Option<String>,
    /// When AWS refused the check for good (a denied or missing function), the verdict's cause:
    /// the release was not judged.
    pub refused: Option<Cause>,
    /// How long the check waited for its target to become ready (a `Pending` Lambda version)
    /// before its attempts; not counted against them.
    pub waited: Duration,
    /// The deadline, not the check's patience, ended it: it failed with attempts left that were
    /// worth making. A flow that can be called again (ECS's `IN_PROGRESS`) goes on with them.
    pub out_of_time: bool,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    pub fn attempts(&self) -> usize {
        self.outcomes.len()
    }
}
