//! Person names from self-introductions: "my name is", "I'm", "I am", "this is",
//! "it's ... here", "call me". Candidates are validated: capitalised, not a stop word, verb
//! form or nationality, plausible length; a first-name list rescues names that look like
//! words ("Sterling", "Ming", "Li").

use std::collections::HashSet;

use regex::Regex;

use crate::names_data::{DEMONYMS, FIRST_NAMES, PARTICLES, STOP_WORDS, TITLES};
use crate::text::{Word, is_all_caps, is_capitalised, next_word, title_case};
use crate::{Fact, Value};

/// How much a cue says about what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// "my name is": whatever capitalised word follows is meant as a name.
    Strong,
    /// "I'm", "this is", "call me": often followed by adjectives, verbs, places.
    Weak,
    /// "it's X here": needs the closing "here".
    Here,
}

/// Suffixes of words that are usually adjectives or verb forms, not names (unless listed).
const NON_NAME_SUFFIXES: &[&str] = &[
    "ing", "ed", "ly", "ful", "ous", "ive", "able", "ible", "less", "ness", "ish", "ese", "ian",
    "ean", "ic", "al", "ent", "ant", "ary", "ory", "ist", "ism", "ment", "tion", "sion", "ity",
    "'s", "’s", "s'",
];

#[derive(Debug)]
pub struct NameFinder {
    cue: Regex,
    first_names: HashSet<&'static str>,
    stop: HashSet<&'static str>,
    demonyms: HashSet<&'static str>,
}

/// A validated name: its words and span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMatch {
    pub start: usize,
    pub end: usize,
    pub first: String,
    pub last: Option<String>,
    pub full: String,
}

impl NameMatch {
    pub fn into_fact(self, rule: &'static str) -> Fact {
        Fact {
            span: self.start..self.end,
            rule,
            value: Value::Person {
                first: self.first,
                last: self.last,
                full: self.full,
            },
        }
    }
}

impl NameFinder {
    pub fn new() -> Self {
        NameFinder {
            cue: Regex::new(
                r"(?i)\b(?:(my\s+name\s+is|my\s+name's|name\s+is|name's)|(i'm|i’m|i\s+am|this\s+is|(?:every(?:one|body)\s+)?calls?\s+me)|(it's|it’s|it\s+is))\s+",
            )
            .expect("static regex"),
            first_names: FIRST_NAMES.split_whitespace().collect(),
            stop: STOP_WORDS.split_whitespace().collect(),
            demonyms: DEMONYMS.split_whitespace().collect(),
        }
    }

    pub fn is_first_name(&self, w: &str) -> bool {
        self.first_names.contains(w.to_lowercase().as_str())
    }

