//! The pure rules of assistants: what an assistant definition may hold, which assistant answers
//! a conversation, and what the fallback assistant of a channel looks like.

use crate::entities::assistant;
use crate::entities::conversation::Channel;
use crate::{DomainError, DomainResult};
use uuid::Uuid;

pub const NAME_MAX_CHARS: usize = 100;
pub const PROMPT_MAX_CHARS: usize = 20_000;

/// How the assistant answering a conversation was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChosenBy {
    /// Assigned to the conversation by staff.
    Assigned,
    /// The tenant's default for the conversation's channel.
    ChannelDefault,
    /// The channel had no usable assistant: Clientele created one with sensible defaults
    /// (it is the channel's default from then on, and reported as this while it is).
    CreatedDefault,
}

/// The outcome of [`choose`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Use {
        assistant: Uuid,
        by: ChosenBy,
    },
    /// Nothing usable: create (or fetch) the channel's fallback assistant.
    CreateDefault,
}

/// An assistant can answer on `channel`: it is not archived and serves the channel.
pub fn usable(a: &assistant::Model, channel: Channel) -> bool {
    a.archived_at.is_none() && serves(a, channel)
}

pub fn serves(a: &assistant::Model, channel: Channel) -> bool {
    a.channels.0.iter().any(|c| c == channel_name(channel))
}

/// The assistant of a conversation on `channel`: the one assigned to it, else the tenant's
/// default for the channel, else a fallback to create. An assigned or default assistant that
/// is archived, deleted (`None`) or no longer serves the channel is passed over.
pub fn choose(
    channel: Channel,
    assigned: Option<&assistant::Model>,
    channel_default: Option<&assistant::Model>,
) -> Choice {
    if let Some(a) = assigned.filter(|a| usable(a, channel)) {
        return Choice::Use {
            assistant: a.id,
            by: ChosenBy::Assigned,
        };
    }
    if let Some(a) = channel_default.filter(|a| usable(a, channel)) {
        return Choice::Use {
            assistant: a.id,
            by: if a.created_automatically {
                ChosenBy::CreatedDefault
            } else {
                ChosenBy::ChannelDefault
            },
        };
    }
    Choice::CreateDefault
}

/// The channels an assistant serves, in the order it lists them (unknown names skipped).
pub fn served(a: &assistant::Model) -> Vec<Channel> {
    use sea_orm::Iterable;
    a.channels
        .0
        .iter()
        .filter_map(|name| Channel::iter().find(|c| channel_name(*c) == name))
        .collect()
}

/// The `snake_case` name of a channel, as stored in `assistants.channels`.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
        Channel::Chat => "chat",
        Channel::Voice => "voice",
        Channel::Whatsapp => "whatsapp",
        Channel::Telegram => "telegram",
        Channel::Facebook => "facebook",
        Channel::Zalo => "zalo",
        Channel::Web => "web",
    }
}

/// The name of the assistant Clientele creates for a channel without one. Names are unique
/// per tenant, so this name is the key that makes the creation happen once.
pub fn fallback_name(channel: Channel) -> String {
    format!("Default assistant ({})", channel_name(channel))
}

/// The sensible default prompt of a fallback assistant.
pub fn fallback_prompt(channel: Channel, business: &str) -> String {
    let style = match channel {
        Channel::Sms | Channel::Whatsapp => "Keep replies short: one or two sentences, plain text.",
        Channel::Email => "Write a complete, polite email reply with a greeting and a sign-off.",
        Channel::Voice => "Speak in short, clear sentences.",
        _ => "Keep replies brief and friendly.",
    };
    format!(
        "You answer clients of {business} on {}. {style} Greet the client by first name when it \
         is known; if it is not, ask for it politely. Never invent prices, dates or commitments: \
         when unsure, say a colleague will follow up.",
        channel_name(channel)
    )
}

