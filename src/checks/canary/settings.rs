//! The `canary` key of a check-definitions entry (and of an ECS hook's `hookDetails.preflight`):
//! how a target's real traffic is judged. `canary: {}` turns judging on with the defaults; every
//! bad value is refused with its place, as the rest of the document's are.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// What an `Inconclusive` judgement does to the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInconclusive {
    /// Let it go on (the synthetic checks passed); the verdict still says `Inconclusive`.
    Succeed,
    /// Stop it: too little was seen to let it through.
    Fail,
}

impl fmt::Display for OnInconclusive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnInconclusive::Succeed => "succeed",
            OnInconclusive::Fail => "fail",
        })
    }
}

/// How one target's traffic is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanarySettings {
    /// Fewer requests than this on either side: `Inconclusive`.
    pub min_requests: u64,
    /// How long preflight may wait for enough traffic (zero: judge what is there).
    pub bake: Duration,
    /// How long after a minute ends before its data is read: CloudWatch's points arrive late.
    pub settle: Duration,
    pub on_inconclusive: OnInconclusive,
    /// How sure the error rule must be that the new version errs more than the old one by more
    /// than chance, from 0.5 to 0.999999.
    pub confidence: f64,
    /// The error rate may rise by this many percentage points before the error rule fails.
    pub max_error_increase_points: f64,
    /// The new version's p99 may be this many times the old one's...
    pub max_p99_ratio: f64,
    /// ...or this many milliseconds above it: the latency rule fails only past both.
    pub max_p99_increase_ms: f64,
}

impl Default for CanarySettings {
    fn default() -> CanarySettings {
        CanarySettings {
            min_requests: 100,
            bake: Duration::from_secs(10 * 60),
            settle: Duration::from_secs(3 * 60),
            on_inconclusive: OnInconclusive::Succeed,
            confidence: 0.99,
            max_error_increase_points: 1.0,
            max_p99_ratio: 1.5,
            max_p99_increase_ms: 100.0,
        }
    }
}

/// The key as written. Every member is optional to serde so that a missing one takes its
/// default and a wrong one gets a sentence of ours.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CanaryEntry {
    min_requests: Option<u64>,
    bake_minutes: Option<u64>,
    settle_minutes: Option<u64>,
    on_inconclusive: Option<String>,
    confidence: Option<f64>,
    max_error_increase_points: Option<f64>,
    max_p99_ratio: Option<f64>,
    max_p99_increase_ms: Option<f64>,
}

/// A bad value: the key under `canary` and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingError {
    pub key: &'static str,
    pub problem: String,
}

fn refuse(key: &'static str, problem: String) -> SettingError {
    SettingError { key, problem }
}

fn whole(key: &'static str, value: Option<u64>, min: u64, max: u64, default: u64) -> Result<u64, SettingError> {
    match value {
        None => Ok(default),
        Some(value) if (min..=max).contains(&value) => Ok(value),
        Some(value) => Err(refuse(
            key,
            format!("is {value}: expected a whole number from {min} to {max}"),
        )),
    }
}

fn number(key: &'static str, value: Option<f64>, min: f64, max: f64, default: f64) -> Result<f64, SettingError> {
    match value {
        None => Ok(default),
        Some(value) if value.is_finite() && (min..=max).contains(&value) => Ok(value),
        Some(value) => Err(refuse(
            key,
            format!("is {value}: expected a number from {min} to {max}"),
        )),
    }
}

