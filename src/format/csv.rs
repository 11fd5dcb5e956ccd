//! CSV reader (placeholder until implemented).

use std::path::Path;
use std::sync::Arc;

use super::{ReadError, Table};
use crate::profile::FormatSpec;
use crate::record::Position;

pub fn open(_path: &Path, name: Arc<str>, _spec: &FormatSpec) -> Result<Table, ReadError> {
    Err(ReadError::file(
        Position::new(name, 0),
        "csv reader not built yet",
    ))
}
