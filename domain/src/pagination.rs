//! Keyset pagination: page arguments, opaque cursors and the page they produce.
//!
//! Lists are walked by a unique, time-ordered key (UUIDv7 ids), so a page never skips or repeats
//! rows when others are inserted concurrently. Cursors are opaque to clients.

use crate::{DomainError, DomainResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

pub const MAX_PAGE_SIZE: i32 = 100;
pub const DEFAULT_PAGE_SIZE: i32 = 20;
const CURSOR_PREFIX: &str = "c1:";

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
    /// Newest first, continuing after the cursor.
    Forward,
    /// Walking back towards newer rows, before the cursor.
    Backward,
}

/// Validated page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageQuery {
    pub direction: Direction,
    pub limit: u64,
    pub cursor: Option<Uuid>,
}

/// One page of rows, each with its cursor, in display order.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{}", id.simple()))
}

pub fn decode_cursor(field: &str, cursor: &str) -> DomainResult<Uuid> {
    let bad = || DomainError::invalid(field, "is not a cursor of this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let id = text.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
    Uuid::parse_str(id).map_err(|_| bad())
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
    pub fn resolve(&self) -> DomainResult<PageQuery> {
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
                    cursor: self
                        .before
                        .as_deref()
                        .map(|c| decode_cursor("before", c))
                        .transpose()?,
                })
            }
            (first, None) => {
                if self.before.is_some() {
                    return Err(DomainError::invalid("before", "use after with first"));
                }
                Ok(PageQuery {
                    direction: Direction::Forward,
                    limit: check_size("first", first.unwrap_or(DEFAULT_PAGE_SIZE))?,
                    cursor: self
                        .after
                        .as_deref()
                        .map(|c| decode_cursor("after", c))
                        .transpose()?,
                })
            }
        }
    }
}

impl PageQuery {
    /// Builds the page from rows fetched with `limit + 1` in query order (descending ids when
    /// walking forward, ascending when walking backward).
    pub fn into_page<T>(self, mut rows: Vec<T>, id_of: impl Fn(&T) -> Uuid) -> Page<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.direction == Direction::Backward {
            rows.reverse();
        }
        let items = rows
            .into_iter()
            .map(|row| (encode_cursor(id_of(&row)), row))
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

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor("after", &encode_cursor(id)).unwrap(), id);
        for bad in ["", "!!!", "Zm9v", &URL_SAFE_NO_PAD.encode("c1:nope")] {
            let err = decode_cursor("after", bad).unwrap_err();
            assert!(
                matches!(err, DomainError::Invalid { ref field, .. } if field == "after"),
                "{bad}"
            );
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        let args = |first| PageArgs {
            first,
            ..Default::default()
        };
        assert_eq!(
            args(None).resolve().unwrap().limit,
            DEFAULT_PAGE_SIZE as u64
        );
        assert_eq!(args(Some(1)).resolve().unwrap().limit, 1);
        assert_eq!(args(Some(100)).resolve().unwrap().limit, 100);
        for bad in [0, -1, 101] {
            let err = args(Some(bad)).resolve().unwrap_err();
            assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "first"));
        }
        let err = PageArgs {
            last: Some(500),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "last"));
    }

    #[test]
    fn first_and_last_together_are_refused() {
        let args = PageArgs {
            first: Some(2),
            last: Some(2),
            ..Default::default()
        };
        assert!(args.resolve().is_err());
    }

    #[test]
    fn forward_page_reports_more_rows() {
        let q = PageArgs {
            first: Some(2),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).rev().collect();
        let page = q.into_page(ids.clone(), |id| *id);
        assert_eq!(page.items.len(), 2);
        assert!(page.has_next_page);
        assert!(!page.has_previous_page);
        assert_eq!(page.items[0].1, ids[0]);
    }

    #[test]
    fn backward_page_is_returned_in_display_order() {
        let before = encode_cursor(Uuid::now_v7());
        let q = PageArgs {
            last: Some(2),
            before: Some(before),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        let asc: Vec<Uuid> = (0..2).map(|_| Uuid::now_v7()).collect();
        let page = q.into_page(asc.clone(), |id| *id);
        assert_eq!(page.items[0].1, asc[1]);
        assert!(page.has_next_page);
        assert!(!page.has_previous_page);
    }
}
