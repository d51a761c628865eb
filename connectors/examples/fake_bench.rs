//! Push N contacts to each fake (published rate limits) and pull them back incrementally;
//! prints records/s and the share of the rate-limit ceiling used.
//!
//! `cargo run --release -p clientele-connectors --example fake_bench -- 100000 [hubspot|salesforce|dynamics]`

use std::time::{Duration, Instant};

use clientele_connectors::fakes::{
    FakeDynamics, FakeHubSpot, FakeOptions, FakeSalesforce, FakeServer,
};
use clientele_connectors::{AuthGrant, CrmConnector, CrmContact, HttpPolicy, Provider, SyncCursor};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn contacts(n: usize) -> Vec<CrmContact> {
    (0..n)
        .map(|i| CrmContact {
            external_id: format!("bench-{i}"),
            first_name: Some(format!("First{i}")),
            last_name: Some(format!("Last{i}")),
            email: Some(format!("bench{i}@example.com")),
            ..Default::default()
        })
        .collect()
}

/// Share of a rolling window's steady-state rate (`max` per `window`) used by `requests` in
/// `elapsed`. Short runs can exceed 100%: the first window is free to use at once.
fn ceiling_share(requests: u64, max: u64, window: Duration, elapsed: Duration) -> f64 {
    let rate = requests as f64 / elapsed.as_secs_f64();
    100.0 * rate / (max as f64 / window.as_secs_f64())
}

async fn run(
    name: &str,
    fake: &FakeServer,
    conn: Box<dyn CrmConnector>,
    n: usize,
    limit: Option<(u64, Duration)>,
) -> Result<(), Error> {
    let records = contacts(n);
    let batch = conn.capabilities().batch_size;
    let start = Instant::now();
    let requests_before = fake.stats().api_requests;
    for chunk in records.chunks(batch * 10) {
        let outcomes = conn.upsert_contacts(chunk).await?;
        if outcomes.iter().any(|o| o.remote_id().is_none()) {
            return Err("a record failed".into());
        }
    }
    let push = start.elapsed();
    let requests = fake.stats().api_requests - requests_before;
    let share = limit.map_or(String::from("n/a"), |(max, window)| {
        format!("{:.0}%", ceiling_share(requests, max, window, push))
    });
    println!(
        "{name}: pushed {n} in {:.1} s = {:.0} records/s, {requests} requests, {} rate-limited, ceiling share {share}",
        push.as_secs_f64(),
        n as f64 / push.as_secs_f64(),
        fake.stats().rate_limited,
    );
    let start = Instant::now();
    let mut cursor: Option<SyncCursor> = None;
    let mut pulled = 0;
    loop {
        let page = conn.fetch_changes(cursor.clone()).await?;
        pulled += page.contacts.len();
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    let pull = start.elapsed();
    println!(
        "{name}: pulled {pulled} changes in {:.1} s = {:.0} records/s",
        pull.as_secs_f64(),
        pulled as f64 / pull.as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let only = std::env::args().nth(2);
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let policy = HttpPolicy {
        max_retries: 20,
        ..HttpPolicy::default()
    };

    if wanted("hubspot") {
        let fake = FakeHubSpot::start().await?;
        let cfg = fake.connection_config().tokens(fake.issue_tokens());
        let conn = Provider::connect(cfg.http(policy.clone()))?;
        let limit = Some((110, Duration::from_secs(10)));
        run("hubspot", &fake, conn, n, limit).await?;
    }
    if wanted("salesforce") {
        let opts = FakeOptions {
            daily_limit: Some(1_000_000),
            ..FakeOptions::salesforce()
        };
        let fake = FakeSalesforce::start_with(opts).await?;
        let cfg = fake.connection_config().tokens(fake.issue_tokens());
        let conn = Provider::connect(cfg.http(policy.clone()))?;
        run("salesforce", &fake, conn, n, None).await?;
    }
    if wanted("dynamics") {
        let fake = FakeDynamics::start().await?;
        let conn = Provider::connect(fake.connection_config().http(policy.clone()))?;
        conn.authorize(AuthGrant::ClientCredentials).await?;
        let limit = Some((6000, Duration::from_secs(300)));
        run("dynamics", &fake, conn, n, limit).await?;
    }
    Ok(())
}
