//! Checks, shared by every flow that decides about a new version: the settings ([`config`]),
//! what to poke ([`plan_checks`], pure), how to poke it once ([`probe`]: a Lambda Invoke with a
//! synthetic event from [`http_event`], or an HTTP request), how to judge the answer ([`judge`],
//! against [`expected_status`]), how patiently ([`runner`]: attempts, interval, a deadline,
//! bounded concurrency), and what it all means ([`verdict`]).

pub mod config;
pub mod expected_status;
pub mod http_event;
pub mod judge;
pub mod probe;
pub mod runner;
pub mod verdict;

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

use config::{Config, EventFormat, LambdaPayload, Mode};
use http_event::{SyntheticRequest, build_event};

/// What a flow found deployed, in the terms the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// New Lambda function versions, invoked directly unless `ALB_URL` is set.
    Lambda(Vec<LambdaTarget>),
    /// An ECS service: reachable only through a load balancer (`ALB_URL`).
    Service,
    /// Nothing the checks can reach by themselves; the text says why (an S3 revision, say).
    Unknown(String),
}

/// A function version to invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaTarget {
    pub function: String,
    pub version: String,
}

/// One thing to check, with everything needed to send it.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Invoke `function` at `version` with `payload`; `format` says how to read the answer.
    Lambda {
        function: String,
        version: String,
        path: Option<String>,
        format: Option<EventFormat>,
        payload: Value,
    },
    /// Send the configured request to `url`.
    Http { url: Url },
}

impl Check {
    /// What the logs call this check: `my-api:2 /healthcheck`, or the URL.
    pub fn target(&self) -> String {
        match self {
            Check::Lambda {
                function,
                version,
                path: Some(path),
                ..
            } => format!("{function}:{version} {}", strip_query(path)),
            Check::Lambda { function, version, .. } => format!("{function}:{version}"),
            Check::Http { url } => {
                // Queries and user info can carry secrets; the logs get host and path only.
                let mut shown = url.clone();
                shown.set_query(None);
                let _ = shown.set_password(None);
                let _ = shown.set_username("");
                shown.to_string()
            }
        }
    }
}

fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(path, _)| path)
}

/// Why there is nothing sensible to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// Turns the configuration and what was deployed into the list of checks.
pub fn plan_checks(config: &Config, targets: &Targets) -> Result<Vec<Check>, PlanError> {
    match (&config.mode, targets) {
        (Mode::Http { base_url, .. }, _) => http_checks(base_url, &config.request.paths),
        (Mode::Lambda(payload), Targets::Lambda(functions)) => Ok(functions
            .iter()
            .flat_map(|target| lambda_checks(config, payload, &target.function, &target.version))
            .collect()),
        (Mode::Lambda(_), Targets::Unknown(why)) => Err(PlanError(format!(
            "{why}, so there is no Lambda version to invoke: set ALB_URL to check through the load balancer instead"
        ))),
        (Mode::Lambda(_), Targets::Service) => Err(PlanError(
            "this is an ECS deployment and ALB_URL is not set: set ALB_URL to the load balancer's test listener \
             (host:port) so that preflight can send it HTTP checks"
                .into(),
        )),
    }
}

/// The checks, when they do not depend on what was deployed (HTTP checks through `ALB_URL`), so
/// that a flow can start them before it knows; `None` when they need the deployed targets.
pub fn checks_without_targets(config: &Config) -> Option<Result<Vec<Check>, PlanError>> {
    match &config.mode {
        Mode::Http { base_url, .. } => Some(http_checks(base_url, &config.request.paths)),
        Mode::Lambda(_) => None,
    }
}

/// One request to the load balancer per path.
fn http_checks(base_url: &Url, paths: &[String]) -> Result<Vec<Check>, PlanError> {
    paths.iter().map(|path| http_check(base_url, path)).collect()
}

