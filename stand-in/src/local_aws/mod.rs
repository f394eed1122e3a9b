//! A local stand-in for the AWS side of a deployment, on one loopback port, split by service:
//! [`codedeploy`] (GetDeployment, BatchGetDeployments, ListDeployments, GetApplicationRevision,
//! GetDeploymentGroup, PutLifecycleEventHookExecutionStatus, and the deployment targets with their
//! lifecycle events: ListDeploymentTargets, BatchGetDeploymentTargets, GetDeploymentTarget),
//! [`elb`] (DescribeListeners, DescribeLoadBalancers, DescribeRules, for ECS test listeners, and
//! DescribeTargetGroups, for the load balancer of an ECS canary's target groups), [`ecs`]
//! (DescribeServiceRevisions, for ECS-native deployments), [`lambda`] (Invoke, for locally
//! defined function versions and weighted aliases, publishing Lambda's metrics), [`cloudwatch`]
//! (GetMetricData, PutMetricData and DescribeAlarms in Smithy RPC v2 CBOR, for the canary judge
//! and the live judge's metric), [`alarms`] (CloudWatch's metric alarms, which the stand-in's
//! CodeDeploy honours), [`eventbridge`] (PutEvents, the verdict events), [`runtime_api`] (what the
//! function under test polls), and [`faults`] (errors injected into any operation).
//!
//! The stand-in's [`model`] is plain data; [`records`] holds what it keeps while it runs, and
//! [`metrics`] the CloudWatch series among it with their statistics; the services answer from
//! those; and this module is the facade, [`LocalAws`], through which tests and tools start it,
//! set it up, deliver events and read the records.
//!
//! A deployment's first hook execution is created with it ([`LocalAws::create_deployment`]); a
//! release with the hook at two events (a Lambda canary's `BeforeAllowTraffic` and
//! `AfterAllowTraffic`) moves on to the next with [`LocalAws::next_hook_execution`]: the same
//! deployment, a new hook execution id, the lifecycle moved on.
//!
//! A canary judge reads complete minutes that ended a while ago, which a test cannot wait for:
//! [`LocalAws::simulate_alias_traffic`] really invokes an alias many times but stamps the
//! metrics over a past window, and [`LocalAws::simulate_target_group_traffic`] publishes a load
//! balancer's counts for one (the stand-in has no load balancer of its own to count requests).
//!
//! A deployment is `InProgress` until its last hook reports once traffic has moved, a hook
//! reports `Failed`, or a CloudWatch alarm its group names ([`DeploymentSpec::alarms`],
//! [`LocalAws::put_metric_alarm`]) goes to `ALARM`: then it is stopped and, if its group says so,
//! rolled back (a Lambda alias back on its current version), as CodeDeploy does; tests read what
//! became of it with [`LocalAws::deployment_state`]. Time there is the data's: an alarm's period
//! is evaluated once data stamped in it has arrived, at the period's end, so that datapoints
//! stamped in the past move the simulated clock ([`LocalAws::evaluate_alarms_until`] lets it run
//! without data).
//!
//! Each answers with AWS's shapes, status codes and error codes; where it simplifies on
//! purpose, a comment says so. It keeps a record of every call, report and invocation so that
//! tests can assert on what the hook did, and wakes waiters when something is recorded.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;

use crate::server::Server;

mod alarms;
mod aws_json;
mod cloudwatch;
mod codedeploy;
mod ecs;
mod elb;
mod eventbridge;
mod faults;
mod lambda;
mod metrics;
mod model;
mod records;
mod runtime_api;

pub use codedeploy::sha256_hex;
pub use eventbridge::PutEventRecord;
pub use model::{
    AlarmConfiguration, AlarmState, AlarmStateValue, AutoRollback, Delivered, Deployment, DeploymentSpec,
    DeploymentState, DeploymentTarget, ECS_LIFECYCLE_EVENTS, EcsService, EcsServiceRecord, EcsTarget, ErrorInformation,
    Fault, FunctionVersion, InvocationRecord, LAMBDA_LIFECYCLE_EVENTS, LambdaTarget, Lifecycle, ListenerRecord,
    MetricAlarm, MetricDataRecord, MetricDatumRecord, Operation, OwnRuntime, Reply, ReportRecord, RevisionForm,
    RollbackInfo, Runtime, RuntimeOutcome, SAM_AUTO_ROLLBACK_EVENTS, TargetGroupRequests, TargetGroupTraffic, TestRule,
    TrafficSummary, VersionTraffic,
};
use records::{AliasRecord, Shared};

