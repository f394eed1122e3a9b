//! The planner, pure: which checks each target gets (its check-definitions entry, or the
//! `CHECK_*` defaults), and each check's request: a synthetic event for a Lambda version, or an
//! HTTP request to a load balancer's listener. No I/O.

use std::fmt;
use std::sync::Arc;

use reqwest::Url;

use super::canary::CanarySettings;
use super::config::{Config, Mode, Patience};
use super::definitions::{CheckDefinition, Source, Subject, TargetPlan, ToSend};
use super::http_event::{SyntheticRequest, build_event};
use super::{Check, LambdaTarget, Request, ServiceTarget, Targets, shown_url};

/// Why there is nothing sensible to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// Which checks one target got, for the summary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// `my-api`, or the load balancer's URL for HTTP checks.
    pub target: String,
    pub source: Source,
    pub skipped: bool,
    /// Judged on its real traffic instead of checked (after traffic moved, with `canary`).
    pub judged: bool,
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.target, self.source)?;
        if self.skipped {
            f.write_str(" (skipped)")?;
        }
        if self.judged {
            f.write_str(" (judged on its traffic)")?;
        }
        Ok(())
    }
}

/// The checks to run, and which entry each target's came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub checks: Vec<Check>,
    pub selections: Vec<Selection>,
}

impl Selection {
    /// How many of `selections` are skipped targets.
    pub fn skipped_in(selections: &[Selection]) -> usize {
        selections.iter().filter(|selection| selection.skipped).count()
    }
}

/// When the checks run: before traffic moves every target is checked; after it moved, a target
/// whose entry has `canary` is judged on its real traffic instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    BeforeTraffic,
    AfterTraffic,
}

/// Turns the configuration and what was deployed into the checks. `deployment_group` is
/// `APPLICATION/GROUP`, for the selectors.
pub fn plan_checks(config: &Config, targets: &Targets, deployment_group: Option<&str>) -> Result<Plan, PlanError> {
    plan_checks_at(config, targets, deployment_group, Moment::BeforeTraffic)
}

/// The `canary` settings of the entry that selects `subject`, if it has one.
pub fn canary_for(config: &Config, subject: &Subject) -> Option<CanarySettings> {
    choose(config, subject).canary
}

/// What the selectors know of one Lambda function of a deployment.
pub fn function_subject(function: &str, deployment_group: Option<&str>) -> Subject {
    Subject {
        functions: vec![function.to_string()],
        deployment_group: deployment_group.map(str::to_string),
        service: None,
    }
}

/// [`plan_checks`] at `moment`: after traffic moved, targets with `canary` get no checks.
pub fn plan_checks_at(
    config: &Config,
    targets: &Targets,
    deployment_group: Option<&str>,
    moment: Moment,
) -> Result<Plan, PlanError> {
    let judged = |chosen: &TargetPlan| moment == Moment::AfterTraffic && chosen.canary.is_some() && !chosen.skip;
    let subject = |functions: Vec<String>, service: Option<&String>| Subject {
        functions,
        deployment_group: deployment_group.map(str::to_string),
        service: service.cloned(),
    };
    match (&config.mode, targets) {
        (Mode::Http { base_url }, _) => {
            let (functions, service) = match targets {
                Targets::Lambda(functions) => (functions.iter().map(|f| f.function.clone()).collect(), None),
                Targets::Service(service) => (Vec::new(), service.name.as_ref()),
                Targets::Unknown(_) => (Vec::new(), None),
            };
            listener_plan(config, base_url, &subject(functions, service), judged)
        }
        (Mode::Lambda(_), Targets::Lambda(functions)) => {
            let mut plan = Plan {
                checks: Vec::new(),
                selections: Vec::new(),
            };
            for target in functions {
                let chosen = choose(config, &subject(vec![target.function.clone()], None));
                plan.selections.push(Selection {
                    target: target.function.clone(),
                    source: chosen.source,
                    skipped: chosen.skip,
                    judged: judged(chosen),
                });
                if !chosen.skip && !judged(chosen) {
                    plan.checks.extend(
                        chosen
                            .checks
                            .iter()
                            .map(|definition| lambda_check(definition, target, chosen.patience)),
                    );
                }
            }
            Ok(plan)
        }
        (
            Mode::Lambda(_),
            Targets::Service(ServiceTarget {
                name,
                test_listener: Some(listener),
            }),
        ) => listener_plan(config, listener, &subject(Vec::new(), name.as_ref()), judged),
        (Mode::Lambda(_), Targets::Unknown(why)) => Err(PlanError(format!(
            "{why}, so there is no Lambda version to invoke: set ALB_URL to check through the load balancer instead"
        ))),
        (Mode::Lambda(_), Targets::Service(_)) => Err(PlanError(
            "this is an ECS deployment, no test listener was found and ALB_URL is not set: give the deployment \
             group a test traffic route, or set ALB_URL to the load balancer's test listener (host:port)"
                .into(),
        )),
    }
}

