//! JSON logs, one object a line, as CloudWatch Logs Insights likes them.

use std::collections::BTreeSet;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the subscriber. `AWS_LAMBDA_LOG_LEVEL` (Lambda's own log-level setting) picks the
/// level for preflight and the runtime; the SDK speaks only at WARN and above, since its INFO
/// lines say nothing a hook's user needs.
pub fn init() {
    let level = level(&super::env::process_env);
    let filter = Targets::new()
        .with_default(LevelFilter::WARN.min(level))
        .with_target("preflight", level)
        .with_target("lambda_runtime", level);
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false);
    // A second init (tests) is harmless; the first subscriber stays.
    let _ = tracing_subscriber::registry().with(json).with(filter).try_init();
}

/// `AWS_LAMBDA_LOG_LEVEL`, INFO when unset or unreadable (Lambda validates the setting itself).
fn level(get: &super::env::Lookup) -> LevelFilter {
    get("AWS_LAMBDA_LOG_LEVEL")
        .and_then(|text| text.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// The variables logging reads (Lambda's own setting, not a template parameter).
pub fn variables() -> BTreeSet<String> {
    super::env::names_asked_by(
        |get| {
            level(get);
        },
        &[&[]],
    )
}