pub fn clean_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "is empty"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("is longer than {NAME_MAX_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

pub fn clean_prompt(prompt: &str) -> DomainResult<String> {
    let prompt = prompt.trim();
    if prompt.is_empty() {
        return Err(DomainError::invalid("systemPrompt", "is empty"));
    }
    if prompt.chars().count() > PROMPT_MAX_CHARS {
        return Err(DomainError::invalid(
            "systemPrompt",
            format!("is longer than {PROMPT_MAX_CHARS} characters"),
        ));
    }
    Ok(prompt.to_string())
}

/// The channels served, deduplicated in the given order; at least one.
pub fn clean_channels(channels: &[Channel]) -> DomainResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in channels {
        let name = channel_name(*c).to_string();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    if out.is_empty() {
        return Err(DomainError::invalid(
            "channels",
            "name at least one channel the assistant serves",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::json::StringList;
    use chrono::Utc;

    fn assistant(channels: &[&str]) -> assistant::Model {
        assistant::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            name: "A".into(),
            system_prompt: "p".into(),
            channels: StringList(channels.iter().map(|c| c.to_string()).collect()),
            created_automatically: false,
            archived_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn assigned_beats_channel_default_beats_created_default() {
        let assigned = assistant(&["sms"]);
        let default = assistant(&["sms"]);
        assert_eq!(
            choose(Channel::Sms, Some(&assigned), Some(&default)),
            Choice::Use {
                assistant: assigned.id,
                by: ChosenBy::Assigned
            }
        );
        assert_eq!(
            choose(Channel::Sms, None, Some(&default)),
            Choice::Use {
                assistant: default.id,
                by: ChosenBy::ChannelDefault
            }
        );
        assert_eq!(choose(Channel::Sms, None, None), Choice::CreateDefault);
    }

    #[test]
    fn an_automatic_default_is_reported_as_created() {
        let mut fallback = assistant(&["sms"]);
        fallback.created_automatically = true;
        assert_eq!(
            choose(Channel::Sms, None, Some(&fallback)),
            Choice::Use {
                assistant: fallback.id,
                by: ChosenBy::CreatedDefault
            }
        );
    }

    #[test]
    fn archived_or_mismatched_assistants_fall_back_along_the_order() {
        let mut archived = assistant(&["sms"]);
        archived.archived_at = Some(Utc::now());
        let email_only = assistant(&["email"]);
        let default = assistant(&["sms", "email"]);
        assert_eq!(
            choose(Channel::Sms, Some(&archived), Some(&default)),
            Choice::Use {
                assistant: default.id,
                by: ChosenBy::ChannelDefault
            }
        );
        assert_eq!(
            choose(Channel::Sms, Some(&email_only), Some(&default)),
            Choice::Use {
                assistant: default.id,
                by: ChosenBy::ChannelDefault
            }
        );
        assert_eq!(
            choose(Channel::Sms, Some(&archived), Some(&archived)),
            Choice::CreateDefault
        );
        assert_eq!(
            choose(Channel::Sms, None, Some(&email_only)),
            Choice::CreateDefault
        );
    }

    #[test]
    fn definitions_are_validated_naming_the_field() {
        assert_eq!(clean_name("  Ava ").unwrap(), "Ava");
        let field = |e: DomainError| match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(clean_name(" ").unwrap_err()), "name");
        assert_eq!(field(clean_name(&"x".repeat(101)).unwrap_err()), "name");
        assert_eq!(field(clean_prompt("").unwrap_err()), "systemPrompt");
        assert_eq!(field(clean_channels(&[]).unwrap_err()), "channels");
        assert_eq!(
            clean_channels(&[Channel::Sms, Channel::Email, Channel::Sms]).unwrap(),
            vec!["sms".to_string(), "email".to_string()]
        );
    }

    #[test]
    fn fallbacks_are_named_per_channel() {
        assert_eq!(fallback_name(Channel::Sms), "Default assistant (sms)");
        assert_ne!(fallback_name(Channel::Sms), fallback_name(Channel::Email));
        assert!(fallback_prompt(Channel::Sms, "Acme").contains("Acme"));
    }

    #[test]
    fn every_channel_name_matches_its_serialised_form() {
        use sea_orm::Iterable;
        for c in Channel::iter() {
            assert_eq!(serde_json::to_value(c).unwrap(), channel_name(c));
        }
    }
}
