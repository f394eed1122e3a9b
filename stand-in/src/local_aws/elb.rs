//! The stand-in's ELBv2 (awsQuery: `POST /`, a form body with `Action=…&Version=2015-12-01`, XML
//! answers): DescribeListeners and DescribeLoadBalancers, for the test listeners of ECS
//! deployments (an NLB's with its default action), DescribeRules, for the test listener
//! rules of ECS-native ones, and DescribeTargetGroups, for the load balancer a canary judge reads
//! each target group's metrics under. moto implements ELBv2 fully, but its load balancers' DNS names do not resolve;
//! here a load balancer's `DNSName` is `127.0.0.1`, so that a check sent to a found listener
//! reaches a loopback server. Only the fields preflight reads are given, in AWS's names.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::faults::{apply_fault, take_fault};
use super::model::{DeploymentTarget, EcsServiceRecord, EcsTarget, Fault, ListenerRecord, Operation};
use super::records::{Records, Shared};

const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// ELBv2's awsQuery error document.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>local-stand-in</RequestId></ErrorResponse>"
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Throttle => error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        // Never reached: `faulted` names each call's own action.
        Fault::AccessDenied => denied("DescribeListeners"),
        // Never reached: apply_fault waits out latency and lets the call go on.
        Fault::Latency(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "latency is not an error",
        ),
    }
}

/// AccessDenied for `action`, as ELBv2 names the permission the role lacks.
fn denied(action: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        &format!(
            "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized to \
             perform: elasticloadbalancing:{action}"
        ),
    )
}

/// Records a call of `action` and answers with the fault queued for it, if any (waiting out a
/// latency fault first, then letting the call go on).
async fn faulted(shared: &Shared, operation: Operation, action: &str) -> Option<Response> {
    match take_fault(shared, operation) {
        Some(Fault::AccessDenied) => Some(denied(action)),
        fault => apply_fault(fault, fault_response).await,
    }
}

fn ok(action: &str, result: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>local-stand-in</RequestId></ResponseMetadata></{action}Response>"
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

/// What one Describe action lists, and how it finds and shows each listener record.
struct Describe {
    operation: Operation,
    /// The request's list (`ListenerArns`) and the answer's (`Listeners`).
    asked: &'static str,
    answered: &'static str,
    /// AWS refuses the whole call when one ARN is unknown, with this code.
    not_found: (&'static str, &'static str),
    arn: fn(&ListenerRecord) -> &str,
    member: fn(&ListenerRecord) -> String,
}

const DESCRIBE_LISTENERS: Describe = Describe {
    operation: Operation::DescribeListeners,
    asked: "ListenerArns",
    answered: "Listeners",
    not_found: ("ListenerNotFound", "One or more listeners not found"),
    arn: |l| &l.listener_arn,
    member: |l| {
        format!(
            "<ListenerArn>{}</ListenerArn><LoadBalancerArn>{}</LoadBalancerArn><Port>{}</Port><Protocol>{}</Protocol>",
            l.listener_arn, l.load_balancer_arn, l.port, l.protocol
        )
    },
};

const DESCRIBE_LOAD_BALANCERS: Describe = Describe {
    operation: Operation::DescribeLoadBalancers,
    asked: "LoadBalancerArns",
    answered: "LoadBalancers",
    not_found: ("LoadBalancerNotFound", "One or more load balancers not found"),
    arn: |l| &l.load_balancer_arn,
    member: |l| {
        format!(
            "<LoadBalancerArn>{}</LoadBalancerArn><DNSName>{}</DNSName><Scheme>internal</Scheme><Type>{}</Type>",
            l.load_balancer_arn, l.dns_name, l.load_balancer_type
        )
    },
};

/// Serves one awsQuery request whose form fields are `form`.
pub(crate) async fn serve(shared: &Shared, form: &[(String, String)]) -> Response {
    let action = form
        .iter()
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.as_str());
    let (name, describe) = match action {
        Some("DescribeRules") => return describe_rules(shared, form).await,
        Some("DescribeTargetGroups") => return describe_target_groups(shared, form).await,
        Some(name @ "DescribeListeners") => (name, DESCRIBE_LISTENERS),
        Some(name @ "DescribeLoadBalancers") => (name, DESCRIBE_LOAD_BALANCERS),
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                &format!("The action {} is not valid for this web service.", other.unwrap_or("")),
            );
        }
    };
    if let Some(response) = faulted(shared, describe.operation, name).await {
        return response;
    }
    let prefix = format!("{}.member.", describe.asked);
    let records = shared.records();
    let mut members = String::new();
    for (_, arn) in form.iter().filter(|(key, _)| key.starts_with(&prefix)) {
        match records.listeners.iter().find(|record| (describe.arn)(record) == arn) {
            Some(record) => {
                // A listener an ECS-native service names as its test listener (an NLB's) forwards
                // by its default action to where the service's test traffic goes.
                let default_actions = match describe.operation {
                    Operation::DescribeListeners => records
                        .ecs_services
                        .iter()
                        .find(|service| service.test_rule_arn == record.listener_arn)
                        .map(|service| forward_actions("DefaultActions", &service.test_rule_forwards_to))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                members.push_str(&format!(
                    "<member>{}{default_actions}</member>",
                    (describe.member)(record)
                ));
            }
            None => return error(StatusCode::BAD_REQUEST, describe.not_found.0, describe.not_found.1),
        }
    }
    ok(name, &format!("<{0}>{members}</{0}>", describe.answered))
}

