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

    fn entry(self) -> Option<&'static (Provider, &'static str, Constructor)> {
        REGISTRY.iter().find(|(p, _, _)| *p == self)
    }

    /// Stable lowercase name (stored in the database, used in URLs).
    pub fn name(self) -> &'static str {
        self.entry().map_or("unregistered", |(_, name, _)| name)
    }

    /// Build the connector for a configuration (the registry).
    pub fn connect(config: ConnectionConfig) -> Result<Box<dyn CrmConnector>> {
        let (_, _, constructor) = config.provider.entry().ok_or_else(|| {
            CrmError::Config(format!("no connector registered for {:?}", config.provider))
        })?;
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

    #[test]
    fn connect_checks_provider_specific_configuration() {
        let base = url::Url::parse("https://org.example.com").expect("url");
        let no_org = ConnectionConfig::new(Provider::Dynamics365, "id", "secret").tenant("t");
        assert!(matches!(
            Provider::connect(no_org),
            Err(CrmError::Config(_))
        ));
        let no_tenant =
            ConnectionConfig::new(Provider::Dynamics365, "id", "secret").org_url(base.clone());
        assert!(matches!(
            Provider::connect(no_tenant),
            Err(CrmError::Config(_))
        ));
        let ok = ConnectionConfig::new(Provider::Dynamics365, "id", "secret")
            .org_url(base)
            .tenant("t");
        let conn = Provider::connect(ok).expect("dynamics");
        assert_eq!(conn.provider(), Provider::Dynamics365);
        assert!(conn.authorization_url("s", "c").is_none());
        for p in [Provider::Salesforce, Provider::HubSpot] {
            let conn =
                Provider::connect(ConnectionConfig::new(p, "id", "secret")).expect("connect");
            assert_eq!(conn.provider(), p);
            let url = conn.authorization_url("st", "ch").expect("code flow");
            assert_eq!(url.scheme(), "https");
            assert!(url.query().is_some_and(|q| q.contains("code_challenge=ch")));
        }
    }
}
