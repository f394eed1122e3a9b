//! The skeleton every deciding flow runs on, written once: the configuration and the emergency
//! skip, the check run against a deadline with the shared probe, the evaluation guarded so that a
//! panic or a hang still ends in a verdict ("internal error", "out of time"), and the verdict's
//! metrics record.
//!
//! A flow implements [`Deciding::evaluate`] with `?` on its typed errors: each converts into a
//! [`Stop`], an early verdict whose [`Cause`] the error decides. What the evaluation found before
//! it stopped ([`Findings`]) still reaches the summary line.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use super::canary::TargetJudgement;
use super::config::Config;
use super::describe::with_check_metrics;
use super::probe::Probe;
use super::runner::run_with_probe;
use super::setup::CheckSetup;
use super::verdict::{Cause, Verdict};
use super::{Check, CheckResult, PlanError, Selection};
use crate::plumbing::aws::elb::ListenerError;
use crate::plumbing::aws::{AwsClients, AwsError};
use crate::plumbing::deadline::{Stopped, keep_back, run_guarded};
use crate::plumbing::env::ConfigError;
use crate::plumbing::metrics::{Record, Unit};

/// An evaluation that ended before its checks decided, with the verdict it ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stop(pub Verdict);

impl Stop {
    pub(crate) fn failed(cause: Cause, reason: impl Into<String>) -> Stop {
        Stop(Verdict::failed(cause, reason))
    }
}

impl From<ConfigError> for Stop {
    fn from(error: ConfigError) -> Stop {
        Stop::failed(Cause::Misconfigured, error.to_string())
    }
}

impl From<PlanError> for Stop {
    fn from(error: PlanError) -> Stop {
        Stop::failed(Cause::Misconfigured, error.to_string())
    }
}

impl From<AwsError> for Stop {
    fn from(error: AwsError) -> Stop {
        Stop::failed(Cause::of(&error), error.to_string())
    }
}

impl From<ListenerError> for Stop {
    fn from(error: ListenerError) -> Stop {
        match error {
            ListenerError::Aws(error) => Stop::from(error),
            unusable @ ListenerError::Unusable(_) => Stop::failed(Cause::Misconfigured, unusable.to_string()),
        }
    }
}

/// What a flow answers with: a [`Verdict`], or a flow's richer answer that one converts into.
pub(crate) trait Decision: Send + 'static {
    fn from_verdict(verdict: Verdict) -> Self;
}

impl Decision for Verdict {
    fn from_verdict(verdict: Verdict) -> Verdict {
        verdict
    }
}

/// What an evaluation found, kept for the summary line even when it stops early.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// What was checked: the deployment's description, or green's test listener.
    pub subject: Option<String>,
    /// The lifecycle event that called, when the flow read it (the verdict event carries it).
    pub stage: Option<String>,
    pub selections: Vec<Selection>,
    pub results: Vec<CheckResult>,
    /// Targets judged on their real traffic.
    pub judgements: Vec<TargetJudgement>,
}

/// A decision and what led to it.
#[derive(Debug)]
pub(crate) struct Evaluation<D> {
    pub decision: D,
    pub findings: Findings,
}

/// A deciding flow: its event and its answer, and how it reads and evaluates one event.
pub(crate) trait Deciding: Send + Sync + 'static {
    type Event: Clone + Send + Sync + 'static;
    type PayloadError;
    type Decision: Decision;

    /// The `Flow` dimension of its metrics.
    const FLOW: &'static str;
    /// The dimension its status is published under (`Verdict`, `HookStatus`).
    const STATUS_DIMENSION: &'static str;
    /// That dimension's value when a payload could not be read, so that there is no verdict.
    const NO_VERDICT: &'static str;
    /// Why the deadline came first, and what to change.
    const OUT_OF_TIME: &'static str;

    /// The check set-up the router shares with every deciding flow.
    fn setup(&self) -> &Arc<CheckSetup>;

    fn parse(payload: &Value) -> Result<Self::Event, Self::PayloadError>;

    /// The summary line of a payload that could not be read.
    fn log_rejected(error: &Self::PayloadError);

    fn evaluate(
        &self,
        checking: &Checking,
        event: &Self::Event,
        findings: &mut Findings,
    ) -> impl Future<Output = Result<Self::Decision, Stop>> + Send;
}

