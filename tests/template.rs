//! The SAM template: cfn-lint (locked in `tests/template/requirements.txt`) finds nothing, and
//! its Rules refuse what they must before CloudFormation creates anything, evaluated for real
//! parameter values by `tests/template/rules.py` over cfn-lint's own template reader.

use std::path::PathBuf;
use std::process::Command;

use rehearsal::installs::{PythonEnv, output};
use rehearsal::kit::workspace_root;
use serde_json::json;

fn files() -> PathBuf {
    workspace_root().join("tests").join("template")
}

fn python() -> PathBuf {
    PythonEnv::ensure(&files().join("requirements.txt"))
        .expect("install cfn-lint")
        .python()
}

/// The descriptions of the assertions that fail for these parameter values.
fn failed_assertions(parameters: serde_json::Value) -> Vec<String> {
    let printed = output(
        Command::new(python())
            .arg(files().join("rules.py"))
            .arg(workspace_root().join("template.yaml"))
            .arg(parameters.to_string()),
    )
    .expect("evaluate the Rules");
    serde_json::from_str(printed.trim()).expect("a JSON list")
}

#[test]
fn cfn_lint_finds_nothing() {
    let printed = output(
        Command::new(python())
            .arg("-c")
            .arg("import sys; from cfnlint.runner import main; sys.argv = ['cfn-lint', 'template.yaml']; sys.exit(main())")
            .current_dir(workspace_root()),
    );
    assert!(printed.is_ok(), "{}", printed.unwrap_err());
}

#[test]
fn a_maintenance_listener_needs_its_application_and_deployment_group() {
    const LISTENER: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
    let without_both = failed_assertions(json!({"MaintenanceListenerArn": LISTENER}));
    assert_eq!(without_both.len(), 2, "{without_both:?}");
    assert!(without_both[0].contains("MaintenanceApplication"), "{without_both:?}");
    assert!(
        without_both[1].contains("MaintenanceDeploymentGroup"),
        "{without_both:?}"
    );

    let without_group =
        failed_assertions(json!({"MaintenanceListenerArn": LISTENER, "MaintenanceApplication": "shop"}));
    assert_eq!(without_group.len(), 1, "{without_group:?}");
    assert!(without_group[0].contains("MaintenanceDeploymentGroup"));

    let complete = json!({
        "MaintenanceListenerArn": LISTENER, "MaintenanceApplication": "shop", "MaintenanceDeploymentGroup": "shop-web"
    });
    assert!(failed_assertions(complete).is_empty());
    assert!(
        failed_assertions(json!({})).is_empty(),
        "the defaults (no maintenance page) deploy"
    );
}
