//! Loading of settings and profiles (placeholder).
