//! US and Canadian postal addresses: found in free text by a house number followed by a
//! street type (or a "City, ST 12345" tail), then split into components.

use regex::Regex;
use serde::Serialize;

use crate::{Fact, Value};

/// A postal address split into components. Unknown parts are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    /// House number and street, e.g. "431 Main St".
    pub street: Option<String>,
    /// Apartment, suite or unit, e.g. "Apt 4B".
    pub unit: Option<String>,
    pub city: Option<String>,
    /// Two-letter state or province code when known, else as written.
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// "US" or "CA" when written or implied by the postal code.
    pub country: Option<String>,
}

const STREET_TYPES: &str = "street st str avenue ave av road rd boulevard blvd drive dr dri lane ln court ct crt place pl terrace ter terr way circle cir parkway pkwy highway hwy square sq trail trl crescent cres close row alley aly plaza plz pike loop run path walk expressway expy freeway fwy turnpike tpke crossing xing heights hts grove grv ridge gardens gdns commons promenade quay mall bypass causeway cswy line sideroad concession";
const PRE_TYPES: &str = "highway hwy route rte";
const PRE_TYPE_QUALIFIERS: &str = "county state us u.s farm forest ranch";
const DIRECTIONS: &str =
    "n s e w ne nw se sw north south east west northeast northwest southeast southwest";
const UNIT_TYPES: &str =
    "apt apartment suite ste unit fl floor rm room bldg building lot trlr dept #";
const COUNTRIES: &[(&str, &str)] = &[
    ("united states of america", "US"),
    ("united states", "US"),
    ("usa", "US"),
    ("us", "US"),
    ("u.s.a", "US"),
    ("u.s", "US"),
    ("canada", "CA"),
];

/// (code, full name, country)
const REGIONS: &[(&str, &str, &str)] = &[
    ("AL", "alabama", "US"),
    ("AK", "alaska", "US"),
    ("AZ", "arizona", "US"),
    ("AR", "arkansas", "US"),
    ("CA", "california", "US"),
    ("CO", "colorado", "US"),
    ("CT", "connecticut", "US"),
    ("DE", "delaware", "US"),
    ("DC", "district of columbia", "US"),
    ("FL", "florida", "US"),
    ("GA", "georgia", "US"),
    ("HI", "hawaii", "US"),
    ("ID", "idaho", "US"),
    ("IL", "illinois", "US"),
    ("IN", "indiana", "US"),
    ("IA", "iowa", "US"),
    ("KS", "kansas", "US"),
    ("KY", "kentucky", "US"),
    ("LA", "louisiana", "US"),
    ("ME", "maine", "US"),
    ("MD", "maryland", "US"),
    ("MA", "massachusetts", "US"),
    ("MI", "michigan", "US"),
    ("MN", "minnesota", "US"),
    ("MS", "mississippi", "US"),
    ("MO", "missouri", "US"),
    ("MT", "montana", "US"),
    ("NE", "nebraska", "US"),
    ("NV", "nevada", "US"),
    ("NH", "new hampshire", "US"),
    ("NJ", "new jersey", "US"),
    ("NM", "new mexico", "US"),
    ("NY", "new york", "US"),
    ("NC", "north carolina", "US"),
    ("ND", "north dakota", "US"),
    ("OH", "ohio", "US"),
    ("OK", "oklahoma", "US"),
    ("OR", "oregon", "US"),
    ("PA", "pennsylvania", "US"),
    ("RI", "rhode island", "US"),
    ("SC", "south carolina", "US"),
    ("SD", "south dakota", "US"),
    ("TN", "tennessee", "US"),
    ("TX", "texas", "US"),
    ("UT", "utah", "US"),
    ("VT", "vermont", "US"),
    ("VA", "virginia", "US"),
    ("WA", "washington", "US"),
    ("WV", "west virginia", "US"),
    ("WI", "wisconsin", "US"),
    ("WY", "wyoming", "US"),
    ("PR", "puerto rico", "US"),
    ("GU", "guam", "US"),
    ("VI", "virgin islands", "US"),
    ("AB", "alberta", "CA"),
    ("BC", "british columbia", "CA"),
    ("MB", "manitoba", "CA"),
    ("NB", "new brunswick", "CA"),
    ("NL", "newfoundland and labrador", "CA"),
    ("NS", "nova scotia", "CA"),
    ("NT", "northwest territories", "CA"),
    ("NU", "nunavut", "CA"),
    ("ON", "ontario", "CA"),
    ("PE", "prince edward island", "CA"),
    ("QC", "quebec", "CA"),
    ("SK", "saskatchewan", "CA"),
    ("YT", "yukon", "CA"),
];

