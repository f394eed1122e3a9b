//! The live judge's payload, which the template's EventBridge schedule sends once a minute:
//! `{"preflight": "judge-live", "time": "2026-12-07T05:41:00Z"}` (its input transformer passes
//! the schedule's `time`; without one, the judge takes the time it runs).

use std::fmt;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::Value;

use crate::plumbing::text::kind_of;

/// The key that names what preflight is asked to do, and the live judge's value of it.
pub(crate) const ACTION_KEY: &str = "preflight";
pub(crate) const JUDGE_LIVE: &str = "judge-live";

/// A payload that asks preflight itself for something (so far, to judge the running canaries).
pub fn is_live_judge_payload(payload: &Value) -> bool {
    payload.get(ACTION_KEY).is_some()
}

/// One run of the schedule: when it fired, if the payload says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub time: Option<SystemTime>,
}

/// Why the schedule's payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid live judge payload: {}; the live judge's schedule sends {{\"{ACTION_KEY}\": \"{JUDGE_LIVE}\", \
             \"time\": \"2026-12-07T05:41:00Z\"}} (time optional)",
            self.0
        )
    }
}

impl std::error::Error for ScheduleError {}

pub fn parse_schedule(payload: &Value) -> Result<Schedule, ScheduleError> {
    match payload.get(ACTION_KEY) {
        Some(Value::String(action)) if action == JUDGE_LIVE => {}
        Some(Value::String(action)) => {
            return Err(ScheduleError(format!(
                "`{ACTION_KEY}` is `{}`, which preflight does not know",
                crate::plumbing::text::truncate(action)
            )));
        }
        Some(other) => {
            return Err(ScheduleError(format!(
                "`{ACTION_KEY}` is {}, not a string",
                kind_of(other)
            )));
        }
        None => return Err(ScheduleError(format!("there is no `{ACTION_KEY}` key"))),
    }
    let time = match payload.get("time") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(
            DateTime::from_str(text, Format::DateTime)
                .ok()
                .and_then(|time| SystemTime::try_from(time).ok())
                .ok_or_else(|| {
                    ScheduleError(format!(
                        "`time` is `{}`, not an RFC 3339 time",
                        crate::plumbing::text::truncate(text)
                    ))
                })?,
        ),
        Some(other) => return Err(ScheduleError(format!("`time` is {}, not a string", kind_of(other)))),
    };
    Ok(Schedule { time })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn the_schedule_s_time_is_read_and_is_optional() {
        let schedule = parse_schedule(&json!({"preflight": "judge-live", "time": "2026-12-07T05:41:00Z"})).unwrap();
        assert_eq!(
            schedule.time,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_622_060))
        );
        assert_eq!(parse_schedule(&json!({"preflight": "judge-live"})).unwrap().time, None);
    }

    #[test]
    fn a_bad_payload_says_what_was_wrong_and_what_the_schedule_sends() {
        for (payload, says) in [
            (
                json!({"preflight": "judge-everything"}),
                "`judge-everything`, which preflight does not know",
            ),
            (json!({"preflight": 1}), "a number, not a string"),
            (
                json!({"preflight": "judge-live", "time": "yesterday"}),
                "`yesterday`, not an RFC 3339 time",
            ),
            (json!({"preflight": "judge-live", "time": 5}), "`time` is a number"),
        ] {
            let error = parse_schedule(&payload).unwrap_err().to_string();
            assert!(error.contains(says), "{error}");
            assert!(error.contains(r#"{"preflight": "judge-live""#), "{error}");
        }
    }
}
