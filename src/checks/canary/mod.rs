//! Judging a new version on its real traffic: the new version's requests, errors and p99 latency
//! against the old version's, read from CloudWatch, ending in `Pass`, `Fail` or `Inconclusive`.
//! A judge never passes what it did not see, and says `Inconclusive` when it saw too little.
//!
//! The pieces: [`settings`] (the `canary` key), [`window`] (which minutes a look reads, pure),
//! [`metrics`] (which series, the queries, the datapoints read back, pure), [`statistics`] (the
//! exact test behind the error rule, pure), [`judge`] (the rules, pure); and here the two ways
//! the flows look: [`look_once`] (one `GetMetricData` call) and [`judge_baking`] (looks until a
//! decision, the bake time or the deadline, whichever comes first).

pub(crate) mod judge;
pub(crate) mod metrics;
pub mod settings;
pub(crate) mod statistics;
pub(crate) mod traffic;
pub(crate) mod window;

use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

use super::deciding::Stop;
use super::verdict::{Cause, Status, Verdict};
use crate::plumbing::aws::AwsError;
use crate::plumbing::aws::cloudwatch::get_metric_data;
use crate::plumbing::aws::elb::target_group_load_balancers;
use crate::plumbing::metrics::{Record, Unit};
pub use judge::{Judged, Ruling, Side, Traffic};
pub use metrics::{SYNTHETIC_REQUESTS, Subject};
pub use settings::{CanarySettings, OnInconclusive};
use window::{Look, MINUTE, Window, complete_minutes_after, complete_until, next_minute_readable};

/// Wall-clock time that follows tokio's clock: CloudWatch's windows are wall-clock times, and a
/// test on tokio's paused clock must see them move as it advances.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    wall: SystemTime,
    instant: Instant,
}

impl Clock {
    pub(crate) fn start() -> Clock {
        Clock::at(SystemTime::now())
    }

