//! CSV export and import of clients. The export's columns are the import's template: export a
//! list, edit it in a spreadsheet, import it back. Import upserts by id, external id, email
//! or phone, so importing the same file twice changes nothing; an empty cell never clears a
//! stored value; every bad row is reported with its line and field, and good rows still land.

use super::fields::{self, ClientInput, Patch, TenantRules};
use super::query::{ClientFilter, ClientOrder, SortField};
use super::{blank, events_for, rules_for, write_row};
use crate::entities::client::{self, BotStatus, ClientSource, PurchaseIntent, SaleStatus};
use crate::entities::client_identity::{self, IdentityKind};
use crate::entities::timeline_event::{self, ActorKind, TimelineKind};
use crate::values::{Email, PhoneE164};
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role, TenantId};
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The columns, in order.
pub const COLUMNS: [&str; 29] = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "street",
    "city",
    "state",
    "zip",
    "country",
    "date_of_birth",
    "external_id",
    "status",
    "purchase_intent",
    "interests",
    "traits",
    "needs",
    "sale_status",
    "funnel_stage",
    "bot_status",
    "sentiment",
    "mystery_shopper",
    "contractor",
    "sensitive",
    "notes",
    "metadata",
    "created_at",
    "last_active_at",
];

const LIST_SEPARATOR: &str = "; ";
const BATCH: usize = 500;
const EXPORT_PAGE: u64 = 1000;

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// One client as a CSV record, in [`COLUMNS`] order.
pub fn to_record(row: &client::Model) -> Vec<String> {
    vec![
        row.id.to_string(),
        opt(&row.first_name),
        opt(&row.last_name),
        opt(&row.email),
        opt(&row.phone),
        opt(&row.company),
        opt(&row.street),
        opt(&row.city),
        opt(&row.state),
        opt(&row.zip),
        opt(&row.country),
        row.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
        opt(&row.external_id),
        row.status.clone(),
        row.purchase_intent
            .map(|i| enum_str(&i))
            .unwrap_or_default(),
        row.interests.0.join(LIST_SEPARATOR),
        row.traits.0.join(LIST_SEPARATOR),
        row.needs.0.join(LIST_SEPARATOR),
        enum_str(&row.sale_status),
        opt(&row.funnel_stage),
        enum_str(&row.bot_status),
        opt(&row.sentiment),
        row.mystery_shopper.to_string(),
        row.contractor.to_string(),
        row.sensitive.to_string(),
        opt(&row.notes),
        if row.metadata.0.is_empty() {
            String::new()
        } else {
            Value::Object(row.metadata.0.clone()).to_string()
        },
        row.created_at.to_rfc3339(),
        row.last_active_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
    ]
}

/// The CSV text of one page of rows (with the header first when asked).
pub fn write_rows(rows: &[client::Model], header: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if header {
        let _ = writer.write_record(COLUMNS);
    }
    for row in rows {
        let _ = writer.write_record(to_record(row));
    }
    writer.into_inner().unwrap_or_default()
}

/// Streams the tenant's clients matching `filter` as CSV, one page of rows at a time, so
/// memory stays flat whatever the size (agents).
pub fn export(
    d: Domain,
    actor: Actor,
    filter: ClientFilter,
) -> DomainResult<impl futures_util::Stream<Item = DomainResult<bytes::Bytes>>> {
    actor.require(Role::Agent)?;
    let order = ClientOrder {
        field: SortField::Created,
        descending: false,
    };
    // (domain, actor, filter, next page's cursor: None = first page, Some(None) = done)
    let state = (d, actor, filter, None::<Option<crate::pagination::Cursor>>);
    Ok(futures_util::stream::try_unfold(
        state,
        move |(d, actor, filter, cursor)| async move {
            let first_page = cursor.is_none();
            let after = match cursor {
                None => None,
                Some(None) => return Ok(None),
                Some(Some(c)) => Some(c),
            };
            let (rows, next) =
                super::query::page_after(&d.db, actor.tenant, &filter, order, after, EXPORT_PAGE)
                    .await?;
            let bytes = bytes::Bytes::from(write_rows(&rows, first_page));
            Ok(Some((bytes, (d, actor, filter, Some(next)))))
        },
    ))
}