impl CanaryEntry {
    /// The settings, each value checked against its range.
    pub(crate) fn settings(self) -> Result<CanarySettings, SettingError> {
        let defaults = CanarySettings::default();
        let minutes = |duration: Duration| duration.as_secs() / 60;
        let on_inconclusive = match self.on_inconclusive.as_deref().map(str::trim) {
            None | Some("succeed") => OnInconclusive::Succeed,
            Some("fail") => OnInconclusive::Fail,
            Some(other) => {
                return Err(refuse(
                    "on_inconclusive",
                    format!("is `{other}`: expected `succeed` (let the deployment go on) or `fail` (stop it)"),
                ));
            }
        };
        Ok(CanarySettings {
            min_requests: whole("min_requests", self.min_requests, 1, 100_000_000, defaults.min_requests)?,
            // A CodeDeploy hook waits within its Lambda timeout (15 minutes at most); ECS's own
            // hooks wait across calls, so an hour is allowed.
            bake: Duration::from_secs(60 * whole("bake_minutes", self.bake_minutes, 0, 60, minutes(defaults.bake))?),
            settle: Duration::from_secs(
                60 * whole("settle_minutes", self.settle_minutes, 1, 15, minutes(defaults.settle))?,
            ),
            on_inconclusive,
            confidence: number("confidence", self.confidence, 0.5, 0.999_999, defaults.confidence)?,
            max_error_increase_points: number(
                "max_error_increase_points",
                self.max_error_increase_points,
                0.0,
                100.0,
                defaults.max_error_increase_points,
            )?,
            max_p99_ratio: number("max_p99_ratio", self.max_p99_ratio, 1.0, 1000.0, defaults.max_p99_ratio)?,
            max_p99_increase_ms: number(
                "max_p99_increase_ms",
                self.max_p99_increase_ms,
                0.0,
                900_000.0,
                defaults.max_p99_increase_ms,
            )?,
        })
    }
}

impl CanarySettings {
    /// The settings as the summary line and `preflight explain` show them.
    pub fn describe(&self) -> String {
        format!(
            "min_requests {}, bake {} min, settle {} min, on_inconclusive {}, confidence {}, errors +{} points, \
             p99 x{} and +{} ms",
            self.min_requests,
            self.bake.as_secs() / 60,
            self.settle.as_secs() / 60,
            self.on_inconclusive,
            self.confidence,
            self.max_error_increase_points,
            self.max_p99_ratio,
            self.max_p99_increase_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: serde_json::Value) -> Result<CanarySettings, SettingError> {
        serde_json::from_value::<CanaryEntry>(value).unwrap().settings()
    }

    #[test]
    fn an_empty_key_takes_every_default() {
        assert_eq!(read(json!({})), Ok(CanarySettings::default()));
    }

    #[test]
    fn each_key_sets_its_value() {
        let settings = read(json!({
            "min_requests": 500, "bake_minutes": 0, "settle_minutes": 5, "on_inconclusive": "fail",
            "confidence": 0.95, "max_error_increase_points": 0.5, "max_p99_ratio": 2.0, "max_p99_increase_ms": 250
        }))
        .unwrap();
        assert_eq!(
            settings,
            CanarySettings {
                min_requests: 500,
                bake: Duration::ZERO,
                settle: Duration::from_secs(300),
                on_inconclusive: OnInconclusive::Fail,
                confidence: 0.95,
                max_error_increase_points: 0.5,
                max_p99_ratio: 2.0,
                max_p99_increase_ms: 250.0,
            }
        );
    }

    #[test]
    fn a_value_out_of_range_names_its_key_and_the_range() {
        let refused = |value| read(value).unwrap_err();
        assert_eq!(refused(json!({"min_requests": 0})).key, "min_requests");
        assert_eq!(refused(json!({"bake_minutes": 61})).key, "bake_minutes");
        assert_eq!(refused(json!({"settle_minutes": 0})).key, "settle_minutes");
        let confidence = refused(json!({"confidence": 1.0}));
        assert_eq!(confidence.key, "confidence");
        assert!(
            confidence.problem.contains("from 0.5 to 0.999999"),
            "{}",
            confidence.problem
        );
        assert_eq!(refused(json!({"max_p99_ratio": 0.9})).key, "max_p99_ratio");
        let word = refused(json!({"on_inconclusive": "pass"}));
        assert!(word.problem.contains("`succeed`"), "{}", word.problem);
    }
}
