//! A bounded fault campaign in the test suite: randomised faults from a fixed seed, driven through
//! the real binary. The full campaign (1,000+ deployments) is `rehearse --campaign`.

mod common;

use rehearsal::campaign::run_campaign;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_campaign_keeps_every_invariant() {
    let seed = 0x5eed_2026_1123_0001;
    let tally = run_campaign(common::bootstrap(), seed, 40, 20)
        .await
        .expect("the campaign runs");
    assert_eq!(tally.deployments, 40);
    assert!(
        tally.expected_failed > 0 && tally.expected_failed < 40,
        "the draw covers both verdicts"
    );
    let failures: Vec<String> = tally
        .failures
        .iter()
        .map(|(scenario, violations)| format!("{scenario}: {violations:?}"))
        .collect();
    assert!(failures.is_empty(), "violations:\n{}", failures.join("\n"));
}
