//! Which minutes a judgement reads (pure): CloudWatch's points are per minute and arrive late,
//! so only whole minutes that ended at least the settle time ago are read, and one
//! `GetMetricData` call ("a look") reads both sides at once.
//!
//! Two layouts. *Side by side*: both versions over the same minutes, while traffic was split
//! between them (a canary's or a linear deployment's shift). *Before and after*: when the shift
//! was too quick to hold enough traffic, the new version's minutes after it against as many of the
//! old version's minutes just before it. One look reads both with a single period per side:
//! CloudWatch computes each side's p99 over exactly its minutes, which per-minute points could not
//! give.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

pub(crate) const MINUTE: Duration = Duration::from_secs(60);

/// Whole minutes, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: SystemTime,
    pub end: SystemTime,
}

impl Window {
    /// The whole minutes that cover `[start, end)`: the first started minute to the last
    /// started one. Traffic outside the shift in those edge minutes is still each side's own.
    pub(crate) fn covering(start: SystemTime, end: SystemTime) -> Window {
        Window {
            start: floor_minute(start),
            end: ceil_minute(end.max(start)),
        }
    }

    pub(crate) fn length(&self) -> Duration {
        self.end.duration_since(self.start).unwrap_or_default()
    }

    pub(crate) fn minutes(&self) -> u64 {
        self.length().as_secs() / 60
    }

    /// `2026-12-07T10:00:00Z/2026-12-07T10:10:00Z` (ISO 8601's interval form).
    pub fn shown(&self) -> String {
        format!("{}/{}", shown_time(self.start), shown_time(self.end))
    }
}

/// `2026-12-07T10:00:00Z`.
pub(crate) fn shown_time(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| format!("{:?}", time))
}

pub(crate) fn floor_minute(time: SystemTime) -> SystemTime {
    let seconds = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    UNIX_EPOCH + Duration::from_secs(seconds - seconds % 60)
}

pub(crate) fn ceil_minute(time: SystemTime) -> SystemTime {
    let floor = floor_minute(time);
    if floor == time { floor } else { floor + MINUTE }
}

/// The end of the last minute whose data can be read at `now`: it ended `settle` ago or more.
pub(crate) fn complete_until(now: SystemTime, settle: Duration) -> SystemTime {
    floor_minute(now.checked_sub(settle).unwrap_or(UNIX_EPOCH))
}

/// One `GetMetricData` call: `periods` periods of `period` from `start`, and the period each
/// side reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    pub start: SystemTime,
    pub period: Duration,
    pub periods: u32,
    pub new_period: u32,
    pub old_period: u32,
}

impl Look {
    pub(crate) fn end(&self) -> SystemTime {
        self.start + self.period * self.periods
    }

    /// The minutes side `index` reads.
    pub(crate) fn window_of(&self, index: u32) -> Window {
        let start = self.start + self.period * index;
        Window {
            start,
            end: start + self.period,
        }
    }

    /// Both sides over `window`'s minutes.
    pub(crate) fn side_by_side(window: Window) -> Option<Look> {
        (window.minutes() > 0).then_some(Look {
            start: window.start,
            period: window.length(),
            periods: 1,
            new_period: 0,
            old_period: 0,
        })
    }

    /// The new version over `length` after `shift`, the old one over `length` before it.
    pub(crate) fn before_and_after(shift: SystemTime, length: Duration) -> Option<Look> {
        let shift = ceil_minute(shift);
        let length = Duration::from_secs(length.as_secs() / 60 * 60);
        (length >= MINUTE).then(|| Look {
            start: shift.checked_sub(length).unwrap_or(UNIX_EPOCH),
            period: length,
            periods: 2,
            new_period: 1,
            old_period: 0,
        })
    }
}

/// How many whole minutes after `shift` are complete at `now`.
pub(crate) fn complete_minutes_after(shift: SystemTime, now: SystemTime, settle: Duration) -> Duration {
    let done = complete_until(now, settle);
    let minutes = done.duration_since(ceil_minute(shift)).unwrap_or_default().as_secs() / 60;
    Duration::from_secs(minutes * 60)
}

/// When the minute after `minutes_done` whole minutes past `shift` can be read.
pub(crate) fn next_minute_readable(shift: SystemTime, minutes_done: Duration, settle: Duration) -> SystemTime {
    ceil_minute(shift) + minutes_done + MINUTE + settle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u64, second: u64) -> SystemTime {
        // 2026-12-07T10:00:00Z is 1_796_637_600.
        UNIX_EPOCH + Duration::from_secs(1_796_637_600 + minute * 60 + second)
    }

    #[test]
    fn a_window_covers_every_started_minute() {
        let window = Window::covering(at(1, 30), at(11, 5));
        assert_eq!((window.start, window.end), (at(1, 0), at(12, 0)));
        assert_eq!(window.minutes(), 11);
        assert_eq!(Window::covering(at(2, 0), at(4, 0)).minutes(), 2);
        assert_eq!(
            Window::covering(at(2, 0), at(4, 0)).shown(),
            "2026-12-07T10:02:00Z/2026-12-07T10:04:00Z"
        );
    }

    #[test]
    fn only_minutes_that_ended_the_settle_time_ago_are_complete() {
        let settle = Duration::from_secs(180);
        assert_eq!(complete_until(at(10, 59), settle), at(7, 0));
        assert_eq!(complete_until(at(10, 0), settle), at(7, 0));
        assert_eq!(
            complete_minutes_after(at(2, 10), at(10, 0), settle),
            Duration::from_secs(240)
        );
        assert_eq!(complete_minutes_after(at(2, 10), at(5, 0), settle), Duration::ZERO);
        assert_eq!(
            next_minute_readable(at(2, 10), Duration::from_secs(240), settle),
            at(11, 0)
        );
    }

    #[test]
    fn before_and_after_reads_two_periods_around_the_shift() {
        let look = Look::before_and_after(at(5, 20), Duration::from_secs(150)).unwrap();
        assert_eq!(look.period, Duration::from_secs(120), "whole minutes only");
        assert_eq!(
            look.window_of(look.old_period),
            Window {
                start: at(4, 0),
                end: at(6, 0)
            }
        );
        assert_eq!(
            look.window_of(look.new_period),
            Window {
                start: at(6, 0),
                end: at(8, 0)
            }
        );
        assert_eq!(look.end(), at(8, 0));
        assert_eq!(Look::before_and_after(at(5, 0), Duration::from_secs(59)), None);
        let side_by_side = Look::side_by_side(Window::covering(at(1, 0), at(3, 0))).unwrap();
        assert_eq!(
            side_by_side.window_of(side_by_side.new_period),
            side_by_side.window_of(0)
        );
        assert_eq!(Look::side_by_side(Window::covering(at(1, 0), at(1, 0))), None);
    }
}
