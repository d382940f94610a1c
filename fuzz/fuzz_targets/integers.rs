//! systemd's integer rules (spec §2.1) as readyd implements them (`readyd::env`), against
//! the digit-by-digit model in `readyd_fuzz::model`. The input, up to its first NUL, is
//! the text of one variable; all four parsers read it.
#![no_main]

use std::ffi::CString;

use libfuzzer_sys::fuzz_target;
use readyd::env;
use readyd_fuzz::model;

fuzz_target!(|data: &[u8]| {
    let text = data.split(|&b| b == 0).next().unwrap_or_default();
    let c = CString::new(text).expect("cut at the first NUL");
    let shown = text.escape_ascii();
    // readyd first, the model second (as errno numbers: EINVAL 22, ERANGE 34).
    assert_eq!(
        env::parse_int(&c).map_err(|e| e.0),
        model::safe_atoi(text),
        "parse_int(\"{shown}\")"
    );
    assert_eq!(
        env::parse_u64(&c).map_err(|e| e.0),
        model::safe_atou64(text),
        "parse_u64(\"{shown}\")"
    );
    assert_eq!(
        env::parse_u32(&c).map_err(|e| e.0),
        model::safe_atou(text),
        "parse_u32(\"{shown}\")"
    );
    assert_eq!(
        env::parse_pid(&c).map_err(|e| e.0),
        model::parse_pid(text),
        "parse_pid(\"{shown}\")"
    );
});
