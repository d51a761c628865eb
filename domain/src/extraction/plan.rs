//! Pure decisions of matching: which client a message is about, and what its facts may add
//! to that client. No IO: the caller looks up who owns each identifier and applies the plan.

use crate::entities::client::{self, PurchaseIntent};
use crate::entities::client_identity::IdentityKind;
use crate::entities::conversation::Channel;
use clientele_extract::{Fact, Intent, Value};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use uuid::Uuid;

/// Interests kept on a client at most (extraction stops adding beyond this).
pub const MAX_INTERESTS: usize = 50;

/// An identifier a message names: the sender's, or an email or phone found in the text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub kind: IdentityKind,
    /// `""` for emails and phones, the platform for chat sessions and platform users.
    pub platform: String,
    pub value: String,
}

/// A [`Key`] with the rule that produced it, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub key: Key,
    pub rule: String,
}

/// The rule name of the sender's own identifier: it outranks anything found in the text.
pub const SENDER_RULE: &str = "sender";

/// The identifiers a message names, best first: the sender's (on every channel), then emails,
/// then phones from the text. For SMS, voice and WhatsApp the sender's number comes before
/// any number in the text; on email the sender's address before any address in the text.
pub fn candidates(sender: Option<&Key>, facts: &[Fact]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |key: Key, rule: &str| {
        if !out.iter().any(|c| c.key == key) {
            out.push(Candidate {
                key,
                rule: rule.to_string(),
            });
        }
    };
    if let Some(key) = sender {
        push(key.clone(), SENDER_RULE);
    }
    for fact in facts {
        if let Value::Email { address } = &fact.value {
            push(key(IdentityKind::Email, &address.to_lowercase()), fact.rule);
        }
    }
    for fact in facts {
        if let Value::Phone { e164, .. } = &fact.value {
            push(key(IdentityKind::Phone, e164), fact.rule);
        }
    }
    out
}

fn key(kind: IdentityKind, value: &str) -> Key {
    Key {
        kind,
        platform: String::new(),
        value: value.to_string(),
    }
}

/// Which client a message is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The conversation is already linked to this client.
    Linked(Uuid),
    /// An identifier the message names belongs to this client: link the conversation.
    Matched { client: Uuid, rule: String },
    /// Nobody is known by anything the message names, but it names enough to create a
    /// client (a phone, an email or a person's name).
    Create,
    /// Nothing to go on (e.g. "hi" in a web chat): the conversation waits.
    Nothing,
}

/// Picks the client: the linked one, else the owner of the best-ranked candidate that has
/// one, else a new client when the message names a phone, an email or a person.
pub fn choose_target(
    linked: Option<Uuid>,
    candidates: &[Candidate],
    owners: &HashMap<Key, Uuid>,
    facts: &[Fact],
) -> Target {
    if let Some(client) = linked {
        return Target::Linked(client);
    }
    for c in candidates {
        if let Some(owner) = owners.get(&c.key) {
            return Target::Matched {
                client: *owner,
                rule: format!("match.{}", kind_name(c.key.kind)),
            };
        }
    }
    let contactable = candidates
        .iter()
        .any(|c| matches!(c.key.kind, IdentityKind::Email | IdentityKind::Phone));
    let named = facts
        .iter()
        .any(|f| matches!(f.value, Value::Person { .. }));
    if contactable || named {
        Target::Create
    } else {
        Target::Nothing
    }
}

pub fn kind_name(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::Email => "email",
        IdentityKind::Phone => "phone",
        IdentityKind::ChatSession => "chat_session",
        IdentityKind::PlatformUser => "platform_user",
    }
}

/// One field an automatic change set, with the rule that found the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    pub field: &'static str,
    pub before: Json,
    pub after: Json,
    pub rule: String,
}

/// A fact that belongs to another client: evidence for staff, never merged automatically.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub other: Uuid,
    pub key: Key,
    pub rule: String,
}

/// What a message adds to its client.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Enrichment {
    /// The client after the change (blanks filled, intent raised, interests added).
    pub row: Option<client::Model>,
    pub fills: Vec<Fill>,
    /// Identities to add (not primary: the primary email and phone follow the columns).
    pub identities: Vec<Candidate>,
    pub suggestions: Vec<Suggestion>,
}

