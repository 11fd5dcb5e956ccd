//! A located problem in a settings or profile file (placeholder).

/// A problem with its file, line and column.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
}
