//! Settings of the installation itself, shared by every process on the same database.

use crate::DomainResult;
use crate::entities::instance_setting;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

/// Returns the stored value for `key`, storing `generate()` first when there is none. Two
/// processes starting at once agree on one value: the first insert wins.
pub async fn get_or_create(
    db: &impl ConnectionTrait,
    key: &str,
    generate: impl FnOnce() -> String,
) -> DomainResult<String> {
    if let Some(row) = instance_setting::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
    {
        return Ok(row.value);
    }
    let row = instance_setting::ActiveModel {
        key: Set(key.to_string()),
        value: Set(generate()),
        created_at: Set(chrono::Utc::now()),
    };
    instance_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(instance_setting::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let row = instance_setting::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .ok_or_else(|| crate::DomainError::not_found("instance setting"))?;
    Ok(row.value)
}
