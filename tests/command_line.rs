//! The `preflight` command through its real binary: `check --url` against a real local server,
//! `check --function` against the stand-in's Lambda (reached through `AWS_ENDPOINT_URL`, as the
//! SDK does), `explain`, and the exit codes a CI job gates on (0 Succeeded, 1 Failed, 2 usage or
//! configuration). Each run gets a clean environment: only what the test gives it.

use std::process::Output;

use stand_in::{Answer, FunctionVersion, HttpTarget, LocalAws, Reply};

async fn preflight(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_preflight"));
    command.args(args).env_clear();
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("run preflight")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stand-in as the caller's AWS: endpoint, region and made-up credentials.
fn aws_env(aws: &LocalAws) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", aws.endpoint_url()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

const HEALTH_IS_OK: &str = "targets: [{checks: [{path: /health, expect: {json: {$.status: ok}}}]}]";

#[tokio::test]
async fn check_url_passes_a_healthy_server_and_exits_0() {
    let server = HttpTarget::start(&[("/health", Answer::Json(200, r#"{"status": "ok"}"#))])
        .await
        .expect("start the server");
    let url = format!("http://{}", server.host_port());
    let output = preflight(&["check", "--url", &url], &[("PREFLIGHT_CHECKS", HEALTH_IS_OK)]).await;
    let printed = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{printed}{}", stderr(&output));
    assert!(printed.contains(&format!("check {url}/health: 200 in ")), "{printed}");
    assert!(printed.ends_with("Succeeded: all 1 checks passed\n"), "{printed}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn check_url_fails_an_assertion_and_exits_1() {
    let server = HttpTarget::start(&[("/health", Answer::Json(200, r#"{"status": "degraded"}"#))])
        .await
        .expect("start the server");
    let url = format!("http://{}", server.host_port());
    let output = preflight(
        &["check", "--url", &url],
        &[
            ("PREFLIGHT_CHECKS", HEALTH_IS_OK),
            ("CHECK_ATTEMPTS", "2"),
            ("CHECK_INTERVAL_MS", "10"),
        ],
    )
    .await;
    let printed = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{printed}{}", stderr(&output));
    assert!(printed.contains("2 attempts (failure, failure)"), "{printed}");
    assert!(printed.contains("Failed: 1 of 1 checks failed"), "{printed}");
    assert!(
        printed.contains(r#"$.status is "degraded", expected "ok""#),
        "{printed}"
    );
}

#[tokio::test]
async fn a_bad_configuration_or_usage_exits_2_saying_what_is_wrong_and_checks_nothing() {
    let server = HttpTarget::start(&[("/health", Answer::Status(200))])
        .await
        .expect("start the server");
    let url = format!("http://{}", server.host_port());
    let bad_document = "targets: [{checks: [{path: /health, expect: {stauts: 200}}]}]";
    let output = preflight(&["check", "--url", &url], &[("PREFLIGHT_CHECKS", bad_document)]).await;
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(
        said.contains("targets[0].checks[0].expect") && said.contains("stauts"),
        "{said}"
    );

    let neither = preflight(&["check"], &[]).await;
    assert_eq!(neither.status.code(), Some(2));
    assert!(stderr(&neither).contains("--function"), "{}", stderr(&neither));
    let both = preflight(&["check", "--url", &url, "--function", "my-api"], &[]).await;
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    assert!(server.requests().is_empty(), "nothing was checked");
}

#[tokio::test]
async fn check_function_invokes_the_version_through_the_callers_aws_and_gates_on_it() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    aws.add_function("my-api", "7", FunctionVersion::replying(Reply::Status(200)));
    aws.add_function("my-api", "8", FunctionVersion::replying(Reply::Status(500)));
    let env = aws_env(&aws);
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();

    let healthy = preflight(&["check", "--function", "my-api:7"], &env).await;
    let printed = stdout(&healthy);
    assert_eq!(healthy.status.code(), Some(0), "{printed}{}", stderr(&healthy));
    assert!(printed.contains("check my-api:7 /healthcheck: 200 in "), "{printed}");

    let mut quick = env.clone();
    quick.push(("CHECK_INTERVAL_MS", "10"));
    let broken = preflight(&["check", "--function", "my-api:8"], &quick).await;
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    assert!(stdout(&broken).contains("status 500"), "{}", stdout(&broken));
    let invoked: Vec<Option<String>> = aws.invocations().into_iter().map(|i| i.qualifier).collect();
    assert_eq!(invoked.iter().filter(|q| q.as_deref() == Some("7")).count(), 1);
    assert_eq!(
        invoked.iter().filter(|q| q.as_deref() == Some("8")).count(),
        3,
        "every attempt"
    );
}

#[tokio::test]
async fn explain_shows_each_target_s_entry_and_the_exact_events_without_sending_anything() {
    let dir = std::env::temp_dir().join(format!("preflight-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let file = dir.join("checks.yaml");
    std::fs::write(
        &file,
        r#"targets:
  - function: shop-api
    checks:
      - path: /health
        event_format: apigw-v2
        headers: {x-api-key: s3cret}
        expect: {json: {$.status: ok}}
  - function: "shop-*-consumer"
    checks:
      - payload: {"source": "preflight"}
        expect: {json: {$.ok: true}}
"#,
    )
    .expect("write the document");
    let output = preflight(
        &[
            "explain",
            "--function",
            "shop-api:7",
            "--function",
            "shop-orders-consumer:3",
            "--checks",
            &file.display().to_string(),
        ],
        // Nothing answers here: explain must not call anything.
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_REGION", "us-east-1")],
    )
    .await;
    let printed = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{printed}{}", stderr(&output));
    assert!(
        printed.contains("target shop-api: targets[0]\ntarget shop-orders-consumer: targets[1]"),
        "{printed}"
    );
    assert!(
        printed.contains("invoke shop-api:7 with a synthetic apigw-v2 event:"),
        "{printed}"
    );
    assert!(printed.contains(r#""rawPath": "/health""#), "{printed}");
    assert!(
        printed.contains(r#""x-api-key": "(hidden)""#) && !printed.contains("s3cret"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "invoke shop-orders-consumer:3 with this raw payload:\n    {\n      \"source\": \"preflight\"\n    }"
        ),
        "{printed}"
    );
    assert!(printed.contains(r#"expects status 200-399, $.ok = true"#), "{printed}");
    let _ = std::fs::remove_dir_all(&dir);
}
