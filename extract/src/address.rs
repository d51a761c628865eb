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

const STREET_TYPES: &str = "street st str avenue ave av road rd boulevard blvd drive dr dri lane ln court ct crt place pl terrace ter terr way circle cir parkway pkwy highway highwy hiway hiwy hway hwy hgwy square sq trail trl crescent cres close row alley aly plaza plz pike loop run path walk expressway expy freeway fwy turnpike tpke crossing xing heights hts grove grv ridge gardens gdns commons promenade quay mall bypass causeway cswy line sideroad concession";
const PRE_TYPES: &str = "highway hwy route rte";
/// Words that start a numbered route ("Highway 80", "SR 44", "FM 1960"), with Pub 28's
/// highway spellings.
const ROUTE_TYPES: &str =
    "highway highwy hiway hiwy hway hwy hgwy route rte rt sr cr fm interstate";
/// Words in front of a route type ("State Route", "US Highway", "County Road").
const ROUTE_QUALIFIERS: &str = "county state us farm forest ranch";
/// Words after a route number ("Highway 71 Business", "US 1 Alt").
const ROUTE_MODIFIERS: &str = "business bus bypass byp alternate alt spur truck connector";
const PRE_TYPE_QUALIFIERS: &str = "county state us u.s farm forest ranch";
const DIRECTIONS: &str =
    "n s e w ne nw se sw north south east west northeast northwest southeast southwest";
/// Pub 28 secondary unit designators (those that are not also common street words).
const UNIT_TYPES: &str = "apt apartment suite ste unit fl floor rm room bldg building lot trlr trailer dept department ph penthouse bsmt basement ofc spc hngr #";
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

/// "12345", "12345-6789", or ZIP+4 written without its hyphen ("123456789").
fn is_zip(t: &str) -> bool {
    let t = clean(t);
    let b = t.as_bytes();
    ((b.len() == 5 || b.len() == 9) && b.iter().all(u8::is_ascii_digit))
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

/// Lower-cased word without trailing punctuation or inner dots ("P.O." -> "po", "U.S." -> "us").
fn word(t: &str) -> String {
    clean(t)
        .trim_end_matches('.')
        .replace('.', "")
        .to_lowercase()
}

fn is_direction(w: &str) -> bool {
    !w.is_empty() && DIRECTIONS.split(' ').any(|d| d == w)
}

/// A house number: starts with a digit, or (first token only) a letter-prefixed or grid
/// number such as "N165" or "W204" (Wisconsin/Utah grid addresses, "T703").
fn is_house_number(tokens: &[&str], i: usize) -> bool {
    let b = clean(tokens[i]).as_bytes();
    b.first().is_some_and(u8::is_ascii_digit)
        || (i == 0
            && b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1..].iter().all(u8::is_ascii_digit))
}

/// A unit designator token: "Apt", "Suite", "#", "#4B".
fn is_unit_start(t: &str) -> bool {
    in_list(UNIT_TYPES, t) || t.starts_with('#')
}

/// A unit ("Apt 4B", "# APT 3", "#12") starting at `j`; returns the index after it.
fn unit_at(tokens: &[&str], j: usize, end: usize) -> Option<usize> {
    if j >= end || !is_unit_start(tokens[j]) {
        return None;
    }
    let one = |t: &str| t.len() > 1 && t.starts_with('#');
    if one(clean(tokens[j])) {
        return Some(j + 1);
    }
    let mut k = j + 1;
    // A second designator: "# APT 3", "Apt # 3".
    if k < end && !tokens[k - 1].ends_with(',') && is_unit_start(tokens[k]) {
        if one(clean(tokens[k])) {
            return Some(k + 1);
        }
        k += 1;
    }
    // The id has a digit or is one or two characters ("4B", "A", "PH"), so "Ste Genevieve"
    // is a city, not a suite.
    let id = clean(
        tokens
            .get(k)
            .filter(|_| k < end && !tokens[k - 1].ends_with(','))?,
    );
    (id.bytes().any(|b| b.is_ascii_digit()) || (1..=2).contains(&id.len())).then_some(k + 1)
}

