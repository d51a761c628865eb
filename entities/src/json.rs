//! JSON column types.

use sea_orm::FromJsonQueryResult;
use serde::{Deserialize, Serialize};

/// A list of short strings stored as a JSON array (interests, traits, needs, statuses...).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct StringList(pub Vec<String>);

/// A JSON object (metadata, custom configuration).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct JsonObject(pub serde_json::Map<String, serde_json::Value>);