/// What an import did, or in a dry run would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub errors: Vec<RowError>,
    pub dry_run: bool,
}

/// A row that could not be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// A parsed row: how to find the client, and what to set.
#[derive(Debug)]
pub struct ImportRow {
    pub line: u64,
    pub id: Option<Uuid>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub input: ClientInput,
}

fn cell<'a>(
    headers: &HashMap<String, usize>,
    record: &'a csv::StringRecord,
    name: &str,
) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|i| record.get(*i))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn parse_enum<T: serde::de::DeserializeOwned>(field: &str, value: &str) -> Result<T, RowError> {
    serde_json::from_value(Value::String(
        value.trim().to_lowercase().replace([' ', '-'], "_"),
    ))
    .map_err(|_| RowError {
        line: 0,
        field: field.to_string(),
        message: format!("{value:?} is not a known value"),
    })
}

fn parse_bool(field: &str, value: &str) -> Result<bool, RowError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "y" => Ok(true),
        "false" | "no" | "0" | "n" => Ok(false),
        _ => Err(RowError {
            line: 0,
            field: field.to_string(),
            message: format!("{value:?} is not true or false"),
        }),
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split([';', '|'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Reads one record (pure). Empty cells mean "keep what is stored".
pub fn parse_record(
    headers: &HashMap<String, usize>,
    record: &csv::StringRecord,
    line: u64,
    rules: &TenantRules,
) -> Result<ImportRow, RowError> {
    let at = |mut e: RowError| {
        e.line = line;
        e
    };
    let get = |name: &'static str| cell(headers, record, name);
    let text =
        |name: &'static str| get(name).map_or(Patch::Keep, |v: &str| Patch::Set(v.to_string()));
    let id = match get("id") {
        Some(v) => Some(Uuid::parse_str(v).map_err(|_| {
            at(RowError {
                line,
                field: "id".into(),
                message: format!("{v:?} is not a client id"),
            })
        })?),
        None => None,
    };
    let email = get("email")
        .map(|v| Email::parse(v).map(Email::into_string))
        .transpose()
        .map_err(|m| {
            at(RowError {
                line,
                field: "email".into(),
                message: m,
            })
        })?;
    let phone = get("phone")
        .map(|v| PhoneE164::parse(v, rules.region).map(PhoneE164::into_string))
        .transpose()
        .map_err(|m| {
            at(RowError {
                line,
                field: "phone".into(),
                message: m,
            })
        })?;
    let date_of_birth = match get("date_of_birth") {
        Some(v) => Patch::Set(NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
            at(RowError {
                line,
                field: "date_of_birth".into(),
                message: format!("{v:?} is not a date (YYYY-MM-DD)"),
            })
        })?),
        None => Patch::Keep,
    };
    let metadata = match get("metadata") {
        Some(v) => match serde_json::from_str::<Value>(v) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(at(RowError {
                    line,
                    field: "metadata".into(),
                    message: "is not a JSON object".into(),
                }));
            }
        },
        None => Default::default(),
    };
    let purchase_intent = match get("purchase_intent") {
        Some(v) => Patch::Set(parse_enum::<PurchaseIntent>("purchase_intent", v).map_err(at)?),
        None => Patch::Keep,
    };
    let sale_status = match get("sale_status") {
        Some(v) => Patch::Set(parse_enum::<SaleStatus>("sale_status", v).map_err(at)?),
        None => Patch::Keep,
    };
    let bot_status = match get("bot_status") {
        Some(v) => Patch::Set(parse_enum::<BotStatus>("bot_status", v).map_err(at)?),
        None => Patch::Keep,
    };
    let flag = |name: &'static str| -> Result<Patch<bool>, RowError> {
        get(name)
            .map(|v| parse_bool(name, v).map(Patch::Set))
            .unwrap_or(Ok(Patch::Keep))
            .map_err(at)
    };
    let input = ClientInput {
        first_name: text("first_name"),
        last_name: text("last_name"),
        email: email.clone().map_or(Patch::Keep, Patch::Set),
        phone: phone.clone().map_or(Patch::Keep, Patch::Set),
        company: text("company"),
        street: text("street"),
        city: text("city"),
        state: text("state"),
        zip: text("zip"),
        country: text("country"),
        date_of_birth,
        notes: text("notes"),
        external_id: text("external_id"),
        status: text("status"),
        purchase_intent,
        interests: get("interests").map_or(Patch::Keep, |v| Patch::Set(list(v))),
        traits: get("traits").map_or(Patch::Keep, |v| Patch::Set(list(v))),
        needs: get("needs").map_or(Patch::Keep, |v| Patch::Set(list(v))),
        sale_status,
        funnel_stage: text("funnel_stage"),
        bot_status,
        sentiment: text("sentiment"),
        mystery_shopper: flag("mystery_shopper")?,
        contractor: flag("contractor")?,
        custom_config: Patch::Keep,
        metadata_set: metadata,
        metadata_remove: Vec::new(),
    };
    Ok(ImportRow {
        line,
        id,
        external_id: get("external_id").map(str::to_string),
        email,
        phone,
        input,
    })
}

