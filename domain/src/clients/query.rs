//! Finding clients: the search box, filters, orderings and keyset pages.

use crate::entities::client::{self, PurchaseIntent, SaleStatus};
use crate::entities::client_identity;
use crate::pagination::{Cursor, Ordering, Page, PageArgs, SortKey};
use crate::{DomainError, DomainResult, TenantId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, PaginatorTrait, QueryFilter, QuerySelect, Select,
};
use uuid::Uuid;

const SEARCH_MAX: usize = 200;

#[derive(Clone, Debug, Default)]
pub struct ClientFilter {
    /// One box over name, email, phone (any format), company, external id and metadata values.
    pub search: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub last_contact_after: Option<DateTime<Utc>>,
    pub last_contact_before: Option<DateTime<Utc>>,
    pub has_email: Option<bool>,
    pub has_phone: Option<bool>,
    /// Clients with an identity on any of these platforms (`web`, `telegram`...; `email` and
    /// `phone` name those identity kinds).
    pub platforms: Vec<String>,
    pub statuses: Vec<String>,
    pub intents: Vec<PurchaseIntent>,
    pub sale_statuses: Vec<SaleStatus>,
    pub funnel_stages: Vec<String>,
    pub sensitive: Option<bool>,
    pub mystery_shopper: Option<bool>,
    /// Deleted clients too.
    pub include_deleted: bool,
    /// Only deleted clients.
    pub only_deleted: bool,
    /// Only these ids (bulk selections).
    pub ids: Vec<Uuid>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortField {
    LastActive,
    #[default]
    Created,
    Name,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOrder {
    pub field: SortField,
    pub descending: bool,
}

impl Default for ClientOrder {
    fn default() -> Self {
        ClientOrder {
            field: SortField::Created,
            descending: true,
        }
    }
}

/// What the search box looks for, once normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm(String);

/// Lower case; for phone-like input only the digits, so "(416) 555-12" finds "+14165551234".
pub fn search_term(input: &str) -> DomainResult<Option<SearchTerm>> {
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
    Ok(Some(SearchTerm(if phone_like {
        digits
    } else {
        term.to_lowercase()
    })))
}

impl SearchTerm {
    /// A LIKE pattern matching the term anywhere, with `%`, `_` and `\` taken literally.
    pub fn like_pattern(&self) -> String {
        let escaped = self
            .0
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    }

    /// An FTS5 phrase query (trigram tokenizer: matches the term as a substring).
    pub fn fts_phrase(&self) -> String {
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }

    /// Trigram indexes can answer terms of three characters or more.
    pub fn indexable(&self) -> bool {
        self.0.chars().count() >= 3
    }
}

pub(crate) fn search_condition(
    backend: DbBackend,
    term: &SearchTerm,
) -> sea_orm::sea_query::SimpleExpr {
    let like = || {
        Expr::col((client::Entity, client::Column::SearchText))
            .like(LikeExpr::new(term.like_pattern()).escape('\\'))
    };
    match backend {
        // The trigram FTS5 table finds candidate rows through its index.
        DbBackend::Sqlite if term.indexable() => Expr::cust_with_values(
            "clients.rowid IN (SELECT rowid FROM clients_fts WHERE clients_fts MATCH ?)",
            [term.fts_phrase()],
        ),
        // PostgreSQL's pg_trgm GIN index serves LIKE '%term%' directly.
        _ => like(),
    }
}

/// The tenant's clients matching `filter` (unordered).
pub fn filtered(
    backend: DbBackend,
    tenant: TenantId,
    filter: &ClientFilter,
) -> DomainResult<Select<client::Entity>> {
    use client::Column as C;
    let mut q = client::Entity::scoped(tenant).filter(C::MergedIntoId.is_null());
    q = if filter.only_deleted {
        q.filter(C::DeletedAt.is_not_null())
    } else if filter.include_deleted {
        q
    } else {
        q.filter(C::DeletedAt.is_null())
    };
    if let Some(term) = filter
        .search
        .as_deref()
        .map(search_term)
        .transpose()?
        .flatten()
    {
        q = q.filter(search_condition(backend, &term));
    }
    if let Some(t) = filter.created_after {
        q = q.filter(C::CreatedAt.gte(t));
    }
    if let Some(t) = filter.created_before {
        q = q.filter(C::CreatedAt.lt(t));
    }
    if let Some(t) = filter.last_contact_after {
        q = q.filter(C::LastActiveAt.gte(t));
    }
    if let Some(t) = filter.last_contact_before {
        q = q.filter(C::LastActiveAt.lt(t));
    }
    match filter.has_email {
        Some(true) => q = q.filter(C::Email.is_not_null()),
        Some(false) => q = q.filter(C::Email.is_null()),
        None => {}
    }
    match filter.has_phone {
        Some(true) => q = q.filter(C::Phone.is_not_null()),
        Some(false) => q = q.filter(C::Phone.is_null()),
        None => {}
    }
    if !filter.platforms.is_empty() {
        use client_identity::Column as I;
        let platforms: Vec<String> = filter
            .platforms
            .iter()
            .map(|p| p.trim().to_lowercase())
            .collect();
        let mut kinds = Vec::new();
        if platforms.iter().any(|p| p == "email") {
            kinds.push(client_identity::IdentityKind::Email);
        }
        if platforms.iter().any(|p| p == "phone" || p == "sms") {
            kinds.push(client_identity::IdentityKind::Phone);
        }
        let subquery = Query::select()
            .column(I::ClientId)
            .from(client_identity::Entity)
            .and_where(I::TenantId.eq(tenant.0))
            .and_where(
                I::Platform
                    .is_in(platforms.clone())
                    .or(I::Kind.is_in(kinds)),
            )
            .to_owned();
        q = q.filter(C::Id.in_subquery(subquery));
    }
    if !filter.statuses.is_empty() {
        q = q.filter(C::Status.is_in(filter.statuses.clone()));
    }
    if !filter.intents.is_empty() {
        q = q.filter(C::PurchaseIntent.is_in(filter.intents.iter().copied()));
    }
    if !filter.sale_statuses.is_empty() {
        q = q.filter(C::SaleStatus.is_in(filter.sale_statuses.iter().copied()));
    }
    if !filter.funnel_stages.is_empty() {
        q = q.filter(C::FunnelStage.is_in(filter.funnel_stages.clone()));
    }
    if let Some(s) = filter.sensitive {
        q = q.filter(C::Sensitive.eq(s));
    }
    if let Some(m) = filter.mystery_shopper {
        q = q.filter(C::MysteryShopper.eq(m));
    }
    if !filter.ids.is_empty() {
        q = q.filter(C::Id.is_in(filter.ids.clone()));
    }
    Ok(q)
}

fn ordering(order: ClientOrder) -> Ordering<client::Column> {
    let (name, column) = match (order.field, order.descending) {
        (SortField::Created, true) => ("created-desc", client::Column::CreatedAt),
        (SortField::Created, false) => ("created-asc", client::Column::CreatedAt),
        (SortField::LastActive, true) => ("active-desc", client::Column::ActivityAt),
        (SortField::LastActive, false) => ("active-asc", client::Column::ActivityAt),
        (SortField::Name, true) => ("name-desc", client::Column::SortName),
        (SortField::Name, false) => ("name-asc", client::Column::SortName),
    };
    Ordering {
        name,
        column: Some(column),
        descending: order.descending,
    }
}

fn sort_key(field: SortField, row: &client::Model) -> SortKey {
    match field {
        SortField::Created => SortKey::Time(row.created_at),
        SortField::LastActive => SortKey::Time(row.activity_at.unwrap_or(row.created_at)),
        SortField::Name => SortKey::Text(row.sort_name.clone()),
    }
}

pub async fn list(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &ClientFilter,
    order: ClientOrder,
    page: &PageArgs,
) -> DomainResult<Page<client::Model>> {
    let ordering = ordering(order);
    let page = page.resolve(ordering.name)?;
    let query = filtered(db.get_database_backend(), tenant, filter)?;
    let rows = page
        .apply(query, &ordering, client::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(page.into_page(rows, |row| Cursor {
        ordering: ordering.name.to_string(),
        key: sort_key(order.field, row),
        id: row.id,
    }))
}

/// One page of up to `limit` rows after `cursor` (no page-size cap: for streaming exports).
/// Returns the rows and the cursor of the next page, if any.
pub async fn page_after(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &ClientFilter,
    order: ClientOrder,
    cursor: Option<Cursor>,
    limit: u64,
) -> DomainResult<(Vec<client::Model>, Option<Cursor>)> {
    let ordering = ordering(order);
    let page = crate::pagination::PageQuery {
        direction: crate::pagination::Direction::Forward,
        limit,
        cursor,
    };
    let query = filtered(db.get_database_backend(), tenant, filter)?;
    let mut rows = page
        .apply(query, &ordering, client::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|row| Cursor {
            ordering: ordering.name.to_string(),
            key: sort_key(order.field, row),
            id: row.id,
        })
    } else {
        None
    };
    Ok((rows, next))
}

pub async fn count(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &ClientFilter,
) -> DomainResult<u64> {
    Ok(filtered(db.get_database_backend(), tenant, filter)?
        .count(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(s: &str) -> SearchTerm {
        search_term(s).unwrap().unwrap()
    }

    #[test]
    fn search_terms_are_normalised() {
        assert_eq!(search_term("  ").unwrap(), None);
        assert_eq!(term("SMI").like_pattern(), "%smi%");
        assert_eq!(term("(416) 555-12").like_pattern(), "%41655512%");
        assert_eq!(term("+1 416 555 1234").like_pattern(), "%14165551234%");
        assert_eq!(term("50%_").like_pattern(), "%50\\%\\_%");
        assert!(search_term(&"x".repeat(201)).is_err());
    }

    #[test]
    fn fts_phrases_escape_quotes_and_short_terms_are_not_indexable() {
        assert_eq!(term("say \"hi\"").fts_phrase(), "\"say \"\"hi\"\"\"");
        assert!(!term("ab").indexable());
        assert!(term("abc").indexable());
    }
}
