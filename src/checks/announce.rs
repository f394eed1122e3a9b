//! Verdict events: each verdict, once it is final and has gone out, is put on an EventBridge bus
//! as one event (`source` [`SOURCE`], `detail-type` [`DETAIL_TYPE`]), so that a rule can tell a
//! team where they look (an SNS topic, a chat channel) why a release was stopped. The `detail`
//! says which deployment and stage, each target's checks and the evidence it was judged on, the
//! status, the cause and whose fault it is, in the words of the hook's answers and summary lines.
//!
//! Here: the settings (`PREFLIGHT_EVENTS`, `PREFLIGHT_EVENT_BUS`), the event built from what a
//! flow found (pure, the same for every deciding flow and the live judge), and [`announce`],
//! which sends it. Sending comes after the verdict went out and can never change it: a failure is
//! logged and counted (`VerdictEventsNotSent`), and that is all.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};
use tokio::time::Instant;

use super::canary::TargetJudgement;
use super::deciding::Findings;
use super::verdict::{Cause, Verdict};
use super::{CheckResult, Selection};
use crate::plumbing::aws::eventbridge::{Entry, put_event};
use crate::plumbing::aws::{AwsClients, AwsError, Service};
use crate::plumbing::deadline::keep_back;
use crate::plumbing::env::{ConfigError, Lookup, invalid, names_asked_by, non_empty};
use crate::plumbing::metrics::{Record, Unit};
use crate::plumbing::text::truncate;

/// The events' `source`.
pub const SOURCE: &str = "preflight";
/// The events' `detail-type`.
pub const DETAIL_TYPE: &str = "Preflight Verdict";
/// The metric counting the events that could not be sent, by `Flow`.
pub const NOT_SENT_METRIC: &str = "VerdictEventsNotSent";

/// The account's default event bus.
const DEFAULT_BUS: &str = "default";

/// The longest `detail` sent, in bytes: an entry (its source, detail type and detail) may have
/// 256 KB, and a verdict over thousands of checks could come near it.
const MAX_DETAIL_BYTES: usize = 250_000;

/// Kept free before the Lambda deadline when sending: the invocation's answer follows the event.
const ANSWER_MARGIN: Duration = Duration::from_millis(200);

/// Whether verdicts are announced, and on which bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// `PREFLIGHT_EVENTS`: `on` (the default) or `off`.
    pub enabled: bool,
    /// `PREFLIGHT_EVENT_BUS`: a bus's name or ARN, `default` unless set.
    pub bus: String,
}

impl Default for EventSettings {
    /// On, on the account's default bus.
    fn default() -> EventSettings {
        EventSettings {
            enabled: true,
            bus: DEFAULT_BUS.to_string(),
        }
    }
}

