//! Keyset pagination: page arguments, opaque cursors and the page they produce.
//!
//! Lists are walked by a sort key plus a unique, time-ordered id (UUIDv7), so a page never
//! skips or repeats rows when others are inserted concurrently. Cursors are opaque to clients
//! and remember which ordering produced them.

use crate::{DomainError, DomainResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{IntoCondition, Value};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Select};
use uuid::Uuid;

pub const MAX_PAGE_SIZE: i32 = 100;
pub const DEFAULT_PAGE_SIZE: i32 = 20;
const CURSOR_VERSION: &str = "c2";

/// Relay-style page arguments as a caller gives them.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// In display order, continuing after the cursor.
    Forward,
    /// Against display order, before the cursor.
    Backward,
}

/// The sort key of one row besides its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Ordered by id alone.
    None,
    Time(DateTime<Utc>),
    Text(String),
}

/// Where a page starts: the ordering that produced it, the row's sort key and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub ordering: String,
    pub key: SortKey,
    pub id: Uuid,
}

/// Validated page request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    pub direction: Direction,
    pub limit: u64,
    pub cursor: Option<Cursor>,
}

/// One page of rows, each with its cursor, in display order.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        let key = match &self.key {
            SortKey::None => "n:".to_string(),
            SortKey::Time(t) => format!("t:{}", t.to_rfc3339()),
            SortKey::Text(s) => format!("s:{s}"),
        };
        URL_SAFE_NO_PAD.encode(format!(
            "{CURSOR_VERSION}\n{}\n{}\n{key}",
            self.ordering,
            self.id.simple()
        ))
    }

    pub fn decode(field: &str, ordering: &str, cursor: &str) -> DomainResult<Cursor> {
        let bad = || DomainError::invalid(field, "is not a cursor of this list");
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(4, '\n');
        let (Some(CURSOR_VERSION), Some(found), Some(id), Some(key)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if found != ordering {
            return Err(DomainError::invalid(
                field,
                "belongs to a list in another order; start again without a cursor",
            ));
        }
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        let key = match key.split_once(':') {
            Some(("n", "")) => SortKey::None,
            Some(("t", t)) => SortKey::Time(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|_| bad())?
                    .with_timezone(&Utc),
            ),
            Some(("s", s)) => SortKey::Text(s.to_string()),
            _ => return Err(bad()),
        };
        Ok(Cursor {
            ordering: ordering.to_string(),
            key,
            id,
        })
    }
}

fn check_size(field: &str, n: i32) -> DomainResult<u64> {
    if (1..=MAX_PAGE_SIZE).contains(&n) {
        Ok(n as u64)
    } else {
        Err(DomainError::invalid(
            field,
            format!("must be between 1 and {MAX_PAGE_SIZE}, got {n}"),
        ))
    }
}

impl PageArgs {
    /// Validates the arguments for a list in `ordering`.
    pub fn resolve(&self, ordering: &str) -> DomainResult<PageQuery> {
        let decode = |field: &str, c: &Option<String>| {
            c.as_deref()
                .map(|c| Cursor::decode(field, ordering, c))
                .transpose()
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(DomainError::invalid(
                "last",
                "give either first or last, not both",
            )),
            (_, Some(last)) => {
                if self.after.is_some() {
                    return Err(DomainError::invalid("after", "use before with last"));
                }
                Ok(PageQuery {
                    direction: Direction::Backward,
                    limit: check_size("last", last)?,
                    cursor: decode("before", &self.before)?,
                })
            }
            (first, None) => {
                if self.before.is_some() {
                    return Err(DomainError::invalid("before", "use after with first"));
                }
                Ok(PageQuery {
                    direction: Direction::Forward,
                    limit: check_size("first", first.unwrap_or(DEFAULT_PAGE_SIZE))?,
                    cursor: decode("after", &self.after)?,
                })
            }
        }
    }
}

/// A sort column and the order rows are displayed in.
pub struct Ordering<C> {
    pub name: &'static str,
    /// `None` orders by id alone.
    pub column: Option<C>,
    pub descending: bool,
}

