//! The rehearsal's Lambda canaries with the debug `bootstrap`: checked at `BeforeAllowTraffic`,
//! judged on their simulated production traffic at `AfterAllowTraffic`, and the evidence told.

mod common;

use rehearsal::canary::lambda_canary;

#[tokio::test]
async fn a_canary_failing_one_request_in_six_passes_its_check_and_is_rolled_back_with_the_evidence() {
    let rehearsed = lambda_canary(common::bootstrap(), false)
        .await
        .expect("the rehearsal runs");
    let story = rehearsed.lines.join("\n");

    assert!(rehearsed.as_expected(), "{story}");
    assert_eq!(rehearsed.reported.as_deref(), Some("Succeeded, then Failed"));
    for told in [
        "preflight checked my-api:3 /healthcheck: 200",
        "version 3 ran 300 (50 function errors), version 2 ran 2700 (0 function errors)",
        "preflight judged my-api:live on its real traffic: Fail",
        "new: version 3, 300 requests, 50 errors (16.7%), p99 45 ms",
        "old: version 2, 2700 requests, 0 errors (0.0%), p99 40 ms",
        "preflight reported Failed after",
        "my-api:live failed on its real traffic: errors 50/300 (16.7%) against 0/2700 (0.0%) on version 2",
        "CodeDeploy: deployment failed, rolled back, alias live → version 2",
    ] {
        assert!(story.contains(told), "{told:?} not in\n{story}");
    }
}

#[tokio::test]
async fn a_healthy_canary_passes_on_its_real_traffic() {
    let rehearsed = lambda_canary(common::bootstrap(), true)
        .await
        .expect("the rehearsal runs");
    let story = rehearsed.lines.join("\n");

    assert!(rehearsed.as_expected(), "{story}");
    assert!(
        story.contains("preflight judged my-api:live on its real traffic: Pass"),
        "{story}"
    );
    assert!(
        story.contains("CodeDeploy: deployment succeeded, alias live stays on version 2"),
        "{story}"
    );
}
