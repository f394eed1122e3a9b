//! The rehearsal's Lambda canary stopped while its alias is split: a `Canary10Percent30Minutes`
//! release whose new version fails one invocation in six. CodeDeploy calls no hook during the
//! split; preflight's live judge, on its once-a-minute schedule, judges the split so far and
//! publishes `CanaryFailing`; the deployment group's alarm on it goes to `ALARM`, and CodeDeploy
//! stops the deployment and rolls the alias back.
//!
//! The split runs in simulated time, minute by minute, an hour in the past (so that every minute
//! can settle without waiting): each minute the stand-in really invokes the alias with that
//! minute's production traffic, stamped into the minute; then the schedule fires, with its time
//! in the payload. The stand-in's alarm changes state at the end of the minute whose point
//! breached, and its CodeDeploy stops the deployment then: the time from the new version's first
//! errors to the rollback is measured on that clock.

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Value, json};
use stand_in::kit::{lambda_canary_appspec, minutes_ago};
use stand_in::{DeploymentSpec, FunctionVersion, Lifecycle, MetricAlarm, Reply, Rig, RuntimeOutcome};

use crate::rehearsed::{Rehearsed, clock, no_report, run_hook};

/// `my-api` checked before traffic moves and judged on its real traffic, during the split too.
const CHECKED_AND_JUDGED: &str = "targets:
  - function: my-api
    checks:
      - path: /healthcheck
    canary: {}
";

const MINUTE: Duration = Duration::from_secs(60);
/// The production invocations of each minute of the split.
const PER_MINUTE: u32 = 300;
/// The split's length: `Canary10Percent30Minutes`.
const SPLIT_MINUTES: u32 = 30;
/// The new version fails every Nth invocation.
const FAILS_EVERY: u32 = 6;
/// When in its minute the schedule fires (EventBridge keeps its own second).
const SCHEDULE_SECOND: Duration = Duration::from_secs(20);
/// The Lambda timeout the live judge runs under in the rehearsal.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the measurement found: when the first errors came, and when CodeDeploy stopped the
/// deployment.
pub struct Stopped {
    pub first_errors: SystemTime,
    pub stopped: Option<SystemTime>,
}

impl Stopped {
    /// Minutes from the first errors to the rollback.
    pub fn minutes(&self) -> Option<u64> {
        let stopped = self.stopped?;
        Some(stopped.duration_since(self.first_errors).ok()?.as_secs() / 60)
    }
}

/// `05:07:20`, UTC.
fn clock_seconds(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    format!("{}:{:02}", clock(time), seconds % 60)
}

