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
    /// Synthetic requests through the production path while the canary window is open, for a
    /// target whose own traffic is too light to judge (`None`: only real traffic).
    pub traffic: Option<TrafficSettings>,
}

/// The `traffic` key under `canary`: synthetic requests sent through the production path (a
/// Lambda alias, an ECS service's production listener), so that both versions reach
/// `min_requests`. Only the entry's own checks are sent, and only those whose method is one of
/// `methods` (GET and HEAD unless named) or that are raw payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficSettings {
    /// Requests a minute, at most [`MAX_PER_MINUTE`].
    pub per_minute: u32,
    /// Requests in all for one target's window, at most [`MAX_TOTAL`].
    pub max_requests: u32,
    pub methods: Methods,
}

/// The hard caps on `traffic`: a setting above them is refused, not lowered.
pub const MAX_PER_MINUTE: u32 = 600;
pub const MAX_TOTAL: u32 = 20_000;

impl Default for TrafficSettings {
    fn default() -> TrafficSettings {
        TrafficSettings {
            per_minute: 60,
            max_requests: 2_000,
            methods: Methods::SAFE,
        }
    }
}

/// A set of HTTP methods whose checks may be sent as traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Methods(u8);

/// The methods `traffic.methods` may name, each a bit of [`Methods`].
const METHOD_NAMES: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl Methods {
    /// GET and HEAD: what traffic sends unless other methods are named.
    pub const SAFE: Methods = Methods(0b11);

    pub fn contains(self, method: &str) -> bool {
        METHOD_NAMES
            .iter()
            .position(|name| name.eq_ignore_ascii_case(method))
            .is_some_and(|bit| self.0 & (1 << bit) != 0)
    }

    fn named(names: &[String]) -> Result<Methods, String> {
        let mut set = 0u8;
        for name in names {
            let bit = METHOD_NAMES
                .iter()
                .position(|known| known.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| format!("names `{name}`: expected some of {}", METHOD_NAMES.join(", ")))?;
            set |= 1 << bit;
        }
        if set == 0 {
            return Err("is empty: name the methods whose checks may be sent (GET and HEAD by default)".into());
        }
        Ok(Methods(set))
    }

    /// `GET, HEAD`.
    pub fn shown(self) -> String {
        METHOD_NAMES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
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
            traffic: None,
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
    /// `traffic:` with nothing after it sends traffic with the defaults, as `traffic: {}` does.
    #[serde(default, deserialize_with = "present_even_if_empty")]
    traffic: Option<TrafficEntry>,
}

/// The `traffic` key as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrafficEntry {
    per_minute: Option<u64>,
    max_requests: Option<u64>,
    methods: Option<Vec<String>>,
}

fn present_even_if_empty<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<TrafficEntry>, D::Error> {
    Option::<TrafficEntry>::deserialize(value).map(|entry| Some(entry.unwrap_or_default()))
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
        let traffic = match self.traffic {
            None => None,
            Some(entry) => {
                let defaults = TrafficSettings::default();
                Some(TrafficSettings {
                    per_minute: whole(
                        "traffic.per_minute",
                        entry.per_minute,
                        1,
                        u64::from(MAX_PER_MINUTE),
                        u64::from(defaults.per_minute),
                    )? as u32,
                    max_requests: whole(
                        "traffic.max_requests",
                        entry.max_requests,
                        1,
                        u64::from(MAX_TOTAL),
                        u64::from(defaults.max_requests),
                    )? as u32,
                    methods: match entry.methods {
                        None => Methods::SAFE,
                        Some(names) => Methods::named(&names).map_err(|problem| refuse("traffic.methods", problem))?,
                    },
                })
            }
        };
        Ok(CanarySettings {
            traffic,
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
        ) + &self
            .traffic
            .map(|traffic| {
                format!(
                    ", traffic {}/min up to {} ({})",
                    traffic.per_minute,
                    traffic.max_requests,
                    traffic.methods.shown()
                )
            })
            .unwrap_or_default()
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
                traffic: None,
            }
        );
    }

    #[test]
    fn traffic_takes_its_defaults_sends_get_and_head_unless_told_and_is_capped() {
        let bare = read(json!({"traffic": null})).unwrap().traffic;
        assert_eq!(bare, Some(TrafficSettings::default()));
        let methods = bare.unwrap().methods;
        assert!(methods.contains("GET") && methods.contains("head") && !methods.contains("POST"));
        let named = read(json!({"traffic": {"per_minute": 600, "max_requests": 500, "methods": ["GET", "post"]}}))
            .unwrap()
            .traffic
            .unwrap();
        assert_eq!((named.per_minute, named.max_requests), (600, 500));
        assert!(named.methods.contains("POST") && !named.methods.contains("HEAD"));
        let refused = |value| read(value).unwrap_err();
        assert_eq!(
            refused(json!({"traffic": {"per_minute": 601}})).key,
            "traffic.per_minute"
        );
        assert_eq!(
            refused(json!({"traffic": {"max_requests": 20_001}})).key,
            "traffic.max_requests"
        );
        let unknown = refused(json!({"traffic": {"methods": ["FETCH"]}}));
        assert_eq!(unknown.key, "traffic.methods");
        assert!(unknown.problem.contains("`FETCH`"), "{}", unknown.problem);
        assert_eq!(refused(json!({"traffic": {"methods": []}})).key, "traffic.methods");
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
