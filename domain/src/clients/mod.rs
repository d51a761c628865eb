//! Clients: create, update, read and list one tenant's client records.

use crate::entities::client::{self, ClientSource};
use crate::events::DomainEvent;
use crate::pagination::{Direction, Page, PageArgs};
use crate::values::{Email, PhoneE164, Region, clean_text};
use crate::{Actor, ClientId, Domain, DomainError, DomainResult, Role, tenants};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};

const NAME_MAX: usize = 100;
const COMPANY_MAX: usize = 200;
const SEARCH_MAX: usize = 200;

/// The contact fields of a new client, as a caller typed them.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// One field of an update: leave it, clear it, or set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

/// A partial update of a client's contact fields.
#[derive(Clone, Debug, Default)]
pub struct ClientPatch {
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub company: Patch<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ClientFilter {
    /// One box over name, email, phone (any format) and company.
    pub search: Option<String>,
}

/// Validated, normalised contact fields: what a client row holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

fn name(field: &str, value: &str) -> DomainResult<Option<String>> {
    clean_text(value, NAME_MAX).map_err(|m| DomainError::invalid(field, m))
}

fn company(value: &str) -> DomainResult<Option<String>> {
    clean_text(value, COMPANY_MAX).map_err(|m| DomainError::invalid("company", m))
}

fn email(value: &str) -> DomainResult<Option<String>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Email::parse(value)
        .map(|e| Some(e.into_string()))
        .map_err(|m| DomainError::invalid("email", m))
}

fn phone(value: &str, region: Region) -> DomainResult<Option<String>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    PhoneE164::parse(value, region)
        .map(|p| Some(p.into_string()))
        .map_err(|m| DomainError::invalid("phone", m))
}

fn patch_field(
    current: Option<String>,
    patch: Patch<String>,
    parse: impl FnOnce(&str) -> DomainResult<Option<String>>,
) -> DomainResult<Option<String>> {
    match patch {
        Patch::Keep => Ok(current),
        Patch::Clear => Ok(None),
        Patch::Set(v) => parse(&v),
    }
}