    /// A clock that reads `wall` now.
    pub(crate) fn at(wall: SystemTime) -> Clock {
        Clock {
            wall,
            instant: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.wall + self.instant.elapsed()
    }

    /// The tokio instant at which the wall clock reads `time`.
    pub(crate) fn instant_at(&self, time: SystemTime) -> Instant {
        self.instant + time.duration_since(self.wall).unwrap_or_default()
    }
}

/// The two sides of a judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub new: Subject,
    pub old: Subject,
    /// The dimensions of the `SyntheticRequests` preflight publishes for this target, when its
    /// entry sends synthetic traffic: a look then says what share of the requests were preflight's.
    pub synthetic: Option<Vec<(&'static str, String)>>,
}

/// One look: a single `GetMetricData` call for both sides and every metric, judged.
pub(crate) async fn look_once(
    client: &aws_sdk_cloudwatch::Client,
    pair: &Pair,
    look: &Look,
    settings: &CanarySettings,
) -> Result<Judged, AwsError> {
    let queries = metrics::queries(look, &pair.new, &pair.old, pair.synthetic.as_deref());
    let datapoints = get_metric_data(client, queries, look.start, look.end()).await?;
    let (new, old) = metrics::read(look, &datapoints, &pair.new, &pair.old);
    let synthetic = metrics::synthetic_requests(look, &datapoints);
    let side = |subject: &Subject, period, traffic| Side {
        name: subject.shown(),
        window: look.window_of(period),
        traffic,
    };
    Ok(Judged {
        synthetic,
        ..judge::judge(
            &side(&pair.new, look.new_period, new),
            &side(&pair.old, look.old_period, old),
            settings,
        )
    })
}

/// The time a look may take, kept back from the deadline when deciding whether to wait for one
/// more minute of data.
const LOOK_ALLOWANCE: Duration = Duration::from_secs(5);

/// Judges traffic that was split between the versions over `[split_start, split_end)` (a
/// canary's or linear deployment's shift; equal times for an all-at-once one): first side by side
/// over the split's complete minutes; when that holds too little traffic, bakes: the new
/// version's minutes after the split against as many of the old one's before it, looking again
/// as each minute completes, until a decision, the bake time (`Inconclusive`) or the deadline
/// (`Inconclusive` too: lack of time is not the release's failure).
pub(crate) async fn judge_baking(
    client: &aws_sdk_cloudwatch::Client,
    pair: &Pair,
    (split_start, split_end): (SystemTime, SystemTime),
    settings: &CanarySettings,
    clock: &Clock,
    deadline: Option<Instant>,
) -> Result<Judged, AwsError> {
    let split = Window::covering(split_start, split_end);
    let readable = Window {
        start: split.start,
        end: split.end.min(complete_until(clock.now(), settings.settle)),
    };
    let mut last = None;
    let late = |last: Option<Judged>| {
        let why = "CloudWatch had not answered when the hook's deadline came: raise the hook's timeout";
        match last {
            Some(judged) => ended(judged, why.to_string()),
            None => nothing_complete(pair, split, settings, why),
        }
    };
    if readable.end > readable.start
        && let Some(look) = Look::side_by_side(readable)
    {
        let Some(judged) = before_the_deadline(deadline, look_once(client, pair, &look, settings)).await? else {
            return Ok(late(last));
        };
        if judged.ruling != Ruling::Inconclusive || settings.bake.is_zero() {
            return Ok(judged);
        }
        last = Some(judged);
    }
    if settings.bake.is_zero() {
        return Ok(nothing_complete(
            pair,
            split,
            settings,
            "bake_minutes is 0, so preflight did not wait",
        ));
    }
    loop {
        let baked = complete_minutes_after(split_end, clock.now(), settings.settle).min(settings.bake);
        if let Some(look) = Look::before_and_after(split_end, baked) {
            let Some(judged) = before_the_deadline(deadline, look_once(client, pair, &look, settings)).await? else {
                return Ok(late(last));
            };
            if judged.ruling != Ruling::Inconclusive {
                return Ok(judged);
            }
            if baked >= settings.bake {
                return Ok(ended(
                    judged,
                    format!("after baking {} min (bake_minutes)", minutes(baked)),
                ));
            }
            last = Some(judged);
        }
        let next = next_minute_readable(split_end, baked, settings.settle);
        let stop = match deadline {
            None => Some(format!(
                "{} of the {} bake minutes could be read so far: judge again later",
                minutes(baked),
                minutes(settings.bake)
            )),
            Some(deadline) if clock.instant_at(next) + LOOK_ALLOWANCE > deadline => Some(format!(
                "the bake stopped at the hook's deadline after {} of {} min: raise the hook's timeout or lower \
                 bake_minutes",
                minutes(baked),
                minutes(settings.bake)
            )),
            Some(_) => None,
        };
        if let Some(why) = stop {
            return Ok(match last {
                Some(judged) => ended(judged, why),
                None => nothing_complete(pair, split, settings, &why),
            });
        }
        tokio::time::sleep_until(clock.instant_at(next)).await;
    }
}

/// Judges a split that is still running: both versions side by side over the minutes since
/// `split_start` that can be read by now (the live judge's one look each time it runs). Until a
/// whole minute of the split has settled, `Inconclusive`; a look the deadline cuts short too.
pub(crate) async fn judge_split_so_far(
    client: &aws_sdk_cloudwatch::Client,
    pair: &Pair,
    split_start: SystemTime,
    settings: &CanarySettings,
    clock: &Clock,
    deadline: Option<Instant>,
) -> Result<Judged, AwsError> {
    let now = clock.now();
    let split = Window::covering(split_start, now.max(split_start));
    let readable = Window {
        start: split.start,
        end: split.end.min(complete_until(now, settings.settle)),
    };
    if readable.end > readable.start
        && let Some(look) = Look::side_by_side(readable)
    {
        return Ok(
            match before_the_deadline(deadline, look_once(client, pair, &look, settings)).await? {
                Some(judged) => judged,
                None => nothing_complete(
                    pair,
                    split,
                    settings,
                    "CloudWatch had not answered when this run's deadline came",
                ),
            },
        );
    }
    Ok(nothing_complete(pair, split, settings, "the split began too recently"))
}

/// `look`'s judgement, or `None` when the deadline came first: a look cut short is a bake stopped
/// by the deadline, never an evaluation that ran out of time.
pub(crate) async fn before_the_deadline(
    deadline: Option<Instant>,
    look: impl std::future::Future<Output = Result<Judged, AwsError>>,
) -> Result<Option<Judged>, AwsError> {
    match deadline {
        None => look.await.map(Some),
        // A second kept back, so that the verdict is made before the evaluation's own guard fires.
        Some(deadline) => {
            match tokio::time::timeout_at(deadline.checked_sub(Duration::from_secs(1)).unwrap_or(deadline), look).await
            {
                Ok(judged) => judged.map(Some),
                Err(_) => Ok(None),
            }
        }
    }
}

fn minutes(duration: Duration) -> u64 {
    duration.as_secs() / 60
}

/// An `Inconclusive` that also says how the looking ended.
pub(crate) fn ended(judged: Judged, how: String) -> Judged {
    Judged {
        rule: format!("{} ({how})", judged.rule),
        ..judged
    }
}

/// `Inconclusive` before a single complete minute could be read.
pub(crate) fn nothing_complete(pair: &Pair, window: Window, settings: &CanarySettings, why: &str) -> Judged {
    Judged::unseen(
        pair.new.shown(),
        pair.old.shown(),
        window,
        format!(
            "no complete minute of traffic could be read yet (CloudWatch's points settle {} min after each minute): {why}",
            minutes(settings.settle.max(MINUTE))
        ),
    )
}

/// Why two target groups cannot be compared.
#[derive(Debug)]
pub(crate) enum PairError {
    Aws(AwsError),
    /// ELBv2 answered, but not with groups whose traffic CloudWatch counts.
    Unusable(String),
}

impl std::fmt::Display for PairError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PairError::Aws(error) => error.fmt(f),
            PairError::Unusable(why) => f.write_str(why),
        }
    }
}

