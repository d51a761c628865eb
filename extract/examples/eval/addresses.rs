//! usaddress labelled strings: street (number + street name/type/directions), city, state
//! and ZIP compared after normalising case and punctuation, for strings that have the part.

use std::path::Path;

use clientele_extract::parse_address;
use regex::Regex;

fn norm(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '#' || c == '/' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
}

const STREET_TAGS: &[&str] = &[
    "AddressNumber",
    "AddressNumberPrefix",
    "AddressNumberSuffix",
    "StreetNamePreDirectional",
    "StreetNamePreModifier",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
    "StreetNamePostModifier",
];

pub fn run(dir: &Path, verbose: bool) {
    let item = Regex::new(r"(?s)<AddressString>(.*?)</AddressString>").expect("regex");
    let tag = Regex::new(r"(?s)<(\w+)>(.*?)</\w+>").expect("regex");
    // [street, city, state, zip] as (right, total)
    let mut comp = [(0usize, 0usize); 4];
    let (mut all_right, mut all_total) = (0, 0);
    let mut strings = 0;
    for file in [
        "labeled.xml",
        "us50_test_tagged.xml",
        "simple_address_patterns.xml",
        "multi_word_state_addresses.xml",
    ] {
        let raw = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        for m in item.captures_iter(&raw) {
            strings += 1;
            let mut text = String::new();
            let mut parts: [Vec<String>; 4] = Default::default();
            for t in tag.captures_iter(&m[1]) {
                let v = unescape(&t[2]);
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&v);
                let idx = match &t[1] {
                    x if STREET_TAGS.contains(&x) => Some(0),
                    "PlaceName" => Some(1),
                    "StateName" => Some(2),
                    "ZipCode" => Some(3),
                    _ => None,
                };
                if let Some(i) = idx {
                    parts[i].push(v);
                }
            }
            let got = parse_address(&text).unwrap_or_default();
            let mine = [&got.street, &got.city, &got.region, &got.postal_code];
            let mut all = true;
            let mut any = false;
            for i in 0..4 {
                if parts[i].is_empty() {
                    continue;
                }
                any = true;
                let want = norm(&parts[i].join(" "));
                let have = norm(mine[i].as_deref().unwrap_or(""));
                // A state may be written in full: compare codes by also accepting the written form.
                let ok = want == have || (i == 2 && want.len() > 2 && state_matches(&want, &have));
                comp[i].1 += 1;
                if ok {
                    comp[i].0 += 1;
                } else {
                    all = false;
                    if verbose {
                        println!(
                            "  MISS {} want {want:?} got {have:?} in {text:?}",
                            ["street", "city", "state", "zip"][i]
                        );
                    }
                }
            }
            if any {
                all_total += 1;
                if all {
                    all_right += 1;
                }
            }
        }
    }
    println!("\nusaddress_test ({strings} labelled strings; parse_address)");
    for (i, name) in ["street", "city", "state", "ZIP"].iter().enumerate() {
        let (r, t) = comp[i];
        println!(
            "  {name:<7} {r:>4}/{t:<4} = {:.1}%",
            100.0 * r as f64 / t.max(1) as f64
        );
    }
    println!(
        "  all four right: {all_right}/{all_total} = {:.1}% (target >= 95%)",
        100.0 * all_right as f64 / all_total.max(1) as f64
    );
}

/// Our region is a code ("sc"); the label may be "south carolina".
fn state_matches(want: &str, have: &str) -> bool {
    parse_address(&format!("1 Main St, X, {want} 00000"))
        .and_then(|a| a.region)
        .is_some_and(|code| code.to_lowercase() == have)
}
