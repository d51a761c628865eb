//! The automation policy: may we contact this client now, on this channel, and may
//! automation send without a human reviewing it? Pure: the caller gathers the facts in a
//! [`PolicyInput`] and [`decide`] answers with a [`Decision`] and its reasons.
//!
//! # Rules
//!
//! *May contact now* when both hold:
//! - a contact window is open in the client's zone (no windows = always open), else
//!   [`Reason::OutsideContactWindow`];
//! - the channel is allowed by the client's preferred channels, else
//!   [`Reason::ChannelNotPreferred`]. Preferences only constrain when the client set some,
//!   and only the outbound channels they name: email, SMS and phone ([`Channel::Voice`]
//!   counts as phone). On the conversational channels (chat, web, WhatsApp, Telegram,
//!   Facebook, Zalo) the client wrote to us first, so answering in that thread is allowed.
//!
//! *May auto-send* when contact is allowed now and none of these blocks it:
//! - the client is sensitive ([`Reason::Sensitive`]): sensitivity turns automation off for
//!   all of the client's threads, unless an admin overrode this one thread
//!   (`thread_override: Some(false)`, reported as the informational
//!   [`Reason::SensitivityOverridden`]); `Some(true)` marks one thread sensitive for a
//!   client that is not;
//! - never-auto-send ([`Reason::NeverAutoSend`]) or human-review-required
//!   ([`Reason::HumanReviewRequired`]) is set on the client;
//! - the client is a contractor ([`Reason::Contractor`]): contractors are routed to an agent.
//!
//! Every rule that blocks is listed, not just the first.

use crate::contact_window::{self, ContactWindow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A channel a message goes out on. Stored and exchanged in `snake_case` (`"whatsapp"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Phone,
    /// A voice call or voicemail; a phone channel for preference purposes.
    Voice,
    Chat,
    Web,
    Whatsapp,
    Telegram,
    Facebook,
    Zalo,
}

impl Channel {
    pub const ALL: [Channel; 10] = [
        Channel::Email,
        Channel::Sms,
        Channel::Phone,
        Channel::Voice,
        Channel::Chat,
        Channel::Web,
        Channel::Whatsapp,
        Channel::Telegram,
        Channel::Facebook,
        Channel::Zalo,
    ];

    /// The `snake_case` name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Phone => "phone",
            Channel::Voice => "voice",
            Channel::Chat => "chat",
            Channel::Web => "web",
            Channel::Whatsapp => "whatsapp",
            Channel::Telegram => "telegram",
            Channel::Facebook => "facebook",
            Channel::Zalo => "zalo",
        }
    }

    /// The preference this channel answers to: `Email`, `Sms` or `Phone` (for `Phone` and
    /// `Voice`); `None` for the conversational channels, which preferences do not restrict.
    pub fn preference(self) -> Option<Channel> {
        match self {
            Channel::Email | Channel::Sms | Channel::Phone => Some(self),
            Channel::Voice => Some(Channel::Phone),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;

    /// Case-insensitive `snake_case` name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown channel {s:?}"))
    }
}

/// The facts about one client (or one of its conversations) that the policy needs.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyInput {
    /// The client is marked sensitive: no automation on any of its threads.
    pub sensitive: bool,
    /// An admin's override for this one conversation: `Some(false)` treats it as not
    /// sensitive, `Some(true)` as sensitive; `None` follows the client.
    pub thread_override: Option<bool>,
    pub never_auto_send: bool,
    pub human_review_required: bool,
    /// Contractor clients are routed to an agent, never auto-answered.
    pub contractor: bool,
    /// The client's preferred channels (email, sms, phone); empty = no preference.
    pub preferred_channels: Vec<Channel>,
    /// The client's contact windows; empty = any time.
    pub windows: Vec<ContactWindow>,
    /// The channel asked about.
    pub channel: Channel,
    /// The instant asked about.
    pub at: DateTime<Utc>,
}

/// The answer to [`decide`]. `may_auto_send` implies `may_contact_now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub may_contact_now: bool,
    pub may_auto_send: bool,
    /// Every rule that blocked, in a fixed order, plus [`Reason::SensitivityOverridden`]
    /// when an admin override lifted sensitivity. Empty when everything is allowed.
    pub reasons: Vec<Reason>,
    /// When a contact window next opens; `None` when one is open now or there are none.
    pub next_window_opens_at: Option<DateTime<Utc>>,
}

/// Why a decision came out as it did. Serialises as its [`Reason::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    Sensitive,
    /// Informational: the client is sensitive but an admin overrode this thread.
    SensitivityOverridden,
    NeverAutoSend,
    HumanReviewRequired,
    Contractor,
    OutsideContactWindow,
    ChannelNotPreferred,
}

