//! `clientele seed --clients N [--tenant SLUG]`: fills a tenant with realistic fake clients
//! (for demos and benchmarks). Progress goes to stderr; the summary line to stdout.

use anyhow::{Context, bail};
use clientele::config::Config;
use clientele_domain::{TenantId, seed, tenants};
use std::io::{IsTerminal, Write};
use std::time::Instant;

pub async fn run(config: &Config, tenant_slug: &str, count: usize) -> anyhow::Result<()> {
    let db = clientele::app::open_database(config).await?;
    let Some(tenant) = tenants::find_by_slug(&db, tenant_slug).await? else {
        bail!(
            "no tenant {tenant_slug:?}; create it first: clientele tenant create --slug {tenant_slug} --name ..."
        );
    };
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let mut last_tenth = 0;
    let seeded = seed::demo_clients(&db, TenantId(tenant.id), count, |done| {
        let percent = done * 100 / count.max(1);
        let mut err = std::io::stderr().lock();
        if interactive {
            let _ = write!(err, "\rseeding: {percent:3}% ({done}/{count})");
            if done == count {
                let _ = writeln!(err);
            }
            let _ = err.flush();
        } else if percent / 10 > last_tenth || done == count {
            last_tenth = percent / 10;
            let _ = writeln!(err, "seeding: {percent}% ({done}/{count})");
        }
    })
    .await
    .with_context(|| format!("cannot seed tenant {tenant_slug:?}"))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {seeded} clients into tenant {} in {secs:.1}s ({:.0} clients/s)",
        tenant.slug,
        seeded as f64 / secs.max(1e-9)
    );
    db.close().await?;
    Ok(())
}
