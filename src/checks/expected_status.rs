//! The HTTP status codes a check accepts (`EXPECTED_STATUS`): codes and ranges such as
//! `200-299,304`. (Not to be confused with the verdict, or with CodeDeploy's deployment status.)

use std::fmt;
use std::ops::RangeInclusive;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedStatus {
    ranges: Vec<RangeInclusive<u16>>,
}

impl Default for ExpectedStatus {
    /// 200–399: success and redirects, as a load balancer health check counts them.
    fn default() -> Self {
        ExpectedStatus {
            ranges: vec![200..=399],
        }
    }
}

impl ExpectedStatus {
    /// Parses `200`, `200-299` and comma-separated lists of both.
    pub fn parse(text: &str) -> Result<ExpectedStatus, String> {
        let ranges = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_range)
            .collect::<Result<Vec<_>, _>>()?;
        if ranges.is_empty() {
            return Err("no status code given; write codes or ranges like 200-299,304".into());
        }
        Ok(ExpectedStatus { ranges })
    }

    pub fn contains(&self, status: u16) -> bool {
        self.ranges.iter().any(|range| range.contains(&status))
    }
}

fn parse_range(part: &str) -> Result<RangeInclusive<u16>, String> {
    let (low, high) = part.split_once('-').unwrap_or((part, part));
    let low = parse_code(low)?;
    let high = parse_code(high)?;
    if low > high {
        return Err(format!("`{part}` runs backwards"));
    }
    Ok(low..=high)
}

fn parse_code(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(code) if (100..=599).contains(&code) => Ok(code),
        _ => Err(format!("`{}` is not an HTTP status code (100-599)", text.trim())),
    }
}

impl fmt::Display for ExpectedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .ranges
            .iter()
            .map(|range| {
                if range.start() == range.end() {
                    range.start().to_string()
                } else {
                    format!("{}-{}", range.start(), range.end())
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_codes_and_ranges() {
        let set = ExpectedStatus::parse("200-204, 301,418").unwrap();
        for code in [200, 204, 301, 418] {
            assert!(set.contains(code), "{code}");
        }
        for code in [205, 300, 302, 500] {
            assert!(!set.contains(code), "{code}");
        }
        assert_eq!(set.to_string(), "200-204,301,418");
    }

    #[test]
    fn rejects_nonsense() {
        for text in ["", ",", "abc", "200-", "-200", "299-200", "99", "600", "200-700"] {
            assert!(ExpectedStatus::parse(text).is_err(), "{text:?}");
        }
    }
}