/// The checks, when they do not depend on what was deployed (HTTP checks through `ALB_URL`,
/// with no entry of `PREFLIGHT_CHECKS` choosing by target), so that a flow can start them before
/// it knows; `None` when they need the deployed targets.
pub fn checks_without_targets(config: &Config) -> Option<Result<Plan, PlanError>> {
    match (&config.mode, &config.definitions) {
        (Mode::Http { .. }, Some(definitions)) if definitions.selects_by_target() => None,
        (Mode::Http { base_url }, _) => Some(listener_plan(config, base_url, &Subject::default(), |_| false)),
        (Mode::Lambda(_), _) => None,
    }
}

fn choose<'a>(config: &'a Config, subject: &Subject) -> &'a TargetPlan {
    match &config.definitions {
        Some(definitions) => definitions.plan_for(subject, &config.defaults),
        None => &config.defaults,
    }
}

/// HTTP mode: the load balancer is the one target, whatever was deployed behind it; it gets no
/// checks when it is `judged` instead.
fn listener_plan(
    config: &Config,
    base_url: &Url,
    subject: &Subject,
    judged: impl Fn(&TargetPlan) -> bool,
) -> Result<Plan, PlanError> {
    let chosen = choose(config, subject);
    if judged(chosen) {
        return Ok(Plan {
            checks: Vec::new(),
            selections: vec![Selection {
                target: shown_url(base_url),
                source: chosen.source,
                skipped: false,
                judged: true,
            }],
        });
    }
    listener_checks(chosen, base_url)
}

/// The checks of `chosen`, sent to the load balancer at `base_url`.
pub fn listener_checks(chosen: &TargetPlan, base_url: &Url) -> Result<Plan, PlanError> {
    let selections = vec![Selection {
        target: shown_url(base_url),
        source: chosen.source,
        skipped: chosen.skip,
        judged: false,
    }];
    let checks = if chosen.skip {
        Vec::new()
    } else {
        chosen
            .checks
            .iter()
            .map(|definition| http_check(base_url, definition, chosen.patience))
            .collect::<Result<_, _>>()?
    };
    Ok(Plan { checks, selections })
}

/// One request to the load balancer. `ALB_URL`'s document and variables were refused at start-up
/// when they asked for what a request cannot carry; a test listener the flow found is known only
/// now, so this is where the same rules hold for it.
fn http_check(base_url: &Url, definition: &CheckDefinition, patience: Patience) -> Result<Check, PlanError> {
    let ToSend::Http(request) = &definition.send else {
        return Err(PlanError(
            "a raw payload check cannot be sent to a load balancer, which takes HTTP requests: give the check \
             a path (a raw payload is for invoking a Lambda function)"
                .into(),
        ));
    };
    if request.body.is_some() {
        return Err(PlanError(format!(
            "the check of {} has a body (CHECK_BODY or `body`), but HTTP checks through a load balancer send \
             HEAD or GET without one: remove it",
            request.path
        )));
    }
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Err(PlanError(format!(
            "the check of {} uses {} (CHECK_METHOD or `method`), but HTTP checks through a load balancer send \
             HEAD or GET: change it",
            request.path, request.method
        )));
    }
    let joined = format!("{}{}", base_url.as_str().trim_end_matches('/'), request.path);
    let url = Url::parse(&joined).map_err(|error| {
        PlanError(format!(
            "the load balancer's address and the path make `{joined}`, not a URL: {error}"
        ))
    })?;
    Ok(Check {
        request: Request::Http {
            url,
            method: request.method.clone(),
            headers: request.headers.clone(),
            connect_to: None,
        },
        expect: Arc::clone(&definition.expect),
        patience,
    })
}