/// `POST /` is shared by three protocols: CodeDeploy, ECS and EventBridge (awsJson1_1) name their
/// operation in `X-Amz-Target`; ELBv2 (awsQuery) names its action in a form body.
async fn serve_json_or_query(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if target.is_empty() {
        let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        return elb::serve(&shared, &form).await;
    }
    if target.starts_with(ecs::TARGET_PREFIX) {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        return ecs::serve(&shared, target, &request).await;
    }
    if target.starts_with(eventbridge::TARGET_PREFIX) {
        return eventbridge::serve(&shared, target, &body).await;
    }
    codedeploy::serve(&shared, target, &body).await
}

/// The running stand-in. Dropping it stops the server.
pub struct LocalAws {
    server: Server,
    shared: Arc<Shared>,
}

impl LocalAws {
    /// Starts the stand-in on a free loopback port.
    pub async fn start() -> std::io::Result<LocalAws> {
        LocalAws::start_on("127.0.0.1:0").await
    }

    /// Starts the stand-in on a given address, such as `127.0.0.1:4599`.
    pub async fn start_on(address: &str) -> std::io::Result<LocalAws> {
        let shared = Arc::new(Shared::new());
        let app = Router::new()
            .route("/", post(serve_json_or_query))
            .route("/2015-03-31/functions/{name}/invocations", post(lambda::invoke))
            .route("/2018-06-01/runtime/invocation/next", get(runtime_api::next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(runtime_api::invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(runtime_api::invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(runtime_api::init_error))
            .route(
                "/service/GraniteServiceVersion20100801/operation/{operation}",
                post(cloudwatch::serve),
            )
            .with_state(Arc::clone(&shared));
        let server = Server::start(app, address).await?;
        Ok(LocalAws { server, shared })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// `127.0.0.1:PORT`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.server.addr.to_string()
    }

    /// Defines version `version` of function `name`, answering as `behaviour` says.
    pub fn add_function(&self, name: &str, version: &str, behaviour: FunctionVersion) {
        self.shared
            .records()
            .functions
            .insert((name.to_string(), version.to_string()), (behaviour, 0));
    }

    /// Defines alias `alias` of `function` on `version`, with `additional`, when given, taking
    /// that share (0.0 to 1.0) of its invocations, as Lambda's
    /// `RoutingConfig.AdditionalVersionWeights`. Invoking `NAME:ALIAS` routes by those weights
    /// (evenly and reproducibly, where Lambda draws at random), answers with
    /// `X-Amz-Executed-Version`, and publishes Lambda's per-version metrics (`Invocations`,
    /// `Errors`, `Duration` under `FunctionName`, `Resource` = `NAME:ALIAS` and
    /// `ExecutedVersion`).
    ///
    /// Panics, as a set-up bug, when a version is not defined, the weight is outside 0.0 to 1.0,
    /// or the additional version is the alias's own (Lambda refuses all three).
    pub fn add_alias(&self, function: &str, alias: &str, version: &str, additional: Option<(&str, f64)>) {
        let mut records = self.shared.records();
        for version in std::iter::once(version).chain(additional.map(|(version, _)| version)) {
            assert!(
                records
                    .functions
                    .contains_key(&(function.to_string(), version.to_string())),
                "alias {function}:{alias} names version {version}, which add_function has not defined"
            );
        }
        if let Some((additional, weight)) = additional {
            assert!(
                (0.0..=1.0).contains(&weight),
                "a routing weight is 0.0 to 1.0, not {weight}"
            );
            assert_ne!(
                additional, version,
                "an alias's additional version differs from its own"
            );
        }
        records.aliases.insert(
            (function.to_string(), alias.to_string()),
            AliasRecord::new(version, additional),
        );
    }

    /// Changes an existing alias's version and routing (as UpdateAlias), starting its round
    /// robin afresh. Panics if the alias does not exist (a set-up bug).
    pub fn set_alias_routing(&self, function: &str, alias: &str, version: &str, additional: Option<(&str, f64)>) {
        let exists = self
            .shared
            .records()
            .aliases
            .contains_key(&(function.to_string(), alias.to_string()));
        assert!(exists, "set_alias_routing: {function}:{alias} has no add_alias");
        self.add_alias(function, alias, version, additional);
    }

    /// Invokes `function:alias` `requests` times, routed and answered as real invocations of the
    /// alias, but with each one's metrics stamped at evenly spaced times within `[from, to)`
    /// instead of now, and without the versions' delays (each reports its delay as its
    /// `Duration`): how a test or the rehearsal reproduces minutes of production traffic in
    /// milliseconds, for a canary judge that reads complete minutes of the past. Not recorded
    /// as the hook's Invoke calls, and not met by injected faults. Returns each version's
    /// invocations and function errors.
    ///
    /// Panics if the alias does not exist (a set-up bug).
    pub async fn simulate_alias_traffic(
        &self,
        function: &str,
        alias: &str,
        requests: u32,
        from: SystemTime,
        to: SystemTime,
    ) -> TrafficSummary {
        lambda::simulate(&self.shared, function, alias, requests, from, to).await
    }

    /// Publishes what an Application Load Balancer counts for one request `at` to a target
    /// group: `RequestCount`, `TargetResponseTime` (seconds) and, for a 5xx `status` only,
    /// `HTTPCode_Target_5XX_Count`, in `AWS/ApplicationELB` under exactly `LoadBalancer` =
    /// `load_balancer` (`app/NAME/ID`) and `TargetGroup` = `target_group`
    /// (`targetgroup/NAME/ID`). The stand-in has no load balancer of its own to count real
    /// requests, so tests publish them.
    pub fn record_target_group_traffic(
        &self,
        load_balancer: &str,
        target_group: &str,
        at: SystemTime,
        status: u16,
        latency: Duration,
    ) {
        self.shared
            .records()
            .metrics
            .target_group_request(load_balancer, target_group, at, status, latency);
    }

    /// Publishes `load.requests` requests to a target group, as
    /// [`LocalAws::record_target_group_traffic`] does one, at evenly spaced times within
    /// `[from, to)`, the 5xx answers spread evenly among them: an ECS canary's minutes of
    /// traffic in an instant. Returns what was counted.
    pub fn simulate_target_group_traffic(
        &self,
        load_balancer: &str,
        target_group: &str,
        from: SystemTime,
        to: SystemTime,
        load: TargetGroupRequests,
    ) -> TargetGroupTraffic {
        let span = to.duration_since(from).unwrap_or_default();
        let mut counted = TargetGroupTraffic::default();
        let mut records = self.shared.records();
        for n in 0..load.requests {
            let at = from + span * n / load.requests;
            // The nth request fails when the running count of failures due steps up at it.
            let due = |k: u32| (f64::from(k) * load.five_xx_share).floor();
            let status = if due(n + 1) > due(n) { 503 } else { 200 };
            records
                .metrics
                .target_group_request(load_balancer, target_group, at, status, load.latency);
            counted.requests += 1;
            counted.five_xx += u32::from(status == 503);
        }
        counted
    }

    /// Publishes one sample of any metric, as a service would (`unit` as CloudWatch names it:
    /// `Count`, `Milliseconds`, `Seconds`, …); the alarms on its series are evaluated on it, as on
    /// any sample.
    pub fn record_metric(
        &self,
        namespace: &str,
        metric_name: &str,
        dimensions: &[(&str, &str)],
        unit: &str,
        at: SystemTime,
        value: f64,
    ) {
        let key = metrics::SeriesKey::new(namespace, metric_name, dimensions);
        self.shared.records().metrics.record(key, unit, at, value);
    }

    /// GetMetricData's pages hold at most `datapoints` datapoints (AWS's hold 100,800), so that
    /// a test sees its client follow `NextToken`.
    pub fn set_metric_page_size(&self, datapoints: usize) {
        self.shared.records().metric_page_size = Some(datapoints);
    }

    /// An HTTP listener on `port` of a load balancer whose DNS name is `127.0.0.1`, so that what
    /// is sent to it reaches a loopback server on that port; returns the listener's ARN.
    pub fn add_test_listener(&self, port: u16) -> String {
        let mut records = self.shared.records();
        let n = records.listeners.len() + 1;
        let load_balancer_arn =
            format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/shop-{n}/50dc6c495c0c9188");
        let listener_arn = format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/shop-{n}/50dc6c495c0c9188/f2f7dc8efc522ab2"
        );
        records.listeners.push(ListenerRecord {
            listener_arn: listener_arn.clone(),
            load_balancer_arn,
            port,
            protocol: "HTTP".into(),
            dns_name: "127.0.0.1".into(),
            load_balancer_type: "application".into(),
        });
        listener_arn
    }

    /// An ECS-native service `checkout` behind a Network Load Balancer: its revision names the
    /// NLB's TCP test *listener* on `port` (no rule, no conditions), whose default action forwards
    /// to blue until [`LocalAws::shift_test_traffic`] moves it to green, as ECS does.
    pub fn add_ecs_service_behind_nlb(&self, port: u16) -> EcsService {
        let n = self.shared.records().listeners.len() + 1;
        let load_balancer_arn = format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/shop-nlb-{n}/4f2c8a4e1b1d2c3d"
        );
        let listener_arn = format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/net/shop-nlb-{n}/4f2c8a4e1b1d2c3d/6a7b8c9d0e1f2a3b"
        );
        self.shared.records().listeners.push(ListenerRecord {
            listener_arn: listener_arn.clone(),
            load_balancer_arn,
            port,
            protocol: "TCP".into(),
            dns_name: "127.0.0.1".into(),
            load_balancer_type: "network".into(),
        });
        let group = |name: &str| {
            format!(
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/checkout-nlb-{n}-{name}/81c2e3d4f5a6b7c8"
            )
        };
        self.add_ecs_service_routed(&listener_arn, &group("green"), &group("blue"), TestRule::default())
    }