    pub fn find(&self, text: &str, out: &mut Vec<Fact>) {
        if !text.is_char_boundary(0) {
            return;
        }
        for caps in self.cue.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let (cue, rule) = if caps.get(1).is_some() {
                (Cue::Strong, "intro.my_name_is")
            } else if let Some(c) = caps.get(2) {
                let c = c.as_str().to_lowercase();
                if c.starts_with("this") {
                    if !at_sentence_start(text, whole.start()) {
                        continue;
                    }
                    (Cue::Weak, "intro.this_is")
                } else if c.contains("call") {
                    (Cue::Weak, "intro.call_me")
                } else {
                    (Cue::Weak, "intro.i_am")
                }
            } else {
                (Cue::Here, "intro.its_here")
            };
            if let Some(m) = self.name_at(text, whole.end(), cue) {
                out.push(m.into_fact(rule));
            }
        }
    }

    /// Reads and validates a name starting at byte `from` (after a cue).
    pub fn name_at(&self, text: &str, from: usize, cue: Cue) -> Option<NameMatch> {
        let mut w = next_word(text, from)?;
        if TITLES.contains(&w.text.to_lowercase().as_str()) {
            let after = skip_char(text, w.end, '.');
            w = next_word(text, after)?;
        }
        if !self.valid_first(w.text, cue) {
            return None;
        }
        let mut words: Vec<Word<'_>> = vec![w];
        let mut pos = w.end;
        // Middle initials ("P.") and up to two more capitalised words.
        while words.len() < 4 {
            let rest = text.get(pos..)?;
            // Only spaces (not line breaks or punctuation) may separate parts of a name.
            let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            if gap == 0 {
                break;
            }
            let Some(next) = next_word(text, pos + gap) else {
                break;
            };
            if next.start != pos + gap {
                break;
            }
            let is_initial = next.text.chars().count() == 1
                && is_capitalised(next.text)
                && text.get(next.end..)?.starts_with('.');
            if is_initial {
                words.push(next);
                pos = next.end + 1;
                continue;
            }
            let particle = PARTICLES.contains(&next.text) && {
                let after = next_word(text, next.end);
                after.is_some_and(|a| is_capitalised(a.text) && a.start == next.end + 1)
            };
            if particle || self.valid_last(next.text, w.text) {
                words.push(next);
                pos = next.end;
                if !particle {
                    break;
                }
            } else {
                break;
            }
        }
        // Drop trailing initials / particles that did not lead to a surname.
        while words.len() > 1 {
            let last = words[words.len() - 1];
            if last.text.chars().count() == 1 || PARTICLES.contains(&last.text) {
                words.pop();
            } else {
                break;
            }
        }
        let after = text.get(words[words.len() - 1].end..).unwrap_or("");
        match cue {
            Cue::Here => {
                let a = after.trim_start_matches([' ', ',']);
                if !a.to_lowercase().starts_with("here") {
                    return None;
                }
            }
            // An unknown single word must end the clause ("I'm Rubija, ...", "I'm Rubija.").
            Cue::Weak if words.len() == 1 && !self.is_first_name(w.text) && !ends_clause(after) => {
                return None;
            }
            _ => {}
        }
        let first_w = words[0];
        let last_w = words[words.len() - 1];
        let end = if last_w.text.chars().count() == 1 {
            last_w.end + 1
        } else {
            last_w.end
        };
        let full: Vec<String> = words
            .iter()
            .map(|x| {
                if x.text.chars().count() == 1 {
                    format!("{}.", x.text)
                } else if PARTICLES.contains(&x.text) {
                    x.text.to_string()
                } else {
                    title_case(x.text)
                }
            })
            .collect();
        Some(NameMatch {
            start: first_w.start,
            end,
            first: title_case(first_w.text),
            last: (words.len() > 1).then(|| title_case(last_w.text)),
            full: full.join(" "),
        })
    }

    /// Whether `w` can be a given name after a cue of this strength.
    pub fn valid_first(&self, w: &str, cue: Cue) -> bool {
        let n = w.chars().count();
        if !(2..=20).contains(&n) {
            return false;
        }
        let lower = w.to_lowercase();
        let known = self.first_names.contains(lower.as_str());
        if self.demonyms.contains(lower.as_str()) {
            return false;
        }
        if !is_capitalised(w) {
            return known && cue == Cue::Strong;
        }
        if is_all_caps(w) && !known && cue != Cue::Strong {
            return false;
        }
        if known {
            return true;
        }
        if self.stop.contains(lower.as_str()) {
            return false;
        }
        if cue == Cue::Strong {
            return true;
        }
        !NON_NAME_SUFFIXES.iter().any(|s| lower.ends_with(s))
    }

    /// Whether `w` can be a surname after given name `first`.
    pub fn valid_last(&self, w: &str, first: &str) -> bool {
        let n = w.chars().count();
        if !(2..=25).contains(&n) || !is_capitalised(w) {
            return false;
        }
        if is_all_caps(w) && !is_all_caps(first) {
            return false;
        }
        let lower = w.to_lowercase();
        if lower.ends_with("'s") || lower.ends_with("’s") {
            return false;
        }
        !self.stop.contains(lower.as_str()) && !self.demonyms.contains(lower.as_str())
    }
}

