//! The docs against the code. The configuration tables (the hook's in `docs/checks.md`, the
//! maintenance page's in `docs/maintenance.md`) and the SAM template against the variables the code
//! asks for: the lists are recorded from the configuration readers themselves (each reader run over
//! environments that take its branches), so a new variable cannot be added without a row, and a row
//! cannot outlive its variable. The table of check-definition keys against the parser. And the pages
//! themselves: every relative link between them reaches a file and a heading, and the README stays
//! short.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use preflight::checks::announce::EventSettings;
use preflight::checks::config::Config;
use preflight::checks::definitions::document;
use preflight::maintenance::config::MaintenanceConfig;
use preflight::plumbing;

/// The page with the hook's configuration table, the check-definition keys and the assertions.
const CHECKS_PAGE: &str = "docs/checks.md";
/// The page with the maintenance page's configuration table.
const MAINTENANCE_PAGE: &str = "docs/maintenance.md";
/// The README's hard limit, in lines: the depth lives in `docs/`.
const README_MAX_LINES: usize = 300;

/// The hook's own settings (its checks' and its verdict events'): each has a row on the checks
/// page and a template parameter.
fn hook_settings() -> BTreeSet<String> {
    let mut names = Config::variables();
    names.extend(EventSettings::variables());
    names
}

/// The maintenance page's settings: each has a row on its page and a template parameter.
fn maintenance_settings() -> BTreeSet<String> {
    MaintenanceConfig::variables()
}

/// preflight's own settings: each has a template parameter.
fn settings() -> BTreeSet<String> {
    let mut names = hook_settings();
    names.extend(maintenance_settings());
    names
}

/// Variables Lambda or the system sets: each has a row on the checks page, and the template leaves
/// them alone.
fn platform() -> BTreeSet<String> {
    let mut names = plumbing::logging::variables();
    names.extend(plumbing::aws::variables());
    names
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(file: &str) -> String {
    let path = root().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The variables named in the first cell of a table row of `page`: "| `NAME` [`Parameter`] | …".
fn variable_rows(page: &str) -> BTreeSet<String> {
    read(page)
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_string()))
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

/// Compares a page's rows with the variables the code reads.
fn assert_rows(page: &str, code: &BTreeSet<String>) {
    let rows = variable_rows(page);
    let missing: Vec<&String> = code.difference(&rows).collect();
    let stale: Vec<&String> = rows.difference(code).collect();
    assert!(missing.is_empty(), "{page} has no row for {missing:?}");
    assert!(
        stale.is_empty(),
        "{page} has rows for variables this part of the code never reads: {stale:?}"
    );
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
        "PREFLIGHT_EVENT_BUS",
    ] {
        assert!(settings.contains(name), "{name} not recorded: {settings:?}");
    }
    assert!(platform().contains("AWS_LAMBDA_LOG_LEVEL"));
}

#[test]
fn the_checks_page_has_a_row_for_each_hook_and_platform_variable_and_no_other() {
    let code: BTreeSet<String> = hook_settings().into_iter().chain(platform()).collect();
    assert_rows(CHECKS_PAGE, &code);
}

#[test]
fn the_maintenance_page_has_a_row_for_each_of_its_variables_and_no_other() {
    assert_rows(MAINTENANCE_PAGE, &maintenance_settings());
}

#[test]
fn no_other_page_carries_a_configuration_row() {
    // One home per table: a copy elsewhere would drift.
    let code: BTreeSet<String> = settings().into_iter().chain(platform()).collect();
    for page in pages() {
        if page == CHECKS_PAGE || page == MAINTENANCE_PAGE {
            continue;
        }
        let rows = variable_rows(&page);
        let copied: Vec<&String> = rows.intersection(&code).collect();
        assert!(copied.is_empty(), "{page} has configuration rows for {copied:?}");
    }
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

/// The first cells of the checks page's table rows that start with `` `prefix ``.
fn checks_page_cells(prefix: &str) -> BTreeSet<String> {
    read(CHECKS_PAGE)
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter(|rest| rest.starts_with(prefix))
        .filter_map(|rest| rest.split_once('`').map(|(cell, _)| cell.to_string()))
        .collect()
}

#[test]
fn the_checks_page_has_a_row_for_each_check_definitions_key_and_no_other() {
    let code: BTreeSet<String> = document::keys().into_iter().collect();
    assert!(code.contains("targets[].checks[].expect.json"), "{code:?}");
    assert_eq!(
        checks_page_cells("targets"),
        code,
        "{CHECKS_PAGE}'s table of keys against the document's shape"
    );
}

#[test]
fn the_checks_page_explains_each_assertion() {
    let prefix = "targets[].checks[].expect.";
    let assertions: BTreeSet<String> = document::keys()
        .iter()
        .filter_map(|key| key.strip_prefix(prefix))
        .map(str::to_string)
        .collect();
    let rows: BTreeSet<String> = read(CHECKS_PAGE)
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once("` | "))
        .map(|(cell, _)| cell.to_string())
        .filter(|cell| assertions.contains(cell))
        .collect();
    assert_eq!(rows, assertions, "{CHECKS_PAGE}'s assertion table");
}

