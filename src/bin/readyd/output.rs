//! The timeline `readyd run` prints: one line per event, the milliseconds since the
//! daemon was started first; or, with `--json`, one JSON object per line.
//!
//! Output errors are ignored on purpose: a reader that went away (`readyd run ... | head`)
//! must not stop the supervision, and must never turn into a panic.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::Write;
use std::time::Instant;

/// A JSON value being written: only what the events need.
pub enum Json<'a> {
    Num(i64),
    Str(&'a str),
    Bool(bool),
    /// Already rendered JSON (a nested object or array).
    Raw(String),
}

/// Appends `s` as a JSON string literal: quotes, backslashes and every control character
/// escaped; everything else (valid UTF-8) as is.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `{"k":v,...}` from pairs, in order.
pub fn json_object(pairs: &[(&str, Json<'_>)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, key);
        out.push(':');
        match value {
            Json::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => push_json_string(&mut out, s),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Raw(r) => out.push_str(r),
        }
    }
    out.push('}');
    out
}

/// `["a","b"]`.
pub fn json_string_array<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, s.as_ref());
    }
    out.push(']');
    out
}

/// A value for the text timeline: as is when it is plain, else quoted with C-like
/// escapes so that one field never looks like two.
pub fn quote_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '"' && c != '\\');
    if plain {
        return v.to_owned();
    }
    quote_bytes(v.as_bytes())
}

/// Bytes as a double-quoted C-like literal (`"READY=1\n"`).
pub fn quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// A line of the text timeline with every control character (C0, DEL, C1) written as
/// `\xNN`: text a daemon sent can never start a line of its own, move the cursor or
/// colour the terminal, so it cannot forge a verdict.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Where the events go.
pub struct Timeline {
    json: bool,
    start: Instant,
    /// Warnings printed so far (for --strict), and the first one's text.
    warnings: Cell<usize>,
    first_warning: RefCell<Option<String>>,
}

impl Timeline {
    pub fn new(json: bool, start: Instant) -> Timeline {
        Timeline {
            json,
            start,
            warnings: Cell::new(0),
            first_warning: RefCell::new(None),
        }
    }

    /// How many warnings were printed, and the first one.
    pub fn warnings(&self) -> (usize, Option<String>) {
        (self.warnings.get(), self.first_warning.borrow().clone())
    }

    /// Milliseconds since the start.
    pub fn ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn emit(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// One event: in text, `  ms ms  [pid P  ]text`; in JSON, `t_ms`, `pid` (if any),
    /// `event` and the pairs given.
    pub fn event(
        &self,
        pid: Option<libc::pid_t>,
        event: &str,
        text: &str,
        pairs: Vec<(&str, Json<'_>)>,
    ) {
        let t = self.ms();
        if self.json {
            let mut all = vec![("t_ms", Json::Num(t as i64))];
            if let Some(pid) = pid {
                all.push(("pid", Json::Num(i64::from(pid))));
            }
            all.push(("event", Json::Str(event)));
            all.extend(pairs);
            self.emit(&json_object(&all));
        } else {
            let text = escape_controls(text);
            match pid {
                Some(pid) => self.emit(&format!("{t:>5} ms  pid {pid}  {text}")),
                None => self.emit(&format!("{t:>5} ms  {text}")),
            }
        }
    }

    /// A protocol mistake the daemon made (or a supervisor would see).
    pub fn warning(&self, text: &str) {
        self.warnings.set(self.warnings.get() + 1);
        self.first_warning
            .borrow_mut()
            .get_or_insert_with(|| escape_controls(text).into_owned());
        self.event(
            None,
            "warning",
            &format!("warning: {text}"),
            vec![("text", Json::Str(text))],
        );
    }

    /// A notification datagram: its fields in order, and how many fds came with it.
    pub fn message(&self, pid: libc::pid_t, fields: &[(String, String)], fds: usize, note: &str) {
        let mut text = String::new();
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            let _ = write!(text, "{k}={}", quote_value(v));
        }
        if fields.is_empty() {
            text.push_str("(empty message)");
        }
        if fds > 0 {
            let _ = write!(text, "  [+{fds} fd{}]", if fds == 1 { "" } else { "s" });
        }
        if !note.is_empty() {
            let _ = write!(text, "  ({note})");
        }
        let pairs: Vec<(&str, Json<'_>)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), Json::Str(v)))
            .collect();
        let mut json = vec![("fields", Json::Raw(json_object(&pairs)))];
        if fds > 0 {
            json.push(("fds", Json::Num(fds as i64)));
        }
        if !note.is_empty() {
            json.push(("note", Json::Str(note)));
        }
        self.event(Some(pid), "message", &text, json);
    }

    /// The verdict line: `ready after N ms with MAINPID M`, or `not ready ...`.
    pub fn verdict(&self, verdict: &Verdict) {
        match verdict {
            Verdict::Ready { after_ms, mainpid } => {
                if self.json {
                    self.emit(&json_object(&[
                        ("t_ms", Json::Num(self.ms() as i64)),
                        ("event", Json::Str("verdict")),
                        ("ready", Json::Bool(true)),
                        ("after_ms", Json::Num(*after_ms as i64)),
                        ("mainpid", Json::Num(i64::from(*mainpid))),
                    ]));
                } else {
                    self.emit(&format!("ready after {after_ms} ms with MAINPID {mainpid}"));
                }
            }
            Verdict::NotReady(reason) => {
                if self.json {
                    self.emit(&json_object(&[
                        ("t_ms", Json::Num(self.ms() as i64)),
                        ("event", Json::Str("verdict")),
                        ("ready", Json::Bool(false)),
                        ("reason", Json::Str(reason)),
                    ]));
                } else {
                    self.emit(&escape_controls(reason));
                }
            }
        }
    }
}

/// Whether the daemon became ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ready {
        after_ms: u64,
        mainpid: libc::pid_t,
    },
    /// The whole line, starting with "not ready".
    NotReady(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\nd\te\u{1}f\u{7f}é");
        assert_eq!(s, r#""a\"b\\c\nd\te\u0001f\u007fé""#);
    }

    #[test]
    fn json_objects() {
        let o = json_object(&[
            ("n", Json::Num(-3)),
            ("s", Json::Str("x")),
            ("b", Json::Bool(true)),
            ("r", Json::Raw(json_string_array(&["a", "b"]))),
        ]);
        assert_eq!(o, r#"{"n":-3,"s":"x","b":true,"r":["a","b"]}"#);
    }

    #[test]
    fn text_values_quote_only_when_needed() {
        assert_eq!(quote_value("ready"), "ready");
        assert_eq!(quote_value("serving 3"), "\"serving 3\"");
        assert_eq!(quote_value(""), "\"\"");
        assert_eq!(quote_bytes(b"READY=1\n\xff"), "\"READY=1\\n\\xff\"");
    }

    #[test]
    fn control_characters_never_reach_a_text_line() {
        assert_eq!(escape_controls("plain é"), "plain é");
        assert_eq!(
            escape_controls("a\rready after 1 ms\n\u{1b}[2K\u{7f}\u{85}"),
            "a\\x0dready after 1 ms\\x0a\\x1b[2K\\x7f\\x85"
        );
    }
}