/// A box or route id: "12", "1A", "e3", "#7" (has a digit, short, alphanumeric).
fn is_box_id(t: &str) -> bool {
    let t = clean(t).trim_start_matches('#');
    (1..=8).contains(&t.len())
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A USPS box line (Pub 28: post office box, rural route, highway contract) within `tokens[..end]`: "PO Box 12", "P.O. Box
/// 12", "Lock Box 9", "Post Office Box 3", "RR 2 Box 15", "Rural Route 1", "HC 64 Box 3",
/// "Highway Contract Route 5 Box 2", "PSC 2 Box 9". Returns its token range.
fn box_line(tokens: &[&str], end: usize) -> Option<(usize, usize)> {
    let w: Vec<String> = tokens[..end].iter().map(|t| word(t)).collect();
    let open = |i: usize| !tokens[i].ends_with(',');
    let is = |i: usize, s: &str| i < end && w[i] == s;
    // The id after a designator ending at `i` (exclusive), with an optional "#" or "No".
    let id_after = |i: usize| -> Option<usize> {
        if i == 0 || i >= end || !open(i - 1) {
            return None;
        }
        let i = if (w[i] == "#" || w[i] == "no") && open(i) {
            i + 1
        } else {
            i
        };
        (i < end && is_box_id(tokens[i])).then_some(i + 1)
    };
    // The box designator starting at `i`; returns the index after it.
    let box_word = |i: usize| -> Option<usize> {
        let both = |a: &str, b: &str| is(i, a) && open(i) && is(i + 1, b);
        match w.get(i).map(String::as_str)? {
            "box" | "pob" | "pobox" | "drawer" => Some(i + 1),
            "po" | "lock" | "call" if both(&w[i], "box") => Some(i + 2),
            "p" if both("p", "o") && open(i + 1) && is(i + 2, "box") => Some(i + 3),
            "post" if both("post", "office") && open(i + 1) && is(i + 2, "box") => Some(i + 3),
            _ => None,
        }
    };
    for (s, ws) in w.iter().enumerate() {
        // Rural route / highway contract / military group, optionally followed by a box.
        let group = match ws.as_str() {
            "rr" | "hc" | "hcr" | "psc" | "cmr" => Some(s + 1),
            "rural" | "star" if open(s) && (is(s + 1, "route") || is(s + 1, "rte")) => Some(s + 2),
            "highway" | "hwy" if open(s) && is(s + 1, "contract") => {
                let r = open(s + 1) && (is(s + 2, "route") || is(s + 2, "rte"));
                Some(if r { s + 3 } else { s + 2 })
            }
            _ => None,
        };
        if let Some(id_end) = group.and_then(id_after) {
            let e = box_word(id_end)
                .and_then(id_after)
                .filter(|_| open(id_end - 1))
                .unwrap_or(id_end);
            return Some((s, e));
        }
        if let Some(e) = box_word(s).and_then(id_after) {
            return Some((s, e));
        }
    }
    None
}

/// A numbered route as the street (Pub 28 highway and route names): "Highway 80",
/// "State Route 66", "US Highway 22 North", "U.S. 17 Business", "County Road GV",
/// "State Highway No 33", "Route # A", with the house number and pre-direction in front when
/// there are any ("406 N Highway 71"). Returns the token range.
fn route_street(tokens: &[&str], end: usize) -> Option<(usize, usize)> {
    let w: Vec<String> = tokens[..end].iter().map(|t| word(t)).collect();
    let open = |i: usize| !tokens[i].ends_with(',');
    let closes = |i: usize| !open(i) || i + 1 == end || is_unit_start(tokens[i + 1]);
    for p in 0..end {
        let mut i = p;
        let mut quals = 0;
        let mut us = false;
        while i < end && quals < 2 && open(i) {
            if in_list(ROUTE_QUALIFIERS, &w[i]) {
                us = w[i] == "us";
                i += 1;
            } else if w[i] == "u" && i + 1 < end && w[i + 1] == "s" && open(i + 1) {
                us = true;
                i += 2;
            } else {
                break;
            }
            quals += 1;
        }
        let typed = i < end
            && (in_list(ROUTE_TYPES, &w[i]) || (quals > 0 && (w[i] == "road" || w[i] == "rd")));
        if typed && open(i) {
            i += 1;
        } else if typed || !us {
            // A type ending its segment ("Highway,"), or no type and no "US" ("U.S. 17").
            continue;
        }
        let mut lenient = quals > 0;
        if i < end && (w[i] == "#" || w[i] == "no" || w[i] == "number") && open(i) {
            i += 1;
            lenient = true;
        }
        let Some(id) = tokens.get(i).filter(|_| i < end).map(|t| clean(t)) else {
            continue;
        };
        let id_ok = !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_alphanumeric())
            && if id.as_bytes()[0].is_ascii_digit() {
                id.len() <= 5
            } else {
                lenient && id.len() <= 3 && !is_direction(&w[i])
            };
        if !id_ok {
            continue;
        }
        let mut e = i + 1;
        if open(e - 1) && e < end {
            let single = w[e].len() == 1 && w[e].bytes().all(|b| b.is_ascii_alphabetic());
            if single && !is_direction(&w[e]) && closes(e) {
                // A lettered spur: "Highway 139 A,".
                e += 1;
            } else {
                if in_list(ROUTE_MODIFIERS, &w[e]) {
                    e += 1;
                }
                if e < end && open(e - 1) && is_direction(&w[e]) && (w[e].len() <= 2 || closes(e)) {
                    e += 1;
                }
            }
        }
        // "Highway 28 And 55": two routes on one road.
        if e + 1 < end
            && open(e - 1)
            && (w[e] == "and" || w[e] == "&")
            && open(e)
            && is_box_id(tokens[e + 1])
            && clean(tokens[e + 1]).starts_with(|c: char| c.is_ascii_digit())
        {
            e += 2;
        }
        // "Highway 356 (Irving Boulevard)": a local name in brackets stays with the route.
        if e < end
            && open(e - 1)
            && tokens[e].starts_with('(')
            && let Some(k) = (e..end).take(6).find(|&k| clean(tokens[k]).ends_with(')'))
        {
            e = k + 1;
        }
        // House number and pre-direction in front.
        let mut s = p;
        if s > 0 && open(s - 1) && is_direction(&w[s - 1]) {
            s -= 1;
        }
        if s > 0 && open(s - 1) && is_house_number(tokens, s - 1) {
            s -= 1;
        }
        // A house number further back belongs to another street.
        let earlier =
            (0..s).any(|k| is_house_number(tokens, k) && !(k > 0 && is_unit_start(tokens[k - 1])));
        if earlier {
            return None;
        }
        return Some((s, e));
    }
    None
}

