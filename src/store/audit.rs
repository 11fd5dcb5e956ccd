//! The tamper-evident audit trail: append-only events, each chained to the previous by hash.
