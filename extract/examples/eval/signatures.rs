//! mailgun_forge: names and phones from signatures. A signature name is right when its first
//! or last name is one of the sender header's name words (or the sender's email local part);
//! a phone found on a "#sig#" line counts as right when its raw text is a conventionally
//! written number (NANP groups, "+..." or an extension), judged by a pattern independent of
//! the finder. Messages without a signature (N/) should give no signature name.

use std::path::Path;

use clientele_extract::{Channel, Extractor, MessageContext, Options, Value};
use regex::Regex;

fn read_pairs(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    names.sort();
    for p in names {
        let s = p.to_string_lossy().to_string();
        if let Some(base) = s.strip_suffix("_body") {
            let body = std::fs::read(&p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let sender = std::fs::read(format!("{base}_sender"))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            out.push((body, sender));
        }
    }
    out
}

pub fn run(dir: &Path, verbose: bool) {
    let opts = Options {
        default_region: clientele_extract::phonenumber::country::Id::US,
        ..Options::default()
    };
    let ex = Extractor::new(opts);
    let ctx = MessageContext {
        channel: Channel::Email,
        sender: None,
    };
    let formatted =
        Regex::new(r"^(?:\+|\(?\d{3}\)?[\s.\-/]*\d{3}[\s.\-]*\d{4}|\d{3}[\s.\-]\d{4}\b)")
            .expect("regex");
    let (mut names, mut names_ok, mut with_name, mut unverifiable) = (0, 0, 0, 0);
    let (mut phones, mut phones_ok, mut sig_phone_lines) = (0, 0, 0);
    let p = read_pairs(&dir.join("dataset/P"));
    for (body, sender) in &p {
        let mut text = String::with_capacity(body.len());
        let mut sig_ranges = Vec::new();
        for line in body.split_inclusive('\n') {
            if let Some(rest) = line.strip_prefix("#sig#") {
                sig_ranges.push((text.len(), text.len() + rest.len()));
                text.push_str(rest);
            } else {
                text.push_str(line);
            }
        }
        let sender_words: Vec<String> = sender
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1)
            .map(str::to_lowercase)
            .collect();
        let mut found = false;
        for f in ex.extract(&text, &ctx) {
            let in_sig = sig_ranges
                .iter()
                .any(|&(a, b)| f.span.start < b && a < f.span.end);
            match &f.value {
                Value::Person { first, last, .. } if f.rule.starts_with("signature") => {
                    // A sender header with a single name word ("Meyers") cannot confirm a
                    // first-name-only signature ("Bert"): count it apart as unverifiable.
                    let header_names = sender
                        .split('<')
                        .next()
                        .unwrap_or("")
                        .split(|c: char| !c.is_alphabetic())
                        .filter(|w| w.len() > 1 && !w.eq_ignore_ascii_case("iii"))
                        .count();
                    if last.is_none() && header_names == 1 && !sender.contains('@') {
                        unverifiable += 1;
                        continue;
                    }
                    names += 1;
                    let ok = sender_words.contains(&first.to_lowercase())
                        || last
                            .as_ref()
                            .is_some_and(|l| sender_words.contains(&l.to_lowercase()));
                    if ok {
                        names_ok += 1;
                        found = true;
                    } else if verbose {
                        println!("  sig name {first:?} {last:?} vs sender {sender:?}");
                    }
                }
                Value::Phone { e164, extension } if in_sig => {
                    phones += 1;
                    let raw = &text[f.span.clone()];
                    if formatted.is_match(raw) || extension.is_some() {
                        phones_ok += 1;
                    } else if verbose {
                        println!("  sig phone {raw:?} -> {e164}");
                    }
                }
                _ => {}
            }
        }
        sig_phone_lines += sig_ranges
            .iter()
            .filter(|&&(a, b)| text[a..b].chars().filter(char::is_ascii_digit).count() >= 7)
            .count();
        if found {
            with_name += 1;
        }
    }
    let n = read_pairs(&dir.join("dataset/N"));
    let mut false_sigs = 0;
    for (body, _) in &n {
        let facts = ex.extract(body, &ctx);
        let bad: Vec<_> = facts
            .iter()
            .filter(|f| f.rule.starts_with("signature"))
            .collect();
        if !bad.is_empty() {
            false_sigs += 1;
            if verbose {
                for b in bad {
                    println!("  N-signature {:?}", &body[b.span.clone()]);
                }
            }
        }
    }
    let r = |a: usize, b: usize| a as f64 / b.max(1) as f64;
    println!(
        "\nmailgun_forge ({} signed, {} unsigned emails; default region US)",
        p.len(),
        n.len()
    );
    println!(
        "  signature names: {names_ok}/{names} right, precision {:.3} (target >= 0.90); sender found in {with_name}/{} = {:.3}",
        r(names_ok, names),
        p.len(),
        r(with_name, p.len())
    );
    println!(
        "  (not counted: {unverifiable} first-name-only signature names whose sender header has a single name word)"
    );
    println!(
        "  signature phones: {phones_ok}/{phones} well-formed, precision {:.3} (target >= 0.90); sig lines with >= 7 digits: {sig_phone_lines}",
        r(phones_ok, phones)
    );
    println!(
        "  unsigned emails with a signature name: {false_sigs}/{}",
        n.len()
    );
}
