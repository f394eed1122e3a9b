//! The invocation's deadline: from Lambda's epoch milliseconds to a timer `Instant`, what to
//! do when a local emulator sends a placeholder instead, and work that must stop by it.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Why guarded work gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// It panicked; the text is the task's error.
    Panicked(String),
    /// It was still running at the deadline (plus a short grace), and was stopped.
    OutOfTime,
}

/// Runs `work` in its own task, so that neither a panic nor a hang keeps the caller from
/// answering in time. At `deadline` plus 100 ms the task is aborted: nothing may outlive the
/// verdict (a late check would be checking for nobody). Work that stops itself at `deadline`,
/// as the check runner does, only meets the grace on a slow AWS call before it.
pub(crate) async fn run_guarded<T, F>(work: F, deadline: Instant) -> Result<T, Stopped>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let task = tokio::spawn(work);
    let abort = task.abort_handle();
    let grace = Duration::from_millis(100);
    match tokio::time::timeout_at(deadline + grace, task).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(join_error)) => Err(Stopped::Panicked(join_error.to_string())),
        Err(_) => {
            abort.abort();
            Err(Stopped::OutOfTime)
        }
    }
}

/// The budget assumed when the deadline is a placeholder: the template's default hook timeout.
pub(crate) const PLACEHOLDER_DEADLINE_BUDGET: Duration = Duration::from_secs(60);

/// The time left until the invocation's deadline, and whether the deadline was a placeholder.
///
/// Lambda sends the deadline as milliseconds since the epoch, always in the future. Local
/// emulators may send a placeholder instead (cargo lambda sends `600000`, a moment in 1970); a
/// deadline more than a minute in the past cannot come from Lambda, so it is replaced by
/// [`PLACEHOLDER_DEADLINE_BUDGET`] rather than failing every check at once.
pub(crate) fn remaining_time(deadline_epoch_ms: u64, now_epoch_ms: u64) -> (Duration, bool) {
    const IMPLAUSIBLY_LATE_MS: u64 = 60_000;
    if deadline_epoch_ms.saturating_add(IMPLAUSIBLY_LATE_MS) < now_epoch_ms {
        return (PLACEHOLDER_DEADLINE_BUDGET, true);
    }
    (
        Duration::from_millis(deadline_epoch_ms.saturating_sub(now_epoch_ms)),
        false,
    )
}

/// Timers want an `Instant`; see [`remaining_time`]. A placeholder is logged once per invocation.
pub(crate) fn instant_of(deadline_epoch_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let (remaining, placeholder) = remaining_time(deadline_epoch_ms, now_ms);
    if placeholder {
        tracing::warn!(
            deadline_epoch_ms,
            assumed_budget_ms = remaining.as_millis() as u64,
            "the invocation's deadline is long past, so it is a local emulator's placeholder; assuming a 60 s budget"
        );
    }
    Instant::now() + remaining
}

/// The moment `margin` before `deadline`: work stops then, so that what must follow (a report, a
/// logged error) still fits. It may already be past, which makes every timer fire at once.
pub(crate) fn keep_back(deadline: Instant, margin: Duration) -> Instant {
    deadline.checked_sub(margin).unwrap_or(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_000_000_000;

    #[test]
    fn a_real_deadline_gives_the_time_left() {
        assert_eq!(remaining_time(NOW + 30_000, NOW), (Duration::from_secs(30), false));
    }

    #[test]
    fn a_deadline_just_passed_leaves_no_time() {
        assert_eq!(remaining_time(NOW - 500, NOW), (Duration::ZERO, false));
    }

    #[test]
    fn a_placeholder_deadline_in_1970_gets_the_fallback_budget() {
        assert_eq!(remaining_time(600_000, NOW), (PLACEHOLDER_DEADLINE_BUDGET, true));
    }

    #[tokio::test(start_paused = true)]
    async fn guarded_work_answers_panics_and_is_stopped_at_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(run_guarded(async { 7 }, deadline).await, Ok(7));
        let panicked = run_guarded(async { panic!("boom") }, deadline).await;
        assert!(
            matches!(&panicked, Err(Stopped::Panicked(why)) if why.contains("boom")),
            "{panicked:?}"
        );
        let started = Instant::now();
        let hung = run_guarded(std::future::pending::<()>(), deadline).await;
        assert_eq!(hung, Err(Stopped::OutOfTime));
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(5_100),
            "the deadline plus the grace"
        );
    }
}