impl Reason {
    /// Stable machine code, e.g. `"OUTSIDE_CONTACT_WINDOW"`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Sensitive => "SENSITIVE",
            Reason::SensitivityOverridden => "SENSITIVITY_OVERRIDDEN",
            Reason::NeverAutoSend => "NEVER_AUTO_SEND",
            Reason::HumanReviewRequired => "HUMAN_REVIEW_REQUIRED",
            Reason::Contractor => "CONTRACTOR",
            Reason::OutsideContactWindow => "OUTSIDE_CONTACT_WINDOW",
            Reason::ChannelNotPreferred => "CHANNEL_NOT_PREFERRED",
        }
    }

    /// A sentence for people.
    pub fn message(self) -> &'static str {
        match self {
            Reason::Sensitive => {
                "The client is sensitive: automation is off for its conversations."
            }
            Reason::SensitivityOverridden => {
                "The client is sensitive, but an admin allowed automation on this conversation."
            }
            Reason::NeverAutoSend => "The client is set to never receive automatic messages.",
            Reason::HumanReviewRequired => "Messages to this client need a human review.",
            Reason::Contractor => "The client is a contractor: conversations go to an agent.",
            Reason::OutsideContactWindow => "It is outside the client's contact windows.",
            Reason::ChannelNotPreferred => "The client did not choose this channel.",
        }
    }

    /// Whether this reason blocks (all but [`Reason::SensitivityOverridden`]).
    pub fn is_blocking(self) -> bool {
        self != Reason::SensitivityOverridden
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Applies the rules in the module docs.
pub fn decide(input: &PolicyInput) -> Decision {
    let mut reasons = Vec::new();

    let sensitive = input.thread_override.unwrap_or(input.sensitive);
    if sensitive {
        reasons.push(Reason::Sensitive);
    } else if input.sensitive {
        reasons.push(Reason::SensitivityOverridden);
    }
    if input.never_auto_send {
        reasons.push(Reason::NeverAutoSend);
    }
    if input.human_review_required {
        reasons.push(Reason::HumanReviewRequired);
    }
    if input.contractor {
        reasons.push(Reason::Contractor);
    }
    let channel_ok = match input.channel.preference() {
        Some(pref) if !input.preferred_channels.is_empty() => input
            .preferred_channels
            .iter()
            .any(|c| c.preference() == Some(pref)),
        _ => true,
    };
    if !channel_ok {
        reasons.push(Reason::ChannelNotPreferred);
    }
    let window_open = contact_window::is_open(&input.windows, input.at);
    if !window_open {
        reasons.push(Reason::OutsideContactWindow);
    }

    let may_contact_now = window_open && channel_ok;
    let may_auto_send = may_contact_now && !reasons.iter().any(|r| r.is_blocking());
    Decision {
        may_contact_now,
        may_auto_send,
        reasons,
        next_window_opens_at: contact_window::next_opening(&input.windows, input.at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact_window::WindowInput;

    /// Monday 2026-03-02 10:00 in Toronto (UTC-5): inside the office-hours window.
    const MONDAY_10AM: &str = "2026-03-02T15:00:00Z";

    fn office_hours() -> ContactWindow {
        ContactWindow::parse(&WindowInput {
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            start: "09:00".into(),
            end: "17:00".into(),
            crosses_midnight: false,
            timezone: "America/Toronto".into(),
        })
        .unwrap()
    }

    /// A client nothing blocks, asked about by email inside its window.
    fn open_input() -> PolicyInput {
        PolicyInput {
            sensitive: false,
            thread_override: None,
            never_auto_send: false,
            human_review_required: false,
            contractor: false,
            preferred_channels: vec![],
            windows: vec![office_hours()],
            channel: Channel::Email,
            at: MONDAY_10AM.parse().unwrap(),
        }
    }

    fn decide_with(change: impl FnOnce(&mut PolicyInput)) -> Decision {
        let mut input = open_input();
        change(&mut input);
        let d = decide(&input);
        assert!(
            !d.may_auto_send || d.may_contact_now,
            "auto-send implies contact: {d:?}"
        );
        d
    }

    /// Blocks automation only, with exactly this reason.
    fn assert_blocks_automation(d: &Decision, reason: Reason) {
        assert!(d.may_contact_now, "{d:?}");
        assert!(!d.may_auto_send, "{d:?}");
        assert_eq!(d.reasons, vec![reason]);
    }

    #[test]
    fn nothing_blocks() {
        let d = decide_with(|_| {});
        assert!(d.may_contact_now && d.may_auto_send);
        assert!(d.reasons.is_empty());
        assert_eq!(d.next_window_opens_at, None);
    }

    #[test]
    fn each_automation_rule_alone() {
        assert_blocks_automation(&decide_with(|i| i.sensitive = true), Reason::Sensitive);
        assert_blocks_automation(
            &decide_with(|i| i.never_auto_send = true),
            Reason::NeverAutoSend,
        );
        assert_blocks_automation(
            &decide_with(|i| i.human_review_required = true),
            Reason::HumanReviewRequired,
        );
        assert_blocks_automation(&decide_with(|i| i.contractor = true), Reason::Contractor);
    }

    #[test]
    fn admin_override_lifts_sensitivity_on_one_thread() {
        let d = decide_with(|i| {
            i.sensitive = true;
            i.thread_override = Some(false);
        });
        assert!(d.may_contact_now && d.may_auto_send);
        assert_eq!(d.reasons, vec![Reason::SensitivityOverridden]);
        // An override does not lift the other rules.
        let d = decide_with(|i| {
            i.sensitive = true;
            i.thread_override = Some(false);
            i.human_review_required = true;
        });
        assert!(!d.may_auto_send);
        assert_eq!(
            d.reasons,
            vec![Reason::SensitivityOverridden, Reason::HumanReviewRequired]
        );
        // An override can also mark one thread sensitive.
        assert_blocks_automation(
            &decide_with(|i| i.thread_override = Some(true)),
            Reason::Sensitive,
        );
        // `None` follows the client.
        let d = decide_with(|i| i.thread_override = Some(false));
        assert!(d.may_auto_send && d.reasons.is_empty());
    }

    #[test]
    fn outside_the_window() {
        let d = decide_with(|i| i.at = "2026-03-02T23:00:00Z".parse().unwrap()); // 18:00
        assert!(!d.may_contact_now && !d.may_auto_send);
        assert_eq!(d.reasons, vec![Reason::OutsideContactWindow]);
        assert_eq!(
            d.next_window_opens_at,
            Some("2026-03-03T14:00:00Z".parse().unwrap())
        );
        // No windows: any time.
        let d = decide_with(|i| {
            i.windows.clear();
            i.at = "2026-03-08T03:00:00Z".parse().unwrap();
        });
        assert!(d.may_contact_now && d.may_auto_send);
        assert_eq!(d.next_window_opens_at, None);
    }

    #[test]
    fn preferred_channels() {
        let prefer = |channels: Vec<Channel>, channel: Channel| {
            decide_with(|i| {
                i.preferred_channels = channels;
                i.channel = channel;
            })
        };
        let d = prefer(vec![Channel::Sms, Channel::Phone], Channel::Email);
        assert!(!d.may_contact_now && !d.may_auto_send);
        assert_eq!(d.reasons, vec![Reason::ChannelNotPreferred]);
        assert!(prefer(vec![Channel::Sms, Channel::Email], Channel::Email).may_auto_send);
        // No preference: every channel.
        assert!(prefer(vec![], Channel::Sms).may_auto_send);
        // Voice is a phone channel.
        assert!(prefer(vec![Channel::Phone], Channel::Voice).may_auto_send);
        assert!(!prefer(vec![Channel::Email], Channel::Voice).may_contact_now);
        // The client wrote first on a conversational channel: answering there is allowed.
        for channel in [
            Channel::Chat,
            Channel::Web,
            Channel::Whatsapp,
            Channel::Zalo,
        ] {
            assert!(
                prefer(vec![Channel::Email], channel).may_auto_send,
                "{channel}"
            );
        }
    }

    #[test]
    fn every_blocking_rule_is_listed() {
        let d = decide_with(|i| {
            i.sensitive = true;
            i.never_auto_send = true;
            i.human_review_required = true;
            i.contractor = true;
            i.preferred_channels = vec![Channel::Sms];
            i.at = "2026-03-07T15:00:00Z".parse().unwrap(); // Saturday
        });
        assert!(!d.may_contact_now && !d.may_auto_send);
        assert_eq!(
            d.reasons,
            vec![
                Reason::Sensitive,
                Reason::NeverAutoSend,
                Reason::HumanReviewRequired,
                Reason::Contractor,
                Reason::ChannelNotPreferred,
                Reason::OutsideContactWindow,
            ]
        );
        assert_eq!(
            d.next_window_opens_at,
            Some("2026-03-09T13:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn reasons_and_channels_have_stable_names() {
        assert_eq!(
            Reason::OutsideContactWindow.code(),
            "OUTSIDE_CONTACT_WINDOW"
        );
        assert_eq!(
            serde_json::to_string(&Reason::SensitivityOverridden).unwrap(),
            "\"SENSITIVITY_OVERRIDDEN\""
        );
        assert!(!Reason::SensitivityOverridden.is_blocking());
        assert!(!Reason::Contractor.message().is_empty());
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
        assert_eq!("WhatsApp".parse::<Channel>(), Ok(Channel::Whatsapp));
        assert!("pigeon".parse::<Channel>().is_err());
    }
}