fn in_list(list: &str, w: &str) -> bool {
    let w = w.trim_end_matches(['.', ',']).to_lowercase();
    !w.is_empty() && list.split(' ').any(|x| x == w)
}

fn clean(tok: &str) -> &str {
    tok.trim_end_matches([',', ';'])
}

fn join(tokens: &[&str]) -> Option<String> {
    let s = tokens
        .iter()
        .map(|t| clean(t))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!s.is_empty()).then_some(s)
}

fn is_zip(t: &str) -> bool {
    let t = clean(t);
    let b = t.as_bytes();
    (b.len() == 5 && b.iter().all(u8::is_ascii_digit))
        || (b.len() == 10 && b[5] == b'-' && b[..5].iter().chain(&b[6..]).all(u8::is_ascii_digit))
}

fn is_ca_postal_half(t: &str, first: bool) -> bool {
    let b = clean(t).as_bytes();
    b.len() == 3
        && if first {
            b[0].is_ascii_alphabetic() && b[1].is_ascii_digit() && b[2].is_ascii_alphabetic()
        } else {
            b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_digit()
        }
}

/// Finds a region (code or full name) ending at token `end` (exclusive); returns (start, code, country).
fn region_before(tokens: &[&str], end: usize) -> Option<(usize, &'static str, &'static str)> {
    for len in (1..=4).rev() {
        if len > end {
            continue;
        }
        let phrase = tokens[end - len..end]
            .iter()
            .map(|t| clean(t).trim_end_matches('.').to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        for (code, name, country) in REGIONS {
            if phrase == *name || (len == 1 && phrase.eq_ignore_ascii_case(code)) {
                return Some((end - len, code, country));
            }
        }
    }
    None
}

/// Splits one address string ("431 Main St Apt 2, Chicago, IL 60601") into components.
/// Returns `None` when nothing address-like (number + street, or region + postal code) is found.
pub fn parse_address(s: &str) -> Option<Address> {
    let tokens: Vec<&str> = s.split_whitespace().collect();
    let mut a = Address::default();
    let mut end = tokens.len();
    // Country.
    for (name, code) in COUNTRIES {
        let n = name.split(' ').count();
        if end > n {
            let phrase = tokens[end - n..end]
                .iter()
                .map(|t| clean(t).trim_end_matches('.').to_lowercase())
                .collect::<Vec<_>>()
                .join(" ");
            if phrase == *name {
                a.country = Some((*code).to_string());
                end -= n;
                break;
            }
        }
    }
    // Postal code.
    if end >= 1 && is_zip(tokens[end - 1]) {
        a.postal_code = Some(clean(tokens[end - 1]).to_string());
        end -= 1;
    } else if end >= 2
        && is_ca_postal_half(tokens[end - 2], true)
        && is_ca_postal_half(tokens[end - 1], false)
    {
        a.postal_code =
            Some(format!("{} {}", clean(tokens[end - 2]), clean(tokens[end - 1])).to_uppercase());
        a.country.get_or_insert_with(|| "CA".into());
        end -= 2;
    }
    // Region.
    if let Some((start, code, country)) = region_before(&tokens, end) {
        // A lone two-letter word is only a region when something address-like follows or precedes.
        if start > 0 {
            a.region = Some(code.to_string());
            if a.postal_code.is_some() || a.country.is_some() || tokens[start - 1].ends_with(',') {
                a.country.get_or_insert_with(|| country.into());
            }
            end = start;
        }
    }
    // Street: from the first token that starts with a digit.
    // Street: from the first token that starts with a digit and is not a unit number.
    let num = (0..end).find(|&i| {
        tokens[i].chars().next().is_some_and(|c| c.is_ascii_digit())
            && !(i > 0 && (in_list(UNIT_TYPES, tokens[i - 1]) || tokens[i - 1] == "#"))
    });
    // No house number: a first comma segment that ends in a street type ("Buford Street,").
    let num = num.or_else(|| {
        let first_comma = tokens[..end].iter().position(|t| t.ends_with(','))?;
        (first_comma > 0 && in_list(STREET_TYPES, tokens[first_comma])).then_some(0)
    });
    let mut street_end = None;
    if let Some(n) = num {
        // The street runs to the first comma, a unit keyword, or the street type (+ direction).
        let mut i = n + 1;
        let mut types = Vec::new();
        while i < end {
            let t = tokens[i];
            if in_list(UNIT_TYPES, t) || t.starts_with('#') {
                break;
            }
            if in_list(STREET_TYPES, t) && i > n + 1 {
                types.push(i);
            }
            if t.ends_with(',') {
                i += 1;
                break;
            }
            i += 1;
        }
        // "Pl St Louis": a trailing "St" after another type starts the city ("St. Louis").
        let mut last_type = types.last().copied();
        if types.len() >= 2
            && let Some(lt) = last_type
            && clean(tokens[lt])
                .trim_end_matches('.')
                .eq_ignore_ascii_case("st")
        {
            last_type = Some(types[types.len() - 2]);
        }
        let mut se = i;
        // "Street, City, ST": the comma closes the street unless the region follows it.
        let comma_ended = se > n + 1 && se < end && tokens[se - 1].ends_with(',');
        // "County Road GV," / "US Highway 71 North,": a pre-type keeps the whole segment.
        let pre_type = last_type.is_some_and(|lt| {
            in_list(PRE_TYPES, tokens[lt])
                || (lt > n + 1 && in_list(PRE_TYPE_QUALIFIERS, tokens[lt - 1]))
        });
        if comma_ended && pre_type {
            // keep se at the comma
        } else if let Some(lt) = last_type.filter(|&lt| !comma_ended || lt + 1 < se) {
            se = lt + 1;
            // Post-direction or route number after the type ("Street SE", "Road 43"); a
            // spelled-out direction only when it closes the segment ("Street Southeast,").
            if se < end && !tokens[lt].ends_with(',') {
                let t = clean(tokens[se]).trim_end_matches('.');
                let abbrev_dir = t.len() <= 2 && in_list(DIRECTIONS, t);
                let closing = tokens[se].ends_with(',') || se + 1 == end;
                let route = t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit());
                if (in_list(DIRECTIONS, t) && (abbrev_dir || closing)) || route {
                    se += 1;
                }
            }
        } else if !comma_ended && a.region.is_some() && se == end && end > n + 2 {
            // No type, no comma: assume the last word before the region is the city.
            se = end - 1;
        }
        // "Highway 80, Allentown": the segment starts with the street, not the number.
        let seg_start = tokens[..n]
            .iter()
            .rposition(|t| t.ends_with(','))
            .map_or(0, |c| c + 1);
        let n = if tokens[seg_start..n]
            .iter()
            .any(|t| in_list(STREET_TYPES, t))
        {
            seg_start
        } else {
            n
        };
        a.street = join(&tokens[n..se]);
        let mut j = se;
        // Unit.
        if j < end && (in_list(UNIT_TYPES, tokens[j]) || tokens[j].starts_with('#')) {
            let ut = tokens[j];
            let mut k = j + 1;
            if ut == "#" || !ut.starts_with('#') {
                k = (j + 2).min(end);
            }
            a.unit = join(&tokens[j..k]);
            j = k;
        }
        street_end = Some(j);
    }
    // City: the tokens between the street (or the last comma) and the region.
    if a.region.is_some() || a.postal_code.is_some() {
        let from = street_end.unwrap_or(0);
        let mut start = from;
        for (i, t) in tokens
            .iter()
            .enumerate()
            .take(end.saturating_sub(1))
            .skip(from)
        {
            if t.ends_with(',') {
                start = i + 1;
            }
        }
        if start < end {
            a.city = join(&tokens[start..end]);
        }
    }
    if a.street.is_none() && (a.region.is_none() || a.postal_code.is_none()) {
        return None;
    }
    Some(a)
}

