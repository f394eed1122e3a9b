//! `rehearse --function` and `--url` through the `rehearse` binary itself: its flags, its output
//! and its exit status, with the real `bootstrap` as the hook and a Runtime API program written
//! for the tests (`tests/own-function/runtime.py`, Python's standard library only) as your code.

mod common;

use std::process::Output;

use common::bootstrap;
use stand_in::kit::workspace_root;
use stand_in::{Answer, HttpTarget};

async fn rehearse(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rehearse"));
    command.args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("run rehearse")
}

fn runtime(status: u16) -> String {
    let script = workspace_root().join("tests").join("own-function").join("runtime.py");
    format!("my-api=python3 {} {status}", script.display())
}

#[tokio::test]
async fn your_function_passing_exits_0_and_failing_exits_1() {
    let hook = bootstrap().display().to_string();
    let healthy = rehearse(&["--bootstrap", &hook, "--function", &runtime(200)], &[]).await;
    let printed = String::from_utf8_lossy(&healthy.stdout);
    assert_eq!(healthy.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("Lambda: my-api version 2 is your program: python3 "),
        "{printed}"
    );
    assert!(printed.contains("preflight reported Succeeded"), "{printed}");

    let broken = rehearse(
        &["--bootstrap", &hook, "--function", &runtime(500)],
        &[("CHECK_INTERVAL_MS", "20")],
    )
    .await;
    let printed = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("preflight reported Failed") && printed.contains("status 500"),
        "{printed}"
    );
    assert!(printed.contains("rolled back"), "{printed}");
}

#[tokio::test]
async fn your_service_is_rehearsed_with_url() {
    let service = HttpTarget::start(&[("/ready", Answer::Status(200))])
        .await
        .expect("start the service");
    let url = format!("http://{}", service.host_port());
    let hook = bootstrap().display().to_string();
    // The hook's settings come from the command's environment.
    let output = rehearse(&["--bootstrap", &hook, "--url", &url], &[("CHECK_PATHS", "/ready")]).await;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    let paths: Vec<String> = service.requests().into_iter().map(|request| request.path).collect();
    assert_eq!(paths, vec!["/ready"]);
}

#[tokio::test]
async fn a_malformed_function_or_a_lone_appspec_is_a_usage_error() {
    let malformed = rehearse(&["--function", "my-api"], &[]).await;
    assert_eq!(malformed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("NAME=COMMAND"));
    let lone = rehearse(&["--appspec", "appspec.yml"], &[]).await;
    assert_eq!(lone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&lone.stderr).contains("--function"));
}
