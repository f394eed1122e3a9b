//! The rehearsal's Lambda canary stopped mid-split, with the debug `bootstrap`: the live judge
//! fails it on the split's traffic, the deployment group's alarm goes off, CodeDeploy stops and
//! rolls back, and the time from the first errors to the rollback is measured.

mod common;

use rehearsal::live::lambda_canary_stopped_mid_split;

#[tokio::test]
async fn a_bad_canary_is_stopped_mid_split_with_the_evidence_and_the_time_it_took() {
    let (rehearsed, measured) = lambda_canary_stopped_mid_split(common::bootstrap())
        .await
        .expect("the rehearsal runs");
    let story = common::story_telling(
        &rehearsed,
        "Succeeded, then Stopped",
        &[
            "live judge: my-api:live Inconclusive: too little traffic",
            "live judge: my-api:live Fail: errors",
            "→ CanaryFailing{FunctionName=my-api}=1",
            "CloudWatch: alarm my-api-canary-failing → ALARM at",
            "CodeDeploy: deployment stopped (ALARM_ACTIVE)",
            "alias live → version 2; AfterAllowTraffic never runs",
            "EventBridge: Preflight Verdict on the default bus, source preflight",
            r#""flow":"live_judge""#,
            r#""status":"Failed""#,
            "my-api:live failed on its real traffic: errors 20/120",
        ],
    );
    // Stopped well inside the split: the new version needed 100 requests (4 minutes at 30 a
    // minute), 3 minutes to settle, the next run and the alarm's minute: the README's 8 minutes.
    let minutes = measured.minutes().expect("stopped");
    assert_eq!(minutes, 8, "the README's figure\n{story}");
    assert!(
        story.contains(&format!("{minutes} min from version 3's first errors")),
        "{story}"
    );
}
