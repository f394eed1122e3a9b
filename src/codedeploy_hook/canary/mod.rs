//! Judging a Lambda deployment's new version on its real traffic at `AfterAllowTraffic`: the
//! alias split traffic between the AppSpec's `CurrentVersion` and `TargetVersion` during
//! `AllowTraffic`, and CloudWatch published each version's metrics apart (`ExecutedVersion`).

#[cfg(test)]
mod tests;

use std::time::SystemTime;

use super::appspec::LambdaFunction;
use crate::checks::canary::window::Window;
use crate::checks::canary::{
    CanarySettings, Clock, Judged, Pair, Ruling, Side, Subject, TargetJudgement, Traffic, judge_baking,
};
use crate::checks::deciding::{Checking, Stop};

/// A function to judge, with its entry's settings.
pub(crate) struct ToJudge {
    pub function: LambdaFunction,
    pub settings: CanarySettings,
}

/// Judges each function in turn (a Lambda deployment has one), from `allow_traffic` (the split;
/// when CodeDeploy gave no times, the split is taken to have just ended).
pub(crate) async fn judge_functions(
    checking: &Checking,
    functions: Vec<ToJudge>,
    allow_traffic: Option<(SystemTime, SystemTime)>,
) -> Result<Vec<TargetJudgement>, Stop> {
    let clock = Clock::start();
    let split = allow_traffic.unwrap_or_else(|| (clock.now(), clock.now()));
    let mut judgements = Vec::with_capacity(functions.len());
    for ToJudge { function, settings } in functions {
        let (target, judged) = match (&function.alias, &function.current_version) {
            (Some(alias), Some(current)) => {
                let version = |version: &str| Subject::LambdaVersion {
                    function: function.name.clone(),
                    alias: alias.clone(),
                    version: version.to_string(),
                };
                let pair = Pair {
                    new: version(&function.target_version),
                    old: version(current),
                };
                let client = checking.clients().cloudwatch().await;
                let judged = judge_baking(client, &pair, split, &settings, &clock, checking.deadline()).await?;
                (format!("{}:{alias}", function.name), judged)
            }
            _ => (function.name.clone(), nothing_to_compare(&function, split)),
        };
        judgements.push(TargetJudgement {
            target,
            judged,
            on_inconclusive: settings.on_inconclusive,
        });
    }
    Ok(judgements)
}

/// Without an alias and a current version there is no old version's traffic to compare with.
fn nothing_to_compare(function: &LambdaFunction, (start, end): (SystemTime, SystemTime)) -> Judged {
    let side = |name: String| Side {
        name,
        window: Window::covering(start, end),
        traffic: Traffic::default(),
    };
    Judged {
        ruling: Ruling::Inconclusive,
        rule: format!(
            "the AppSpec gives {} no Alias and CurrentVersion, so there is no old version's traffic to compare with",
            function.name
        ),
        new: side(format!("version {}", function.target_version)),
        old: side("no old version".into()),
    }
}
