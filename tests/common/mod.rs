//! What the end-to-end tests share: the `bootstrap` cargo built for them, and rigs that start it
//! against the stand-in (and moto's ELBv2) with helpers for what the tests look at.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client as ElbClient;
use serde_json::{Value, json};
use stand_in::fixtures::{FUNCTION, TARGET_VERSION, lambda_release_appspec};
use stand_in::kit::elb_client;
use stand_in::{Alb, Deployment, DeploymentSpec, FunctionVersion, MotoServer, Reply, Rig, RuntimeOutcome};

/// How long a hook invocation may take in the tests (the Lambda timeout they give it).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The `bootstrap` binary cargo built for these tests.
pub fn bootstrap() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bootstrap"))
}

/// The stand-in and the real hook, with the tests' shortcuts.
pub struct HookRig(pub Rig);

impl std::ops::Deref for HookRig {
    type Target = Rig;
    fn deref(&self) -> &Rig {
        &self.0
    }
}

impl HookRig {
    pub async fn start(config: &[(&str, &str)]) -> HookRig {
        HookRig(
            Rig::start(bootstrap(), config)
                .await
                .expect("start the stand-in and bootstrap"),
        )
    }

    /// The fixtures' Lambda release (`my-api` from version 1 to 2, as the in-process tests'
    /// canned answers deploy it), where version 2 replies `reply`.
    pub fn my_api(&self, reply: Reply) -> Deployment {
        self.aws
            .add_function(FUNCTION, TARGET_VERSION, FunctionVersion::replying(reply));
        self.aws
            .create_deployment(DeploymentSpec::lambda(lambda_release_appspec()))
    }

    pub async fn run(&self, deployment: &Deployment) -> RuntimeOutcome {
        self.deliver(deployment, TIMEOUT).await.outcome
    }

    /// The `count`th summary line, waiting for it.
    pub async fn summary(&self, count: usize) -> Value {
        let summaries = self.hook.wait_for_summaries(count).await;
        assert!(
            summaries.len() >= count,
            "expected {count} summary lines, got {:?}",
            self.hook.lines()
        );
        summaries[count - 1].clone()
    }
}

/// A text field of a log line, or "".
pub fn text(line: &Value, field: &str) -> String {
    line.get(field).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// The real hook configured for a load balancer of its own in the process's shared moto server.
pub struct MotoRig {
    pub rig: Rig,
    pub alb: Alb,
    pub elb: ElbClient,
}

impl MotoRig {
    /// The ALB's listener shows the page for deployment group `shop`/`shop-web`; `extra` may
    /// depend on what moto created (ARNs).
    pub async fn start(extra: impl Fn(&Alb) -> Vec<(&'static str, String)>) -> MotoRig {
        let moto = MotoServer::shared().await.expect("start moto's server");
        let alb = moto.create_alb().await.expect("create the load balancer in moto");
        let endpoint = moto.endpoint_url();
        let mut config = vec![
            ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", endpoint.clone()),
            (
                "MAINTENANCE_LISTENERS",
                json!({"shop": {"shop-web": alb.listener}}).to_string(),
            ),
        ];
        config.extend(extra(&alb));
        let config: Vec<(&str, &str)> = config.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let rig = Rig::start(bootstrap(), &config)
            .await
            .expect("start the stand-in and bootstrap");
        MotoRig {
            rig,
            alb,
            elb: elb_client(&endpoint).await,
        }
    }
}