/// A street that starts with a house number (or a lone "Name Street," segment) within
/// `tokens[..end]`. `city_follows` says the region follows `end`, so that with neither a
/// street type nor a comma the last word can be taken as the city. Returns the token range
/// and whether a street type was seen.
fn number_street(tokens: &[&str], end: usize, city_follows: bool) -> Option<(usize, usize, bool)> {
    // Street: from the first token that starts with a digit and is not a unit number.
    let num = (0..end).find(|&i| {
        is_house_number(tokens, i)
            && !(i > 0 && (in_list(UNIT_TYPES, tokens[i - 1]) || tokens[i - 1] == "#"))
    });
    // No house number: a first comma segment that ends in a street type ("Buford Street,").
    let num = num.or_else(|| {
        let first_comma = tokens[..end].iter().position(|t| t.ends_with(','))?;
        (first_comma > 0 && in_list(STREET_TYPES, tokens[first_comma])).then_some(0)
    });
    let n = num?;
    // The street runs to the first comma, a unit keyword, or the street type (+ direction).
    let mut i = n + 1;
    let mut types = Vec::new();
    while i < end {
        let t = tokens[i];
        if is_unit_start(t) {
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
    let mut last_type = types.last().copied();
    // "Ave S Uptown Square": a post-directional is the last element of a street name (Pub
    // 28 order), so what follows it is a building or the city.
    if let Some(&t) = types[..types.len().saturating_sub(1)].iter().find(|&&t| {
        let d = word(tokens[t + 1]);
        !tokens[t].ends_with(',') && d.len() <= 2 && is_direction(&d)
    }) {
        last_type = Some(t);
    }
    // "Pl St Louis": a trailing "St" after another type starts the city ("St. Louis").
    if types.len() >= 2
        && let Some(lt) = last_type
        && lt == types[types.len() - 1]
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
        // spelled-out direction only when it closes the segment ("Street Southeast,") or a
        // unit follows ("Avenue Northwest Suite 1500").
        if se < end && !tokens[lt].ends_with(',') {
            let t = clean(tokens[se]).trim_end_matches('.');
            let abbrev_dir = t.len() <= 2 && in_list(DIRECTIONS, t);
            let closing = tokens[se].ends_with(',')
                || se + 1 == end
                || (se + 1 < end && is_unit_start(tokens[se + 1]));
            let route = t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit());
            if (in_list(DIRECTIONS, t) && (abbrev_dir || closing)) || route {
                se += 1;
            }
        }
    } else if !comma_ended && city_follows && se == end && end > n + 2 {
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
    Some((n, se, last_type.is_some()))
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
    // A box line ("PO Box 12", "RR 2 Box 15") is the delivery line unless a numbered street
    // precedes it; the city follows it.
    let boxed = box_line(&tokens, end);
    let street_limit = boxed.map_or(end, |(bs, _)| bs);
    let street = route_street(&tokens, street_limit)
        .or_else(|| {
            let city_follows = boxed.is_none() && a.region.is_some();
            number_street(&tokens, street_limit, city_follows)
                .filter(|&(_, _, typed)| typed || boxed.is_none())
                .map(|(s, e, _)| (s, e))
        })
        .or(boxed);
    let mut street_end = None;
    if let Some((n, se)) = street {
        a.street = join(&tokens[n..se]);
        let mut j = se;
        if let Some(k) = unit_at(&tokens, j, end) {
            a.unit = join(&tokens[j..k]);
            j = k;
        }
        if let Some((_, be)) = boxed {
            j = j.max(be);
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
        // "The Chadwick, Apt 5 Los Angeles": a unit written after a building name.
        if let Some(k) = unit_at(&tokens, start, end).filter(|&k| k < end) {
            a.unit
                .get_or_insert_with(|| join(&tokens[start..k]).unwrap_or_default());
            start = k;
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
        let title_and_upper = |list: &str| {
            list.split(' ')
                .flat_map(|t| {
                    let mut title = t.to_string();
                    title[..1].make_ascii_uppercase();
                    [title, t.to_ascii_uppercase()]
                })
                .collect::<Vec<_>>()
                .join("|")
        };
        // Street types capitalised ("Way", "WAY"), so "2 cats on the way" is not an address.
        let types = title_and_upper(STREET_TYPES);
        let units = "apt|apartment|suite|ste|unit|fl|floor|rm|room|bldg|#";
        let dirs = "n|s|e|w|ne|nw|se|sw|north|south|east|west";
        // Codes only in capitals ("IN", "OR", "ME" are words too); names in any case.
        let codes = REGIONS
            .iter()
            .map(|(c, _, _)| *c)
            .collect::<Vec<_>>()
            .join("|");
        let names = REGIONS
            .iter()
            .map(|(_, n, _)| n.replace(' ', r"\s+"))
            .collect::<Vec<_>>()
            .join("|");
        let regions = format!("{codes}|(?i:{names})");
        // "Highway 71 Business", "Route # 9", "Hwy No. 12".
        let route_types = title_and_upper("highway hwy route rte rt");
        let route_mods = title_and_upper("business bypass alternate alt spur truck");
        let route = format!(
            r"(?:{route_types})\.?\s+(?:(?i:no)\.?\s+|#\s*)?\d{{1,4}}[A-Z]?\b(?:\s+(?:{route_mods})\b)?"
        );
        let street = format!(
            r"\b\d{{1,6}}[A-Za-z]?(?:-\d{{1,5}})?\s+(?:(?:{dirs})\.?\s+)?(?:[A-Z0-9][A-Za-z0-9'.-]*\s+){{0,4}}?(?:{route}|(?:{types})\b\.?)(?:\s+(?i:{dirs})\b\.?)?"
        );
        let unit = format!(r"(?:,?\s*(?i:{units})\.?\s*[A-Za-z0-9-]{{1,6}}\b)?");
        let tail = format!(
            r",?\s+(?:[A-Z][A-Za-z'.-]*\s+){{0,3}}?[A-Z][A-Za-z'.-]*,?\s+(?:{regions})\b\.?(?:,?\s+(?:\d{{5}}(?:-\d{{4}})?|[A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d))?(?:,?\s+(?i:usa|united\s+states|canada)\b)?"
        );
        // Box lines ("PO Box 12", "RR 2 Box 15", "HC 64") only with a city and region after.
        let box_core = r"(?:(?i:p\.?\s?o\.?\s*|post\s+office\s+|lock\s+)?(?:Box|BOX|box)\s*#?\s*\d{1,6}[A-Za-z]?\b)";
        let group = format!(
            r"(?:RR|HC|HCR|Rural\s+Route|RURAL\s+ROUTE)\s*#?\s*\d{{1,4}}\b(?:,?\s+{box_core})?"
        );
        AddressFinder {
            re: Regex::new(&format!(
                r"{street}{unit}(?:{tail})?|\b(?:{group}|{box_core}){tail}"
            ))
            .expect("static regex"),
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

    /// (street, unit, city, region, postal code) of a parsed address.
    fn parts(s: &str) -> [Option<String>; 5] {
        let a = p(s);
        [a.street, a.unit, a.city, a.region, a.postal_code]
    }

    fn want(street: &str, unit: &str, city: &str, region: &str, zip: &str) -> [Option<String>; 5] {
        [street, unit, city, region, zip].map(|x| (!x.is_empty()).then(|| x.to_string()))
    }

    #[test]
    fn po_box_is_the_street_line_and_the_city_follows_it() {
        assert_eq!(
            parts("PO Box 417 Cedar Falls IA 50613"),
            want("PO Box 417", "", "Cedar Falls", "IA", "50613")
        );
        assert_eq!(
            parts("P.O. Box 88, Walla Walla, WA 99362"),
            want("P.O. Box 88", "", "Walla Walla", "WA", "99362")
        );
        assert_eq!(
            parts("post office box # 7 Glen Ellyn il 60137"),
            want("post office box # 7", "", "Glen Ellyn", "IL", "60137")
        );
        assert_eq!(
            parts("lock box 12 twin falls id 83301"),
            want("lock box 12", "", "twin falls", "ID", "83301")
        );
        // "Box Elder" is a name, not a box.
        assert_eq!(
            parts("18 Box Elder Rd Provo UT 84601"),
            want("18 Box Elder Rd", "", "Provo", "UT", "84601")
        );
    }

    #[test]
    fn rural_route_and_highway_contract_boxes() {
        assert_eq!(
            parts("RR 2 Box 18 Red Oak IA 51566"),
            want("RR 2 Box 18", "", "Red Oak", "IA", "51566")
        );
        assert_eq!(
            parts("hc 64 box 1190 tok ak 99780"),
            want("hc 64 box 1190", "", "tok", "AK", "99780")
        );
        assert_eq!(
            parts("Rural Route 4, Paris, ON N3L 3E3"),
            want("Rural Route 4", "", "Paris", "ON", "N3L 3E3")
        );
        assert_eq!(
            parts("Highway Contract Route 9 Box 2A Big Sky MT 59716"),
            want(
                "Highway Contract Route 9 Box 2A",
                "",
                "Big Sky",
                "MT",
                "59716"
            )
        );
    }

    #[test]
    fn words_before_a_box_are_not_the_city() {
        // A mail stop or department in front of the box.
        assert_eq!(
            parts("Attn Billing PO Box 5000 Carol Stream IL 60197"),
            want("PO Box 5000", "", "Carol Stream", "IL", "60197")
        );
        assert_eq!(
            parts("mail stop 4 p o box 90 saint paul mn 55101"),
            want("p o box 90", "", "saint paul", "MN", "55101")
        );
        // A numbered street in front of the box stays the street.
        assert_eq!(
            parts("12 Elm St PO Box 3 Glen Ellyn IL 60137"),
            want("12 Elm St", "", "Glen Ellyn", "IL", "60137")
        );
    }

    #[test]
    fn numbered_routes_are_streets() {
        assert_eq!(
            parts("250 State Route 32 Lebanon OH 45036"),
            want("250 State Route 32", "", "Lebanon", "OH", "45036")
        );
        assert_eq!(
            parts("Highway 12, Twin Lakes, WI 53181"),
            want("Highway 12", "", "Twin Lakes", "WI", "53181")
        );
        assert_eq!(
            parts("Route 5, North Troy, VT 05859"),
            want("Route 5", "", "North Troy", "VT", "05859")
        );
        assert_eq!(
            parts("310 Hwy No. 7 East, Hope, AR 71801"),
            want("310 Hwy No. 7 East", "", "Hope", "AR", "71801")
        );
        assert_eq!(
            parts("County Road 9 N Elk River MN 55330"),
            want("County Road 9 N", "", "Elk River", "MN", "55330")
        );
        assert_eq!(
            parts("55 Route # B, Dorset, VT 05251"),
            want("55 Route # B", "", "Dorset", "VT", "05251")
        );
        // Landmark words in front of a route without a house number are dropped.
        assert_eq!(
            parts("Near Highway 20 C, Delhi, LA 71232"),
            want("Highway 20 C", "", "Delhi", "LA", "71232")
        );
        // A route word inside a numbered street is just a name.
        assert_eq!(
            parts("500 Old Route 9 Rd, Fishkill, NY 12524"),
            want("500 Old Route 9 Rd", "", "Fishkill", "NY", "12524")
        );
    }

    #[test]
    fn route_modifiers_directions_and_aliases() {
        assert_eq!(
            parts("1800 US Highway 93 Bypass Whitefish MT 59937"),
            want("1800 US Highway 93 Bypass", "", "Whitefish", "MT", "59937")
        );
        assert_eq!(
            parts("77 U.S. 1 Alt Saint Augustine FL 32084"),
            want("77 U.S. 1 Alt", "", "Saint Augustine", "FL", "32084")
        );
        assert_eq!(
            parts("12 S Highway 61 Business Lake City MN 55041"),
            want("12 S Highway 61 Business", "", "Lake City", "MN", "55041")
        );
        assert_eq!(
            parts("Highway 3 And 11, Two Rivers, WI 54241"),
            want("Highway 3 And 11", "", "Two Rivers", "WI", "54241")
        );
        assert_eq!(
            parts("900 West Highway 50 (Main Street), Salida, CO 81201"),
            want(
                "900 West Highway 50 (Main Street)",
                "",
                "Salida",
                "CO",
                "81201"
            )
        );
    }

    #[test]
    fn grid_and_letter_prefixed_house_numbers() {
        assert_eq!(
            parts("W204 N11509 Goldendale Rd Germantown WI 53022"),
            want("W204 N11509 Goldendale Rd", "", "Germantown", "WI", "53022")
        );
        assert_eq!(
            parts("R220 County Road 4, Liberty Center, OH 43532"),
            want("R220 County Road 4", "", "Liberty Center", "OH", "43532")
        );
    }

    #[test]
    fn post_directional_closes_the_street() {
        // "Ridge" is a street type but here starts the city.
        assert_eq!(
            parts("400 Pine Ave N Park Ridge IL 60068"),
            want("400 Pine Ave N", "", "Park Ridge", "IL", "60068")
        );
        // A building name after the directional is not the street.
        assert_eq!(
            parts("61 Lake Blvd E Harbor Court, Duluth, MN 55802"),
            want("61 Lake Blvd E", "", "Duluth", "MN", "55802")
        );
        // A spelled-out post-directional before a unit.
        assert_eq!(
            parts("75 Elm Street Southwest Suite 9, Roanoke, VA 24011"),
            want(
                "75 Elm Street Southwest",
                "Suite 9",
                "Roanoke",
                "VA",
                "24011"
            )
        );
        // Two types with no directional between them: the last one ends the street.
        assert_eq!(
            parts("8 Cedar Ridge Rd, Hudson, OH 44236"),
            want("8 Cedar Ridge Rd", "", "Hudson", "OH", "44236")
        );
    }

    #[test]
    fn highway_spellings_are_street_types() {
        assert_eq!(
            parts("4500 Coast Hiway Half Moon Bay CA 94019"),
            want("4500 Coast Hiway", "", "Half Moon Bay", "CA", "94019")
        );
        assert_eq!(
            parts("90 Pacific Hgwy Santa Cruz CA 95060"),
            want("90 Pacific Hgwy", "", "Santa Cruz", "CA", "95060")
        );
    }

    #[test]
    fn units_after_building_names_and_double_designators() {
        assert_eq!(
            parts("18 Harbor Dr The Lofts, Unit 4C Sausalito, CA 94965"),
            want("18 Harbor Dr", "Unit 4C", "Sausalito", "CA", "94965")
        );
        assert_eq!(
            parts("40 Oak Ln # Apt 7 Bristol 06010"),
            want("40 Oak Ln", "# Apt 7", "Bristol", "", "06010")
        );
        assert_eq!(
            parts("3 Hill Rd Suite 200, Department 12, Boise ID 83702"),
            want("3 Hill Rd", "Suite 200", "Boise", "ID", "83702")
        );
        // A unit id has a digit or is short, so "Ste Genevieve" stays a city.
        assert_eq!(
            parts("12 Market St Ste Genevieve MO 63670"),
            want("12 Market St", "", "Ste Genevieve", "MO", "63670")
        );
    }

    #[test]
    fn zip_plus_four_without_hyphen() {
        assert_eq!(
            parts("55 Elm St, Dover, DE 199011234"),
            want("55 Elm St", "", "Dover", "DE", "199011234")
        );
    }

    fn found(text: &str) -> Vec<(&str, Address)> {
        let mut out = Vec::new();
        AddressFinder::new().find(text, &mut out);
        out.into_iter()
            .map(|f| match f.value {
                Value::Address(a) => (&text[f.span], a),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn finds_box_lines_and_routes_in_text() {
        let got = found("Mail it to PO Box 417, Cedar Falls, IA 50613 please.");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "PO Box 417, Cedar Falls, IA 50613");
        assert_eq!(got[0].1.street.as_deref(), Some("PO Box 417"));
        let got = found("Farm is at RR 2 Box 18, Red Oak, IA 51566.");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].1.city.as_deref(), Some("Red Oak"));
        let got = found("We're at 406 North Highway 71 Business, Lowell, AR 72745 now");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].1.street.as_deref(),
            Some("406 North Highway 71 Business")
        );
        assert_eq!(got[0].1.city.as_deref(), Some("Lowell"));
        // Region names in any case.
        let got = found("Send to 12 Oak Street, Springfield, Illinois 62701.");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "12 Oak Street, Springfield, Illinois 62701");
        // No city and region: not an address.
        assert!(found("I have box 3 of 5 ready, and RR 2 is late").is_empty());
        assert!(found("the highway 5 times today").is_empty());
    }
}
