//! State and behaviour shared by the three fakes: tokens, injected failures, rate limits,
//! a record store and the request gate.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::{FailKind, FakeActivity, FakeOptions, FakeStats};
use crate::model::CrmContact;

/// A stored contact.
#[derive(Debug, Clone)]
pub(crate) struct StoredContact {
    pub contact: CrmContact,
    pub remote_id: String,
    pub modified: DateTime<Utc>,
    pub deleted: bool,
    /// Change-log position of the last change (Dataverse change tracking).
    pub version: u64,
}

/// Why the gate refused a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rejection {
    Unauthorized,
    Burst { retry_after: Duration },
    Daily,
    Concurrency,
    Injected(FailKind),
}

/// Usage figures a fake reports in headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    pub daily_used: u64,
    pub daily_limit: Option<u64>,
    pub window_max: Option<u32>,
    pub window_remaining: Option<u32>,
    pub window: Option<Duration>,
}

/// How a provider renders rejections and decorates answers.
pub(crate) struct Flavor {
    pub reject: fn(Rejection, &Usage) -> Response,
    pub decorate: fn(&mut Response, &Usage),
    /// Timestamp granularity of the CRM (seconds for Salesforce and Dataverse).
    pub tick: TimeDelta,
    /// Whether every write gets a distinct timestamp (one tick after the previous at least).
    pub distinct_stamps: bool,
    /// Which CRM.
    pub provider: crate::Provider,
    /// Success body of the token endpoint: (access, refresh, ttl, base URL).
    pub token_body: fn(&str, Option<&str>, Option<Duration>, &str) -> serde_json::Value,
    /// Whether the code flow issues refresh tokens (not client credentials).
    pub issues_refresh: bool,
    /// Contact id for a sequence number.
    pub contact_id: fn(u64) -> String,
    /// Activity id for a sequence number.
    pub activity_id: fn(u64) -> String,
}

#[derive(Default)]
pub(crate) struct State_ {
    pub access: HashMap<String, Option<Instant>>,
    pub refresh: HashSet<String>,
    pub codes: HashMap<String, String>,
    pub revoked: bool,
    pub client_credential_grants: u64,
    pub last_stamp: Option<DateTime<Utc>>,
    /// Change-log position, bumped by every contact write or delete.
    pub change_seq: u64,
    pub fail_queue: VecDeque<FailKind>,
    pub window: VecDeque<Instant>,
    pub daily_used: u64,
    pub stats: FakeStats,
    pub seq: u64,
    pub contacts: Vec<StoredContact>,
    /// Live contacts by external id (index into `contacts`).
    pub by_ext: HashMap<String, usize>,
    /// Contacts by remote id (index into `contacts`).
    pub by_id: HashMap<String, usize>,
    pub activities: Vec<FakeActivity>,
    pub reject_email: Vec<String>,
}

impl State_ {
    /// Index of the live contact with this external id.
    pub fn live_by_ext(&self, external_id: &str) -> Option<usize> {
        self.by_ext.get(external_id).copied()
    }

    /// Index of the live contact with this remote id.
    pub fn live_by_id(&self, remote_id: &str) -> Option<usize> {
        self.by_id
            .get(remote_id)
            .copied()
            .filter(|&i| self.contacts.get(i).is_some_and(|s| !s.deleted))
    }
}

/// Shared core of one fake server.
pub(crate) struct Core {
    pub opts: FakeOptions,
    pub flavor: Flavor,
    pub state: std::sync::Mutex<State_>,
    in_flight: AtomicUsize,
    pub base_url: std::sync::OnceLock<String>,
}

impl Core {
    pub fn new(opts: FakeOptions, flavor: Flavor) -> Arc<Self> {
        Arc::new(Core {
            opts,
            flavor,
            state: std::sync::Mutex::new(State_::default()),
            in_flight: AtomicUsize::new(0),
            base_url: std::sync::OnceLock::new(),
        })
    }

