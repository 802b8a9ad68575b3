//! The properties codec: a node's data is a JSON object of properties.
//!
//! Reading never loses data: empty or blank data is `{}`, a JSON object is itself, anything
//! else (not JSON, not an object, not UTF-8) becomes the single property `string_value`. The
//! original bytes are kept beside the properties so that data which is not a JSON object
//! round-trips unchanged unless the properties are changed.

use serde_json::{Map, Value};

/// The property that holds data which is not a JSON object.
pub const STRING_VALUE: &str = "string_value";

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
    pub fn encode_updated(&self, properties: &Map<String, Value>) -> Vec<u8> {
        match &self.raw {
            Some(raw) if properties == &self.properties => raw.clone(),
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
/// string `string_value` is written as that string (zc.zk compatibility).
pub fn encode(properties: &Map<String, Value>) -> Vec<u8> {
    if properties.len() == 1 {
        if let Some(Value::String(s)) = properties.get(STRING_VALUE) {
            return s.as_bytes().to_vec();
        }
    }
    // Serializing a map of JSON values cannot fail.
    serde_json::to_vec(properties).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(encode(&d.properties), br#"{"b":1,"a":[1,"x"]}"#);
    }

    #[test]
    fn non_objects_become_string_value() {
        for data in [&b"hello"[..], b"42", b"[1]", b"\"s\"", b"{bad"] {
            let d = decode(data);
            assert_eq!(d.properties, map(json!({ "string_value": String::from_utf8_lossy(data) })));
            assert_eq!(d.encode_updated(&d.properties), data);
        }
    }

    #[test]
    fn non_utf8_bytes_round_trip_unless_changed() {
        let data = b"\xff\xfe raw";
        let d = decode(data);
        assert_eq!(d.raw.as_deref(), Some(&data[..]));
        assert_eq!(d.encode_updated(&d.properties), data);
        let changed = map(json!({"a": 1}));
        assert_eq!(d.encode_updated(&changed), br#"{"a":1}"#);
    }

    #[test]
    fn lone_string_value_is_written_raw() {
        assert_eq!(encode(&map(json!({"string_value": "x y"}))), b"x y");
        assert_eq!(encode(&map(json!({"string_value": 1}))), br#"{"string_value":1}"#);
        assert_eq!(encode(&map(json!({"string_value": "x", "b": 2}))), br#"{"string_value":"x","b":2}"#);
    }
}
