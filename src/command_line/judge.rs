//! `preflight judge`: the canary judge run on a past or running deployment, deciding nothing, with
//! the hook's own thresholds (the `canary` key of the check definitions) and the caller's AWS
//! configuration. It never waits: it judges the minutes CloudWatch can give now.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::{EXIT_FAILED, EXIT_SUCCEEDED};
use crate::checks::canary::window::{Look, Window, complete_until};
use crate::checks::canary::{
    CanarySettings, Clock, Judged, Pair, Ruling, Subject, judge_baking, look_once, target_group_pair,
};
use crate::checks::config::Config;
use crate::checks::deciding::Stop;
use crate::checks::definitions::Subject as Selected;
use crate::checks::{canary_for, function_subject};
use crate::codedeploy_hook::canary::{deployment_to_judge, judge_function, task_set_pair};
use crate::plumbing::aws::AwsClients;

/// The exit status when the judge says `Inconclusive`: it saw too little to decide.
pub const EXIT_INCONCLUSIVE: u8 = 3;

/// What to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JudgeSubject {
    /// A CodeDeploy deployment: its AppSpec's versions, over its `AllowTraffic` event.
    Deployment(String),
    /// Two versions of a function as they ran behind `alias`, over `[from, to)`.
    Function {
        function: String,
        alias: String,
        new: String,
        old: String,
        from: SystemTime,
        to: SystemTime,
    },
    /// Two target groups of an Application Load Balancer, by ARN, over `[from, to)`.
    TargetGroups {
        new: String,
        old: String,
        from: SystemTime,
        to: SystemTime,
    },
}

/// One target's judgement and the settings it was judged with.
#[derive(Debug, Clone)]
struct TargetJudged {
    target: String,
    settings: CanarySettings,
    /// No entry's `canary` key chose this target: the defaults were used.
    defaults: bool,
    judged: Judged,
}

/// What the command found.
#[derive(Debug, Clone)]
pub struct Judging {
    targets: Vec<TargetJudged>,
}

impl Judging {
    /// The worst ruling: `Fail` over `Inconclusive` over `Pass`.
    pub fn ruling(&self) -> Ruling {
        self.targets
            .iter()
            .map(|target| target.judged.ruling)
            .max()
            .unwrap_or(Ruling::Inconclusive)
    }

    /// 0 `Pass`, 1 `Fail`, 3 `Inconclusive`.
    pub fn exit_code(&self) -> u8 {
        match self.ruling() {
            Ruling::Pass => EXIT_SUCCEEDED,
            Ruling::Fail => EXIT_FAILED,
            Ruling::Inconclusive => EXIT_INCONCLUSIVE,
        }
    }

    /// The evidence, a few lines a target, then the outcome.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for target in &self.targets {
            let settings = if target.defaults {
                format!(
                    "{} (the defaults: no entry's canary key chose it)",
                    target.settings.describe()
                )
            } else {
                target.settings.describe()
            };
            lines.push(format!("{}: {settings}", target.target));
            for (role, side) in [("new", &target.judged.new), ("old", &target.judged.old)] {
                let p99 = side
                    .traffic
                    .p99_ms
                    .map_or_else(|| "no p99".to_string(), |p99| format!("p99 {p99:.0} ms"));
                lines.push(format!(
                    "  {role} {}: {} requests, {} errors ({:.1}%), {p99}, {}",
                    side.name,
                    side.requests(),
                    side.errors(),
                    side.error_rate() * 100.0,
                    side.window.shown()
                ));
            }
            lines.push(format!("  {}: {}", target.judged.ruling, target.judged.rule));
        }
        lines.push(format!("judgement: {}", self.ruling()));
        lines
    }
}

/// Reads an RFC 3339 time, `2026-12-07T10:00:00Z`.
pub fn parse_time(text: &str) -> Result<SystemTime, String> {
    DateTime::from_str(text.trim(), Format::DateTime)
        .ok()
        .and_then(|time| SystemTime::try_from(time).ok())
        .ok_or_else(|| format!("`{text}` is not an RFC 3339 time such as 2026-12-07T10:00:00Z"))
}

