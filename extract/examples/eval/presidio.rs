//! presidio_synth: span-level precision/recall per entity type. A predicted span counts as
//! correct when it overlaps a gold span of the same type (the data's spans are char offsets).

use std::path::Path;

use clientele_extract::{Extractor, MessageContext, Options, Value};
use serde_json::Value as Json;

use crate::{Score, char_offset};

const TYPES: &[(&str, &str)] = &[
    ("EMAIL_ADDRESS", "email"),
    ("PHONE_NUMBER", "phone"),
    ("PERSON", "person"),
    ("STREET_ADDRESS", "address"),
    ("ORGANIZATION", "company"),
];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Email { .. } => "email",
        Value::Phone { .. } => "phone",
        Value::Person { .. } => "person",
        Value::Address(_) => "address",
        Value::Company { .. } => "company",
        _ => "other",
    }
}

pub fn run(dir: &Path, verbose: bool) {
    let raw = std::fs::read_to_string(dir.join("synth_dataset_v2.json")).unwrap_or_default();
    let data: Json = serde_json::from_str(&raw).unwrap_or(Json::Null);
    let Some(records) = data.as_array() else {
        println!("presidio_synth: cannot read");
        return;
    };
    let opts = Options {
        default_region: clientele_extract::phonenumber::country::Id::US,
        ..Options::default()
    };
    let ex = Extractor::new(opts);
    let mut scores = vec![Score::default(); TYPES.len()];
    let mut exact_email = Score::default();
    for r in records {
        let text = r["full_text"].as_str().unwrap_or("");
        let facts = ex.extract(text, &MessageContext::default());
        let gold: Vec<(&str, usize, usize)> = r["spans"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["entity_type"].as_str().unwrap_or(""),
                            s["start_position"].as_u64().unwrap_or(0) as usize,
                            s["end_position"].as_u64().unwrap_or(0) as usize,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let pred: Vec<(&str, usize, usize, &clientele_extract::Fact)> = facts
            .iter()
            .map(|f| {
                (
                    kind(&f.value),
                    char_offset(text, f.span.start),
                    char_offset(text, f.span.end),
                    f,
                )
            })
            .collect();
        for (i, (gtype, ptype)) in TYPES.iter().enumerate() {
            let g: Vec<_> = gold.iter().filter(|x| x.0 == *gtype).collect();
            let p: Vec<_> = pred.iter().filter(|x| x.0 == *ptype).collect();
            let s = &mut scores[i];
            s.gold += g.len();
            s.pred += p.len();
            for gs in &g {
                if p.iter().any(|ps| ps.1 < gs.2 && gs.1 < ps.2) {
                    s.tp_gold += 1;
                }
            }
            for ps in &p {
                let ok = g.iter().any(|gs| ps.1 < gs.2 && gs.1 < ps.2);
                if ok {
                    s.tp_pred += 1;
                } else if verbose {
                    println!("  FP {ptype}: {:?} in {:?}", &text[ps.3.span.clone()], text);
                }
                if *ptype == "email" {
                    exact_email.pred += 1;
                    if g.iter().any(|gs| ps.1 == gs.1 && ps.2 == gs.2) {
                        exact_email.tp_pred += 1;
                    }
                }
            }
            if verbose && (*ptype == "person" || *ptype == "phone") {
                for gs in &g {
                    if !p.iter().any(|ps| ps.1 < gs.2 && gs.1 < ps.2) {
                        let v: String = text.chars().skip(gs.1).take(gs.2 - gs.1).collect();
                        println!("  FN {ptype}: {v:?} in {text:?}");
                    }
                }
            }
        }
        exact_email.gold += gold.iter().filter(|x| x.0 == "EMAIL_ADDRESS").count();
    }
    exact_email.tp_gold = exact_email.tp_pred;
    println!(
        "\npresidio_synth ({} sentences, default region US; overlap match)",
        records.len()
    );
    println!(
        "  {:<16} {:>6} {:>6} {:>9} {:>7}",
        "entity", "gold", "pred", "precision", "recall"
    );
    for (i, (gtype, _)) in TYPES.iter().enumerate() {
        let s = scores[i];
        println!(
            "  {:<16} {:>6} {:>6} {:>9.3} {:>7.3}",
            gtype,
            s.gold,
            s.pred,
            s.precision(),
            s.recall()
        );
    }
    println!(
        "  {:<16} {:>6} {:>6} {:>9.3} {:>7.3}   (exact span)",
        "EMAIL exact",
        exact_email.gold,
        exact_email.pred,
        exact_email.precision(),
        exact_email.recall()
    );
}