/// `<member>…</member>` of each value.
fn members(values: &[String]) -> String {
    values.iter().map(|value| format!("<member>{value}</member>")).collect()
}

/// A test listener rule in DescribeRules' shape: each condition with its typed config (and the
/// legacy `Values` where AWS gives them), one forward action with its `ForwardConfig`.
fn rule_member(service: &EcsServiceRecord) -> String {
    let rule = &service.test_rule;
    let mut conditions = String::new();
    if let Some(host) = &rule.host {
        let values = members(std::slice::from_ref(host));
        conditions.push_str(&format!(
            "<member><Field>host-header</Field><Values>{values}</Values>\
             <HostHeaderConfig><Values>{values}</Values></HostHeaderConfig></member>"
        ));
    }
    if let Some((name, value)) = &rule.header {
        conditions.push_str(&format!(
            "<member><Field>http-header</Field><HttpHeaderConfig><HttpHeaderName>{name}</HttpHeaderName>\
             <Values>{}</Values></HttpHeaderConfig></member>",
            members(std::slice::from_ref(value))
        ));
    }
    if !rule.path_patterns.is_empty() {
        let values = members(&rule.path_patterns);
        conditions.push_str(&format!(
            "<member><Field>path-pattern</Field><Values>{values}</Values>\
             <PathPatternConfig><Values>{values}</Values></PathPatternConfig></member>"
        ));
    }
    format!(
        "<member><RuleArn>{}</RuleArn><Priority>1</Priority><IsDefault>false</IsDefault>\
         <Conditions>{conditions}</Conditions>{}</member>",
        service.test_rule_arn,
        forward_actions("Actions", &service.test_rule_forwards_to)
    )
}

/// One forward action to `group`, with its `ForwardConfig`, under `list` (`Actions` of a rule,
/// `DefaultActions` of a listener).
fn forward_actions(list: &str, group: &str) -> String {
    format!(
        "<{list}><member><Type>forward</Type><Order>1</Order><TargetGroupArn>{group}</TargetGroupArn>\
         <ForwardConfig><TargetGroups><member><TargetGroupArn>{group}</TargetGroupArn><Weight>1</Weight></member>\
         </TargetGroups></ForwardConfig></member></{list}>"
    )
}

/// DescribeRules by `RuleArns`; one unknown ARN refuses the call with `RuleNotFound`, as in AWS.
async fn describe_rules(shared: &Shared, form: &[(String, String)]) -> Response {
    if let Some(response) = faulted(shared, Operation::DescribeRules, "DescribeRules").await {
        return response;
    }
    let records = shared.records();
    let mut rules = String::new();
    for (_, arn) in form.iter().filter(|(key, _)| key.starts_with("RuleArns.member.")) {
        match records
            .ecs_services
            .iter()
            .find(|service| &service.test_rule_arn == arn)
        {
            Some(service) => rules.push_str(&rule_member(service)),
            None => return error(StatusCode::BAD_REQUEST, "RuleNotFound", "One or more rules not found"),
        }
    }
    ok("DescribeRules", &format!("<Rules>{rules}</Rules>"))
}

/// A target group the stand-in's ELBv2 knows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TargetGroup {
    arn: String,
    name: String,
    /// `HTTP` behind an ALB, `TCP` behind an NLB.
    protocol: String,
    load_balancers: Vec<String>,
}

impl TargetGroup {
    fn member(&self) -> String {
        format!(
            "<member><TargetGroupArn>{}</TargetGroupArn><TargetGroupName>{}</TargetGroupName>\
             <Protocol>{}</Protocol><Port>8080</Port><VpcId>vpc-0a1b2c3d4e5f60718</VpcId><TargetType>ip</TargetType>\
             <LoadBalancerArns>{}</LoadBalancerArns></member>",
            self.arn,
            self.name,
            self.protocol,
            members(&self.load_balancers)
        )
    }
}

