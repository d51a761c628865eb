//! Pure text -> contact facts: emails, E.164 phone numbers, person names, companies and
//! postal addresses found in one pass over a message, each with its character span and the
//! rule that found it. No IO: the domain crate decides what to do with the facts.
