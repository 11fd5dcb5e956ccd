//! `[[output]] type = "scim"` (being written): users at a SCIM 2.0 service.

use super::client::ApiClient;
use super::{Deliverer, Item, Outcome};
use crate::profile::ScimKeys;
use crate::transform::FieldInfo;

/// Delivers the rows of one `scim` output.
#[derive(Debug)]
pub struct ScimDeliverer {
    _client: ApiClient,
}

impl ScimDeliverer {
    /// A deliverer for `client` and the output's own keys.
    pub fn new(
        client: ApiClient,
        _keys: &ScimKeys,
        _fields: &[FieldInfo],
    ) -> Result<ScimDeliverer, String> {
        Ok(ScimDeliverer { _client: client })
    }
}

impl Deliverer for ScimDeliverer {
    async fn deliver(&self, _item: &Item) -> Outcome {
        Outcome::Failed {
            status: None,
            attempts: 0,
            reason: "SCIM delivery is not built yet".into(),
        }
    }
}
