//! What one rehearsed deployment tells: its title, the console lines, what it expected and what
//! the hook answered, and the hook's own log lines. Shared by every kind of scenario.

/// One rehearsed deployment.
pub struct Rehearsed {
    pub title: String,
    pub lines: Vec<String>,
    pub expected: &'static str,
    pub reported: Option<String>,
    /// The hook's own log lines, JSON.
    pub logs: Vec<String>,
}

impl Rehearsed {
    pub fn as_expected(&self) -> bool {
        self.reported.as_deref() == Some(self.expected)
    }
}
