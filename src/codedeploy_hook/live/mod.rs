//! The live judge: while a CodeDeploy Lambda deployment is in its `AllowTraffic` event (the alias
//! splitting traffic between the two versions), each function whose entry has `canary` is judged
//! on the split's traffic so far, once a minute (the template's EventBridge schedule), and a
//! per-function metric, `CanaryFailing` by `FunctionName`, says whether its canary is failing. An
//! alarm on it in the deployment group's alarms (SAM: `DeploymentPreference.Alarms`) makes
//! CodeDeploy stop and roll back the deployment while the split still runs: CodeDeploy offers a
//! Lambda deployment no hook during the split, and an alarm of its own cannot tell the new version
//! from the old one, whose numbers change with every deployment.
//!
//! A run decides nothing by itself and reports nothing to CodeDeploy: a `Fail` publishes 1, a
//! `Pass` or an `Inconclusive` 0, and `AfterAllowTraffic` still judges the whole split. When no
//! deployment is in progress a run is one `ListDeployments` call; when no entry has `canary`, none.

pub mod schedule;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_codedeploy::types::ComputePlatform;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;
use tracing::Level;

use super::Hook;
use super::appspec::{Deployed, parse_appspec};
use super::canary::{nothing_to_compare, synthetic_dimensions, version_pair};
use super::deployment::{AppSpecText, facts_of};
use super::lifecycle::{ALLOW_TRAFFIC, lifecycle_of};
use crate::checks::Check;
use crate::checks::announce::{EventSettings, VerdictEvent, announce};
use crate::checks::canary::settings::TrafficSettings;
use crate::checks::canary::traffic::{BURST_SPAN, RECHECK, Sent, allowance, send_paced, unread_minutes};
use crate::checks::canary::window::floor_minute;
use crate::checks::canary::{Clock, Ruling, SYNTHETIC_REQUESTS, TargetJudgement, judge_split_so_far, verdict_with};
use crate::checks::config::Config;
use crate::checks::deciding::{Checking, Stop};
use crate::checks::definitions::Definitions;
use crate::checks::skip::description_asks_to_skip;
use crate::checks::verdict::Cause;
use crate::checks::{alias_traffic, canary_for, function_subject};
use crate::plumbing::aws::cloudwatch::{Datum, get_metric_data, put_metric_data};
use crate::plumbing::aws::codedeploy::{deployments_in_progress, get_deployment};
use crate::plumbing::aws::{AwsClients, AwsError};
use crate::plumbing::deadline::{Stopped, keep_back, run_guarded};
use crate::plumbing::metrics::{NAMESPACE, Record, Unit};
use schedule::{ScheduleError, parse_schedule};

/// The per-function metric a team's alarm watches: 1 while the canary is failing, else 0.
pub const CANARY_FAILING: &str = "CanaryFailing";
/// Its one dimension: a SAM template knows its function's name (`!Ref MyFunction`).
pub const FUNCTION_NAME: &str = "FunctionName";
/// The `Flow` dimension of the live judge's own metrics.
pub(crate) const FLOW: &str = "live_judge";

/// A run never outlasts this, whatever the function's timeout: the next one starts a minute
/// after it began.
const RUN_BUDGET: Duration = Duration::from_secs(50);
/// Time kept back from the run's deadline so that the metric still goes out after a slow look.
const PUBLISH_MARGIN: Duration = Duration::from_secs(5);
/// The deployments one run reads at most; an account runs a handful at once.
const MAX_DEPLOYMENTS: usize = 25;
/// A schedule time this far ahead of the clock is not believed.
const CLOCK_SKEW: Duration = Duration::from_secs(5);
/// A run whose schedule time is this far behind the clock is late: it sends no traffic.
const LATE_AFTER: Duration = Duration::from_secs(120);

/// Why a live judge invocation itself failed: only a payload that cannot be read. Everything
/// else (AWS errors, bad configuration) is logged in the run's summary, and the next run tries
/// again a minute later: Lambda's own retry would only double the calls.
#[derive(Debug)]
pub struct LiveJudgeError(ScheduleError);

impl std::fmt::Display for LiveJudgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<LiveJudgeError> for Diagnostic {
    fn from(error: LiveJudgeError) -> Diagnostic {
        Diagnostic {
            error_type: "InvalidLiveJudgePayload".into(),
            error_message: error.to_string(),
        }
    }
}

