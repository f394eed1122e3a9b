//! Judging green on its real traffic at Amazon ECS's own production traffic shift: at every
//! linear or canary step (`PRODUCTION_TRAFFIC_SHIFT`, green's new share in the payload) green's
//! traffic since the step began against blue's over the same minutes, before more traffic moves;
//! at `POST_PRODUCTION_TRAFFIC_SHIFT` (green at 100%) green's minutes since the shift against
//! blue's as many minutes before it.
//!
//! ECS calls again when asked (`IN_PROGRESS` with a `callBackDelay`), so preflight never waits
//! inside a call: too few complete minutes yet, and it answers `IN_PROGRESS` with when the step
//! began in `hookDetails` (ECS hands it back), until a decision or the bake time.

#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::green::GreenRouting;
use super::green::find_production;
use super::payload::Stage;
use crate::checks::canary::SYNTHETIC_REQUESTS;
use crate::checks::canary::settings::TrafficSettings;
use crate::checks::canary::traffic::{BURST_SPAN, RECHECK, send_paced};
use crate::checks::canary::window::{
    Look, MINUTE, Window, complete_minutes_after, complete_until, floor_minute, next_minute_readable,
};
use crate::checks::canary::{
    CanarySettings, Clock, Judged, Pair, Ruling, TargetJudgement, before_the_deadline, ended, look_once,
    nothing_complete, target_group_pair as shared_pair,
};
use crate::checks::config::Config;
use crate::checks::deciding::{Checking, Stop};
use crate::checks::definitions::TargetPlan;
use crate::checks::listener_traffic;
use crate::checks::verdict::Cause;
use crate::plumbing::aws::AwsClients;
use crate::plumbing::aws::cloudwatch::{Datum, put_metric_data};
use crate::plumbing::metrics::NAMESPACE;
use tokio::time::Instant;

/// The `hookDetails` key the step's start travels under.
pub(crate) const KEY: &str = "preflightCanary";

/// When this step began, as the first call of it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepStart {
    /// The stage and green's production weight, as `progress::step_of` writes them.
    pub step: String,
    pub since: SystemTime,
    /// The synthetic requests sent through the production path in this step so far.
    pub synthetic: u64,
}

impl StepStart {
    /// Whether this is the start of `step`, begun recently enough for its bake to be running: a
    /// start in the future, or older than any bake could last, is not this step's.
    pub(crate) fn continues(&self, step: &str, settings: &CanarySettings, now: SystemTime) -> bool {
        self.step == step && self.plausible(settings, now)
    }

    fn plausible(&self, settings: &CanarySettings, now: SystemTime) -> bool {
        let longest = settings.bake + settings.settle + Duration::from_secs(3600);
        self.since <= now && now.duration_since(self.since).unwrap_or_default() <= longest
    }

    pub(crate) fn to_value(&self) -> Value {
        let seconds = self.since.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        json!({"step": self.step, "since": seconds, "synthetic": self.synthetic})
    }
}

/// The step start an earlier call left in `hook_details`, if any.
pub(crate) fn read(hook_details: Option<&Value>) -> Result<Option<StepStart>, String> {
    let Some(state) = hook_details.and_then(|details| details.get(KEY)) else {
        return Ok(None);
    };
    let step = state.get("step").and_then(Value::as_str);
    let since = state
        .get("since")
        .and_then(Value::as_u64)
        .and_then(|since| UNIX_EPOCH.checked_add(Duration::from_secs(since)));
    match (step, since) {
        (Some(step), Some(since)) => Ok(Some(StepStart {
            step: step.to_string(),
            since,
            // Absent from what an earlier release of preflight left: none sent.
            synthetic: state.get("synthetic").and_then(Value::as_u64).unwrap_or(0),
        })),
        _ => Err(format!(
            "hookDetails.{KEY} is not what preflight leaves there ({state}): remove it from the hook's hookDetails, \
             which ECS fills in by itself"
        )),
    }
}

/// The dimensions of the `SyntheticRequests` preflight publishes for an ECS service.
pub(crate) fn synthetic_dimensions(service: &str) -> Vec<(&'static str, String)> {
    vec![("Service", service.to_string())]
}

/// How many synthetic requests this call may send in `start`'s step: the rate for each minute
/// begun since the step started, within the cap, less what earlier calls sent; never more than a
/// minute's worth at once.
pub(crate) fn step_allowance(traffic: &TrafficSettings, start: &StepStart, now: SystemTime) -> u32 {
    let minutes_begun = now.duration_since(start.since).unwrap_or_default().as_secs() / 60 + 1;
    let allowed = (u64::from(traffic.per_minute) * minutes_begun).min(u64::from(traffic.max_requests));
    let left = allowed
        .saturating_sub(start.synthetic)
        .min(u64::from(traffic.per_minute));
    u32::try_from(left).unwrap_or(traffic.per_minute)
}

