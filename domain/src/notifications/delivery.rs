//! Sending one delivery: the retry schedule, how an answer is judged, and the attempt itself.

use super::signing;
use crate::entities::webhook_delivery::{self, DeliveryStatus};
use crate::entities::{notification, webhook_endpoint};
use crate::{Domain, DomainError, DomainResult, TenantId};
use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// How outbound webhooks are sent and retried.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Delay after the first failed attempt; doubles after each further failure.
    pub retry_base: Duration,
    /// Upper bound of one delay.
    pub retry_cap: Duration,
    /// Attempts before a delivery fails (the defaults span more than 24 hours).
    pub max_attempts: u32,
    /// Time allowed for the receiver to answer one attempt.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry_base: Duration::from_secs(30),
            retry_cap: Duration::from_secs(6 * 3600),
            max_attempts: 18,
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSettings {
    /// The largest delay after failed attempt `attempt` (1-based): `base * 2^(attempt-1)`,
    /// capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        self.retry_base
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.retry_cap)
            .min(self.retry_cap)
    }

    /// The delay before the next attempt after failed attempt `attempt`: "equal jitter", a
    /// uniformly random delay between half the ceiling and the ceiling, so that receivers
    /// coming back are not hit by every sender at once, and the schedule keeps a known
    /// minimum length.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::rng().random_range(0..=spread))
    }

    /// The shortest and longest time between the first and the last attempt.
    pub fn schedule_span(&self) -> (Duration, Duration) {
        (1..self.max_attempts.max(1)).fold((Duration::ZERO, Duration::ZERO), |(lo, hi), n| {
            let c = self.ceiling(n);
            (lo + c / 2, hi + c)
        })
    }
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Worth another attempt (5xx, 429, timeouts, refused connections, other 4xx).
    Retry,
    /// The receiver says the endpoint is gone (410): the endpoint is switched off.
    Gone,
}

/// Judges the receiver's answer (`None`: no answer).
pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        Some(s) if (200..300).contains(&s) => Verdict::Delivered,
        Some(410) => Verdict::Gone,
        // 5xx, 429, other 4xx (recorded: a misconfigured receiver may be fixed) and network
        // failures all retry until attempts run out.
        _ => Verdict::Retry,
    }
}

/// The JSON body of a notification: the same bytes on every attempt of a delivery.
pub fn body(n: &notification::Model) -> Vec<u8> {
    let value = json!({
        "id": n.id,
        "type": n.kind,
        "createdAt": n.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "tenantId": n.tenant_id,
        "clientId": n.client_id,
        "conversationId": n.conversation_id,
        "messageId": n.message_id,
        "data": n.payload,
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Clientele-Webhooks/1")
        .build()
        .unwrap_or_default()
}

/// What [`deliver`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempted {
    /// Nothing to do: delivered or failed already.
    Skipped,
    Delivered,
    /// Failed; retried at the given time, or never (`None`: the delivery failed).
    Failed {
        next_attempt_at: Option<DateTime<Utc>>,
    },
}

/// Makes one attempt of delivery `id` of `tenant` if it is still pending (the relay or a
/// redelivery handed it over): claims it for the attempt, POSTs the signed body and records
/// the outcome, scheduling the next attempt on failure. Jobs are deduplicated per delivery,
/// so one attempt runs at a time. A system task (the job's handler calls it).
pub async fn deliver(d: &Domain, tenant: TenantId, id: Uuid) -> DomainResult<Attempted> {
    let settings = &d.webhooks;
    let now = Utc::now();
    // The claim holds the delivery for the attempt's duration; if this process dies, the
    // relay finds it due again afterwards.
    let lease = chrono::Duration::from_std(settings.timeout + Duration::from_secs(30))
        .unwrap_or(chrono::Duration::minutes(1));
    let claimed = webhook_delivery::Entity::scoped_update(tenant)
        .col_expr(
            webhook_delivery::Column::Attempts,
            sea_orm::sea_query::ExprTrait::add(Expr::col(webhook_delivery::Column::Attempts), 1),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(now + lease),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(&d.db)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(Attempted::Skipped);
    }
    let row = webhook_delivery::Entity::scoped(tenant)
        .filter(webhook_delivery::Column::Id.eq(id))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("webhook delivery"))?;
    let endpoint = webhook_endpoint::Entity::scoped(tenant)
        .filter(webhook_endpoint::Column::Id.eq(row.endpoint_id))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("webhook endpoint"))?;
    if !endpoint.active {
        finish(
            &d.db,
            tenant,
            id,
            DeliveryStatus::Failed,
            None,
            "the endpoint is inactive",
            None,
        )
        .await?;
        return Ok(Attempted::Failed {
            next_attempt_at: None,
        });
    }
    let n = notification::Entity::scoped(tenant)
        .filter(notification::Column::Id.eq(row.notification_id))
        .one(&d.db)
        .await?
        .ok_or_else(|| DomainError::not_found("notification"))?;
    let secret = match super::endpoints::secret_of(d, &endpoint).await {
        Ok(secret) => secret,
        Err(DomainError::Invalid { message, .. }) => {
            // Retrying cannot open it: the delivery fails until an admin rotates the secret
            // and redelivers.
            finish(
                &d.db,
                tenant,
                id,
                DeliveryStatus::Failed,
                None,
                &message,
                None,
            )
            .await?;
            return Ok(Attempted::Failed {
                next_attempt_at: None,
            });
        }
        Err(e) => return Err(e),
    };
    let body = body(&n);
    let timestamp = Utc::now().timestamp();
    let sent = http_client(settings.timeout)
        .post(&endpoint.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signing::EVENT_HEADER, &n.kind)
        .header(signing::DELIVERY_HEADER, id.to_string())
        .header(
            signing::SIGNATURE_HEADER,
            signing::header(&secret, timestamp, &body),
        )
        .body(body)
        .send()
        .await;
    let (status, error) = match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let error = if response.status().is_success() {
                String::new()
            } else {
                let text = response.text().await.unwrap_or_default();
                let excerpt: String = text.chars().take(200).collect();
                format!("HTTP {status}: {excerpt}")
                    .trim_end_matches(": ")
                    .to_string()
            };
            (Some(status), error)
        }
        Err(e) if e.is_timeout() => (None, "timed out".to_string()),
        Err(e) if e.is_connect() => (None, "could not connect".to_string()),
        Err(e) => (None, format!("request failed: {e}")),
    };
    let code = status.map(i32::from);
    match verdict(status) {
        Verdict::Delivered => {
            finish(&d.db, tenant, id, DeliveryStatus::Delivered, code, "", None).await?;
            Ok(Attempted::Delivered)
        }
        Verdict::Gone => {
            // Together: whoever sees the delivery failed sees the endpoint switched off.
            let txn = d.begin_write().await?;
            finish(&txn, tenant, id, DeliveryStatus::Failed, code, &error, None).await?;
            super::endpoints::disable(&txn, tenant, endpoint.id, "the receiver answered 410 Gone")
                .await?;
            txn.commit().await?;
            Ok(Attempted::Failed {
                next_attempt_at: None,
            })
        }
        Verdict::Retry => {
            let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
            if attempts >= settings.max_attempts {
                finish(
                    &d.db,
                    tenant,
                    id,
                    DeliveryStatus::Failed,
                    code,
                    &error,
                    None,
                )
                .await?;
                return Ok(Attempted::Failed {
                    next_attempt_at: None,
                });
            }
            let next = Utc::now()
                + chrono::Duration::from_std(settings.delay(attempts))
                    .unwrap_or(chrono::Duration::hours(1));
            finish(
                &d.db,
                tenant,
                id,
                DeliveryStatus::Pending,
                code,
                &error,
                Some(next),
            )
            .await?;
            Ok(Attempted::Failed {
                next_attempt_at: Some(next),
            })
        }
    }
}