/// Finds addresses in free text and parses them.
#[derive(Debug)]
pub struct AddressFinder {
    re: Regex,
}

impl AddressFinder {
    pub fn new() -> Self {
        // Street types capitalised ("Way", "WAY"), so "2 cats on the way" is not an address.
        let types = STREET_TYPES
            .split(' ')
            .flat_map(|t| {
                let mut title = t.to_string();
                title[..1].make_ascii_uppercase();
                [title, t.to_ascii_uppercase()]
            })
            .collect::<Vec<_>>()
            .join("|");
        let units = "apt|apartment|suite|ste|unit|fl|floor|rm|room|bldg|#";
        let dirs = "n|s|e|w|ne|nw|se|sw|north|south|east|west";
        let regions = REGIONS
            .iter()
            .flat_map(|(c, n, _)| [c.to_string(), n.replace(' ', r"\s+")])
            .collect::<Vec<_>>()
            .join("|");
        let street = format!(
            r"\b\d{{1,6}}[A-Za-z]?(?:-\d{{1,5}})?\s+(?:(?:{dirs})\.?\s+)?(?:[A-Z0-9][A-Za-z0-9'.-]*\s+){{0,4}}?(?:{types})\b\.?(?:\s+(?i:{dirs})\b\.?)?"
        );
        let unit = format!(r"(?:,?\s*(?i:{units})\.?\s*[A-Za-z0-9-]{{1,6}}\b)?");
        let tail = format!(
            r"(?:,?\s+(?:[A-Z][A-Za-z'.-]*\s+){{0,3}}?[A-Z][A-Za-z'.-]*,?\s+(?:{regions})\b\.?(?:,?\s+(?:\d{{5}}(?:-\d{{4}})?|[A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d))?(?:,?\s+(?i:usa|united\s+states|canada)\b)?)?"
        );
        AddressFinder {
            re: Regex::new(&format!("{street}{unit}{tail}")).expect("static regex"),
        }
    }

