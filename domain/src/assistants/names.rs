//! How the assistant should address the person: who the conversation is about (linked,
//! suggested, unknown), how the client's name is known, whether it is missing, and the first
//! name to greet with. Pure functions; [`super::context`] gathers the facts.

use crate::entities::client::{self, ClientSource};
use crate::entities::conversation::{self, Channel, IdentityStatus};
use serde_json::Value;
use uuid::Uuid;

/// Link events of a client read when finding how a conversation was linked.
pub(crate) const LINK_EVENTS_SCANNED: u64 = 500;
/// How the client's name is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameSource {
    /// Extraction created the client from this person's own messages ("my name is ...").
    Extracted,
    /// A client staff entered (or imported), linked to the conversation by hand or found
    /// through an identifier named in the text.
    LinkedClient,
    /// The sender's phone number belongs to the client: the thread was linked automatically.
    MatchedByPhone,
    /// The sender's email, chat session or platform id belongs to the client.
    MatchedByIdentifier,
}

/// What the timeline says about how a conversation came to its client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvidence {
    /// The thread was opened already linked: the sender's identifier belonged to the client.
    OpenedForKnownSender,
    /// The thread was linked later: by extraction (`rule` names its rule) or by staff
    /// (`rule: None`).
    Linked { rule: Option<String> },
    /// No event found (e.g. history merged away).
    Unknown,
}

/// Reads the `conversation_started` payloads of a client (newest first) for `conversation`:
/// `linked: true` marks a later link, with the extraction `rule` when automatic.
pub fn link_evidence<'a>(
    payloads: impl IntoIterator<Item = &'a Value>,
    conversation: Uuid,
) -> LinkEvidence {
    let id = conversation.to_string();
    let Some(event) = payloads
        .into_iter()
        .find(|p| p.get("conversationId").and_then(Value::as_str) == Some(id.as_str()))
    else {
        return LinkEvidence::Unknown;
    };
    if event.get("linked").and_then(Value::as_bool) == Some(true) {
        LinkEvidence::Linked {
            rule: event
                .get("rule")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    } else {
        LinkEvidence::OpenedForKnownSender
    }
}

/// Whom the conversation is about, from its client and its identity check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Linked to this client; `confirmed_match` when the sender's identifier was suggested as
    /// this client and someone confirmed it.
    Linked { client: Uuid, confirmed_match: bool },
    /// Not linked: the sender's identifier belongs to this client, waiting for an answer
    /// ("is this Ada?").
    Suggested(Uuid),
    /// Nobody yet.
    Unknown,
}

pub fn identity(thread: &conversation::Model) -> Identity {
    match (
        thread.client_id,
        thread.identity_status,
        thread.suggested_client_id,
    ) {
        (Some(client), status, suggested) => Identity::Linked {
            client,
            confirmed_match: status == Some(IdentityStatus::Confirmed) && suggested == Some(client),
        },
        (None, Some(IdentityStatus::Suggested), Some(suggested)) => Identity::Suggested(suggested),
        (None, _, _) => Identity::Unknown,
    }
}

/// How a client found through the sender's own identifier is known.
pub fn matched_source(channel: Channel) -> NameSource {
    if phone_channel(channel) {
        NameSource::MatchedByPhone
    } else {
        NameSource::MatchedByIdentifier
    }
}

fn phone_channel(channel: Channel) -> bool {
    matches!(channel, Channel::Sms | Channel::Voice | Channel::Whatsapp)
}

/// How the client's name is known, from how the conversation was linked:
/// - opened for a known sender, or linked by extraction matching a phone (`match.phone`) ->
///   [`NameSource::MatchedByPhone`] (other identifiers: [`NameSource::MatchedByIdentifier`]);
/// - linked by extraction creating the client (`extracted.created`) ->
///   [`NameSource::Extracted`];
/// - linked by hand, or by an email named in the text -> [`NameSource::LinkedClient`], unless
///   the client itself came from extraction ([`NameSource::Extracted`]).
pub fn name_source(evidence: &LinkEvidence, channel: Channel, source: ClientSource) -> NameSource {
    let by_own_record = || match source {
        ClientSource::Extracted => NameSource::Extracted,
        _ => NameSource::LinkedClient,
    };
    match evidence {
        LinkEvidence::OpenedForKnownSender => matched_source(channel),
        LinkEvidence::Linked { rule: Some(rule) } => match rule.as_str() {
            "extracted.created" => NameSource::Extracted,
            "match.phone" => NameSource::MatchedByPhone,
            "match.chat_session" | "match.platform_user" => NameSource::MatchedByIdentifier,
            "match.email" if channel == Channel::Email => NameSource::MatchedByIdentifier,
            _ => by_own_record(),
        },
        LinkEvidence::Linked { rule: None } | LinkEvidence::Unknown => by_own_record(),
    }
}

