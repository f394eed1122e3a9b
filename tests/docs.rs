//! The README's configuration tables and the SAM template against the variables the code asks
//! for. The lists are recorded from the configuration readers themselves (each reader run over
//! environments that take its branches), so a new variable cannot be added without a row, and a
//! row cannot outlive its variable.

use std::collections::BTreeSet;

use preflight::checks::config::Config;
use preflight::checks::definitions::document;
use preflight::maintenance::config::MaintenanceConfig;
use preflight::plumbing;

/// preflight's own settings: each has a row and a template parameter.
fn settings() -> BTreeSet<String> {
    let mut names = Config::variables();
    names.extend(MaintenanceConfig::variables());
    names
}

/// Variables Lambda or the system sets: each has a row, and the template leaves them alone.
fn platform() -> BTreeSet<String> {
    let mut names = plumbing::logging::variables();
    names.extend(plumbing::aws::variables());
    names
}

fn read(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The variables named in the first cell of a README table row: "| `NAME` [`Parameter`] | …".
fn readme_rows() -> BTreeSet<String> {
    read("README.md")
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_string()))
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

#[test]
fn the_readers_ask_for_what_they_are_known_to_read() {
    // Guards the recording itself: if it broke, the comparisons below would compare nothing.
    let settings = settings();
    for name in [
        "ALB_URL",
        "CHECK_TLS_VERIFY",
        "EVENT_FORMAT",
        "MAINTENANCE_ON_SCALE_OUT",
    ] {
        assert!(settings.contains(name), "{name} not recorded: {settings:?}");
    }
    assert!(platform().contains("AWS_LAMBDA_LOG_LEVEL"));
}

#[test]
fn the_readme_tables_have_a_row_for_each_variable_and_no_other() {
    let rows = readme_rows();
    let code: BTreeSet<String> = settings().into_iter().chain(platform()).collect();
    let missing: Vec<&String> = code.difference(&rows).collect();
    let stale: Vec<&String> = rows.difference(&code).collect();
    assert!(missing.is_empty(), "README has no row for {missing:?}");
    assert!(
        stale.is_empty(),
        "README has rows for variables the code never reads: {stale:?}"
    );
}

#[test]
fn the_template_sets_each_setting_from_a_parameter_and_nothing_else() {
    let template = read("template.yaml");
    for name in settings() {
        assert!(
            template.contains(&format!("{name}: !")),
            "template.yaml does not set {name} from a parameter"
        );
    }
    for name in platform() {
        assert!(
            !template.contains(&format!("{name}:")),
            "template.yaml sets {name}, which is Lambda's or the system's to set"
        );
    }
}

#[test]
fn the_serverless_application_repository_entry_has_the_crates_version_and_license() {
    let template = read("template.yaml");
    let version = format!("SemanticVersion: {}", env!("CARGO_PKG_VERSION"));
    assert!(
        template.contains(&version),
        "template.yaml's {version:?} must follow Cargo.toml"
    );
    assert!(template.contains(&format!("SpdxLicenseId: {}", env!("CARGO_PKG_LICENSE"))));
    assert!(
        read("LICENSE").contains("Apache License"),
        "LICENSE must hold the license text"
    );
}

/// The first cells of README table rows that start with `` `prefix ``.
fn readme_cells(prefix: &str) -> BTreeSet<String> {
    read("README.md")
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter(|rest| rest.starts_with(prefix))
        .filter_map(|rest| rest.split_once('`').map(|(cell, _)| cell.to_string()))
        .collect()
}

#[test]
fn the_readme_has_a_row_for_each_check_definitions_key_and_no_other() {
    let code: BTreeSet<String> = document::keys().into_iter().collect();
    assert!(code.contains("targets[].checks[].expect.json"), "{code:?}");
    assert_eq!(
        readme_cells("targets"),
        code,
        "README's table of keys against the document's shape"
    );
}

#[test]
fn the_readme_explains_each_assertion() {
    let prefix = "targets[].checks[].expect.";
    let assertions: BTreeSet<String> = document::keys()
        .iter()
        .filter_map(|key| key.strip_prefix(prefix))
        .map(str::to_string)
        .collect();
    let rows: BTreeSet<String> = read("README.md")
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once("` | "))
        .map(|(cell, _)| cell.to_string())
        .filter(|cell| assertions.contains(cell))
        .collect();
    assert_eq!(rows, assertions, "the README's assertion table");
}
