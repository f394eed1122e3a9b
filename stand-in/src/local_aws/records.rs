//! What the stand-in holds while it runs: the [`Records`] of what was created, injected and
//! called (with the Lambda aliases' routing, the CloudWatch metrics and alarms, and what became of
//! each deployment), under one lock, and the Runtime API's queue of events, with the waits on
//! both. The services write here and the facade reads; both reach it through [`Shared`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::{Notify, mpsc, oneshot};

use super::alarms::AlarmRecord;
use super::metrics::MetricStore;
use super::model::{
    Delivered, DeploymentSpec, EcsServiceRecord, ErrorInformation, Fault, FunctionVersion, InvocationRecord,
    ListenerRecord, MetricDataRecord, Operation, ReportRecord, RollbackInfo, RuntimeOutcome,
};

/// An event waiting for the function's next poll.
pub(super) struct PendingEvent {
    pub(super) request_id: String,
    pub(super) payload: Value,
    pub(super) timeout: Duration,
    /// Sent as `Lambda-Runtime-Deadline-Ms` instead of now + timeout, to imitate emulators.
    pub(super) deadline_header: Option<String>,
}

#[derive(Default)]
pub(super) struct Records {
    /// Each deployment with its hook execution's id.
    pub(super) deployments: HashMap<String, (DeploymentSpec, String)>,
    /// Each `(name, version)` with its behaviour and how often it was invoked.
    pub(super) functions: HashMap<(String, String), (FunctionVersion, u32)>,
    /// The status accepted for each hook execution.
    pub(super) completed: HashMap<String, String>,
    pub(super) reports: Vec<ReportRecord>,
    pub(super) calls: Vec<Operation>,
    pub(super) invocations: Vec<InvocationRecord>,
    pub(super) listeners: Vec<ListenerRecord>,
    pub(super) ecs_services: Vec<EcsServiceRecord>,
    pub(super) faults: HashMap<Operation, VecDeque<Fault>>,
    /// The deliveries waiting for the function's answer, by request id.
    pub(super) waiting: HashMap<String, oneshot::Sender<RuntimeOutcome>>,
    pub(super) init_errors: Vec<Value>,
    pub(super) first_poll: Option<Instant>,
    pub(super) next_id: u64,
    /// Each `(function, alias)` with its routing.
    pub(super) aliases: HashMap<(String, String), AliasRecord>,
    /// What Lambda and the tests published to CloudWatch.
    pub(super) metrics: MetricStore,
    /// How many datapoints a GetMetricData page holds; `None`: AWS's 100,800.
    pub(super) metric_page_size: Option<usize>,
    /// What became of each deployment, by id (its status is its spec's).
    pub(super) runs: HashMap<String, DeploymentRun>,
    /// How many deployments were created before, for ListDeployments' order.
    pub(super) created_count: u64,
    /// How many ids a ListDeployments page holds; `None`: the stand-in's 100.
    pub(super) deployment_page_size: Option<usize>,
    /// The CloudWatch metric alarms, by name.
    pub(super) alarms: BTreeMap<String, AlarmRecord>,
    /// Every PutMetricData call that got past injected faults.
    pub(super) metric_data_calls: Vec<MetricDataRecord>,
    /// EventBridge's buses and the events put on them.
    pub(super) event_bridge: super::eventbridge::EventBridgeRecords,
}

/// What became of one deployment, beside its spec's status.
#[derive(Debug, Clone)]
pub(super) struct DeploymentRun {
    pub(super) create_time: SystemTime,
    /// Its place in the order of creation.
    pub(super) sequence: u64,
    pub(super) complete_time: Option<SystemTime>,
    /// When an alarm stopped it: its targets' event in progress then ended.
    pub(super) stopped_at: Option<SystemTime>,
    pub(super) error: Option<ErrorInformation>,
    pub(super) rollback: Option<RollbackInfo>,
}

impl Records {
    /// Records that deployment `id` was created now (or when its spec says).
    pub(super) fn start_run(&mut self, id: &str, spec: &DeploymentSpec) {
        self.created_count += 1;
        let run = DeploymentRun {
            create_time: spec.created.unwrap_or_else(SystemTime::now),
            sequence: self.created_count,
            complete_time: None,
            stopped_at: None,
            error: None,
            rollback: None,
        };
        self.runs.insert(id.to_string(), run);
    }
}

/// A fresh deployment number: ids are unique across stand-ins, as they are across a real account.
pub(super) fn next_deployment_number() -> u64 {
    static NEXT_DEPLOYMENT: AtomicU64 = AtomicU64::new(1);
    NEXT_DEPLOYMENT.fetch_add(1, Ordering::Relaxed)
}

