//! Purchase intent and interests from a transparent keyword lexicon that a tenant can extend.

use std::collections::HashMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::{Fact, Value};

/// How close a person is to buying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Browsing,
    Comparing,
    ReadyToBuy,
}

/// Keyword phrases (matched case-insensitively on word boundaries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lexicon {
    pub intents: Vec<(String, Intent)>,
    /// Phrase -> interest topic it signals (e.g. "pickup" -> "truck").
    pub interests: Vec<(String, String)>,
}

const INTENTS: &[(&str, Intent)] = &[
    ("just looking", Intent::Browsing),
    ("just browsing", Intent::Browsing),
    ("browsing", Intent::Browsing),
    ("looking for", Intent::Browsing),
    ("curious about", Intent::Browsing),
    ("more info", Intent::Browsing),
    ("more information", Intent::Browsing),
    ("tell me more", Intent::Browsing),
    ("interested in", Intent::Browsing),
    ("thinking about", Intent::Browsing),
    ("compare", Intent::Comparing),
    ("comparing", Intent::Comparing),
    ("comparison", Intent::Comparing),
    ("versus", Intent::Comparing),
    ("vs", Intent::Comparing),
    ("difference between", Intent::Comparing),
    ("better than", Intent::Comparing),
    ("which one", Intent::Comparing),
    ("alternatives", Intent::Comparing),
    ("other options", Intent::Comparing),
    ("shopping around", Intent::Comparing),
    ("quote", Intent::Comparing),
    ("ready to buy", Intent::ReadyToBuy),
    ("ready to purchase", Intent::ReadyToBuy),
    ("want to buy", Intent::ReadyToBuy),
    ("i'll take it", Intent::ReadyToBuy),
    ("i will take it", Intent::ReadyToBuy),
    ("place an order", Intent::ReadyToBuy),
    ("place the order", Intent::ReadyToBuy),
    ("buy now", Intent::ReadyToBuy),
    ("sign me up", Intent::ReadyToBuy),
    ("how do i pay", Intent::ReadyToBuy),
    ("send the invoice", Intent::ReadyToBuy),
    ("book a test drive", Intent::ReadyToBuy),
    ("schedule a demo", Intent::ReadyToBuy),
    ("put down a deposit", Intent::ReadyToBuy),
    ("ready to sign", Intent::ReadyToBuy),
];

const INTERESTS: &[(&str, &str)] = &[
    ("truck", "truck"),
    ("trucks", "truck"),
    ("pickup", "truck"),
    ("suv", "suv"),
    ("suvs", "suv"),
    ("sedan", "sedan"),
    ("minivan", "minivan"),
    ("electric", "electric"),
    ("ev", "electric"),
    ("hybrid", "hybrid"),
    ("financing", "financing"),
    ("finance", "financing"),
    ("loan", "financing"),
    ("lease", "lease"),
    ("leasing", "lease"),
    ("trade-in", "trade_in"),
    ("trade in", "trade_in"),
    ("warranty", "warranty"),
    ("insurance", "insurance"),
    ("mortgage", "mortgage"),
    ("pricing", "pricing"),
    ("price", "pricing"),
    ("demo", "demo"),
    ("trial", "trial"),
    ("subscription", "subscription"),
    ("delivery", "delivery"),
    ("installation", "installation"),
    ("repair", "repair"),
];

impl Default for Lexicon {
    fn default() -> Self {
        Lexicon {
            intents: INTENTS
                .iter()
                .map(|(p, i)| ((*p).to_string(), *i))
                .collect(),
            interests: INTERESTS
                .iter()
                .map(|(p, t)| ((*p).to_string(), (*t).to_string()))
                .collect(),
        }
    }
}

impl Lexicon {
    /// An empty lexicon (no built-in keywords).
    pub fn empty() -> Self {
        Lexicon {
            intents: Vec::new(),
            interests: Vec::new(),
        }
    }

    /// Adds a tenant's intent phrase.
    pub fn with_intent(mut self, phrase: &str, intent: Intent) -> Self {
        self.intents.push((phrase.to_lowercase(), intent));
        self
    }

    /// Adds a tenant's interest phrase and the topic it signals.
    pub fn with_interest(mut self, phrase: &str, topic: &str) -> Self {
        self.interests
            .push((phrase.to_lowercase(), topic.to_string()));
        self
    }
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Intent(Intent),
    Interest(usize),
}

/// The compiled lexicon: one regex over all phrases (the regex crate turns the literal
/// alternation into a linear multi-pattern search).
#[derive(Debug)]
pub struct LexiconMatcher {
    re: Option<Regex>,
    entries: HashMap<String, Entry>,
    topics: Vec<String>,
}

impl LexiconMatcher {
    pub fn new(lex: &Lexicon) -> Self {
        let mut entries = HashMap::new();
        let mut topics = Vec::new();
        for (p, t) in &lex.interests {
            topics.push(t.clone());
            entries.insert(normalise(p), Entry::Interest(topics.len() - 1));
        }
        for (p, i) in &lex.intents {
            entries.insert(normalise(p), Entry::Intent(*i));
        }
        let mut phrases: Vec<&String> = entries.keys().filter(|p| !p.is_empty()).collect();
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let alts: Vec<String> = phrases
            .iter()
            .map(|p| regex::escape(p).replace(' ', r"\s+"))
            .collect();
        let re = (!alts.is_empty())
            .then(|| Regex::new(&format!(r"(?i)\b(?:{})\b", alts.join("|"))).ok())
            .flatten();
        LexiconMatcher {
            re,
            entries,
            topics,
        }
    }

    pub fn find(&self, text: &str, out: &mut Vec<Fact>) {
        let Some(re) = &self.re else { return };
        for m in re.find_iter(text) {
            let key = normalise(m.as_str());
            let value = match self.entries.get(&key) {
                Some(Entry::Intent(i)) => Value::Intent { intent: *i },
                Some(Entry::Interest(t)) => Value::Interest {
                    topic: self.topics[*t].clone(),
                },
                None => continue,
            };
            out.push(Fact {
                span: m.range(),
                rule: "lexicon",
                value,
            });
        }
    }
}

fn normalise(p: &str) -> String {
    p.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace('’', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lex: &Lexicon, text: &str) -> Vec<Value> {
        let mut out = Vec::new();
        LexiconMatcher::new(lex).find(text, &mut out);
        out.into_iter().map(|f| f.value).collect()
    }

    #[test]
    fn built_in_and_tenant_keywords() {
        let v = run(
            &Lexicon::default(),
            "Just browsing, but I want to buy a TRUCK",
        );
        assert!(v.contains(&Value::Intent {
            intent: Intent::Browsing
        }));
        assert!(v.contains(&Value::Intent {
            intent: Intent::ReadyToBuy
        }));
        assert!(v.contains(&Value::Interest {
            topic: "truck".into()
        }));
        let lex = Lexicon::empty()
            .with_interest("F-150", "truck")
            .with_intent("deal me in", Intent::ReadyToBuy);
        let v = run(&lex, "is the f-150 in stock? deal  me in");
        assert_eq!(
            v,
            vec![
                Value::Interest {
                    topic: "truck".into()
                },
                Value::Intent {
                    intent: Intent::ReadyToBuy
                }
            ]
        );
        assert!(run(&Lexicon::empty(), "anything").is_empty());
    }
}