/// Maps a field name of the domain (camelCase) to the CSV column that carries it.
fn column_of(field: &str) -> String {
    let mut out = String::new();
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn row_error(line: u64, e: DomainError) -> RowError {
    match e {
        DomainError::Invalid { field, message } => RowError {
            line,
            field: column_of(&field),
            message,
        },
        DomainError::Conflict(message) => RowError {
            line,
            field: message.split(':').next().unwrap_or("row").to_string(),
            message,
        },
        other => RowError {
            line,
            field: "row".into(),
            message: other.to_string(),
        },
    }
}

/// Where a row lands: an existing client, one created earlier in this import, or a new one.
enum Target {
    Existing(Box<client::Model>),
    Pending(usize),
    New,
}

struct Batch {
    /// Clients this batch creates, with their source line.
    new: Vec<(u64, client::Model)>,
    /// Existing clients this batch changes: (before, after, changes).
    updates: Vec<(client::Model, client::Model, Vec<fields::FieldChange>)>,
}

/// Imports CSV `data` into the actor's tenant (admins). Rows are processed in batches of 500;
/// each batch commits on its own, so a failure part-way keeps the batches before it.
pub async fn import(
    d: &Domain,
    actor: &Actor,
    data: impl std::io::Read,
    dry_run: bool,
    mut progress: impl FnMut(u64),
) -> DomainResult<ImportReport> {
    actor.require(Role::Admin)?;
    let rules = rules_for(&d.db, actor.tenant).await?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers: HashMap<String, usize> = reader
        .headers()
        .map_err(|e| DomainError::invalid("file", format!("cannot read the header line: {e}")))?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_lowercase(), i))
        .collect();
    if let Some(unknown) = headers.keys().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(DomainError::invalid(
            "file",
            format!(
                "unknown column {unknown:?}; the columns are those of the export: {}",
                COLUMNS.join(",")
            ),
        ));
    }
    let mut report = ImportReport {
        dry_run,
        ..Default::default()
    };
    // Batch N is written and committed on a task of its own while this one reads and checks
    // the rows of batch N+1 (on SQLite the database works on its own thread, so the two
    // overlap); batch N+1 looks up existing clients only once batch N has committed.
    let mut writing: Option<Write> = None;
    let mut batches: u64 = 0;
    let mut record = csv::StringRecord::new();
    let mut more = true;
    while more {
        let mut rows: Vec<ImportRow> = Vec::with_capacity(BATCH);
        let mut read = Ok(());
        while rows.len() < BATCH {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(true) => {
                    report.rows += 1;
                    match parse_record(&headers, &record, line, &rules) {
                        Ok(row) => rows.push(row),
                        Err(e) => report.errors.push(e),
                    }
                }
                Ok(false) => {
                    more = false;
                    break;
                }
                Err(e) => {
                    read = Err(DomainError::invalid("file", format!("line {line}: {e}")));
                    break;
                }
            }
        }
        if let Some(write) = writing.take() {
            write.landed(d, &mut batches, &mut progress).await?;
        }
        read?;
        if rows.is_empty() {
            continue;
        }
        let rows_so_far = report.rows;
        match import_batch(d, actor, &rules, rows, dry_run, &mut report).await? {
            Some(task) => {
                writing = Some(Write {
                    task,
                    rows: rows_so_far,
                })
            }
            None => progress(rows_so_far),
        }
    }
    if let Some(write) = writing.take() {
        write.landed(d, &mut batches, &mut progress).await?;
    }
    report.errors.sort_by_key(|e| e.line);
    if !dry_run && report.created > 0 {
        // One push per connection for the whole file, not one per row.
        crate::crm::client_created(d, actor.tenant).await;
    }
    Ok(report)
}

