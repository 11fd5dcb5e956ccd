//! Values that profiles and settings write as one string and that parse with `FromStr`
//! (durations, secret references, `after` actions): one deserializing rule for all of them,
//! so the parse error is the type's own message, located by the TOML loader.

use std::fmt::Display;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// Reads a string and parses it as `T`.
pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}