async fn finish(
    db: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
    status: DeliveryStatus,
    code: Option<i32>,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> DomainResult<()> {
    let now = Utc::now();
    let mut update = webhook_delivery::Entity::scoped_update(tenant)
        .col_expr(webhook_delivery::Column::Status, Expr::value(status))
        .col_expr(webhook_delivery::Column::LastStatusCode, Expr::value(code))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now));
    if status == DeliveryStatus::Delivered {
        update = update.col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now));
    } else {
        update = update.col_expr(
            webhook_delivery::Column::LastError,
            Expr::value(Some(error.to_string())),
        );
    }
    update
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_more_than_a_day_even_with_the_shortest_jitter() {
        let (shortest, longest) = WebhookSettings::default().schedule_span();
        assert!(shortest >= Duration::from_secs(24 * 3600), "{shortest:?}");
        assert!(longest < Duration::from_secs(4 * 24 * 3600), "{longest:?}");
    }

    #[test]
    fn delays_double_within_jitter_and_cap() {
        let s = WebhookSettings {
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(60),
            ..WebhookSettings::default()
        };
        assert_eq!(s.ceiling(1), Duration::from_secs(10));
        assert_eq!(s.ceiling(3), Duration::from_secs(40));
        assert_eq!(s.ceiling(4), Duration::from_secs(60));
        assert_eq!(s.ceiling(u32::MAX), Duration::from_secs(60));
        for attempt in 1..10 {
            for _ in 0..20 {
                let d = s.delay(attempt);
                assert!(
                    d >= s.ceiling(attempt) / 2 && d <= s.ceiling(attempt),
                    "{d:?}"
                );
            }
        }
        let spread: std::collections::HashSet<Duration> = (0..30).map(|_| s.delay(3)).collect();
        assert!(spread.len() > 1, "jitter must vary");
    }

    #[test]
    fn answers_are_judged() {
        assert_eq!(verdict(Some(200)), Verdict::Delivered);
        assert_eq!(verdict(Some(204)), Verdict::Delivered);
        assert_eq!(verdict(Some(410)), Verdict::Gone);
        for retry in [Some(500), Some(503), Some(429), Some(400), Some(301), None] {
            assert_eq!(verdict(retry), Verdict::Retry, "{retry:?}");
        }
    }
}
