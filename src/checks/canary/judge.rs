//! The judgement of one target's traffic, new version against old (pure): `Inconclusive` when
//! either side saw too little, `Fail` when the new version errs more beyond chance and by a margin
//! worth a rollback or is slower by both a ratio and an amount, `Pass` otherwise. Whatever it
//! decides, it says which rule decided and with what numbers.

use std::fmt;

use serde::Serialize;

use super::settings::CanarySettings;
use super::statistics::excess_errors_p_value;
use super::window::Window;

/// The three outcomes. Missing data is never a `Pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Ruling {
    Pass,
    Inconclusive,
    Fail,
}

impl Ruling {
    pub fn name(self) -> &'static str {
        match self {
            Ruling::Pass => "Pass",
            Ruling::Inconclusive => "Inconclusive",
            Ruling::Fail => "Fail",
        }
    }
}

impl fmt::Display for Ruling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One side's traffic over its window, as CloudWatch published it: a count it did not publish
/// is `None` (for requests, no traffic; for errors with requests present, no errors).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Traffic {
    pub requests: Option<f64>,
    pub errors: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// One version and what it served.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// `version 7`, `green (targetgroup/web-green/0123)`.
    pub name: String,
    pub window: Window,
    pub traffic: Traffic,
}

impl Side {
    /// Requests as a whole number: no published count is no traffic.
    pub(crate) fn requests(&self) -> u64 {
        count(self.traffic.requests)
    }

    /// Errors as a whole number, never more than the requests: a late error point without its
    /// request point must not make a rate above 100%.
    pub(crate) fn errors(&self) -> u64 {
        count(self.traffic.errors).min(self.requests())
    }

    pub(crate) fn error_rate(&self) -> f64 {
        match self.requests() {
            0 => 0.0,
            requests => self.errors() as f64 / requests as f64,
        }
    }
}

fn count(value: Option<f64>) -> u64 {
    value
        .filter(|v| v.is_finite() && *v > 0.0)
        .map_or(0, |v| v.round() as u64)
}

/// The judgement, the rule that decided it (with its numbers), and both sides' evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub ruling: Ruling,
    pub rule: String,
    pub new: Side,
    pub old: Side,
    /// Of both sides' requests, how many were preflight's own synthetic traffic (`None`: the
    /// target gets none, or it was not read).
    pub synthetic: Option<u64>,
}

impl Judged {
    /// `Inconclusive` with nothing seen on either side over `window`, saying `why`.
    pub(crate) fn unseen(new: String, old: String, window: Window, why: String) -> Judged {
        let side = |name| Side {
            name,
            window,
            traffic: Traffic::default(),
        };
        Judged {
            ruling: Ruling::Inconclusive,
            rule: why,
            new: side(new),
            old: side(old),
            synthetic: None,
        }
    }
}

/// Judges `new` against `old`.
pub(crate) fn judge(new: &Side, old: &Side, settings: &CanarySettings) -> Judged {
    let (ruling, rule) = decide(new, old, settings);
    Judged {
        ruling,
        rule,
        new: new.clone(),
        old: old.clone(),
        synthetic: None,
    }
}

