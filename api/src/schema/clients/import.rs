//! CSV import over GraphQL (a multipart upload).

use crate::error::{ApiError, ApiResult};
use crate::schema::{actor, domain};
use async_graphql::{Context, Object, SimpleObject, Upload};
use clientele_domain::clients::csv_io;

/// A row that could not be imported; the other rows still were.
#[derive(SimpleObject)]
pub struct ImportRowError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// The column at fault (`email`, `phone`, `status`...).
    pub field: String,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub errors: Vec<ImportRowError>,
    /// Nothing was written: this is what would happen.
    pub dry_run: bool,
}

impl From<csv_io::ImportReport> for ImportReport {
    fn from(r: csv_io::ImportReport) -> Self {
        ImportReport {
            rows: r.rows,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            errors: r
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    line: e.line,
                    field: e.field,
                    message: e.message,
                })
                .collect(),
            dry_run: r.dry_run,
        }
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports clients from a CSV file in the export's format (admins). Rows upsert by id,
    /// external id, email or phone; empty cells keep stored values; bad rows are reported
    /// with their line and column while good rows land. `dryRun` reports without writing.
    async fn import_clients(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        dry_run: Option<bool>,
    ) -> ApiResult<ImportReport> {
        let actor = actor(ctx)?;
        let upload = file
            .value(ctx)
            .map_err(|e| ApiError::bad_input("file", format!("cannot read the upload: {e}")))?;
        let report = csv_io::import(
            domain(ctx),
            actor,
            upload.into_read(),
            dry_run.unwrap_or(false),
            |_| {},
        )
        .await?;
        Ok(report.into())
    }
}
