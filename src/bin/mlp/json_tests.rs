//! The unit tests of the JSON writer (`json`) and reader (`json_read`),
//! declared here rather than inside those files: `tests/report_browser.rs`
//! includes both files by path, and would run tests inside them a second
//! time.

use std::path::Path;

use crate::json::{Json, path_from_json};
use crate::json_read::parse;

#[test]
fn writes_escaped_compact_and_pretty_text() {
    let v = Json::obj([
        ("a", Json::num(1.5)),
        ("b", Json::Arr(vec![Json::Null, Json::num(f64::NAN), Json::num(3)])),
        ("s", Json::str("q\"\n")),
    ]);
    assert_eq!(v.to_compact(), r#"{"a":1.5,"b":[null,null,3],"s":"q\"\n"}"#);
    assert!(v.to_pretty().starts_with("{\n  \"a\": 1.5,"));
}

#[test]
fn reads_what_the_writer_writes() {
    let v = Json::obj([
        ("a", Json::num(1.5)),
        ("b", Json::Arr(vec![Json::Null, Json::Bool(true), Json::num(-3e-7)])),
        ("s", Json::str("q\"\n\\ é")),
        ("o", Json::obj([("x", Json::Obj(vec![]))])),
    ]);
    assert_eq!(parse(&v.to_pretty()).unwrap(), v);
    assert_eq!(parse(&v.to_compact()).unwrap(), v);
    assert_eq!(parse(r#""\u0041\/""#).unwrap(), Json::str("A/"));
}

#[test]
fn look_ups_follow_paths() {
    let v = parse(r#"{"final": {"test": {"loss": null, "accuracy": 0.5}}, "stop": "completed"}"#).unwrap();
    assert_eq!(v.num_at(&["final", "test", "accuracy"]), Some(0.5));
    assert_eq!(v.num_at(&["final", "test", "loss"]), None);
    assert_eq!(v.num_at(&["final", "nothing"]), None);
    assert_eq!(v.str_at(&["stop"]), Some("completed"));
}

#[test]
fn bad_text_is_an_error_not_a_panic() {
    for bad in ["", "{", "[1,", "{\"a\" 1}", "[1 2]", "\"abc", "nul", "1 2", "{\"a\":-}", "\"\\x\"", "\"\\u12\""] {
        assert!(parse(bad).is_err(), "{bad:?} parsed");
    }
    assert!(parse(&"[".repeat(1000)).unwrap_err().contains("nesting"));
}

#[test]
fn paths_are_recorded_exactly_even_when_not_utf8() {
    let plain = Path::new("data/é x.npz");
    assert_eq!(Json::path(plain), Json::str("data/é x.npz"));
    assert_eq!(path_from_json(&Json::path(plain)).as_deref(), Some(plain));
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"x\xff.npz"));
        let json = Json::path(odd);
        assert_eq!(json.to_compact(), "{\"not_utf8\":\"x\u{fffd}.npz\",\"bytes_hex\":\"78ff2e6e707a\"}");
        // The text read back gives the same bytes, not the lossy name.
        let text = parse(&json.to_compact()).unwrap();
        assert_eq!(path_from_json(&text).as_deref(), Some(odd));
    }
}
