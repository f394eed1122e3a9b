//! The verdict: `Succeeded` only when every check passed, `Failed` with a reason otherwise.

use std::fmt;

use super::CheckResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub reason: String,
}

impl Verdict {
    pub fn failed(reason: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Failed,
            reason: reason.into(),
        }
    }

    pub fn succeeded(reason: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Succeeded,
            reason: reason.into(),
        }
    }

    /// An empty list is a failure (a hook that checked nothing must not let traffic through)
    /// unless targets were skipped on purpose (`skip: true` in `PREFLIGHT_CHECKS`).
    pub fn from_results(results: &[CheckResult], skipped_targets: usize) -> Verdict {
        let skipped = match skipped_targets {
            0 => String::new(),
            1 => ", 1 target skipped".to_string(),
            n => format!(", {n} targets skipped"),
        };
        if results.is_empty() {
            return if skipped_targets > 0 {
                Verdict::succeeded(format!(
                    "nothing to check: every target is skipped by PREFLIGHT_CHECKS ({skipped_targets} with skip: true)"
                ))
            } else {
                Verdict::failed("nothing was checked")
            };
        }
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.failure.as_ref().map(|why| format!("{}: {why}", r.target)))
            .collect();
        if failed.is_empty() {
            Verdict::succeeded(format!("all {} checks passed{skipped}", results.len()))
        } else {
            Verdict::failed(format!(
                "{} of {} checks failed{skipped}: {}",
                failed.len(),
                results.len(),
                failed.join(" | ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn result(target: &str, failure: Option<&str>) -> CheckResult {
        CheckResult {
            target: target.into(),
            outcomes: vec![crate::checks::judge::Outcome::Pass],
            status: None,
            latency: Duration::ZERO,
            failure: failure.map(str::to_string),
            out_of_time: false,
        }
    }

    #[test]
    fn succeeds_only_when_every_check_passed() {
        let all_good = Verdict::from_results(&[result("a", None), result("b", None)], 0);
        assert_eq!(all_good.status, Status::Succeeded);
        let one_bad = Verdict::from_results(&[result("a", None), result("b", Some("status 500"))], 0);
        assert_eq!(one_bad, Verdict::failed("1 of 2 checks failed: b: status 500"));
    }

    #[test]
    fn nothing_checked_is_a_failure_unless_every_target_was_skipped_on_purpose() {
        assert_eq!(Verdict::from_results(&[], 0).status, Status::Failed);
        let skipped = Verdict::from_results(&[], 2);
        assert_eq!(skipped.status, Status::Succeeded);
        assert!(skipped.reason.contains("every target is skipped"), "{}", skipped.reason);
    }

    #[test]
    fn skipped_targets_are_counted_in_the_reason() {
        let verdict = Verdict::from_results(&[result("a", None)], 1);
        assert_eq!(verdict, Verdict::succeeded("all 1 checks passed, 1 target skipped"));
    }
}