/// One function judged in one run.
#[derive(Debug, Clone)]
pub(crate) struct LiveJudgement {
    pub deployment_id: String,
    /// `APPLICATION/DEPLOYMENT_GROUP`.
    pub deployment_group: String,
    pub function: String,
    pub judgement: TargetJudgement,
    /// The synthetic traffic its entry asks for, when it does.
    pub traffic: Option<TrafficPlan>,
    /// When its split began.
    pub split_start: SystemTime,
}

/// Synthetic traffic to send a function through its alias after this run's look.
#[derive(Debug, Clone)]
pub(crate) struct TrafficPlan {
    pub settings: TrafficSettings,
    /// The entry's checks that traffic may send, addressed to the alias.
    pub requests: Vec<Check>,
    /// At most this many were sent earlier in the split: what CloudWatch counted, and the rate
    /// for every minute it could not count yet.
    pub already: u64,
}

/// What a run's traffic sent to one function.
#[derive(Debug, Clone)]
pub(crate) struct TrafficSent {
    pub target: String,
    pub sent: Sent,
}

impl LiveJudgement {
    fn failing(&self) -> bool {
        self.judgement.judged.ruling == Ruling::Fail
    }
}

/// What one run saw and did.
#[derive(Debug, Default)]
pub(crate) struct LiveRun {
    /// How many deployments were in progress; `None` when none was listed.
    pub in_progress: Option<usize>,
    pub judged: Vec<LiveJudgement>,
    /// Deployments passed over, and why (not Lambda, not splitting, skipped).
    pub passed_over: Vec<String>,
    /// Why nothing was listed at all (no entry has `canary`, an emergency skip).
    pub idle: Option<String>,
    pub errors: Vec<String>,
    /// Whether the `CanaryFailing` values went out.
    pub published: bool,
    /// The synthetic traffic sent after the look.
    pub traffic: Vec<TrafficSent>,
}

/// The answer of a run, for whoever invoked it by hand.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Answered<'a> {
    in_progress: usize,
    judged: Vec<AnsweredJudgement<'a>>,
    /// Synthetic requests sent this run, by target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    synthetic_sent: Vec<(&'a str, u32)>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    errors: &'a [String],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AnsweredJudgement<'a> {
    deployment_id: &'a str,
    function: &'a str,
    ruling: Ruling,
    rule: &'a str,
}

impl Hook {
    /// Serves one run of the live judge's schedule: `payload` is the schedule's, `deadline` the
    /// Lambda deadline.
    pub async fn judge_live(
        self: Arc<Self>,
        clients: Arc<AwsClients>,
        payload: &Value,
        deadline: Instant,
    ) -> Result<Value, LiveJudgeError> {
        let started = Instant::now();
        let schedule = parse_schedule(payload).map_err(|error| {
            tracing::error!(reason = %error, "live judge summary");
            Record::new(FLOW).metric("LiveJudgeRuns", Unit::Count, 1.0).emit();
            LiveJudgeError(error)
        })?;
        let now = SystemTime::now();
        let time = schedule.time.filter(|time| *time <= now + CLOCK_SKEW).unwrap_or(now);
        // A run Lambda delivers late (held back, retried, replayed) judges the minutes of its
        // schedule time, but sends no traffic: runs on time may be sending now.
        let late = now.duration_since(time).unwrap_or_default() > LATE_AFTER;
        let deadline = keep_back(deadline, self.setup.deadline_margin()).min(started + RUN_BUDGET);
        let checking = Checking::new(Arc::clone(&self.setup), Arc::clone(&clients), deadline);
        let clock = Clock::at(time);
        let events = self.setup.events().clone();
        let judging = async move { judge_running_canaries(&checking, &clock, &events, late).await };
        let run = match run_guarded(judging, deadline).await {
            Ok(run) => run,
            Err(Stopped::Panicked(why)) => LiveRun {
                errors: vec![format!("internal error while judging: {why}")],
                ..LiveRun::default()
            },
            Err(Stopped::OutOfTime) => LiveRun {
                errors: vec![format!(
                    "the run did not end within {} s: CodeDeploy or CloudWatch answered too slowly",
                    RUN_BUDGET.as_secs()
                )],
                ..LiveRun::default()
            },
        };
        log_summary(&run, time, started.elapsed());
        run_record(&run).emit();
        for judged in &run.judged {
            judged.judgement.record(FLOW).emit();
        }
        let judged = run
            .judged
            .iter()
            .map(|judged| AnsweredJudgement {
                deployment_id: &judged.deployment_id,
                function: &judged.function,
                ruling: judged.judgement.judged.ruling,
                rule: &judged.judgement.judged.rule,
            })
            .collect();
        Ok(serde_json::to_value(Answered {
            in_progress: run.in_progress.unwrap_or(0),
            judged,
            synthetic_sent: run
                .traffic
                .iter()
                .map(|traffic| (traffic.target.as_str(), traffic.sent.total))
                .collect(),
            errors: &run.errors,
        })
        .unwrap_or(Value::Null))
    }
}