    /// Lock the state (a poisoned lock is still usable: the fake's data stays consistent).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn base(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    /// The CRM's clock, at its granularity.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.duration_trunc(self.flavor.tick).unwrap_or(now)
    }

    /// Create or update a contact by external id; fields left `None` are kept.
    pub fn upsert_contact(&self, st: &mut State_, c: &CrmContact) -> (String, bool) {
        let now = self.stamp(st);
        let version = st.change_seq;
        let found = if c.external_id.is_empty() {
            None
        } else {
            st.live_by_ext(&c.external_id)
        };
        if let Some(existing) = found.and_then(|i| st.contacts.get_mut(i)) {
            overlay(&mut existing.contact, c);
            existing.modified = now;
            existing.version = version;
            return (existing.remote_id.clone(), false);
        }
        let n = Self::next_seq(st);
        let remote_id = (self.flavor.contact_id)(n);
        let mut contact = c.clone();
        contact.remote_id = Some(remote_id.clone());
        let index = st.contacts.len();
        st.by_id.insert(remote_id.clone(), index);
        if !c.external_id.is_empty() {
            st.by_ext.insert(c.external_id.clone(), index);
        }
        st.contacts.push(StoredContact {
            contact,
            remote_id: remote_id.clone(),
            modified: now,
            deleted: false,
            version,
        });
        (remote_id, true)
    }

    /// The modification time of a write made now.
    pub fn stamp(&self, st: &mut State_) -> DateTime<Utc> {
        st.change_seq += 1;
        let mut t = self.now();
        if self.flavor.distinct_stamps
            && let Some(last) = st.last_stamp
            && t <= last
        {
            t = last + self.flavor.tick;
        }
        st.last_stamp = Some(t);
        t
    }

    pub fn next_seq(st: &mut State_) -> u64 {
        st.seq += 1;
        st.seq
    }

    /// Mint an access token (and a refresh token when asked).
    pub fn mint(&self, st: &mut State_, with_refresh: bool) -> (String, Option<String>) {
        let n = Self::next_seq(st);
        let access = format!("fake-access-{n}-{}", uuid::Uuid::now_v7().simple());
        let expiry = self.opts.token_ttl.map(|ttl| Instant::now() + ttl);
        st.access.insert(access.clone(), expiry);
        let refresh = with_refresh.then(|| {
            let r = format!("fake-refresh-{n}-{}", uuid::Uuid::now_v7().simple());
            st.refresh.insert(r.clone());
            r
        });
        (access, refresh)
    }

    fn usage(&self, st: &State_) -> Usage {
        let window_remaining = self
            .opts
            .rate_limit
            .map(|(max, _)| max.saturating_sub(u32::try_from(st.window.len()).unwrap_or(u32::MAX)));
        Usage {
            daily_used: st.daily_used,
            daily_limit: self.opts.daily_limit,
            window_max: self.opts.rate_limit.map(|(m, _)| m),
            window_remaining,
            window: self.opts.rate_limit.map(|(_, w)| w),
        }
    }

    /// Decide whether an API request may proceed.
    /// `Ok(true)`: admitted, answer to be held back ([`FailKind::SlowResponse`]).
    fn admit(&self, bearer: Option<&str>) -> Result<bool, (Rejection, Usage)> {
        let mut st = self.lock();
        st.stats.api_requests += 1;
        let now = Instant::now();
        let valid = bearer
            .and_then(|b| st.access.get(b).copied())
            .is_some_and(|exp| exp.is_none_or(|e| e > now));
        if !valid {
            st.stats.unauthorized += 1;
            return Err((Rejection::Unauthorized, self.usage(&st)));
        }
        let mut slow = false;
        if st.fail_queue.front() == Some(&FailKind::SlowResponse) {
            st.fail_queue.pop_front();
            st.stats.injected_failures += 1;
            slow = true;
        } else if let Some(kind) = st.fail_queue.pop_front() {
            st.stats.injected_failures += 1;
            if kind == FailKind::RateLimit || kind == FailKind::DailyLimit {
                st.stats.rate_limited += 1;
            }
            return Err((Rejection::Injected(kind), self.usage(&st)));
        }
        if let Some(limit) = self.opts.daily_limit
            && st.daily_used >= limit
        {
            st.stats.rate_limited += 1;
            return Err((Rejection::Daily, self.usage(&st)));
        }
        if let Some((max, window)) = self.opts.rate_limit {
            while st
                .window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                st.window.pop_front();
            }
            if st.window.len() >= max as usize {
                st.stats.rate_limited += 1;
                let oldest = st.window.front().copied().unwrap_or(now);
                let retry_after = window.saturating_sub(now.duration_since(oldest));
                return Err((Rejection::Burst { retry_after }, self.usage(&st)));
            }
            st.window.push_back(now);
        }
        st.daily_used += 1;
        Ok(slow)
    }

    fn enter(&self) -> bool {
        let max = self.opts.max_concurrent.unwrap_or(usize::MAX);
        let prev = self.in_flight.fetch_add(1, Ordering::SeqCst);
        if prev >= max {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }
}

/// Middleware on API routes: auth, injected failures, limits, usage headers.
pub(crate) async fn gate(State(core): State<Arc<Core>>, req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let slow = match core.admit(bearer.as_deref()) {
        Ok(slow) => slow,
        Err((rejection, usage)) => return (core.flavor.reject)(rejection, &usage),
    };
    if !core.enter() {
        let usage = {
            let mut st = core.lock();
            st.stats.rate_limited += 1;
            core.usage(&st)
        };
        return (core.flavor.reject)(Rejection::Concurrency, &usage);
    }
    let mut resp = next.run(req).await;
    core.in_flight.fetch_sub(1, Ordering::SeqCst);
    if slow {
        tokio::time::sleep(core.opts.slow_response).await;
    }
    let usage = core.usage(&core.lock());
    (core.flavor.decorate)(&mut resp, &usage);
    resp
}

/// Copy the set fields of `src` over `dst`.
pub(crate) fn overlay(dst: &mut CrmContact, src: &CrmContact) {
    for field in crate::model::ContactField::ALL {
        if let Some(v) = field.get(src) {
            set_field(dst, field, Some(v.to_owned()));
        }
    }
}

/// Set one neutral field.
pub(crate) fn set_field(c: &mut CrmContact, field: crate::model::ContactField, v: Option<String>) {
    use crate::model::ContactField as F;
    let slot = match field {
        F::FirstName => &mut c.first_name,
        F::LastName => &mut c.last_name,
        F::Email => &mut c.email,
        F::Phone => &mut c.phone,
        F::Company => &mut c.company,
        F::Street => &mut c.street,
        F::City => &mut c.city,
        F::Region => &mut c.region,
        F::PostalCode => &mut c.postal_code,
        F::Country => &mut c.country,
        F::Status => &mut c.status,
    };
    *slot = v;
}

/// Whether an email matches one of the rejected patterns.
pub(crate) fn email_rejected(st: &State_, email: Option<&str>) -> bool {
    email.is_some_and(|e| st.reject_email.iter().any(|p| e.contains(p.as_str())))
}
