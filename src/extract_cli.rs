//! `clientele extract`: contact facts for a stream of messages, JSON lines in and out.
//!
//! Each input line is one message:
//!
//! ```text
//! {"id": 7, "text": "I'm Ana Li, call 416-555-1234", "channel": "sms", "sender": "+14165550000"}
//! ```
//!
//! `id` may be any JSON value (or absent: `null`) and is echoed back; `channel` (email, sms,
//! voice, chat, web, other) and `sender` are optional. Each message gives one output line,
//!
//! ```text
//! {"id": 7, "facts": [{"span": {"start": 4, "end": 10}, "rule": "...", "kind": "person", ...}]}
//! ```
//!
//! and a line that cannot be read gives `{"line": N, "error": "..."}` (N counts from 1, blank
//! lines included) without stopping the run. Blank lines are skipped.

use std::io::{BufRead, BufWriter, Write};

use anyhow::{Context, bail};
use clientele_extract::{Channel, Extractor, Facts, MessageContext, Options, phonenumber};
use serde::Serialize;
use serde_json::{Map, Value};

/// What a run did: `lines` messages read (blank lines not counted), of which `errors` could not
/// be read and were answered with an error line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: usize,
    pub errors: usize,
}

/// Reads JSON-lines messages from `input` and writes one JSON line per message to `output`,
/// extracting with `region` (an ISO 3166 code such as `US` or `ca`) as the default region for
/// phone numbers written without a country code.
///
/// Fails on an unknown region (before reading anything) and on I/O errors; a bad line only
/// produces an error line. Output is buffered and flushed before returning.
pub fn run(region: &str, mut input: impl BufRead, output: impl Write) -> anyhow::Result<Summary> {
    let default_region = parse_region(region)?;
    let extractor = Extractor::new(Options {
        default_region,
        ..Options::default()
    });
    let mut out = BufWriter::new(output);
    let mut summary = Summary::default();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading input line {}", line_no + 1))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let reply = match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => answer(&extractor, line),
            Err(e) => Err(format!("line is not valid UTF-8: {e}")),
        };
        summary.lines += 1;
        match reply {
            Ok(reply) => serde_json::to_writer(&mut out, &reply),
            Err(error) => {
                summary.errors += 1;
                serde_json::to_writer(
                    &mut out,
                    &LineError {
                        line: line_no,
                        error,
                    },
                )
            }
        }
        .with_context(|| format!("writing output for input line {line_no}"))?;
        out.write_all(b"\n")
            .with_context(|| format!("writing output for input line {line_no}"))?;
    }
    out.flush().context("flushing output")?;
    Ok(summary)
}

/// `"us"` / `"US"` -> the region id; anything else is an error that names the flag.
fn parse_region(region: &str) -> anyhow::Result<phonenumber::country::Id> {
    let code = region.trim().to_ascii_uppercase();
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        bail!("--region {region:?} is not a two-letter country code (e.g. US, CA, GB)");
    }
    code.parse().ok().with_context(|| {
        format!("--region {region:?} is not a known country code (e.g. US, CA, GB)")
    })
}

/// The output line for one message (fields in this order).
#[derive(Serialize)]
struct Reply {
    id: Value,
    facts: Facts,
}

/// The output line for an input line that could not be read.
#[derive(Serialize)]
struct LineError {
    line: usize,
    error: String,
}

/// The reply to one non-blank line, or the error message for it.
fn answer(extractor: &Extractor, line: &str) -> Result<Reply, String> {
    let msg: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut msg) = msg else {
        return Err("expected a JSON object".into());
    };
    let text = match msg.get("text") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err("\"text\" must be a string".into()),
        None => return Err("missing \"text\"".into()),
    };
    let ctx = MessageContext {
        channel: channel(&msg)?,
        sender: match msg.get("sender") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err("\"sender\" must be a string".into()),
        },
    };
    let facts = extractor.extract(text, &ctx);
    let id = msg.remove("id").unwrap_or(Value::Null);
    Ok(Reply { id, facts })
}

