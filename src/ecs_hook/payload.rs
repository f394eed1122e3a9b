//! Amazon ECS's lifecycle-hook payload (ECS-native blue/green, linear and canary deployments):
//! what a hook is called with, read into an [`EcsHookEvent`] or refused with an error that names
//! the field. The wrapped form (`executionDetails`) is read, as the ECS guide documents it.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::plumbing::text::{kind_of, truncate};

/// The stages ECS calls lifecycle hooks at, in deployment order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    ReconcileService,
    PreScaleUp,
    PostScaleUp,
    TestTrafficShift,
    PostTestTrafficShift,
    PreProductionTrafficShift,
    ProductionTrafficShift,
    PostProductionTrafficShift,
}

impl Stage {
    const ALL: [Stage; 8] = [
        Stage::ReconcileService,
        Stage::PreScaleUp,
        Stage::PostScaleUp,
        Stage::TestTrafficShift,
        Stage::PostTestTrafficShift,
        Stage::PreProductionTrafficShift,
        Stage::ProductionTrafficShift,
        Stage::PostProductionTrafficShift,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::ReconcileService => "RECONCILE_SERVICE",
            Stage::PreScaleUp => "PRE_SCALE_UP",
            Stage::PostScaleUp => "POST_SCALE_UP",
            Stage::TestTrafficShift => "TEST_TRAFFIC_SHIFT",
            Stage::PostTestTrafficShift => "POST_TEST_TRAFFIC_SHIFT",
            Stage::PreProductionTrafficShift => "PRE_PRODUCTION_TRAFFIC_SHIFT",
            Stage::ProductionTrafficShift => "PRODUCTION_TRAFFIC_SHIFT",
            Stage::PostProductionTrafficShift => "POST_PRODUCTION_TRAFFIC_SHIFT",
        }
    }

    fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.name() == text)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One call of a lifecycle hook.
#[derive(Debug, Clone, PartialEq)]
pub struct EcsHookEvent {
    pub execution_id: String,
    pub stage: Stage,
    /// The service deployment: `arn:aws:ecs:R:A:service-deployment/CLUSTER/SERVICE/ID`.
    pub resource_arn: String,
    pub service_arn: String,
    /// Green: the service revision being deployed.
    pub target_revision_arn: String,
    /// Revision ARN → percent; empty at stages where nothing shifts.
    pub test_weights: BTreeMap<String, f64>,
    pub production_weights: BTreeMap<String, f64>,
    /// What the hook's configuration carries (and what an `IN_PROGRESS` answer added).
    pub hook_details: Option<Value>,
}

impl EcsHookEvent {
    /// The service's name, the last part of `service/CLUSTER/SERVICE` (or of `service/SERVICE`).
    pub fn service_name(&self) -> Option<&str> {
        let (_, resource) = self.service_arn.split_once(":service/")?;
        resource.rsplit('/').next().filter(|name| !name.is_empty())
    }
}

/// Whether `payload` is an ECS lifecycle-hook call (rather than a CodeDeploy hook or a
/// notification): it carries `executionId` and `lifecycleStage`.
pub fn is_ecs_hook_payload(payload: &Value) -> bool {
    payload.get("executionId").is_some() && payload.get("lifecycleStage").is_some()
}

/// Why a payload cannot be served; the text names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsPayloadError(String);

impl fmt::Display for EcsPayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid ECS lifecycle hook payload: {}", self.0)
    }
}

impl std::error::Error for EcsPayloadError {}

fn text_at(value: &Value, path: &str, field: &str) -> Result<String, EcsPayloadError> {
    match value.get(field) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
        Some(Value::String(_)) => Err(EcsPayloadError(format!("`{path}{field}` is empty"))),
        Some(other) => Err(EcsPayloadError(format!(
            "`{path}{field}` is {}, not a string",
            kind_of(other)
        ))),
        None => Err(EcsPayloadError(format!("`{path}{field}` is missing"))),
    }
}

fn weights(details: &Value, field: &str) -> Result<BTreeMap<String, f64>, EcsPayloadError> {
    match details.get(field) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(revision, weight)| {
                weight.as_f64().map(|weight| (revision.clone(), weight)).ok_or_else(|| {
                    EcsPayloadError(format!(
                        "`executionDetails.{field}` gives {} a weight that is {}, not a number",
                        truncate(revision),
                        kind_of(weight)
                    ))
                })
            })
            .collect(),
        Some(other) => Err(EcsPayloadError(format!(
            "`executionDetails.{field}` is {}, not an object of revision ARNs to percentages",
            kind_of(other)
        ))),
    }
}

