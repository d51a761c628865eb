//! Phone numbers in free text, at libphonenumber's VALID leniency.
//!
//! The finder follows Google's `PhoneNumberMatcher`: a permissive candidate pattern, then
//! rejection of dates, time stamps and publication pages, bracket checks, a check of the
//! characters around the candidate, inner-match retries, and finally parsing and
//! validation by the `phonenumber` crate. On top of that (our additions): numbers right
//! after "order", "tracking", "invoice", "#" ... are not phones, and E.164 has at most 15
//! digits.

use std::ops::Range;
use std::sync::Arc;

use phonenumber::PhoneNumber;
use phonenumber::country::{Id, Source};
use phonenumber::metadata::{DATABASE, Database};
use regex::Regex;

use crate::{Fact, Value};

/// Characters Google treats as phone punctuation (VALID_PUNCTUATION), as a class body.
const PUNCT: &str = r"\-x\x{2010}-\x{2015}\x{2212}\x{30FC}\x{FF0D}-\x{FF0F} \x{00A0}\x{00AD}\x{200B}\x{2060}\x{3000}()\x{FF08}\x{FF09}\x{FF3B}\x{FF3D}.\[\]/~\x{2053}\x{223C}\x{FF5E}";
const OPENING: &str = r"(\[\x{FF08}\x{FF3B}";
const CLOSING: &str = r")\]\x{FF09}\x{FF3D}";
const PLUS: &str = r"+\x{FF0B}";

/// Words before a number that make it an identifier rather than a phone.
const ID_CUES: &[&str] = &[
    "order",
    "tracking",
    "track",
    "invoice",
    "ref",
    "reference",
    "account",
    "acct",
    "confirmation",
    "conf",
    "po",
    "ticket",
    "case",
    "serial",
    "sku",
    "vin",
    "id",
    "no",
    "number",
    "policy",
    "claim",
    "receipt",
    "transaction",
    "card",
    "iban",
    "routing",
    "isbn",
    "model",
    "part",
];

/// A phone number found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneMatch {
    /// Byte range of the raw number (including any extension) in the text.
    pub span: Range<usize>,
    /// `+` and up to 15 digits.
    pub e164: String,
    pub extension: Option<String>,
}

/// The free-text phone finder. Uses production metadata unless built with a database.
#[derive(Debug)]
pub struct PhoneFinder {
    region: Id,
    database: Option<Arc<Database>>,
    candidate: Regex,
    slash_dates: Regex,
    time_stamp: Regex,
    time_suffix: Regex,
    pub_pages: Regex,
    brackets: Regex,
    second_number: Regex,
    unwanted_end: Regex,
    inner: Vec<Regex>,
    id_cue: Regex,
}

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

impl PhoneFinder {
    /// `database: None` means the production metadata shipped with `phonenumber`.
    pub fn new(region: Id, database: Option<Arc<Database>>) -> Self {
        let punct = format!("[{PUNCT}]{{0,4}}");
        let digits = r"\p{Nd}{1,20}";
        let extn = r"(?:[ \x{00A0}\t,]*(?:e?xt(?:ensi(?:o\x{0301}?|\x{00F3}))?n?|\x{FF45}?\x{FF58}\x{FF54}\x{FF4E}?|\x{0434}\x{043E}\x{0431}|anexo)[:.\x{FF0E}]?[ \x{00A0}\t,-]*\p{Nd}{1,20}#?|[ \x{00A0}\t,]*(?:[x\x{FF58}#\x{FF03}~\x{FF5E}]|int|\x{FF49}\x{FF4E}\x{FF54})[:.\x{FF0E}]?[ \x{00A0}\t,-]*\p{Nd}{1,9}#?|[- ]+\p{Nd}{1,6}#)";
        let candidate = format!(
            r"(?i)(?:[{OPENING}{PLUS}]{punct}){{0,2}}{digits}(?:{punct}{digits}){{0,20}}(?:{extn})?"
        );
        let no_br = format!("[^{OPENING}{CLOSING}]");
        let brackets = format!(
            r"^(?:[{OPENING}])?(?:{no_br}+[{CLOSING}])?{no_br}+(?:[{OPENING}]{no_br}+[{CLOSING}]){{0,3}}{no_br}*$"
        );
        let cues = ID_CUES.join("|");
        PhoneFinder {
            region,
            database,
            candidate: re(&candidate),
            slash_dates: re(r"(?:(?:[0-3]?\d/[01]?\d)|(?:[01]?\d/[0-3]?\d))/(?:[12]\d)?\d{2}"),
            time_stamp: re(r"[12]\d{3}[-/]?[01]\d[-/]?[0-3]\d +[0-2]\d$"),
            time_suffix: re(r"^:[0-5]\d"),
            pub_pages: re(r"\d{1,5}-+\d{1,5}\s{0,4}\(\d{1,4}"),
            brackets: re(&brackets),
            second_number: re(r"[\\/] *x"),
            unwanted_end: re(r"[^\p{N}\p{L}#]+$"),
            inner: vec![
                re(r"/+(.*)"),
                re(r"(\([^(]*)"),
                re(r"(?:\p{Z}-|-\p{Z})\p{Z}*(.+)"),
                re(r"[\x{2012}-\x{2015}\x{FF0D}]\p{Z}*(.+)"),
                re(r"\.+\p{Z}*([^.]+)"),
                re(r"\p{Z}+(\P{Z}+)"),
            ],
            id_cue: re(&format!(
                r"(?i)\b(?:{cues})\.?\s*(?:#|no\.?|number|num\.?)?\s*[:#]?\s*$"
            )),
        }
    }