impl Enrichment {
    pub fn is_empty(&self) -> bool {
        self.fills.is_empty() && self.identities.is_empty() && self.suggestions.is_empty()
    }
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn rank(intent: PurchaseIntent) -> u8 {
    match intent {
        PurchaseIntent::Browsing => 1,
        PurchaseIntent::Comparing => 2,
        PurchaseIntent::ReadyToBuy => 3,
    }
}

pub fn intent_of(intent: Intent) -> PurchaseIntent {
    match intent {
        Intent::Browsing => PurchaseIntent::Browsing,
        Intent::Comparing => PurchaseIntent::Comparing,
        Intent::ReadyToBuy => PurchaseIntent::ReadyToBuy,
    }
}

/// What the facts add to `row` (the target client, or a blank new one) under the rule "fill
/// blanks, never overwrite": names, email, phone, company and the address (only when the
/// whole address is blank) are set only where empty; purchase intent only rises (browsing <
/// comparing < ready to buy); interests are added; unowned emails and phones become
/// identities; identifiers owned by another client become suggestions.
pub fn enrich(
    row: &client::Model,
    candidates: &[Candidate],
    owners: &HashMap<Key, Uuid>,
    facts: &[Fact],
) -> Enrichment {
    let mut next = row.clone();
    let mut out = Enrichment::default();
    let mut fill = |field: &'static str, before: &Option<String>, after: &str, rule: &str| {
        out.fills.push(Fill {
            field,
            before: json!(before),
            after: json!(after),
            rule: rule.to_string(),
        });
    };

    if let Some(f) = facts
        .iter()
        .find(|f| matches!(f.value, Value::Person { .. }))
        && let Value::Person { first, last, .. } = &f.value
    {
        let same_person = next
            .first_name
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(first));
        if blank(&next.first_name) {
            fill("firstName", &next.first_name, first, f.rule);
            next.first_name = Some(first.clone());
        }
        if let Some(last) = last
            && blank(&next.last_name)
            && (same_person || next.first_name.as_deref() == Some(first.as_str()))
        {
            fill("lastName", &next.last_name, last, f.rule);
            next.last_name = Some(last.clone());
        }
    }
    if let Some(f) = facts
        .iter()
        .find(|f| matches!(f.value, Value::Company { .. }))
        && let Value::Company { name } = &f.value
        && blank(&next.company)
    {
        fill("company", &next.company, name, f.rule);
        next.company = Some(name.clone());
    }
    if let Some(f) = facts.iter().find(|f| matches!(f.value, Value::Address(_)))
        && let Value::Address(a) = &f.value
        && [
            &next.street,
            &next.city,
            &next.state,
            &next.zip,
            &next.country,
        ]
        .iter()
        .all(|v| blank(v))
    {
        let street = match (&a.street, &a.unit) {
            (Some(s), Some(u)) => Some(format!("{s}, {u}")),
            (s, _) => s.clone(),
        };
        for (field, slot, value) in [
            ("street", &mut next.street, street),
            ("city", &mut next.city, a.city.clone()),
            ("state", &mut next.state, a.region.clone()),
            ("zip", &mut next.zip, a.postal_code.clone()),
            ("country", &mut next.country, a.country.clone()),
        ] {
            if let Some(value) = value {
                fill(field, slot, &value, f.rule);
                *slot = Some(value);
            }
        }
    }

    // Emails and phones, best first: the first free one fills a blank column (and becomes the
    // primary identity through it); the others free ones are added as identities.
    for c in candidates {
        match owners.get(&c.key) {
            Some(owner) if *owner == row.id => {}
            Some(owner) => out.suggestions.push(Suggestion {
                other: *owner,
                key: c.key.clone(),
                rule: c.rule.clone(),
            }),
            None => {
                let column = match c.key.kind {
                    IdentityKind::Email => Some(("email", &mut next.email)),
                    IdentityKind::Phone => Some(("phone", &mut next.phone)),
                    _ => None,
                };
                match column {
                    Some((field, slot)) if blank(slot) => {
                        fill(field, slot, &c.key.value, &c.rule);
                        *slot = Some(c.key.value.clone());
                    }
                    Some((_, slot)) if slot.as_deref() == Some(c.key.value.as_str()) => {}
                    _ => out.identities.push(c.clone()),
                }
            }
        }
    }

    let strongest = facts
        .iter()
        .filter_map(|f| match f.value {
            Value::Intent { intent } => Some((intent_of(intent), f.rule)),
            _ => None,
        })
        .max_by_key(|(i, _)| rank(*i));
    if let Some((intent, rule)) = strongest
        && next
            .purchase_intent
            .is_none_or(|now| rank(intent) > rank(now))
    {
        out.fills.push(Fill {
            field: "purchaseIntent",
            before: json!(next.purchase_intent),
            after: json!(intent),
            rule: rule.to_string(),
        });
        next.purchase_intent = Some(intent);
    }

    let mut added = Vec::new();
    for f in facts {
        if let Value::Interest { topic } = &f.value
            && next.interests.0.len() < MAX_INTERESTS
            && !next
                .interests
                .0
                .iter()
                .any(|i| i.eq_ignore_ascii_case(topic))
        {
            next.interests.0.push(topic.clone());
            added.push((topic.clone(), f.rule));
        }
    }
    if !added.is_empty() {
        out.fills.push(Fill {
            field: "interests",
            before: json!(row.interests.0),
            after: json!(next.interests.0),
            rule: added.iter().map(|(_, r)| *r).collect::<Vec<_>>().join(","),
        });
    }
    if !out.fills.is_empty() {
        out.row = Some(next);
    }
    out
}

