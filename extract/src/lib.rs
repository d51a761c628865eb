//! Pure text -> contact facts: emails, E.164 phone numbers, person names, companies and
//! postal addresses found in one pass over a message, each with its span and the rule that
//! found it, plus purchase-intent signals and interests from a keyword [`Lexicon`].
//!
//! No IO: the domain crate decides what to do with the facts.
//!
//! ```
//! use clientele_extract::{Extractor, MessageContext, Options, Value};
//! let ex = Extractor::new(Options::default()); // default region: CA
//! let facts = ex.extract("Hi, I'm Ming Li, call me at 4165551234", &MessageContext::default());
//! assert!(facts.iter().any(|f| matches!(&f.value, Value::Phone { e164, .. } if e164 == "+14165551234")));
//! assert!(facts.iter().any(|f| matches!(&f.value, Value::Person { first, .. } if first == "Ming")));
//! ```
//!
//! Spans are **byte** offsets into the UTF-8 text passed to [`Extractor::extract`] and
//! always lie on `char` boundaries, so `&text[fact.span.clone()]` never panics.

mod address;
mod company;
mod email;
mod lexicon;
mod name;
mod names_data;
mod phone;
mod signature;
mod spoken;
mod text;

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

pub use address::{Address, parse_address};
pub use lexicon::{Intent, Lexicon};
pub use phone::{PhoneFinder, PhoneMatch};
/// Re-exported so callers can name regions and load metadata without a direct dependency.
pub use phonenumber;

/// Which extractors run. All are on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enabled {
    pub emails: bool,
    pub phones: bool,
    pub persons: bool,
    pub companies: bool,
    pub addresses: bool,
    /// Purchase intent and interests from the lexicon.
    pub intents: bool,
}

impl Default for Enabled {
    fn default() -> Self {
        Enabled {
            emails: true,
            phones: true,
            persons: true,
            companies: true,
            addresses: true,
            intents: true,
        }
    }
}

/// How an [`Extractor`] is built; per tenant.
#[derive(Debug, Clone)]
pub struct Options {
    /// Region used for phone numbers written without a country code.
    pub default_region: phonenumber::country::Id,
    pub enabled: Enabled,
    pub lexicon: Lexicon,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_region: phonenumber::country::Id::CA,
            enabled: Enabled::default(),
            lexicon: Lexicon::default(),
        }
    }
}

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    /// A speech-to-text transcript: numbers may be spelled in words.
    Voice,
    Chat,
    Web,
    #[default]
    Other,
}

/// Context of one message.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageContext<'a> {
    pub channel: Channel,
    /// The sender's address or number as the channel knows it (e.g. `"a@b.com"`), if any.
    pub sender: Option<&'a str>,
}

/// One fact found in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// Byte range into the message text (on `char` boundaries).
    pub span: Range<usize>,
    /// The rule that found it, e.g. `"intro.my_name_is"`, `"signature"`, `"email"`.
    pub rule: &'static str,
    #[serde(flatten)]
    pub value: Value,
}

/// A typed fact value. Serialises as `{"kind": "...", ...fields}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Value {
    /// Address with its domain lower-cased (the local part is kept as written).
    Email {
        address: String,
    },
    /// E.164 number (`+14165551234`) and the extension, kept apart.
    Phone {
        e164: String,
        extension: Option<String>,
    },
    Person {
        first: String,
        last: Option<String>,
        full: String,
    },
    Company {
        name: String,
    },
    Address(Address),
    Intent {
        intent: Intent,
    },
    Interest {
        topic: String,
    },
}

/// All facts of one message, in order of their start offset.
pub type Facts = Vec<Fact>;

/// A configured extractor: build once per tenant, call [`Extractor::extract`] per message.
/// Cheap to share between threads (`Send + Sync`).
#[derive(Debug)]
pub struct Extractor {
    enabled: Enabled,
    email: email::EmailFinder,
    phone: PhoneFinder,
    spoken: spoken::SpokenFinder,
    name: name::NameFinder,
    signature: signature::SignatureFinder,
    company: company::CompanyFinder,
    address: address::AddressFinder,
    lexicon: lexicon::LexiconMatcher,
}

impl Extractor {
    /// Builds an extractor with the production phone metadata.
    pub fn new(options: Options) -> Self {
        Self::build(options, None)
    }

    /// Builds an extractor that validates phone numbers against `database`
    /// (e.g. libphonenumber's test metadata).
    pub fn with_phone_database(
        options: Options,
        database: Arc<phonenumber::metadata::Database>,
    ) -> Self {
        Self::build(options, Some(database))
    }

