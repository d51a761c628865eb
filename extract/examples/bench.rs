//! Throughput of `Extractor::extract` on short messages, one core:
//!
//! ```text
//! cargo run --release -p clientele-extract --example bench
//! ```

use std::hint::black_box;
use std::time::Instant;

use clientele_extract::{Channel, Extractor, MessageContext, Options};

const MESSAGES: &[&str] = &[
    "Hi, I'm looking for a truck, do you have any in stock?",
    "My name is Sterling Archer, call me at 416-555-1234",
    "Thanks! Email me at ming.li@example.com",
    "Is the blue SUV still available? What's the price?",
    "I'm ready to buy, can we book a test drive Saturday at 10:30?",
    "ok",
    "This is Dana from Figgis Agency Inc., please call (905) 555-0199 ext. 12",
    "Order #4165551234 hasn't arrived yet",
    "Ship it to 55 Maple Drive, Springfield, IL 62701",
    "comparing the F-150 vs the Silverado, which one has better financing?",
    "four one six five five five one two three four",
    "Sounds good, see you tomorrow.\n\nBest regards,\nJohn Smith\nSales Manager, Acme Corp",
    "what time do you close today",
    "I'm Interested in leasing, 2 years maybe",
    "can u send pics of the red one pls",
    "Call me back on +44 20 7031 3000 when you can",
];

fn main() {
    let ex = Extractor::new(Options::default());
    let ctx = MessageContext {
        channel: Channel::Sms,
        sender: None,
    };
    // Warm up.
    for m in MESSAGES {
        black_box(ex.extract(m, &ctx));
    }
    let rounds = 20_000;
    let start = Instant::now();
    let mut facts = 0usize;
    for _ in 0..rounds {
        for m in MESSAGES {
            facts += black_box(ex.extract(black_box(m), &ctx)).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = rounds * MESSAGES.len();
    let bytes: usize = MESSAGES.iter().map(|m| m.len()).sum::<usize>() * rounds;
    println!(
        "{n} messages ({:.0} bytes avg) in {secs:.2}s: {:.0} messages/s on one core ({:.1} MB/s), {} facts/message",
        bytes as f64 / n as f64,
        n as f64 / secs,
        bytes as f64 / secs / 1e6,
        facts / n
    );
}
