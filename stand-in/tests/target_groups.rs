//! The stand-in's ELBv2 DescribeTargetGroups through the real SDK client: the ECS-native services'
//! blue and green groups by ARN (behind their test listener's load balancer, an ALB's or an
//! NLB's), a CodeDeploy ECS deployment's by name, AWS's refusals, and the calls counted with
//! their injected faults.

use aws_config::retry::RetryConfig;
use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::{
    DescribeTargetGroupsError, DescribeTargetGroupsOutput,
};
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetGroup, TargetTypeEnum};
use stand_in::fixtures::{ECS_APPSPEC, ecs_native, ecs_target_group_name, test_rule};
use stand_in::kit::elb_client;
use stand_in::{DeploymentSpec, EcsTarget, Fault, LocalAws, Operation};

type Answer = Result<DescribeTargetGroupsOutput, SdkError<DescribeTargetGroupsError>>;

async fn by_arns(client: &aws_sdk_elasticloadbalancingv2::Client, arns: &[&str]) -> Answer {
    client
        .describe_target_groups()
        .set_target_group_arns(Some(arns.iter().map(|arn| arn.to_string()).collect()))
        .send()
        .await
}

async fn by_names(client: &aws_sdk_elasticloadbalancingv2::Client, names: &[&str]) -> Answer {
    client
        .describe_target_groups()
        .set_names(Some(names.iter().map(|name| name.to_string()).collect()))
        .send()
        .await
}

/// The described group whose ARN is `arn`.
fn group<'a>(output: &'a DescribeTargetGroupsOutput, arn: &str) -> &'a TargetGroup {
    output
        .target_groups()
        .iter()
        .find(|group| group.target_group_arn() == Some(arn))
        .unwrap_or_else(|| panic!("{arn} not described: {output:?}"))
}

/// The refusal's HTTP status and error code.
fn refusal(answer: Answer) -> (u16, String, String) {
    let error = answer.expect_err("refused");
    let status = error
        .raw_response()
        .map(|raw| raw.status().as_u16())
        .unwrap_or_default();
    (
        status,
        error.code().unwrap_or_default().to_string(),
        error.message().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn ecs_native_target_groups_are_described_by_arn_behind_their_load_balancer() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let elb = elb_client(&aws.endpoint_url()).await;
    aws.add_ecs_service(8080, test_rule());
    aws.add_ecs_service(8081, test_rule());
    let names = ecs_native(2);

    // Green first, as preflight asks; the answer is ordered by name, as moto's.
    let output = by_arns(&elb, &[&names.green_target_group, &names.blue_target_group])
        .await
        .expect("DescribeTargetGroups");
    assert_eq!(output.target_groups().len(), 2, "{output:?}");
    let described: Vec<_> = output
        .target_groups()
        .iter()
        .map(|group| group.target_group_name().unwrap_or_default())
        .collect();
    assert_eq!(described, ["checkout-2-blue", "checkout-2-green"]);
    for (arn, name) in [
        (&names.green_target_group, "checkout-2-green"),
        (&names.blue_target_group, "checkout-2-blue"),
    ] {
        let group = group(&output, arn);
        assert_eq!(group.target_group_name(), Some(name));
        assert_eq!(group.load_balancer_arns(), std::slice::from_ref(&names.load_balancer));
        assert_eq!(group.protocol(), Some(&ProtocolEnum::Http));
        assert_eq!(group.port(), Some(8080));
        assert_eq!(group.target_type(), Some(&TargetTypeEnum::Ip));
        assert!(group.vpc_id().is_some_and(|vpc| vpc.starts_with("vpc-")));
    }

    // Behind an NLB: its load balancer, TCP.
    let nlb = aws.add_ecs_service_behind_nlb(8082);
    let listener = nlb.test_rule_arn.clone();
    let output = elb.describe_target_groups().send().await.expect("every target group");
    assert_eq!(output.target_groups().len(), 6, "{output:?}");
    let behind_nlb: Vec<_> = output
        .target_groups()
        .iter()
        .filter(|group| group.protocol() == Some(&ProtocolEnum::Tcp))
        .collect();
    assert_eq!(behind_nlb.len(), 2, "{output:?}");
    for group in behind_nlb {
        let balancer = group.load_balancer_arns().first().cloned().unwrap_or_default();
        assert!(
            balancer.contains(":loadbalancer/net/")
                && listener.starts_with(&balancer.replace(":loadbalancer/", ":listener/")),
            "{balancer} is not {listener}'s load balancer"
        );
    }
    assert_eq!(aws.calls(Operation::DescribeTargetGroups), 2);
}

#[tokio::test]
async fn a_codedeploy_ecs_deployment_s_target_groups_are_described_by_name() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let elb = elb_client(&aws.endpoint_url()).await;
    let (green, blue) = (ecs_target_group_name("green"), ecs_target_group_name("blue"));
    assert_eq!(
        refusal(by_names(&elb, &[&green]).await).1,
        "TargetGroupNotFound",
        "no deployment yet"
    );

    aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    let output = by_names(&elb, &[&green, &blue]).await.expect("DescribeTargetGroups");
    let target = EcsTarget::new("shop", "checkout", &blue, &green);
    for name in [&green, &blue] {
        let group = group(&output, &EcsTarget::target_group_arn(name));
        assert_eq!(group.target_group_name(), Some(name.as_str()));
        assert_eq!(group.load_balancer_arns(), [target.load_balancer_arn()]);
    }
    assert!(
        target.load_balancer_arn().contains(":loadbalancer/app/shop/"),
        "{}",
        target.load_balancer_arn()
    );
    // By ARN as well.
    let output = by_arns(&elb, &[&EcsTarget::target_group_arn(&green)])
        .await
        .expect("by ARN");
    assert_eq!(output.target_groups().len(), 1);
    assert_eq!(output.target_groups()[0].target_group_name(), Some(green.as_str()));
}

