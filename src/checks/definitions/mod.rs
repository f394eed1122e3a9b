//! Check definitions: which checks each target gets. `PREFLIGHT_CHECKS` (or the file named by
//! `PREFLIGHT_CHECKS_FILE`) lists entries with selectors; a target gets the checks of the first
//! entry whose selectors all match it, and the `CHECK_*` variables' checks when none does.
//!
//! [`document`] reads and validates the document (every error names its place in it); this
//! module holds what it becomes and the selection, both pure.

pub mod document;

use std::fmt;
use std::sync::Arc;

use aws_lambda_events::http::{HeaderName, HeaderValue, Method};
use serde_json::Value;
use wildmatch::WildMatch;

use super::assertions::Expectations;
use super::canary::CanarySettings;
use super::terms::{EventFormat, Patience};

/// The entries of a check-definitions document, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Definitions {
    pub entries: Vec<Entry>,
}

/// One entry: which targets it is for, and what they get.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub selectors: Selectors,
    pub plan: TargetPlan,
}

/// Globs (`*` and `?`) a target must all match; an entry without any matches every target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selectors {
    pub function: Option<Glob>,
    pub deployment_group: Option<Glob>,
    pub service: Option<Glob>,
}

/// A glob and the text it came from.
#[derive(Debug, Clone)]
pub struct Glob {
    pub text: String,
    pattern: WildMatch,
}

impl Glob {
    pub fn new(text: &str) -> Glob {
        Glob {
            text: text.to_string(),
            pattern: WildMatch::new(text),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        self.pattern.matches(text)
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// What a target is, for the selectors. A fact that is unknown never matches a selector that
/// asks about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// The AppSpec function a Lambda target is; for HTTP checks through the load balancer,
    /// every function of the deployment (a `function` selector matches if one does).
    pub functions: Vec<String>,
    /// `APPLICATION/DEPLOYMENT_GROUP`.
    pub deployment_group: Option<String>,
    /// The ECS service, when it is known.
    pub service: Option<String>,
}

impl Selectors {
    pub fn select(&self, subject: &Subject) -> bool {
        let function = self
            .function
            .as_ref()
            .is_none_or(|glob| subject.functions.iter().any(|name| glob.matches(name)));
        let group = self.deployment_group.as_ref().is_none_or(|glob| {
            subject
                .deployment_group
                .as_deref()
                .is_some_and(|name| glob.matches(name))
        });
        let service = self
            .service
            .as_ref()
            .is_none_or(|glob| subject.service.as_deref().is_some_and(|name| glob.matches(name)));
        function && group && service
    }
}

/// Where a target's checks came from, for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `targets[i]` of the document.
    Entry(usize),
    /// The `CHECK_*` variables.
    Defaults,
    /// The `preflight` key of an ECS lifecycle hook's `hookDetails`.
    HookDetails,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Entry(index) => write!(f, "targets[{index}]"),
            Source::Defaults => f.write_str("defaults"),
            Source::HookDetails => f.write_str("hookDetails.preflight"),
        }
    }
}

/// What one target gets: its checks and their patience, or a skip.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetPlan {
    pub source: Source,
    pub skip: bool,
    pub patience: Patience,
    pub checks: Vec<CheckDefinition>,
    /// The `canary` key: judge the target on its real traffic where a deployment lets a hook
    /// decide after traffic moved (`AfterAllowTraffic`, ECS's production traffic shift).
    pub canary: Option<CanarySettings>,
}

/// One check, before it knows its target: what to send and what to expect back.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDefinition {
    pub send: ToSend,
    pub expect: Arc<Expectations>,
}

/// What a check sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ToSend {
    /// A synthetic HTTP event (Lambda) or a request to the load balancer (HTTP mode).
    Http(HttpRequest),
    /// A raw JSON invocation (Lambda only).
    Raw(Value),
}