/// The requests a canary's synthetic traffic sends to a function through `alias`: the checks
/// of the entry that selects `subject` that its `traffic` may send (raw payloads, and requests
/// whose method `traffic.methods` names), each to be sent once, its answer not judged. Empty
/// when the entry sends no traffic.
pub fn alias_traffic(config: &Config, subject: &Subject, function: &str, alias: &str) -> Vec<Check> {
    let chosen = choose(config, subject);
    let Some(traffic) = chosen.canary.and_then(|canary| canary.traffic) else {
        return Vec::new();
    };
    let target = LambdaTarget {
        function: function.to_string(),
        version: alias.to_string(),
    };
    chosen
        .checks
        .iter()
        .filter(|definition| definition.send.sendable_as_traffic(traffic.methods))
        .map(|definition| lambda_check(definition, &target, chosen.patience))
        .collect()
}

/// The entry that selects ECS service `service` (or the `CHECK_*` defaults).
pub fn service_plan<'a>(config: &'a Config, service: Option<&str>) -> &'a TargetPlan {
    choose(
        config,
        &Subject {
            service: service.map(str::to_string),
            ..Subject::default()
        },
    )
}

/// The requests a canary's synthetic traffic sends through a production listener at `base_url`:
/// `chosen`'s checks that its `traffic` may send. Empty when it sends no traffic.
pub fn listener_traffic(chosen: &TargetPlan, base_url: &Url) -> Result<Vec<Check>, PlanError> {
    let Some(traffic) = chosen.canary.and_then(|canary| canary.traffic) else {
        return Ok(Vec::new());
    };
    let sendable = TargetPlan {
        checks: chosen
            .checks
            .iter()
            .filter(|definition| definition.send.sendable_as_traffic(traffic.methods))
            .cloned()
            .collect(),
        ..chosen.clone()
    };
    Ok(listener_checks(&sendable, base_url)?.checks)
}