    /// An ECS-native blue/green service `checkout` in cluster `shop`: a test listener on `port`
    /// (as [`LocalAws::add_test_listener`]) whose rule asks what `rule` says and forwards to blue
    /// until [`LocalAws::shift_test_traffic`] moves it to green.
    pub fn add_ecs_service(&self, port: u16, rule: TestRule) -> EcsService {
        let listener_arn = self.add_test_listener(port);
        let n = self.shared.records().ecs_services.len() + 1;
        let group = |name: &str| {
            format!(
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/checkout-{n}-{name}/73e2d6bc24d8a067"
            )
        };
        let rule_arn = listener_arn.replace(":listener/", ":listener-rule/") + "/9683b2d02a6cabee";
        self.add_ecs_service_routed(&rule_arn, &group("green"), &group("blue"), rule)
    }

    /// An ECS-native service whose revision names the test listener rule `test_rule_arn` and
    /// the target groups given: for a rule that lives elsewhere (moto's ELBv2, say), `rule` is
    /// what the stand-in's own DescribeRules would answer. The rule forwards to blue until
    /// [`LocalAws::shift_test_traffic`].
    pub fn add_ecs_service_routed(
        &self,
        test_rule_arn: &str,
        green_target_group: &str,
        blue_target_group: &str,
        rule: TestRule,
    ) -> EcsService {
        let mut records = self.shared.records();
        let n = records.ecs_services.len() + 1;
        let service_arn = format!("arn:aws:ecs:us-east-1:000000000000:service/shop/checkout-{n}");
        let revision = |k: u32| format!("arn:aws:ecs:us-east-1:000000000000:service-revision/shop/checkout-{n}/{k}");
        let production_rule_arn = match test_rule_arn.rsplit_once('/') {
            Some((listener, _)) => format!("{listener}/0467ef3c8400ae65"),
            None => format!("{test_rule_arn}-production"),
        };
        records.ecs_services.push(EcsServiceRecord {
            service_arn: service_arn.clone(),
            revision_arn: revision(2),
            blue_target_group: blue_target_group.to_string(),
            green_target_group: green_target_group.to_string(),
            production_rule_arn,
            test_rule_arn: test_rule_arn.to_string(),
            test_rule: rule,
            test_rule_forwards_to: blue_target_group.to_string(),
        });
        EcsService {
            service_arn,
            blue_revision: revision(1),
            green_revision: revision(2),
            test_rule_arn: test_rule_arn.to_string(),
        }
    }