/// What an evaluation may use: the shared check set-up, the AWS clients and the deadline the
/// checks must end by.
pub(crate) struct Checking {
    setup: Arc<CheckSetup>,
    clients: Arc<AwsClients>,
    deadline: Instant,
}

impl Checking {
    pub(crate) fn new(setup: Arc<CheckSetup>, clients: Arc<AwsClients>, deadline: Instant) -> Checking {
        Checking {
            setup,
            clients,
            deadline,
        }
    }

    pub(crate) fn clients(&self) -> &AwsClients {
        &self.clients
    }

    /// When the evaluation must have ended: waits (a canary's bake) stop before it.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The configuration; a bad one stops the evaluation, and so does an emergency skip in force
    /// (`Succeeded`, `Skipped`: traffic moves unchecked until the skip ends by itself).
    pub(crate) fn config(&self) -> Result<&Config, Stop> {
        let config = self.setup.config().map_err(|error| Stop::from(error.clone()))?;
        if let Some(skip) = config.skip_until.filter(|skip| skip.in_force(SystemTime::now())) {
            return Err(Stop(Verdict::skipped(format!(
                "skipped until {} (PREFLIGHT_SKIP_UNTIL): nothing was checked; checking resumes by itself then",
                skip.shown()
            ))));
        }
        Ok(config)
    }

    /// Runs `checks` with the shared probe (made by the first run that needs it), ending by the
    /// deadline.
    pub(crate) async fn run(&self, config: &Config, checks: Vec<Check>) -> Result<Vec<CheckResult>, Stop> {
        let probe = self.probe(config).await?;
        Ok(run_with_probe(probe, checks, config.concurrency, self.deadline).await)
    }

    /// The shared probe, made by the first caller that needs it (a canary's synthetic traffic
    /// sends its requests with it too).
    pub(crate) async fn probe(&self, config: &Config) -> Result<Arc<Probe>, Stop> {
        self.setup
            .probe(config, &self.clients)
            .await
            .map_err(|why| Stop::failed(Cause::Internal, why))
    }
}

/// One invocation up to its verdict: the payload read (an unreadable one is logged, counted and
/// returned: there is nothing to decide on), then the guarded evaluation, whose checks end the
/// configured margin before the Lambda `deadline`.
pub(crate) async fn evaluate_invocation<F: Deciding>(
    flow: Arc<F>,
    clients: Arc<AwsClients>,
    payload: &Value,
    deadline: Instant,
) -> Result<(F::Event, Evaluation<F::Decision>), F::PayloadError> {
    let started = Instant::now();
    let event = F::parse(payload).inspect_err(|error| {
        F::log_rejected(error);
        flow_record::<F>(F::NO_VERDICT.to_string(), None, &[], started.elapsed()).emit();
    })?;
    let setup = Arc::clone(flow.setup());
    let checking = Checking::new(
        Arc::clone(&setup),
        clients,
        keep_back(deadline, setup.deadline_margin()),
    );
    let evaluation = evaluate_guarded(flow, checking, event.clone()).await;
    Ok((event, evaluation))
}

/// [`verdict_record`] for flow `F`.
pub(crate) fn flow_record<F: Deciding>(
    status: String,
    cause: Option<Cause>,
    results: &[CheckResult],
    elapsed: Duration,
) -> Record {
    verdict_record(F::FLOW, F::STATUS_DIMENSION, status, cause, results, elapsed)
}

