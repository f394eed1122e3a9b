//! Reading settings from the environment, and the error that names a variable whose value
//! cannot be used.
//!
//! Every flow's configuration is a pure function over a [`Lookup`] (name → value), so that tests
//! never touch the process environment and `tests/docs.rs` can record which names the code asks
//! for. Empty values count as unset: a SAM parameter left empty arrives as `""`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// Where settings come from: the process environment in Lambda, a map in tests.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A lookup that treats empty and blank values as unset.
pub fn non_empty<'a>(lookup: &'a Lookup<'a>) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| lookup(name).filter(|value| !value.trim().is_empty())
}

/// The names `read` asks its lookup for, over `environments` chosen to take each of its
/// branches. This is how the lists of variables are made: from what the code asks, not by hand.
pub fn names_asked_by(read: impl Fn(&Lookup), environments: &[&[(&str, &str)]]) -> BTreeSet<String> {
    let asked = RefCell::new(BTreeSet::new());
    for environment in environments {
        read(&|name: &str| {
            asked.borrow_mut().insert(name.to_string());
            environment
                .iter()
                .find(|(set, _)| *set == name)
                .map(|(_, value)| value.to_string())
        });
    }
    asked.into_inner()
}

/// A variable whose value preflight cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    /// Where in the value, for a document such as `PREFLIGHT_CHECKS`: `targets[2].checks[0]`.
    pub place: Option<String>,
    pub problem: String,
}

impl ConfigError {
    /// What is wrong, without what to do (which depends on where the value was set).
    pub fn what(&self) -> String {
        match &self.place {
            Some(place) => format!("invalid configuration: {}: {place}: {}", self.variable, self.problem),
            None => format!("invalid configuration: {} {}", self.variable, self.problem),
        }
    }
}

/// The hook's words: its settings are the function's environment.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; fix the function's environment variable and redeploy",
            self.what()
        )
    }
}

impl std::error::Error for ConfigError {}

/// `CHECK_ATTEMPTS` + `is `lots`: expected …` → a [`ConfigError`].
pub fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        place: None,
        problem: problem.into(),
    }
}

/// A problem at `place` inside the value of `variable` (a document).
pub fn invalid_at(variable: &'static str, place: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        place: Some(place.into()),
        problem: problem.into(),
    }
}

/// A whole number in `min..=max`, or `default` when unset.
pub fn number(get: &Lookup, variable: &'static str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    let Some(text) = get(variable) else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(invalid(
            variable,
            format!("is `{text}`: expected a whole number from {min} to {max}"),
        )),
    }
}

/// Milliseconds in `min..=max`, or `default` when unset.
pub fn millis(get: &Lookup, variable: &'static str, default: u64, min: u64, max: u64) -> Result<Duration, ConfigError> {
    number(get, variable, default, min, max).map(Duration::from_millis)
}

/// `true` or `false` (any case, trimmed), or `default` when unset. Nothing else: a typo such as
/// `yes` must not quietly mean one or the other.
pub fn boolean(get: &Lookup, variable: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(variable).map(|text| text.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(invalid(variable, format!("is `{other}`: use true or false"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(name: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |asked: &str| (asked == name).then(|| value.to_string())
    }

    #[test]
    fn numbers_are_bounded_and_default_when_unset() {
        assert_eq!(number(&only("N", "7"), "N", 3, 1, 10), Ok(7));
        assert_eq!(number(&only("OTHER", "7"), "N", 3, 1, 10), Ok(3));
        let error = number(&only("N", "11"), "N", 3, 1, 10).unwrap_err();
        assert_eq!(error.variable, "N");
        assert!(error.problem.contains("from 1 to 10"), "{error}");
        assert!(number(&only("N", "1e3"), "N", 3, 1, 10).is_err());
    }

    #[test]
    fn booleans_are_true_or_false_and_nothing_else() {
        assert_eq!(boolean(&only("B", " TRUE "), "B", false), Ok(true));
        assert_eq!(boolean(&only("B", "false"), "B", true), Ok(false));
        assert_eq!(boolean(&only("OTHER", "true"), "B", true), Ok(true));
        let error = boolean(&only("B", "yes"), "B", false).unwrap_err();
        assert!(error.to_string().contains("B is `yes`: use true or false"), "{error}");
    }

    #[test]
    fn the_names_asked_are_recorded_across_environments() {
        let read = |get: &Lookup| {
            if get("MODE").is_some() {
                get("ONLY_IN_MODE");
            }
            get("ALWAYS");
        };
        let asked = names_asked_by(read, &[&[], &[("MODE", "on")]]);
        let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
        assert_eq!(asked, ["ALWAYS", "MODE", "ONLY_IN_MODE"]);
    }

    #[test]
    fn blank_values_count_as_unset() {
        let lookup = only("X", "  ");
        let get = non_empty(&lookup);
        assert_eq!(get("X"), None);
    }
}