/// Reads an ECS lifecycle-hook payload.
pub fn parse_ecs_hook_event(payload: &Value) -> Result<EcsHookEvent, EcsPayloadError> {
    if !payload.is_object() {
        return Err(EcsPayloadError(format!(
            "the payload is {}, not an object",
            kind_of(payload)
        )));
    }
    let stage_text = text_at(payload, "", "lifecycleStage")?;
    let stage = Stage::parse(&stage_text).ok_or_else(|| {
        let known: Vec<&str> = Stage::ALL.iter().map(|stage| stage.name()).collect();
        EcsPayloadError(format!(
            "`lifecycleStage` is `{}`, not a stage ECS calls hooks at ({})",
            truncate(&stage_text),
            known.join(", ")
        ))
    })?;
    let details = match payload.get("executionDetails") {
        Some(details @ Value::Object(_)) => details,
        Some(other) => {
            return Err(EcsPayloadError(format!(
                "`executionDetails` is {}, not an object",
                kind_of(other)
            )));
        }
        None => return Err(EcsPayloadError("`executionDetails` is missing".into())),
    };
    Ok(EcsHookEvent {
        execution_id: text_at(payload, "", "executionId")?,
        stage,
        resource_arn: text_at(payload, "", "resourceArn")?,
        service_arn: text_at(details, "executionDetails.", "serviceArn")?,
        target_revision_arn: text_at(details, "executionDetails.", "targetServiceRevisionArn")?,
        test_weights: weights(details, "testTrafficWeights")?,
        production_weights: weights(details, "productionTrafficWeights")?,
        hook_details: payload.get("hookDetails").filter(|details| !details.is_null()).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GREEN: &str = "arn:aws:ecs:us-east-1:111122223333:service-revision/shop/checkout/2";
    const BLUE: &str = "arn:aws:ecs:us-east-1:111122223333:service-revision/shop/checkout/1";

    fn payload(stage: &str, test: Value, production: Value) -> Value {
        json!({
            "executionId": "a1b2c3",
            "lifecycleStage": stage,
            "resourceArn": "arn:aws:ecs:us-east-1:111122223333:service-deployment/shop/checkout/xyz",
            "executionDetails": {
                "serviceArn": "arn:aws:ecs:us-east-1:111122223333:service/shop/checkout",
                "targetServiceRevisionArn": GREEN,
                "testTrafficWeights": test,
                "productionTrafficWeights": production,
            },
            "hookDetails": {"preflight": {"checks": [{"path": "/health"}]}},
        })
    }

    #[test]
    fn the_documented_payload_is_read() {
        let event = parse_ecs_hook_event(&payload(
            "POST_TEST_TRAFFIC_SHIFT",
            json!({GREEN: 100, BLUE: 0}),
            json!({}),
        ))
        .unwrap();
        assert_eq!(event.stage, Stage::PostTestTrafficShift);
        assert_eq!(event.execution_id, "a1b2c3");
        assert_eq!(event.target_revision_arn, GREEN);
        assert_eq!(event.test_weights.get(GREEN), Some(&100.0));
        assert!(event.production_weights.is_empty());
        assert_eq!(event.service_name(), Some("checkout"));
        assert!(event.hook_details.is_some());
        assert!(is_ecs_hook_payload(&payload("PRE_SCALE_UP", json!({}), json!({}))));
    }

    #[test]
    fn a_codedeploy_payload_is_not_an_ecs_one() {
        assert!(!is_ecs_hook_payload(
            &json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e"})
        ));
    }

    #[test]
    fn each_bad_payload_names_its_field() {
        let mut unknown_stage = payload("TEST_TRAFFIC_SHIFT", json!({}), json!({}));
        unknown_stage["lifecycleStage"] = json!("AFTER_LUNCH");
        let mut flat = payload("TEST_TRAFFIC_SHIFT", json!({}), json!({}));
        flat.as_object_mut().unwrap().remove("executionDetails");
        let mut no_green = payload("TEST_TRAFFIC_SHIFT", json!({}), json!({}));
        no_green["executionDetails"]
            .as_object_mut()
            .unwrap()
            .remove("targetServiceRevisionArn");
        let cases = [
            (json!([1]), "not an object"),
            (unknown_stage, "`lifecycleStage` is `AFTER_LUNCH`"),
            (flat, "`executionDetails` is missing"),
            (no_green, "`executionDetails.targetServiceRevisionArn` is missing"),
            (
                payload("TEST_TRAFFIC_SHIFT", json!({GREEN: "all"}), json!({})),
                "not a number",
            ),
            (
                payload("TEST_TRAFFIC_SHIFT", json!([]), json!({})),
                "`executionDetails.testTrafficWeights` is an array",
            ),
        ];
        for (payload, says) in cases {
            let error = parse_ecs_hook_event(&payload).unwrap_err().to_string();
            assert!(error.contains(says), "{error} should say {says}");
            assert!(error.starts_with("invalid ECS lifecycle hook payload: "), "{error}");
        }
    }
}
