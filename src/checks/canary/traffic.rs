//! Synthetic traffic for a quiet canary (the `traffic` key): the entry's own requests sent
//! through the production path, paced at its rate, within its cap, stopped as soon as the window
//! closes or the deadline nears. The answers are not judged here (the metrics judge them, as they
//! judge real traffic). The callers count a burst (`SyntheticRequests`) before they send it.

use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::settings::TrafficSettings;
use super::window::MINUTE;
use crate::checks::Check;
use crate::checks::probe::Probe;

/// How long one burst takes at most: a live judge's run ends before the next begins a minute
/// later, and an ECS call answers well inside its own time.
pub(crate) const BURST_SPAN: Duration = Duration::from_secs(40);
/// How often a burst asks whether its window is still open.
pub(crate) const RECHECK: Duration = Duration::from_secs(10);

/// What one burst of traffic sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sent {
    pub total: u32,
    /// Why sending stopped early, if it did.
    pub stopped: Option<String>,
}

/// How many requests one burst may send: a minute's worth at the rate, less what the cap leaves
/// after `already` (an upper bound of what earlier bursts sent).
pub(crate) fn allowance(traffic: &TrafficSettings, already: u64) -> u32 {
    let left = u64::from(traffic.max_requests).saturating_sub(already);
    u32::try_from(left.min(u64::from(traffic.per_minute))).unwrap_or(traffic.per_minute)
}

/// Sends `count` requests, round robin over `requests`, each one at least minute ÷ `per_minute`
/// after the one before (or closer, so that they all fit in `span`), one at a time: a slow target
/// slows the burst down, never speeds it up. Asks `still_open` before the first and then every
/// `recheck`; stops when it says no, or before `deadline`.
#[allow(clippy::too_many_arguments)] // each is one setting of the burst; a struct would only rename them
pub(crate) async fn send_paced<F, Fut>(
    probe: &Probe,
    requests: &[Check],
    count: u32,
    per_minute: u32,
    span: Duration,
    deadline: Instant,
    recheck: Duration,
    mut still_open: F,
) -> Sent
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, String>>,
{
    let mut sent = Sent::default();
    if requests.is_empty() || count == 0 {
        return sent;
    }
    let started = Instant::now();
    // The burst fits before the deadline: closer together rather than cut short.
    let span = span.min(deadline.saturating_duration_since(started));
    let interval = (MINUTE / per_minute.max(1)).min(span / count);
    let mut next_recheck = started;
    let mut at = started;
    for request in requests.iter().cycle().take(count as usize) {
        if at >= deadline {
            sent.stopped = Some("the deadline came".into());
            break;
        }
        tokio::time::sleep_until(at).await;
        if Instant::now() >= next_recheck {
            match still_open().await {
                Ok(true) => next_recheck = Instant::now() + recheck,
                Ok(false) => {
                    sent.stopped = Some("the canary window closed".into());
                    break;
                }
                Err(why) => {
                    sent.stopped = Some(format!("whether the window is still open could not be read: {why}"));
                    break;
                }
            }
        }
        sent.total += 1;
        // The next one no sooner than an interval after this one was sent.
        at = Instant::now() + interval;
        // The answer is the metrics' to judge; only the deadline bounds the wait for it.
        let _ = tokio::time::timeout_at(deadline, probe.attempt(request)).await;
    }
    sent
}

/// The minutes the cap must assume were sent in: from `read_until` (the end of what CloudWatch
/// answered for) to `now`, each minute begun counted whole.
pub(crate) fn unread_minutes(read_until: SystemTime, now: SystemTime) -> u64 {
    let unread = now.duration_since(read_until).unwrap_or_default();
    unread.as_secs().div_ceil(MINUTE.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_is_a_minute_at_the_rate_within_what_the_cap_leaves() {
        let traffic = TrafficSettings {
            per_minute: 60,
            max_requests: 100,
            ..TrafficSettings::default()
        };
        assert_eq!(allowance(&traffic, 0), 60);
        assert_eq!(allowance(&traffic, 70), 30);
        assert_eq!(allowance(&traffic, 100), 0);
        assert_eq!(allowance(&traffic, 1_000), 0);
    }

    #[test]
    fn an_unread_minute_begun_counts_whole() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_637_600);
        assert_eq!(unread_minutes(at, at), 0);
        assert_eq!(unread_minutes(at, at + Duration::from_secs(61)), 2);
        assert_eq!(unread_minutes(at + MINUTE, at), 0);
    }
}