/// The scale of an alias's weights: Lambda takes weights with up to this many parts in one.
pub(super) const WEIGHT_SCALE: i64 = 1_000_000;

/// A Lambda alias: its version, the additional version with its weight (Lambda's
/// `RoutingConfig.AdditionalVersionWeights`), and the routing's running credit.
#[derive(Debug, Clone)]
pub(super) struct AliasRecord {
    pub(super) version: String,
    pub(super) additional: Option<(String, i64)>,
    /// Smooth weighted round robin's credit, for the alias's version and the additional one.
    credit: [i64; 2],
}

impl AliasRecord {
    /// `weight` is the additional version's share, 0.0 to 1.0.
    pub(super) fn new(version: &str, additional: Option<(&str, f64)>) -> AliasRecord {
        AliasRecord {
            version: version.into(),
            additional: additional
                .map(|(version, weight)| (version.to_string(), (weight * WEIGHT_SCALE as f64).round() as i64)),
            credit: [0, 0],
        }
    }

    /// The version the next invocation runs. Lambda draws it at random by the weights; here a
    /// smooth weighted round robin spreads the versions evenly and exactly (an additional
    /// version at 10% runs exactly one invocation in ten, the 6th of each ten), so that tests
    /// are reproducible.
    pub(super) fn route(&mut self) -> String {
        let Some((additional, weight)) = &self.additional else {
            return self.version.clone();
        };
        let weights = [WEIGHT_SCALE - weight, *weight];
        for (credit, weight) in self.credit.iter_mut().zip(weights) {
            *credit += weight;
        }
        // Ties go to the alias's own version.
        let chosen = usize::from(self.credit[1] > self.credit[0]);
        self.credit[chosen] -= WEIGHT_SCALE;
        if chosen == 1 {
            additional.clone()
        } else {
            self.version.clone()
        }
    }
}

pub(super) struct Shared {
    records: Mutex<Records>,
    /// Woken whenever a report, a first poll or an init error is recorded.
    pub(super) changed: Notify,
    events: mpsc::UnboundedSender<PendingEvent>,
    pub(super) next_event: tokio::sync::Mutex<mpsc::UnboundedReceiver<PendingEvent>>,
}

impl Shared {
    pub(super) fn new() -> Shared {
        let (events, next_event) = mpsc::unbounded_channel();
        Shared {
            records: Mutex::new(Records::default()),
            changed: Notify::new(),
            events,
            next_event: tokio::sync::Mutex::new(next_event),
        }
    }

    /// Poisoning only follows a panic in a test thread; the records are still worth reading.
    pub(super) fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `payload` for the function's next poll and waits for its answer, or for its
    /// timeout (with a little more for the process to start and poll).
    pub(super) async fn deliver(
        &self,
        payload: Value,
        function_timeout: Duration,
        deadline_header: Option<String>,
    ) -> Delivered {
        let (sender, receiver) = oneshot::channel();
        let request_id = {
            let mut records = self.records();
            records.next_id += 1;
            let id = format!("local-request-{}", records.next_id);
            records.waiting.insert(id.clone(), sender);
            id
        };
        let started = Instant::now();
        let _ = self.events.send(PendingEvent {
            request_id,
            payload,
            timeout: function_timeout,
            deadline_header,
        });
        // Waiting for the poll as well as the run: allow a little for the process to start.
        let outcome = match tokio::time::timeout(function_timeout + Duration::from_secs(5), receiver).await {
            Ok(Ok(outcome)) => outcome,
            _ => RuntimeOutcome::TimedOut,
        };
        Delivered {
            outcome,
            started,
            deadline: started + function_timeout,
        }
    }

    /// Waits until `ready` holds for the records, waking on each report, first poll or init
    /// error (never polling on a timer), for at most `budget`. True if it held.
    pub(super) async fn wait_until(&self, budget: Duration, ready: impl Fn(&Records) -> bool) -> bool {
        let waiting = async {
            loop {
                // Registered before looking, so that a change between the look and the wait
                // still wakes this waiter.
                let changed = self.changed.notified();
                if ready(&self.records()) {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(budget, waiting).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_routes_exactly_by_its_weights() {
        let mut alias = AliasRecord::new("1", Some(("2", 0.1)));
        let routed: Vec<String> = (0..20).map(|_| alias.route()).collect();
        let on_two: Vec<usize> = (0..20).filter(|i| routed[*i] == "2").collect();
        assert_eq!(on_two, vec![5, 15], "{routed:?}");
        let mut alone = AliasRecord::new("3", None);
        assert_eq!(alone.route(), "3");
        let mut all = AliasRecord::new("1", Some(("2", 1.0)));
        assert!((0..5).all(|_| all.route() == "2"));
    }
}
