//! The ground floor: small rules and the shared vocabulary that every layer may use.
//!
//! Nothing here imports anything above it — a module in `kernel` uses only std, external
//! crates and other `kernel` modules — so any layer can depend on it without forming a circle.
//! A rule that two layers share moves down here rather than one layer borrowing it from the
//! other.
//!
//! | module          | owns |
//! |-----------------|------|
//! | [`record`]      | the positioned raw record readers produce: text values that remember their file, sheet and row |
//! | [`value`]       | a typed output value (text, number, date, bool, null) |
//! | [`mapped`]      | a mapped row, its output fields, and why a row was refused |
//! | [`change`]      | the lifecycle vocabulary: joiner, mover, leaver, rehire, and the `change` / `changed_fields` fields |
//! | [`clock`]       | now in a profile's time zone, and the date effective dating compares with (`HRBRIDGE_TODAY` sets it) |
//! | [`atomic`]      | files that appear complete or not at all: temp name, fsync, rename; private (0600) creation |
//! | [`duration`]    | durations as profiles and settings write them (`"10s"`, `"7d"`) |
//! | [`stop`]        | the stop signal passes and deliveries check before starting new work |
//! | [`url_policy`]  | which URLs hrbridge may call: `https://`, or plain `http://` only to loopback unless allowed |
//! | [`from_text`]   | values written as one string that parse with `FromStr`: one deserializing rule |
//! | [`http_status`] | which HTTP answers are worth another attempt (the retry policy's and the ledger's rule) |
//! | [`backoff`]     | exponential backoff with full jitter, for SFTP reconnects and API retries |
//! | [`mask`]        | masking of PII before it reaches any log, error or screen |
//! | [`escape`]      | untrusted text shown safely: control and bidirectional characters escaped |
//! | [`keys`]        | the installation's own age key, for what hrbridge keeps encrypted at rest |
//! | [`secret`]      | `${env:..}` / `${secret:..}` references, the secrets store, and values that never print |

pub mod atomic;
pub mod backoff;
pub mod change;
pub mod clock;
pub mod duration;
pub mod escape;
pub mod from_text;
pub mod http_status;
pub mod keys;
pub mod mapped;
pub mod mask;
pub mod record;
pub mod secret;
pub mod stop;
pub mod url_policy;
pub mod value;
