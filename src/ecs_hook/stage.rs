//! What a call at each stage asks of preflight, decided from the payload alone (pure).
//!
//! ECS has no rollback stage: rolling back, it calls the `TEST_TRAFFIC_SHIFT` and
//! `PRODUCTION_TRAFFIC_SHIFT` hooks again with green's production weight at 0. Only there, and
//! only when green's production weight is present and 0, is a call a rollback: in a normal
//! deployment `PRE_PRODUCTION_TRAFFIC_SHIFT` also shows green at 0, and must be checked.

use super::payload::{EcsHookEvent, Stage};

/// The stages from which green answers on the test listener rule: where a check means something.
pub(crate) const CHECKABLE_FROM: Stage = Stage::PostTestTrafficShift;

/// What to do with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StageDecision {
    /// ECS is rolling green back: answer `SUCCEEDED` at once, saying why; never hold a rollback up.
    Rollback { reason: String },
    /// Check green through the test listener rule.
    Check,
}

pub(crate) fn decide(event: &EcsHookEvent) -> StageDecision {
    let rollback_stage = matches!(event.stage, Stage::TestTrafficShift | Stage::ProductionTrafficShift);
    let green_production = event.production_weights.get(&event.target_revision_arn);
    if rollback_stage && green_production == Some(&0.0) {
        return StageDecision::Rollback {
            reason: format!(
                "ECS is rolling back: {} was called with green ({}) at 0% of production traffic; a rollback is \
                 never held up, so nothing was checked",
                event.stage, event.target_revision_arn
            ),
        };
    }
    StageDecision::Check
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const GREEN: &str = "arn:green";
    const BLUE: &str = "arn:blue";

    fn event(stage: Stage, production: &[(&str, f64)]) -> EcsHookEvent {
        EcsHookEvent {
            execution_id: "x".into(),
            stage,
            resource_arn: "arn:deployment".into(),
            service_arn: "arn:aws:ecs:us-east-1:1:service/shop/checkout".into(),
            target_revision_arn: GREEN.into(),
            test_weights: BTreeMap::new(),
            production_weights: production.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            hook_details: None,
        }
    }

    #[test]
    fn green_at_zero_on_a_traffic_shift_is_a_rollback() {
        for stage in [Stage::TestTrafficShift, Stage::ProductionTrafficShift] {
            let decision = decide(&event(stage, &[(GREEN, 0.0), (BLUE, 100.0)]));
            assert!(
                matches!(decision, StageDecision::Rollback { .. }),
                "{stage}: {decision:?}"
            );
        }
    }

    #[test]
    fn a_normal_deployment_is_checked_at_every_stage() {
        // TEST_TRAFFIC_SHIFT: production weights are {} (nothing shifts in production).
        assert_eq!(decide(&event(Stage::TestTrafficShift, &[])), StageDecision::Check);
        // PRE_PRODUCTION_TRAFFIC_SHIFT shows green at 0 too, and is not a rollback stage.
        assert_eq!(
            decide(&event(Stage::PreProductionTrafficShift, &[(GREEN, 0.0), (BLUE, 100.0)])),
            StageDecision::Check
        );
        // A canary step: green at 10.
        assert_eq!(
            decide(&event(Stage::ProductionTrafficShift, &[(GREEN, 10.0), (BLUE, 90.0)])),
            StageDecision::Check
        );
        // Blue at 0 is not green at 0.
        assert_eq!(
            decide(&event(Stage::ProductionTrafficShift, &[(BLUE, 0.0), (GREEN, 100.0)])),
            StageDecision::Check
        );
    }
}