    fn db(&self) -> &Database {
        self.database.as_deref().unwrap_or(&DATABASE)
    }

    /// Whether the text has enough digits to hold a phone number (cheap prefilter).
    fn worth_scanning(text: &str) -> bool {
        text.chars().filter(|c| c.is_numeric()).take(4).count() >= 4
    }

    /// All phone numbers in `text`, in order.
    pub fn find_all(&self, text: &str) -> Vec<PhoneMatch> {
        let mut found = Vec::new();
        if !Self::worth_scanning(text) {
            return found;
        }
        let mut at = 0;
        let mut tries = 0u32;
        while at < text.len() && tries < 65_535 {
            let Some(m) = self.candidate.find_at(text, at) else {
                break;
            };
            tries += 1;
            let mut cand = m.as_str();
            if let Some(second) = self.second_number.find(cand) {
                cand = &cand[..second.start()];
            }
            let next = (m.start() + cand.len()).max(m.start() + 1);
            match self.extract_match(text, cand, m.start()) {
                Some(pm) => {
                    at = pm.span.end.max(m.start() + 1);
                    found.push(pm);
                }
                None => at = next,
            }
            while !text.is_char_boundary(at) {
                at += 1;
            }
        }
        found
    }

    /// Validates a digit string read from words (voice transcripts) as a whole number.
    pub(crate) fn verify_digits(&self, digits: &str) -> Option<PhoneMatch> {
        self.find_all(digits)
            .into_iter()
            .find(|m| m.span.start == 0 && m.span.end == digits.len())
    }

    pub(crate) fn find(&self, text: &str, out: &mut Vec<Fact>) {
        for pm in self.find_all(text) {
            out.push(Fact {
                span: pm.span,
                rule: "phone",
                value: Value::Phone {
                    e164: pm.e164,
                    extension: pm.extension,
                },
            });
        }
    }

    fn extract_match(&self, text: &str, cand: &str, offset: usize) -> Option<PhoneMatch> {
        if self.slash_dates.is_match(cand) {
            return None;
        }
        if self.time_stamp.is_match(cand) && self.time_suffix.is_match(&text[offset + cand.len()..])
        {
            return None;
        }
        if let Some(pm) = self.parse_and_verify(text, cand, offset) {
            return Some(pm);
        }
        self.extract_inner(text, cand, offset)
    }