    /// Gives the service's green revision the ARN `revision_arn` (a sample event's, say).
    pub fn name_green_revision(&self, service: &EcsService, revision_arn: &str) -> EcsService {
        let mut records = self.shared.records();
        if let Some(record) = records
            .ecs_services
            .iter_mut()
            .find(|record| record.test_rule_arn == service.test_rule_arn)
        {
            record.revision_arn = revision_arn.to_string();
        }
        EcsService {
            green_revision: revision_arn.to_string(),
            ..service.clone()
        }
    }

    /// ECS's test traffic shift: the test rule forwards to green (or back to blue).
    pub fn shift_test_traffic(&self, service: &EcsService, to_green: bool) {
        let mut records = self.shared.records();
        if let Some(record) = records
            .ecs_services
            .iter_mut()
            .find(|record| record.test_rule_arn == service.test_rule_arn)
        {
            record.test_rule_forwards_to = if to_green {
                record.green_target_group.clone()
            } else {
                record.blue_target_group.clone()
            };
        }
    }

    /// Creates a deployment with fresh ids, `InProgress` unless its spec says otherwise.
    pub fn create_deployment(&self, spec: DeploymentSpec) -> Deployment {
        let n = records::next_deployment_number();
        self.create_deployment_with_ids(spec, &format!("d-LOCAL{n:05}"), &format!("local-hook-execution-{n:05}"))
    }