impl From<PairError> for Stop {
    fn from(error: PairError) -> Stop {
        match error {
            PairError::Aws(error) => Stop::from(error),
            PairError::Unusable(why) => Stop::failed(Cause::Misconfigured, why),
        }
    }
}

/// The target groups `new` and `old` (ARNs) as CloudWatch names them: DescribeTargetGroups gives
/// the load balancer each one serves.
pub(crate) async fn target_group_pair(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    new: &str,
    old: &str,
) -> Result<Pair, PairError> {
    let found = target_group_load_balancers(elb, &[new.to_string(), old.to_string()])
        .await
        .map_err(PairError::Aws)?;
    let subject = |arn: &str| {
        let load_balancers = found
            .iter()
            .find(|(group, _)| group == arn)
            .map_or(&[][..], |(_, load_balancers)| load_balancers.as_slice());
        Subject::behind(arn, load_balancers).map_err(PairError::Unusable)
    };
    Ok(Pair {
        new: subject(new)?,
        old: subject(old)?,
        synthetic: None,
    })
}

/// One side as the summary line shows it.
#[derive(Debug, Serialize)]
struct SideShown<'a> {
    name: &'a str,
    window: String,
    requests: u64,
    errors: u64,
    error_rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    p99_ms: Option<f64>,
}

impl<'a> SideShown<'a> {
    fn of(side: &'a Side) -> SideShown<'a> {
        SideShown {
            name: &side.name,
            window: side.window.shown(),
            requests: side.requests(),
            errors: side.errors(),
            error_rate: side.error_rate(),
            p99_ms: side.traffic.p99_ms,
        }
    }
}

/// A target's judgement as the summary line shows it.
#[derive(Debug, Serialize)]
pub(crate) struct JudgementShown<'a> {
    target: &'a str,
    ruling: Ruling,
    rule: &'a str,
    new: SideShown<'a>,
    old: SideShown<'a>,
    /// Of both sides' requests, preflight's own synthetic ones, and their share.
    #[serde(skip_serializing_if = "Option::is_none")]
    synthetic_requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    synthetic_share: Option<f64>,
}

