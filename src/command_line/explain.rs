//! `preflight explain`: the resolved configuration and exactly what each check would send, sent
//! nowhere (pure). The values of the headers the configuration sets are shown as `(hidden)`: they
//! may be credentials.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::checks::config::Config;
use crate::checks::definitions::ToSend;
use crate::checks::{Check, Plan, Request};

/// What the checks would send, target by target.
pub fn explain(config: &Config, plan: &Plan) -> String {
    let mut out = Vec::new();
    let source = match &config.definitions {
        Some(definitions) => format!(
            "check definitions: {} entr{} (PREFLIGHT_CHECKS or PREFLIGHT_CHECKS_FILE); targets no entry selects get the CHECK_* checks",
            definitions.entries.len(),
            if definitions.entries.len() == 1 { "y" } else { "ies" }
        ),
        None => "check definitions: none; every target gets the CHECK_* checks".to_string(),
    };
    out.push(source);
    for selection in &plan.selections {
        out.push(format!("target {selection}"));
    }
    // Judging happens after traffic moved, on CloudWatch's metrics: nothing here is sent.
    let judging = config
        .definitions
        .iter()
        .flat_map(|definitions| definitions.entries.iter().map(|entry| &entry.plan))
        .filter_map(|entry| entry.canary.map(|canary| (entry.source, canary)));
    for (source, canary) in judging {
        out.push(format!(
            "{source} judges real traffic after it moves: {}",
            canary.describe()
        ));
    }
    for (n, check) in plan.checks.iter().enumerate() {
        out.push(String::new());
        out.push(format!(
            "check {}: {}, {} attempt{} {} ms apart, each cut at {} ms; expects {}",
            n + 1,
            check.target(),
            check.patience.attempts,
            if check.patience.attempts == 1 { "" } else { "s" },
            check.patience.interval.as_millis(),
            check.patience.timeout.as_millis(),
            check.expect.describe()
        ));
        out.extend(what_is_sent(check, &configured_headers(config)));
    }
    if plan.checks.is_empty() {
        out.push(String::new());
        out.push("no checks: every target is skipped".into());
    }
    out.join("\n")
}

/// The headers `CHECK_HEADERS` and the check definitions set (lower case): the ones whose values
/// may be secrets.
fn configured_headers(config: &Config) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = config
        .request
        .headers
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let plans = config
        .definitions
        .iter()
        .flat_map(|definitions| definitions.entries.iter().map(|entry| &entry.plan));
    for plan in plans.chain(std::iter::once(&config.defaults)) {
        for definition in &plan.checks {
            if let ToSend::Http(request) = &definition.send {
                names.extend(request.headers.iter().map(|(name, _)| name.to_string()));
            }
        }
    }
    names
}

fn what_is_sent(check: &Check, hidden: &BTreeSet<String>) -> Vec<String> {
    match &check.request {
        Request::Lambda {
            function,
            version,
            format,
            payload,
            ..
        } => {
            let how = match format {
                Some(format) => format!("a synthetic {} event", format.name()),
                None => "this raw payload".to_string(),
            };
            let shown = serde_json::to_string_pretty(&hide_header_values(payload.clone(), hidden))
                .unwrap_or_else(|_| payload.to_string());
            let mut lines = vec![format!("  invoke {function}:{version} with {how}:")];
            lines.extend(shown.lines().map(|line| format!("    {line}")));
            lines
        }
        Request::Http {
            url,
            method,
            headers,
            connect_to,
        } => {
            let mut lines = vec![format!("  {method} {url}")];
            if let Some(address) = connect_to {
                lines.push(format!("  (connecting to {address})"));
            }
            lines.extend(headers.iter().map(|(name, value)| {
                let shown = if hidden.contains(name.as_str()) {
                    "(hidden)"
                } else {
                    value.to_str().unwrap_or("(not text)")
                };
                format!("  {name}: {shown}")
            }));
            lines
        }
    }
}

/// The event with the values of the `hidden` headers replaced by `(hidden)`, names kept.
fn hide_header_values(mut event: Value, hidden: &BTreeSet<String>) -> Value {
    for key in ["headers", "multiValueHeaders"] {
        if let Some(Value::Object(headers)) = event.get_mut(key) {
            let secret = headers
                .iter_mut()
                .filter(|(name, _)| hidden.contains(&name.to_ascii_lowercase()));
            for (_, value) in secret {
                *value = match value {
                    Value::Array(_) => Value::from(vec!["(hidden)"]),
                    _ => Value::from("(hidden)"),
                };
            }
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command_line::{FunctionRef, Subject, config, plan};
    use std::collections::HashMap;

    #[test]
    fn each_check_shows_its_target_patience_expectations_and_event_with_header_values_hidden() {
        let env: HashMap<&str, &str> = [
            (
                "PREFLIGHT_CHECKS",
                "targets: [{function: shop-api, attempts: 2, checks: [{path: /health, event_format: apigw-v2, \
                 headers: {x-api-key: s3cret}, expect: {json: {$.status: ok}}}]}]",
            ),
            ("CHECK_PAYLOAD", r#"{"source": "preflight"}"#),
        ]
        .into_iter()
        .collect();
        let lookup = |name: &str| env.get(name).map(|value| value.to_string());
        let subject = Subject::Functions(vec![
            FunctionRef::parse("shop-api:7").unwrap(),
            FunctionRef::parse("shop-consumer").unwrap(),
        ]);
        let config = config(&subject, None, &lookup).unwrap();
        let text = explain(&config, &plan(&config, &subject).unwrap());
        assert!(
            text.contains("target shop-api: targets[0]\ntarget shop-consumer: defaults"),
            "{text}"
        );
        assert!(
            text.contains("check 1: shop-api:7 /health, 2 attempts 1000 ms apart, each cut at 10000 ms; expects status 200-399, $.status = \"ok\""),
            "{text}"
        );
        assert!(
            text.contains("invoke shop-api:7 with a synthetic apigw-v2 event:"),
            "{text}"
        );
        assert!(text.contains("\"x-api-key\": \"(hidden)\""), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("\"user-agent\": \"preflight/"),
            "other headers are shown: {text}"
        );
        assert!(
            text.contains("invoke shop-consumer:$LATEST with this raw payload:"),
            "{text}"
        );
        assert!(text.contains("\"source\": \"preflight\""), "{text}");
    }

    #[test]
    fn an_entry_with_canary_says_how_it_judges_real_traffic() {
        let lookup = |name: &str| {
            (name == "PREFLIGHT_CHECKS").then(|| {
                "targets: [{function: shop-api, checks: [{path: /health}], canary: {min_requests: 300}}]".to_string()
            })
        };
        let subject = Subject::Functions(vec![FunctionRef::parse("shop-api:7").unwrap()]);
        let config = config(&subject, None, &lookup).unwrap();
        let text = explain(&config, &plan(&config, &subject).unwrap());
        assert!(
            text.contains("targets[0] judges real traffic after it moves: min_requests 300, bake 10 min, settle 3 min"),
            "{text}"
        );
    }
}