/// The live judge's story of one run: each function's ruling and rule, and what it published.
fn run_story(at: SystemTime, summary: &Value) -> Vec<String> {
    let judged: Vec<Value> = serde_json::from_str(summary["judged"].as_str().unwrap_or("[]")).unwrap_or_default();
    let published = summary["published"].as_str().unwrap_or("nothing");
    judged
        .iter()
        .map(|judgement| {
            format!(
                "  {} live judge: {} {}: {} → {published}",
                clock_seconds(at),
                judgement["target"].as_str().unwrap_or_default(),
                judgement["ruling"].as_str().unwrap_or_default(),
                judgement["rule"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

/// The release, told; and the measurement.
pub async fn lambda_canary_stopped_mid_split(bootstrap: &Path) -> std::io::Result<(Rehearsed, Stopped)> {
    let (old, new) = ("2", "3");
    let Rig { aws, hook } = Rig::start(bootstrap, &[("PREFLIGHT_CHECKS", CHECKED_AND_JUDGED)]).await?;
    aws.add_function("my-api", old, FunctionVersion::replying(Reply::Status(200)));
    aws.add_function(
        "my-api",
        new,
        FunctionVersion::failing_every(FAILS_EVERY, Reply::Status(200)),
    );
    aws.add_alias("my-api", "live", old, None);
    let alarm = MetricAlarm::canary_failing("my-api");
    let alarm_name = alarm.name.clone();
    aws.put_metric_alarm(alarm);
    let appspec = lambda_canary_appspec(&[("my-api", old, new)]);
    let deployment = aws.create_deployment(DeploymentSpec::sam_lambda(appspec, &[&alarm_name]));

    let mut lines = vec![
        format!(
            "CodeDeploy: deployment {} of my-app/my-app-live (Lambda, Canary10Percent30Minutes): my-api alias live, \
             version {old} → {new}; hooks BeforeAllowTraffic and AfterAllowTraffic; alarms: {alarm_name} \
             (preflight/CanaryFailing, FunctionName my-api, Maximum >= 1 over 1 minute)",
            deployment.id
        ),
        format!(
            "  (version {new} fails every {FAILS_EVERY}th invocation: its first answer, the check's, is a 200; \
             production: {PER_MINUTE} invocations a minute)"
        ),
    ];
    run_hook(&aws, &hook, &deployment, "BeforeAllowTraffic", 1, &mut lines).await;
    let before = aws.accepted_status(&deployment);
    if before.as_deref() != Some("Succeeded") {
        lines.push(format!(
            "CodeDeploy: deployment failed before any traffic moved, alias live stays on version {old}"
        ));
        return Ok((
            rehearsed(lines, before, hook.lines()),
            Stopped {
                first_errors: SystemTime::now(),
                stopped: None,
            },
        ));
    }

    // A whole minute (as the stand-in's `minutes_ago` gives) three quarters of an hour back.
    let split_start = minutes_ago(45);
    aws.set_lifecycle(&deployment, Lifecycle::allowing_traffic(split_start).target_weight(0.1));
    aws.set_alias_routing("my-api", "live", old, Some((new, 0.1)));
    lines.push(format!(
        "CodeDeploy: AllowTraffic from {} UTC: alias live sends 10% to version {new} for {SPLIT_MINUTES} minutes; \
         no hook until it ends",
        clock(split_start)
    ));
    let mut stopped = None;
    let mut errors_on_new = 0;
    let mut runs = 0;
    for minute in 0..SPLIT_MINUTES {
        let from = split_start + MINUTE * minute;
        let served = aws
            .simulate_alias_traffic("my-api", "live", PER_MINUTE, from, from + MINUTE)
            .await;
        errors_on_new += served.version(new).errors;
        let at = from + MINUTE + SCHEDULE_SECOND;
        let time = DateTime::from(at).fmt(Format::DateTime).unwrap_or_default();
        let outcome = aws
            .deliver_payload(json!({"preflight": "judge-live", "time": time}), RUN_TIMEOUT)
            .await
            .outcome;
        runs += 1;
        if !matches!(outcome, RuntimeOutcome::Response(_)) {
            lines.push(format!("  the live judge did not answer: {outcome:?}"));
            break;
        }
        let summaries = hook.wait_for_logged("live judge summary", runs).await;
        if let Some(summary) = summaries.get(runs - 1) {
            lines.extend(run_story(at, summary));
        }
        let state = aws.deployment_state(&deployment);
        if let Some(state) = state.filter(|state| state.status == "Stopped") {
            if let Some(alarm) = aws.alarm_state(&alarm_name) {
                lines.push(format!(
                    "CloudWatch: alarm {alarm_name} → ALARM at {} UTC (its minute's point was 1)",
                    alarm.since.map(clock).unwrap_or_default()
                ));
            }
            let code = state.error.map(|error| error.code).unwrap_or_default();
            lines.push(format!(
                "CodeDeploy: deployment stopped ({code}) at {} UTC, {} of the {SPLIT_MINUTES} split minutes in, and \
                 rolled back: alias live → version {old}; AfterAllowTraffic never runs",
                state.complete_time.map(clock).unwrap_or_default(),
                minute + 1
            ));
            stopped = state.complete_time;
            lines.extend(event_story(&aws));
            break;
        }
    }
    let measured = Stopped {
        first_errors: split_start,
        stopped,
    };
    match measured.minutes() {
        Some(minutes) => lines.push(format!(
            "  {minutes} min from version {new}'s first errors ({} UTC, {errors_on_new} function errors by then) to \
             the rollback: the minutes until it had min_requests, settle_minutes (3), the next run, the alarm's \
             period; real CodeDeploy adds its alarm polling",
            clock(split_start)
        )),
        None => lines.push(match aws.deployment_state(&deployment) {
            Some(state) => format!("CodeDeploy: the deployment is still {} after the split", state.status),
            None => no_report(&aws.deliver(&deployment, RUN_TIMEOUT).await),
        }),
    }
    let reported = before.map(|before| {
        let after = aws
            .deployment_state(&deployment)
            .map_or("unknown".to_string(), |state| state.status);
        format!("{before}, then {after}")
    });
    Ok((rehearsed(lines, reported, hook.lines()), measured))
}

/// The verdict event the live judge sent, as a team's rule receives it: its envelope and its
/// detail, the targets' evidence summed up (the whole of it is in the detail's `targets`).
fn event_story(aws: &stand_in::LocalAws) -> Vec<String> {
    let Some(event) = aws.eventbridge_events().into_iter().last() else {
        return vec!["EventBridge: no verdict event was sent".to_string()];
    };
    let mut detail = event.detail.clone();
    if let Some(targets) = detail.get_mut("targets") {
        let count = targets.as_array().map_or(0, Vec::len);
        *targets = Value::String(format!("[{count} target(s), each with its judged evidence]"));
    }
    vec![
        format!(
            "EventBridge: {} on the {} bus, source {}, the event a rule sends on to SNS and chat:",
            event.detail_type, event.bus, event.source
        ),
        format!("  {detail}"),
    ]
}

fn rehearsed(lines: Vec<String>, reported: Option<String>, logs: Vec<String>) -> Rehearsed {
    Rehearsed {
        title: "Lambda canary failing 1 request in 6: stopped mid-split by the live judge and its alarm".into(),
        lines,
        expected: "Succeeded, then Stopped",
        reported,
        logs,
    }
}