/// The target groups the stand-in knows: each ECS-native service's blue and green groups behind
/// its test listener's load balancer (both serve it, as the production listener rule forwards to
/// both), and each CodeDeploy ECS deployment's (`SERVICE-blue` and `SERVICE-green`, or its
/// targets' own) behind [`EcsTarget::load_balancer_arn`]. The groups of a service whose test rule
/// lives elsewhere (moto's ELBv2) live there too, and are not known here. One entry per ARN,
/// sorted by name, as moto answers (AWS promises no order).
fn known_target_groups(records: &Records) -> Vec<TargetGroup> {
    let mut groups: Vec<TargetGroup> = Vec::new();
    for service in &records.ecs_services {
        let rule_listener = service.test_rule_arn.replace(":listener-rule/", ":listener/");
        let Some(listener) = records.listeners.iter().find(|listener| {
            service.test_rule_arn == listener.listener_arn
                || rule_listener.starts_with(&format!("{}/", listener.listener_arn))
        }) else {
            continue;
        };
        for arn in [&service.blue_target_group, &service.green_target_group] {
            let protocol = if listener.load_balancer_type == "network" {
                "TCP"
            } else {
                "HTTP"
            };
            groups.push(TargetGroup {
                arn: arn.clone(),
                name: name_of(arn),
                protocol: protocol.into(),
                load_balancers: vec![listener.load_balancer_arn.clone()],
            });
        }
    }
    let mut deployments: Vec<_> = records.deployments.values().map(|(spec, _)| spec).collect();
    deployments.sort_by(|a, b| (&a.application, &a.group).cmp(&(&b.application, &b.group)));
    for spec in deployments.into_iter().filter(|spec| spec.platform == "ECS") {
        let mut targets: Vec<EcsTarget> = spec
            .targets
            .iter()
            .filter_map(|target| match target {
                DeploymentTarget::Ecs(ecs) => Some(ecs.clone()),
                DeploymentTarget::Lambda(_) => None,
            })
            .collect();
        // As CodeDeploy's deployment targets default them.
        if spec.targets.is_empty()
            && let Some((service, cluster)) = &spec.ecs_service
        {
            targets.push(EcsTarget::new(
                cluster,
                service,
                &format!("{service}-blue"),
                &format!("{service}-green"),
            ));
        }
        for target in &targets {
            for name in [&target.blue_target_group, &target.green_target_group] {
                groups.push(TargetGroup {
                    arn: EcsTarget::target_group_arn(name),
                    name: name.clone(),
                    protocol: "HTTP".into(),
                    load_balancers: vec![target.load_balancer_arn()],
                });
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    groups.retain(|group| seen.insert(group.arn.clone()));
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

/// `NAME` of `…:targetgroup/NAME/ID`.
fn name_of(arn: &str) -> String {
    arn.split_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
        .to_string()
}

/// The form's list `list` (`list.member.N`), by N.
fn listed(form: &[(String, String)], list: &str) -> Vec<String> {
    let prefix = format!("{list}.member.");
    let mut values: Vec<(u32, String)> = form
        .iter()
        .filter_map(|(key, value)| {
            let n = key.strip_prefix(&prefix)?.parse().ok()?;
            Some((n, value.clone()))
        })
        .collect();
    values.sort();
    values.into_iter().map(|(_, value)| value).collect()
}

/// DescribeTargetGroups by `TargetGroupArns`, by `Names` or by `LoadBalancerArn` (at most one
/// of them, as ELBv2 allows; none: every group). One unknown ARN or name refuses the call with
/// `TargetGroupNotFound`, as in AWS.
async fn describe_target_groups(shared: &Shared, form: &[(String, String)]) -> Response {
    if let Some(response) = faulted(shared, Operation::DescribeTargetGroups, "DescribeTargetGroups").await {
        return response;
    }
    let arns = listed(form, "TargetGroupArns");
    let names = listed(form, "Names");
    let load_balancer = form
        .iter()
        .find(|(key, _)| key == "LoadBalancerArn")
        .map(|(_, value)| value.clone());
    let asked = [!arns.is_empty(), !names.is_empty(), load_balancer.is_some()];
    if asked.iter().filter(|asked| **asked).count() > 1 {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time",
        );
    }
    let records = shared.records();
    let known = known_target_groups(&records);
    let not_found = || {
        error(
            StatusCode::BAD_REQUEST,
            "TargetGroupNotFound",
            "One or more target groups not found",
        )
    };
    let chosen: Vec<&TargetGroup> = if !arns.is_empty() || !names.is_empty() {
        let wanted = |group: &TargetGroup| arns.contains(&group.arn) || names.contains(&group.name);
        let chosen: Vec<&TargetGroup> = known.iter().filter(|group| wanted(group)).collect();
        let all_found = arns.iter().all(|arn| chosen.iter().any(|group| &group.arn == arn))
            && names.iter().all(|name| chosen.iter().any(|group| &group.name == name));
        if !all_found {
            return not_found();
        }
        chosen
    } else if let Some(load_balancer) = &load_balancer {
        let known_balancer = records
            .listeners
            .iter()
            .any(|listener| &listener.load_balancer_arn == load_balancer)
            || known.iter().any(|group| group.load_balancers.contains(load_balancer));
        if !known_balancer {
            return error(
                StatusCode::BAD_REQUEST,
                "LoadBalancerNotFound",
                "One or more load balancers not found",
            );
        }
        known
            .iter()
            .filter(|group| group.load_balancers.contains(load_balancer))
            .collect()
    } else {
        known.iter().collect()
    };
    let members: String = chosen.iter().map(|group| group.member()).collect();
    ok(
        "DescribeTargetGroups",
        &format!("<TargetGroups>{members}</TargetGroups>"),
    )
}
