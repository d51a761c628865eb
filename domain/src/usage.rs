//! Usage for billing: per tenant and calendar month in the tenant's time zone, messages in and
//! out per channel, SMS segments, clients created by extraction and CRM API calls.
//!
//! Where each number comes from, and why it does not change for a past month:
//! - messages and SMS segments: counted from `messages` rows by `created_at` (when Clientele
//!   stored the message). Retention purges bodies but keeps the rows, so nothing is written on
//!   the ingestion path;
//! - clients created by extraction: a monthly counter (`usage_counters`) that the extraction
//!   job adds to in the transaction that creates the client, because retention later removes
//!   soft-deleted clients and counting `clients` rows would shrink past months. The counter is
//!   spread over [`SLOTS`] rows chosen by the client's id and summed when read: on one row,
//!   every concurrent extraction waited for the previous one's commit;
//! - CRM API calls: every HTTP request a sync run sent (retries and token refreshes included),
//!   stored on the run (`sync_runs.api_calls`) and summed by the run's start. Runs stay when a
//!   connection is disconnected.

use crate::entities::conversation::{self, Channel};
use crate::entities::message::{self, Direction};
use crate::entities::{sync_run, usage_counter};
use crate::{Actor, Domain, DomainError, DomainResult, Role, TenantId};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect,
};
use std::collections::BTreeMap;

/// The counter metric of clients created by extraction.
pub const CLIENTS_CREATED_BY_EXTRACTION: &str = "clients_created_by_extraction";

/// Rows a counter is spread over (see the module documentation).
pub const SLOTS: u16 = 16;

/// The slot a write keyed by `id` adds to: the same id always lands in the same slot, and
/// random ids spread evenly.
pub fn slot_of(id: uuid::Uuid) -> i16 {
    // Both operands fit: the remainder is below SLOTS.
    (id.as_u128() % u128::from(SLOTS)) as i16
}

/// At most this many months per `usage_months` call.
pub const MAX_MONTHS: usize = 24;

