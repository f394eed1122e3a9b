//! The AppSpec: what a deployment put in place, read from its YAML or JSON text.
//!
//! Lambda AppSpecs list functions with the version traffic moves to; ECS AppSpecs list the
//! service whose replacement task set receives test traffic. JSON is YAML, so one parser reads both.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::checks::{LambdaTarget, ServiceTarget, Targets};
use crate::plumbing::text::first_line;

/// What the AppSpec says was deployed, with every resource of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    Lambda(Vec<LambdaFunction>),
    Ecs(Vec<EcsService>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaFunction {
    pub logical_name: String,
    pub name: String,
    pub alias: Option<String>,
    pub current_version: Option<String>,
    pub target_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsService {
    pub logical_name: String,
    pub task_definition: Option<String>,
    pub container: Option<String>,
    pub port: Option<String>,
}

impl Deployed {
    /// What the checks can reach: each function's new version, or the ECS service.
    pub fn targets(&self) -> Targets {
        match self {
            Deployed::Lambda(functions) => Targets::Lambda(
                functions
                    .iter()
                    .map(|f| LambdaTarget {
                        function: f.name.clone(),
                        version: f.target_version.clone(),
                    })
                    .collect(),
            ),
            Deployed::Ecs(_) => Targets::Service(ServiceTarget::default()),
        }
    }

    /// One line for the logs, such as `Lambda my-api 1→2`.
    pub fn describe(&self) -> String {
        match self {
            Deployed::Lambda(functions) => functions
                .iter()
                .map(|f| {
                    let from = f.current_version.as_deref().unwrap_or("?");
                    format!("Lambda {} {from}→{}", f.name, f.target_version)
                })
                .collect::<Vec<_>>()
                .join(", "),
            Deployed::Ecs(services) => services
                .iter()
                .map(|s| {
                    format!(
                        "ECS {} ({})",
                        s.logical_name,
                        s.task_definition.as_deref().unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpecError(String);

impl fmt::Display for AppSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read the deployment's AppSpec: {}", self.0)
    }
}

impl std::error::Error for AppSpecError {}

#[derive(Deserialize)]
struct RawAppSpec {
    #[serde(rename = "Resources")]
    resources: Option<Vec<BTreeMap<String, RawResource>>>,
}

#[derive(Deserialize)]
struct RawResource {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "Properties")]
    properties: Option<RawProperties>,
}

/// The union of the Lambda and ECS properties preflight reads; the rest are ignored.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawProperties {
    name: Option<Scalar>,
    alias: Option<Scalar>,
    current_version: Option<Scalar>,
    target_version: Option<Scalar>,
    task_definition: Option<Scalar>,
    load_balancer_info: Option<RawLoadBalancerInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawLoadBalancerInfo {
    container_name: Option<Scalar>,
    container_port: Option<Scalar>,
}

/// Versions and ports may be written as numbers or strings; both mean the same text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Integer(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Integer(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Text(text) => text.trim().to_string(),
        }
    }
}

const LAMBDA: &str = "AWS::Lambda::Function";
const ECS: &str = "AWS::ECS::Service";

/// Parses an AppSpec (YAML or JSON) into what was deployed.
pub fn parse_appspec(text: &str) -> Result<Deployed, AppSpecError> {
    let raw: RawAppSpec = serde_saphyr::from_str(text).map_err(|error| AppSpecError(first_line(&error.to_string())))?;
    let resources = raw
        .resources
        .ok_or_else(|| AppSpecError("it has no `Resources` list".into()))?;
    let mut functions = Vec::new();
    let mut services = Vec::new();
    for entry in resources {
        for (logical_name, resource) in entry {
            let kind = resource.kind.unwrap_or_default();
            let properties = resource.properties.unwrap_or_default();
            match kind.trim() {
                LAMBDA => functions.push(lambda_function(logical_name, properties)?),
                ECS => services.push(ecs_service(logical_name, properties)),
                "" => return Err(AppSpecError(format!("resource `{logical_name}` has no `Type`"))),
                other => {
                    return Err(AppSpecError(format!(
                        "resource `{logical_name}` has Type `{other}`; preflight checks {LAMBDA} and {ECS}"
                    )));
                }
            }
        }
    }
    match (functions.is_empty(), services.is_empty()) {
        (false, true) => Ok(Deployed::Lambda(functions)),
        (true, false) => Ok(Deployed::Ecs(services)),
        (true, true) => Err(AppSpecError("`Resources` lists nothing to check".into())),
        (false, false) => Err(AppSpecError(format!("it mixes {LAMBDA} and {ECS} resources"))),
    }
}

fn lambda_function(logical_name: String, properties: RawProperties) -> Result<LambdaFunction, AppSpecError> {
    let required = |value: Option<Scalar>, property: &str| {
        value
            .map(Scalar::into_text)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| AppSpecError(format!("function `{logical_name}` has no `{property}`")))
    };
    Ok(LambdaFunction {
        name: required(properties.name, "Name")?,
        target_version: required(properties.target_version, "TargetVersion")?,
        alias: properties.alias.map(Scalar::into_text),
        current_version: properties.current_version.map(Scalar::into_text),
        logical_name,
    })
}

