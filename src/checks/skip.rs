//! The emergency skip: `PREFLIGHT_SKIP_UNTIL` (an RFC 3339 time, at most 7 days ahead) lets every
//! execution pass unchecked until then, and a deployment whose description contains
//! `[skip preflight]` passes unchecked by itself. Pure: the clock is an argument.
//!
//! The skip ends by itself, so a skip set during an incident cannot be forgotten; the 7-day
//! bound keeps it from being a way to switch preflight off.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// The longest skip `PREFLIGHT_SKIP_UNTIL` may ask for, from the time the function starts.
pub(crate) const LONGEST_SKIP: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The text a deployment's description carries to skip its checks (any case).
pub(crate) const DESCRIPTION_DIRECTIVE: &str = "[skip preflight]";

/// Until when checks are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkipUntil {
    pub until: SystemTime,
}

impl SkipUntil {
    /// Parses `text` at `now`; a time in the past is accepted (the skip is simply over).
    pub fn parse(text: &str, now: SystemTime) -> Result<SkipUntil, String> {
        let parsed = DateTime::from_str(text.trim(), Format::DateTimeWithOffset).map_err(|_| {
            format!(
                "is `{text}`, not an RFC 3339 time: write it like 2026-11-25T18:00:00Z or 2026-11-25T19:00:00+01:00"
            )
        })?;
        let until =
            SystemTime::try_from(parsed).map_err(|_| format!("is `{text}`, a time preflight cannot represent"))?;
        if until.duration_since(now).is_ok_and(|ahead| ahead > LONGEST_SKIP) {
            return Err(format!(
                "is `{text}`, more than 7 days ahead: an emergency skip must end soon; pick a time within 7 days, \
                 and set it again if the emergency lasts"
            ));
        }
        Ok(SkipUntil { until })
    }

    pub fn in_force(&self, now: SystemTime) -> bool {
        now < self.until
    }

    /// The time in UTC, as the logs show it: `2026-11-25T18:00:00Z`.
    pub fn shown(&self) -> String {
        DateTime::from(self.until)
            .fmt(Format::DateTime)
            .unwrap_or_else(|_| "(unprintable time)".into())
    }
}

/// Whether a deployment's description asks to skip its checks.
pub(crate) fn description_asks_to_skip(description: &str) -> bool {
    description.to_lowercase().contains(DESCRIPTION_DIRECTIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        SystemTime::try_from(DateTime::from_str(text, Format::DateTime).unwrap()).unwrap()
    }

    #[test]
    fn a_skip_holds_until_its_time_and_then_ends_by_itself() {
        let now = at("2026-11-25T12:00:00Z");
        let skip = SkipUntil::parse("2026-11-25T18:00:00Z", now).unwrap();
        assert!(skip.in_force(now));
        assert!(skip.in_force(at("2026-11-25T17:59:59Z")));
        assert!(!skip.in_force(at("2026-11-25T18:00:00Z")));
        assert_eq!(skip.shown(), "2026-11-25T18:00:00Z");
    }

    #[test]
    fn offsets_are_understood() {
        let now = at("2026-11-25T12:00:00Z");
        let skip = SkipUntil::parse("2026-11-25T19:00:00+01:00", now).unwrap();
        assert_eq!(skip.shown(), "2026-11-25T18:00:00Z");
    }

    #[test]
    fn more_than_seven_days_ahead_is_refused_but_a_past_time_is_not() {
        let now = at("2026-11-25T12:00:00Z");
        assert!(SkipUntil::parse("2026-12-02T12:00:00Z", now).is_ok());
        let error = SkipUntil::parse("2026-12-02T12:00:01Z", now).unwrap_err();
        assert!(error.contains("more than 7 days ahead"), "{error}");
        assert!(!SkipUntil::parse("2026-11-01T00:00:00Z", now).unwrap().in_force(now));
    }

    #[test]
    fn a_time_that_is_not_rfc_3339_says_how_to_write_one() {
        let now = at("2026-11-25T12:00:00Z");
        for text in ["tomorrow", "2026-11-25", "2026-11-25 18:00", "1764000000"] {
            let error = SkipUntil::parse(text, now).unwrap_err();
            assert!(error.contains("not an RFC 3339 time"), "{text}: {error}");
        }
    }

    #[test]
    fn the_description_directive_is_case_insensitive() {
        assert!(description_asks_to_skip("hotfix [skip preflight]"));
        assert!(description_asks_to_skip("[Skip Preflight] rollback of #42"));
        assert!(!description_asks_to_skip("skip preflight"));
        assert!(!description_asks_to_skip("[skip-preflight]"));
    }
}
