//! The `preflight` command line's work, apart from its argument parser (which lives with the
//! binary, `src/bin/preflight.rs`, so that `bootstrap` links none of it): the hook's own checks,
//! run from a developer's machine or a CI job against a deployed function version or a URL.
//!
//! [`Subject`] is what the command names; [`config`] reads the hook's configuration with the
//! command's choices on top; [`plan`] is the hook's planner over those targets; [`check`] runs
//! the plan and says it in the summary's words; [`explain`] shows what would be sent, sending
//! nothing; [`judge`] runs the canary judge on a past or running deployment, deciding nothing.

pub mod check;
pub mod explain;
pub mod judge;

use std::path::PathBuf;

use crate::checks::config::Config;
use crate::checks::{LambdaTarget, Plan, PlanError, Targets, plan_checks};
use crate::plumbing::env::{ConfigError, Lookup};

/// The command's exit status when the hook would report `Succeeded`.
pub const EXIT_SUCCEEDED: u8 = 0;
/// When it would report `Failed`.
pub const EXIT_FAILED: u8 = 1;
/// A usage or configuration error: nothing was checked.
pub const EXIT_USAGE: u8 = 2;

/// What the command checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Function versions, invoked as the hook invokes a deployment's new versions.
    Functions(Vec<FunctionRef>),
    /// A URL, sent the HTTP checks as the hook sends them to `ALB_URL`.
    Url(String),
}

/// `NAME[:QUALIFIER]`, or a function ARN with or without its qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    /// A version number or an alias; `$LATEST` when none is given.
    pub qualifier: String,
}

impl FunctionRef {
    /// Reads `my-api`, `my-api:7`, `my-api:live` or
    /// `arn:aws:lambda:REGION:ACCOUNT:function:my-api[:QUALIFIER]`.
    pub fn parse(text: &str) -> Result<FunctionRef, String> {
        let text = text.trim();
        let (name, qualifier) = if text.starts_with("arn:") {
            // arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
            let parts: Vec<&str> = text.split(':').collect();
            match parts.as_slice() {
                [_, _, "lambda", _, _, "function", _] => (text.to_string(), None),
                [_, _, "lambda", _, _, "function", _, qualifier] => (parts[..7].join(":"), Some(qualifier.to_string())),
                _ => {
                    return Err(format!(
                        "`{text}` is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])"
                    ));
                }
            }
        } else {
            match text.split_once(':') {
                Some((name, qualifier)) => (name.to_string(), Some(qualifier.to_string())),
                None => (text.to_string(), None),
            }
        };
        if name.is_empty() || qualifier.as_deref() == Some("") {
            return Err(format!(
                "`{text}` is not NAME or NAME:QUALIFIER (a version or an alias)"
            ));
        }
        Ok(FunctionRef {
            name,
            qualifier: qualifier.unwrap_or_else(|| "$LATEST".to_string()),
        })
    }
}

/// The hook's configuration read from `env`, with the command's choices on top: `--url` is
/// `ALB_URL`, `--function` unsets it (the versions are invoked, whatever the environment says),
/// `--checks FILE` is `PREFLIGHT_CHECKS_FILE` (and unsets `PREFLIGHT_CHECKS`). The emergency
/// skip does not apply: asking the command to check is asking to check.
pub fn config(subject: &Subject, checks_file: Option<&PathBuf>, env: &Lookup) -> Result<Config, String> {
    let url = match subject {
        Subject::Url(url) => Some(url.clone()),
        Subject::Functions(_) => None,
    };
    let file = checks_file.map(|path| path.display().to_string());
    let lookup = |name: &str| match name {
        "ALB_URL" => url.clone(),
        "PREFLIGHT_CHECKS_FILE" if file.is_some() => file.clone(),
        "PREFLIGHT_CHECKS" if file.is_some() => None,
        "PREFLIGHT_SKIP_UNTIL" => None,
        other => env(other),
    };
    Config::from_lookup(&lookup).map_err(|error| command_line_advice(&error, file.is_some()))
}