/// Lists the deployments in progress, judges each Lambda canary in its split, and publishes
/// `CanaryFailing` for each function judged. An error with one deployment leaves the others
/// judged.
pub(crate) async fn judge_running_canaries(
    checking: &Checking,
    clock: &Clock,
    events: &EventSettings,
    late: bool,
) -> LiveRun {
    let mut run = LiveRun::default();
    // The schedule's time, which the published points are stamped with.
    let scheduled = clock.now();
    let config = match checking.config() {
        Ok(config) => config,
        // An emergency skip stops judging; a bad configuration is this run's error too (every
        // hook's verdict fails on it already).
        Err(Stop(verdict)) if verdict.cause == Cause::Skipped => {
            run.idle = Some(verdict.reason);
            return run;
        }
        Err(Stop(verdict)) => {
            run.errors.push(verdict.reason);
            return run;
        }
    };
    if !config.definitions.as_ref().is_some_and(Definitions::judge_traffic) {
        run.idle = Some("no entry of PREFLIGHT_CHECKS has canary: nothing to judge".into());
        return run;
    }
    let clients = checking.clients();
    let codedeploy = clients.codedeploy().await;
    let ids = match deployments_in_progress(codedeploy).await {
        Ok(ids) => ids,
        Err(error) => {
            run.errors.push(error.to_string());
            return run;
        }
    };
    run.in_progress = Some(ids.len());
    if ids.len() > MAX_DEPLOYMENTS {
        run.errors.push(format!(
            "{} deployments are in progress; this run judged the first {MAX_DEPLOYMENTS}",
            ids.len()
        ));
    }
    let look_until = checking
        .deadline()
        .checked_sub(PUBLISH_MARGIN)
        .unwrap_or(checking.deadline());
    for id in ids.iter().take(MAX_DEPLOYMENTS) {
        // Each deployment within the run's time, so that what was judged is still published.
        let judging = tokio::time::timeout_at(look_until, judge_deployment(checking, config, id, clock, look_until));
        match judging.await {
            Ok(Ok(Judging::Judged(judged))) => run.judged.extend(judged),
            Ok(Ok(Judging::PassedOver(why))) => run.passed_over.push(format!("{id}: {why}")),
            Ok(Err(error)) => run.errors.push(format!("{id}: {error}")),
            Err(_) => run.errors.push(format!(
                "{id}: not judged: CodeDeploy or CloudWatch answered too slowly for this run"
            )),
        }
    }
    if !run.judged.is_empty() {
        let data = canary_failing_data(&run.judged, scheduled);
        match put_metric_data(clients.cloudwatch().await, NAMESPACE, &data).await {
            Ok(()) => run.published = true,
            Err(error) => run.errors.push(error.to_string()),
        }
    }
    // The metric is out, which is what stops the deployment; now the team is told why, once per
    // deployment that failed, the first time it failed: a canary still failing a minute later
    // (CodeDeploy has not stopped it yet) was announced by the run that first failed it. A failure
    // to send is logged and counted, and changes nothing.
    for failing in failing_deployments(&run.judged) {
        if events.enabled && !announced_before(clients, &failing, scheduled).await {
            let verdict = verdict_with(None, &failing.judgements);
            let event = VerdictEvent::during_allow_traffic(
                FLOW,
                &failing.deployment_id,
                Some(&failing.deployment_group),
                &verdict,
                &failing.judgements,
            );
            let _ = announce(clients, events, &event, look_until, FLOW).await;
        }
    }
    // Then the traffic for quiet canaries, in the run's time left.
    if late {
        if run.judged.iter().any(|judged| judged.traffic.is_some()) {
            run.passed_over
                .push("synthetic traffic: none, this run came late (another may be sending now)".into());
        }
    } else {
        send_traffic(checking, config, clock, look_until, &mut run).await;
    }
    run
}