    /// Creates a deployment with given ids, such as those of a sample event file. Given the id of
    /// a deployment that exists, it replaces that deployment; to start the same deployment's next
    /// hook execution, use [`LocalAws::next_hook_execution`].
    pub fn create_deployment_with_ids(&self, spec: DeploymentSpec, id: &str, execution_id: &str) -> Deployment {
        if let Some(lifecycle) = &spec.lifecycle {
            check_lifecycle(&spec.platform, lifecycle);
        }
        let deployment = Deployment {
            id: id.to_string(),
            execution_id: execution_id.to_string(),
        };
        let mut records = self.shared.records();
        records.start_run(&deployment.id, &spec);
        records
            .deployments
            .insert(deployment.id.clone(), (spec, deployment.execution_id.clone()));
        deployment
    }

    /// Moves a deployment to `status` (`Succeeded`, `Failed`, `Stopped`, …), as GetDeployment
    /// will then report it; a status that ends it (`Succeeded`, `Failed`, `Stopped`) completes it
    /// now, if nothing did before.
    pub fn set_status(&self, deployment: &Deployment, status: &str) {
        let mut records = self.shared.records();
        if let Some((spec, _)) = records.deployments.get_mut(&deployment.id) {
            spec.status = status.to_string();
        }
        let ended = matches!(status, "Succeeded" | "Failed" | "Stopped");
        if let (true, Some(run)) = (ended, records.runs.get_mut(&deployment.id)) {
            run.complete_time.get_or_insert_with(SystemTime::now);
        }
    }

    /// What became of the deployment, as GetDeployment reports it (status, when it was created and
    /// completed, why it failed or was stopped, its rollback), with every alarm brought up to
    /// date first; `None` for a deployment the stand-in does not have.
    pub fn deployment_state(&self, deployment: &Deployment) -> Option<DeploymentState> {
        let records = alarms::settled(&self.shared);
        let (spec, _) = records.deployments.get(&deployment.id)?;
        let run = records.runs.get(&deployment.id)?;
        Some(DeploymentState {
            status: spec.status.clone(),
            create_time: run.create_time,
            complete_time: run.complete_time,
            error: run.error.clone(),
            rollback: run.rollback.clone(),
            creator: spec.creator.clone(),
        })
    }

    /// ListDeployments' pages hold at most `ids` deployment ids (the stand-in's default is 100:
    /// AWS does not document its own), so that a test sees its client follow `nextToken`.
    pub fn set_list_deployments_page_size(&self, ids: usize) {
        self.shared.records().deployment_page_size = Some(ids);
    }

    /// Defines a CloudWatch metric alarm, as PutMetricAlarm: a new one is `INSUFFICIENT_DATA`
    /// until evaluated (samples stored before it was defined count from its first evaluation on);
    /// redefining one keeps its state. It is evaluated over the stored series as
    /// CloudWatch evaluates it, each period once data for it arrives (see
    /// [`LocalAws::evaluate_alarms_until`] for time passing without data); a deployment in
    /// progress whose group names it is stopped when it is in `ALARM`, as CodeDeploy does.
    ///
    /// Panics, as a set-up bug, on a definition CloudWatch refuses (M of N with M > N, a period
    /// that is not 10, 20, 30 or a multiple of 60, an unknown statistic, comparison or
    /// missing-data treatment) or the stand-in does not evaluate (anomaly detection).
    pub fn put_metric_alarm(&self, alarm: MetricAlarm) {
        let name = alarm.name.clone();
        let record =
            alarms::AlarmRecord::new(alarm).unwrap_or_else(|problem| panic!("put_metric_alarm {name}: {problem}"));
        let mut records = alarms::settled(&self.shared);
        records.metrics.watch(record.key.clone());
        let record = match records.alarms.get(&name) {
            Some(previous) => record.redefined(previous),
            None => record,
        };
        records.alarms.insert(name, record);
    }

