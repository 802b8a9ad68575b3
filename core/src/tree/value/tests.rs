use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn ok(text: &str) -> Value {
    parse_value(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn err(text: &str) -> ValueError {
    parse_value(text).expect_err(text)
}

#[test]
fn numbers() {
    assert_eq!(ok("3"), json!(3));
    assert_eq!(ok("-3"), json!(-3));
    assert_eq!(ok("+3"), json!(3));
    assert_eq!(ok("1.5"), json!(1.5));
    assert_eq!(ok("-1.5e3"), json!(-1500.0));
    assert_eq!(ok("1E-2"), json!(0.01));
    assert_eq!(ok(".5"), json!(0.5));
    assert_eq!(ok("5."), json!(5.0));
    assert_eq!(ok("0x1f"), json!(31));
    assert_eq!(ok("0o17"), json!(15));
    assert_eq!(ok("0b101"), json!(5));
    assert_eq!(ok("1_000"), json!(1000));
    assert_eq!(ok("1.e2"), json!(100.0));
    assert_eq!(ok("1_0.2_5E+0_1"), json!(102.5));
    assert_eq!(ok("10L"), json!(10));
    assert_eq!(ok("9223372036854775807"), json!(i64::MAX));
    assert_eq!(ok("-9223372036854775808"), json!(i64::MIN));
}

#[test]
fn number_errors() {
    assert!(err("9223372036854775808").message.contains("out of range"));
    assert!(err("012").message.contains("leading zeros"));
    assert!(err("1e999").message.contains("out of range"));
    assert!(err("nan").message.contains("JSON cannot hold"));
    assert!(err("inf").message.contains("JSON cannot hold"));
    assert!(err("1j").message.contains("complex"));
    assert_eq!(err("12abc").column, 3);
    assert!(err(".").message.contains("found `.`"));
    assert!(err("1e").message.contains("bad exponent"));
    assert!(err("0x").message.contains("expected digits"));
}

#[test]
fn constants_in_both_spellings() {
    assert_eq!(ok("True"), json!(true));
    assert_eq!(ok("true"), json!(true));
    assert_eq!(ok("False"), json!(false));
    assert_eq!(ok("false"), json!(false));
    assert_eq!(ok("None"), json!(null));
    assert_eq!(ok("null"), json!(null));
}

#[test]
fn strings() {
    assert_eq!(ok("'red'"), json!("red"));
    assert_eq!(ok("\"red\""), json!("red"));
    assert_eq!(ok("u'red'"), json!("red"));
    assert_eq!(ok(r"r'a\nb'"), json!("a\\nb"));
    assert_eq!(ok(r"b'\xff'"), json!("\u{ff}"));
    assert_eq!(ok(r"'a\tb\n\\\'\x41\101'"), json!("a\tb\n\\'AA"));
    assert_eq!(ok(r"'\u00e9\U0001F600'"), json!("é😀"));
    assert_eq!(ok(r#""\ud83d\ude00""#), json!("😀"));
    assert_eq!(ok(r"'\q'"), json!("\\q"));
    assert_eq!(ok("'a' \"b\""), json!("ab"));
    assert_eq!(ok("'''x'y'''"), json!("x'y"));
}

#[test]
fn string_errors() {
    assert_eq!(err("'abc").column, 1);
    assert!(err("'abc").message.contains("unterminated"));
    assert!(err(r"'\ud800'").message.contains("surrogate"));
    assert!(err(r"'\x4'").message.contains("hex"));
    assert!(err("f'x'").message.contains("unknown name"));
}

#[test]
fn containers() {
    assert_eq!(ok("[1, 'a']"), json!([1, "a"]));
    assert_eq!(ok("[1, 2,]"), json!([1, 2]));
    assert_eq!(ok("(1, 2)"), json!([1, 2]));
    assert_eq!(ok("(1,)"), json!([1]));
    assert_eq!(ok("()"), json!([]));
    assert_eq!(ok("(1)"), json!(1));
    assert_eq!(ok("{'a': 1, \"b\": [None, True],}"), json!({"a": 1, "b": [null, true]}));
    assert_eq!(ok("{}"), json!({}));
}

#[test]
fn container_errors() {
    assert!(err("[1, 2").message.contains("unclosed `[`"));
    assert!(err("{1: 2}").message.contains("keys must be strings"));
    assert!(err("{'a', 'b'}").message.contains("sets are not supported"));
    assert!(err("[1 2]").message.contains("expected `,` or `]`"));
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert!(err(&deep).message.contains("nested deeper"));
    let fits = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(parse_value(&fits).is_ok());
}

#[test]
fn comments_and_blanks_around_a_value() {
    assert_eq!(ok("  1  # one"), json!(1));
    assert_eq!(ok("'#' # hash"), json!("#"));
}

#[test]
fn code_is_never_evaluated() {
    let e = err("1+2");
    assert_eq!(e.column, 2);
    assert!(e.message.contains("after a complete value"), "{}", e.message);
    let e = err("range(3)");
    assert_eq!(e.column, 1);
    assert!(e.message.contains("unknown name `range`"), "{}", e.message);
    assert!(err("__import__('os')").message.contains("unknown name"));
    assert!(err("").message.contains("expected a value"));
}

#[test]
fn column_counts_characters() {
    assert_eq!(err("'é' x").column, 5);
}

#[test]
fn repr_like_python() {
    assert_eq!(format_value(&json!("red")), "'red'");
    assert_eq!(format_value(&json!(3)), "3");
    assert_eq!(format_value(&json!(true)), "True");
    assert_eq!(format_value(&json!(false)), "False");
    assert_eq!(format_value(&json!(null)), "None");
    assert_eq!(format_value(&json!([1, "a"])), "[1, 'a']");
    assert_eq!(format_value(&json!({"a": 1, "b": {}})), "{'a': 1, 'b': {}}");
    assert_eq!(format_value(&json!(u64::MAX)), "18446744073709551615");
}

#[test]
fn repr_of_strings_picks_quotes_and_escapes() {
    assert_eq!(format_value(&json!("it's")), "\"it's\"");
    assert_eq!(format_value(&json!("it's \"x\"")), r#"'it\'s "x"'"#);
    assert_eq!(format_value(&json!("a\nb\t\\\u{0}\u{7f}")), r"'a\nb\t\\\x00\x7f'");
    assert_eq!(format_value(&json!("é\u{200b}😀")), r"'é\u200b😀'");
}

#[test]
fn repr_of_floats() {
    let cases = [
        (1.5, "1.5"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (123456789012345.6, "123456789012345.6"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-2.5e-300, "-2.5e-300"),
    ];
    for (f, text) in cases {
        assert_eq!(format_value(&json!(f)), text);
    }
}

proptest! {
    #[test]
    fn repr_reads_back(value in crate::testkit::value()) {
        let text = format_value(&value);
        prop_assert!(!text.contains('\n'), "{}", text);
        prop_assert_eq!(parse_value(&text), Ok(value));
    }

    #[test]
    fn reader_never_panics(text in "[-+ 0-9.eExobj_'\"\\\\uUNrR\\[\\](){},:#a-zTFN]{0,40}") {
        let _ = parse_value(&text);
    }

    #[test]
    fn reader_never_panics_on_any_text(text in any::<String>()) {
        let _ = parse_value(&text);
    }
}