#[tokio::test]
async fn unknown_target_groups_are_refused_as_aws_does_and_faults_are_injected() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let config = elb_client(&aws.endpoint_url())
        .await
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    let elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(config);
    aws.add_ecs_service(8080, test_rule());
    let names = ecs_native(1);
    let unknown = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/nobody/0000000000000000";

    // One unknown ARN or name refuses the whole call.
    let (status, code, message) = refusal(by_arns(&elb, &[&names.green_target_group, unknown]).await);
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (400, "TargetGroupNotFound", "One or more target groups not found")
    );
    let error = by_names(&elb, &["nobody"]).await.expect_err("refused");
    assert!(
        matches!(
            error.as_service_error(),
            Some(DescribeTargetGroupsError::TargetGroupNotFoundException(_))
        ),
        "{error:?}"
    );
    let both = elb
        .describe_target_groups()
        .target_group_arns(&names.green_target_group)
        .names("checkout-1-green")
        .send()
        .await;
    assert_eq!(refusal(both).1, "ValidationError");

    // Faults, one call each, then the call goes through.
    for (fault, expected) in [
        (Fault::Throttle, (400, "Throttling")),
        (Fault::ServerError, (500, "InternalFailure")),
        (Fault::AccessDenied, (403, "AccessDenied")),
    ] {
        aws.inject(Operation::DescribeTargetGroups, fault, 1);
        let (status, code, message) = refusal(by_arns(&elb, &[&names.green_target_group]).await);
        assert_eq!((status, code.as_str()), expected, "{fault:?}: {message}");
        if fault == Fault::AccessDenied {
            assert!(
                message.ends_with("elasticloadbalancing:DescribeTargetGroups"),
                "{message}"
            );
        }
    }
    by_arns(&elb, &[&names.green_target_group])
        .await
        .expect("no fault left");
    assert_eq!(aws.calls(Operation::DescribeTargetGroups), 7);
}