fn http_check(base_url: &Url, path: &str) -> Result<Check, PlanError> {
    let joined = format!("{}{path}", base_url.as_str().trim_end_matches('/'));
    Url::parse(&joined)
        .map(|url| Check::Http { url })
        .map_err(|error| PlanError(format!("ALB_URL and CHECK_PATHS make `{joined}`, not a URL: {error}")))
}

fn lambda_checks(config: &Config, payload: &LambdaPayload, function: &str, version: &str) -> Vec<Check> {
    match payload {
        LambdaPayload::Raw(raw) => vec![Check::Lambda {
            function: function.to_string(),
            version: version.to_string(),
            path: None,
            format: None,
            payload: raw.clone(),
        }],
        LambdaPayload::Http(format) => config
            .request
            .paths
            .iter()
            .map(|path| Check::Lambda {
                function: function.to_string(),
                version: version.to_string(),
                path: Some(path.clone()),
                format: Some(*format),
                payload: build_event(
                    *format,
                    &SyntheticRequest {
                        method: &config.request.method,
                        path,
                        headers: &config.request.headers,
                        body: config.request.body.as_deref(),
                    },
                ),
            })
            .collect(),
    }
}

/// How one check ended, after all its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub target: String,
    pub attempts: u32,
    pub status: Option<u16>,
    /// Latency of the last attempt.
    pub latency: Duration,
    /// `None` when the check passed.
    pub failure: Option<String>,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let env: HashMap<&str, &str> = pairs.iter().copied().collect();
        Config::from_lookup(&|name| env.get(name).map(|v| v.to_string())).unwrap()
    }

    fn function(name: &str, version: &str) -> LambdaTarget {
        LambdaTarget {
            function: name.into(),
            version: version.into(),
        }
    }

    fn ecs() -> Targets {
        Targets::Service
    }

    #[test]
    fn every_function_times_every_path() {
        let deployed = Targets::Lambda(vec![function("a", "2"), function("b", "9")]);
        let checks = plan_checks(&config(&[("CHECK_PATHS", "/health,/ready?token=x")]), &deployed).unwrap();
        let targets: Vec<String> = checks.iter().map(Check::target).collect();
        assert_eq!(targets, vec!["a:2 /health", "a:2 /ready", "b:9 /health", "b:9 /ready"]);
    }

    #[test]
    fn raw_payload_is_one_check_per_function() {
        let deployed = Targets::Lambda(vec![function("worker", "5")]);
        let checks = plan_checks(&config(&[("CHECK_PAYLOAD", r#"{"ping":1}"#)]), &deployed).unwrap();
        assert_eq!(checks.len(), 1);
        assert!(matches!(&checks[0], Check::Lambda { format: None, payload, .. } if payload["ping"] == 1));
    }

    #[test]
    fn alb_url_checks_each_path_whatever_was_deployed() {
        let config = config(&[
            ("ALB_URL", "test-alb:8080"),
            ("CHECK_PATHS", "/health,/ready?token=secret"),
        ]);
        let checks = plan_checks(&config, &ecs()).unwrap();
        let targets: Vec<String> = checks.iter().map(Check::target).collect();
        assert_eq!(
            targets,
            vec!["http://test-alb:8080/health", "http://test-alb:8080/ready"]
        );
        assert!(matches!(&checks[1], Check::Http { url } if url.query() == Some("token=secret")));
    }

    #[test]
    fn ecs_without_alb_url_says_what_to_set() {
        let error = plan_checks(&config(&[]), &ecs()).unwrap_err();
        assert!(error.to_string().contains("set ALB_URL"), "{error}");
    }

    #[test]
    fn unknown_targets_say_why_and_what_to_set() {
        let error = plan_checks(&config(&[]), &Targets::Unknown("the AppSpec is in S3".into())).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the AppSpec is in S3, so there is no Lambda version"),
            "{error}"
        );
        assert!(error.to_string().contains("set ALB_URL"), "{error}");
    }
}
