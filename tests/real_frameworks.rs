//! The synthetic events, served by the frameworks people deploy: Python's Mangum (Starlette) and
//! Node's serverless-express (Express), locked in `tests/framework-apps/` (a fully pinned
//! requirements file, `package-lock.json`) and installed into `target/installs/` once. Each must
//! route the event to `/healthcheck` with its query and `Host` header intact. (Rust's
//! `lambda_http` is checked in `frameworks.rs`.)

use std::path::{Path, PathBuf};
use std::process::Command;

use lambda_http::aws_lambda_events::http::Method;
use preflight::checks::config::EventFormat;
use preflight::checks::http_event::{SyntheticRequest, build_event};
use serde_json::Value;
use stand_in::installs::{PythonEnv, node_modules};

const FORMATS: [EventFormat; 3] = [EventFormat::ApiGatewayV1, EventFormat::ApiGatewayV2, EventFormat::Alb];

fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("framework-apps")
}

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("framework-apps")
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes the three events and returns their paths.
fn write_events(dir: &Path) -> Vec<PathBuf> {
    FORMATS
        .iter()
        .map(|format| {
            let event = build_event(
                *format,
                &SyntheticRequest {
                    method: &Method::GET,
                    path: "/healthcheck?deep=1",
                    headers: &[],
                    body: None,
                },
            );
            let path = dir.join(format!("event-{}.json", format.name()));
            std::fs::write(&path, event.to_string()).expect("write the event");
            path
        })
        .collect()
}

fn assert_served(framework: &str, output: &str) {
    let lines: Vec<Value> = output.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(lines.len(), FORMATS.len(), "{framework}: {output}");
    for line in lines {
        let event = line["event"].as_str().unwrap_or_default();
        assert_eq!(line["status"], 200, "{framework} on {event}: {line}");
        assert_eq!(line["body"]["path"], "/healthcheck", "{framework} on {event}: {line}");
        assert_eq!(
            line["body"]["deep"], "1",
            "{framework} lost the query of {event}: {line}"
        );
        assert_eq!(
            line["body"]["host"], "preflight.invalid",
            "{framework} lost the headers of {event}: {line}"
        );
    }
}

#[test]
fn mangum_and_serverless_express_serve_every_synthetic_event() {
    let work = work_dir();
    std::fs::create_dir_all(&work).expect("create the work folder");
    let events = write_events(&work);

    let python = PythonEnv::ensure(&apps_dir().join("requirements.txt")).expect("install Mangum and Starlette");
    let output = run(Command::new(python.python())
        .arg(apps_dir().join("mangum_app.py"))
        .args(&events));
    assert_served("Mangum", &output);

    let modules = node_modules(&apps_dir()).expect("install serverless-express and Express");
    let output = run(Command::new("node")
        .arg(apps_dir().join("express_app.js"))
        .args(&events)
        .env("NODE_PATH", modules));
    assert_served("serverless-express", &output);
}