fn skip_char(text: &str, at: usize, c: char) -> usize {
    if text.get(at..).is_some_and(|r| r.starts_with(c)) {
        at + c.len_utf8()
    } else {
        at
    }
}

/// After a name: end of text, punctuation, or a word that cannot continue a name phrase.
fn ends_clause(after: &str) -> bool {
    let a = after.trim_start_matches([' ', '\t']);
    if a.is_empty() || a.starts_with(['\n', '\r', ',', '.', '!', '?', ';', ':', ')', '-', '—', '('])
    {
        return true;
    }
    let lower: String = a.chars().take(12).collect::<String>().to_lowercase();
    [
        "from ",
        "here",
        "and ",
        "with ",
        "at ",
        "calling",
        "speaking",
        "by the way",
    ]
    .iter()
    .any(|w| lower.starts_with(w))
}

/// "This is" counts only at the start of a message or sentence, or after a greeting.
fn at_sentence_start(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t', ',']);
    if before.is_empty() || before.ends_with(['.', '!', '?', '\n', ':', '"']) {
        return true;
    }
    let lower = before.to_lowercase();
    [
        "hi",
        "hello",
        "hey",
        "morning",
        "afternoon",
        "evening",
        "there",
        "yes",
        "yeah",
        "oh",
    ]
    .iter()
    .any(|g| lower.ends_with(g) && !lower[..lower.len() - g.len()].ends_with(char::is_alphanumeric))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, Option<String>, String)> {
        let mut out = Vec::new();
        NameFinder::new().find(text, &mut out);
        out.into_iter()
            .filter_map(|f| match f.value {
                Value::Person { first, last, full } => Some((first, last, full)),
                _ => None,
            })
            .collect()
    }

    fn full(text: &str) -> Vec<String> {
        names(text).into_iter().map(|n| n.2).collect()
    }

    #[test]
    fn self_introductions() {
        assert_eq!(
            names("Hi, my name is Sarah Connor."),
            vec![("Sarah".into(), Some("Connor".into()), "Sarah Connor".into())]
        );
        assert_eq!(full("I'm Sterling, looking for a truck"), vec!["Sterling"]);
        assert_eq!(full("Hello, this is Ming Li from Acme"), vec!["Ming Li"]);
        assert_eq!(full("i am li."), Vec::<String>::new()); // lower-case after a weak cue
        assert_eq!(full("Hey it's Dave here"), vec!["Dave"]);
        assert_eq!(
            full("My name is Vanessa P. Hertzog but everyone calls me Vanessa"),
            vec!["Vanessa P. Hertzog", "Vanessa"]
        );
        assert_eq!(
            full("Hello, this is Mr. John Smith. Who are you?"),
            vec!["John Smith"]
        );
        assert_eq!(full("I'm Rubija, originally from Oslo"), vec!["Rubija"]);
        assert_eq!(full("my name is john"), vec!["John"]);
        assert_eq!(
            full("I am Ludwig van Beethoven"),
            vec!["Ludwig van Beethoven"]
        );
    }

    #[test]
    fn not_names() {
        for t in [
            "I'm looking for a truck",
            "I'm Interested in the blue one",
            "I'm Looking for a truck",
            "I'M LOOKING FOR A TRUCK",
            "I am Finnish but I live in Norway",
            "I'm in Paris, at the conference",
            "I'm so jealous!",
            "I'm glad to hear that",
            "this is a great deal",
            "This is Amazing!",
            "It's Monday",
            "Call me at 4165551234",
            "I'm Sam's brother",
            "I'm Tired.",
            "I'm Back",
            "and I think this is John's car",
        ] {
            assert_eq!(full(t), Vec::<String>::new(), "{t}");
        }
    }

    #[test]
    fn spans_cover_the_name() {
        let t = "My name is Ana López.";
        let mut out = Vec::new();
        NameFinder::new().find(t, &mut out);
        assert_eq!(&t[out[0].span.clone()], "Ana López");
    }
}