fn decide(new: &Side, old: &Side, settings: &CanarySettings) -> (Ruling, String) {
    // First what was not seen: a rule is never applied to data that is not there.
    let thin: Vec<String> = [new, old]
        .into_iter()
        .filter(|side| side.requests() < settings.min_requests)
        .map(|side| {
            format!(
                "{} had {} in {}",
                side.name,
                requests(side.requests()),
                side.window.shown()
            )
        })
        .collect();
    if !thin.is_empty() {
        return (
            Ruling::Inconclusive,
            format!(
                "too little traffic: {}; min_requests is {}",
                thin.join(" and "),
                settings.min_requests
            ),
        );
    }
    // The error rule needs only the counts: it decides even where no latency was published.
    let errors = error_rule(new, old, settings);
    let unseen: Vec<&str> = [new, old]
        .into_iter()
        .filter(|side| side.traffic.p99_ms.is_none_or(|p99| !p99.is_finite()))
        .map(|side| side.name.as_str())
        .collect();
    if !unseen.is_empty() {
        return if errors.0 {
            (Ruling::Fail, errors.1)
        } else {
            (
                Ruling::Inconclusive,
                format!(
                    "no p99 latency was published for {} although requests were: latency could not be judged; {}",
                    unseen.join(" and "),
                    errors.1
                ),
            )
        };
    }
    let latency = latency_rule(new, old, settings);
    let failed: Vec<&str> = [&errors, &latency]
        .into_iter()
        .filter(|(failed, _)| *failed)
        .map(|(_, said)| said.as_str())
        .collect();
    if failed.is_empty() {
        (Ruling::Pass, format!("{}; {}", errors.1, latency.1))
    } else {
        (Ruling::Fail, failed.join("; "))
    }
}

/// Fails when the new version's errors are higher than chance allows at the stated confidence
/// *and* its error rate is higher by more than the margin: the first alone fails a tiny but real
/// difference on heavy traffic, the second alone fails noise on light traffic.
fn error_rule(new: &Side, old: &Side, settings: &CanarySettings) -> (bool, String) {
    let p_value = excess_errors_p_value(new.errors(), new.requests(), old.errors(), old.requests());
    let increase = (new.error_rate() - old.error_rate()) * 100.0;
    let beyond_chance = p_value < 1.0 - settings.confidence;
    let beyond_margin = increase > settings.max_error_increase_points;
    let evidence = format!(
        "errors {}/{} ({}) against {}/{} ({}) on {}",
        new.errors(),
        new.requests(),
        percent(new.error_rate()),
        old.errors(),
        old.requests(),
        percent(old.error_rate()),
        old.name
    );
    let chance = format!("p = {}, confidence {}", p_shown(p_value), settings.confidence);
    let margin = format!(
        "{} points, margin {}",
        points(increase),
        settings.max_error_increase_points
    );
    let said = match (beyond_chance, beyond_margin) {
        (true, true) => format!("{evidence}: higher beyond chance ({chance}) and by {margin}"),
        (true, false) => format!("{evidence}: higher beyond chance ({chance}) but within the margin ({margin})"),
        (false, _) => format!("{evidence}: within chance ({chance})"),
    };
    (beyond_chance && beyond_margin, said)
}

/// Fails when the new version's p99 is above the old one's by both the ratio and the amount:
/// 80 ms → 900 ms fails, 80 ms → 85 ms (a ratio of 1.06) and 2 ms → 5 ms (3 ms more) pass.
fn latency_rule(new: &Side, old: &Side, settings: &CanarySettings) -> (bool, String) {
    let (Some(new_p99), Some(old_p99)) = (new.traffic.p99_ms, old.traffic.p99_ms) else {
        return (false, "latency not judged".into());
    };
    let increase = new_p99 - old_p99;
    let slower_by_ratio = new_p99 > old_p99 * settings.max_p99_ratio;
    let slower_by_amount = increase > settings.max_p99_increase_ms;
    let evidence = format!("p99 {} against {} on {}", ms(new_p99), ms(old_p99), old.name);
    let limits = format!(
        "limits x{} and +{} ms",
        settings.max_p99_ratio, settings.max_p99_increase_ms
    );
    let ratio = if old_p99 > 0.0 {
        format!("x{:.2}", new_p99 / old_p99)
    } else {
        "from zero".to_string()
    };
    if slower_by_ratio && slower_by_amount {
        (
            true,
            format!("{evidence}: slower by {ratio} and {} ({limits})", ms(increase)),
        )
    } else {
        (false, format!("{evidence}: within {limits}"))
    }
}

