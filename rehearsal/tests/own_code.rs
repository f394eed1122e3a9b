//! Rehearsals with the user's own code (`rehearse --function`, `rehearse --url`): the real
//! `bootstrap` as the hook, the stand-in's CodeDeploy and Lambda, and as the new version a real
//! program speaking the Lambda Runtime API, started with a Runtime API of its own: one written
//! for these tests with Python's standard library (`tests/own-function/runtime.py`), and a
//! handler under AWS's own `awslambdaric` (`tests/own-function/app.py`).

mod common;

use std::path::PathBuf;

use rehearsal::own_code::{OwnFunction, rehearse_own_functions, rehearse_url};
use stand_in::installs::PythonEnv;
use stand_in::kit::workspace_root;
use stand_in::{Answer, HttpTarget};

fn files() -> PathBuf {
    workspace_root().join("tests").join("own-function")
}

/// `NAME=python3 tests/own-function/runtime.py STATUS`.
fn runtime_answering(name: &str, status: u16) -> OwnFunction {
    OwnFunction::parse(&format!(
        "{name}=python3 {} {status}",
        files().join("runtime.py").display()
    ))
    .expect("NAME=COMMAND")
}

/// Fast retries, so that a failing rehearsal does not slow the suite.
fn quick() -> Vec<(String, String)> {
    vec![("CHECK_INTERVAL_MS".to_string(), "20".to_string())]
}

#[tokio::test]
async fn a_healthy_program_of_yours_is_reported_succeeded() {
    let rehearsed = rehearse_own_functions(common::bootstrap(), &[runtime_answering("my-api", 200)], &[], None, &[])
        .await
        .expect("rehearsed");
    assert_eq!(
        rehearsed.reported.as_deref(),
        Some("Succeeded"),
        "{:#?}",
        rehearsed.lines
    );
    assert!(rehearsed.as_expected());
    assert!(
        rehearsed
            .lines
            .iter()
            .any(|line| line.contains("preflight checked my-api:2 /healthcheck: 200 in ")),
        "{:#?}",
        rehearsed.lines
    );
}

#[tokio::test]
async fn a_broken_program_of_yours_is_reported_failed() {
    let rehearsed = rehearse_own_functions(
        common::bootstrap(),
        &[runtime_answering("my-api", 500)],
        &[],
        None,
        &quick(),
    )
    .await
    .expect("rehearsed");
    assert_eq!(rehearsed.reported.as_deref(), Some("Failed"), "{:#?}", rehearsed.lines);
    assert!(!rehearsed.as_expected(), "rehearse exits non-zero");
    assert!(
        rehearsed.lines.iter().any(|line| line.contains("status 500")),
        "{:#?}",
        rehearsed.lines
    );
}

#[tokio::test]
async fn your_own_appspec_names_the_versions() {
    let dir = std::env::temp_dir().join(format!("preflight-own-appspec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let appspec = dir.join("appspec.yml");
    std::fs::write(
        &appspec,
        "version: 0.0\nResources:\n  - api:\n      Type: AWS::Lambda::Function\n      Properties:\n        \
         Name: shop-api\n        Alias: live\n        CurrentVersion: \"41\"\n        TargetVersion: \"42\"\n",
    )
    .expect("write the AppSpec");
    let rehearsed = rehearse_own_functions(
        common::bootstrap(),
        &[runtime_answering("shop-api", 200)],
        &[runtime_answering("shop-api", 200)],
        Some(&appspec),
        &[],
    )
    .await
    .expect("rehearsed");
    assert_eq!(
        rehearsed.reported.as_deref(),
        Some("Succeeded"),
        "{:#?}",
        rehearsed.lines
    );
    assert!(
        rehearsed
            .lines
            .iter()
            .any(|line| line.contains("shop-api:42 /healthcheck")),
        "{:#?}",
        rehearsed.lines
    );
    let missing = rehearse_own_functions(
        common::bootstrap(),
        &[runtime_answering("other", 200)],
        &[],
        Some(&appspec),
        &[],
    )
    .await
    .err()
    .map(|error| error.to_string())
    .unwrap_or_default();
    assert!(
        missing.contains("other is not a function of the AppSpec (it has shop-api)"),
        "{missing}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_handler_under_awslambdaric_is_rehearsed_as_your_function() {
    let python = PythonEnv::ensure(&files().join("requirements.txt"))
        .expect("install awslambdaric")
        .python();
    let command = format!(
        "my-api=cd {} && {} -m awslambdaric app.handler",
        files().display(),
        python.display()
    );
    // The handler answers /health with its function's name (from the Lambda environment the
    // stand-in gives it): the check document asks for both.
    let settings = [(
        "PREFLIGHT_CHECKS".to_string(),
        "targets: [{checks: [{path: /health, expect: {json: {$.status: ok, $.function: my-api}}}]}]".to_string(),
    )];
    let rehearsed = rehearse_own_functions(
        common::bootstrap(),
        &[OwnFunction::parse(&command).expect("NAME=COMMAND")],
        &[],
        None,
        &settings,
    )
    .await
    .expect("rehearsed");
    assert_eq!(
        rehearsed.reported.as_deref(),
        Some("Succeeded"),
        "{:#?}",
        rehearsed.lines
    );
    assert!(
        rehearsed
            .lines
            .iter()
            .any(|line| line.contains("my-api:2 /health: 200")),
        "{:#?}",
        rehearsed.lines
    );
}

#[tokio::test]
async fn your_http_service_is_rehearsed_through_alb_url() {
    let service = HttpTarget::start(&[("/healthcheck", Answer::Status(200))])
        .await
        .expect("start the service");
    let url = format!("http://{}", service.host_port());
    let rehearsed = rehearse_url(common::bootstrap(), &url, &[]).await.expect("rehearsed");
    assert_eq!(
        rehearsed.reported.as_deref(),
        Some("Succeeded"),
        "{:#?}",
        rehearsed.lines
    );
    assert_eq!(service.requests().len(), 1);
}
