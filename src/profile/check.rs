//! Semantic checks of profiles (placeholder).
