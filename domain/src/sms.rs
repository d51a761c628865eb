//! SMS segment counting (3GPP TS 23.038 alphabets, TS 23.040 concatenation).
//!
//! A body that uses only the GSM 7-bit default alphabet and its extension table is sent as
//! GSM-7: one septet per character, two for extension characters (`{ } [ ] ~ \ | ^ €` and
//! form feed, sent as an escape plus the character). Anything else makes the whole message
//! UCS-2 (UTF-16 on the wire): one unit per character, two for characters outside the Basic
//! Multilingual Plane (most emoji).
//!
//! A single segment holds 160 septets or 70 UTF-16 units. A longer message is split into
//! segments of at most 153 septets or 67 units (the rest of each segment is the
//! concatenation header). Segments are counted by packing, as carriers and Twilio split:
//! an extension character's escape and character, and a surrogate pair, are never split
//! across two segments, so a segment may carry one unit less than the maximum.
//!
//! National language shift tables (Turkish, Spanish, Portuguese, Indian scripts) are not
//! used: a message needing them is counted as UCS-2, as most providers send it by default.
//!
//! An empty body is one segment of zero units: an empty SMS is still one message on the
//! wire, and providers (Twilio among them) bill it as one.

/// How a message body is encoded on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmsEncoding {
    /// GSM 7-bit default alphabet (with its extension table).
    Gsm7,
    /// UCS-2 / UTF-16.
    Ucs2,
}

impl SmsEncoding {
    /// `"GSM-7"` or `"UCS-2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsEncoding::Gsm7 => "GSM-7",
            SmsEncoding::Ucs2 => "UCS-2",
        }
    }
}

/// The size of a message body as an SMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SmsSegments {
    pub encoding: SmsEncoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2) of the whole body.
    pub units: usize,
    /// Number of SMS segments (parts) the body is sent in; at least 1.
    pub segments: u32,
}

/// Septets in a single-segment GSM-7 message.
pub const GSM7_SINGLE: usize = 160;
/// Septets per segment of a concatenated GSM-7 message.
pub const GSM7_MULTI: usize = 153;
/// UTF-16 units in a single-segment UCS-2 message.
pub const UCS2_SINGLE: usize = 70;
/// UTF-16 units per segment of a concatenated UCS-2 message.
pub const UCS2_MULTI: usize = 67;

/// Counts the encoding, units and segments of `body` as an SMS.
pub fn segments(body: &str) -> SmsSegments {
    let gsm: Option<Vec<usize>> = body.chars().map(gsm7_septets).collect();
    let (encoding, costs, single, multi) = match gsm {
        Some(costs) => (SmsEncoding::Gsm7, costs, GSM7_SINGLE, GSM7_MULTI),
        None => {
            let costs = body.chars().map(char::len_utf16).collect();
            (SmsEncoding::Ucs2, costs, UCS2_SINGLE, UCS2_MULTI)
        }
    };
    let units: usize = costs.iter().sum();
    let segments = if units <= single {
        1
    } else {
        pack(&costs, multi)
    };
    SmsSegments {
        encoding,
        units,
        segments,
    }
}

/// Segments needed when no character's units may straddle two segments of `capacity`.
fn pack(costs: &[usize], capacity: usize) -> u32 {
    let mut segments = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > capacity {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    segments
}

/// Septets of `c` in GSM-7 (1, or 2 for the extension table), or `None` if it has none.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if is_gsm7_basic(c) {
        Some(1)
    } else if is_gsm7_extension(c) {
        Some(2)
    } else {
        None
    }
}

fn is_gsm7_basic(c: char) -> bool {
    matches!(c,
        '@' | '£' | '$' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | '\n' | 'Ø' | 'ø' | '\r'
        | 'Å' | 'å' | 'Δ' | '_' | 'Φ' | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ'
        | 'Æ' | 'æ' | 'ß' | 'É' | ' ' | '!' | '"' | '#' | '¤' | '%' | '&' | '\'' | '('
        | ')' | '*' | '+' | ',' | '-' | '.' | '/' | '0'..='9' | ':' | ';' | '<' | '='
        | '>' | '?' | '¡' | 'A'..='Z' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'a'..='z'
        | 'ä' | 'ö' | 'ñ' | 'ü' | 'à')
}