/// A batch being written and committed, and the rows read up to its end.
struct Write {
    task: tokio::task::JoinHandle<DomainResult<()>>,
    rows: u64,
}

impl Write {
    /// Waits for the batch to commit, then reports progress (and refreshes statistics now
    /// and then).
    async fn landed(
        self,
        d: &Domain,
        batches: &mut u64,
        progress: &mut impl FnMut(u64),
    ) -> DomainResult<()> {
        self.task.await.map_err(|e| {
            DomainError::Database(sea_orm::DbErr::Custom(format!(
                "writing an import batch failed: {e}"
            )))
        })??;
        *batches += 1;
        if batches.is_power_of_two() {
            refresh_statistics(&d.db).await?;
        }
        progress(self.rows);
        Ok(())
    }
}

/// A large import changes the tables faster than the database's own statistics follow, and
/// the lookups of later batches would then scan instead of using their indexes: refresh them
/// after batches 1, 2, 4, 8... On SQLite the analysis samples at most 1,000 rows per index
/// (`analysis_limit`) instead of reading whole tables, which took seconds late in a large import.
async fn refresh_statistics(db: &impl ConnectionTrait) -> DomainResult<()> {
    let statement = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "ANALYZE clients, client_identities",
        _ => "PRAGMA analysis_limit = 1000; ANALYZE clients; ANALYZE client_identities",
    };
    db.execute_unprepared(statement).await?;
    Ok(())
}

