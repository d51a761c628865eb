//! Who is acting: a verified user of one tenant with one role.

use crate::{DomainError, TenantId};
use std::fmt;
use std::str::FromStr;

/// Roles, from least to most privileged. Viewers read; agents also write clients, notes and
/// conversations; admins also manage sensitivity, erasure, connections and imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?} (expected viewer, agent or admin)"
            )),
        }
    }
}

/// The verified caller. The tenant comes only from a verified token, never from arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub name: String,
    pub tenant: TenantId,
    pub role: Role,
}

impl Actor {
    /// Fails with `Forbidden` unless the actor holds at least `role`.
    pub fn require(&self, role: Role) -> Result<(), DomainError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "this needs the {role} role; you are {}",
                self.role
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: "u1".into(),
            name: "Ada".into(),
            tenant: TenantId::new(),
            role,
        }
    }

    #[test]
    fn roles_are_ordered() {
        assert!(actor(Role::Admin).require(Role::Agent).is_ok());
        assert!(actor(Role::Agent).require(Role::Agent).is_ok());
        assert!(matches!(
            actor(Role::Viewer).require(Role::Agent),
            Err(DomainError::Forbidden(_))
        ));
        assert!(actor(Role::Agent).require(Role::Admin).is_err());
    }

    #[test]
    fn roles_parse_and_print() {
        for role in [Role::Viewer, Role::Agent, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
