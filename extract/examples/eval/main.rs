//! Scores the extractor on the evaluation data (see its README.txt):
//!
//! ```text
//! cargo run --release -p clientele-extract --example eval -- /work/shared/eval-data
//! ```
//!
//! Prints per-entity precision/recall (presidio_synth), false names per 100 posts (wnut17),
//! phone-matcher conformance (Google's cases), address component accuracy (usaddress) and
//! signature name/phone precision (mailgun_forge). Nothing here is used by the library.

mod addresses;
mod matcher;
mod presidio;
mod signatures;
mod wnut;

use std::path::{Path, PathBuf};

/// Precision/recall counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub tp_pred: usize,
    pub pred: usize,
    pub tp_gold: usize,
    pub gold: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        if self.pred == 0 {
            f64::NAN
        } else {
            self.tp_pred as f64 / self.pred as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.gold == 0 {
            f64::NAN
        } else {
            self.tp_gold as f64 / self.gold as f64
        }
    }
}

/// Byte offset -> char offset.
pub fn char_offset(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |s| s.chars().count())
}

fn main() {
    let root: PathBuf = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/work/shared/eval-data".into())
        .into();
    let verbose = std::env::args().any(|a| a == "-v");
    let run = |name: &str, f: &dyn Fn(&Path, bool)| {
        let dir = root.join(name);
        if dir.exists() {
            f(&dir, verbose);
        } else {
            println!("({name}: not found under {})", root.display());
        }
    };
    run("presidio_synth", &presidio::run);
    run("wnut17", &wnut::run);
    run("phonenumbers_matcher_cases", &matcher::run);
    run("usaddress_test", &addresses::run);
    run("mailgun_forge", &signatures::run);
}