/// A deployment with a function judged `Fail`.
struct Failing {
    deployment_id: String,
    deployment_group: String,
    /// Every judgement of its functions.
    judgements: Vec<TargetJudgement>,
    /// Its failing functions, and when their split began.
    functions: Vec<(String, SystemTime)>,
}

/// Each deployment with a function judged `Fail`.
fn failing_deployments(judged: &[LiveJudgement]) -> Vec<Failing> {
    let mut failing: Vec<Failing> = Vec::new();
    for judgement in judged.iter().filter(|judgement| judgement.failing()) {
        if failing
            .iter()
            .all(|known| known.deployment_id != judgement.deployment_id)
        {
            let of_it = || {
                judged
                    .iter()
                    .filter(|other| other.deployment_id == judgement.deployment_id)
            };
            failing.push(Failing {
                deployment_id: judgement.deployment_id.clone(),
                deployment_group: judgement.deployment_group.clone(),
                judgements: of_it().map(|other| other.judgement.clone()).collect(),
                functions: of_it()
                    .filter(|other| other.failing())
                    .map(|other| (other.function.clone(), other.split_start))
                    .collect(),
            });
        }
    }
    failing
}

/// Whether an earlier run of this split already published `CanaryFailing` = 1 for one of the
/// deployment's failing functions, and so announced it. When CloudWatch cannot say, it is
/// announced again: a second event beats none.
async fn announced_before(clients: &AwsClients, failing: &Failing, scheduled: SystemTime) -> bool {
    let until = floor_minute(scheduled);
    let Some(since) = failing.functions.iter().map(|(_, start)| floor_minute(*start)).min() else {
        return false;
    };
    if until <= since {
        return false;
    }
    let period = i32::try_from(until.duration_since(since).unwrap_or_default().as_secs()).unwrap_or(i32::MAX);
    let queries = failing
        .functions
        .iter()
        .enumerate()
        .map(|(index, (function, _))| {
            let metric = aws_sdk_cloudwatch::types::Metric::builder()
                .namespace(NAMESPACE)
                .metric_name(CANARY_FAILING)
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name(FUNCTION_NAME)
                        .value(function)
                        .build(),
                )
                .build();
            aws_sdk_cloudwatch::types::MetricDataQuery::builder()
                .id(format!("failing{index}"))
                .metric_stat(
                    aws_sdk_cloudwatch::types::MetricStat::builder()
                        .metric(metric)
                        .period(period.max(60))
                        .stat("Maximum")
                        .build(),
                )
                .build()
        })
        .collect();
    match get_metric_data(clients.cloudwatch().await, queries, since, until).await {
        Ok(points) => points.values().flatten().any(|(_, value)| *value >= 1.0),
        Err(_) => false,
    }
}

/// Sends each judged function whose entry asks for `traffic` (and that is not failing: its
/// evidence is in) its burst through the alias, then publishes `SyntheticRequests` by minute.
async fn send_traffic(checking: &Checking, config: &Config, clock: &Clock, until: Instant, run: &mut LiveRun) {
    let senders: Vec<(LiveJudgement, TrafficPlan)> = run
        .judged
        .iter()
        .filter(|judged| !judged.failing())
        .filter_map(|judged| Some((judged.clone(), judged.traffic.clone()?)))
        .filter(|(_, plan)| !plan.requests.is_empty() && allowance(&plan.settings, plan.already) > 0)
        .collect();
    if senders.is_empty() {
        return;
    }
    let probe = match checking.probe(config).await {
        Ok(probe) => probe,
        Err(Stop(verdict)) => {
            run.errors.push(verdict.reason);
            return;
        }
    };
    let codedeploy = checking.clients().codedeploy().await;
    let span = BURST_SPAN / senders.len() as u32;
    let cloudwatch = checking.clients().cloudwatch().await;
    for (judged, plan) in senders {
        let count = allowance(&plan.settings, plan.already);
        // Counted before it is sent, so that the cap holds even for a burst cut short or a run
        // that ends before it could count (a burst the window closes early counts what it planned).
        let counted = Datum {
            metric: SYNTHETIC_REQUESTS,
            dimensions: synthetic_dimensions(&judged.function),
            value: f64::from(count),
            timestamp: floor_minute(clock.now()),
        };
        if let Err(error) = put_metric_data(cloudwatch, NAMESPACE, &[counted]).await {
            run.errors.push(format!(
                "no synthetic traffic sent to {}: it could not be counted first: {error}",
                judged.judgement.target
            ));
            continue;
        }
        let deployment_id = judged.deployment_id.as_str();
        let still_splitting = || async move {
            let targets = crate::plumbing::aws::codedeploy::deployment_targets(codedeploy, deployment_id)
                .await
                .map_err(|error| error.to_string())?;
            Ok(lifecycle_of(&targets).caller.as_deref() == Some(ALLOW_TRAFFIC))
        };
        let sent = send_paced(
            &probe,
            &plan.requests,
            count,
            plan.settings.per_minute,
            span,
            until,
            RECHECK,
            still_splitting,
        )
        .await;
        run.traffic.push(TrafficSent {
            target: judged.judgement.target.clone(),
            sent,
        });
    }
}

