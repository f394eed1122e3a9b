//! The invocation's deadline: from Lambda's epoch milliseconds to a timer `Instant`, and what to
//! do when a local emulator sends a placeholder instead.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The budget assumed when the deadline is a placeholder: the template's default hook timeout.
pub const PLACEHOLDER_DEADLINE_BUDGET: Duration = Duration::from_secs(60);

/// The time left until the invocation's deadline, and whether the deadline was a placeholder.
///
/// Lambda sends the deadline as milliseconds since the epoch, always in the future. Local
/// emulators may send a placeholder instead (cargo lambda sends `600000`, a moment in 1970); a
/// deadline more than a minute in the past cannot come from Lambda, so it is replaced by
/// [`PLACEHOLDER_DEADLINE_BUDGET`] rather than failing every check at once.
pub fn remaining_time(deadline_epoch_ms: u64, now_epoch_ms: u64) -> (Duration, bool) {
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
pub fn instant_of(deadline_epoch_ms: u64) -> Instant {
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
pub fn keep_back(deadline: Instant, margin: Duration) -> Instant {
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
}