fn is_gsm7_extension(c: char) -> bool {
    matches!(
        c,
        '\u{000C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, encoding: SmsEncoding, units: usize, count: u32) {
        let expected = SmsSegments {
            encoding,
            units,
            segments: count,
        };
        assert_eq!(segments(body), expected, "{body:?}");
    }

    #[test]
    fn empty_body_is_one_segment() {
        check("", SmsEncoding::Gsm7, 0, 1);
    }

    #[test]
    fn gsm7_single_and_multi_part_limits() {
        check(&"a".repeat(160), SmsEncoding::Gsm7, 160, 1);
        check(&"a".repeat(161), SmsEncoding::Gsm7, 161, 2);
        check(&"a".repeat(306), SmsEncoding::Gsm7, 306, 2);
        check(&"a".repeat(307), SmsEncoding::Gsm7, 307, 3);
        check(&"a".repeat(459), SmsEncoding::Gsm7, 459, 3);
    }

    #[test]
    fn gsm7_alphabet_covers_accents_greek_and_controls() {
        let all_basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
        assert_eq!(all_basic.chars().count(), 127); // the 128 code points less ESC
        check(all_basic, SmsEncoding::Gsm7, 127, 1);
        // Lower-case ç, ê and the backtick are not in the default alphabet.
        for c in ["ç", "ê", "`", "á"] {
            assert_eq!(segments(c).encoding, SmsEncoding::Ucs2, "{c}");
        }
    }

    #[test]
    fn extension_characters_count_two_septets() {
        check("{}[]~\\|^€\u{000C}", SmsEncoding::Gsm7, 20, 1);
        check(&"€".repeat(80), SmsEncoding::Gsm7, 160, 1);
        check(&"€".repeat(81), SmsEncoding::Gsm7, 162, 2);
    }

    #[test]
    fn extension_character_is_not_split_at_a_segment_boundary() {
        // 152 septets, then `{` (2) would straddle septets 153/154: it moves to segment 2.
        let body = format!("{}{{{}", "a".repeat(152), "b".repeat(152));
        check(&body, SmsEncoding::Gsm7, 306, 3);
        // Without the straddle the same 306 septets fit in two segments.
        let body = format!("{}{{{}", "a".repeat(151), "b".repeat(153));
        check(&body, SmsEncoding::Gsm7, 306, 2);
        let body = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        check(&body, SmsEncoding::Gsm7, 164, 2);
    }

    #[test]
    fn ucs2_single_and_multi_part_limits() {
        check(&"ж".repeat(70), SmsEncoding::Ucs2, 70, 1);
        check(&"ж".repeat(71), SmsEncoding::Ucs2, 71, 2);
        check(&"ж".repeat(134), SmsEncoding::Ucs2, 134, 2);
        check(&"ж".repeat(135), SmsEncoding::Ucs2, 135, 3);
        // One non-GSM character makes the whole message UCS-2.
        check(&format!("{}ç", "a".repeat(69)), SmsEncoding::Ucs2, 70, 1);
        check(&format!("{}ç", "a".repeat(70)), SmsEncoding::Ucs2, 71, 2);
    }

    #[test]
    fn emoji_count_two_units_and_are_not_split() {
        check("👍", SmsEncoding::Ucs2, 2, 1);
        check(&"😀".repeat(35), SmsEncoding::Ucs2, 70, 1);
        check(&"😀".repeat(36), SmsEncoding::Ucs2, 72, 2);
        // 66 units then an emoji: the pair moves to segment 2 (67 + 1 would straddle).
        let body = format!("{}😀{}", "ж".repeat(66), "ж".repeat(66));
        check(&body, SmsEncoding::Ucs2, 134, 3);
        // Combining sequences count each code point: 👍🏽 is two emoji code points.
        check("👍🏽", SmsEncoding::Ucs2, 4, 1);
    }

    #[test]
    fn long_cyrillic_text() {
        let sentence = "Здравствуйте! Ваш заказ готов к выдаче. ";
        let body = sentence.repeat(5);
        let units = body.chars().count();
        assert_eq!(units, 200);
        check(&body, SmsEncoding::Ucs2, 200, 3); // ceil(200 / 67)
    }

    #[test]
    fn encoding_names() {
        assert_eq!(SmsEncoding::Gsm7.as_str(), "GSM-7");
        assert_eq!(SmsEncoding::Ucs2.as_str(), "UCS-2");
    }
}
