//! The rehearsal's ECS-native canary step with the debug `bootstrap`: green checked through the
//! test listener rule in the step's first call, which answers `IN_PROGRESS`; judged on its
//! simulated production traffic in the step's next call; the rollback answered at once, and the
//! evidence told.

mod common;

use rehearsal::ecs_native::ecs_native_canary;

#[tokio::test]
async fn a_canary_step_whose_green_fails_one_request_in_five_waits_then_is_rolled_back_with_the_evidence() {
    let rehearsed = ecs_native_canary(common::bootstrap())
        .await
        .expect("the rehearsal runs");
    let story = common::story_telling(
        &rehearsed,
        "IN_PROGRESS, then FAILED",
        &[
            "ECS: production traffic shift, canary step: green 10%, blue 90%",
            "preflight checked http://test.checkout.example",
            "/healthcheck: 200",
            "preflight answered IN_PROGRESS after",
            "judging green's real traffic at PRODUCTION_TRAFFIC_SHIFT@10",
            "ECS: IN_PROGRESS, callBackDelay ",
            r#""step":"PRODUCTION_TRAFFIC_SHIFT@10""#,
            "ECS's next call is made with the step having begun 10 minutes earlier",
            "green 400 requests (80 answered 5xx), blue 3600 (0 answered 5xx)",
            "preflight judged checkout-1 on its real traffic: Fail",
            "new: targetgroup/checkout-1-green/",
            "old: targetgroup/checkout-1-blue/",
            "preflight answered FAILED after",
            "checkout-1 failed on its real traffic: errors ",
            "ECS is rolling back",
            "ECS: rolled back, blue keeps production",
        ],
    );
    // Green's side: one request in five answered 5xx, over the minutes that had settled.
    let new = story
        .lines()
        .find(|line| line.trim_start().starts_with("new: "))
        .unwrap_or_default();
    assert!(new.contains("errors (20.0%)"), "{new}");
    let old = story
        .lines()
        .find(|line| line.trim_start().starts_with("old: "))
        .unwrap_or_default();
    assert!(old.contains(" 0 errors (0.0%)"), "{old}");
    // The check ran in the step's first call only: one check line in the whole story.
    assert_eq!(story.matches("preflight checked ").count(), 1, "{story}");
}
