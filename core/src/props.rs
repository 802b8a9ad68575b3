//! The properties codec: a node's data is a JSON object of properties.
//!
//! Reading never loses data: empty or blank data is `{}`, a JSON object is itself, anything
//! else (not JSON, not an object, not UTF-8) becomes the single property `string_value`. The
//! original bytes are kept beside the properties so that data which is not a JSON object
//! round-trips unchanged unless the properties are changed.
//!
//! Writing never stores what reading would give back differently: [`encode`] refuses values
//! nested deeper than [`MAX_VALUE_DEPTH`], and writes a lone `string_value` raw only when
//! the raw text reads back as that same property. Decoding keeps serde_json's recursion
//! limit rather than lifting it: without it, one deeply nested node written by anyone would
//! overflow the stack of every client that reads (or drops) its value.

use serde_json::{Map, Value};

/// The property that holds data which is not a JSON object.
pub const STRING_VALUE: &str = "string_value";

/// The deepest nesting of lists and objects a property value may have (`1` is 0 deep, `[1]`
/// 1, `[[1]]` 2). serde_json decodes JSON nested at most 127 deep (its recursion limit is
/// 128) and node data wraps the values in one object, so 126 is the most that reads back.
pub const MAX_VALUE_DEPTH: usize = 126;

/// Properties that cannot be written because they would not read back as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property `{}` is nested deeper than {limit} levels, more than node data can hold", .name.escape_debug())]
pub struct EncodeError {
    /// The property whose value is too deep.
    pub name: String,
    /// The limit, [`MAX_VALUE_DEPTH`].
    pub limit: usize,
}

/// A node's decoded properties, with the raw bytes when they were not a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// The properties.
    pub properties: Map<String, Value>,
    /// The data as read, when it was not a JSON object (for example bytes that are not UTF-8,
    /// which `string_value` can only show lossily).
    pub raw: Option<Vec<u8>>,
}

impl Decoded {
    /// The bytes to write for `properties`: the raw bytes read when the properties are the
    /// ones decoded from them, else [`encode`]d properties.
    pub fn encode_updated(&self, properties: &Map<String, Value>) -> Result<Vec<u8>, EncodeError> {
        match &self.raw {
            Some(raw) if properties == &self.properties => Ok(raw.clone()),
            _ => encode(properties),
        }
    }
}

/// Decodes node data into properties.
pub fn decode(data: &[u8]) -> Decoded {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Decoded::default();
    }
    if let Ok(Value::Object(properties)) = serde_json::from_slice::<Value>(data) {
        return Decoded { properties, raw: None };
    }
    let mut properties = Map::new();
    properties.insert(STRING_VALUE.to_string(), Value::String(String::from_utf8_lossy(data).into_owned()));
    Decoded { properties, raw: Some(data.to_vec()) }
}

/// Encodes properties as node data: compact JSON, keys in map order; a map holding only a
/// string `string_value` is written as that string (zc.zk compatibility) when [`decode`]
/// reads that string back as the same property (it is not blank and not a JSON object).
/// Refuses a value nested deeper than [`MAX_VALUE_DEPTH`], which would read back as a
/// `string_value`.
pub fn encode(properties: &Map<String, Value>) -> Result<Vec<u8>, EncodeError> {
    Ok(match encoding(properties)? {
        Encoding::Raw(s) => s.as_bytes().to_vec(),
        // Serializing a map of JSON values cannot fail.
        Encoding::Json => serde_json::to_vec(properties).unwrap_or_else(|_| b"{}".to_vec()),
    })
}

/// The length of what [`encode`] writes for `properties`, or its error, without building the
/// data: checking a big tree's data sizes then allocates nothing per node.
pub(crate) fn encoded_len(properties: &Map<String, Value>) -> Result<usize, EncodeError> {
    Ok(match encoding(properties)? {
        Encoding::Raw(s) => s.len(),
        Encoding::Json => {
            let mut counter = ByteCounter(0);
            // Serializing a map of JSON values cannot fail, nor can counting.
            serde_json::to_writer(&mut counter, properties).map_or(2, |()| counter.0)
        }
    })
}

/// How [`encode`] writes a map of properties.
enum Encoding<'p> {
    /// A lone `string_value`, as its text.
    Raw(&'p str),
    /// Compact JSON.
    Json,
}

fn encoding(properties: &Map<String, Value>) -> Result<Encoding<'_>, EncodeError> {
    if let Some((name, _)) = properties.iter().find(|(_, value)| too_deep(value, MAX_VALUE_DEPTH)) {
        return Err(EncodeError { name: name.clone(), limit: MAX_VALUE_DEPTH });
    }
    if properties.len() == 1 {
        if let Some(Value::String(s)) = properties.get(STRING_VALUE) {
            if decode(s.as_bytes()).raw.is_some() {
                return Ok(Encoding::Raw(s));
            }
        }
    }
    Ok(Encoding::Json)
}