impl EventSettings {
    /// Nothing announced: for tools and tests that decide nobody's deployment.
    pub fn off() -> EventSettings {
        EventSettings {
            enabled: false,
            ..EventSettings::default()
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<EventSettings, ConfigError> {
        EventSettings::from_lookup(&crate::plumbing::env::process_env)
    }

    /// Reads `lookup`; empty values count as unset. A value that is neither `on` nor `off`, or a
    /// bus that cannot be a bus's name or ARN, is an error naming its variable.
    pub fn from_lookup(lookup: &Lookup) -> Result<EventSettings, ConfigError> {
        let get = non_empty(lookup);
        let enabled = match get("PREFLIGHT_EVENTS")
            .map(|text| text.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(invalid(
                    "PREFLIGHT_EVENTS",
                    format!("is `{other}`: use on (the default: every verdict is sent to EventBridge) or off"),
                ));
            }
        };
        let bus = match get("PREFLIGHT_EVENT_BUS") {
            Some(text) => parse_bus(text.trim())?,
            None => DEFAULT_BUS.to_string(),
        };
        Ok(EventSettings { enabled, bus })
    }

    /// The variables read (recorded, see [`names_asked_by`]).
    pub fn variables() -> BTreeSet<String> {
        names_asked_by(
            |get| {
                let _ = EventSettings::from_lookup(get);
            },
            &[&[]],
        )
    }
}

/// A bus's name (`[A-Za-z0-9._-]`, at most 256), or its ARN
/// (`arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME`), as PutEvents takes them.
fn parse_bus(text: &str) -> Result<String, ConfigError> {
    let name = match text.strip_prefix("arn:") {
        Some(_) => match text.split_once(":event-bus/") {
            Some((head, name)) if head.split(':').nth(2) == Some("events") && head.split(':').count() == 5 => name,
            _ => "",
        },
        None => text,
    };
    let named = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if named {
        Ok(text.to_string())
    } else {
        Err(invalid(
            "PREFLIGHT_EVENT_BUS",
            format!(
                "is `{text}`: expected an event bus's name (letters, digits, `.`, `-` and `_`; `default` is the \
                 account's default bus) or its ARN, arn:aws:events:REGION:ACCOUNT:event-bus/NAME"
            ),
        ))
    }
}

/// Which deployment a verdict is about, in its platform's words.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub(crate) enum Deployment<'a> {
    /// A CodeDeploy deployment, at the lifecycle event that called when the flow read it
    /// (CodeDeploy's payload does not say; the hook reads it when an entry judges traffic).
    CodeDeploy {
        deployment_id: &'a str,
        /// `APPLICATION/GROUP: what was deployed`, as the summary line's `deployed`.
        #[serde(skip_serializing_if = "Option::is_none")]
        deployed: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        lifecycle_event: Option<&'a str>,
    },
    /// An Amazon ECS service deployment at one of its lifecycle stages.
    Ecs {
        /// The payload's `resourceArn`.
        service_deployment_arn: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        service: Option<&'a str>,
        /// Green's service revision.
        revision: &'a str,
        stage: &'a str,
        /// Where green was checked, as the summary line's `green`.
        #[serde(skip_serializing_if = "Option::is_none")]
        green: Option<&'a str>,
    },
}

/// The event's `detail`: one verdict and what led to it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerdictEvent<'a> {
    /// The flow that decided (the metrics' `Flow`).
    flow: &'a str,
    #[serde(flatten)]
    deployment: Deployment<'a>,
    /// As the flow answered it: `Succeeded`/`Failed` to CodeDeploy, `SUCCEEDED`/`FAILED` to ECS.
    status: String,
    cause: Cause,
    fault: &'static str,
    reason: &'a str,
    targets: Vec<TargetShown<'a>>,
    /// How many checks were left out of `targets` to keep the event under EventBridge's size.
    #[serde(skip_serializing_if = "is_zero")]
    checks_left_out: usize,
}

/// One target: where its checks came from, each check, and what it was judged on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetShown<'a> {
    /// `my-api`, a load balancer's URL, `my-api:live` for a judged alias.
    target: &'a str,
    /// `targets[0]`, `defaults` or `hookDetails.preflight`, as the summary line's `targets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    skipped: bool,
    checks: Vec<CheckShown<'a>>,
    /// The evidence, as the summary line's `judged` shows it.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "judged_as_shown")]
    judged: Option<&'a TargetJudgement>,
}

/// One check, as the summary line's `checks` tells it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckShown<'a> {
    /// `my-api:2 /healthcheck`, or the URL without its query.
    check: &'a str,
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    latency_ms: u64,
    /// Each attempt: `pass`, `failure` (an answer that broke an expectation), `error` (none).
    attempts: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a str>,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

fn judged_as_shown<S: Serializer>(judged: &Option<&TargetJudgement>, serializer: S) -> Result<S::Ok, S::Error> {
    judged.map(TargetJudgement::shown).serialize(serializer)
}

