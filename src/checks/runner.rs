//! Runs every check concurrently (up to a bound), each with its own attempts, all before a
//! deadline.
//!
//! A check never outlives the deadline: each attempt is cut at whichever comes first, its own
//! timeout or the deadline, and no new attempt starts that could not finish in time. That is what
//! leaves room for the report however slowly the targets answer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::judge::Judgement;
use super::probe::Probe;
use super::verdict::Cause;
use super::{Check, CheckResult};

/// Runs `attempt` for each check under its patience, at most `concurrency` attempts at a time,
/// finishing by `deadline`. Results keep the order of `checks`.
pub(crate) async fn run_checks<A, F>(
    checks: Vec<Check>,
    concurrency: usize,
    deadline: Instant,
    attempt: A,
) -> Vec<CheckResult>
where
    A: Fn(Check) -> F + Send + Sync + 'static,
    F: Future<Output = Judgement> + Send + 'static,
{
    let attempt = Arc::new(attempt);
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let count = checks.len();
    for (index, check) in checks.into_iter().enumerate() {
        let attempt = Arc::clone(&attempt);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let result = run_one(check, deadline, &permits, &*attempt).await;
            (index, result)
        });
    }
    let mut results: Vec<Option<CheckResult>> = vec![None; count];
    while let Some(joined) = tasks.join_next().await {
        // A task can only fail by panicking; its slot stays empty and is reported below.
        if let Ok((index, result)) = joined {
            results[index] = Some(result);
        }
    }
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| CheckResult {
                target: "(unknown)".into(),
                outcomes: Vec::new(),
                status: None,
                latency: Duration::ZERO,
                failure: Some("internal error: the check's task stopped unexpectedly".into()),
                refused: Some(Cause::Internal),
                waited: Duration::ZERO,
                out_of_time: false,
            })
        })
        .collect()
}

/// Runs `checks` with `probe`, each attempt one probe attempt: the one way every caller (the
/// hooks, the `preflight` command) runs a plan.
pub(crate) async fn run_with_probe(
    probe: Arc<Probe>,
    checks: Vec<Check>,
    concurrency: usize,
    deadline: Instant,
) -> Vec<CheckResult> {
    run_checks(checks, concurrency, deadline, move |check| {
        let probe = Arc::clone(&probe);
        async move { probe.attempt(&check).await }
    })
    .await
}

/// How often a target that is not ready yet (a `Pending` Lambda version) is looked at again: the
/// delay of AWS's `published-version-active` waiter.
pub(crate) const NOT_READY_POLL: Duration = Duration::from_secs(5);