/// One `CanaryFailing` value per function judged (a function in two deployments at once fails if
/// either fails), stamped with the schedule's time.
pub(crate) fn canary_failing_data(judged: &[LiveJudgement], at: SystemTime) -> Vec<Datum> {
    let mut data: Vec<Datum> = Vec::new();
    for judgement in judged {
        let value = if judgement.failing() { 1.0 } else { 0.0 };
        match data
            .iter_mut()
            .find(|datum| datum.dimensions.iter().any(|(_, name)| *name == judgement.function))
        {
            Some(datum) => datum.value = datum.value.max(value),
            None => data.push(Datum {
                metric: CANARY_FAILING,
                dimensions: vec![(FUNCTION_NAME, judgement.function.clone())],
                value,
                timestamp: at,
            }),
        }
    }
    data
}

/// What became of one deployment in progress.
enum Judging {
    Judged(Vec<LiveJudgement>),
    PassedOver(String),
}

/// Judges one deployment's functions when it is a Lambda deployment in its `AllowTraffic`
/// event: GetDeployment, its targets' lifecycle events, its AppSpec, then a look per function
/// whose entry has `canary`.
async fn judge_deployment(
    checking: &Checking,
    config: &Config,
    deployment_id: &str,
    clock: &Clock,
    look_until: Instant,
) -> Result<Judging, String> {
    let clients = checking.clients();
    let codedeploy = clients.codedeploy().await;
    let info = get_deployment(codedeploy, deployment_id)
        .await
        .map_err(|error| error.to_string())?;
    if info.compute_platform() != Some(&ComputePlatform::Lambda) {
        return Ok(Judging::PassedOver("not a Lambda deployment".into()));
    }
    if description_asks_to_skip(info.description().unwrap_or_default()) {
        return Ok(Judging::PassedOver("its description asks to skip preflight".into()));
    }
    let targets = crate::plumbing::aws::codedeploy::deployment_targets(codedeploy, deployment_id)
        .await
        .map_err(|error: AwsError| error.to_string())?;
    let lifecycle = lifecycle_of(&targets);
    let (Some(ALLOW_TRAFFIC), Some(split_start)) = (lifecycle.caller.as_deref(), lifecycle.allow_traffic_started)
    else {
        return Ok(Judging::PassedOver(format!(
            "not moving traffic (its event in progress: {})",
            lifecycle.caller.as_deref().unwrap_or("none")
        )));
    };
    let facts = facts_of(codedeploy, deployment_id, &info)
        .await
        .map_err(|error| error.to_string())?;
    let group = format!("{}/{}", facts.application, facts.group);
    let functions = match &facts.appspec {
        AppSpecText::Content(text) => match parse_appspec(text).map_err(|error| error.to_string())? {
            Deployed::Lambda(functions) => functions,
            Deployed::Ecs(_) => return Ok(Judging::PassedOver("its AppSpec is an ECS one".into())),
        },
        AppSpecText::Elsewhere(kind) => {
            return Ok(Judging::PassedOver(format!(
                "its AppSpec is in {kind}, which CodeDeploy's API does not show"
            )));
        }
    };
    let mut judged = Vec::new();
    for function in &functions {
        let subject = function_subject(&function.name, Some(&group));
        let Some(settings) = canary_for(config, &subject) else {
            continue;
        };
        let (target, judgement) = match version_pair(function, &settings) {
            Some((target, pair)) => {
                let cloudwatch = clients.cloudwatch().await;
                let judged = judge_split_so_far(cloudwatch, &pair, split_start, &settings, clock, Some(look_until))
                    .await
                    .map_err(|error| error.to_string())?;
                (target, judged)
            }
            None => (
                function.name.clone(),
                nothing_to_compare(function, (split_start, clock.now())),
            ),
        };
        let traffic = match (settings.traffic, &function.alias) {
            (Some(traffic), Some(alias)) => {
                // What CloudWatch counted of earlier bursts, and the rate for each minute since
                // that it has not counted yet: the cap is never overrun.
                let read_until = match judgement.synthetic {
                    Some(_) => judgement.new.window.end,
                    None => split_start,
                };
                let unread = unread_minutes(read_until, clock.now()) * u64::from(traffic.per_minute);
                Some(TrafficPlan {
                    settings: traffic,
                    requests: alias_traffic(config, &subject, &function.name, alias),
                    already: judgement.synthetic.unwrap_or(0) + unread,
                })
            }
            _ => None,
        };
        judged.push(LiveJudgement {
            deployment_id: deployment_id.to_string(),
            deployment_group: group.clone(),
            function: function.name.clone(),
            judgement: TargetJudgement {
                target,
                judged: judgement,
                on_inconclusive: settings.on_inconclusive,
            },
            traffic,
            split_start,
        });
    }
    if judged.is_empty() {
        return Ok(Judging::PassedOver(format!(
            "no entry of PREFLIGHT_CHECKS with canary selects its functions ({group})"
        )));
    }
    Ok(Judging::Judged(judged))
}

