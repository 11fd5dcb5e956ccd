//! The ground floor: small rules that every layer may use.
//!
//! Nothing here imports anything above it — a module in `kernel` uses only std, external
//! crates and other `kernel` modules — so any layer can depend on it without forming a circle.
//! A rule that two layers share moves down here rather than one layer borrowing it from the
//! other.
//!
//! | module          | owns |
//! |-----------------|------|
//! | [`stop`]        | the stop signal passes and deliveries check before starting new work |
//! | [`url_policy`]  | which URLs hrbridge may call: `https://`, or plain `http://` only to loopback unless allowed |

pub mod stop;
pub mod url_policy;