/// A judged target, for the summary line and the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetJudgement {
    /// `orders:live`, the ECS service.
    pub target: String,
    pub judged: Judged,
    pub on_inconclusive: OnInconclusive,
}

impl TargetJudgement {
    pub(crate) fn shown(&self) -> JudgementShown<'_> {
        JudgementShown {
            target: &self.target,
            ruling: self.judged.ruling,
            rule: &self.judged.rule,
            new: SideShown::of(&self.judged.new),
            old: SideShown::of(&self.judged.old),
            synthetic_requests: self.judged.synthetic,
            synthetic_share: self.judged.synthetic.map(|synthetic| {
                let requests = self.judged.new.requests() + self.judged.old.requests();
                if requests == 0 {
                    0.0
                } else {
                    // Rounded to the thousandth: a share, not a measurement.
                    ((synthetic as f64 / requests as f64).min(1.0) * 1000.0).round() / 1000.0
                }
            }),
        }
    }

    /// The `Judgements` metric of this judgement, by flow and ruling.
    pub(crate) fn record(&self, flow: &str) -> Record {
        Record::new(flow)
            .dimension("Judgement", self.judged.ruling.name())
            .metric("Judgements", Unit::Count, 1.0)
    }
}

/// The verdict of a call that judged `judgements` and ran checks whose verdict is `checked`
/// (`None` when every target was judged instead of checked). Failed checks come first; then a
/// failed judgement (the release's fault); then an `Inconclusive` one, failing or not as its
/// `on_inconclusive` says but never reported as passed.
pub(crate) fn verdict_with(checked: Option<Verdict>, judgements: &[TargetJudgement]) -> Verdict {
    if let Some(checked) = &checked
        && (checked.status == Status::Failed || judgements.is_empty())
    {
        return checked.clone();
    }
    let Some(first) = judgements.first() else {
        return Verdict::failed(Cause::Misconfigured, "nothing was checked or judged");
    };
    let with_checks = |said: String| match &checked {
        Some(checked) => format!("{said}; {}", checked.reason),
        None => said,
    };
    let said = |ruling: Ruling, how: &str| -> String {
        judgements
            .iter()
            .filter(|judgement| judgement.judged.ruling == ruling)
            .map(|judgement| format!("{} {how}: {}", judgement.target, judgement.judged.rule))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let worst = judgements
        .iter()
        .map(|judgement| judgement.judged.ruling)
        .max()
        .unwrap_or(first.judged.ruling);
    match worst {
        Ruling::Fail => Verdict::failed(Cause::ReleaseFailed, said(Ruling::Fail, "failed on its real traffic")),
        Ruling::Inconclusive => {
            let stop = judgements.iter().any(|judgement| {
                judgement.judged.ruling == Ruling::Inconclusive && judgement.on_inconclusive == OnInconclusive::Fail
            });
            if stop {
                Verdict::failed(
                    Cause::Inconclusive,
                    said(Ruling::Inconclusive, "is inconclusive and its on_inconclusive is fail"),
                )
            } else {
                Verdict::succeeded(
                    Cause::Inconclusive,
                    with_checks(said(
                        Ruling::Inconclusive,
                        "is inconclusive, not passed (on_inconclusive: succeed lets it go on)",
                    )),
                )
            }
        }
        Ruling::Pass => Verdict::succeeded(
            Cause::Passed,
            with_checks(said(Ruling::Pass, "passed on its real traffic")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_look_the_deadline_cuts_short_is_none_not_an_error() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Err(AwsError {
                service: crate::plumbing::aws::Service::CloudWatch,
                operation: "GetMetricData",
                failure: crate::plumbing::aws::error::Failure::Timeout,
                code: None,
                message: None,
                http_status: None,
                advice: None,
            })
        };
        let started = Instant::now();
        assert_eq!(before_the_deadline(Some(deadline), slow).await, Ok(None));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "stopped before the deadline"
        );
    }
}
