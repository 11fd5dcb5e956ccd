//! Text encodings of CSV exports (placeholder).
