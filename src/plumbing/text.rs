//! Text for log lines and error messages: short, on one line, and saying what a value was.

use serde_json::Value;

/// Longest body or message a log line carries, in characters.
const LIMIT: usize = 200;

/// Bodies and messages go into log lines: keep them short and on one line.
pub(crate) fn truncate(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match one_line.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// Parser messages can carry a multi-line source snippet; a log line wants the first line.
pub(crate) fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

/// What kind of JSON value this is, for messages such as "`DeploymentId` is a number".
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_logs_short_and_on_one_line() {
        let long = "é".repeat(500);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), LIMIT + 1);
        assert_eq!(truncate("a\nb"), "a b");
    }

    #[test]
    fn first_line_drops_the_snippet() {
        assert_eq!(first_line("bad key at line 2\n  | x: [\n  | ^"), "bad key at line 2");
        assert_eq!(first_line(""), "");
    }
}