/// The run's metrics: that it ran (the dashboard's "last run"), what it found, and its errors.
pub(crate) fn run_record(run: &LiveRun) -> Record {
    let runs = Record::new(FLOW).metric("LiveJudgeRuns", Unit::Count, 1.0);
    // A custom metric costs by the month it has data in: an idle run (nothing in progress, no
    // error: nearly every minute) publishes only that it ran.
    if run.in_progress.unwrap_or(0) == 0 && run.errors.is_empty() {
        return runs;
    }
    let failing = run.judged.iter().filter(|judged| judged.failing()).count();
    runs.metric(
        "DeploymentsInProgress",
        Unit::Count,
        run.in_progress.unwrap_or(0) as f64,
    )
    .metric("CanariesJudged", Unit::Count, run.judged.len() as f64)
    .metric("CanariesFailing", Unit::Count, failing as f64)
    .metric("LiveJudgeErrors", Unit::Count, run.errors.len() as f64)
}

/// The run's one summary line: what was in progress, each function's judgement with its
/// evidence, what was published, and any error.
fn log_summary(run: &LiveRun, time: SystemTime, elapsed: Duration) {
    let judgements: Vec<TargetJudgement> = run.judged.iter().map(|judged| judged.judgement.clone()).collect();
    let judged = crate::checks::describe::describe_judgements(&judgements);
    let deployments = run
        .judged
        .iter()
        .map(|judged| format!("{} ({})", judged.deployment_id, judged.deployment_group))
        .collect::<Vec<_>>();
    let published = run.published.then(|| {
        canary_failing_data(&run.judged, time)
            .iter()
            .map(|datum| {
                let function = datum.dimensions.first().map_or("", |(_, name)| name.as_str());
                format!("{CANARY_FAILING}{{{FUNCTION_NAME}={function}}}={}", datum.value)
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let synthetic_sent = (!run.traffic.is_empty()).then(|| {
        run.traffic
            .iter()
            .map(|traffic| match &traffic.sent.stopped {
                Some(why) => format!("{}={} (stopped: {why})", traffic.target, traffic.sent.total),
                None => format!("{}={}", traffic.target, traffic.sent.total),
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let errors = (!run.errors.is_empty()).then(|| run.errors.join(" | "));
    let passed_over = (!run.passed_over.is_empty()).then(|| run.passed_over.join(" | "));
    let time = crate::checks::canary::window::shown_time(time);
    let in_progress = run.in_progress.unwrap_or(0);
    let deployments = (!deployments.is_empty()).then(|| deployments.join(", "));
    let idle = run.idle.as_deref();
    let elapsed_ms = elapsed.as_millis() as u64;
    macro_rules! summary {
        ($level:expr) => {
            tracing::event!(
                $level,
                time = time.as_str(),
                in_progress,
                deployments,
                judged,
                published,
                synthetic_sent,
                passed_over,
                idle,
                errors,
                elapsed_ms,
                "live judge summary"
            )
        };
    }
    if errors.is_some() {
        summary!(Level::ERROR);
    } else if run.judged.iter().any(LiveJudgement::failing) {
        summary!(Level::WARN);
    } else {
        summary!(Level::INFO);
    }
}