    fn build(options: Options, database: Option<Arc<phonenumber::metadata::Database>>) -> Self {
        let phone = PhoneFinder::new(options.default_region, database);
        Extractor {
            enabled: options.enabled,
            email: email::EmailFinder::new(),
            spoken: spoken::SpokenFinder::new(),
            phone,
            name: name::NameFinder::new(),
            signature: signature::SignatureFinder::new(),
            company: company::CompanyFinder::new(),
            address: address::AddressFinder::new(),
            lexicon: lexicon::LexiconMatcher::new(&options.lexicon),
        }
    }

    /// The phone finder, for callers that only need numbers.
    pub fn phones(&self) -> &PhoneFinder {
        &self.phone
    }

    /// Finds every enabled kind of fact in `text`. Never panics; linear in the text length.
    ///
    /// `ctx` is not used by any rule yet: spelled-out numbers are read on every channel,
    /// and the sender is left to the caller's matching (it outranks numbers in the text).
    pub fn extract(&self, text: &str, ctx: &MessageContext<'_>) -> Facts {
        let _ = ctx.channel;
        let mut out = Vec::new();
        let en = &self.enabled;
        if en.emails {
            self.email.find(text, &mut out);
        }
        if en.phones {
            self.phone.find(text, &mut out);
            self.spoken.find(text, &self.phone, &mut out);
        }
        if en.persons {
            self.name.find(text, &mut out);
        }
        if en.persons || en.companies {
            self.signature.find(text, &self.name, en, &mut out);
        }
        if en.companies {
            self.company.find(text, &self.email, &mut out);
        }
        if en.addresses {
            self.address.find(text, &mut out);
        }
        if en.intents {
            self.lexicon.find(text, &mut out);
        }
        dedup(&mut out);
        out
    }
}

/// Sorts by start and drops a fact that overlaps an earlier fact of the same kind
/// (e.g. a spoken-number phone inside a digit phone). Linear after the sort.
fn dedup(facts: &mut Facts) {
    facts.sort_by(|a, b| {
        a.span
            .start
            .cmp(&b.span.start)
            .then(b.span.end.cmp(&a.span.end))
    });
    let mut last_end_by_kind = [0usize; 7];
    facts.retain(|f| {
        let kind = match f.value {
            Value::Email { .. } => 0,
            Value::Phone { .. } => 1,
            Value::Person { .. } => 2,
            Value::Company { .. } => 3,
            Value::Address(_) => 4,
            Value::Intent { .. } => 5,
            Value::Interest { .. } => 6,
        };
        let keep = f.span.start >= last_end_by_kind[kind] || f.span.is_empty();
        if keep {
            last_end_by_kind[kind] = f.span.end;
        }
        keep
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex() -> Extractor {
        Extractor::new(Options::default())
    }

    #[test]
    fn one_pass_finds_everything() {
        let text = "Hi, my name is Sterling Archer from Figgis Agency Inc. \
                    Email sterling@figgis.com or call 416-555-1234. \
                    I'm ready to buy a truck.";
        let facts = ex().extract(text, &MessageContext::default());
        let kinds: Vec<&str> = facts.iter().map(|f| f.rule).collect();
        assert!(
            facts.iter().any(
                |f| matches!(&f.value, Value::Person { full, .. } if full == "Sterling Archer")
            ),
            "{kinds:?}"
        );
        assert!(facts.iter().any(
            |f| matches!(&f.value, Value::Email { address } if address == "sterling@figgis.com")
        ));
        assert!(
            facts
                .iter()
                .any(|f| matches!(&f.value, Value::Phone { e164, .. } if e164 == "+14165551234"))
        );
        assert!(
            facts.iter().any(
                |f| matches!(&f.value, Value::Company { name } if name == "Figgis Agency Inc.")
            ),
            "{facts:?}"
        );
        assert!(facts.iter().any(|f| matches!(
            &f.value,
            Value::Intent {
                intent: Intent::ReadyToBuy
            }
        )));
        assert!(
            facts
                .iter()
                .any(|f| matches!(&f.value, Value::Interest { topic } if topic == "truck"))
        );
        for f in &facts {
            assert!(text.get(f.span.clone()).is_some());
        }
    }

    #[test]
    fn disabled_extractors_do_not_run() {
        let opts = Options {
            enabled: Enabled {
                phones: false,
                ..Enabled::default()
            },
            ..Options::default()
        };
        let facts = Extractor::new(opts).extract("call 416-555-1234", &MessageContext::default());
        assert!(
            facts
                .iter()
                .all(|f| !matches!(f.value, Value::Phone { .. }))
        );
    }

    #[test]
    fn serialises_as_json() {
        let facts = ex().extract("mail me: a@example.org", &MessageContext::default());
        let json = serde_json::to_string(&facts[0]).unwrap_or_default();
        assert!(json.contains("\"kind\":\"email\""), "{json}");
        assert!(json.contains("\"span\":{\"start\":9,\"end\":22}"), "{json}");
    }
}
