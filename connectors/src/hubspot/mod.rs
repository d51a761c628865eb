//! HubSpot.
use crate::config::ConnectionConfig;
use crate::connector::CrmConnector;
/// The registry constructor.
pub fn connect(_cfg: ConnectionConfig) -> crate::Result<Box<dyn CrmConnector>> {
    Err(crate::CrmError::Unsupported("x".into()))
}