    fn trim_end<'t>(&self, s: &'t str) -> &'t str {
        match self.unwanted_end.find(s) {
            Some(m) => &s[..m.start()],
            None => s,
        }
    }

    fn extract_inner(&self, text: &str, cand: &str, offset: usize) -> Option<PhoneMatch> {
        let mut tries = 0;
        for pattern in &self.inner {
            let mut first = true;
            for caps in pattern.captures_iter(cand) {
                if tries > 20 {
                    return None;
                }
                let (Some(whole), Some(group)) = (caps.get(0), caps.get(1)) else {
                    continue;
                };
                if first {
                    first = false;
                    let before = self.trim_end(&cand[..whole.start()]);
                    tries += 1;
                    if let Some(pm) = self.parse_and_verify(text, before, offset) {
                        return Some(pm);
                    }
                }
                let g = self.trim_end(group.as_str());
                tries += 1;
                if let Some(pm) = self.parse_and_verify(text, g, offset + group.start()) {
                    return Some(pm);
                }
            }
        }
        None
    }

    fn parse_and_verify(&self, text: &str, cand: &str, offset: usize) -> Option<PhoneMatch> {
        if cand.is_empty() || !self.brackets.is_match(cand) || self.pub_pages.is_match(cand) {
            return None;
        }
        let end = offset + cand.len();
        let starts_with_lead =
            cand.starts_with(['(', '[', '+', '\u{FF08}', '\u{FF3B}', '\u{FF0B}']);
        if !starts_with_lead
            && text[..offset]
                .chars()
                .next_back()
                .is_some_and(bad_neighbour)
        {
            return None;
        }
        if text[end..].chars().next().is_some_and(bad_neighbour) {
            return None;
        }
        if self
            .id_cue
            .is_match(&text[floor_boundary(text, offset.saturating_sub(30))..offset])
        {
            return None;
        }
        let normalised = normalise(cand)?;
        let db = self.db();
        let number = phonenumber::parse_with(db, Some(self.region), &normalised).ok()?;
        if !phonenumber::is_valid_with(db, &number) {
            return None;
        }
        if !x_chars_ok(&normalised, &number) || !self.national_prefix_ok(&number, &normalised) {
            return None;
        }
        let e164 = e164(&number);
        if e164.len() > 16 {
            return None;
        }
        let extension = number
            .extension()
            .map(|e| e.to_string())
            .filter(|e| !e.is_empty());
        Some(PhoneMatch {
            span: offset..end,
            e164,
            extension,
        })
    }

    /// Google's `isNationalPrefixPresentIfRequired`: a national-format number whose region
    /// always writes the national prefix must have it.
    fn national_prefix_ok(&self, number: &PhoneNumber, raw: &str) -> bool {
        if number.code().source() != Source::Default {
            return true;
        }
        let db = self.db();
        let Some(meta) = db.by_id(self.region.as_ref()) else {
            return true;
        };
        let nsn = national_significant(number);
        let Some(format) = meta.formats().iter().find(|f| {
            f.leading_digits()
                .last()
                .is_none_or(|ld| ld.find(&nsn).is_some_and(|m| m.start() == 0))
                && f.pattern()
                    .find(&nsn)
                    .is_some_and(|m| m.start() == 0 && m.end() == nsn.len())
        }) else {
            return true;
        };
        let Some(rule) = format.national_prefix().filter(|r| !r.is_empty()) else {
            return true;
        };
        if format.is_national_prefix_optional() {
            return true;
        }
        let rule_without_fg = rule.replace("$FG", "");
        if !rule.contains("$NP") && !rule_without_fg.chars().any(|c| c.is_ascii_digit()) {
            // "$FG" / "($FG)": first group only, no prefix needed.
            return true;
        }
        let digits: String = raw
            .split(['x', 'X', 'e'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let Some(prefix) = meta.national_prefix() else {
            return true;
        };
        digits.len() > nsn.len() && digits.starts_with(prefix)
    }
}

/// A Latin letter, '%' or a currency symbol glued to a number means it is not a phone.
fn bad_neighbour(c: char) -> bool {
    let latin = c.is_alphabetic() && ((c as u32) < 0x250 || (0x1E00..0x1F00).contains(&(c as u32)));
    latin || (0x300..0x370).contains(&(c as u32)) || c == '%' || is_currency(c)
}

fn is_currency(c: char) -> bool {
    matches!(
        c,
        '$' | '¢' | '£' | '¤' | '¥' | '₠'..='⃀' | '﹩' | '＄' | '￠' | '￡' | '￥' | '￦'
    )
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The value of a decimal digit in any common script.
pub(crate) fn digit_value(c: char) -> Option<u32> {
    const ZEROS: &[u32] = &[
        0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
        0xE50, 0xED0, 0xF20, 0x1040, 0x17E0, 0x1810, 0xFF10,
    ];
    let cp = c as u32;
    ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&cp))
        .map(|z| cp - z)
}