fn channel(msg: &Map<String, Value>) -> Result<Channel, String> {
    let name = match msg.get("channel") {
        None | Some(Value::Null) => return Ok(Channel::default()),
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(_) => return Err("\"channel\" must be a string".into()),
    };
    Ok(match name.as_str() {
        "email" => Channel::Email,
        "sms" => Channel::Sms,
        "voice" => Channel::Voice,
        "chat" => Channel::Chat,
        "web" => Channel::Web,
        "other" => Channel::Other,
        _ => {
            return Err(format!(
                "unknown \"channel\" {name:?} (expected email, sms, voice, chat, web or other)"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Runs on `input` and returns the summary and the parsed output lines.
    fn run_on(region: &str, input: &str) -> (Summary, Vec<Value>) {
        let mut out = Vec::new();
        let summary = run(region, input.as_bytes(), &mut out).expect("run");
        let text = String::from_utf8(out).expect("utf-8 output");
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
            .collect();
        (summary, lines)
    }

    fn kinds(reply: &Value) -> Vec<&str> {
        reply["facts"]
            .as_array()
            .expect("facts array")
            .iter()
            .map(|f| f["kind"].as_str().expect("kind"))
            .collect()
    }

    #[test]
    fn one_output_line_per_message_with_the_same_id() {
        let input = concat!(
            r#"{"id": 1, "text": "Hi, I'm Ming Li, mail ming@example.com"}"#,
            "\n",
            r#"{"id": "abc-2", "text": "ok", "channel": "chat"}"#,
            "\n",
            r#"{"id": {"thread": 9, "n": [1, 2]}, "text": "call 416-555-1234", "channel": "sms", "sender": "+14165550000"}"#,
            "\n",
        );
        let (summary, out) = run_on("CA", input);
        assert_eq!(
            summary,
            Summary {
                lines: 3,
                errors: 0
            }
        );
        assert_eq!(out.len(), 3);
        assert_eq!(out[0]["id"], json!(1));
        assert_eq!(out[1]["id"], json!("abc-2"));
        assert_eq!(out[2]["id"], json!({"thread": 9, "n": [1, 2]}));
        assert!(kinds(&out[0]).contains(&"email"), "{}", out[0]);
        assert!(kinds(&out[0]).contains(&"person"), "{}", out[0]);
        assert_eq!(out[1]["facts"], json!([]));
        let phone = &out[2]["facts"][0];
        assert_eq!(phone["kind"], "phone");
        assert_eq!(phone["e164"], "+14165551234");
        assert_eq!(phone["span"], json!({"start": 5, "end": 17}));
        assert!(phone["rule"].is_string());
    }

    #[test]
    fn the_region_is_used_for_national_numbers() {
        let input = r#"{"id": 1, "text": "ring me on 020 7031 3000"}"#;
        let (_, gb) = run_on("gb", input);
        assert_eq!(gb[0]["facts"][0]["e164"], "+442070313000", "{}", gb[0]);
        let (_, us) = run_on("US", input);
        assert!(!kinds(&us[0]).contains(&"phone"), "{}", us[0]);
    }

    #[test]
    fn unknown_region_is_an_error_naming_the_flag() {
        for region in ["XX", "usa", "", "1A"] {
            let mut out = Vec::new();
            let err = run(region, &b"{\"text\": \"hi\"}\n"[..], &mut out)
                .expect_err(region)
                .to_string();
            assert!(err.contains("--region"), "{err}");
            assert!(out.is_empty(), "nothing written before failing");
        }
    }

    #[test]
    fn bad_lines_give_error_lines_and_the_run_goes_on() {
        let input = concat!(
            "not json\n",
            "{\"id\": 2}\n",
            "\n",
            "   \r\n",
            "{\"id\": 5, \"text\": 42}\n",
            "[1, 2]\n",
            "{\"id\": 7, \"text\": \"hi\", \"channel\": \"fax\"}\n",
            "{\"id\": 8, \"text\": \"mail a@example.org\"}\r\n",
            "{\"id\": 9, \"text\": \"no newline at the end\"}",
        );
        let (summary, out) = run_on("US", input);
        assert_eq!(
            summary,
            Summary {
                lines: 7,
                errors: 5
            }
        );
        assert_eq!(out.len(), 7);
        let errors: Vec<(u64, &str)> = out[..5]
            .iter()
            .map(|o| {
                assert_eq!(o.as_object().map(|m| m.len()), Some(2), "{o}");
                (
                    o["line"].as_u64().expect("line"),
                    o["error"].as_str().expect("error"),
                )
            })
            .collect();
        assert_eq!(
            errors.iter().map(|e| e.0).collect::<Vec<_>>(),
            [1, 2, 5, 6, 7]
        );
        assert!(errors[0].1.contains("invalid JSON"), "{errors:?}");
        assert!(errors[1].1.contains("text"), "{errors:?}");
        assert!(errors[2].1.contains("text"), "{errors:?}");
        assert!(errors[3].1.contains("object"), "{errors:?}");
        assert!(errors[4].1.contains("channel"), "{errors:?}");
        assert_eq!(out[5]["id"], json!(8));
        assert_eq!(out[5]["facts"][0]["address"], "a@example.org");
        assert_eq!(out[6]["id"], json!(9));
    }

    #[test]
    fn missing_id_is_null_and_optional_fields_may_be_null() {
        let (summary, out) = run_on(
            "US",
            "{\"text\": \"hello\", \"channel\": null, \"sender\": null}\n",
        );
        assert_eq!(
            summary,
            Summary {
                lines: 1,
                errors: 0
            }
        );
        assert_eq!(out[0], json!({"id": null, "facts": []}));
    }

    #[test]
    fn invalid_utf8_is_a_line_error() {
        let mut input = b"{\"id\": 1, \"text\": \"caf".to_vec();
        input.extend_from_slice(&[0xff, 0xfe]);
        input.extend_from_slice(b"\"}\n{\"id\": 2, \"text\": \"fine\"}\n");
        let mut out = Vec::new();
        let summary = run("US", &input[..], &mut out).expect("run");
        assert_eq!(
            summary,
            Summary {
                lines: 2,
                errors: 1
            }
        );
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines[0]["line"], json!(1));
        assert!(
            lines[0]["error"]
                .as_str()
                .is_some_and(|e| e.contains("UTF-8"))
        );
        assert_eq!(lines[1]["id"], json!(2));
    }

    #[test]
    fn output_lines_are_compact_with_id_first() {
        let mut out = Vec::new();
        run("US", &b"{\"text\": \"hi\", \"id\": 3}\nbad\n"[..], &mut out).expect("run");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            "{\"id\":3,\"facts\":[]}\n{\"line\":2,\"error\":\"invalid JSON: expected value at line 1 column 1\"}\n"
        );
    }

    #[test]
    fn empty_input_writes_nothing() {
        let (summary, out) = run_on("CA", "");
        assert_eq!(summary, Summary::default());
        assert!(out.is_empty());
    }
}