#[test]
fn the_readme_stays_short() {
    let lines = read("README.md").lines().count();
    assert!(
        lines < README_MAX_LINES,
        "README.md has {lines} lines; keep it under {README_MAX_LINES} and move the depth to docs/"
    );
}

/// The pages whose links are checked, relative to the repository: the README, CONTRIBUTING.md,
/// ARCHITECTURE.md and every page in `docs/`.
fn pages() -> Vec<String> {
    let mut pages: Vec<String> = ["README.md", "CONTRIBUTING.md", "ARCHITECTURE.md"]
        .map(String::from)
        .into();
    let docs = root().join("docs");
    let mut in_docs: Vec<String> = std::fs::read_dir(&docs)
        .unwrap_or_else(|e| panic!("{}: {e}", docs.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    in_docs.sort();
    pages.extend(in_docs);
    pages
}

/// The lines of a Markdown page outside fenced code blocks.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut in_fence = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                return false;
            }
            !in_fence
        })
        .collect()
}

/// A line without its code spans (`` `…` ``, ``` `` … `` ```): what they hold is not Markdown.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(ticks);
        let after = &rest[start + ticks..];
        match after.find(&fence) {
            Some(end) => {
                // A span's text stays a word, so that a link's text made of code still reads.
                out.push_str("code");
                rest = &after[end + ticks..];
            }
            None => {
                out.push_str(&rest[start..start + ticks]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The targets of the inline links (and images) of a page's prose: `[text](target "title")`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose_lines(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            targets.push(target.trim_matches(|c| c == '<' || c == '>').to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's anchor for a heading: the text without its Markdown, lowercased, punctuation other
/// than `-` and `_` dropped, each space a `-`.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // A link in a heading anchors on its text.
    while let Some(open) = rest.find("](") {
        text.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        rest = after.find(')').map_or("", |end| &after[end + 1..]);
    }
    text.push_str(rest);
    text.chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The anchors of a page's headings, with GitHub's `-1`, `-2`… for repeated ones.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for line in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        let Some(heading) = line[hashes..].strip_prefix(' ') else {
            continue;
        };
        if !(1..=6).contains(&hashes) {
            continue;
        }
        let base = slug(heading.trim());
        let count = seen.entry(base.clone()).or_insert(0);
        anchors.insert(if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        });
        *count += 1;
    }
    anchors
}

/// `path` with its `.` and `..` resolved, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with each relative link of `page`: a missing file, or an anchor no heading makes.
fn broken_links(page: &str) -> Vec<String> {
    let text = read(page);
    let directory = Path::new(page).parent().unwrap_or(Path::new(""));
    let mut broken = Vec::new();
    for target in link_targets(&text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((file, anchor)) => (file, Some(anchor)),
            None => (target.as_str(), None),
        };
        let linked = if file.is_empty() {
            PathBuf::from(page)
        } else {
            normalise(&directory.join(file))
        };
        let on_disk = root().join(&linked);
        if file.is_empty() && anchor.is_none() || !on_disk.exists() {
            broken.push(format!("{page}: ({target}): {} does not exist", linked.display()));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if linked.extension().is_some_and(|extension| extension == "md") {
            let headings = anchors(&std::fs::read_to_string(&on_disk).unwrap_or_default());
            if !headings.contains(anchor) {
                broken.push(format!(
                    "{page}: ({target}): {} has no heading #{anchor} (it has {headings:?})",
                    linked.display()
                ));
            }
        } else {
            broken.push(format!(
                "{page}: ({target}): an anchor into a file that is not Markdown"
            ));
        }
    }
    broken
}

#[test]
fn the_slugs_follow_githubs_rules() {
    assert_eq!(
        slug("ECS's own blue/green, linear and canary deployments"),
        "ecss-own-bluegreen-linear-and-canary-deployments"
    );
    assert_eq!(
        slug("Lambda: `BeforeAllowTraffic` in an `appspec.yml`"),
        "lambda-beforeallowtraffic-in-an-appspecyml"
    );
    assert_eq!(slug("Set-up and snake_case"), "set-up-and-snake_case");
    let repeated = anchors("# Notes\n## Notes\n```\n# not a heading\n```\n### Notes\n");
    assert_eq!(repeated, ["notes", "notes-1", "notes-2"].map(String::from).into());
}

#[test]
fn every_relative_link_between_the_pages_reaches_a_file_and_a_heading() {
    let pages = pages();
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in &pages {
        checked += link_targets(&read(page)).len();
        broken.extend(broken_links(page));
    }
    // Guards the reading itself: links found, so the check above checked something.
    assert!(checked > 50, "only {checked} links found in {pages:?}");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_links_to_every_page_of_the_docs() {
    let readme = link_targets(&read("README.md"));
    for page in pages().iter().filter(|page| page.starts_with("docs/")) {
        assert!(
            readme
                .iter()
                .any(|target| target.split('#').next() == Some(page.as_str())),
            "README.md does not link to {page}"
        );
    }
    for page in ["CONTRIBUTING.md", "ARCHITECTURE.md"] {
        assert!(
            readme.iter().any(|target| target.split('#').next() == Some(page)),
            "README.md does not link to {page}"
        );
    }
}