    pub fn find(&self, text: &str, out: &mut Vec<Fact>) {
        if !text.bytes().any(|b| b.is_ascii_digit()) {
            return;
        }
        for m in self.re.find_iter(text) {
            let raw = m.as_str().trim_end_matches([',', ' ']);
            if let Some(addr) = parse_address(raw) {
                out.push(Fact {
                    span: m.start()..m.start() + raw.len(),
                    rule: "address",
                    value: Value::Address(addr),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Address {
        parse_address(s).unwrap_or_default()
    }

    #[test]
    fn splits_us_addresses() {
        let a = p("431 Main St Apt 2, Chicago, IL 60601");
        assert_eq!(a.street.as_deref(), Some("431 Main St"));
        assert_eq!(a.unit.as_deref(), Some("Apt 2"));
        assert_eq!(a.city.as_deref(), Some("Chicago"));
        assert_eq!(a.region.as_deref(), Some("IL"));
        assert_eq!(a.postal_code.as_deref(), Some("60601"));
        assert_eq!(a.country.as_deref(), Some("US"));
        let a = p("12 West Elm Avenue, Sioux Falls, SD 57104");
        assert_eq!(
            (a.street.as_deref(), a.city.as_deref()),
            (Some("12 West Elm Avenue"), Some("Sioux Falls"))
        );
        let a = p("900 Ridge Road SE Grand Rapids MI 49506");
        assert_eq!(
            (a.street.as_deref(), a.city.as_deref()),
            (Some("900 Ridge Road SE"), Some("Grand Rapids"))
        );
        let a = p("77 Bay Street Little Rock, South Carolina 29566 United States");
        assert_eq!(
            (a.region.as_deref(), a.city.as_deref()),
            (Some("SC"), Some("Little Rock"))
        );
    }

    #[test]
    fn splits_canadian_addresses() {
        let a = p("100 Queen St W, Toronto, ON M5H 2N2");
        assert_eq!(a.street.as_deref(), Some("100 Queen St W"));
        assert_eq!(a.city.as_deref(), Some("Toronto"));
        assert_eq!(a.region.as_deref(), Some("ON"));
        assert_eq!(a.postal_code.as_deref(), Some("M5H 2N2"));
        assert_eq!(a.country.as_deref(), Some("CA"));
    }

    #[test]
    fn finds_addresses_in_text() {
        let mut out = Vec::new();
        let t = "Please ship to 55 Maple Drive, Suite 300, Springfield, IL 62701 by Friday.";
        AddressFinder::new().find(t, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            &t[out[0].span.clone()],
            "55 Maple Drive, Suite 300, Springfield, IL 62701"
        );
        let Value::Address(a) = &out[0].value else {
            panic!("not an address")
        };
        assert_eq!(a.unit.as_deref(), Some("Suite 300"));
        let mut out = Vec::new();
        AddressFinder::new().find("I have 3 dogs and 2 cats on the way", &mut out);
        assert!(out.is_empty());
    }
}
