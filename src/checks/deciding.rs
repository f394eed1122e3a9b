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

use tokio::time::Instant;

use super::config::Config;
use super::describe::with_check_metrics;
use super::runner::run_with_probe;
use super::setup::CheckSetup;
use super::verdict::{Cause, Verdict};
use super::{Check, CheckResult, PlanError, Selection};
use crate::plumbing::aws::elb::ListenerError;
use crate::plumbing::aws::{AwsClients, AwsError};
use crate::plumbing::deadline::{Stopped, run_guarded};
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
    pub selections: Vec<Selection>,
    pub results: Vec<CheckResult>,
}

/// A decision and what led to it.
#[derive(Debug)]
pub(crate) struct Evaluation<D> {
    pub decision: D,
    pub findings: Findings,
}

/// A deciding flow: its event and its answer, and how it evaluates one event.
pub(crate) trait Deciding: Send + Sync + 'static {
    type Event: Send + Sync + 'static;
    type Decision: Decision;

    /// Why the deadline came first, and what to change.
    const OUT_OF_TIME: &'static str;

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
        let probe = self
            .setup
            .probe(config, &self.clients)
            .await
            .map_err(|why| Stop::failed(Cause::Internal, why))?;
        Ok(run_with_probe(probe, checks, config.concurrency, self.deadline).await)
    }
}

/// Evaluates `event` in its own task, so that neither a hang nor a panic can keep the verdict
/// from going out: a panic is an `Internal` failure, the deadline an `OutOfTime` one.
pub(crate) async fn evaluate_guarded<F: Deciding>(
    flow: Arc<F>,
    checking: Checking,
    event: F::Event,
) -> Evaluation<F::Decision> {
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
pub(crate) fn verdict_record(
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