/// Why the assistant should ask for the person's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameMissing {
    /// Nobody knows who wrote: the first message(s) of an unknown sender.
    UnknownSender,
    /// The client is known but has no first name on record.
    NoNameOnRecord,
}

impl NameMissing {
    pub fn code(self) -> &'static str {
        match self {
            NameMissing::UnknownSender => "UNKNOWN_SENDER",
            NameMissing::NoNameOnRecord => "NO_NAME_ON_RECORD",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            NameMissing::UnknownSender => {
                "The sender is not known yet: ask for their name before using one."
            }
            NameMissing::NoNameOnRecord => {
                "The client has no first name on record: ask for it before using one."
            }
        }
    }
}

/// The client's name as the assistant should use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub first: Option<String>,
    pub last: Option<String>,
    pub full: Option<String>,
    pub source: NameSource,
    /// Whether the identity behind the name is confirmed (false while only suggested).
    pub confirmed: bool,
}

/// Everything about the name: what it is, whether it is missing (and why), and the first name
/// to greet with (only when known and confirmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameKnowledge {
    pub name: Option<Name>,
    pub missing: Option<NameMissing>,
    pub address_as: Option<String>,
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The name of `client` (none = unknown sender) known through `source`; `confirmed` is false
/// while the client is only a suggested match.
pub fn name_knowledge(
    client: Option<&client::Model>,
    source: NameSource,
    confirmed: bool,
) -> NameKnowledge {
    let Some(client) = client else {
        return NameKnowledge {
            name: None,
            missing: Some(NameMissing::UnknownSender),
            address_as: None,
        };
    };
    let first = clean(&client.first_name);
    let last = clean(&client.last_name);
    let full = match (&first, &last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => None,
    };
    let missing = first.is_none().then_some(NameMissing::NoNameOnRecord);
    let address_as = first.clone().filter(|_| confirmed);
    NameKnowledge {
        name: Some(Name {
            first,
            last,
            full,
            source,
            confirmed,
        }),
        missing,
        address_as,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TenantId;
    use chrono::Utc;
    use serde_json::json;

    #[test]
    fn link_evidence_reads_the_conversations_own_event() {
        let me = Uuid::now_v7();
        let other = Uuid::now_v7();
        let opened = json!({ "conversationId": me, "channel": "sms" });
        let staff = json!({ "conversationId": me, "linked": true });
        let extracted =
            json!({ "conversationId": me, "linked": true, "rule": "extracted.created" });
        let elsewhere = json!({ "conversationId": other, "linked": true });
        assert_eq!(
            link_evidence([&elsewhere, &opened], me),
            LinkEvidence::OpenedForKnownSender
        );
        assert_eq!(
            link_evidence([&staff], me),
            LinkEvidence::Linked { rule: None }
        );
        assert_eq!(
            link_evidence([&extracted, &opened], me),
            LinkEvidence::Linked {
                rule: Some("extracted.created".into())
            }
        );
        assert_eq!(link_evidence([&elsewhere], me), LinkEvidence::Unknown);
    }

    #[test]
    fn name_sources_follow_how_the_thread_was_linked() {
        use ClientSource::*;
        let linked = |rule: &str| LinkEvidence::Linked {
            rule: Some(rule.into()),
        };
        assert_eq!(
            name_source(&LinkEvidence::OpenedForKnownSender, Channel::Sms, Manual),
            NameSource::MatchedByPhone
        );
        assert_eq!(
            name_source(&LinkEvidence::OpenedForKnownSender, Channel::Email, Manual),
            NameSource::MatchedByIdentifier
        );
        assert_eq!(
            name_source(&linked("extracted.created"), Channel::Sms, Extracted),
            NameSource::Extracted
        );
        assert_eq!(
            name_source(&linked("match.phone"), Channel::Chat, Manual),
            NameSource::MatchedByPhone
        );
        assert_eq!(
            name_source(&linked("match.email"), Channel::Sms, Manual),
            NameSource::LinkedClient
        );
        assert_eq!(
            name_source(&linked("match.email"), Channel::Sms, Extracted),
            NameSource::Extracted
        );
        assert_eq!(
            name_source(&LinkEvidence::Linked { rule: None }, Channel::Sms, Manual),
            NameSource::LinkedClient
        );
        assert_eq!(
            name_source(&LinkEvidence::Unknown, Channel::Sms, Extracted),
            NameSource::Extracted
        );
    }

    fn thread(
        client: Option<Uuid>,
        status: Option<IdentityStatus>,
        suggested: Option<Uuid>,
    ) -> conversation::Model {
        let now = Utc::now();
        conversation::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            client_id: client,
            channel: Channel::Sms,
            channel_identifier: "+14165550100".into(),
            inbox: None,
            status: conversation::ConversationStatus::Active,
            ai_guide: None,
            sensitivity_override: None,
            contact_name: None,
            assistant_id: None,
            contact_avatar_url: None,
            last_message_at: None,
            suggested_client_id: suggested,
            identity_status: status,
            activity_at: now,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn suggestions_are_not_links_and_confirmed_matches_are_known() {
        let ada = Uuid::now_v7();
        let bob = Uuid::now_v7();
        use IdentityStatus::*;
        assert_eq!(
            identity(&thread(None, Some(Suggested), Some(ada))),
            Identity::Suggested(ada)
        );
        assert_eq!(
            identity(&thread(Some(ada), Some(Confirmed), Some(ada))),
            Identity::Linked {
                client: ada,
                confirmed_match: true
            }
        );
        // Linked by hand to someone else after a confirmation: not a confirmed match.
        assert_eq!(
            identity(&thread(Some(bob), Some(Confirmed), Some(ada))),
            Identity::Linked {
                client: bob,
                confirmed_match: false
            }
        );
        assert_eq!(
            identity(&thread(None, Some(Rejected), None)),
            Identity::Unknown
        );
        assert_eq!(identity(&thread(None, None, None)), Identity::Unknown);
        assert_eq!(matched_source(Channel::Sms), NameSource::MatchedByPhone);
        assert_eq!(
            matched_source(Channel::Email),
            NameSource::MatchedByIdentifier
        );
    }

    fn client(first: Option<&str>, last: Option<&str>) -> client::Model {
        let rules = crate::clients::TenantRules {
            region: crate::values::Region::parse("CA").unwrap(),
            statuses: vec!["new".into()],
            funnel_stages: vec![],
        };
        let mut c = crate::clients::blank(TenantId(Uuid::now_v7()), &rules, ClientSource::Manual);
        c.first_name = first.map(str::to_string);
        c.last_name = last.map(str::to_string);
        c
    }

    #[test]
    fn unknown_senders_and_nameless_clients_miss_a_name() {
        let unknown = name_knowledge(None, NameSource::LinkedClient, true);
        assert_eq!(unknown.missing, Some(NameMissing::UnknownSender));
        assert!(unknown.name.is_none() && unknown.address_as.is_none());
        let nameless = name_knowledge(
            Some(&client(None, Some("  "))),
            NameSource::MatchedByPhone,
            true,
        );
        assert_eq!(nameless.missing, Some(NameMissing::NoNameOnRecord));
        assert_eq!(nameless.name.unwrap().full, None);
    }

    #[test]
    fn known_names_are_addressed_only_when_confirmed() {
        let ada = client(Some(" Ada "), Some("Lovelace"));
        let known = name_knowledge(Some(&ada), NameSource::Extracted, true);
        assert_eq!(known.missing, None);
        assert_eq!(known.address_as.as_deref(), Some("Ada"));
        let name = known.name.unwrap();
        assert_eq!(name.full.as_deref(), Some("Ada Lovelace"));
        assert_eq!(name.source, NameSource::Extracted);
        let unconfirmed = name_knowledge(Some(&ada), NameSource::MatchedByPhone, false);
        assert_eq!(unconfirmed.address_as, None);
        assert!(!unconfirmed.name.unwrap().confirmed);
    }
}
