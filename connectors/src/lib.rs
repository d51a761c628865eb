//! CRM connectors: the `CrmConnector` trait, its registry, the one HTTP executor (auth,
//! token refresh, retries, rate limits) and one module per provider (Salesforce, HubSpot,
//! Dynamics 365) with faithful local fakes. Speaks neutral CRM records, knows no database.