/// What this call's synthetic traffic did, for the answer's reason.
pub(crate) struct StepTraffic {
    pub sent: u32,
    /// Why it stopped early, or why the count was not published.
    pub note: Option<String>,
}

/// Sends this call's share of the step's synthetic traffic through green's production path (the
/// production listener, whose weights split it between blue and green as they split real
/// traffic), `start` counting it. ECS holds the step while the hook answers `IN_PROGRESS`, so the
/// window stays open for the burst, which ends `BURST_MARGIN` before the call's deadline. What is
/// sent is counted first (`SyntheticRequests`, `Service`), so that the cap holds even for a
/// burst cut short. Traffic is optional: anything that keeps it from going out is a note in the
/// answer, never the step's failure.
pub(crate) async fn send_step_traffic(
    checking: &Checking,
    config: &Config,
    routing: &GreenRouting,
    chosen: &TargetPlan,
    service: &str,
    start: &mut StepStart,
) -> StepTraffic {
    let Some(traffic) = chosen.canary.and_then(|canary| canary.traffic) else {
        return StepTraffic { sent: 0, note: None };
    };
    let clock = Clock::start();
    let count = step_allowance(&traffic, start, clock.now());
    let until = checking
        .deadline()
        .checked_sub(BURST_MARGIN)
        .unwrap_or(checking.deadline());
    if count == 0 || Instant::now() + BURST_MARGIN >= until {
        return StepTraffic { sent: 0, note: None };
    }
    let prepared = tokio::time::timeout_at(until, async {
        let (listener, route) = find_production(checking.clients(), routing)
            .await
            .map_err(|error| error.to_string())?;
        let requests = listener_traffic(chosen, &listener)
            .map_err(|error| error.to_string())?
            .into_iter()
            .map(|check| route.apply(check))
            .collect::<Result<Vec<_>, _>>()?;
        let probe = checking.probe(config).await.map_err(|Stop(verdict)| verdict.reason)?;
        let counted = Datum {
            metric: SYNTHETIC_REQUESTS,
            dimensions: synthetic_dimensions(service),
            value: f64::from(count),
            timestamp: floor_minute(clock.now()),
        };
        put_metric_data(checking.clients().cloudwatch().await, NAMESPACE, &[counted])
            .await
            .map_err(|error| format!("it could not be counted first: {error}"))?;
        Ok::<_, String>((requests, probe))
    });
    let (requests, probe) = match prepared.await {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(why)) => {
            return StepTraffic {
                sent: 0,
                note: Some(format!("no synthetic traffic sent: {why}")),
            };
        }
        Err(_) => {
            return StepTraffic {
                sent: 0,
                note: Some("no synthetic traffic sent: this call's time ran out first".into()),
            };
        }
    };
    // The count went out: from here on it is spent, whatever the burst manages.
    start.synthetic += u64::from(count);
    let sent = send_paced(
        &probe,
        &requests,
        count,
        traffic.per_minute,
        BURST_SPAN,
        until,
        RECHECK,
        || async { Ok(true) },
    )
    .await;
    StepTraffic {
        sent: sent.total,
        note: sent.stopped,
    }
}

/// Kept free before an ECS call's deadline by its synthetic traffic: the answer must go out.
const BURST_MARGIN: Duration = Duration::from_secs(3);

/// Whether green is judged at `stage`: where traffic has moved to it in production.
pub(crate) fn judged_at(stage: Stage) -> bool {
    matches!(stage, Stage::ProductionTrafficShift | Stage::PostProductionTrafficShift)
}

/// The call being judged: its stage, its step (as `progress::step_of` writes it), and whether
/// green has all of production (a blue/green shift, a linear or canary deployment's last step).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepCall<'a> {
    pub stage: Stage,
    pub step: &'a str,
    pub all_on_green: bool,
}

/// What a call's look found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StepJudgement {
    Decided(TargetJudgement),
    /// Too little yet: call again after `delay`, with `start` kept.
    Wait {
        delay: Duration,
        start: StepStart,
        reason: String,
    },
}

