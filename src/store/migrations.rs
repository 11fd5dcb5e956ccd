//! Versioned schema migrations, applied in order inside one transaction each.