impl ContactFields {
    pub fn from_new(input: NewClient, region: Region) -> DomainResult<Self> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        Ok(ContactFields {
            first_name: name("firstName", &opt(input.first_name))?,
            last_name: name("lastName", &opt(input.last_name))?,
            email: email(&opt(input.email))?,
            phone: phone(&opt(input.phone), region)?,
            company: company(&opt(input.company))?,
        })
    }

    pub fn of(row: &client::Model) -> Self {
        ContactFields {
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            company: row.company.clone(),
        }
    }

    /// Applies a patch, validating every value it sets.
    pub fn patched(self, patch: ClientPatch, region: Region) -> DomainResult<Self> {
        Ok(ContactFields {
            first_name: patch_field(self.first_name, patch.first_name, |v| name("firstName", v))?,
            last_name: patch_field(self.last_name, patch.last_name, |v| name("lastName", v))?,
            email: patch_field(self.email, patch.email, email)?,
            phone: patch_field(self.phone, patch.phone, |v| phone(v, region))?,
            company: patch_field(self.company, patch.company, company)?,
        })
    }

    /// A client must keep something that identifies the person.
    pub fn ensure_identifiable(&self) -> DomainResult<()> {
        if self == &ContactFields::default() {
            Err(DomainError::invalid(
                "input",
                "a client needs at least a name, email, phone or company",
            ))
        } else {
            Ok(())
        }
    }

    /// Lower-cased text the search box matches against; phones also as bare digits so that
    /// any typed format finds them.
    pub fn search_text(&self) -> String {
        let digits: Option<String> = self
            .phone
            .as_ref()
            .map(|p| p.chars().filter(char::is_ascii_digit).collect());
        [
            &self.first_name,
            &self.last_name,
            &self.email,
            &self.phone,
            &digits,
            &self.company,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// Turns what a person typed in the search box into a LIKE pattern: lower case, and for
/// phone-like input only the digits, so "(416) 555-12" finds "+14165551234".
pub fn search_pattern(input: &str) -> DomainResult<Option<String>> {
    let term = input.trim();
    if term.is_empty() {
        return Ok(None);
    }
    if term.chars().count() > SEARCH_MAX {
        return Err(DomainError::invalid(
            "search",
            format!("is longer than {SEARCH_MAX} characters"),
        ));
    }
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 3
        && term
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let needle = if phone_like {
        digits
    } else {
        term.to_lowercase()
    };
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Ok(Some(format!("%{escaped}%")))
}

async fn region_for(db: &impl ConnectionTrait, actor: &Actor) -> DomainResult<Region> {
    Ok(tenants::region_of(&tenants::get(db, actor.tenant).await?))
}

/// Live (not deleted) clients of the actor's tenant.
fn live(actor: &Actor) -> Select<client::Entity> {
    client::Entity::scoped(actor.tenant).filter(client::Column::DeletedAt.is_null())
}

fn filtered(actor: &Actor, filter: &ClientFilter) -> DomainResult<Select<client::Entity>> {
    let mut query = live(actor);
    if let Some(pattern) = filter
        .search
        .as_deref()
        .map(search_pattern)
        .transpose()?
        .flatten()
    {
        query = query.filter(
            Expr::col(client::Column::SearchText).like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    Ok(query)
}

pub async fn create(d: &Domain, actor: &Actor, input: NewClient) -> DomainResult<client::Model> {
    actor.require(Role::Agent)?;
    let region = region_for(&d.db, actor).await?;
    let fields = ContactFields::from_new(input, region)?;
    fields.ensure_identifiable()?;
    let now = chrono::Utc::now();
    let row = client::ActiveModel {
        id: Set(ClientId::new().0),
        tenant_id: Set(actor.tenant.0),
        search_text: Set(fields.search_text()),
        first_name: Set(fields.first_name),
        last_name: Set(fields.last_name),
        email: Set(fields.email),
        phone: Set(fields.phone),
        company: Set(fields.company),
        source: Set(ClientSource::Manual),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    let txn = d.begin_write().await?;
    let model = client::Entity::insert(row)
        .exec_with_returning(&txn)
        .await?;
    txn.commit().await?;
    d.events.publish(
        actor.tenant,
        DomainEvent::ClientChanged {
            client_id: ClientId(model.id),
            version: model.version,
        },
    );
    Ok(model)
}

/// Updates contact fields. With `expected_version`, a client changed since the caller read it
/// is a `Conflict` and nothing is written; without it, the write still never overwrites a
/// concurrent change it did not see.
pub async fn update(
    d: &Domain,
    actor: &Actor,
    id: ClientId,
    patch: ClientPatch,
    expected_version: Option<i64>,
) -> DomainResult<client::Model> {
    actor.require(Role::Agent)?;
    let region = region_for(&d.db, actor).await?;
    let txn = d.begin_write().await?;
    let current = find(&txn, actor, id).await?;
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(stale(current.version));
    }
    let before = ContactFields::of(&current);
    let after = before.clone().patched(patch, region)?;
    if after == before {
        return Ok(current);
    }
    after.ensure_identifiable()?;
    let row = client::ActiveModel {
        search_text: Set(after.search_text()),
        first_name: Set(after.first_name),
        last_name: Set(after.last_name),
        email: Set(after.email),
        phone: Set(after.phone),
        company: Set(after.company),
        version: Set(current.version + 1),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    let result = client::Entity::scoped_update(actor.tenant)
        .set(row)
        .filter(client::Column::Id.eq(id.0))
        .filter(client::Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(stale(current.version));
    }
    let model = find(&txn, actor, id).await?;
    txn.commit().await?;
    d.events.publish(
        actor.tenant,
        DomainEvent::ClientChanged {
            client_id: id,
            version: model.version,
        },
    );
    Ok(model)
}

fn stale(seen: i64) -> DomainError {
    DomainError::Conflict(format!(
        "the client changed since version {seen}; reload it and try again"
    ))
}

pub async fn get(d: &Domain, actor: &Actor, id: ClientId) -> DomainResult<client::Model> {
    find(&d.db, actor, id).await
}

async fn find(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: ClientId,
) -> DomainResult<client::Model> {
    live(actor)
        .filter(client::Column::Id.eq(id.0))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("client"))
}

/// One page of clients, newest first.
pub async fn list(
    d: &Domain,
    actor: &Actor,
    filter: &ClientFilter,
    page: &PageArgs,
) -> DomainResult<Page<client::Model>> {
    let page = page.resolve()?;
    let mut query = filtered(actor, filter)?;
    query = match (page.direction, page.cursor) {
        (Direction::Forward, Some(c)) => query.filter(client::Column::Id.lt(c)),
        (Direction::Backward, Some(c)) => query.filter(client::Column::Id.gt(c)),
        (_, None) => query,
    };
    query = match page.direction {
        Direction::Forward => query.order_by_desc(client::Column::Id),
        Direction::Backward => query.order_by_asc(client::Column::Id),
    };
    let rows = query.limit(page.limit + 1).all(&d.db).await?;
    Ok(page.into_page(rows, |row| row.id))
}

/// How many clients match the filter (for `totalCount`).
pub async fn count(d: &Domain, actor: &Actor, filter: &ClientFilter) -> DomainResult<u64> {
    Ok(filtered(actor, filter)?.count(&d.db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca() -> Region {
        Region::parse("CA").unwrap()
    }

    #[test]
    fn new_client_fields_are_normalised() {
        let f = ContactFields::from_new(
            NewClient {
                first_name: Some("  Ada ".into()),
                last_name: Some("".into()),
                email: Some("ADA@Example.com".into()),
                phone: Some("(416) 555-1234".into()),
                company: None,
            },
            ca(),
        )
        .unwrap();
        assert_eq!(f.first_name.as_deref(), Some("Ada"));
        assert_eq!(f.last_name, None);
        assert_eq!(f.email.as_deref(), Some("ada@example.com"));
        assert_eq!(f.phone.as_deref(), Some("+14165551234"));
    }

    #[test]
    fn invalid_values_name_their_field() {
        let err = ContactFields::from_new(
            NewClient {
                phone: Some("12".into()),
                ..Default::default()
            },
            ca(),
        )
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "phone"));
        let err = ContactFields::from_new(
            NewClient {
                email: Some("nope".into()),
                ..Default::default()
            },
            ca(),
        )
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "email"));
    }

    #[test]
    fn patches_keep_clear_and_set() {
        let before = ContactFields {
            first_name: Some("Ada".into()),
            company: Some("Analytical Engines".into()),
            ..Default::default()
        };
        let after = before
            .clone()
            .patched(
                ClientPatch {
                    company: Patch::Clear,
                    email: Patch::Set("ada@example.com".into()),
                    ..Default::default()
                },
                ca(),
            )
            .unwrap();
        assert_eq!(after.first_name.as_deref(), Some("Ada"));
        assert_eq!(after.company, None);
        assert_eq!(after.email.as_deref(), Some("ada@example.com"));
    }

    #[test]
    fn an_empty_client_is_refused() {
        assert!(ContactFields::default().ensure_identifiable().is_err());
        let f = ContactFields {
            company: Some("Acme".into()),
            ..Default::default()
        };
        assert!(f.ensure_identifiable().is_ok());
    }

    #[test]
    fn search_text_holds_phone_digits() {
        let f = ContactFields {
            first_name: Some("Ada".into()),
            phone: Some("+14165551234".into()),
            ..Default::default()
        };
        assert_eq!(f.search_text(), "ada +14165551234 14165551234");
    }

    #[test]
    fn search_patterns() {
        assert_eq!(search_pattern("  ").unwrap(), None);
        assert_eq!(search_pattern("SMI").unwrap().as_deref(), Some("%smi%"));
        assert_eq!(
            search_pattern("(416) 555-12").unwrap().as_deref(),
            Some("%41655512%")
        );
        assert_eq!(
            search_pattern("50%_").unwrap().as_deref(),
            Some("%50\\%\\_%")
        );
        assert!(search_pattern(&"x".repeat(201)).is_err());
    }
}
