//! What staff attach to a client: notes (with author), meetings and survey responses. Each
//! change bumps the client's version and writes a timeline event.

use crate::clients::{find_live, write_row};
use crate::entities::timeline_event::TimelineKind;
use crate::entities::{client, client_note, meeting, survey_response};
use crate::timeline::{self, EventActor};
use crate::values::clean_text;
use crate::{Actor, ClientId, Domain, DomainError, DomainEvent, DomainResult, Role};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::{Value, json};
use uuid::Uuid;

const NOTE_MAX: usize = 20_000;

/// Bumps the client's version inside `txn` (a change hung off the client).
async fn touch(
    txn: &DatabaseTransaction,
    actor: &Actor,
    client: ClientId,
) -> DomainResult<client::Model> {
    let current = find_live(txn, actor.tenant, client).await?;
    write_row(txn, actor.tenant, &current, current.clone()).await
}

async fn finish(
    d: &Domain,
    txn: DatabaseTransaction,
    actor: &Actor,
    client: ClientId,
    kind: TimelineKind,
    payload: Value,
) -> DomainResult<()> {
    touch(&txn, actor, client).await?;
    timeline::record(
        &txn,
        actor.tenant,
        client,
        &EventActor::from(actor),
        kind,
        payload,
    )
    .await?;
    txn.commit().await?;
    d.events.publish(
        actor.tenant,
        DomainEvent::ClientChanged { client_id: client },
    );
    Ok(())
}

fn body(value: &str) -> DomainResult<String> {
    clean_text_multiline(value, NOTE_MAX)?
        .ok_or_else(|| DomainError::invalid("body", "is required"))
}

/// Like `clean_text`, but newlines and tabs are welcome in notes.
fn clean_text_multiline(value: &str, max: usize) -> DomainResult<Option<String>> {
    let flattened: String = value
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    clean_text(&flattened, max).map_err(|m| DomainError::invalid("body", m))?;
    let trimmed = value.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
}

pub async fn add_note(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    text: &str,
) -> DomainResult<client_note::Model> {
    actor.require(Role::Agent)?;
    let text = body(text)?;
    let txn = d.begin_write().await?;
    let owner = find_live(&txn, actor.tenant, client).await?;
    let now = Utc::now();
    let note = client_note::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant.0),
        client_id: Set(owner.id),
        author_id: Set(actor.user_id.clone()),
        author_name: Set(actor.name.clone()),
        body: Set(text.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let note = client_note::Entity::insert(note)
        .exec_with_returning(&txn)
        .await?;
    let payload = json!({ "noteId": note.id, "body": text });
    finish(
        d,
        txn,
        actor,
        ClientId(owner.id),
        TimelineKind::NoteAdded,
        payload,
    )
    .await?;
    Ok(note)
}

async fn own_note(
    db: &impl ConnectionTrait,
    actor: &Actor,
    note: Uuid,
) -> DomainResult<client_note::Model> {
    let found = client_note::Entity::scoped(actor.tenant)
        .filter(client_note::Column::Id.eq(note))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("note"))?;
    if found.author_id != actor.user_id && actor.role != Role::Admin {
        return Err(DomainError::Forbidden(
            "only the note's author or an admin can change it".into(),
        ));
    }
    Ok(found)
}

/// Edits a note (its author, or an admin).
pub async fn edit_note(
    d: &Domain,
    actor: &Actor,
    note: Uuid,
    text: &str,
) -> DomainResult<client_note::Model> {
    actor.require(Role::Agent)?;
    let text = body(text)?;
    let txn = d.begin_write().await?;
    let found = own_note(&txn, actor, note).await?;
    if found.body == text {
        return Ok(found);
    }
    let now = Utc::now();
    client_note::Entity::scoped_update(actor.tenant)
        .col_expr(client_note::Column::Body, Expr::value(text.clone()))
        .col_expr(client_note::Column::UpdatedAt, Expr::value(now))
        .filter(client_note::Column::Id.eq(found.id))
        .exec(&txn)
        .await?;
    let updated = client_note::Model {
        body: text.clone(),
        updated_at: now,
        ..found.clone()
    };
    let payload = json!({ "noteId": found.id, "before": found.body, "after": text });
    finish(
        d,
        txn,
        actor,
        ClientId(found.client_id),
        TimelineKind::NoteEdited,
        payload,
    )
    .await?;
    Ok(updated)
}

/// Deletes a note (its author, or an admin).
pub async fn delete_note(d: &Domain, actor: &Actor, note: Uuid) -> DomainResult<()> {
    actor.require(Role::Agent)?;
    let txn = d.begin_write().await?;
    let found = own_note(&txn, actor, note).await?;
    client_note::Entity::scoped_delete(actor.tenant)
        .filter(client_note::Column::Id.eq(found.id))
        .exec(&txn)
        .await?;
    let payload = json!({ "noteId": found.id, "before": found.body });
    finish(
        d,
        txn,
        actor,
        ClientId(found.client_id),
        TimelineKind::NoteDeleted,
        payload,
    )
    .await
}