/// A calendar month (`YYYY-MM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// Reads `YYYY-MM`; anything else is bad input naming `field`.
    pub fn parse(field: &str, raw: &str) -> DomainResult<Month> {
        let bad = || DomainError::invalid(field, "expected a month as YYYY-MM, e.g. 2026-12");
        let (y, m) = raw.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(1970..=9998).contains(&year) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month `instant` falls in, in time zone `tz`.
    pub fn of(instant: DateTime<Utc>, tz: Tz) -> Month {
        let local = instant.with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `YYYY-MM`.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// The first instant of the month in `tz`. Where local midnight does not exist (a
    /// daylight-saving jump at midnight), the first local time that does.
    pub fn start(self, tz: Tz) -> DateTime<Utc> {
        let midnight = NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        (0..=4)
            .find_map(|h| {
                tz.from_local_datetime(&(midnight + Duration::minutes(30 * h)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
    }

    /// `[start, end)` of the month in `tz`, as UTC instants.
    pub fn bounds(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.start(tz), self.next().start(tz))
    }
}

/// The months from `from` to `to`, both included; `to` before `from`, or more than
/// [`MAX_MONTHS`], is bad input naming `to`.
pub fn month_range(from: Month, to: Month) -> DomainResult<Vec<Month>> {
    if to < from {
        return Err(DomainError::invalid("to", "must not be before from"));
    }
    let mut months = vec![from];
    let mut m = from;
    while m < to {
        m = m.next();
        months.push(m);
        if months.len() > MAX_MONTHS {
            return Err(DomainError::invalid(
                "to",
                format!("at most {MAX_MONTHS} months at a time"),
            ));
        }
    }
    Ok(months)
}

/// The tenant's time zone (UTC when the stored one does not parse).
pub fn tenant_zone(tenant: &crate::entities::tenant::Model) -> Tz {
    tenant.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// Messages of one channel in one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelUsage {
    pub channel: Channel,
    pub messages_in: u64,
    pub messages_out: u64,
    pub sms_segments: u64,
}

/// A tenant's usage in one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthUsage {
    /// `YYYY-MM`.
    pub month: String,
    /// The month's first instant in the tenant's time zone.
    pub starts_at: DateTime<Utc>,
    /// The next month's first instant.
    pub ends_at: DateTime<Utc>,
    /// Channels with messages this month, in a stable order.
    pub channels: Vec<ChannelUsage>,
    pub messages_in: u64,
    pub messages_out: u64,
    pub sms_segments: u64,
    pub clients_created_by_extraction: u64,
    pub crm_api_calls: u64,
}

fn nonneg(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Sums per-channel, per-direction counts into the month's figures (channels in declaration
/// order, only those with messages).
pub fn summarise(
    month: Month,
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
    rows: &[(Channel, Direction, i64, i64)],
    clients_created_by_extraction: i64,
    crm_api_calls: i64,
) -> MonthUsage {
    let mut by_channel: BTreeMap<usize, ChannelUsage> = BTreeMap::new();
    let order = |c: Channel| {
        use sea_orm::Iterable;
        Channel::iter().position(|x| x == c).unwrap_or(usize::MAX)
    };
    for &(channel, direction, n, segments) in rows {
        let entry = by_channel.entry(order(channel)).or_insert(ChannelUsage {
            channel,
            messages_in: 0,
            messages_out: 0,
            sms_segments: 0,
        });
        let n = nonneg(n);
        match direction {
            Direction::Inbound => entry.messages_in += n,
            Direction::Outbound => entry.messages_out += n,
        }
        entry.sms_segments += nonneg(segments);
    }
    let channels: Vec<ChannelUsage> = by_channel.into_values().collect();
    MonthUsage {
        month: month.key(),
        starts_at,
        ends_at,
        messages_in: channels.iter().map(|c| c.messages_in).sum(),
        messages_out: channels.iter().map(|c| c.messages_out).sum(),
        sms_segments: channels.iter().map(|c| c.sms_segments).sum(),
        channels,
        clients_created_by_extraction: nonneg(clients_created_by_extraction),
        crm_api_calls: nonneg(crm_api_calls),
    }
}

/// One month's usage (agents and admins: the numbers carry no personal data).
pub async fn month(d: &Domain, actor: &Actor, month: &str) -> DomainResult<MonthUsage> {
    actor.require(Role::Agent)?;
    let month = Month::parse("month", month)?;
    let tz = tenant_zone(&crate::tenants::get(&d.db, actor.tenant).await?);
    of_month(&d.db, actor.tenant, month, tz).await
}

/// Usage of each month from `from` to `to`, both included, at most [`MAX_MONTHS`] (agents
/// and admins).
pub async fn months(
    d: &Domain,
    actor: &Actor,
    from: &str,
    to: &str,
) -> DomainResult<Vec<MonthUsage>> {
    actor.require(Role::Agent)?;
    let range = month_range(Month::parse("from", from)?, Month::parse("to", to)?)?;
    let tz = tenant_zone(&crate::tenants::get(&d.db, actor.tenant).await?);
    let mut out = Vec::with_capacity(range.len());
    for m in range {
        out.push(of_month(&d.db, actor.tenant, m, tz).await?);
    }
    Ok(out)
}

async fn of_month(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    month: Month,
    tz: Tz,
) -> DomainResult<MonthUsage> {
    let (start, end) = month.bounds(tz);
    let rows: Vec<(Channel, Direction, i64, i64)> = message::Entity::scoped(tenant)
        .select_only()
        .join(JoinType::InnerJoin, MessageThread.def())
        .column(conversation::Column::Channel)
        .column(message::Column::Direction)
        .column_as(message::Column::Id.count(), "n")
        .column_as(
            Expr::cust("COALESCE(SUM(\"messages\".\"sms_segments\"), 0)"),
            "segments",
        )
        .filter(message::Column::CreatedAt.gte(start))
        .filter(message::Column::CreatedAt.lt(end))
        .group_by(conversation::Column::Channel)
        .group_by(message::Column::Direction)
        .into_tuple()
        .all(db)
        .await?;
    let created: i64 = usage_counter::Entity::scoped(tenant)
        .filter(usage_counter::Column::Month.eq(month.key()))
        .filter(usage_counter::Column::Metric.eq(CLIENTS_CREATED_BY_EXTRACTION))
        .all(db)
        .await?
        .iter()
        .map(|c| c.amount)
        .sum();
    let calls: Option<i64> = sync_run::Entity::scoped(tenant)
        .select_only()
        .column_as(
            Expr::cust("COALESCE(SUM(\"sync_runs\".\"api_calls\"), 0)"),
            "calls",
        )
        .filter(sync_run::Column::StartedAt.gte(start))
        .filter(sync_run::Column::StartedAt.lt(end))
        .into_tuple()
        .one(db)
        .await?;
    Ok(summarise(
        month,
        (start, end),
        &rows,
        created,
        calls.unwrap_or(0),
    ))
}

/// The join of a message to its conversation (the channel lives there).
struct MessageThread;

impl MessageThread {
    fn def(&self) -> sea_orm::RelationDef {
        message::Entity::belongs_to(conversation::Entity)
            .from(message::Column::ConversationId)
            .to(conversation::Column::Id)
            .into()
    }
}

/// Adds `n` to a monthly counter of `tenant` (no channel) in `slot`, in the caller's
/// transaction.
pub async fn add(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    month: Month,
    metric: &str,
    slot: i16,
    n: i64,
) -> DomainResult<()> {
    let row = usage_counter::ActiveModel {
        tenant_id: Set(tenant.0),
        month: Set(month.key()),
        metric: Set(metric.to_string()),
        channel: Set(String::new()),
        slot: Set(slot),
        amount: Set(n),
    };
    usage_counter::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                usage_counter::Column::TenantId,
                usage_counter::Column::Month,
                usage_counter::Column::Metric,
                usage_counter::Column::Channel,
                usage_counter::Column::Slot,
            ])
            .value(
                usage_counter::Column::Amount,
                Expr::col((usage_counter::Entity, usage_counter::Column::Amount)).add(n),
            )
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Counts one client created by extraction at `at` (in the month of the tenant's time zone),
/// in the transaction that creates it.
pub async fn client_created_by_extraction(
    db: &impl ConnectionTrait,
    tenant: &crate::entities::tenant::Model,
    client: uuid::Uuid,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    add(
        db,
        TenantId(tenant.id),
        Month::of(at, tenant_zone(tenant)),
        CLIENTS_CREATED_BY_EXTRACTION,
        slot_of(client),
        1,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(year: i32, month: u32) -> Month {
        Month { year, month }
    }

    #[test]
    fn months_parse_strictly_and_name_the_field() {
        assert_eq!(Month::parse("month", "2026-12").unwrap(), m(2026, 12));
        assert_eq!(Month::parse("month", " 2026-01 ").unwrap(), m(2026, 1));
        for bad in [
            "2026-13", "2026-00", "2026-1", "26-01", "2026/12", "", "2026-1a", "+026-01",
        ] {
            match Month::parse("month", bad) {
                Err(DomainError::Invalid { field, .. }) => assert_eq!(field, "month", "{bad}"),
                other => panic!("{bad} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn months_start_at_local_midnight_of_the_tenant() {
        let toronto: Tz = "America/Toronto".parse().unwrap();
        let (start, end) = m(2026, 12).bounds(toronto);
        assert_eq!(start.to_rfc3339(), "2026-12-01T05:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2027-01-01T05:00:00+00:00");
        // 02:00 UTC on Dec 1st is still November in Toronto.
        let late_november = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
        assert_eq!(Month::of(late_november, toronto), m(2026, 11));
        assert_eq!(Month::of(late_november, chrono_tz::UTC), m(2026, 12));
    }

    #[test]
    fn a_month_whose_midnight_does_not_exist_starts_at_the_first_local_time() {
        // Santiago moved clocks from 00:00 to 01:00 on 2022-09-11; months start fine, and a
        // zone whose month starts in a gap still yields an instant inside the month.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let (start, end) = m(2022, 9).bounds(santiago);
        assert!(start < end);
    }

    #[test]
    fn month_ranges_are_inclusive_and_bounded() {
        assert_eq!(
            month_range(m(2026, 11), m(2027, 2)).unwrap(),
            vec![m(2026, 11), m(2026, 12), m(2027, 1), m(2027, 2)]
        );
        assert_eq!(month_range(m(2026, 5), m(2026, 5)).unwrap().len(), 1);
        assert!(matches!(
            month_range(m(2026, 5), m(2026, 4)),
            Err(DomainError::Invalid { field, .. }) if field == "to"
        ));
        assert_eq!(month_range(m(2025, 1), m(2026, 12)).unwrap().len(), 24);
        assert!(month_range(m(2025, 1), m(2027, 1)).is_err());
    }

    #[test]
    fn counter_slots_follow_the_id_and_spread_random_ids_over_every_slot() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(slot_of(id), slot_of(id));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2_000 {
            let slot = slot_of(uuid::Uuid::now_v7());
            assert!((0..SLOTS as i16).contains(&slot), "{slot}");
            seen.insert(slot);
        }
        // 2,000 new ids (v7: random in their low bits) miss one of 16 slots with probability
        // below 1e-50.
        assert_eq!(seen.len(), usize::from(SLOTS));
    }

    #[test]
    fn summaries_add_directions_per_channel_in_a_stable_order() {
        let rows = [
            (Channel::Sms, Direction::Inbound, 3, 4),
            (Channel::Email, Direction::Outbound, 2, 0),
            (Channel::Sms, Direction::Outbound, 1, 2),
        ];
        let now = Utc::now();
        let u = summarise(m(2026, 12), (now, now), &rows, 5, 7);
        assert_eq!(u.month, "2026-12");
        assert_eq!(u.channels.len(), 2);
        assert_eq!(u.channels[0].channel, Channel::Email);
        assert_eq!(u.channels[1].channel, Channel::Sms);
        assert_eq!(
            (u.channels[1].messages_in, u.channels[1].messages_out),
            (3, 1)
        );
        assert_eq!(u.channels[1].sms_segments, 6);
        assert_eq!((u.messages_in, u.messages_out, u.sms_segments), (3, 3, 6));
        assert_eq!((u.clients_created_by_extraction, u.crm_api_calls), (5, 7));
    }
}