/// Judges `subject` with the canary settings `config` chooses for it.
pub async fn judge(config: &Config, subject: &JudgeSubject, clients: &AwsClients) -> Result<Judging, String> {
    let clock = Clock::start();
    let settings_for = |selected: &Selected| match canary_for(config, selected) {
        Some(settings) => (settings, false),
        None => (CanarySettings::default(), true),
    };
    let mut targets = Vec::new();
    match subject {
        JudgeSubject::Deployment(id) => {
            let deployment = deployment_to_judge(clients, id, clock.now()).await?;
            too_old(clock.now(), deployment.split.0, &format!("deployment {id}"))?;
            if let Some((service, task_sets)) = &deployment.ecs {
                let selected = Selected {
                    deployment_group: Some(deployment.group.clone()),
                    service: service.clone(),
                    ..Selected::default()
                };
                let (settings, defaults) = settings_for(&selected);
                let target = service.clone().unwrap_or_else(|| deployment.group.clone());
                let pair = task_set_pair(clients, &target, task_sets)
                    .await
                    .map_err(|Stop(verdict)| verdict.reason)?;
                let judged = judge_baking(
                    clients.cloudwatch().await,
                    &pair,
                    deployment.split,
                    &settings,
                    &clock,
                    None,
                )
                .await
                .map_err(|error| error.to_string())?;
                targets.push(TargetJudged {
                    target,
                    settings,
                    defaults,
                    judged,
                });
            }
            for function in &deployment.functions {
                let (settings, defaults) = settings_for(&function_subject(&function.name, Some(&deployment.group)));
                let judgement = judge_function(clients, function, &settings, deployment.split, &clock, None)
                    .await
                    .map_err(|error| error.to_string())?;
                targets.push(TargetJudged {
                    target: judgement.target,
                    settings,
                    defaults,
                    judged: judgement.judged,
                });
            }
        }
        JudgeSubject::Function {
            function,
            alias,
            new,
            old,
            from,
            to,
        } => {
            let (settings, defaults) = settings_for(&function_subject(function, None));
            let version = |version: &str| Subject::LambdaVersion {
                function: function.clone(),
                alias: alias.clone(),
                version: version.to_string(),
            };
            let pair = Pair {
                new: version(new),
                old: version(old),
                synthetic: settings
                    .traffic
                    .map(|_| crate::codedeploy_hook::canary::synthetic_dimensions(function)),
            };
            let judged = side_by_side(clients, &pair, (*from, *to), &settings, &clock).await?;
            targets.push(TargetJudged {
                target: format!("{function}:{alias}"),
                settings,
                defaults,
                judged,
            });
        }
        JudgeSubject::TargetGroups { new, old, from, to } => {
            let (settings, defaults) = settings_for(&Selected::default());
            let pair = target_group_pair(clients.elb().await, new, old)
                .await
                .map_err(|error| error.to_string())?;
            let judged = side_by_side(clients, &pair, (*from, *to), &settings, &clock).await?;
            targets.push(TargetJudged {
                target: format!("{} against {}", pair.new.shown(), pair.old.shown()),
                settings,
                defaults,
                judged,
            });
        }
    }
    Ok(Judging { targets })
}

/// One-minute data is kept 15 days: older minutes come back empty, and the judge would call them
/// inconclusive without saying why.
fn too_old(now: SystemTime, start: SystemTime, what: &str) -> Result<(), String> {
    if now.duration_since(start).unwrap_or_default() > Duration::from_secs(15 * 24 * 3600) {
        return Err(format!(
            "{what} starts more than 15 days ago: CloudWatch keeps one-minute data for 15 days"
        ));
    }
    Ok(())
}

/// Both sides over the complete whole minutes of `[from, to)`.
async fn side_by_side(
    clients: &AwsClients,
    pair: &Pair,
    (from, to): (SystemTime, SystemTime),
    settings: &CanarySettings,
    clock: &Clock,
) -> Result<Judged, String> {
    if to <= from {
        return Err("--to must be after --from".into());
    }
    let asked = Window::covering(from, to);
    let readable = Window {
        start: asked.start,
        end: asked.end.min(complete_until(clock.now(), settings.settle)),
    };
    let look = (readable.end > readable.start)
        .then(|| Look::side_by_side(readable))
        .flatten()
        .ok_or_else(|| {
            format!(
                "no whole minute of {} has been complete for {} min yet (CloudWatch's points arrive late): ask \
                 again later, or for an earlier time",
                asked.shown(),
                settings.settle.as_secs() / 60
            )
        })?;
    too_old(clock.now(), look.start, &asked.shown())?;
    look_once(clients.cloudwatch().await, pair, &look, settings)
        .await
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339() {
        let at = parse_time("2026-12-07T10:00:00Z").unwrap();
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_796_637_600
        );
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }
}