fn ecs_service(logical_name: String, properties: RawProperties) -> EcsService {
    let info = properties.load_balancer_info;
    let (container, port) = match info {
        Some(info) => (
            info.container_name.map(Scalar::into_text),
            info.container_port.map(Scalar::into_text),
        ),
        None => (None, None),
    };
    EcsService {
        logical_name,
        task_definition: properties.task_definition.map(Scalar::into_text),
        container,
        port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAMBDA_YAML: &str = r#"
version: 0.0
Resources:
  - myLambdaFunction:
      Type: AWS::Lambda::Function
      Properties:
        Name: "my-api"
        Alias: "live"
        CurrentVersion: 1
        TargetVersion: "2"
Hooks:
  - BeforeAllowTraffic: "CodeDeployHook_preflight"
"#;

    #[test]
    fn lambda_yaml_with_number_and_string_versions() {
        let deployed = parse_appspec(LAMBDA_YAML).unwrap();
        assert_eq!(
            deployed,
            Deployed::Lambda(vec![LambdaFunction {
                logical_name: "myLambdaFunction".into(),
                name: "my-api".into(),
                alias: Some("live".into()),
                current_version: Some("1".into()),
                target_version: "2".into(),
            }])
        );
        assert_eq!(deployed.describe(), "Lambda my-api 1→2");
    }

    #[test]
    fn a_version_may_be_any_qualifier_lambda_publishes() {
        let yaml = LAMBDA_YAML.replace("TargetVersion: \"2\"", "TargetVersion: $LATEST.PUBLISHED");
        let Ok(Deployed::Lambda(functions)) = parse_appspec(&yaml) else {
            panic!("{yaml}");
        };
        assert_eq!(functions[0].target_version, "$LATEST.PUBLISHED");
    }

    #[test]
    fn lambda_json_reads_the_same() {
        let json = r#"{"version": 0.0, "Resources": [{"myLambdaFunction": {"Type": "AWS::Lambda::Function",
            "Properties": {"Name": "my-api", "Alias": "live", "CurrentVersion": "1", "TargetVersion": 2}}}]}"#;
        assert_eq!(parse_appspec(json).unwrap(), parse_appspec(LAMBDA_YAML).unwrap());
    }

    #[test]
    fn every_function_is_read_not_just_the_first() {
        let yaml = r#"
Resources:
  - a: {Type: AWS::Lambda::Function, Properties: {Name: fa, Alias: live, CurrentVersion: 3, TargetVersion: 4}}
  - b: {Type: AWS::Lambda::Function, Properties: {Name: fb, Alias: live, CurrentVersion: 7, TargetVersion: 8}}
"#;
        let Deployed::Lambda(functions) = parse_appspec(yaml).unwrap() else {
            panic!("expected Lambda");
        };
        let targets: Vec<(&str, &str)> = functions
            .iter()
            .map(|f| (f.name.as_str(), f.target_version.as_str()))
            .collect();
        assert_eq!(targets, vec![("fa", "4"), ("fb", "8")]);
    }

    #[test]
    fn ecs_service_is_recognised() {
        let yaml = r#"
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
"#;
        assert_eq!(
            parse_appspec(yaml).unwrap(),
            Deployed::Ecs(vec![EcsService {
                logical_name: "TargetService".into(),
                task_definition: Some("arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7".into()),
                container: Some("web".into()),
                port: Some("8080".into()),
            }])
        );
    }

    #[test]
    fn unreadable_appspecs_say_why() {
        let cases = [
            ("version: 0.0\n", "no `Resources`"),
            ("Resources: []\n", "nothing to check"),
            (
                "Resources:\n  - f: {Type: AWS::Lambda::Function, Properties: {Name: x}}\n",
                "has no `TargetVersion`",
            ),
            (
                "Resources:\n  - f: {Type: AWS::Lambda::Function, Properties: {TargetVersion: 2}}\n",
                "has no `Name`",
            ),
            ("Resources:\n  - f: {Properties: {Name: x}}\n", "has no `Type`"),
            ("Resources:\n  - f: {Type: AWS::S3::Bucket}\n", "Type `AWS::S3::Bucket`"),
            (
                "Resources:\n  - a: {Type: AWS::ECS::Service}\n  - b: {Type: AWS::Lambda::Function, Properties: {Name: x, TargetVersion: 1}}\n",
                "mixes",
            ),
            ("Resources: [ {a: ", "cannot read"),
            ("", "cannot read"),
            ("- just\n- a list\n", "cannot read"),
        ];
        for (text, expected) in cases {
            let error = parse_appspec(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }
}
