//! Companies: "X Inc./LLC/Ltd" (often after "from/at/with"), and the domain of an email
//! address that is not a free-mail provider.

use regex::Regex;

use crate::email::{EmailFinder, domain_of};
use crate::{Fact, Value};

/// Free-mail and ISP domains (registrable label) that say nothing about an employer.
const FREE_MAIL: &[&str] = &[
    "gmail",
    "googlemail",
    "yahoo",
    "ymail",
    "rocketmail",
    "hotmail",
    "outlook",
    "live",
    "msn",
    "aol",
    "icloud",
    "me",
    "mac",
    "protonmail",
    "proton",
    "pm",
    "gmx",
    "mail",
    "yandex",
    "zoho",
    "qq",
    "163",
    "126",
    "sina",
    "sohu",
    "comcast",
    "verizon",
    "att",
    "sbcglobal",
    "bellsouth",
    "cox",
    "charter",
    "earthlink",
    "juno",
    "shaw",
    "rogers",
    "sympatico",
    "videotron",
    "telus",
    "bell",
    "btinternet",
    "orange",
    "free",
    "web",
    "t-online",
    "libero",
    "laposte",
    "wanadoo",
    "hushmail",
    "fastmail",
    "tutanota",
    "rediffmail",
    "naver",
    "daum",
    "hanmail",
    "seznam",
    "example",
    "test",
    "email",
    "inbox",
    "mailinator",
    "aim",
    "optonline",
    "frontier",
    "windstream",
    "ntlworld",
];

pub(crate) const LEGAL_SUFFIX: &str = r"(?:Inc|Incorporated|LLC|L\.L\.C|Ltd|Limited|Corp|Corporation|Co|Company|GmbH|PLC|plc|LLP|LP|S\.A|SA|AG|NV|BV|Pty\s+Ltd|Holdings|Group)\b\.?";

const LEADING_NOISE: &[&str] = &[
    "from", "at", "with", "for", "of", "and", "by", "to", "in", "work", "joined", "hi", "hello",
    "thanks", "regards",
];

#[derive(Debug)]
pub struct CompanyFinder {
    legal: Regex,
}

impl CompanyFinder {
    pub fn new() -> Self {
        let word = r"(?:[A-Z][\w&'\-]*|&)";
        CompanyFinder {
            legal: Regex::new(&format!(
                r"\b((?:{word}[ \t]+){{0,4}}{word}),?[ \t]+{LEGAL_SUFFIX}"
            ))
            .expect("static regex"),
        }
    }

    /// Legal-suffix companies in `text`, then companies from the email facts already in `out`.
    pub fn find(&self, text: &str, emails: &EmailFinder, out: &mut Vec<Fact>) {
        let mut new = Vec::new();
        for caps in self.legal.captures_iter(text) {
            let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            // Drop leading function words captured because they were capitalised ("From Acme Inc").
            let mut start = name.start();
            let mut rest = name.as_str();
            while let Some((first, tail)) = rest.split_once([' ', '\t']) {
                if LEADING_NOISE.contains(&first.to_lowercase().as_str()) {
                    start += first.len() + 1;
                    rest = tail.trim_start();
                    start += tail.len() - rest.len();
                } else {
                    break;
                }
            }
            if rest.is_empty() || LEADING_NOISE.contains(&rest.to_lowercase().as_str()) {
                continue;
            }
            let mut end = whole.end();
            // Keep "Inc." with its period, but not a sentence-ending period after "Co".
            let full = &text[start..end];
            if full.ends_with('.')
                && !full.ends_with("Inc.")
                && !full.ends_with("Ltd.")
                && !full.ends_with("Corp.")
                && !full.ends_with("Co.")
            {
                end -= 1;
            }
            new.push(Fact {
                span: start..end,
                rule: "company.legal_suffix",
                value: Value::Company {
                    name: text[start..end].to_string(),
                },
            });
        }
        for f in out.iter() {
            let Value::Email { address } = &f.value else {
                continue;
            };
            let Some(domain) = domain_of(address) else {
                continue;
            };
            let Some(label) = emails.registrable_label(domain) else {
                continue;
            };
            if FREE_MAIL.contains(&label) || label.len() < 2 {
                continue;
            }
            let at = text[f.span.clone()]
                .rfind('@')
                .map_or(f.span.start, |i| f.span.start + i + 1);
            new.push(Fact {
                span: at..f.span.end,
                rule: "company.email_domain",
                value: Value::Company {
                    name: crate::text::title_case(label),
                },
            });
        }
        out.extend(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn companies(text: &str) -> Vec<String> {
        let e = EmailFinder::new();
        let mut out = Vec::new();
        e.find(text, &mut out);
        CompanyFinder::new().find(text, &e, &mut out);
        out.into_iter()
            .filter_map(|f| match f.value {
                Value::Company { name } => Some(name),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn legal_suffixes_and_domains() {
        assert_eq!(
            companies("I'm Bob from Acme Widgets Inc. and we need 3 trucks"),
            vec!["Acme Widgets Inc."]
        );
        assert_eq!(
            companies("We work with Blue Sky LLC."),
            vec!["Blue Sky LLC"]
        );
        assert_eq!(
            companies("mail bob@acme-corp.com or bob@gmail.com"),
            vec!["Acme-Corp"]
        );
        assert!(companies("in the Inc. magazine").is_empty());
    }
}
