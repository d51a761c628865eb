//! Email addresses: ASCII local part and a domain whose suffix is a real public suffix
//! (ICANN section of the Public Suffix List) with at least one label before it.

use std::collections::HashSet;

use regex::Regex;

use crate::{Fact, Value};

static SUFFIXES: &str = include_str!("data/public_suffixes.txt");

#[derive(Debug)]
pub struct EmailFinder {
    re: Regex,
    suffixes: HashSet<&'static str>,
}

impl EmailFinder {
    pub fn new() -> Self {
        EmailFinder {
            // Labels cannot start or end with '-', so trailing punctuation never joins.
            re: Regex::new(
                r"(?i)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
            )
            .expect("static regex"),
            suffixes: SUFFIXES
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect(),
        }
    }

    /// True when `domain` (lower case) ends in a public suffix with a label before it.
    pub fn has_public_suffix(&self, domain: &str) -> bool {
        // Walk suffixes from the longest: "a.b.co.uk" tries "b.co.uk", "co.uk", "uk".
        if self.suffixes.contains(domain) {
            return false;
        }
        let mut rest = domain;
        let mut labels_before = 0usize;
        while let Some(dot) = rest.find('.') {
            let candidate = &rest[dot + 1..];
            labels_before += 1;
            if self.suffixes.contains(candidate) {
                return labels_before >= 1 && !rest[..dot].is_empty();
            }
            rest = candidate;
        }
        false
    }

    /// The label just before the public suffix: "mail.acme.co.uk" -> "acme".
    pub fn registrable_label<'d>(&self, domain: &'d str) -> Option<&'d str> {
        let mut prev: Option<&'d str> = None;
        let mut rest = domain;
        loop {
            if self.suffixes.contains(rest) {
                return prev.map(|p| p.split('.').next_back().unwrap_or(p));
            }
            let dot = rest.find('.')?;
            prev = Some(&domain[..domain.len() - rest.len() + dot]);
            rest = &rest[dot + 1..];
        }
    }

    pub fn find(&self, text: &str, out: &mut Vec<Fact>) {
        if !text.contains('@') {
            return;
        }
        for m in self.re.find_iter(text) {
            let mut start = m.start();
            let s = m.as_str();
            // Do not begin on punctuation that is more likely quoting ("'a@b.com", "<a@b.com").
            let trimmed = s.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
            start += s.len() - trimmed.len();
            // The character before must not glue it to a longer token.
            if text[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric())
            {
                continue;
            }
            let Some((local, domain)) = trimmed.rsplit_once('@') else {
                continue;
            };
            if local.is_empty() || local.len() > 64 {
                continue;
            }
            let domain = domain.to_ascii_lowercase();
            if !self.has_public_suffix(&domain) {
                continue;
            }
            // A following letter/digit glued to the match means we stopped inside something odd.
            if text[m.end()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric())
            {
                continue;
            }
            out.push(Fact {
                span: start..m.end(),
                rule: "email",
                value: Value::Email {
                    address: format!("{local}@{domain}"),
                },
            });
        }
    }
}

/// The domain of an email address (lower case), if it has one.
pub fn domain_of(address: &str) -> Option<&str> {
    address.rsplit_once('@').map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        EmailFinder::new().find(text, &mut out);
        out.into_iter()
            .map(|f| match f.value {
                Value::Email { address } => (address, &text[f.span]),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn finds_and_normalises() {
        assert_eq!(
            emails("Mail Jane.Doe@Example.COM."),
            vec![("Jane.Doe@example.com".into(), "Jane.Doe@Example.COM")]
        );
        assert_eq!(
            emails("<bob@mail.co.uk>, thanks"),
            vec![("bob@mail.co.uk".into(), "bob@mail.co.uk")]
        );
        assert_eq!(
            emails("x: a.b+tag@sub.domain.io!")[0].0,
            "a.b+tag@sub.domain.io"
        );
    }

    #[test]
    fn rejects_fake_suffixes_and_handles() {
        assert!(emails("me@localhost or me@server.invalidtld").is_empty());
        assert!(emails("@handle and foo@ and @bar.com").is_empty());
        assert!(emails("someone@co.uk").is_empty()); // a bare public suffix is not a domain
        assert!(emails("v1.2@3").is_empty());
    }

    #[test]
    fn suffix_lookup() {
        let f = EmailFinder::new();
        assert!(f.has_public_suffix("example.com"));
        assert!(f.has_public_suffix("foo.gov.bc.ca") || f.has_public_suffix("gov.bc.ca"));
        assert!(!f.has_public_suffix("com"));
    }
}
