//! The provider list and the registry that builds a connector for a configuration.

use std::fmt;
use std::str::FromStr;

use crate::config::ConnectionConfig;
use crate::connector::CrmConnector;
use crate::{CrmError, Result, dynamics, hubspot, salesforce};

/// The CRMs Clientele can sync with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Provider {
    /// Salesforce (REST API).
    Salesforce,
    /// HubSpot (CRM v3 API).
    HubSpot,
    /// Microsoft Dynamics 365 (Dataverse Web API).
    Dynamics365,
}

/// The registry: one line per provider. Adding a CRM = one module + one line here
/// (plus its variant and name above).
const REGISTRY: &[(Provider, &str, Constructor)] = &[
    (Provider::Salesforce, "salesforce", salesforce::connect),
    (Provider::HubSpot, "hubspot", hubspot::connect),
    (Provider::Dynamics365, "dynamics365", dynamics::connect),
];

/// Builds a connector from its configuration.
pub type Constructor = fn(ConnectionConfig) -> Result<Box<dyn CrmConnector>>;

impl Provider {
    /// Every provider, in registry order.
    pub const ALL: [Provider; 3] = [
        Provider::Salesforce,
        Provider::HubSpot,
        Provider::Dynamics365,
    ];

    fn entry(self) -> &'static (Provider, &'static str, Constructor) {
        REGISTRY
            .iter()
            .find(|(p, _, _)| *p == self)
            .unwrap_or(&REGISTRY[0])
    }

    /// Stable lowercase name (stored in the database, used in URLs).
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// Build the connector for a configuration.
    pub fn connect(config: ConnectionConfig) -> Result<Box<dyn CrmConnector>> {
        let (_, _, constructor) = config.provider.entry();
        constructor(config)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Provider {
    type Err = CrmError;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        let alias = match wanted.as_str() {
            "dynamics" | "dynamics-365" | "dynamics_365" => "dynamics365",
            other => other,
        };
        REGISTRY
            .iter()
            .find(|(_, name, _)| *name == alias)
            .map(|(p, _, _)| *p)
            .ok_or_else(|| CrmError::Config(format!("unknown CRM provider {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_registry_is_complete() {
        for p in Provider::ALL {
            assert_eq!(p.name().parse::<Provider>().ok(), Some(p));
            assert!(REGISTRY.iter().any(|(q, _, _)| *q == p));
        }
        assert_eq!(
            "Dynamics".parse::<Provider>().ok(),
            Some(Provider::Dynamics365)
        );
        assert!("pipedrive".parse::<Provider>().is_err());
    }
}