    /// The alarm's state and since when (simulated time), with every sample stored evaluated;
    /// `None` for an alarm never defined.
    pub fn alarm_state(&self, name: &str) -> Option<AlarmState> {
        alarms::settled(&self.shared)
            .alarms
            .get(name)
            .map(|record| record.state.clone())
    }

    /// Every state the alarm changed to, oldest first.
    pub fn alarm_history(&self, name: &str) -> Vec<AlarmState> {
        alarms::settled(&self.shared)
            .alarms
            .get(name)
            .map(|record| record.history.clone())
            .unwrap_or_default()
    }

    /// Lets simulated time pass until `until` without more data: each alarm is evaluated at each
    /// of its period ends up to then, as CloudWatch's schedule evaluates it (an alarm whose
    /// missing data is not breaching goes back to `OK` once its range holds no breaching
    /// datapoint), and CodeDeploy honours the alarms. Time never goes back: an alarm already
    /// evaluated past `until` is left alone.
    pub fn evaluate_alarms_until(&self, until: SystemTime) {
        alarms::advance_all(&mut self.shared.records(), until);
    }

    /// Every PutMetricData call that got past injected faults: what it sent, and the error code
    /// it was refused with, if it was.
    pub fn put_metric_data_calls(&self) -> Vec<MetricDataRecord> {
        self.shared.records().metric_data_calls.clone()
    }

    /// Moves the deployment's targets to `lifecycle` (the event in progress, `AllowTraffic`'s
    /// window), as ListDeploymentTargets and BatchGetDeploymentTargets will then report it.
    /// Panics if the event is not one of the deployment's platform (a set-up bug).
    pub fn set_lifecycle(&self, deployment: &Deployment, lifecycle: Lifecycle) {
        let mut records = self.shared.records();
        let (spec, _) = records
            .deployments
            .get_mut(&deployment.id)
            .unwrap_or_else(|| panic!("set_lifecycle: no deployment {}", deployment.id));
        check_lifecycle(&spec.platform, &lifecycle);
        spec.lifecycle = Some(lifecycle);
    }

    /// The same deployment's next lifecycle event hook execution, as CodeDeploy starts it once
    /// the hook has reported the one before (`AfterAllowTraffic` after `BeforeAllowTraffic`, in a
    /// release with the hook at both): the deployment keeps its id, the execution gets a new one
    /// (CodeDeploy gives every hook execution its own: here the earlier one's with the event's
    /// name after it), and the targets' lifecycle moves to `lifecycle`, as
    /// [`LocalAws::set_lifecycle`] moves it. The returned ids are what the next hook event
    /// carries ([`LocalAws::deliver`]) and what reports are accepted under from then on; the
    /// earlier execution's accepted status stays readable through the handle it had
    /// ([`LocalAws::accepted_status`]), and a late report of it is refused with
    /// `LifecycleEventAlreadyCompletedException`, as a second report of any completed event is.
    ///
    /// Panics, as a set-up bug, if the deployment does not exist, or if `lifecycle`'s event is not
    /// one of its platform's or does not come after the event in progress (by default the first
    /// hook preflight serves: `BeforeAllowTraffic` for Lambda, `AfterAllowTestTraffic` for ECS).
    pub fn next_hook_execution(&self, deployment: &Deployment, lifecycle: Lifecycle) -> Deployment {
        let mut records = self.shared.records();
        let (spec, execution_id) = records
            .deployments
            .get_mut(&deployment.id)
            .unwrap_or_else(|| panic!("next_hook_execution: no deployment {}", deployment.id));
        assert!(
            spec.status == "InProgress",
            "next_hook_execution: deployment {} is {}: CodeDeploy starts no further hook",
            deployment.id,
            spec.status
        );
        check_lifecycle(&spec.platform, &lifecycle);
        let events = codedeploy::lifecycle_events(&spec.platform);
        let position = |event: &str| events.iter().position(|known| *known == event);
        let current = spec
            .lifecycle
            .clone()
            .unwrap_or_else(|| codedeploy::default_lifecycle(&spec.platform));
        assert!(
            position(&lifecycle.in_progress) > position(&current.in_progress),
            "next_hook_execution: {} does not come after {}, the event in progress ({events:?})",
            lifecycle.in_progress,
            current.in_progress
        );
        *execution_id = format!("{execution_id}-{}", lifecycle.in_progress);
        spec.lifecycle = Some(lifecycle);
        Deployment {
            id: deployment.id.clone(),
            execution_id: execution_id.clone(),
        }
    }