impl PageQuery {
    /// Adds the keyset condition and order to `query`; fetch with `limit + 1`.
    pub fn apply<E, C>(&self, query: Select<E>, ordering: &Ordering<C>, id: E::Column) -> Select<E>
    where
        E: EntityTrait,
        C: ColumnTrait,
    {
        // Walking forward in display order, or backward against it.
        let descending = ordering.descending == (self.direction == Direction::Forward);
        let mut query = query;
        if let Some(cursor) = &self.cursor {
            let past_id = if descending {
                id.lt(cursor.id)
            } else {
                id.gt(cursor.id)
            };
            let condition = match (&ordering.column, &cursor.key) {
                (Some(col), SortKey::Time(_) | SortKey::Text(_)) => {
                    let value: Value = match &cursor.key {
                        SortKey::Time(t) => (*t).into(),
                        SortKey::Text(s) => s.clone().into(),
                        SortKey::None => unreachable!("matched above"),
                    };
                    let past_key = if descending {
                        col.lt(value.clone())
                    } else {
                        col.gt(value.clone())
                    };
                    Condition::any()
                        .add(past_key)
                        .add(Condition::all().add(col.eq(value)).add(past_id))
                }
                _ => past_id.into_condition(),
            };
            query = query.filter(condition);
        }
        let order = if descending {
            sea_orm::Order::Desc
        } else {
            sea_orm::Order::Asc
        };
        if let Some(col) = &ordering.column {
            query = query.order_by(*col, order.clone());
        }
        query.order_by(id, order)
    }

    /// Builds the page from rows fetched with `limit + 1` by [`PageQuery::apply`].
    pub fn into_page<T>(self, mut rows: Vec<T>, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.direction == Direction::Backward {
            rows.reverse();
        }
        let items = rows
            .into_iter()
            .map(|row| (cursor_of(&row).encode(), row))
            .collect();
        let (has_next_page, has_previous_page) = match self.direction {
            Direction::Forward => (more, self.cursor.is_some()),
            Direction::Backward => (self.cursor.is_some(), more),
        };
        Page {
            items,
            has_next_page,
            has_previous_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(key: SortKey) -> Cursor {
        Cursor {
            ordering: "created".into(),
            key,
            id: Uuid::now_v7(),
        }
    }

    #[test]
    fn cursors_round_trip() {
        for key in [
            SortKey::None,
            SortKey::Time(Utc::now()),
            SortKey::Text("ada\nlovelace: x".into()),
        ] {
            let c = cursor(key);
            assert_eq!(Cursor::decode("after", "created", &c.encode()).unwrap(), c);
        }
    }

    #[test]
    fn garbage_and_foreign_cursors_are_refused() {
        for bad in [
            "",
            "!!!",
            "Zm9v",
            &URL_SAFE_NO_PAD.encode("c2\ncreated\nnope\nn:"),
        ] {
            let err = Cursor::decode("after", "created", bad).unwrap_err();
            assert!(
                matches!(err, DomainError::Invalid { ref field, .. } if field == "after"),
                "{bad}"
            );
        }
        let other = cursor(SortKey::None).encode();
        assert!(Cursor::decode("after", "name", &other).is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        let args = |first| PageArgs {
            first,
            ..Default::default()
        };
        assert_eq!(
            args(None).resolve("x").unwrap().limit,
            DEFAULT_PAGE_SIZE as u64
        );
        assert_eq!(args(Some(1)).resolve("x").unwrap().limit, 1);
        assert_eq!(args(Some(100)).resolve("x").unwrap().limit, 100);
        for bad in [0, -1, 101] {
            let err = args(Some(bad)).resolve("x").unwrap_err();
            assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "first"));
        }
        let err = PageArgs {
            last: Some(500),
            ..Default::default()
        }
        .resolve("x")
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "last"));
        let both = PageArgs {
            first: Some(2),
            last: Some(2),
            ..Default::default()
        };
        assert!(both.resolve("x").is_err());
    }

    #[test]
    fn forward_page_reports_more_rows() {
        let q = PageArgs {
            first: Some(2),
            ..Default::default()
        }
        .resolve("x")
        .unwrap();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = q.into_page(ids.clone(), |id| cursor_for(*id));
        assert_eq!(page.items.len(), 2);
        assert!(page.has_next_page);
        assert!(!page.has_previous_page);
        assert_eq!(page.items[0].1, ids[0]);
    }

    fn cursor_for(id: Uuid) -> Cursor {
        Cursor {
            ordering: "x".into(),
            key: SortKey::None,
            id,
        }
    }

    #[test]
    fn backward_page_is_returned_in_display_order() {
        let q = PageArgs {
            last: Some(2),
            before: Some(cursor_for(Uuid::now_v7()).encode()),
            ..Default::default()
        }
        .resolve("x")
        .unwrap();
        let fetched: Vec<Uuid> = (0..2).map(|_| Uuid::now_v7()).collect();
        let page = q.into_page(fetched.clone(), |id| cursor_for(*id));
        assert_eq!(page.items[0].1, fetched[1]);
        assert!(page.has_next_page);
        assert!(!page.has_previous_page);
    }
}