impl ToSend {
    /// Whether the canary's synthetic traffic may send this: a raw payload, or a request whose
    /// method `methods` names (GET and HEAD unless the entry names others).
    pub fn sendable_as_traffic(&self, methods: crate::checks::canary::settings::Methods) -> bool {
        match self {
            ToSend::Raw(_) => true,
            ToSend::Http(request) => methods.contains(request.method.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// May carry a query string (`/health?deep=1`).
    pub path: String,
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Lambda HTTP events only.
    pub body: Option<String>,
    /// Lambda only: the event source the synthetic event imitates.
    pub format: EventFormat,
}

impl Definitions {
    /// The plan of the first entry that selects `subject`, or `defaults`.
    pub fn plan_for<'a>(&'a self, subject: &Subject, defaults: &'a TargetPlan) -> &'a TargetPlan {
        self.entries
            .iter()
            .find(|entry| entry.selectors.select(subject))
            .map_or(defaults, |entry| &entry.plan)
    }

    /// Whether any entry judges real traffic (has `canary`): only then must a hook find out which
    /// lifecycle event called it.
    pub fn judge_traffic(&self) -> bool {
        self.entries.iter().any(|entry| entry.plan.canary.is_some())
    }

    /// Whether choosing needs to know what was deployed (any entry has a selector).
    pub fn selects_by_target(&self) -> bool {
        self.entries.iter().any(|entry| entry.selectors != Selectors::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::expected_status::ExpectedStatus;
    use std::time::Duration;

    fn plan(source: Source) -> TargetPlan {
        TargetPlan {
            source,
            skip: false,
            patience: Patience {
                attempts: 1,
                interval: Duration::ZERO,
                timeout: Duration::from_secs(1),
            },
            checks: vec![CheckDefinition {
                send: ToSend::Raw(Value::Null),
                expect: Arc::new(Expectations::status_only(ExpectedStatus::default())),
            }],
            canary: None,
        }
    }

    fn entry(index: usize, function: Option<&str>, group: Option<&str>, service: Option<&str>) -> Entry {
        Entry {
            selectors: Selectors {
                function: function.map(Glob::new),
                deployment_group: group.map(Glob::new),
                service: service.map(Glob::new),
            },
            plan: plan(Source::Entry(index)),
        }
    }

    fn lambda(function: &str, group: &str) -> Subject {
        Subject {
            functions: vec![function.into()],
            deployment_group: Some(group.into()),
            service: None,
        }
    }

    #[test]
    fn the_first_entry_whose_selectors_all_match_wins() {
        let definitions = Definitions {
            entries: vec![
                entry(0, Some("orders-*"), Some("shop/prod"), None),
                entry(1, Some("orders-*"), None, None),
                entry(2, None, None, None),
            ],
        };
        let defaults = plan(Source::Defaults);
        let source = |subject: &Subject| definitions.plan_for(subject, &defaults).source;
        assert_eq!(source(&lambda("orders-api", "shop/prod")), Source::Entry(0));
        assert_eq!(source(&lambda("orders-api", "shop/staging")), Source::Entry(1));
        assert_eq!(source(&lambda("billing", "shop/prod")), Source::Entry(2));
    }

    #[test]
    fn an_unmatched_target_gets_the_defaults() {
        let definitions = Definitions {
            entries: vec![entry(0, Some("orders-?pi"), None, None)],
        };
        let defaults = plan(Source::Defaults);
        assert_eq!(
            definitions.plan_for(&lambda("orders-api", "a/b"), &defaults).source,
            Source::Entry(0)
        );
        assert_eq!(
            definitions.plan_for(&lambda("orders-apis", "a/b"), &defaults).source,
            Source::Defaults
        );
    }

    #[test]
    fn unknown_facts_never_match_a_selector_that_asks_about_them() {
        let by_service = entry(0, None, None, Some("checkout"));
        assert!(!by_service.selectors.select(&lambda("checkout", "a/b")));
        let by_function = entry(0, Some("*"), None, None);
        let ecs = Subject {
            functions: Vec::new(),
            deployment_group: Some("shop/ecs".into()),
            service: Some("checkout".into()),
        };
        assert!(!by_function.selectors.select(&ecs));
        assert!(by_service.selectors.select(&ecs));
        let by_group = entry(0, None, Some("shop/*"), None);
        assert!(!by_group.selectors.select(&Subject::default()));
        assert!(by_group.selectors.select(&ecs));
    }

    #[test]
    fn a_listener_matches_a_function_selector_through_any_deployed_function() {
        let listener = Subject {
            functions: vec!["api".into(), "worker".into()],
            deployment_group: None,
            service: None,
        };
        assert!(entry(0, Some("work*"), None, None).selectors.select(&listener));
        assert!(!entry(0, Some("batch"), None, None).selectors.select(&listener));
    }

    #[test]
    fn entries_without_selectors_do_not_need_the_deployment() {
        let catch_all = Definitions {
            entries: vec![entry(0, None, None, None)],
        };
        assert!(!catch_all.selects_by_target());
        let by_group = Definitions {
            entries: vec![entry(0, None, Some("a/*"), None)],
        };
        assert!(by_group.selects_by_target());
    }
}
