//! Values that parse: a value of these types that exists is valid.

use std::fmt;

/// A syntactically valid email address, normalised to lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| format!("{s:?} has no @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(format!("{s:?} has an empty or over-long local part"));
        }
        let local_ok = local.chars().all(|c| {
            c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
        }) && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(format!("{s:?} has invalid characters before the @"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
        if !domain_ok {
            return Err(format!("{s:?} does not have a valid domain"));
        }
        Ok(Email(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A region (ISO 3166-1 alpha-2) known to the phone-number metadata, such as `CA` or `US`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region(phonenumber::country::Id);

impl Region {
    pub fn parse(input: &str) -> Result<Region, String> {
        let code = input.trim().to_ascii_uppercase();
        code.parse::<phonenumber::country::Id>()
            .map(Region)
            .map_err(|_| format!("{input:?} is not an ISO 3166-1 alpha-2 region such as CA or US"))
    }

    pub fn id(self) -> phonenumber::country::Id {
        self.0
    }

    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

/// A valid phone number in E.164 form (`+14165551234`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Reads a number as a person types it; numbers without a country code are read in
    /// `region`. Only numbers valid for their region are accepted.
    pub fn parse(input: &str, region: Region) -> Result<PhoneE164, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.chars().filter(char::is_ascii_digit).count() > 17 {
            return Err(format!("{s:?} has too many digits for a phone number"));
        }
        // A number validated a moment ago comes back in its E.164 form (an import reads a
        // row's phone, then applies it to the client): skip the metadata's regexes, which
        // cost tens of microseconds. E.164 validity does not depend on the region.
        if s.starts_with('+') && recently_valid::contains(s) {
            return Ok(PhoneE164(s.to_string()));
        }
        let number = phonenumber::parse(Some(region.id()), s)
            .map_err(|_| format!("{s:?} is not a phone number"))?;
        if !phonenumber::is_valid(&number) {
            return Err(format!(
                "{s:?} is not a valid phone number (numbers without a country code are read as {})",
                region.code()
            ));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        recently_valid::insert(&e164);
        Ok(PhoneE164(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// E.164 numbers found valid recently, at most `MAX` (forgotten all at once when full).
mod recently_valid {
    use std::collections::HashSet;
    use std::sync::{LazyLock, Mutex};

    const MAX: usize = 8192;

    static SET: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

    pub(super) fn contains(e164: &str) -> bool {
        SET.lock().is_ok_and(|set| set.contains(e164))
    }

    pub(super) fn insert(e164: &str) {
        if let Ok(mut set) = SET.lock() {
            if set.len() >= MAX {
                set.clear();
            }
            set.insert(e164.to_string());
        }
    }
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Trims free text; an empty or blank value means "no value". Fails when longer than `max`
/// characters.
pub fn clean_text(input: &str, max: usize) -> Result<Option<String>, String> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(format!("is longer than {max} characters"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err("contains control characters".into());
    }
    Ok(Some(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.COM ")
                .unwrap()
                .as_str(),
            "ada.lovelace@example.com"
        );
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@exa mple.com",
            "ada..x@example.com",
            "ada@-example.com",
            "ada@example.c0m",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn phones_are_normalised_with_the_default_region() {
        let ca = Region::parse("ca").unwrap();
        for typed in [
            "4165551234",
            "(416) 555-1234",
            "416.555.1234",
            "+1 416 555 1234",
        ] {
            assert_eq!(
                PhoneE164::parse(typed, ca).unwrap().as_str(),
                "+14165551234",
                "{typed}"
            );
        }
        let gb = Region::parse("GB").unwrap();
        assert_eq!(
            PhoneE164::parse("020 7946 0958", gb).unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn a_number_seen_valid_reads_back_from_its_e164_form_and_others_are_still_checked() {
        let (ca, gb) = (Region::parse("CA").unwrap(), Region::parse("GB").unwrap());
        let e164 = PhoneE164::parse("(613) 555-0142", ca).unwrap();
        // In any region: an E.164 number carries its country code.
        assert_eq!(PhoneE164::parse(e164.as_str(), gb).unwrap(), e164);
        // Only the exact E.164 form is remembered; anything else is parsed and checked.
        assert_eq!(
            PhoneE164::parse(" +1 613 555 0142", ca).unwrap().as_str(),
            "+16135550142"
        );
        for invalid in ["+10005550142", "+1613555014", "+161355501420"] {
            assert!(PhoneE164::parse(invalid, ca).is_err(), "{invalid}");
        }
    }

    #[test]
    fn bad_phones_are_refused() {
        let ca = Region::parse("CA").unwrap();
        for bad in [
            "",
            "12",
            "hello",
            "555-1234",
            "+1 000 000 0000",
            "1234567890123456789",
        ] {
            assert!(
                PhoneE164::parse(bad, ca).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn regions_must_be_known() {
        assert_eq!(Region::parse("us").unwrap().code(), "US");
        assert!(Region::parse("XX").is_err());
        assert!(Region::parse("Canada").is_err());
    }

    #[test]
    fn clean_text_trims_and_limits() {
        assert_eq!(clean_text("  Ada ", 10), Ok(Some("Ada".into())));
        assert_eq!(clean_text("   ", 10), Ok(None));
        assert!(clean_text("abcdefghijk", 10).is_err());
        assert!(clean_text("a\u{0}b", 10).is_err());
    }
}
