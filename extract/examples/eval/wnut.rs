//! wnut17: false person names per 100 posts (every name we emit that is not a gold person).

use std::path::Path;

use clientele_extract::{Extractor, MessageContext, Options, Value};

pub fn run(dir: &Path, verbose: bool) {
    let ex = Extractor::new(Options::default());
    println!("\nwnut17 (tokens joined by spaces; persons only)");
    for file in ["emerging.test.annotated", "emerging.dev.conll"] {
        let raw = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        let (mut docs, mut pred, mut fp, mut gold, mut tp_gold) = (0, 0, 0, 0, 0);
        for doc in raw.split("\n\n").filter(|d| !d.trim().is_empty()) {
            docs += 1;
            let mut text = String::new();
            let mut spans: Vec<(usize, usize)> = Vec::new();
            for line in doc.lines() {
                let mut it = line.split('\t');
                let (Some(tok), Some(tag)) = (it.next(), it.next()) else {
                    continue;
                };
                if !text.is_empty() {
                    text.push(' ');
                }
                let start = text.len();
                text.push_str(tok);
                if tag == "B-person" {
                    spans.push((start, text.len()));
                } else if tag == "I-person"
                    && let Some(last) = spans.last_mut()
                {
                    last.1 = text.len();
                }
            }
            gold += spans.len();
            let facts = ex.extract(&text, &MessageContext::default());
            let persons: Vec<_> = facts
                .iter()
                .filter(|f| matches!(f.value, Value::Person { .. }))
                .collect();
            for p in &persons {
                pred += 1;
                if !spans.iter().any(|g| p.span.start < g.1 && g.0 < p.span.end) {
                    fp += 1;
                    if verbose {
                        println!(
                            "  FP {:?} ({}) in {:?}",
                            &text[p.span.clone()],
                            p.rule,
                            text
                        );
                    }
                }
            }
            tp_gold += spans
                .iter()
                .filter(|g| {
                    persons
                        .iter()
                        .any(|p| p.span.start < g.1 && g.0 < p.span.end)
                })
                .count();
        }
        println!(
            "  {file:<24} posts {docs:>5}  names emitted {pred:>3}  false {fp:>3}  = {:.2} per 100 posts (target < 1)  recall {:.3} of {gold}",
            fp as f64 * 100.0 / docs.max(1) as f64,
            tp_gold as f64 / gold.max(1) as f64
        );
    }
}
