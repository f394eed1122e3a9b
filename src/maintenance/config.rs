//! The maintenance page's settings: which deployment groups put up a page on which ALB listener,
//! and what the page is.
//!
//! Read once at start-up by [`MaintenanceConfig::from_lookup`], pure like the hook's
//! configuration. Unset `MAINTENANCE_LISTENERS` means the feature is off; a bad value is a
//! [`ConfigError`] naming the variable, returned by every notification until it is fixed.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::plumbing::env::{ConfigError, Lookup, boolean, invalid, names_asked_by, non_empty, number, process_env};

/// ALB's limit on a fixed response's body, in characters.
pub const MAX_BODY_CHARS: usize = 1024;

/// The content types an ALB fixed response accepts.
const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

/// The page shown when `MAINTENANCE_BODY` is unset: small, self-contained, no external assets
/// (which the page itself would block).
pub const DEFAULT_BODY: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>Back soon</title></head>\
<body style=\"font-family:sans-serif;max-width:32em;margin:4em auto\"><h1>Back soon</h1>\
<p>We are releasing a new version. Please try again in a few minutes.</p></body></html>";

/// One deployment group and the listener that shows its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerMapping {
    pub application: String,
    pub deployment_group: String,
    pub listener_arn: String,
}

/// What the listener rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The ALB answers by itself.
    Fixed {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Everything goes to a maintenance target group.
    Forward { target_group_arn: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceConfig {
    pub listeners: Vec<ListenerMapping>,
    /// The rule's priority on the listener: lower wins, so the default of 1 comes before every
    /// other rule.
    pub priority: i32,
    pub page: Page,
    /// Show the page for deployments Auto Scaling creates (scale-out), too.
    pub on_scale_out: bool,
}

impl MaintenanceConfig {
    /// Every variable the maintenance page reads (recorded, see [`names_asked_by`]).
    pub fn variables() -> BTreeSet<String> {
        let listeners =
            r#"{"app": {"group": "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/a/1/2"}}"#;
        names_asked_by(
            |get| {
                let _ = MaintenanceConfig::from_lookup(get);
            },
            &[&[], &[("MAINTENANCE_LISTENERS", listeners)]],
        )
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Option<MaintenanceConfig>, ConfigError> {
        MaintenanceConfig::from_lookup(&process_env)
    }

    /// `Ok(None)` when `MAINTENANCE_LISTENERS` is unset: the maintenance page is switched off.
    pub fn from_lookup(lookup: &Lookup) -> Result<Option<MaintenanceConfig>, ConfigError> {
        let get = non_empty(lookup);
        let Some(listeners) = get("MAINTENANCE_LISTENERS") else {
            return Ok(None);
        };
        Ok(Some(MaintenanceConfig {
            listeners: parse_listeners(&listeners)?,
            priority: number(&get, "MAINTENANCE_PRIORITY", 1, 1, 50_000)? as i32,
            page: parse_page(&get)?,
            on_scale_out: boolean(&get, "MAINTENANCE_ON_SCALE_OUT", false)?,
        }))
    }

    /// Every configured listener, each once, in the order first configured.
    pub fn listener_arns(&self) -> Vec<&str> {
        let mut arns: Vec<&str> = Vec::new();
        for mapping in &self.listeners {
            if !arns.contains(&mapping.listener_arn.as_str()) {
                arns.push(&mapping.listener_arn);
            }
        }
        arns
    }

    /// The listener for this deployment group, if it has one.
    pub fn listener_for(&self, application: &str, deployment_group: &str) -> Option<&str> {
        self.listeners
            .iter()
            .find(|m| m.application == application && m.deployment_group == deployment_group)
            .map(|m| m.listener_arn.as_str())
    }
}

/// `{"APPLICATION": {"DEPLOYMENT_GROUP": "LISTENER_ARN", …}, …}`: nested rather than
/// `"app/group"` keys, because CodeDeploy names may contain `/`.
fn parse_listeners(text: &str) -> Result<Vec<ListenerMapping>, ConfigError> {
    const SHAPE: &str =
        "expected JSON like {\"my-app\": {\"my-deployment-group\": \"arn:aws:elasticloadbalancing:…:listener/app/…\"}}";
    let bad = |why: String| invalid("MAINTENANCE_LISTENERS", format!("{why}; {SHAPE}"));
    let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("is not JSON ({e})")))?;
    let applications = value.as_object().ok_or_else(|| bad("is not a JSON object".into()))?;
    let mut mappings = Vec::new();
    for (application, groups) in applications {
        // An empty name cannot match any notification: the page would silently never show.
        if application.trim().is_empty() {
            return Err(bad("has an empty application name".into()));
        }
        let groups = groups.as_object().ok_or_else(|| {
            bad(format!(
                "maps application `{application}` to something other than an object"
            ))
        })?;
        for (group, arn) in groups {
            if group.trim().is_empty() {
                return Err(bad(format!(
                    "has an empty deployment group name under application `{application}`"
                )));
            }
            let arn = arn.as_str().ok_or_else(|| {
                bad(format!(
                    "maps `{application}`/`{group}` to something other than a string"
                ))
            })?;
            if !arn.starts_with("arn:") || !arn.contains(":listener/app/") {
                return Err(bad(format!(
                    "maps `{application}`/`{group}` to `{arn}`, which is not an Application Load Balancer listener ARN"
                )));
            }
            mappings.push(ListenerMapping {
                application: application.clone(),
                deployment_group: group.clone(),
                listener_arn: arn.to_string(),
            });
        }
    }
    if mappings.is_empty() {
        return Err(bad("names no deployment group".into()));
    }
    Ok(mappings)
}

fn parse_page(get: &Lookup) -> Result<Page, ConfigError> {
    if let Some(arn) = get("MAINTENANCE_TARGET_GROUP_ARN") {
        if let Some(clash) = ["MAINTENANCE_STATUS", "MAINTENANCE_CONTENT_TYPE", "MAINTENANCE_BODY"]
            .into_iter()
            .find(|name| get(name).is_some())
        {
            return Err(invalid(
                "MAINTENANCE_TARGET_GROUP_ARN",
                format!(
                    "is set together with {clash}: the page either forwards to a target group or answers by itself; unset one"
                ),
            ));
        }
        let arn = arn.trim();
        if !arn.starts_with("arn:") || !arn.contains(":targetgroup/") {
            return Err(invalid(
                "MAINTENANCE_TARGET_GROUP_ARN",
                format!("is `{arn}`, which is not a target group ARN"),
            ));
        }
        return Ok(Page::Forward {
            target_group_arn: arn.to_string(),
        });
    }
    let status = number(get, "MAINTENANCE_STATUS", 503, 200, 599)? as u16;
    if !matches!(status / 100, 2 | 4 | 5) {
        return Err(invalid(
            "MAINTENANCE_STATUS",
            format!("is `{status}`: an ALB fixed response needs a 2XX, 4XX or 5XX status"),
        ));
    }
    let content_type = get("MAINTENANCE_CONTENT_TYPE").unwrap_or_else(|| "text/html".into());
    let content_type = content_type.trim().to_string();
    if !CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(invalid(
            "MAINTENANCE_CONTENT_TYPE",
            format!(
                "is `{content_type}`: an ALB fixed response takes {}",
                CONTENT_TYPES.join(", ")
            ),
        ));
    }
    let body = get("MAINTENANCE_BODY").unwrap_or_else(|| DEFAULT_BODY.into());
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(invalid(
            "MAINTENANCE_BODY",
            format!("has {chars} characters: an ALB fixed response holds at most {MAX_BODY_CHARS}"),
        ));
    }
    Ok(Page::Fixed {
        status,
        content_type,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const LISTENER: &str =
        "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
    const TARGET_GROUP: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/sorry/73e2d6bc24d8a067";

    fn config(pairs: &[(&str, &str)]) -> Result<Option<MaintenanceConfig>, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        MaintenanceConfig::from_lookup(&|name| env.get(name).cloned())
    }

    fn listeners() -> String {
        format!(r#"{{"shop": {{"shop-web": "{LISTENER}", "shop/admin": "{LISTENER}"}}}}"#)
    }

    #[test]
    fn off_without_listeners() {
        assert_eq!(config(&[("MAINTENANCE_PRIORITY", "5")]), Ok(None));
    }

    #[test]
    fn defaults_are_a_503_html_page_at_priority_1_without_scale_out() {
        let config = config(&[("MAINTENANCE_LISTENERS", &listeners())]).unwrap().unwrap();
        assert_eq!(config.priority, 1);
        assert!(!config.on_scale_out);
        assert_eq!(
            config.page,
            Page::Fixed {
                status: 503,
                content_type: "text/html".into(),
                body: DEFAULT_BODY.into()
            }
        );
        assert!(DEFAULT_BODY.chars().count() <= MAX_BODY_CHARS);
    }

    #[test]
    fn groups_are_looked_up_by_application_and_name_even_with_slashes() {
        let config = config(&[("MAINTENANCE_LISTENERS", &listeners())]).unwrap().unwrap();
        assert_eq!(config.listener_for("shop", "shop-web"), Some(LISTENER));
        assert_eq!(config.listener_for("shop", "shop/admin"), Some(LISTENER));
        assert_eq!(config.listener_for("shop/shop", "admin"), None);
        assert_eq!(config.listener_for("other", "shop-web"), None);
        assert_eq!(config.listener_arns(), vec![LISTENER], "two groups, one listener");
    }

    #[test]
    fn a_target_group_replaces_the_fixed_response() {
        let config = config(&[
            ("MAINTENANCE_LISTENERS", &listeners()),
            ("MAINTENANCE_TARGET_GROUP_ARN", TARGET_GROUP),
            ("MAINTENANCE_ON_SCALE_OUT", "true"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            config.page,
            Page::Forward {
                target_group_arn: TARGET_GROUP.into()
            }
        );
        assert!(config.on_scale_out);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let long_body = "x".repeat(MAX_BODY_CHARS + 1);
        let listeners = listeners();
        // What the template makes of an unset MaintenanceApplication or MaintenanceDeploymentGroup.
        let empty_application = format!(r#"{{"": {{"shop-web": "{LISTENER}"}}}}"#);
        let empty_group = format!(r#"{{"shop": {{" ": "{LISTENER}"}}}}"#);
        // (settings, the variable the error must name, what it must say)
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
        let cases: Vec<Case> = vec![
            (
                vec![("MAINTENANCE_LISTENERS", "shop=arn")],
                "MAINTENANCE_LISTENERS",
                "not JSON",
            ),
            (
                vec![("MAINTENANCE_LISTENERS", "{}")],
                "MAINTENANCE_LISTENERS",
                "no deployment group",
            ),
            (
                vec![("MAINTENANCE_LISTENERS", &empty_application)],
                "MAINTENANCE_LISTENERS",
                "empty application name",
            ),
            (
                vec![("MAINTENANCE_LISTENERS", &empty_group)],
                "MAINTENANCE_LISTENERS",
                "empty deployment group name under application `shop`",
            ),
            (
                vec![("MAINTENANCE_LISTENERS", r#"{"shop": "arn:x"}"#)],
                "MAINTENANCE_LISTENERS",
                "other than an object",
            ),
            (
                vec![(
                    "MAINTENANCE_LISTENERS",
                    r#"{"shop": {"web": "arn:aws:elasticloadbalancing:us-east-1:1:listener/net/nlb/1/2"}}"#,
                )],
                "MAINTENANCE_LISTENERS",
                "not an Application Load Balancer listener ARN",
            ),
            (
                vec![("MAINTENANCE_LISTENERS", &listeners), ("MAINTENANCE_PRIORITY", "0")],
                "MAINTENANCE_PRIORITY",
                "from 1 to 50000",
            ),
            (
                vec![("MAINTENANCE_LISTENERS", &listeners), ("MAINTENANCE_STATUS", "302")],
                "MAINTENANCE_STATUS",
                "2XX, 4XX or 5XX",
            ),
            (
                vec![
                    ("MAINTENANCE_LISTENERS", &listeners),
                    ("MAINTENANCE_CONTENT_TYPE", "image/png"),
                ],
                "MAINTENANCE_CONTENT_TYPE",
                "text/html",
            ),
            (
                vec![("MAINTENANCE_LISTENERS", &listeners), ("MAINTENANCE_BODY", &long_body)],
                "MAINTENANCE_BODY",
                "1025 characters",
            ),
            (
                vec![
                    ("MAINTENANCE_LISTENERS", &listeners),
                    ("MAINTENANCE_TARGET_GROUP_ARN", TARGET_GROUP),
                    ("MAINTENANCE_BODY", "sorry"),
                ],
                "MAINTENANCE_TARGET_GROUP_ARN",
                "MAINTENANCE_BODY",
            ),
            (
                vec![
                    ("MAINTENANCE_LISTENERS", &listeners),
                    ("MAINTENANCE_TARGET_GROUP_ARN", "sorry-tg"),
                ],
                "MAINTENANCE_TARGET_GROUP_ARN",
                "not a target group ARN",
            ),
            (
                vec![
                    ("MAINTENANCE_LISTENERS", &listeners),
                    ("MAINTENANCE_ON_SCALE_OUT", "yes"),
                ],
                "MAINTENANCE_ON_SCALE_OUT",
                "true or false",
            ),
        ];
        for (pairs, variable, problem) in cases {
            let error = config(&pairs).unwrap_err();
            assert_eq!(error.variable, variable, "{pairs:?}");
            assert!(error.problem.contains(problem), "{pairs:?}: {}", error.problem);
        }
    }

    #[test]
    fn a_body_of_exactly_1024_characters_fits_even_when_multibyte() {
        let body = "é".repeat(MAX_BODY_CHARS);
        let config = config(&[("MAINTENANCE_LISTENERS", &listeners()), ("MAINTENANCE_BODY", &body)]);
        assert!(matches!(
            config,
            Ok(Some(MaintenanceConfig {
                page: Page::Fixed { .. },
                ..
            }))
        ));
    }
}
