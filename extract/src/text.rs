//! Small text helpers shared by the finders: word tokens with byte spans, lines with offsets.

/// A word: a maximal run of letters, apostrophes or hyphens inside letters, and periods
/// directly after a single letter (initials such as "P.").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

/// Letters, plus inner `'`/`’`/`-` joined to letters on both sides.
pub fn next_word(text: &str, from: usize) -> Option<Word<'_>> {
    let rest = text.get(from..)?;
    let mut start = None;
    let mut end = from;
    let mut prev_letter = false;
    let mut iter = rest.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let at = from + i;
        if c.is_alphabetic() {
            if start.is_none() {
                start = Some(at);
            }
            end = at + c.len_utf8();
            prev_letter = true;
        } else if start.is_some()
            && prev_letter
            && matches!(c, '\'' | '’' | '-')
            && iter.peek().is_some_and(|(_, n)| n.is_alphabetic())
        {
            prev_letter = false;
        } else if start.is_some() {
            break;
        } else if !c.is_whitespace() {
            return None;
        }
    }
    let start = start?;
    Some(Word {
        text: text.get(start..end)?,
        start,
        end,
    })
}

/// Lines of `text` with their byte offset (without the line break).
pub fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split('\n').map(move |l| {
        let at = offset;
        offset += l.len() + 1;
        (at, l.strip_suffix('\r').unwrap_or(l))
    })
}

/// True when the word starts with an upper-case letter.
pub fn is_capitalised(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
}

/// True when every letter is upper case (and there are at least two).
pub fn is_all_caps(w: &str) -> bool {
    let mut n = 0;
    for c in w.chars().filter(|c| c.is_alphabetic()) {
        if !c.is_uppercase() {
            return false;
        }
        n += 1;
    }
    n >= 2
}

/// "JOHN" / "john" -> "John"; keeps "McDonald" / "O'Brien" as written when mixed case.
pub fn title_case(w: &str) -> String {
    if !is_all_caps(w) && w.chars().skip(1).any(char::is_uppercase) && is_capitalised(w) {
        return w.to_string();
    }
    let mut out = String::with_capacity(w.len());
    let mut up = true;
    for c in w.chars() {
        if up {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        up = matches!(c, '\'' | '’' | '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_lines() {
        let w = next_word("  O'Brien-Smith, x", 0);
        assert_eq!(w.map(|w| w.text), Some("O'Brien-Smith"));
        assert_eq!(next_word("  ,x", 0), None);
        assert_eq!(next_word("é", 1), None); // not a char boundary
        let ls: Vec<_> = lines("a\r\nbc\n").collect();
        assert_eq!(ls, vec![(0, "a"), (3, "bc"), (6, "")]);
        assert_eq!(title_case("JOHN"), "John");
        assert_eq!(title_case("mcdonald"), "Mcdonald");
        assert_eq!(title_case("McDonald"), "McDonald");
    }
}
