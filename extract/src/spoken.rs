//! Numbers spelled in words, as speech-to-text writes them ("four one six, five five five,
//! twelve thirty four"): runs of number words (and digits) are read into a digit string and
//! validated as a phone number.

use regex::Regex;

use crate::phone::PhoneFinder;
use crate::{Fact, Value};

const UNITS: &[&str] = &[
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const TEENS: &[&str] = &[
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: &[&str] = &[
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

#[derive(Debug)]
pub struct SpokenFinder {
    run: Regex,
    token: Regex,
}

impl SpokenFinder {
    pub fn new() -> Self {
        let words = "zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|double|triple|plus";
        let tok = format!(r"(?:{words}|[0-9]{{1,4}})");
        SpokenFinder {
            // At least four tokens, separated by spaces, commas, dashes or periods.
            run: Regex::new(&format!(r"(?i)\b{tok}(?:[\s,.\-]{{1,3}}{tok}){{3,24}}\b"))
                .expect("static regex"),
            token: Regex::new(&format!(r"(?i){tok}")).expect("static regex"),
        }
    }

    pub fn find(&self, text: &str, phones: &PhoneFinder, out: &mut Vec<Fact>) {
        for m in self.run.find_iter(text) {
            let mut words = 0;
            let mut toks: Vec<String> = Vec::with_capacity(16);
            for t in self.token.find_iter(m.as_str()) {
                let s = t.as_str().to_ascii_lowercase();
                if !s.as_bytes()[0].is_ascii_digit() {
                    words += 1;
                }
                toks.push(s);
            }
            if words < 2 {
                continue; // plain digits: the ordinary finder handles them
            }
            let Some(digits) = read_digits(&toks) else {
                continue;
            };
            let n = digits.trim_start_matches('+').len();
            if !(7..=15).contains(&n) {
                continue;
            }
            if let Some(pm) = phones.verify_digits(&digits) {
                out.push(Fact {
                    span: m.start()..m.end(),
                    rule: "phone.spoken",
                    value: Value::Phone {
                        e164: pm.e164,
                        extension: pm.extension,
                    },
                });
            }
        }
    }
}

fn index_of(list: &[&str], w: &str) -> Option<usize> {
    list.iter().position(|x| *x == w)
}

/// Reads tokens ("four", "fifty", "five", "double", "7") into digits.
pub fn read_digits(toks: &[String]) -> Option<String> {
    let mut out = String::new();
    let mut repeat = 1;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        let mut piece = String::new();
        if t == "double" {
            repeat = 2;
            i += 1;
            continue;
        } else if t == "triple" {
            repeat = 3;
            i += 1;
            continue;
        } else if t == "plus" {
            if !out.is_empty() {
                return None;
            }
            out.push('+');
            i += 1;
            continue;
        } else if t == "oh" {
            piece.push('0');
        } else if t == "hundred" {
            piece.push_str("00");
        } else if t == "thousand" {
            piece.push_str("000");
        } else if let Some(d) = index_of(UNITS, t) {
            piece.push(char::from(b'0' + d as u8));
        } else if let Some(d) = index_of(TEENS, t) {
            piece.push_str(&format!("1{d}"));
        } else if let Some(d) = index_of(TENS, t) {
            piece.push(char::from(b'0' + d as u8));
            match toks.get(i + 1).and_then(|n| index_of(UNITS, n)) {
                Some(u) if u > 0 => {
                    piece.push(char::from(b'0' + u as u8));
                    i += 1;
                }
                _ => piece.push('0'),
            }
        } else if t.bytes().all(|b| b.is_ascii_digit()) {
            piece.push_str(t);
        } else {
            return None;
        }
        for _ in 0..repeat {
            out.push_str(&piece);
        }
        repeat = 1;
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::country::Id;

    fn spoken(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        SpokenFinder::new().find(text, &PhoneFinder::new(Id::CA, None), &mut out);
        out.into_iter()
            .filter_map(|f| match f.value {
                Value::Phone { e164, .. } => Some(e164),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_spelled_numbers() {
        assert_eq!(
            spoken("my number is four one six five five five one two three four thanks"),
            vec!["+14165551234"]
        );
        assert_eq!(
            spoken("it's four one six, double five five, twelve thirty four"),
            vec!["+14165551234"]
        );
        assert_eq!(spoken("call 416 five five five 1234"), vec!["+14165551234"]);
        assert_eq!(
            spoken("six oh four five five five oh one nine nine"),
            vec!["+16045550199"]
        );
    }

    #[test]
    fn ordinary_counting_is_not_a_phone() {
        assert!(spoken("one two three four, I declare a thumb war").is_empty());
        assert!(spoken("we need two or three of them").is_empty());
    }
}
