//! Property tests: `extract` never panics, spans are valid, and pathological inputs stay fast.

use std::time::{Duration, Instant};

use clientele_extract::{Channel, Extractor, MessageContext, Options};
use proptest::prelude::*;

fn extractor() -> &'static Extractor {
    use std::sync::OnceLock;
    static EX: OnceLock<Extractor> = OnceLock::new();
    EX.get_or_init(|| Extractor::new(Options::default()))
}

fn check(text: &str, channel: Channel) {
    let ctx = MessageContext {
        channel,
        sender: None,
    };
    for f in extractor().extract(text, &ctx) {
        assert!(
            f.span.start <= f.span.end && f.span.end <= text.len(),
            "{f:?}"
        );
        assert!(
            text.get(f.span.clone()).is_some(),
            "span not on char boundaries: {f:?}"
        );
    }
}

/// Fragments that exercise every finder, glued in random order.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("my name is ".to_string()),
        Just("I'm ".to_string()),
        Just("This is ".to_string()),
        Just("Thanks,\n".to_string()),
        Just("@".to_string()),
        Just(".com".to_string()),
        Just("+1 (416) 555-1234 ext. 5".to_string()),
        Just("four one six ".to_string()),
        Just("123 Main St, Toronto, ON M5H 2N2".to_string()),
        Just("PO Box 7 ".to_string()),
        Just("RR 2 Box # ".to_string()),
        Just("406 N Highway 71 Business (".to_string()),
        Just(" Apt # ".to_string()),
        Just(" Inc. ".to_string()),
        Just("x".to_string()),
        Just("\u{FF11}\u{FF12}".to_string()),
        Just("é́".to_string()),
        "[A-Z][a-z]{1,8}",
        "[0-9 ()+.\\-/x]{1,12}",
        "\\PC{1,6}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_unicode_never_panics(s in "\\PC{0,200}") {
        check(&s, Channel::Other);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check(&s, Channel::Voice);
    }

    #[test]
    fn glued_fragments_never_panic(parts in proptest::collection::vec(fragment(), 0..30)) {
        check(&parts.concat(), Channel::Email);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// `parse_address` on a soup of address words never panics.
    #[test]
    fn address_word_soup_never_panics(words in proptest::collection::vec(prop_oneof![
        Just("PO"), Just("P.O."), Just("p"), Just("o"), Just("Box"), Just("box,"), Just("RR"),
        Just("HC"), Just("Rural"), Just("Route"), Just("Highway"), Just("Contract"), Just("US"),
        Just("U.S."), Just("State"), Just("County"), Just("Road"), Just("No"), Just("#"),
        Just("#4"), Just("12"), Just("7,"), Just("A"), Just("N"), Just("North,"), Just("And"),
        Just("&"), Just("Business"), Just("(Main"), Just("St)"), Just("St"), Just("Apt"),
        Just("Suite,"), Just("Springfield,"), Just("IL"), Just("62701"), Just(","), Just("."),
        Just("W204"), Just("Ave"), Just("S"),
    ], 0..16)) {
        let s = words.join(" ");
        if let Some(a) = clientele_extract::parse_address(&s) {
            prop_assert!(a.street.is_some() || a.region.is_some());
        }
    }
}

/// Time for `extract` on `unit` repeated `n` times.
fn time(unit: &str, n: usize) -> Duration {
    let text = unit.repeat(n);
    let t = Instant::now();
    check(&text, Channel::Voice);
    t.elapsed()
}

#[test]
fn pathological_repetitions_stay_linear() {
    for unit in [
        "1",
        "1 ",
        "(1",
        "1-",
        "a@",
        "a.",
        "I'm ",
        "my name is ",
        "Thanks,\n",
        "one ",
        "12 Main ",
        "PO Box 1 ",
        "RR 2 Box 3 ",
        "12 Highway 5 ",
        "Box 4, Springfield, ",
        "Acme ",
        "\n",
        "+",
        "x1",
    ] {
        let small = time(unit, 2_000);
        let big = time(unit, 20_000);
        // 10x the input may take at most ~25x the time (generous for noise); quadratic would be 100x.
        assert!(
            big <= small * 25 + Duration::from_millis(50),
            "{unit:?}: 2k reps {small:?}, 20k reps {big:?}"
        );
    }
}

#[test]
fn huge_input_is_handled() {
    let text = "Hi, my name is Ana Li, call 416-555-1234 or mail ana@example.com. ".repeat(20_000);
    let t = Instant::now();
    let facts = extractor().extract(&text, &MessageContext::default());
    assert!(facts.len() >= 40_000);
    assert!(t.elapsed() < Duration::from_secs(60));
}
