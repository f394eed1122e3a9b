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

    /// An empty list is a failure: a hook that checked nothing must not let traffic through.
    pub fn from_results(results: &[CheckResult]) -> Verdict {
        if results.is_empty() {
            return Verdict::failed("nothing was checked");
        }
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.failure.as_ref().map(|why| format!("{}: {why}", r.target)))
            .collect();
        if failed.is_empty() {
            Verdict {
                status: Status::Succeeded,
                reason: format!("all {} checks passed", results.len()),
            }
        } else {
            Verdict::failed(format!(
                "{} of {} checks failed: {}",
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
            attempts: 1,
            status: None,
            latency: Duration::ZERO,
            failure: failure.map(str::to_string),
        }
    }

    #[test]
    fn succeeds_only_when_every_check_passed() {
        let all_good = Verdict::from_results(&[result("a", None), result("b", None)]);
        assert_eq!(all_good.status, Status::Succeeded);
        let one_bad = Verdict::from_results(&[result("a", None), result("b", Some("status 500"))]);
        assert_eq!(one_bad, Verdict::failed("1 of 2 checks failed: b: status 500"));
    }

    #[test]
    fn nothing_checked_is_a_failure() {
        assert_eq!(Verdict::from_results(&[]).status, Status::Failed);
    }
}