/// The sender's identifier on a channel as an identity key.
pub fn sender_key(channel: Channel, identifier: &str) -> Key {
    Key {
        kind: crate::conversations::identity_kind(channel),
        platform: crate::conversations::platform(channel).to_string(),
        value: identifier.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TenantId;
    use crate::clients::{TenantRules, blank as blank_client};
    use crate::entities::client::ClientSource;
    use crate::values::Region;

    fn fact(rule: &'static str, value: Value) -> Fact {
        Fact {
            span: 0..1,
            rule,
            value,
        }
    }

    fn phone(e164: &str) -> Fact {
        fact(
            "phone",
            Value::Phone {
                e164: e164.into(),
                extension: None,
            },
        )
    }

    fn email(a: &str) -> Fact {
        fact("email", Value::Email { address: a.into() })
    }

    fn person(first: &str, last: Option<&str>) -> Fact {
        fact(
            "intro.my_name_is",
            Value::Person {
                first: first.into(),
                last: last.map(Into::into),
                full: first.into(),
            },
        )
    }

    fn client() -> client::Model {
        let rules = TenantRules {
            region: Region::parse("CA").unwrap(),
            statuses: vec!["new".into()],
            funnel_stages: vec![],
        };
        blank_client(TenantId(Uuid::now_v7()), &rules, ClientSource::Manual)
    }

    fn sms_sender(n: &str) -> Key {
        sender_key(Channel::Sms, n)
    }

    #[test]
    fn the_senders_number_outranks_numbers_in_the_text() {
        let facts = [phone("+14165550001")];
        let c = candidates(Some(&sms_sender("+14165550002")), &facts);
        assert_eq!(c[0].key.value, "+14165550002");
        assert_eq!(c[0].rule, SENDER_RULE);
        assert_eq!(c[1].key.value, "+14165550001");
        // The number in the text belongs to Ada, the sender to Bob: the message is Bob's.
        let (ada, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let owners = HashMap::from([(c[1].key.clone(), ada), (c[0].key.clone(), bob)]);
        assert_eq!(
            choose_target(None, &c, &owners, &facts),
            Target::Matched {
                client: bob,
                rule: "match.phone".into()
            }
        );
    }

    #[test]
    fn an_email_in_the_text_matches_when_the_sender_is_unknown() {
        let facts = [email("Ada@Example.com")];
        let c = candidates(Some(&sms_sender("+14165550002")), &facts);
        let ada = Uuid::now_v7();
        let owners = HashMap::from([(key(IdentityKind::Email, "ada@example.com"), ada)]);
        assert_eq!(
            choose_target(None, &c, &owners, &facts),
            Target::Matched {
                client: ada,
                rule: "match.email".into()
            }
        );
    }

    #[test]
    fn a_linked_conversation_keeps_its_client() {
        let linked = Uuid::now_v7();
        let facts = [email("a@example.com")];
        let c = candidates(None, &facts);
        let owners = HashMap::from([(c[0].key.clone(), Uuid::now_v7())]);
        assert_eq!(
            choose_target(Some(linked), &c, &owners, &facts),
            Target::Linked(linked)
        );
    }

    #[test]
    fn creates_only_with_a_phone_an_email_or_a_name() {
        let chat = sender_key(Channel::Web, "session-1");
        let none: [Fact; 0] = [];
        let c = candidates(Some(&chat), &none);
        assert_eq!(
            choose_target(None, &c, &HashMap::new(), &none),
            Target::Nothing
        );
        let named = [person("Ada", None)];
        assert_eq!(
            choose_target(None, &c, &HashMap::new(), &named),
            Target::Create
        );
        let sms = candidates(Some(&sms_sender("+14165550002")), &none);
        assert_eq!(
            choose_target(None, &sms, &HashMap::new(), &none),
            Target::Create
        );
    }

    #[test]
    fn fills_blanks_and_never_overwrites_what_a_person_entered() {
        let mut row = client();
        row.first_name = Some("Adelaide".into());
        row.email = Some("ada@work.example".into());
        let facts = [
            person("Ada", Some("Lovelace")),
            email("ada@home.example"),
            fact(
                "company.suffix",
                Value::Company {
                    name: "Analytical Ltd".into(),
                },
            ),
        ];
        let c = candidates(None, &facts);
        let e = enrich(&row, &c, &HashMap::new(), &facts);
        let next = e.row.unwrap();
        assert_eq!(next.first_name.as_deref(), Some("Adelaide"));
        // A last name from someone called Ada is not Adelaide's last name.
        assert_eq!(next.last_name, None);
        assert_eq!(next.email.as_deref(), Some("ada@work.example"));
        assert_eq!(next.company.as_deref(), Some("Analytical Ltd"));
        // The second address is kept as an identity.
        assert_eq!(e.identities.len(), 1);
        assert_eq!(e.identities[0].key.value, "ada@home.example");
        assert!(e.fills.iter().all(|f| f.field == "company"));
    }

    #[test]
    fn a_new_client_gets_the_senders_number_as_its_phone() {
        let row = client();
        let facts = [phone("+14165550001"), person("Ming", Some("Li"))];
        let c = candidates(Some(&sms_sender("+14165550002")), &facts);
        let e = enrich(&row, &c, &HashMap::new(), &facts);
        let next = e.row.unwrap();
        assert_eq!(next.phone.as_deref(), Some("+14165550002"));
        assert_eq!(next.first_name.as_deref(), Some("Ming"));
        assert_eq!(next.last_name.as_deref(), Some("Li"));
        assert_eq!(e.identities[0].key.value, "+14165550001");
        let phone_fill = e.fills.iter().find(|f| f.field == "phone").unwrap();
        assert_eq!(phone_fill.rule, SENDER_RULE);
    }

    #[test]
    fn a_fact_owned_by_another_client_becomes_a_suggestion() {
        let row = client();
        let other = Uuid::now_v7();
        let facts = [email("bob@example.com")];
        let c = candidates(None, &facts);
        let owners = HashMap::from([(c[0].key.clone(), other)]);
        let e = enrich(&row, &c, &owners, &facts);
        assert!(e.row.is_none());
        assert_eq!(e.suggestions.len(), 1);
        assert_eq!(e.suggestions[0].other, other);
        assert!(e.identities.is_empty());
    }

    #[test]
    fn intent_only_rises() {
        let mut row = client();
        row.purchase_intent = Some(PurchaseIntent::Comparing);
        let browse = [fact(
            "lexicon.browsing",
            Value::Intent {
                intent: Intent::Browsing,
            },
        )];
        assert!(enrich(&row, &[], &HashMap::new(), &browse).row.is_none());
        let ready = [fact(
            "lexicon.ready_to_buy",
            Value::Intent {
                intent: Intent::ReadyToBuy,
            },
        )];
        let e = enrich(&row, &[], &HashMap::new(), &ready);
        assert_eq!(
            e.row.unwrap().purchase_intent,
            Some(PurchaseIntent::ReadyToBuy)
        );
        assert_eq!(e.fills[0].field, "purchaseIntent");
        assert_eq!(e.fills[0].rule, "lexicon.ready_to_buy");
    }

    #[test]
    fn interests_are_added_once() {
        let mut row = client();
        row.interests.0.push("Trucks".into());
        let facts = [
            fact(
                "lexicon.interest",
                Value::Interest {
                    topic: "trucks".into(),
                },
            ),
            fact(
                "lexicon.interest",
                Value::Interest {
                    topic: "financing".into(),
                },
            ),
        ];
        let e = enrich(&row, &[], &HashMap::new(), &facts);
        assert_eq!(e.row.unwrap().interests.0, vec!["Trucks", "financing"]);
    }

    #[test]
    fn an_address_fills_only_a_blank_address() {
        let addr = fact(
            "address.us_ca",
            Value::Address(clientele_extract::Address {
                street: Some("431 Main St".into()),
                unit: Some("Apt 4".into()),
                city: Some("Toronto".into()),
                region: Some("ON".into()),
                postal_code: Some("M5V 2T6".into()),
                country: Some("CA".into()),
            }),
        );
        let e = enrich(&client(), &[], &HashMap::new(), std::slice::from_ref(&addr));
        let next = e.row.unwrap();
        assert_eq!(next.street.as_deref(), Some("431 Main St, Apt 4"));
        assert_eq!(next.zip.as_deref(), Some("M5V 2T6"));
        let mut row = client();
        row.city = Some("Ottawa".into());
        assert!(enrich(&row, &[], &HashMap::new(), &[addr]).row.is_none());
    }
}