/// Judges green against blue for this call of `step` at `stage`, `earlier` being what an earlier
/// call of the same deployment left.
pub(crate) async fn judge_step(
    checking: &Checking,
    service: &str,
    routing: &GreenRouting,
    call: StepCall<'_>,
    earlier: Option<StepStart>,
    settings: &CanarySettings,
) -> Result<StepJudgement, Stop> {
    let StepCall {
        stage,
        step,
        all_on_green,
    } = call;
    let clock = Clock::start();
    let clients = checking.clients();
    let now = clock.now();
    let start = match earlier {
        Some(start) if start.continues(step, settings, now) => start,
        // The shift to all of production was judged at PRODUCTION_TRAFFIC_SHIFT: after it, the
        // minutes still start at that shift.
        Some(start)
            if stage == Stage::PostProductionTrafficShift
                && start.step == format!("{}@100", Stage::ProductionTrafficShift)
                && start.plausible(settings, now) =>
        {
            StepStart {
                step: step.to_string(),
                since: start.since,
                // The same minutes, so the same cap: what the shift's calls sent still counts.
                synthetic: start.synthetic,
            }
        }
        _ => StepStart {
            step: step.to_string(),
            since: now,
            synthetic: 0,
        },
    };
    let pair = Pair {
        synthetic: settings.traffic.map(|_| synthetic_dimensions(service)),
        ..target_group_pair(clients, routing).await?
    };
    // The bake counts readable minutes, as the CodeDeploy hook's does: the settle time comes on top.
    let done = complete_minutes_after(start.since, now, settings.settle);
    // Before and after the shift once all production traffic is green's (blue has none left to
    // compare side by side); side by side during a step.
    let before_and_after = stage == Stage::PostProductionTrafficShift || all_on_green;
    let look = if before_and_after {
        Look::before_and_after(
            start.since,
            complete_minutes_after(start.since, now, settings.settle).min(settings.bake),
        )
    } else {
        let split = Window::covering(start.since, now);
        let readable = Window {
            start: split.start,
            end: split.end.min(complete_until(now, settings.settle)),
        };
        (readable.end > readable.start)
            .then(|| Look::side_by_side(readable))
            .flatten()
    };
    let judged = match look {
        Some(look) => {
            let looking = look_once(clients.cloudwatch().await, &pair, &look, settings);
            match before_the_deadline(Some(checking.deadline()), looking).await? {
                Some(judged) => Some(judged),
                // ECS calls again: this call's time ran out before CloudWatch answered.
                None => {
                    return Ok(StepJudgement::Wait {
                        delay: Duration::from_secs(30),
                        reason: format!(
                            "judging green's real traffic at {step}: CloudWatch had not answered before this call's deadline"
                        ),
                        start,
                    });
                }
            }
        }
        None => None,
    };
    if let Some(judged) = &judged
        && judged.ruling != Ruling::Inconclusive
    {
        return Ok(StepJudgement::Decided(judgement(service, judged.clone(), settings)));
    }
    if done >= settings.bake {
        let judged = judged
            .unwrap_or_else(|| nothing_complete(&pair, Window::covering(start.since, now), settings, "the bake ended"));
        let judged = ended(
            judged,
            format!("after baking {} min (bake_minutes)", settings.bake.as_secs() / 60),
        );
        return Ok(StepJudgement::Decided(judgement(service, judged, settings)));
    }
    // When the next minute of data can be read: during a step its window starts at the step's
    // first (started) minute, after the shift at the first whole minute after it.
    let next = if before_and_after {
        next_minute_readable(start.since, done, settings.settle)
    } else {
        let first = floor_minute(start.since) + MINUTE + settings.settle;
        first.max(complete_until(now, settings.settle) + MINUTE + settings.settle)
    };
    let delay = next.duration_since(now).unwrap_or_default().max(Duration::from_secs(1));
    let seen = judged.map_or_else(
        || "no complete minute of green's traffic yet".to_string(),
        |judged| judged.rule,
    );
    Ok(StepJudgement::Wait {
        delay,
        reason: format!(
            "judging green's real traffic at {step}: {seen}; {} of {} bake minutes read",
            done.as_secs() / 60,
            settings.bake.as_secs() / 60
        ),
        start,
    })
}

fn judgement(service: &str, judged: Judged, settings: &CanarySettings) -> TargetJudgement {
    TargetJudgement {
        target: service.to_string(),
        judged,
        on_inconclusive: settings.on_inconclusive,
    }
}

/// Green's and blue's target groups as CloudWatch names them (DescribeTargetGroups gives their
/// load balancer).
async fn target_group_pair(clients: &AwsClients, routing: &GreenRouting) -> Result<Pair, Stop> {
    let Some(blue) = &routing.blue_target_group else {
        return Err(Stop::failed(
            Cause::Misconfigured,
            format!(
                "green's service revision names only green's target group {}, so blue's traffic cannot be read to \
                 compare: give the service's load balancer both target groups (targetGroupArn and \
                 advancedConfiguration.alternateTargetGroupArn)",
                routing.target_group
            ),
        ));
    };
    Ok(shared_pair(clients.elb().await, &routing.target_group, blue).await?)
}