fn requests(n: u64) -> String {
    if n == 1 {
        "1 request".into()
    } else {
        format!("{n} requests")
    }
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

fn points(points: f64) -> String {
    format!("{points:.1}")
}

fn ms(value: f64) -> String {
    format!("{value:.0} ms")
}

fn p_shown(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn window() -> Window {
        Window {
            start: UNIX_EPOCH + Duration::from_secs(1_796_637_600),
            end: UNIX_EPOCH + Duration::from_secs(1_796_637_600 + 600),
        }
    }

    pub(crate) fn side(name: &str, requests: Option<f64>, errors: Option<f64>, p99_ms: Option<f64>) -> Side {
        Side {
            name: name.into(),
            window: window(),
            traffic: Traffic {
                requests,
                errors,
                p99_ms,
            },
        }
    }

    fn judged(new: Side, old: Side) -> Judged {
        judge(&new, &old, &CanarySettings::default())
    }

    #[test]
    fn zero_errors_before_and_twelve_after_fails() {
        let judged = judged(
            side("version 7", Some(300.0), Some(12.0), Some(80.0)),
            side("version 6", Some(2000.0), None, Some(80.0)),
        );
        assert_eq!(judged.ruling, Ruling::Fail, "{}", judged.rule);
        assert!(
            judged
                .rule
                .starts_with("errors 12/300 (4.0%) against 0/2000 (0.0%) on version 6: higher beyond chance"),
            "{}",
            judged.rule
        );
        assert!(judged.rule.contains("and by 4.0 points"), "{}", judged.rule);
    }

    #[test]
    fn a_few_errors_on_both_sides_pass() {
        let judged = judged(
            side("version 7", Some(300.0), Some(1.0), Some(80.0)),
            side("version 6", Some(2000.0), Some(4.0), Some(80.0)),
        );
        assert_eq!(judged.ruling, Ruling::Pass, "{}", judged.rule);
        assert!(judged.rule.contains("within chance"), "{}", judged.rule);
    }

    #[test]
    fn a_real_but_tiny_increase_on_heavy_traffic_is_within_the_margin() {
        // 0.5% against 0.1% on a million requests each: beyond chance, but 0.4 points.
        let judged = judged(
            side("version 7", Some(1e6), Some(5000.0), Some(80.0)),
            side("version 6", Some(1e6), Some(1000.0), Some(80.0)),
        );
        assert_eq!(judged.ruling, Ruling::Pass, "{}", judged.rule);
        assert!(judged.rule.contains("but within the margin"), "{}", judged.rule);
    }

    #[test]
    fn latency_fails_only_past_both_the_ratio_and_the_amount() {
        let slower = |new_p99, old_p99| {
            judged(
                side("version 7", Some(500.0), None, Some(new_p99)),
                side("version 6", Some(500.0), None, Some(old_p99)),
            )
        };
        let much = slower(900.0, 80.0);
        assert_eq!(much.ruling, Ruling::Fail, "{}", much.rule);
        assert_eq!(
            much.rule,
            "p99 900 ms against 80 ms on version 6: slower by x11.25 and 820 ms (limits x1.5 and +100 ms)"
        );
        assert_eq!(slower(85.0, 80.0).ruling, Ruling::Pass);
        assert_eq!(slower(5.0, 2.0).ruling, Ruling::Pass, "x2.5 but 3 ms");
        assert_eq!(slower(1150.0, 1000.0).ruling, Ruling::Pass, "150 ms but x1.15");
    }

    #[test]
    fn missing_requests_are_no_traffic_and_never_a_pass() {
        let judged = judged(
            side("version 7", None, None, None),
            side("version 6", Some(2000.0), None, Some(80.0)),
        );
        assert_eq!(judged.ruling, Ruling::Inconclusive);
        assert_eq!(
            judged.rule,
            "too little traffic: version 7 had 0 requests in \
             2026-12-07T10:00:00Z/2026-12-07T10:10:00Z; min_requests is 100"
        );
    }

    #[test]
    fn no_traffic_on_the_old_side_is_inconclusive_too() {
        let judged = judged(
            side("version 7", Some(500.0), None, Some(80.0)),
            side("version 6", Some(99.0), None, Some(80.0)),
        );
        assert_eq!(judged.ruling, Ruling::Inconclusive);
        assert!(judged.rule.contains("version 6 had 99 requests"), "{}", judged.rule);
    }

    #[test]
    fn requests_without_latency_are_not_judged_on_latency_but_still_on_errors() {
        let erring = judged(
            side("version 7", Some(300.0), Some(45.0), None),
            side("version 6", Some(2700.0), None, None),
        );
        assert_eq!(erring.ruling, Ruling::Fail, "{}", erring.rule);
        let judged = judged(
            side("version 7", Some(500.0), None, None),
            side("version 6", Some(500.0), None, Some(80.0)),
        );
        assert_eq!(judged.ruling, Ruling::Inconclusive);
        assert!(
            judged.rule.starts_with("no p99 latency was published for version 7"),
            "{}",
            judged.rule
        );
    }

    #[test]
    fn errors_beyond_requests_count_as_every_request_failing() {
        let new = side("version 7", Some(200.0), Some(250.0), Some(80.0));
        assert_eq!((new.errors(), new.error_rate()), (200, 1.0));
    }

    use proptest::prelude::*;

    /// One side: requests (absent when zero, as CloudWatch leaves them out), errors up to them,
    /// and a p99 when there were requests.
    fn traffic_up_to(most: u64) -> impl Strategy<Value = (u64, u64, f64)> {
        (0..most).prop_flat_map(|requests| (Just(requests), 0..=requests, 1.0f64..2_000.0))
    }

    fn traffic() -> impl Strategy<Value = (u64, u64, f64)> {
        traffic_up_to(5_000)
    }

    fn side_of(name: &str, (requests, errors, p99): (u64, u64, f64)) -> Side {
        side(
            name,
            (requests > 0).then_some(requests as f64),
            (errors > 0).then_some(errors as f64),
            (requests > 0).then_some(p99),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn more_errors_in_the_new_version_never_turn_a_fail_into_a_pass(new in traffic(), old in traffic()) {
            // The same p99 on both sides: the Fails are the error rule's, which errors can change.
            let old = (old.0, old.1, new.2);
            let settings = CanarySettings { min_requests: 20, ..CanarySettings::default() };
            let before = judge(&side_of("new", new), &side_of("old", old), &settings);
            prop_assume!(before.ruling == Ruling::Fail && new.1 < new.0);
            let more = (new.0, new.1 + 1, new.2);
            let after = judge(&side_of("new", more), &side_of("old", old), &settings);
            prop_assert_eq!(after.ruling, Ruling::Fail, "{} then {}", before.rule, after.rule);
        }

        #[test]
        fn fewer_requests_never_turn_an_inconclusive_into_a_decision(
            new in traffic_up_to(1_000),
            old in traffic_up_to(1_000),
            fewer_new in 0u64..1_000,
            fewer_old in 0u64..1_000,
        ) {
            let settings = CanarySettings { min_requests: 500, ..CanarySettings::default() };
            let before = judge(&side_of("new", new), &side_of("old", old), &settings);
            prop_assume!(before.ruling == Ruling::Inconclusive);
            let fewer = |(requests, errors, p99): (u64, u64, f64), by: u64| {
                let requests = requests.saturating_sub(by);
                (requests, errors.min(requests), p99)
            };
            let after = judge(&side_of("new", fewer(new, fewer_new)), &side_of("old", fewer(old, fewer_old)), &settings);
            prop_assert_eq!(after.ruling, Ruling::Inconclusive, "{} then {}", before.rule, after.rule);
        }

        #[test]
        fn no_traffic_on_either_side_is_never_a_pass(new in traffic(), old in traffic()) {
            let settings = CanarySettings::default();
            let empty = (0, 0, 0.0);
            prop_assert_ne!(judge(&side_of("new", empty), &side_of("old", old), &settings).ruling, Ruling::Pass);
            prop_assert_ne!(judge(&side_of("new", new), &side_of("old", empty), &settings).ruling, Ruling::Pass);
        }
    }
}