/// Checks a batch's rows against the stored clients and counts the outcome in `report`; unless
/// `dry_run`, returns the task that writes and commits it.
async fn import_batch(
    d: &Domain,
    actor: &Actor,
    rules: &TenantRules,
    rows: Vec<ImportRow>,
    dry_run: bool,
    report: &mut ImportReport,
) -> DomainResult<Option<tokio::task::JoinHandle<DomainResult<()>>>> {
    let tenant = actor.tenant;
    let txn = d.begin_write().await?;
    let existing = lookup(&txn, tenant, &rows).await?;
    let mut batch = Batch {
        new: Vec::new(),
        updates: Vec::new(),
    };
    // Keys of clients created in this batch, so later rows of the same person update them.
    let mut pending_keys: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let keys = row_keys(&row);
        let target = match row.id.and_then(|id| existing.by_id.get(&id)) {
            Some(c) => Target::Existing(Box::new(c.clone())),
            None => keys
                .iter()
                .find_map(|k| {
                    existing
                        .by_key
                        .get(k)
                        .map(|c| Target::Existing(Box::new(c.clone())))
                })
                .or_else(|| {
                    keys.iter()
                        .find_map(|k| pending_keys.get(k).map(|i| Target::Pending(*i)))
                })
                .unwrap_or(Target::New),
        };
        match target {
            Target::Existing(current) => {
                let current = *current;
                // An earlier row of this batch may already have changed it.
                let base = batch
                    .updates
                    .iter()
                    .rev()
                    .find(|(b, _, _)| b.id == current.id)
                    .map(|(_, a, _)| a.clone())
                    .unwrap_or(current.clone());
                match fields::apply_input(&base, row.input, rules).and_then(
                    |(mut next, changes)| {
                        fields::ensure_identifiable(&next)?;
                        fields::refresh_derived(&mut next);
                        check_keys_free(&existing, &next)?;
                        Ok((next, changes))
                    },
                ) {
                    Ok((_, changes)) if changes.is_empty() => report.unchanged += 1,
                    Ok((next, changes)) => {
                        report.updated += 1;
                        batch.updates.retain(|(b, _, _)| b.id != current.id);
                        batch.updates.push((current, next, changes));
                    }
                    Err(e) => report.errors.push(row_error(row.line, e)),
                }
            }
            Target::Pending(i) => {
                let (_, base) = &batch.new[i];
                // Another line for a client created above: fold it in.
                match fields::apply_input(base, row.input, rules) {
                    Ok((mut next, changes)) => {
                        fields::refresh_derived(&mut next);
                        for key in keys {
                            pending_keys.entry(key).or_insert(i);
                        }
                        batch.new[i].1 = next;
                        if changes.is_empty() {
                            report.unchanged += 1;
                        } else {
                            report.updated += 1;
                        }
                    }
                    Err(e) => report.errors.push(row_error(row.line, e)),
                }
            }
            Target::New => {
                let empty = blank(tenant, rules, ClientSource::Import);
                match fields::apply_input(&empty, row.input, rules).and_then(|(mut next, _)| {
                    fields::ensure_identifiable(&next)?;
                    fields::refresh_derived(&mut next);
                    if let Some(id) = row.id {
                        // Keep the id the file names (a client exported from another tenant or
                        // installation), unless it is taken.
                        if !existing.taken_ids.contains(&id) {
                            next.id = id;
                        }
                    }
                    Ok(next)
                }) {
                    Ok(next) => {
                        report.created += 1;
                        for key in keys {
                            pending_keys.insert(key, batch.new.len());
                        }
                        batch.new.push((row.line, next));
                    }
                    Err(e) => report.errors.push(row_error(row.line, e)),
                }
            }
        }
    }
    if dry_run {
        return Ok(None);
    }
    let (d, actor) = (d.clone(), actor.clone());
    Ok(Some(tokio::spawn(async move {
        write_batch(&d, &txn, &actor, batch).await?;
        txn.commit().await?;
        Ok(())
    })))
}

fn row_keys(row: &ImportRow) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(x) = &row.external_id {
        keys.push(format!("x:{}", x.to_lowercase()));
    }
    if let Some(e) = &row.email {
        keys.push(format!("e:{e}"));
    }
    if let Some(p) = &row.phone {
        keys.push(format!("p:{p}"));
    }
    keys
}

#[derive(Default)]
struct Existing {
    by_id: HashMap<Uuid, client::Model>,
    by_key: HashMap<String, client::Model>,
    /// Which client owns each email/phone identity.
    owners: HashMap<String, Uuid>,
    taken_ids: std::collections::HashSet<Uuid>,
}

