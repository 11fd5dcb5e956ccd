//! Which HTTP answers are worth another attempt. One rule, shared by the API retry policy
//! (which retries them within a run) and the delivery ledger (whose `retry` renews the key
//! only of rows refused by an answer that is *not* transient), so it lives below both.

/// Whether an answer with `status` is worth another attempt: 408, 429 and every 5xx.
pub fn is_transient(status: u16) -> bool {
    matches!(status, 408 | 429) || (500..600).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient(s), "{s}");
        }
        for s in [200, 400, 401, 404, 409, 422] {
            assert!(!is_transient(s), "{s}");
        }
    }
}