impl<'a> VerdictEvent<'a> {
    /// A deciding flow's verdict: `status` as the flow answered it, with what its evaluation
    /// found.
    pub(crate) fn of_findings(
        flow: &'a str,
        deployment: Deployment<'a>,
        status: &dyn fmt::Display,
        cause: Cause,
        reason: &'a str,
        findings: &'a Findings,
    ) -> VerdictEvent<'a> {
        VerdictEvent {
            flow,
            deployment,
            status: status.to_string(),
            cause,
            fault: cause.fault().name(),
            reason,
            targets: targets(&findings.selections, &findings.results, &findings.judgements),
            checks_left_out: 0,
        }
    }

    /// Traffic judged while CodeDeploy's `AllowTraffic` splits it (the live judge): the stage is
    /// `AllowTraffic`, `verdict` what the `judgements` say (as `verdict_with(None, judgements)`
    /// makes it), each judged target with its evidence.
    pub(crate) fn during_allow_traffic(
        flow: &'a str,
        deployment_id: &'a str,
        deployed: Option<&'a str>,
        verdict: &'a Verdict,
        judgements: &'a [TargetJudgement],
    ) -> VerdictEvent<'a> {
        VerdictEvent {
            flow,
            deployment: Deployment::CodeDeploy {
                deployment_id,
                deployed,
                lifecycle_event: Some("AllowTraffic"),
            },
            status: verdict.status.to_string(),
            cause: verdict.cause,
            fault: verdict.cause.fault().name(),
            reason: &verdict.reason,
            targets: targets(&[], &[], judgements),
            checks_left_out: 0,
        }
    }

    /// The `detail` as sent: the event's JSON, or, past EventBridge's size, the same without the
    /// checks (counted in `checksLeftOut`) and with the reason cut.
    pub(crate) fn detail(&self) -> String {
        let full = serde_json::to_string(self).unwrap_or_default();
        if full.len() <= MAX_DETAIL_BYTES {
            return full;
        }
        let reason = truncate(self.reason);
        let mut lean = VerdictEvent {
            reason: &reason,
            ..self.clone()
        };
        for target in &mut lean.targets {
            lean.checks_left_out += target.checks.len();
            target.checks.clear();
        }
        serde_json::to_string(&lean).unwrap_or_default()
    }
}

/// The targets as the event shows them: each selected target with its checks and judgement.
/// A check or judgement belongs to the one selected target, or to the target it names
/// (`my-api:2 /healthcheck` and `my-api:live` are `my-api`'s); one no selection claims gets an
/// entry of its own, so that nothing found is left out.
fn targets<'a>(
    selections: &'a [Selection],
    results: &'a [CheckResult],
    judgements: &'a [TargetJudgement],
) -> Vec<TargetShown<'a>> {
    let mut shown: Vec<TargetShown<'a>> = selections
        .iter()
        .map(|selection| TargetShown {
            target: &selection.target,
            source: Some(selection.source.to_string()),
            skipped: selection.skipped,
            checks: Vec::new(),
            judged: None,
        })
        .collect();
    let selected = shown.len();
    let owner = |shown: &[TargetShown<'a>], name: &str| -> Option<usize> {
        if selected == 1 {
            return Some(0);
        }
        shown.iter().position(|target| {
            name == target.target
                || name
                    .strip_prefix(target.target)
                    .is_some_and(|rest| rest.starts_with(':'))
        })
    };
    let unselected = |name: &'a str| TargetShown {
        target: name,
        source: None,
        skipped: false,
        checks: Vec::new(),
        judged: None,
    };
    for result in results {
        let check = CheckShown {
            check: &result.target,
            passed: result.passed(),
            status: result.status,
            latency_ms: result.latency.as_millis() as u64,
            attempts: result.outcomes.iter().map(|outcome| outcome.name()).collect(),
            failure: result.failure.as_deref(),
        };
        match owner(&shown, &result.target) {
            Some(index) => shown[index].checks.push(check),
            None => {
                let mut target = unselected(&result.target);
                target.checks.push(check);
                shown.push(target);
            }
        }
    }
    for judgement in judgements {
        match owner(&shown, &judgement.target) {
            Some(index) if shown[index].judged.is_none() => shown[index].judged = Some(judgement),
            _ => {
                let mut target = unselected(&judgement.target);
                target.judged = Some(judgement);
                shown.push(target);
            }
        }
    }
    shown
}

/// Sends `event` to the bus `settings` name, unless events are off (then nothing is built or
/// sent), ending before the Lambda `deadline` so that the invocation still answers in time. A
/// failure is logged and counted here (`VerdictEventsNotSent` by `flow`) and returned for the
/// caller to ignore: the verdict went out before the event and stands whatever becomes of it.
pub(crate) async fn announce(
    clients: &AwsClients,
    settings: &EventSettings,
    event: &VerdictEvent<'_>,
    deadline: Instant,
    flow: &str,
) -> Result<(), AwsError> {
    if !settings.enabled {
        return Ok(());
    }
    let detail = event.detail();
    let entry = Entry {
        bus: &settings.bus,
        source: SOURCE,
        detail_type: DETAIL_TYPE,
        detail: &detail,
    };
    // The client's set-up counts against the time too.
    let sending = async { put_event(clients.eventbridge().await, entry).await };
    let sent = match tokio::time::timeout_at(keep_back(deadline, ANSWER_MARGIN), sending).await {
        Ok(sent) => sent,
        Err(_) => Err(AwsError {
            service: Service::EventBridge,
            operation: "PutEvents",
            failure: crate::plumbing::aws::error::Failure::Timeout,
            code: None,
            message: Some("no answer from EventBridge before the Lambda deadline".into()),
            http_status: None,
            advice: Some("raise the function's timeout, or DEADLINE_MARGIN_MS to leave the event more time".into()),
        }),
    };
    match sent {
        Ok(event_id) => {
            tracing::debug!(flow, bus = settings.bus.as_str(), event_id, "verdict event sent");
            Ok(())
        }
        Err(error) => {
            tracing::warn!(
                flow,
                bus = settings.bus.as_str(),
                error = %error,
                "verdict event not sent; the verdict stands"
            );
            not_sent_record(flow).emit();
            Err(error)
        }
    }
}

