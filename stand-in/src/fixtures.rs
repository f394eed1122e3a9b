//! The deployments both fakes of AWS speak of: the stand-in, which the process-level tests run the
//! real `bootstrap` against, and the SDK's canned answers the library's in-process tests decide
//! on (`src/*/tests.rs`, `src/plumbing/aws/canned.rs`). Both take their names from here (the
//! application and group, the function and its versions, the AppSpecs, the ECS service, its
//! revisions, listener, rules and target groups, the test rule's host, header and paths), so that
//! a decision tested in process and the same flow run through the real binary cannot drift
//! apart; the tests below hold the stand-in's own defaults to these names.
//!
//! Beside the model: this imports only the ground helpers ([`crate::kit`]) and the model's types.

use crate::kit;
use crate::local_aws::{EcsService, TestRule};

/// The CodeDeploy application of every deployment ([`crate::DeploymentSpec::lambda`] and
/// [`crate::DeploymentSpec::ecs`]).
pub const APPLICATION: &str = "my-app";
/// Its deployment group.
pub const DEPLOYMENT_GROUP: &str = "my-app-live";

/// The function a Lambda release deploys, from [`CURRENT_VERSION`] to [`TARGET_VERSION`].
pub const FUNCTION: &str = "my-api";
pub const CURRENT_VERSION: &str = "1";
pub const TARGET_VERSION: &str = "2";

/// The AppSpec of that release: [`FUNCTION`] from [`CURRENT_VERSION`] to [`TARGET_VERSION`].
pub fn lambda_release_appspec() -> String {
    kit::lambda_appspec(&[(FUNCTION, CURRENT_VERSION, TARGET_VERSION)])
}

/// The AppSpec of an ECS deployment (CodeDeploy's blue/green): service [`ECS_SERVICE`].
pub const ECS_APPSPEC: &str = kit::ECS_APPSPEC;

/// The ECS service of every ECS deployment, CodeDeploy's and ECS's own.
pub const ECS_SERVICE: &str = "checkout";
/// Its cluster.
pub const ECS_CLUSTER: &str = "shop";

/// The name of a CodeDeploy ECS deployment group's target group: `blue` or `green`.
pub fn ecs_target_group_name(colour: &str) -> String {
    format!("{ECS_SERVICE}-{colour}")
}

/// The production listener of a CodeDeploy ECS deployment group.
pub fn ecs_production_listener() -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/{ECS_CLUSTER}/prod")
}

/// The load balancer of the stand-in's `n`th test listener (from 1), whose DNS name is
/// [`TEST_LISTENER_DNS_NAME`].
pub fn load_balancer(n: usize) -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/shop-{n}/50dc6c495c0c9188")
}

/// The stand-in's `n`th test listener (from 1), on [`load_balancer`]`(n)`.
pub fn test_listener(n: usize) -> String {
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/shop-{n}/50dc6c495c0c9188/f2f7dc8efc522ab2"
    )
}

/// A test listener's load balancer answers at loopback: what is sent to it reaches a local server.
pub const TEST_LISTENER_DNS_NAME: &str = "127.0.0.1";

/// The names of an ECS-native blue/green service, as the stand-in gives its `n`th (from 1, in a
/// stand-in whose test listeners all belong to ECS-native services).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsNative {
    pub service: String,
    /// Blue: the revision serving production.
    pub blue_revision: String,
    /// Green: the revision being deployed.
    pub green_revision: String,
    pub test_listener: String,
    pub load_balancer: String,
    pub test_rule: String,
    pub production_rule: String,
    pub blue_target_group: String,
    pub green_target_group: String,
}

/// The `n`th ECS-native service's names.
pub fn ecs_native(n: usize) -> EcsNative {
    let listener = test_listener(n);
    let rules = listener.replace(":listener/", ":listener-rule/");
    let group = |colour: &str| {
        format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/checkout-{n}-{colour}/73e2d6bc24d8a067"
        )
    };
    let revision = |k: u32| format!("arn:aws:ecs:us-east-1:000000000000:service-revision/shop/checkout-{n}/{k}");
    EcsNative {
        service: format!("arn:aws:ecs:us-east-1:000000000000:service/shop/checkout-{n}"),
        blue_revision: revision(1),
        green_revision: revision(2),
        load_balancer: load_balancer(n),
        test_rule: format!("{rules}/9683b2d02a6cabee"),
        production_rule: format!("{rules}/0467ef3c8400ae65"),
        blue_target_group: group("blue"),
        green_target_group: group("green"),
        test_listener: listener,
    }
}

