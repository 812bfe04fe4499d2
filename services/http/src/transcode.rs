//! Canonical proto3 JSON ↔ gRPC frames for earshot's methods, from the contract's own descriptor set:
//! the HTTP API has no message types of its own, so it cannot drift from the gRPC one.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, MethodDescriptor, SerializeOptions};

/// Every earshot method, found by service and method name.
#[derive(Clone)]
pub struct Transcoder {
    pool: DescriptorPool,
}

impl Transcoder {
    /// The transcoder of the `earshot.v1` contract.
    pub fn new() -> Result<Transcoder, String> {
        let pool = DescriptorPool::decode(earshot_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())?;
        Ok(Transcoder { pool })
    }

    /// The method `/service/method` (e.g. `earshot.v1.SearchService`, `Search`), if the contract has it.
    pub fn method(&self, service: &str, method: &str) -> Option<MethodDescriptor> {
        self.pool.get_service_by_name(service)?.methods().find(|m| m.name() == method)
    }
}

/// Reads a JSON request body (empty means `{}`) as the method's input and frames it for gRPC.
pub fn request_frame(method: &MethodDescriptor, json: &[u8]) -> Result<Bytes, String> {
    let json = if json.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { json };
    let mut de = serde_json::Deserializer::from_slice(json);
    let message = DynamicMessage::deserialize_with_options(method.input(), &mut de, &DeserializeOptions::new())
        .map_err(|e| format!("the body is not a valid {} in JSON: {e}", method.input().full_name()))?;
    de.end().map_err(|e| format!("trailing data after the JSON body: {e}"))?;
    Ok(frame(&message.encode_to_vec()))
}

/// A gRPC length-prefixed message (uncompressed).
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(message.len() as u32);
    out.put_slice(message);
    out.freeze()
}

/// Takes the next whole gRPC message off the front of `buf`, if one is there.
pub fn next_message(buf: &mut BytesMut) -> Option<Result<Bytes, String>> {
    if buf.len() < 5 {
        return None;
    }
    let compressed = buf[0] != 0;
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < 5 + len {
        return None;
    }
    buf.advance(5);
    let message = buf.split_to(len).freeze();
    if compressed {
        return Some(Err("the server sent a compressed message; the HTTP API asks for none".into()));
    }
    Some(Ok(message))
}

/// The method's output message as canonical proto3 JSON, every field present (zeros too, so that a
/// browser need not know the defaults).
pub fn response_json(method: &MethodDescriptor, message: &[u8]) -> Result<Vec<u8>, String> {
    let message = DynamicMessage::decode(method.output(), message).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    let options = SerializeOptions::new().skip_default_fields(false);
    message.serialize_with_options(&mut ser, &options).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_the_contract() {
        let t = Transcoder::new().expect("descriptors");
        let search = t.method("earshot.v1.SearchService", "Search").expect("Search");
        let body = br#"{"query":"acme AND down","pageSize":5,"sort":"SORT_ORDER_TIME_DESC","timeRange":{"from":"2026-11-01T00:00:00Z"}}"#;
        let mut framed = BytesMut::from(&request_frame(&search, body).expect("valid")[..]);
        let message = next_message(&mut framed).expect("whole").expect("uncompressed");
        let request = earshot_proto::v1::SearchRequest::decode(message).expect("a SearchRequest");
        assert_eq!((request.query.as_str(), request.page_size), ("acme AND down", 5));
        assert_eq!(request.time_range.and_then(|r| r.from).map(|t| t.seconds), Some(1_793_491_200));
        assert!(framed.is_empty());

        let response = earshot_proto::v1::CountResponse { count: 7 };
        let count = t.method("earshot.v1.SearchService", "Count").expect("Count");
        let json = response_json(&count, &response.encode_to_vec()).expect("json");
        assert_eq!(String::from_utf8(json).expect("utf8"), r#"{"count":"7"}"#);
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let t = Transcoder::new().expect("descriptors");
        let search = t.method("earshot.v1.SearchService", "Search").expect("Search");
        let err = request_frame(&search, br#"{"pageSize":"many"}"#).expect_err("not a number");
        assert!(err.contains("earshot.v1.SearchRequest"), "{err}");
        assert!(request_frame(&search, b"").is_ok(), "an empty body is the empty message");
        assert!(t.method("earshot.v1.SearchService", "Nope").is_none());
        assert!(t.method("nope.Service", "Search").is_none());
    }

    #[test]
    fn partial_frames_wait_for_the_rest() {
        let whole = frame(b"hello");
        let mut buf = BytesMut::from(&whole[..4]);
        assert!(next_message(&mut buf).is_none());
        buf.extend_from_slice(&whole[4..]);
        assert_eq!(next_message(&mut buf).expect("whole").expect("ok"), Bytes::from_static(b"hello"));
    }
}
