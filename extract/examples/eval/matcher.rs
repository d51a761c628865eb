//! Google's PhoneNumberMatcher cases at VALID leniency: a case whose strictest matching
//! leniency is VALID or stricter must be found whole; IMPOSSIBLE and POSSIBLE-only cases must
//! not be found. Run with the test metadata (Google's expectation) and with production
//! metadata (against python-phonenumbers' production-metadata oracle).

use std::path::Path;
use std::sync::Arc;

use clientele_extract::PhoneFinder;
use clientele_extract::phonenumber::country::Id;
use clientele_extract::phonenumber::metadata::Database;
use serde_json::Value as Json;

fn found_whole(finder: &PhoneFinder, text: &str, start: usize, end: usize) -> bool {
    finder
        .find_all(text)
        .first()
        .is_some_and(|m| m.span.start == start && m.span.end == end)
}

fn is_latin_letter(c: char) -> bool {
    c.is_alphabetic() && (c as u32) < 0x250
}

/// The `phonenumber` loader panics on a descriptor without `nationalNumberPattern` (two
/// `fixedLine`s in the test metadata); give those the territory's general pattern.
fn patch_missing_patterns(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    for (i, block) in xml.split("<territory ").enumerate() {
        if i > 0 {
            out.push_str("<territory ");
        }
        let general = block
            .split_once("<generalDesc>")
            .and_then(|(_, g)| g.split_once("<nationalNumberPattern>"))
            .and_then(|(_, p)| p.split_once("</nationalNumberPattern>"))
            .map(|(p, _)| p.to_string());
        let mut rest = block;
        while let (Some(g), Some((before, after))) = (&general, rest.split_once("<fixedLine>")) {
            out.push_str(before);
            out.push_str("<fixedLine>");
            let body_end = after.find("</fixedLine>").unwrap_or(0);
            if !after[..body_end].contains("nationalNumberPattern") {
                out.push_str(&format!(
                    "<nationalNumberPattern>{g}</nationalNumberPattern>"
                ));
            }
            rest = after;
        }
        out.push_str(rest);
    }
    out
}

pub fn run(dir: &Path, verbose: bool) {
    let raw = std::fs::read_to_string(dir.join("matcher_cases.json")).unwrap_or_default();
    let data: Json = serde_json::from_str(&raw).unwrap_or(Json::Null);
    let xml =
        std::fs::read_to_string(dir.join("PhoneNumberMetadataForTesting.xml")).unwrap_or_default();
    let xml = patch_missing_patterns(&xml);
    let test_db = match std::panic::catch_unwind(|| Database::parse(&xml)) {
        Ok(Ok(db)) => Some(Arc::new(db)),
        other => {
            println!("  cannot load test metadata: {:?}", other.map(|r| r.err()));
            None
        }
    };
    let cases = data["cases"].as_array().cloned().unwrap_or_default();
    println!("\nphonenumbers_matcher_cases (VALID leniency)");
    let mut google = (0, 0);
    let mut oracle = (0, 0);
    let mut valid_numbers: Vec<(String, Id, Arc<Database>)> = Vec::new();
    for c in &cases {
        let text = c["raw"].as_str().unwrap_or("");
        let Ok(region) = c["region"].as_str().unwrap_or("").parse::<Id>() else {
            continue;
        };
        let strictest = c["expected_strictest_leniency_that_matches_TEST_METADATA"].as_str();
        let expect = matches!(
            strictest,
            Some("VALID" | "STRICT_GROUPING" | "EXACT_GROUPING")
        );
        if let Some(db) = &test_db {
            let finder = PhoneFinder::new(region, Some(db.clone()));
            let got = found_whole(&finder, text, 0, text.len());
            google.1 += 1;
            if got == expect {
                google.0 += 1;
            } else if verbose {
                println!(
                    "  MISS test-metadata {text:?} {region:?}: expected {expect}, got {:?}",
                    finder.find_all(text)
                );
            }
            if expect && got {
                valid_numbers.push((text.to_string(), region, db.clone()));
            }
        }
        // Production metadata vs the oracle's VALID matches (whole-string spans, char offsets).
        let oracle_found = c["real_metadata_matches"]["VALID"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let finder = PhoneFinder::new(region, None);
        let got: Vec<(usize, usize)> = finder
            .find_all(text)
            .iter()
            .map(|m| {
                (
                    crate::char_offset(text, m.span.start),
                    crate::char_offset(text, m.span.end),
                )
            })
            .collect();
        let want: Vec<(usize, usize)> = oracle_found
            .iter()
            .map(|m| {
                (
                    m["start"].as_u64().unwrap_or(0) as usize,
                    m["end"].as_u64().unwrap_or(0) as usize,
                )
            })
            .collect();
        oracle.1 += 1;
        if got == want {
            oracle.0 += 1;
        } else if verbose {
            println!("  MISS production {text:?} {region:?}: oracle {want:?}, got {got:?}");
        }
    }
    let pct = |(a, b): (usize, usize)| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "  Google's expectation (test metadata): {}/{} = {:.1}% (target >= 95%)",
        google.0,
        google.1,
        pct(google)
    );
    println!(
        "  production metadata vs oracle:        {}/{} = {:.1}%",
        oracle.0,
        oracle.1,
        pct(oracle)
    );

    // Every VALID-level number inside Google's surrounding texts. At VALID leniency a Latin
    // letter glued to the number rejects it; everything else must give the number as the first match.
    let mut ctx = (0, 0);
    for key in ["contexts_possible", "contexts_valid_only"] {
        for cx in data[key].as_array().cloned().unwrap_or_default() {
            let lead = cx["leading"].as_str().unwrap_or("").replace("\\t", "\t");
            let trail = cx["trailing"].as_str().unwrap_or("").replace("\\t", "\t");
            for (num, region, db) in &valid_numbers {
                let text = format!("{lead}{num}{trail}");
                let glued = lead.chars().next_back().is_some_and(is_latin_letter)
                    && !num.starts_with(['(', '+', '\u{FF0B}', '\u{FF08}'])
                    || trail.chars().next().is_some_and(is_latin_letter);
                let finder = PhoneFinder::new(*region, Some(db.clone()));
                let got = found_whole(&finder, &text, lead.len(), lead.len() + num.len());
                ctx.1 += 1;
                if got != glued {
                    ctx.0 += 1;
                } else if verbose {
                    println!("  MISS context {text:?}: expected found={}", !glued);
                }
            }
        }
    }
    println!(
        "  VALID numbers in Google's contexts:   {}/{} = {:.1}%",
        ctx.0,
        ctx.1,
        pct(ctx)
    );
}