async fn run_one<A, F>(check: Check, deadline: Instant, permits: &Semaphore, attempt: &A) -> CheckResult
where
    A: Fn(Check) -> F,
    F: Future<Output = Judgement>,
{
    let target = check.target();
    let patience = check.patience;
    let mut outcomes = Vec::new();
    let mut attempts = 0;
    let mut last = Judgement::error("deadline reached before the first attempt");
    let mut latency = Duration::ZERO;
    let mut out_of_time = false;
    let mut waited = Duration::ZERO;
    while attempts < patience.attempts {
        let Some(remaining) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else {
            out_of_time = true;
            break;
        };
        // Concurrency is bounded per attempt, so a check waiting out its interval holds no permit.
        let Ok(_permit) = tokio::time::timeout(remaining, permits.acquire()).await else {
            last = Judgement::error("deadline reached while waiting for a free check slot");
            out_of_time = true;
            break;
        };
        let limit = patience.timeout.min(deadline.saturating_duration_since(Instant::now()));
        let started = Instant::now();
        attempts += 1;
        last = match tokio::time::timeout(limit, attempt(check.clone())).await {
            Ok(judgement) => judgement,
            Err(_) if limit < patience.timeout => {
                Judgement::error(format!("no answer before the deadline ({} ms)", limit.as_millis()))
            }
            Err(_) => Judgement::error(format!("no answer within {} ms", limit.as_millis())),
        };
        latency = started.elapsed();
        drop(_permit);
        if let Judgement::NotReady { .. } = last {
            // Not an attempt: the target cannot be tried yet. Wait as AWS's own waiter does.
            attempts -= 1;
            let pause = NOT_READY_POLL.min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(pause).await;
            waited += started.elapsed();
            continue;
        }
        outcomes.push(last.outcome());
        if last.passed() || attempts == patience.attempts {
            break;
        }
        if !last.worth_retrying() {
            last = last.noted("(not retried: another attempt would get the same answer)");
            break;
        }
        if Instant::now() + patience.interval >= deadline {
            last = last.noted("(no time left for another attempt)");
            out_of_time = true;
            break;
        }
        tokio::time::sleep(patience.interval).await;
    }
    if let Judgement::NotReady { reason } = &last {
        // The deadline came while the target was still not ready: nothing was judged.
        return CheckResult {
            target,
            outcomes,
            status: None,
            latency,
            out_of_time: true,
            failure: Some(format!(
                "{reason}; still not ready at the deadline, after waiting {} s",
                waited.as_secs()
            )),
            refused: Some(Cause::OutOfTime),
            waited,
        };
    }
    CheckResult {
        target,
        outcomes,
        status: last.status(),
        latency,
        // A pass is a pass, however late.
        out_of_time: out_of_time && !last.passed(),
        failure: last.failure().map(str::to_string),
        refused: last.refused(),
        waited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    use crate::checks::Request;
    use crate::checks::assertions::Expectations;
    use crate::checks::config::Patience;
    use crate::checks::expected_status::ExpectedStatus;
    use crate::checks::judge::Outcome;

    const CONCURRENCY: usize = 4;

    fn check(n: u32, attempts: u32) -> Check {
        Check {
            request: Request::Http {
                url: reqwest::Url::parse(&format!("http://target/{n}")).unwrap(),
                method: reqwest::Method::GET,
                headers: Vec::new(),
                connect_to: None,
            },
            expect: Arc::new(Expectations::status_only(ExpectedStatus::default())),
            patience: Patience {
                attempts,
                interval: Duration::from_millis(10),
                timeout: Duration::from_millis(200),
            },
        }
    }

    /// Runs one check of `attempts` whose nth attempt (from 0) is judged `answer(n)`; returns
    /// its result and how many attempts were made.
    async fn run_answering(
        attempts: u32,
        answer: impl Fn(u32) -> Judgement + Send + Sync + 'static,
    ) -> (CheckResult, u32) {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&calls);
        let answer = Arc::new(answer);
        let mut results = run_checks(
            vec![check(1, attempts)],
            CONCURRENCY,
            Instant::now() + Duration::from_secs(10),
            move |_| {
                let judgement = answer(seen.fetch_add(1, Ordering::SeqCst));
                async move { judgement }
            },
        )
        .await;
        (results.remove(0), calls.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn a_flaky_target_passes_on_a_later_attempt() {
        let (result, calls) = run_answering(3, |n| {
            if n < 2 {
                Judgement::fail(Some(503), "status 503")
            } else {
                Judgement::pass(Some(200))
            }
        })
        .await;
        assert_eq!(result.attempts(), 3);
        assert!(result.passed());
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn each_attempt_is_recorded_as_an_error_a_failure_or_a_pass() {
        let (result, _) = run_answering(3, |n| match n {
            0 => Judgement::error("connection reset"),
            1 => Judgement::fail(Some(200), "$.status is \"degraded\", expected \"ok\""),
            _ => Judgement::pass(Some(200)),
        })
        .await;
        assert_eq!(result.outcomes, vec![Outcome::Error, Outcome::Failure, Outcome::Pass]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_is_an_error() {
        let results = run_checks(
            vec![check(1, 1)],
            CONCURRENCY,
            Instant::now() + Duration::from_secs(10),
            |_| std::future::pending(),
        )
        .await;
        assert_eq!(results[0].outcomes, vec![Outcome::Error]);
        assert_eq!(results[0].failure.as_deref(), Some("no answer within 200 ms"));
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_stop_at_the_configured_count() {
        let results = run_checks(
            vec![check(1, 2)],
            CONCURRENCY,
            Instant::now() + Duration::from_secs(10),
            |_| async { Judgement::fail(Some(500), "status 500") },
        )
        .await;
        assert_eq!(results[0].attempts(), 2);
        assert_eq!(results[0].failure.as_deref(), Some("status 500"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_no_attempt_can_change_is_not_retried() {
        let (result, calls) = run_answering(5, |_| Judgement::error_for_good(Cause::NotPermitted, "denied")).await;
        assert_eq!(calls, 1);
        assert_eq!(result.attempts(), 1);
        assert!(
            result.failure.as_deref().unwrap().starts_with("denied (not retried"),
            "{result:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_target_is_cut_at_the_deadline() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(150);
        let results = run_checks(vec![check(1, 5)], CONCURRENCY, deadline, |_| std::future::pending()).await;
        assert!(Instant::now() <= deadline + Duration::from_millis(1));
        assert!(!results[0].passed());
        assert!(
            results[0].failure.as_deref().unwrap().contains("before the deadline"),
            "{:?}",
            results[0]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn results_keep_the_order_of_the_checks() {
        let checks: Vec<Check> = (0..20).map(|n| check(n, 1)).collect();
        let results = run_checks(
            checks,
            CONCURRENCY,
            Instant::now() + Duration::from_secs(5),
            |check| async move {
                // Later checks answer sooner, so completion order is reversed.
                let n: u64 = check.target().rsplit('/').next().unwrap().parse().unwrap();
                tokio::time::sleep(Duration::from_millis(100 - n)).await;
                Judgement::pass(Some(200))
            },
        )
        .await;
        let targets: Vec<String> = results.iter().map(|r| r.target.clone()).collect();
        let expected: Vec<String> = (0..20).map(|n| format!("http://target/{n}")).collect();
        assert_eq!(targets, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let running = Arc::new(AtomicU32::new(0));
        let peak = Arc::new(AtomicU32::new(0));
        let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
        let checks: Vec<Check> = (0..12).map(|n| check(n, 1)).collect();
        let results = run_checks(
            checks,
            CONCURRENCY,
            Instant::now() + Duration::from_secs(5),
            move |_| {
                let (r, p) = (Arc::clone(&r), Arc::clone(&p));
                async move {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    r.fetch_sub(1, Ordering::SeqCst);
                    Judgement::pass(Some(200))
                }
            },
        )
        .await;
        assert!(results.iter().all(CheckResult::passed));
        assert_eq!(peak.load(Ordering::SeqCst), 4);
    }
}