/// ASCII form for the parser: digits of any script become ASCII, `＋` becomes `+`, other
/// non-ASCII characters become spaces. `None` for a digit we cannot read.
fn normalise(cand: &str) -> Option<String> {
    let mut s = String::with_capacity(cand.len());
    for c in cand.chars() {
        if c.is_numeric() {
            s.push(char::from_digit(digit_value(c)?, 10)?);
        } else if c == '\u{FF0B}' {
            s.push('+');
        } else if c.is_ascii() {
            s.push(c);
        } else if c.is_alphabetic() {
            // Full-width letters (ｅｘｔ): keep ASCII equivalents so extensions still parse.
            match c {
                '\u{FF41}'..='\u{FF5A}' => s.push(char::from_u32(c as u32 - 0xFF41 + 0x61)?),
                _ => s.push(' '),
            }
        } else {
            s.push(' ');
        }
    }
    Some(s)
}

/// Google's `containsOnlyValidXChars`: an 'x' may only introduce the extension (or, doubled,
/// a carrier code).
fn x_chars_ok(raw: &str, number: &PhoneNumber) -> bool {
    let bytes = raw.as_bytes();
    let ext: String = number
        .extension()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'x' || bytes[i] == b'X' {
            if bytes[i + 1] == b'x' || bytes[i + 1] == b'X' {
                i += 2;
                continue;
            }
            let rest: String = raw[i + 1..].chars().filter(char::is_ascii_digit).collect();
            if rest != ext {
                return false;
            }
        }
        i += 1;
    }
    true
}

fn national_significant(number: &PhoneNumber) -> String {
    let n = number.national();
    format!("{}{}", "0".repeat(usize::from(n.zeros())), n.value())
}

fn e164(number: &PhoneNumber) -> String {
    format!("+{}{}", number.code().value(), national_significant(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(region: Id, text: &str) -> Vec<(String, String, Option<String>)> {
        PhoneFinder::new(region, None)
            .find_all(text)
            .into_iter()
            .map(|m| (text[m.span].to_string(), m.e164, m.extension))
            .collect()
    }

    fn one(text: &str) -> Option<String> {
        find(Id::US, text).into_iter().next().map(|(_, e, _)| e)
    }

    #[test]
    fn national_formats_become_e164() {
        assert_eq!(
            find(Id::CA, "4165551234"),
            vec![("4165551234".into(), "+14165551234".into(), None)]
        );
        assert_eq!(
            one("call (650) 253-0000 now").as_deref(),
            Some("+16502530000")
        );
        assert_eq!(one("+44 20 7031 3000").as_deref(), Some("+442070313000"));
        assert_eq!(one("1-650-253-0000.").as_deref(), Some("+16502530000"));
        assert_eq!(find(Id::DE, "Tel 030 1234567")[0].1, "+49301234567");
    }

    #[test]
    fn extensions_are_kept_apart() {
        let f = find(Id::US, "415-666-7777 ext. 503, thanks");
        assert_eq!(
            f,
            vec![(
                "415-666-7777 ext. 503".into(),
                "+14156667777".into(),
                Some("503".into())
            )]
        );
        let f = find(Id::US, "Phone: 713-853-7059 x37059");
        assert_eq!(f[0].2.as_deref(), Some("37059"));
    }

    #[test]
    fn dates_times_prices_and_ids_are_not_phones() {
        for t in [
            "on 03/27/2011 we met",
            "2012-01-02 08:00",
            "It costs $4165551234",
            "Order #4165551234 shipped",
            "tracking number: 6502530000",
            "it was 12345 units",
            "45%6502530000",
            "Total: $650.25 for 2 items",
            "Invoice 4165551234",
            "12/25/2024 at 10:30",
        ] {
            assert_eq!(find(Id::US, t), vec![], "{t}");
        }
    }

    #[test]
    fn letters_glued_to_the_number_reject_it() {
        assert!(find(Id::US, "abc4156667777").is_empty());
        assert!(find(Id::US, "4156667777forme").is_empty());
        assert_eq!(
            one("Hi there, call 415-666-7777 to reach me!").as_deref(),
            Some("+14156667777")
        );
    }

    #[test]
    fn full_width_digits() {
        assert_eq!(
            one("４１５-６６６-７７７７").as_deref(),
            Some("+14156667777")
        );
    }

    #[test]
    fn at_most_15_digits_and_no_panic_on_odd_input() {
        assert!(
            find(Id::US, "+1 415 666 7777 1234 5678 9012")
                .iter()
                .all(|(_, e, _)| e.len() <= 16)
        );
        let _ = find(Id::US, "((((((((((((1111111111))))))))))))");
        let _ = find(Id::US, "٤١٥٦٦٦٧٧٧٧ é 𝟒𝟏𝟓");
    }
}