impl EcsNative {
    /// The service as [`crate::LocalAws::add_ecs_service`] returns it: what builds ECS's
    /// lifecycle-hook payloads ([`EcsService::hook_event`]).
    pub fn service(&self) -> EcsService {
        EcsService {
            service_arn: self.service.clone(),
            blue_revision: self.blue_revision.clone(),
            green_revision: self.green_revision.clone(),
            test_rule_arn: self.test_rule.clone(),
        }
    }
}

/// The test listener rule's `host-header` condition.
pub const TEST_RULE_HOST: &str = "test.checkout.example";
/// Its `http-header` condition: name and value.
pub const TEST_RULE_HEADER: (&str, &str) = ("X-Preflight-Green", "1");
/// Its `path-pattern` condition.
pub const TEST_RULE_PATHS: [&str; 2] = ["/healthcheck", "/api/*"];

/// The test listener rule: [`TEST_RULE_HOST`], [`TEST_RULE_HEADER`] and [`TEST_RULE_PATHS`].
pub fn test_rule() -> TestRule {
    TestRule {
        host: Some(TEST_RULE_HOST.into()),
        header: Some((TEST_RULE_HEADER.0.into(), TEST_RULE_HEADER.1.into())),
        path_patterns: TEST_RULE_PATHS.iter().map(|path| path.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeploymentSpec, LocalAws};

    #[test]
    fn the_stand_in_s_deployments_are_these() {
        let lambda = DeploymentSpec::lambda(lambda_release_appspec());
        assert_eq!(
            (lambda.application.as_str(), lambda.group.as_str()),
            (APPLICATION, DEPLOYMENT_GROUP)
        );
        let ecs = DeploymentSpec::ecs(ECS_APPSPEC);
        assert_eq!(
            (ecs.application.as_str(), ecs.group.as_str()),
            (APPLICATION, DEPLOYMENT_GROUP)
        );
        assert_eq!(ecs.ecs_service, Some((ECS_SERVICE.into(), ECS_CLUSTER.into())));
        assert!(ECS_APPSPEC.contains(&format!("ContainerName: \"{ECS_SERVICE}\"")));
        assert!(lambda_release_appspec().contains(&format!("Name: {FUNCTION}")));
    }

    #[tokio::test]
    async fn the_stand_in_s_listeners_and_ecs_services_are_named_so() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        let elb = kit::elb_client(&aws.endpoint_url()).await;
        for n in 1..=2 {
            let names = ecs_native(n);
            let service = aws.add_ecs_service(8080, test_rule());
            assert_eq!(service, names.service(), "service {n}");

            // As the stand-in's ELBv2 answers: the listener's load balancer, and the test rule's
            // target group before the test traffic shift and after it.
            let listeners = elb
                .describe_listeners()
                .listener_arns(&names.test_listener)
                .send()
                .await
                .expect("the test listener");
            let balancer = listeners
                .listeners()
                .first()
                .and_then(|listener| listener.load_balancer_arn());
            assert_eq!(balancer, Some(names.load_balancer.as_str()));
            let balancers = elb
                .describe_load_balancers()
                .load_balancer_arns(&names.load_balancer)
                .send()
                .await
                .expect("the load balancer");
            let dns_name = balancers
                .load_balancers()
                .first()
                .and_then(|balancer| balancer.dns_name());
            assert_eq!(dns_name, Some(TEST_LISTENER_DNS_NAME));
            for (shifted, group) in [(false, &names.blue_target_group), (true, &names.green_target_group)] {
                aws.shift_test_traffic(&service, shifted);
                let rules = elb
                    .describe_rules()
                    .rule_arns(&names.test_rule)
                    .send()
                    .await
                    .expect("the test rule");
                let forwards = rules
                    .rules()
                    .first()
                    .and_then(|rule| rule.actions().first())
                    .and_then(|action| action.target_group_arn());
                assert_eq!(forwards, Some(group.as_str()), "service {n}, shifted {shifted}");
            }
        }
        assert_eq!(aws.add_test_listener(8080), test_listener(3));
    }
}