/// Notes of several clients at once (newest first), for DataLoaders.
pub async fn notes_of(
    d: &Domain,
    tenant: crate::TenantId,
    clients: &[Uuid],
) -> DomainResult<Vec<client_note::Model>> {
    Ok(client_note::Entity::scoped(tenant)
        .filter(client_note::Column::ClientId.is_in(clients.iter().copied()))
        .order_by_desc(client_note::Column::CreatedAt)
        .order_by_desc(client_note::Column::Id)
        .all(&d.db)
        .await?)
}

pub struct NewMeeting {
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub notes: Option<String>,
}

pub async fn add_meeting(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    input: NewMeeting,
) -> DomainResult<meeting::Model> {
    actor.require(Role::Agent)?;
    let title = clean_text(&input.title, 200)
        .map_err(|m| DomainError::invalid("title", m))?
        .ok_or_else(|| DomainError::invalid("title", "is required"))?;
    if let Some(end) = input.ends_at
        && end <= input.starts_at
    {
        return Err(DomainError::invalid("endsAt", "must be after startsAt"));
    }
    let location = match input.location.as_deref() {
        Some(l) => clean_text(l, 200).map_err(|m| DomainError::invalid("location", m))?,
        None => None,
    };
    let notes = match input.notes.as_deref() {
        Some(n) => clean_text_multiline(n, NOTE_MAX).map_err(|_| {
            DomainError::invalid("notes", format!("is longer than {NOTE_MAX} characters"))
        })?,
        None => None,
    };
    let txn = d.begin_write().await?;
    let owner = find_live(&txn, actor.tenant, client).await?;
    let row = meeting::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant.0),
        client_id: Set(owner.id),
        title: Set(title.clone()),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        location: Set(location),
        notes: Set(notes),
        created_by: Set(actor.name.clone()),
        created_at: Set(Utc::now()),
    };
    let row = meeting::Entity::insert(row)
        .exec_with_returning(&txn)
        .await?;
    let payload = json!({ "meetingId": row.id, "title": title, "startsAt": row.starts_at });
    finish(
        d,
        txn,
        actor,
        ClientId(owner.id),
        TimelineKind::Meeting,
        payload,
    )
    .await?;
    Ok(row)
}

/// Meetings of several clients at once (latest first), for DataLoaders.
pub async fn meetings_of(
    d: &Domain,
    tenant: crate::TenantId,
    clients: &[Uuid],
) -> DomainResult<Vec<meeting::Model>> {
    Ok(meeting::Entity::scoped(tenant)
        .filter(meeting::Column::ClientId.is_in(clients.iter().copied()))
        .order_by_desc(meeting::Column::StartsAt)
        .all(&d.db)
        .await?)
}

pub struct NewSurveyResponse {
    pub survey: String,
    pub score: Option<i32>,
    pub answers: Value,
    pub submitted_at: Option<DateTime<Utc>>,
}

pub async fn add_survey_response(
    d: &Domain,
    actor: &Actor,
    client: ClientId,
    input: NewSurveyResponse,
) -> DomainResult<survey_response::Model> {
    actor.require(Role::Agent)?;
    let survey = clean_text(&input.survey, 200)
        .map_err(|m| DomainError::invalid("survey", m))?
        .ok_or_else(|| DomainError::invalid("survey", "is required"))?;
    if !input.answers.is_object() {
        return Err(DomainError::invalid(
            "answers",
            "must be a JSON object of question -> answer",
        ));
    }
    if input.answers.to_string().len() > 64 * 1024 {
        return Err(DomainError::invalid("answers", "is larger than 64 KiB"));
    }
    let txn = d.begin_write().await?;
    let owner = find_live(&txn, actor.tenant, client).await?;
    let now = Utc::now();
    let row = survey_response::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant.0),
        client_id: Set(owner.id),
        survey: Set(survey.clone()),
        score: Set(input.score),
        answers: Set(input.answers),
        submitted_at: Set(input.submitted_at.unwrap_or(now)),
        created_at: Set(now),
    };
    let row = survey_response::Entity::insert(row)
        .exec_with_returning(&txn)
        .await?;
    let payload = json!({ "surveyResponseId": row.id, "survey": survey, "score": row.score });
    finish(
        d,
        txn,
        actor,
        ClientId(owner.id),
        TimelineKind::Survey,
        payload,
    )
    .await?;
    Ok(row)
}

/// Survey responses of several clients at once (latest first), for DataLoaders.
pub async fn surveys_of(
    d: &Domain,
    tenant: crate::TenantId,
    clients: &[Uuid],
) -> DomainResult<Vec<survey_response::Model>> {
    Ok(survey_response::Entity::scoped(tenant)
        .filter(survey_response::Column::ClientId.is_in(clients.iter().copied()))
        .order_by_desc(survey_response::Column::SubmittedAt)
        .all(&d.db)
        .await?)
}
