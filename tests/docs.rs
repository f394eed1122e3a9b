//! The README's configuration table and the SAM template must cover every variable preflight reads.

use preflight::config::VARIABLES;
use preflight::maintenance::config::VARIABLES as MAINTENANCE_VARIABLES;

fn every_variable() -> impl Iterator<Item = &'static &'static str> {
    VARIABLES.iter().chain(MAINTENANCE_VARIABLES)
}

fn read(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_variable_is_in_the_readme_table() {
    let readme = read("README.md");
    for name in every_variable() {
        let row = format!("| `{name}`");
        assert!(
            readme.contains(&row),
            "README's configuration table has no row for {name}"
        );
    }
}

#[test]
fn every_variable_is_wired_in_the_template() {
    let template = read("template.yaml");
    for name in every_variable() {
        let wiring = format!("{name}: !");
        assert!(
            template.contains(&wiring),
            "template.yaml does not set {name} from a parameter"
        );
    }
}