    /// The next `times` calls of `operation` meet `fault`.
    pub fn inject(&self, operation: Operation, fault: Fault, times: usize) {
        let mut records = self.shared.records();
        let queue = records.faults.entry(operation).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Delivers the deployment's hook event and waits for the hook to answer or time out.
    pub async fn deliver(&self, deployment: &Deployment, function_timeout: Duration) -> Delivered {
        self.deliver_payload(deployment.hook_event(), function_timeout).await
    }

    /// Delivers any payload, valid or not.
    pub async fn deliver_payload(&self, payload: Value, function_timeout: Duration) -> Delivered {
        self.deliver_with_deadline_header(payload, function_timeout, None).await
    }

    /// Delivers with a given `Lambda-Runtime-Deadline-Ms` value, such as the placeholder
    /// `600000` that cargo lambda's emulator sends.
    pub async fn deliver_with_deadline_header(
        &self,
        payload: Value,
        function_timeout: Duration,
        deadline_header: Option<String>,
    ) -> Delivered {
        self.shared.deliver(payload, function_timeout, deadline_header).await
    }

    /// Every report the hook sent, accepted or not.
    pub fn reports(&self) -> Vec<ReportRecord> {
        self.shared.records().reports.clone()
    }

    /// The status CodeDeploy accepted for this deployment's hook execution, if any.
    pub fn accepted_status(&self, deployment: &Deployment) -> Option<String> {
        self.shared.records().completed.get(&deployment.execution_id).cloned()
    }

    /// How many calls of `operation` arrived (faulted ones included).
    pub fn calls(&self, operation: Operation) -> usize {
        self.shared.records().calls.iter().filter(|c| **c == operation).count()
    }

    /// Every Invoke the hook made (simulated traffic is not among them).
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        self.shared.records().invocations.clone()
    }

    /// When the hook first asked for an event: the end of its cold start.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.records().first_poll
    }

    /// The first poll, once it happens (or the program reports an init error, or `budget` ends).
    pub async fn wait_for_first_poll(&self, budget: Duration) -> Option<Instant> {
        self.shared
            .wait_until(budget, |records| {
                records.first_poll.is_some() || !records.init_errors.is_empty()
            })
            .await;
        self.first_poll()
    }

    /// Waits until more than `seen` reports have arrived, and returns them all.
    pub async fn wait_for_reports_after(&self, seen: usize, budget: Duration) -> Vec<ReportRecord> {
        self.shared
            .wait_until(budget, |records| records.reports.len() > seen)
            .await;
        self.reports()
    }

    /// The init errors the program reported.
    pub fn init_errors(&self) -> Vec<Value> {
        self.shared.records().init_errors.clone()
    }
}

/// Panics unless `lifecycle`'s event in progress is one of `platform`'s: a set-up bug.
fn check_lifecycle(platform: &str, lifecycle: &Lifecycle) {
    let events = codedeploy::lifecycle_events(platform);
    assert!(
        events.contains(&lifecycle.in_progress.as_str()),
        "{} is not a {platform} deployment's lifecycle event ({events:?})",
        lifecycle.in_progress
    );
}

/// A `LocalAws` started for one program of the user's is that program's Runtime API.
impl Runtime for LocalAws {
    fn runtime_api(&self) -> String {
        LocalAws::runtime_api(self)
    }

    fn deliver(&self, payload: Value, timeout: Duration) -> Pin<Box<dyn Future<Output = Delivered> + Send + '_>> {
        Box::pin(self.deliver_payload(payload, timeout))
    }
}
