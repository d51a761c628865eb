//! Sign-offs and signature blocks: "Thanks,\nJohn Smith\nSales Manager, Acme Corp".
//!
//! A name is taken from the line after a sign-off ("Thanks," / "Best regards" / "--"), from
//! a sign-off with the name on the same line ("Cheers, Dave"), from a dash line ("- Dave"),
//! or from a short line near the end of the message that starts with a known first name.
//! The lines after the name are scanned for "Title, Company" and legal-suffix companies.

use regex::Regex;

use crate::name::{Cue, NameFinder};
use crate::text::lines;
use crate::{Enabled, Fact, Value};

const TITLE_WORDS: &str = "president vp vice director manager analyst engineer specialist coordinator associate counsel officer head lead consultant partner founder ceo cfo cto coo owner principal assistant administrator representative rep advisor adviser agent broker trader executive supervisor chairman secretary treasurer attorney";

#[derive(Debug)]
pub struct SignatureFinder {
    sign_off: Regex,
    sign_off_inline: Regex,
    dash: Regex,
}

impl SignatureFinder {
    pub fn new() -> Self {
        let offs = r"(?:thanks(?:\s+(?:again|so\s+much|a\s+lot))?|thank\s+you(?:\s+very\s+much)?|many\s+thanks|thx|tks|regards|best(?:\s+regards|\s+wishes)?|kind\s+regards|warm\s+regards|warmest\s+regards|cheers|sincerely(?:\s+yours)?|yours(?:\s+(?:truly|sincerely))?|respectfully|take\s+care|all\s+the\s+best|talk\s+soon|rgds|br|cordially|love|ciao)";
        SignatureFinder {
            sign_off: Regex::new(&format!(
                r"(?i)^\s*(?:{offs}\s*[,.!:\-]*|--\s*|-{{3,}}\s*)$"
            ))
            .expect("static regex"),
            sign_off_inline: Regex::new(&format!(r"(?i)^\s*{offs}\s*[,.!\-]+\s*"))
                .expect("static regex"),
            dash: Regex::new(r"^\s*[-–—~]{1,2}\s*").expect("static regex"),
        }
    }

    pub fn find(&self, text: &str, names: &NameFinder, en: &Enabled, out: &mut Vec<Fact>) {
        // Only messages with a line break or a sign-off word can have a signature.
        if !text.contains('\n') && !self.sign_off_inline.is_match(text.trim_start()) {
            return;
        }
        let all: Vec<(usize, &str)> = lines(text).collect();
        let n = all.len();
        let mut after_sign_off = false;
        let mut found_name_at = None;
        for (i, &(off, line)) in all.iter().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if self.sign_off.is_match(line) {
                after_sign_off = true;
                continue;
            }
            let mut hit = None;
            if after_sign_off {
                hit = self
                    .name_line(names, text, off, line, Cue::Strong)
                    .map(|m| (m, "signature.after_sign_off"));
            }
            if hit.is_none()
                && let Some(m) = self.sign_off_inline.find(line)
                && m.end() < line.len()
            {
                hit = self
                    .name_line(names, text, off + m.end(), &line[m.end()..], Cue::Weak)
                    .map(|m| (m, "signature.inline"));
            }
            if hit.is_none() && i + 6 >= n {
                if let Some(m) = self
                    .dash
                    .find(line)
                    .filter(|m| m.end() > 0 && m.end() < line.len())
                {
                    hit = self
                        .name_line(names, text, off + m.end(), &line[m.end()..], Cue::Weak)
                        .map(|m| (m, "signature.dash"));
                } else if i + 4 >= n
                    && blank_before(&all, i)
                    && !trimmed.ends_with([',', ':'])
                    && all[..i].iter().any(|(_, l)| !l.trim().is_empty())
                    && all[i + 1..]
                        .iter()
                        .all(|(_, l)| l.split_whitespace().count() <= 8)
                {
                    hit = self
                        .name_line(names, text, off, line, Cue::Weak)
                        .filter(|m| names.is_first_name(&m.first))
                        .map(|m| (m, "signature.name_line"));
                }
            }
            after_sign_off = false;
            if let Some((m, rule)) = hit {
                if en.persons {
                    out.push(m.into_fact(rule));
                }
                found_name_at = Some(i);
                break;
            }
        }
        if let (Some(i), true) = (found_name_at, en.companies) {
            for &(off, line) in all.iter().skip(i + 1).take(4) {
                if let Some((start, company)) = title_company(line) {
                    out.push(Fact {
                        span: off + start..off + start + company.len(),
                        rule: "company.signature_title",
                        value: Value::Company {
                            name: company.to_string(),
                        },
                    });
                }
            }
        }
    }

    /// A line that is only a name (1-4 words), possibly followed by punctuation.
    fn name_line(
        &self,
        names: &NameFinder,
        text: &str,
        off: usize,
        line: &str,
        cue: Cue,
    ) -> Option<crate::name::NameMatch> {
        let words = line.split_whitespace().count();
        if !(1..=4).contains(&words) {
            return None;
        }
        let lead = line.len() - line.trim_start().len();
        let m = names.name_at(text, off + lead, cue)?;
        let rest = text.get(m.end..off + line.len())?.trim();
        rest.chars()
            .all(|c| matches!(c, ',' | '.' | '!' | '-'))
            .then_some(m)
    }
}

fn blank_before(all: &[(usize, &str)], i: usize) -> bool {
    i == 0 || all[i - 1].1.trim().is_empty()
}

/// "Vice President, Enron North America" -> (offset, "Enron North America").
fn title_company(line: &str) -> Option<(usize, &str)> {
    let (title, company) = line.split_once(", ")?;
    let is_title = title.split_whitespace().any(|w| {
        let w = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        TITLE_WORDS.split(' ').any(|t| t == w)
    });
    let company = company.trim_end();
    let words = company.split_whitespace().count();
    if !is_title
        || !(1..=6).contains(&words)
        || !company.chars().next().is_some_and(char::is_uppercase)
    {
        return None;
    }
    if company.contains('@') || company.chars().filter(char::is_ascii_digit).count() > 2 {
        return None;
    }
    Some((title.len() + 2, company))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        SignatureFinder::new().find(text, &NameFinder::new(), &Enabled::default(), &mut out);
        out.into_iter()
            .map(|f| match f.value {
                Value::Person { full, .. } => (f.rule, full),
                Value::Company { name } => (f.rule, name),
                _ => (f.rule, String::new()),
            })
            .collect()
    }

    #[test]
    fn sign_offs() {
        assert_eq!(
            facts("See you then.\n\nThanks,\nBill"),
            vec![("signature.after_sign_off", "Bill".into())]
        );
        assert_eq!(
            facts(
                "Call me.\n\nBest regards,\nBarry  Tycholiz\nVice President, Enron North America"
            ),
            vec![
                ("signature.after_sign_off", "Barry Tycholiz".into()),
                ("company.signature_title", "Enron North America".into())
            ]
        );
        assert_eq!(
            facts("ok sounds good\nCheers, Dave"),
            vec![("signature.inline", "Dave".into())]
        );
        assert_eq!(
            facts("Let me know.\n\nLouise"),
            vec![("signature.name_line", "Louise".into())]
        );
        assert_eq!(
            facts("see below\n- Frank"),
            vec![("signature.dash", "Frank".into())]
        );
    }

    #[test]
    fn not_signatures() {
        assert!(facts("Thanks,\nPlease send the file").is_empty());
        assert!(facts("Agenda\n\nPhase 1\nPhase 2").is_empty());
        assert!(facts("Regards,\nThe Team").is_empty());
    }
}