fn lambda_check(definition: &CheckDefinition, target: &LambdaTarget, patience: Patience) -> Check {
    let request = match &definition.send {
        ToSend::Raw(payload) => Request::Lambda {
            function: target.function.clone(),
            version: target.version.clone(),
            path: None,
            format: None,
            payload: payload.clone(),
        },
        ToSend::Http(request) => Request::Lambda {
            function: target.function.clone(),
            version: target.version.clone(),
            path: Some(request.path.clone()),
            format: Some(request.format),
            payload: build_event(
                request.format,
                &SyntheticRequest {
                    method: &request.method,
                    path: &request.path,
                    headers: &request.headers,
                    body: request.body.as_deref(),
                },
            ),
        },
    };
    Check {
        request,
        expect: Arc::clone(&definition.expect),
        patience,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::config::EventFormat;
    use std::collections::HashMap;
    use std::time::Duration;

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

    fn targets(plan: &Plan) -> Vec<String> {
        plan.checks.iter().map(Check::target).collect()
    }

    fn selections(plan: &Plan) -> Vec<String> {
        plan.selections.iter().map(Selection::to_string).collect()
    }

    #[test]
    fn every_function_times_every_path() {
        let deployed = Targets::Lambda(vec![function("a", "2"), function("b", "9")]);
        let plan = plan_checks(&config(&[("CHECK_PATHS", "/health,/ready?token=x")]), &deployed, None).unwrap();
        assert_eq!(
            targets(&plan),
            vec!["a:2 /health", "a:2 /ready", "b:9 /health", "b:9 /ready"]
        );
        assert_eq!(selections(&plan), vec!["a: defaults", "b: defaults"]);
    }

    #[test]
    fn raw_payload_is_one_check_per_function() {
        let deployed = Targets::Lambda(vec![function("worker", "5")]);
        let plan = plan_checks(&config(&[("CHECK_PAYLOAD", r#"{"ping":1}"#)]), &deployed, None).unwrap();
        assert_eq!(plan.checks.len(), 1);
        assert!(
            matches!(&plan.checks[0].request, Request::Lambda { format: None, payload, .. } if payload["ping"] == 1)
        );
    }

    #[test]
    fn alb_url_checks_each_path_whatever_was_deployed() {
        let config = config(&[
            ("ALB_URL", "test-alb:8080"),
            ("CHECK_PATHS", "/health,/ready?token=secret"),
        ]);
        let plan = plan_checks(&config, &Targets::Service(ServiceTarget::default()), None).unwrap();
        assert_eq!(
            targets(&plan),
            vec!["http://test-alb:8080/health", "http://test-alb:8080/ready"]
        );
        assert!(matches!(&plan.checks[1].request, Request::Http { url, .. } if url.query() == Some("token=secret")));
        assert_eq!(checks_without_targets(&config), Some(Ok(plan)));
    }

    #[test]
    fn ecs_without_alb_url_says_what_to_set() {
        let error = plan_checks(&config(&[]), &Targets::Service(ServiceTarget::default()), None).unwrap_err();
        assert!(error.to_string().contains("set ALB_URL"), "{error}");
    }

    #[test]
    fn unknown_targets_say_why_and_what_to_set() {
        let error = plan_checks(&config(&[]), &Targets::Unknown("the AppSpec is in S3".into()), None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the AppSpec is in S3, so there is no Lambda version"),
            "{error}"
        );
        assert!(error.to_string().contains("set ALB_URL"), "{error}");
    }

    const TWO_TARGETS: &str = r#"
targets:
  - function: "shop-api"
    attempts: 5
    checks:
      - path: /health?deep=1
        event_format: apigw-v2
        expect: {json: {$.status: ok}}
  - function: "shop-*"
    deployment_group: "shop/*"
    timeout_ms: 1500
    checks:
      - payload: {"source": "preflight"}
  - function: "legacy-*"
    skip: true
"#;

    #[test]
    fn each_function_gets_the_checks_of_the_first_entry_that_selects_it() {
        let config = config(&[("PREFLIGHT_CHECKS", TWO_TARGETS), ("CHECK_ATTEMPTS", "2")]);
        let deployed = Targets::Lambda(vec![
            function("shop-api", "7"),
            function("shop-worker", "3"),
            function("legacy-cron", "1"),
            function("billing", "4"),
        ]);
        let plan = plan_checks(&config, &deployed, Some("shop/prod")).unwrap();
        assert_eq!(
            selections(&plan),
            vec![
                "shop-api: targets[0]",
                "shop-worker: targets[1]",
                "legacy-cron: targets[2] (skipped)",
                "billing: defaults"
            ]
        );
        assert_eq!(
            targets(&plan),
            vec!["shop-api:7 /health", "shop-worker:3", "billing:4 /healthcheck"]
        );
        assert_eq!(Selection::skipped_in(&plan.selections), 1);
        let [api, worker, billing] = &plan.checks[..] else {
            panic!("three checks: {plan:?}");
        };
        assert!(matches!(
            api.request,
            Request::Lambda {
                format: Some(EventFormat::ApiGatewayV2),
                ..
            }
        ));
        assert_eq!(api.expect.assertions.len(), 1);
        assert_eq!(api.patience.attempts, 5);
        assert_eq!(
            worker.patience.attempts, 2,
            "what the entry leaves out comes from CHECK_ATTEMPTS"
        );
        assert_eq!(worker.patience.timeout, Duration::from_millis(1500));
        assert!(
            matches!(&worker.request, Request::Lambda { format: None, payload, .. } if payload["source"] == "preflight")
        );
        assert!(billing.expect.assertions.is_empty());
    }

    #[test]
    fn the_deployment_group_takes_part_in_the_choice() {
        let config = config(&[("PREFLIGHT_CHECKS", TWO_TARGETS)]);
        let deployed = Targets::Lambda(vec![function("shop-worker", "3")]);
        let staging = plan_checks(&config, &deployed, Some("other/staging")).unwrap();
        assert_eq!(selections(&staging), vec!["shop-worker: defaults"]);
    }

    #[test]
    fn http_checks_wait_for_the_deployment_only_when_an_entry_selects_by_target() {
        let by_group = config(&[
            ("ALB_URL", "test-alb:8080"),
            (
                "PREFLIGHT_CHECKS",
                "targets: [{deployment_group: 'shop/*', checks: [{path: /ready, expect: {body_contains: up}}]}]",
            ),
        ]);
        assert_eq!(checks_without_targets(&by_group), None);
        let plan = plan_checks(&by_group, &Targets::Service(ServiceTarget::default()), Some("shop/ecs")).unwrap();
        assert_eq!(targets(&plan), vec!["http://test-alb:8080/ready"]);
        assert_eq!(selections(&plan), vec!["http://test-alb:8080/: targets[0]"]);
        let everywhere = config(&[
            ("ALB_URL", "test-alb:8080"),
            ("PREFLIGHT_CHECKS", "targets: [{checks: [{path: /ready}]}]"),
        ]);
        let early = checks_without_targets(&everywhere).unwrap().unwrap();
        assert_eq!(targets(&early), vec!["http://test-alb:8080/ready"]);
    }

    #[test]
    fn a_found_test_listener_gets_the_http_checks_and_the_service_chooses_them() {
        let config = config(&[(
            "PREFLIGHT_CHECKS",
            "targets: [{service: checkout, checks: [{path: /ready, expect: {body_contains: up}}]}]",
        )]);
        let found = Targets::Service(ServiceTarget {
            name: Some("checkout".into()),
            test_listener: Some(Url::parse("https://internal-shop-1.eu-west-1.elb.amazonaws.com:8443").unwrap()),
        });
        let plan = plan_checks(&config, &found, Some("shop/ecs")).unwrap();
        assert_eq!(
            targets(&plan),
            vec!["https://internal-shop-1.eu-west-1.elb.amazonaws.com:8443/ready"]
        );
        assert!(selections(&plan)[0].ends_with(": targets[0]"), "{plan:?}");
        let other = Targets::Service(ServiceTarget {
            name: Some("billing".into()),
            test_listener: Some(Url::parse("http://lb:8080").unwrap()),
        });
        let plan = plan_checks(&config, &other, Some("shop/ecs")).unwrap();
        assert_eq!(targets(&plan), vec!["http://lb:8080/healthcheck"]);
    }

    #[test]
    fn a_found_listener_refuses_what_a_request_cannot_carry() {
        let found = Targets::Service(ServiceTarget {
            name: Some("checkout".into()),
            test_listener: Some(Url::parse("http://lb:8080").unwrap()),
        });
        for (variable, value, says) in [
            ("CHECK_BODY", "{}", "has a body"),
            ("CHECK_METHOD", "POST", "uses POST"),
            ("CHECK_PAYLOAD", "{}", "raw payload"),
        ] {
            let error = plan_checks(&config(&[(variable, value)]), &found, None).unwrap_err();
            assert!(error.to_string().contains(says), "{variable}: {error}");
        }
        assert!(plan_checks(&config(&[("CHECK_METHOD", "HEAD")]), &found, None).is_ok());
    }

    #[test]
    fn alb_url_wins_over_a_found_listener_but_the_service_still_chooses() {
        let config = config(&[
            ("ALB_URL", "test-alb:8080"),
            (
                "PREFLIGHT_CHECKS",
                "targets: [{service: checkout, checks: [{path: /ready}]}]",
            ),
        ]);
        let found = Targets::Service(ServiceTarget {
            name: Some("checkout".into()),
            test_listener: Some(Url::parse("http://elsewhere:9000").unwrap()),
        });
        let plan = plan_checks(&config, &found, None).unwrap();
        assert_eq!(targets(&plan), vec!["http://test-alb:8080/ready"]);
    }

    #[test]
    fn a_skipped_listener_has_no_checks() {
        let config = config(&[
            ("ALB_URL", "test-alb:8080"),
            (
                "PREFLIGHT_CHECKS",
                "targets: [{deployment_group: 'shop/*', skip: true}]",
            ),
        ]);
        let plan = plan_checks(&config, &Targets::Service(ServiceTarget::default()), Some("shop/ecs")).unwrap();
        assert!(plan.checks.is_empty());
        assert_eq!(Selection::skipped_in(&plan.selections), 1);
    }
}