/// A configuration error in the command's words: the value came from the caller's environment,
/// `--url` or the `--checks` file, not from a function's settings.
fn command_line_advice(error: &ConfigError, from_file: bool) -> String {
    let what_to_do = match error.variable {
        "ALB_URL" => "check --url".to_string(),
        "PREFLIGHT_CHECKS_FILE" if from_file => "fix the --checks file".to_string(),
        variable => format!("fix {variable} in your environment, or unset it"),
    };
    format!("{}; {what_to_do}", error.what())
}

/// The checks the hook would run for `subject`.
pub fn plan(config: &Config, subject: &Subject) -> Result<Plan, PlanError> {
    let targets = match subject {
        Subject::Functions(functions) => Targets::Lambda(
            functions
                .iter()
                .map(|function| LambdaTarget {
                    function: function.name.clone(),
                    version: function.qualifier.clone(),
                })
                .collect(),
        ),
        Subject::Url(_) => Targets::Unknown("a URL".into()),
    };
    plan_checks(config, &targets, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_function_is_a_name_a_qualified_name_or_an_arn() {
        let parsed = |text: &str| FunctionRef::parse(text).map(|f| (f.name, f.qualifier));
        assert_eq!(parsed("my-api"), Ok(("my-api".into(), "$LATEST".into())));
        assert_eq!(parsed("my-api:7"), Ok(("my-api".into(), "7".into())));
        // Lambda Managed Instances publish `$LATEST.PUBLISHED`.
        assert_eq!(
            parsed("my-api:$LATEST.PUBLISHED"),
            Ok(("my-api".into(), "$LATEST.PUBLISHED".into()))
        );
        assert_eq!(
            parsed("arn:aws:lambda:eu-west-1:111122223333:function:my-api:live"),
            Ok((
                "arn:aws:lambda:eu-west-1:111122223333:function:my-api".into(),
                "live".into()
            ))
        );
        assert!(parsed("my-api:").unwrap_err().contains("NAME:QUALIFIER"));
        assert!(
            parsed("arn:aws:s3:::bucket")
                .unwrap_err()
                .contains("not a Lambda function ARN")
        );
    }

    #[test]
    fn the_command_s_choices_win_over_the_environment() {
        let env: HashMap<&str, &str> = [
            ("ALB_URL", "http://elsewhere:8080"),
            ("PREFLIGHT_CHECKS", "targets: [{checks: [{path: /from-env}]}]"),
            ("PREFLIGHT_SKIP_UNTIL", "2999-01-01T00:00:00Z"),
            ("CHECK_PATHS", "/health"),
        ]
        .into_iter()
        .collect();
        let lookup = |name: &str| env.get(name).map(|value| value.to_string());
        let functions = Subject::Functions(vec![FunctionRef::parse("my-api:3").unwrap()]);
        let config = config(&functions, None, &lookup).unwrap();
        assert!(
            matches!(config.mode, crate::checks::config::Mode::Lambda(_)),
            "--function invokes"
        );
        assert!(config.skip_until.is_none(), "the emergency skip does not apply");
        let planned = plan(&config, &functions).unwrap();
        assert_eq!(planned.checks[0].target(), "my-api:3 /from-env");
    }

    #[test]
    fn a_bad_setting_says_to_fix_the_callers_environment_not_to_redeploy_a_function() {
        let lookup = |name: &str| (name == "CHECK_ATTEMPTS").then(|| "lots".to_string());
        let url = Subject::Url("http://localhost:3000".into());
        let said = config(&url, None, &lookup).unwrap_err();
        assert!(said.contains("CHECK_ATTEMPTS"), "{said}");
        assert!(
            said.ends_with("fix CHECK_ATTEMPTS in your environment, or unset it"),
            "{said}"
        );
        assert!(!said.contains("redeploy"), "{said}");
    }
}