/// Evaluates `event` in its own task, so that neither a hang nor a panic can keep the verdict
/// from going out: a panic is an `Internal` failure, the deadline an `OutOfTime` one.
async fn evaluate_guarded<F: Deciding>(flow: Arc<F>, checking: Checking, event: F::Event) -> Evaluation<F::Decision> {
    let deadline = checking.deadline;
    let evaluation = run_guarded(
        async move {
            let mut findings = Findings::default();
            let decision = match flow.evaluate(&checking, &event, &mut findings).await {
                Ok(decision) => decision,
                Err(Stop(verdict)) => F::Decision::from_verdict(verdict),
            };
            Evaluation { decision, findings }
        },
        deadline,
    );
    let stopped = match evaluation.await {
        Ok(evaluation) => return evaluation,
        Err(Stopped::Panicked(why)) => {
            Verdict::failed(Cause::Internal, format!("internal error while checking: {why}"))
        }
        Err(Stopped::OutOfTime) => Verdict::failed(Cause::OutOfTime, F::OUT_OF_TIME),
    };
    Evaluation {
        decision: F::Decision::from_verdict(stopped),
        findings: Findings::default(),
    }
}

/// The invocation's metrics record: `status` under `status_dimension` (kept as the flows always
/// published it), the cause, the checks and the time taken. `Verdicts` is published three ways:
/// by flow and status; by flow and cause; and by fault alone, for the two alarms a team sets ("a
/// release was stopped", "preflight cannot do its job"). `cause` is `None` when there was no
/// verdict (an unreadable payload).
fn verdict_record(
    flow: &str,
    status_dimension: &'static str,
    status: String,
    cause: Option<Cause>,
    results: &[CheckResult],
    elapsed: Duration,
) -> Record {
    let record = with_check_metrics(Record::new(flow).dimension(status_dimension, status), results, elapsed);
    let Some(cause) = cause else {
        return record;
    };
    record
        .metric("Skipped", Unit::Count, if cause == Cause::Skipped { 1.0 } else { 0.0 })
        .extra_dimension("Cause", cause.name())
        .extra_dimension("Fault", cause.fault().name())
        .also_by("Verdicts", &[&["Flow", "Cause"], &["Fault"]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::config::Config;
    use crate::checks::verdict::Status;
    use crate::plumbing::aws::canned;

    /// A flow whose evaluation does what its event says.
    struct Scripted;

    #[derive(Clone, Debug)]
    enum Script {
        Pass,
        StopEarlyAfterFinding,
        Panic,
        Hang,
        MisconfiguredSetup,
    }

    impl Deciding for Scripted {
        type Event = Script;
        type PayloadError = String;
        type Decision = Verdict;
        const FLOW: &'static str = "scripted";
        const STATUS_DIMENSION: &'static str = "Verdict";
        const NO_VERDICT: &'static str = "NotReported";
        const OUT_OF_TIME: &'static str = "out of time: raise the timeout";

        fn setup(&self) -> &Arc<CheckSetup> {
            unreachable!("the tests call evaluate_guarded directly")
        }

        fn parse(_: &Value) -> Result<Script, String> {
            Err("unused".into())
        }

        fn log_rejected(_: &String) {}

        async fn evaluate(
            &self,
            checking: &Checking,
            script: &Script,
            findings: &mut Findings,
        ) -> Result<Verdict, Stop> {
            match script {
                Script::Pass => Ok(Verdict::succeeded(Cause::Passed, "fine")),
                Script::StopEarlyAfterFinding => {
                    findings.subject = Some("my-app/live".into());
                    Err(Stop::failed(Cause::NotFound, "no such listener"))
                }
                Script::Panic => panic!("a bug"),
                Script::Hang => {
                    std::future::pending::<()>().await;
                    Ok(Verdict::succeeded(Cause::Passed, "never"))
                }
                Script::MisconfiguredSetup => checking.config().map(|_| Verdict::succeeded(Cause::Passed, "never")),
            }
        }
    }

    fn checking(config: Result<Config, ConfigError>, budget: Duration) -> Checking {
        let clients = AwsClients::from_clients(canned::codedeploy(&[]), canned::lambda(&[]), canned::elb(&[]));
        Checking::new(
            Arc::new(CheckSetup::new(config)),
            Arc::new(clients),
            Instant::now() + budget,
        )
    }

    async fn evaluated(script: Script, config: Result<Config, ConfigError>) -> Evaluation<Verdict> {
        evaluate_guarded(Arc::new(Scripted), checking(config, Duration::from_secs(10)), script).await
    }

    fn good_config() -> Result<Config, ConfigError> {
        Config::from_lookup(&|_| None)
    }

    #[tokio::test(start_paused = true)]
    async fn every_ending_of_an_evaluation_is_a_verdict_with_its_cause() {
        let passed = evaluated(Script::Pass, good_config()).await.decision;
        assert_eq!((passed.status, passed.cause), (Status::Succeeded, Cause::Passed));

        let stopped = evaluated(Script::StopEarlyAfterFinding, good_config()).await;
        assert_eq!(stopped.decision, Verdict::failed(Cause::NotFound, "no such listener"));
        assert_eq!(
            stopped.findings.subject.as_deref(),
            Some("my-app/live"),
            "what was found before the stop reaches the summary"
        );

        let panicked = evaluated(Script::Panic, good_config()).await.decision;
        assert_eq!((panicked.status, panicked.cause), (Status::Failed, Cause::Internal));
        assert!(
            panicked.reason.starts_with("internal error while checking"),
            "{}",
            panicked.reason
        );

        let started = Instant::now();
        let hung = evaluated(Script::Hang, good_config()).await.decision;
        assert_eq!(hung, Verdict::failed(Cause::OutOfTime, Scripted::OUT_OF_TIME));
        assert!(started.elapsed() < Duration::from_secs(11), "stopped at the deadline");

        let bad = Config::from_lookup(&|name| (name == "CHECK_ATTEMPTS").then(|| "lots".to_string()));
        let misconfigured = evaluated(Script::MisconfiguredSetup, bad).await.decision;
        assert_eq!(
            (misconfigured.status, misconfigured.cause),
            (Status::Failed, Cause::Misconfigured)
        );
        assert!(
            misconfigured.reason.contains("CHECK_ATTEMPTS"),
            "{}",
            misconfigured.reason
        );
    }

    #[tokio::test]
    async fn an_emergency_skip_in_force_stops_the_evaluation_succeeded() {
        let in_an_hour = aws_smithy_types::DateTime::from(SystemTime::now() + Duration::from_secs(3600))
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap();
        let skipping = Config::from_lookup(&|name| (name == "PREFLIGHT_SKIP_UNTIL").then(|| in_an_hour.clone()));
        let skipped = evaluated(Script::MisconfiguredSetup, skipping).await.decision;
        assert_eq!((skipped.status, skipped.cause), (Status::Succeeded, Cause::Skipped));
        assert!(skipped.reason.contains("PREFLIGHT_SKIP_UNTIL"), "{}", skipped.reason);
    }

    #[test]
    fn the_verdict_record_publishes_the_cause_and_the_fault_for_the_two_alarms() {
        let record = verdict_record(
            "ecs_hook",
            "HookStatus",
            "FAILED".into(),
            Some(Cause::ReleaseFailed),
            &[],
            Duration::ZERO,
        );
        let document = record.to_json(1);
        assert_eq!(crate::plumbing::metrics::check_emf(&document), Ok(()));
        assert_eq!(
            (&document["Cause"], &document["Fault"]),
            (&serde_json::json!("ReleaseFailed"), &serde_json::json!("Release"))
        );
        assert_eq!(document["Skipped"], 0.0);
        let unread = verdict_record(
            "ecs_hook",
            "HookStatus",
            "NotAnswered".into(),
            None,
            &[],
            Duration::ZERO,
        )
        .to_json(1);
        assert!(unread.get("Cause").is_none(), "no verdict, no cause: {unread}");
    }
}