/// An update may not take an email or phone that belongs to another client.
fn check_keys_free(existing: &Existing, next: &client::Model) -> DomainResult<()> {
    for (field, key) in [
        ("email", next.email.as_ref().map(|e| format!("e:{e}"))),
        ("phone", next.phone.as_ref().map(|p| format!("p:{p}"))),
    ] {
        if let Some(key) = key
            && let Some(owner) = existing.owners.get(&key)
            && *owner != next.id
        {
            return Err(DomainError::Conflict(format!(
                "{field}: another client already has it"
            )));
        }
    }
    Ok(())
}

/// Loads, in a few queries, every existing client a batch's rows may refer to.
async fn lookup(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    rows: &[ImportRow],
) -> DomainResult<Existing> {
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.id).collect();
    let externals: Vec<String> = rows.iter().filter_map(|r| r.external_id.clone()).collect();
    let emails: Vec<String> = rows.iter().filter_map(|r| r.email.clone()).collect();
    let phones: Vec<String> = rows.iter().filter_map(|r| r.phone.clone()).collect();
    let mut out = Existing::default();
    let live = || {
        client::Entity::scoped(tenant)
            .filter(client::Column::DeletedAt.is_null())
            .filter(client::Column::MergedIntoId.is_null())
    };
    if !ids.is_empty() {
        // Any client with these ids, in any tenant, makes the id unusable for a new row.
        let taken: Vec<Uuid> = client::Entity::find()
            .filter(client::Column::Id.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        out.taken_ids.extend(taken);
        for c in live().filter(client::Column::Id.is_in(ids)).all(db).await? {
            out.by_id.insert(c.id, c);
        }
    }
    if !externals.is_empty() {
        for c in live()
            .filter(client::Column::ExternalId.is_in(externals))
            .all(db)
            .await?
        {
            if let Some(x) = &c.external_id {
                out.by_key
                    .entry(format!("x:{}", x.to_lowercase()))
                    .or_insert(c.clone());
            }
        }
    }
    let mut values = emails.clone();
    values.extend(phones.iter().cloned());
    if !values.is_empty() {
        let identities = client_identity::Entity::scoped(tenant)
            .filter(client_identity::Column::Kind.is_in([IdentityKind::Email, IdentityKind::Phone]))
            .filter(client_identity::Column::Platform.eq(""))
            .filter(client_identity::Column::Value.is_in(values))
            .all(db)
            .await?;
        let owner_ids: Vec<Uuid> = identities.iter().map(|i| i.client_id).collect();
        let owners: HashMap<Uuid, client::Model> = live()
            .filter(client::Column::Id.is_in(owner_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        for identity in identities {
            let key = match identity.kind {
                IdentityKind::Email => format!("e:{}", identity.value),
                _ => format!("p:{}", identity.value),
            };
            out.owners.insert(key.clone(), identity.client_id);
            if let Some(c) = owners.get(&identity.client_id) {
                out.by_key.entry(key).or_insert(c.clone());
            }
        }
    }
    Ok(out)
}

async fn write_batch(
    d: &Domain,
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    batch: Batch,
) -> DomainResult<()> {
    let tenant = actor.tenant;
    let now = Utc::now();
    let event = |client: Uuid, kind: TimelineKind, payload: Value| timeline_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        client_id: Set(client),
        kind: Set(kind),
        actor_kind: Set(ActorKind::User),
        actor_id: Set(Some(actor.user_id.clone())),
        actor_name: Set(Some(actor.name.clone())),
        payload: Set(payload),
        occurred_at: Set(now),
    };
    let mut events = Vec::new();
    let mut identities = Vec::new();
    let identity = |client: Uuid, kind: IdentityKind, value: &str| client_identity::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        client_id: Set(client),
        kind: Set(kind),
        platform: Set(String::new()),
        value: Set(value.to_string()),
        is_primary: Set(true),
        verified: Set(false),
        source: Set("import".into()),
        created_at: Set(now),
    };
    if !batch.new.is_empty() {
        let rows: Vec<client::ActiveModel> = batch
            .new
            .iter()
            .map(|(_, c)| c.clone().into_active_model().reset_all())
            .collect();
        for chunk in rows.chunks(200) {
            client::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(txn)
                .await?;
        }
        for (line, c) in &batch.new {
            if let Some(e) = &c.email {
                identities.push(identity(c.id, IdentityKind::Email, e));
            }
            if let Some(p) = &c.phone {
                identities.push(identity(c.id, IdentityKind::Phone, p));
            }
            events.push(event(c.id, TimelineKind::Imported, json!({ "line": line })));
        }
    }
    for (before, after, changes) in &batch.updates {
        write_row(txn, tenant, before, after.clone()).await?;
        super::sync_identities(txn, tenant, Some(before), after, "import").await?;
        for (kind, mut payload) in events_for(changes) {
            payload["import"] = Value::Bool(true);
            events.push(event(after.id, kind, payload));
        }
    }
    for chunk in identities.chunks(500) {
        client_identity::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    for chunk in events.chunks(500) {
        timeline_event::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    for (_, c) in &batch.new {
        d.events.publish(
            tenant,
            DomainEvent::ClientChanged {
                client_id: ClientId(c.id),
            },
        );
    }
    for (_, after, _) in &batch.updates {
        d.events.publish(
            tenant,
            DomainEvent::ClientChanged {
                client_id: ClientId(after.id),
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Region;

    fn rules() -> TenantRules {
        TenantRules {
            region: Region::parse("CA").unwrap(),
            statuses: vec!["new".into(), "active".into()],
            funnel_stages: vec![],
        }
    }

    fn parse(csv_text: &str) -> Vec<Result<ImportRow, RowError>> {
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let headers: HashMap<String, usize> = reader
            .headers()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, h)| (h.to_string(), i))
            .collect();
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut line = 2;
        while reader.read_record(&mut record).unwrap() {
            out.push(parse_record(&headers, &record, line, &rules()));
            line += 1;
        }
        out
    }

    #[test]
    fn an_exported_row_reads_back_as_the_same_values() {
        let mut row = blank(TenantId::new(), &rules(), ClientSource::Manual);
        row.first_name = Some("Ada".into());
        row.email = Some("ada@example.com".into());
        row.phone = Some("+14165551234".into());
        row.interests.0 = vec!["trucks".into(), "vans".into()];
        row.purchase_intent = Some(PurchaseIntent::ReadyToBuy);
        row.metadata.0.insert("plan".into(), json!("gold"));
        let text = String::from_utf8(write_rows(&[row.clone()], true)).unwrap();
        let parsed = parse(&text).pop().unwrap().unwrap();
        assert_eq!(parsed.id, Some(row.id));
        let (back, changes) = fields::apply_input(&row, parsed.input, &rules()).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(back, row);
    }

    #[test]
    fn bad_cells_name_their_line_and_column() {
        let rows = parse(
            "first_name,email,phone,purchase_intent,date_of_birth,mystery_shopper\n\
             Ada,ada@example.com,416 555 1234,ready to buy,1990-01-02,yes\n\
             Bob,not-an-email,,,,\n\
             Cy,,12,,,\n\
             Di,,,someday,,\n\
             Ed,,,,02/01/1990,\n\
             Fi,,,,,maybe\n",
        );
        assert!(rows[0].is_ok());
        let errors: Vec<(u64, String)> = rows
            .into_iter()
            .filter_map(Result::err)
            .map(|e| (e.line, e.field))
            .collect();
        assert_eq!(
            errors,
            [
                (3, "email".to_string()),
                (4, "phone".into()),
                (5, "purchase_intent".into()),
                (6, "date_of_birth".into()),
                (7, "mystery_shopper".into())
            ]
        );
    }

    #[test]
    fn domain_fields_map_to_columns() {
        assert_eq!(column_of("firstName"), "first_name");
        assert_eq!(column_of("traits"), "traits");
        assert_eq!(column_of("dateOfBirth"), "date_of_birth");
    }
}