/// A writer that only counts the bytes written to it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// True when `value` nests lists and objects deeper than `limit`. Walks with its own stack,
/// since values built in code may be nested deeper than the call stack could follow.
fn too_deep(value: &Value, limit: usize) -> bool {
    // Each value with the number of lists and objects around it.
    let mut stack = vec![(value, 0)];
    while let Some((value, around)) = stack.pop() {
        if matches!(value, Value::Array(_) | Value::Object(_)) && around == limit {
            return true;
        }
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|item| (item, around + 1))),
            Value::Object(map) => stack.extend(map.values().map(|item| (item, around + 1))),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::value as any_value;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn blank_data_is_empty() {
        assert_eq!(decode(b"").properties, Map::new());
        assert_eq!(decode(b" \n\t").properties, Map::new());
    }

    #[test]
    fn objects_decode_in_order() {
        let d = decode(br#"{"b":1,"a":[1,"x"]}"#);
        assert_eq!(d.raw, None);
        assert_eq!(d.properties.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(encode(&d.properties).unwrap(), br#"{"b":1,"a":[1,"x"]}"#);
    }

    #[test]
    fn non_objects_become_string_value() {
        for data in [&b"hello"[..], b"42", b"[1]", b"\"s\"", b"{bad"] {
            let d = decode(data);
            assert_eq!(d.properties, map(json!({ "string_value": String::from_utf8_lossy(data) })));
            assert_eq!(d.encode_updated(&d.properties).unwrap(), data);
        }
    }

    #[test]
    fn non_utf8_bytes_round_trip_unless_changed() {
        let data = b"\xff\xfe raw";
        let d = decode(data);
        assert_eq!(d.raw.as_deref(), Some(&data[..]));
        assert_eq!(d.encode_updated(&d.properties).unwrap(), data);
        let changed = map(json!({"a": 1}));
        assert_eq!(d.encode_updated(&changed).unwrap(), br#"{"a":1}"#);
    }

    #[test]
    fn lone_string_value_is_written_raw() {
        assert_eq!(encode(&map(json!({"string_value": "x y"}))).unwrap(), b"x y");
        assert_eq!(encode(&map(json!({"string_value": 1}))).unwrap(), br#"{"string_value":1}"#);
        assert_eq!(
            encode(&map(json!({"string_value": "x", "b": 2}))).unwrap(),
            br#"{"string_value":"x","b":2}"#
        );
    }

    #[test]
    fn a_lone_string_value_that_would_read_back_otherwise_is_written_as_json() {
        // Raw, these would read back as `{}`, `{}` and `{"a": 1}`.
        for text in ["", " \n", r#"{"a": 1}"#] {
            let properties = map(json!({ "string_value": text }));
            let data = encode(&properties).unwrap();
            assert_eq!(decode(&data).properties, properties, "{}", String::from_utf8_lossy(&data));
        }
        // Text that is JSON but not an object reads back as itself.
        assert_eq!(encode(&map(json!({"string_value": "[1]"}))).unwrap(), b"[1]");
    }

    /// `[[...[1]...]]`, `depth` lists deep.
    fn nested_lists(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| Value::Array(vec![inner]))
    }

    /// `{"k": {"k": ... 1}}`, `depth` objects deep.
    fn nested_objects(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!({ "k": inner }))
    }

    #[test]
    fn values_round_trip_up_to_the_depth_limit_and_deeper_ones_are_refused() {
        for nested in [nested_lists, nested_objects] {
            let deepest = map(json!({ "a": 1, "x": nested(MAX_VALUE_DEPTH) }));
            let data = encode(&deepest).unwrap();
            assert_eq!(decode(&data), Decoded { properties: deepest, raw: None });

            let too_deep = map(json!({ "a": 1, "x": nested(MAX_VALUE_DEPTH + 1) }));
            let error = encode(&too_deep).unwrap_err();
            assert_eq!(error, EncodeError { name: "x".into(), limit: MAX_VALUE_DEPTH });
        }
        insta::assert_snapshot!(
            EncodeError { name: "x\n".into(), limit: MAX_VALUE_DEPTH },
            @r"property `x\n` is nested deeper than 126 levels, more than node data can hold"
        );
        // An empty list counts as a level too.
        let empty = (0..MAX_VALUE_DEPTH).fold(json!([]), |inner, _| Value::Array(vec![inner]));
        assert!(encode(&map(json!({ "x": empty }))).is_err());
    }

    #[test]
    fn an_update_that_nests_too_deep_is_refused() {
        let decoded = decode(b"plain text");
        let changed = map(json!({ "x": nested_lists(MAX_VALUE_DEPTH + 1) }));
        assert!(decoded.encode_updated(&changed).is_err());
    }

    proptest::proptest! {
        #[test]
        fn what_is_written_reads_back(
            properties in proptest::collection::vec(("[a-z_]{1,12}", any_value()), 0..5)
        ) {
            let properties: Map<String, Value> = properties.into_iter().collect();
            let data = encode(&properties).unwrap();
            proptest::prop_assert_eq!(decode(&data).properties, properties);
        }

        #[test]
        fn the_encoded_length_is_the_length_of_the_encoding(
            properties in proptest::collection::vec(("[a-z_]{1,12}", any_value()), 0..5),
            lone_string in proptest::option::of(proptest::prop_oneof![
                proptest::strategy::Just(String::new()),
                proptest::strategy::Just(r#"{"a": 1}"#.to_string()),
                ".*",
            ]),
        ) {
            // A lone string `string_value` may be written raw: include that case often.
            let properties: Map<String, Value> = match lone_string {
                Some(text) => [(STRING_VALUE.to_string(), Value::String(text))].into_iter().collect(),
                None => properties.into_iter().collect(),
            };
            proptest::prop_assert_eq!(encoded_len(&properties), encode(&properties).map(|data| data.len()));
        }
    }
}