/// The record of one event `flow` could not send.
pub(crate) fn not_sent_record(flow: &str) -> Record {
    Record::new(flow).metric(NOT_SENT_METRIC, Unit::Count, 1.0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_eventbridge::Client as EventBridge;
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::mock;
    use serde_json::{Value, json};

    use super::*;
    use crate::checks::canary::window::Window;
    use crate::checks::canary::{Judged, OnInconclusive, Ruling, Side, Traffic};
    use crate::checks::definitions::Source;
    use crate::checks::judge::Outcome;
    use crate::plumbing::aws::canned;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn events_are_on_by_default_on_the_default_bus_and_off_turns_them_off() {
        assert_eq!(EventSettings::from_lookup(&lookup(&[])), Ok(EventSettings::default()));
        assert_eq!(
            EventSettings::default(),
            EventSettings {
                enabled: true,
                bus: "default".into()
            }
        );
        let off = EventSettings::from_lookup(&lookup(&[("PREFLIGHT_EVENTS", " OFF ")])).unwrap();
        assert!(!off.enabled);
        let blank = EventSettings::from_lookup(&lookup(&[("PREFLIGHT_EVENTS", ""), ("PREFLIGHT_EVENT_BUS", " ")]));
        assert_eq!(blank, Ok(EventSettings::default()), "a parameter left empty is unset");
        assert_eq!(
            EventSettings::variables().into_iter().collect::<Vec<_>>(),
            ["PREFLIGHT_EVENTS", "PREFLIGHT_EVENT_BUS"]
        );
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_variable() {
        let typo = EventSettings::from_lookup(&lookup(&[("PREFLIGHT_EVENTS", "of")])).unwrap_err();
        assert_eq!(typo.variable, "PREFLIGHT_EVENTS");
        assert!(typo.to_string().contains("is `of`: use on"), "{typo}");
        for bad in [
            "my bus",
            "arn:aws:sns:us-east-1:111122223333:event-bus/releases",
            "arn:aws:events:us-east-1:111122223333:rule/releases",
            "",
        ] {
            let error = parse_bus(bad).unwrap_err();
            assert_eq!(error.variable, "PREFLIGHT_EVENT_BUS", "{bad}");
            assert!(error.to_string().contains("an event bus's name"), "{error}");
        }
        for good in [
            "default",
            "releases.prod_2-a",
            "arn:aws:events:eu-west-1:111122223333:event-bus/releases",
            "arn:aws-cn:events:cn-north-1:111122223333:event-bus/default",
        ] {
            assert_eq!(parse_bus(good).as_deref(), Ok(good));
        }
    }

    fn result(target: &str, status: u16, failure: Option<&str>, outcomes: Vec<Outcome>) -> CheckResult {
        CheckResult {
            target: target.into(),
            outcomes,
            status: Some(status),
            latency: Duration::from_millis(12),
            failure: failure.map(str::to_string),
            refused: None,
            waited: Duration::ZERO,
            out_of_time: false,
        }
    }

    fn selection(target: &str, source: Source) -> Selection {
        Selection {
            target: target.into(),
            source,
            skipped: false,
            judged: false,
        }
    }

    fn judgement(target: &str, ruling: Ruling) -> TargetJudgement {
        let window = Window::covering(std::time::UNIX_EPOCH, std::time::UNIX_EPOCH + Duration::from_secs(600));
        let side = |name: &str, requests: f64, errors: f64| Side {
            name: name.into(),
            window,
            traffic: Traffic {
                requests: Some(requests),
                errors: Some(errors),
                p99_ms: Some(80.0),
            },
        };
        TargetJudgement {
            target: target.into(),
            judged: Judged {
                ruling,
                rule: "errors 50/300 (16.7%) against 0/2700 (0.0%) on version 1: higher beyond chance".into(),
                new: side("version 2", 300.0, 50.0),
                old: side("version 1", 2700.0, 0.0),
                ..Judged::unseen(String::new(), String::new(), window, String::new())
            },
            on_inconclusive: OnInconclusive::Succeed,
        }
    }

    fn codedeploy<'a>(findings: &'a Findings, verdict: &'a Verdict) -> VerdictEvent<'a> {
        VerdictEvent::of_findings(
            "codedeploy_hook",
            Deployment::CodeDeploy {
                deployment_id: "d-1",
                deployed: findings.subject.as_deref(),
                lifecycle_event: findings.stage.as_deref(),
            },
            &verdict.status,
            verdict.cause,
            &verdict.reason,
            findings,
        )
    }

    fn json_of(event: &VerdictEvent) -> Value {
        serde_json::from_str(&event.detail()).expect("the detail is JSON")
    }

    #[test]
    fn a_failed_release_says_which_deployment_target_and_check_and_whose_fault() {
        let findings = Findings {
            subject: Some("my-app/live: Lambda my-api 1→2".into()),
            stage: Some("BeforeAllowTraffic".into()),
            selections: vec![selection("my-api", Source::Entry(0))],
            results: vec![result(
                "my-api:2 /healthcheck",
                500,
                Some("status 500, expected 200-399"),
                vec![Outcome::Failure, Outcome::Failure],
            )],
            judgements: Vec::new(),
        };
        let verdict = Verdict::from_results(&findings.results, 0);
        assert_eq!(
            json_of(&codedeploy(&findings, &verdict)),
            json!({
                "flow": "codedeploy_hook",
                "deploymentId": "d-1",
                "deployed": "my-app/live: Lambda my-api 1→2",
                "lifecycleEvent": "BeforeAllowTraffic",
                "status": "Failed",
                "cause": "ReleaseFailed",
                "fault": "Release",
                "reason": "1 of 1 checks failed: my-api:2 /healthcheck: status 500, expected 200-399",
                "targets": [{
                    "target": "my-api",
                    "source": "targets[0]",
                    "checks": [{
                        "check": "my-api:2 /healthcheck",
                        "passed": false,
                        "status": 500,
                        "latencyMs": 12,
                        "attempts": ["failure", "failure"],
                        "failure": "status 500, expected 200-399"
                    }]
                }]
            })
        );
    }

    #[test]
    fn a_verdict_before_anything_was_found_still_carries_its_cause_and_fault() {
        let findings = Findings::default();
        let verdict = Verdict::failed(Cause::NotPermitted, "GetDeployment failed: AccessDeniedException");
        let detail = json_of(&codedeploy(&findings, &verdict));
        assert_eq!(
            (&detail["status"], &detail["cause"], &detail["fault"]),
            (&json!("Failed"), &json!("NotPermitted"), &json!("Preflight"))
        );
        assert_eq!(detail["targets"], json!([]));
        assert!(
            detail.get("lifecycleEvent").is_none() && detail.get("deployed").is_none(),
            "{detail}"
        );
    }

    #[test]
    fn each_check_and_judgement_goes_under_its_own_target() {
        let findings = Findings {
            selections: vec![
                selection("my-api", Source::Entry(0)),
                selection("worker", Source::Defaults),
                Selection {
                    skipped: true,
                    ..selection("legacy", Source::Entry(2))
                },
            ],
            results: vec![
                result("worker:7", 200, None, vec![Outcome::Error, Outcome::Pass]),
                result("my-api:2 /healthcheck", 200, None, vec![Outcome::Pass]),
                result("my-api:2 /ready", 200, None, vec![Outcome::Pass]),
                result("stranger:1", 200, None, vec![Outcome::Pass]),
            ],
            judgements: vec![judgement("my-api:live", Ruling::Fail)],
            ..Findings::default()
        };
        let verdict = Verdict::failed(Cause::ReleaseFailed, "my-api:live failed on its real traffic");
        let detail = json_of(&codedeploy(&findings, &verdict));
        let targets = detail["targets"].as_array().expect("targets");
        let names: Vec<&str> = targets
            .iter()
            .map(|t| t["target"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["my-api", "worker", "legacy", "stranger:1"]);
        let checks = |i: usize| -> Vec<&str> {
            targets[i]["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .map(|c| c["check"].as_str().unwrap_or_default())
                .collect()
        };
        assert_eq!(checks(0), ["my-api:2 /healthcheck", "my-api:2 /ready"]);
        assert_eq!(checks(1), ["worker:7"]);
        assert_eq!(targets[1]["checks"][0]["attempts"], json!(["error", "pass"]));
        assert_eq!(targets[2]["skipped"], true);
        assert!(targets[0].get("skipped").is_none(), "only a skipped target says so");
        assert_eq!(targets[3].get("source"), None, "no entry chose it");
        assert_eq!(targets[0]["judged"]["ruling"], "Fail");
        assert_eq!(targets[0]["judged"]["target"], "my-api:live");
        assert_eq!(targets[0]["judged"]["new"]["requests"], 300);
        assert_eq!(targets[0]["judged"]["old"]["errors"], 0);
    }

    #[test]
    fn an_ecs_answer_names_the_service_deployment_stage_and_green() {
        let findings = Findings {
            subject: Some("http://127.0.0.1:8080/".into()),
            selections: vec![selection("http://127.0.0.1:8080/", Source::HookDetails)],
            judgements: vec![judgement("checkout-1", Ruling::Fail)],
            ..Findings::default()
        };
        let event = VerdictEvent::of_findings(
            "ecs_hook",
            Deployment::Ecs {
                service_deployment_arn: "arn:aws:ecs:us-east-1:1:service-deployment/shop/checkout/x",
                service: Some("checkout"),
                revision: "arn:aws:ecs:us-east-1:1:service-revision/shop/checkout/2",
                stage: "PRODUCTION_TRAFFIC_SHIFT",
                green: findings.subject.as_deref(),
            },
            &"FAILED",
            Cause::ReleaseFailed,
            "checkout-1 failed on its real traffic",
            &findings,
        );
        let detail = json_of(&event);
        assert_eq!(detail["status"], "FAILED");
        assert_eq!(detail["stage"], "PRODUCTION_TRAFFIC_SHIFT");
        assert_eq!(
            detail["serviceDeploymentArn"],
            "arn:aws:ecs:us-east-1:1:service-deployment/shop/checkout/x"
        );
        assert_eq!(detail["green"], "http://127.0.0.1:8080/");
        assert_eq!(detail["targets"][0]["source"], "hookDetails.preflight");
        assert_eq!(
            detail["targets"][0]["judged"]["ruling"], "Fail",
            "the one target's evidence"
        );
        assert!(detail.get("deploymentId").is_none(), "{detail}");
    }

    #[test]
    fn the_live_judge_s_event_is_at_allow_traffic_with_the_evidence() {
        let judgements = [judgement("my-api:live", Ruling::Fail)];
        let verdict = crate::checks::canary::verdict_with(None, &judgements);
        let event = VerdictEvent::during_allow_traffic("live_judge", "d-2", None, &verdict, &judgements);
        let detail = json_of(&event);
        assert_eq!(
            (&detail["lifecycleEvent"], &detail["status"], &detail["cause"]),
            (&json!("AllowTraffic"), &json!("Failed"), &json!("ReleaseFailed"))
        );
        assert_eq!(detail["targets"][0]["target"], "my-api:live");
        assert_eq!(detail["targets"][0]["checks"], json!([]));
        assert_eq!(detail["targets"][0]["judged"]["ruling"], "Fail");
    }

    #[test]
    fn an_event_too_large_for_eventbridge_leaves_its_checks_out_and_says_how_many() {
        let long = "x".repeat(200);
        let results: Vec<CheckResult> = (0..2000)
            .map(|n| result(&format!("my-api:2 /path/{n}"), 500, Some(&long), vec![Outcome::Failure]))
            .collect();
        let findings = Findings {
            selections: vec![selection("my-api", Source::Entry(0))],
            results,
            ..Findings::default()
        };
        let verdict = Verdict::from_results(&findings.results, 0);
        let event = codedeploy(&findings, &verdict);
        assert!(serde_json::to_string(&event).unwrap().len() > MAX_DETAIL_BYTES);
        let detail = event.detail();
        assert!(detail.len() <= MAX_DETAIL_BYTES, "{}", detail.len());
        let detail: Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(detail["checksLeftOut"], 2000);
        assert_eq!(detail["targets"][0]["checks"], json!([]));
        assert_eq!(
            (&detail["status"], &detail["cause"]),
            (&json!("Failed"), &json!("ReleaseFailed"))
        );
    }

    fn accepted() -> aws_smithy_mocks::Rule {
        mock!(EventBridge::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(PutEventsResultEntry::builder().event_id("e-1").build())
                .build()
        })
    }

    fn clients(eventbridge: Option<&aws_smithy_mocks::Rule>) -> AwsClients {
        let clients = AwsClients::from_clients(canned::codedeploy(&[]), canned::lambda(&[]), canned::elb(&[]));
        match eventbridge {
            Some(rule) => clients.with_eventbridge(canned::eventbridge(&[rule])),
            None => clients,
        }
    }

    #[tokio::test]
    async fn the_event_goes_to_the_named_bus_with_its_source_detail_type_and_detail() {
        let sent = mock!(EventBridge::put_events)
            .match_requests(|request| {
                let entry = &request.entries()[0];
                let detail: Value = serde_json::from_str(entry.detail().unwrap_or_default()).unwrap_or_default();
                entry.event_bus_name() == Some("releases")
                    && entry.source() == Some("preflight")
                    && entry.detail_type() == Some("Preflight Verdict")
                    && detail["deploymentId"] == "d-1"
                    && detail["cause"] == "Misconfigured"
            })
            .then_output(|| {
                PutEventsOutput::builder()
                    .entries(PutEventsResultEntry::builder().event_id("e-1").build())
                    .build()
            });
        let findings = Findings::default();
        let verdict = Verdict::failed(Cause::Misconfigured, "invalid configuration");
        let settings = EventSettings {
            enabled: true,
            bus: "releases".into(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let announced = announce(
            &clients(Some(&sent)),
            &settings,
            &codedeploy(&findings, &verdict),
            deadline,
            "x",
        )
        .await;
        assert_eq!(announced, Ok(()));
        assert_eq!(sent.num_calls(), 1);
    }

    #[tokio::test]
    async fn with_events_off_nothing_is_sent_and_no_client_is_built() {
        let findings = Findings::default();
        let verdict = Verdict::failed(Cause::Misconfigured, "invalid configuration");
        let event = codedeploy(&findings, &verdict);
        let deadline = Instant::now() + Duration::from_secs(5);
        let rule = accepted();
        let canned = clients(Some(&rule));
        assert_eq!(
            announce(&canned, &EventSettings::off(), &event, deadline, "x").await,
            Ok(())
        );
        assert_eq!(rule.num_calls(), 0);
        let unbuilt = clients(None);
        assert_eq!(
            announce(&unbuilt, &EventSettings::off(), &event, deadline, "x").await,
            Ok(())
        );
        assert!(
            !unbuilt.eventbridge_built(),
            "no EventBridge client when events are off"
        );
    }

    #[tokio::test]
    async fn a_silent_eventbridge_is_given_up_before_the_lambda_deadline() {
        // A port that takes the connection and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let config = aws_sdk_eventbridge::Config::builder()
            .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
            .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .endpoint_url(format!("http://{}", silent.local_addr().expect("an address")))
            .build();
        let clients = clients(None).with_eventbridge(EventBridge::from_conf(config));
        let findings = Findings::default();
        let verdict = Verdict::failed(Cause::Misconfigured, "invalid configuration");
        let event = codedeploy(&findings, &verdict);
        let started = Instant::now();
        let deadline = started + Duration::from_millis(700);
        // Bounded here too, so that an unbounded send fails the test instead of hanging it.
        let on = EventSettings::default();
        let sending = announce(&clients, &on, &event, deadline, "x");
        let error = tokio::time::timeout(Duration::from_secs(5), sending)
            .await
            .expect("announce gave up by itself")
            .unwrap_err();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(450) && waited < Duration::from_millis(700),
            "given up {} ms in, the answer's margin before the deadline",
            waited.as_millis()
        );
        assert_eq!(error.failure, crate::plumbing::aws::error::Failure::Timeout);
        assert!(error.to_string().contains("before the Lambda deadline"), "{error}");
    }
}
