//! The `earshot.v1` protobuf contract: messages, tonic clients and servers, and the encoded file
//! descriptor set that server reflection serves. Code is generated at build time by `protox` (a pure-Rust
//! protobuf compiler), so no system `protoc` is needed.

#![allow(missing_docs, clippy::all)]

/// `package earshot.v1`.
pub mod v1 {
    tonic::include_proto!("earshot.v1");
}

/// Encoded `FileDescriptorSet` of every earshot proto, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("earshot_descriptor");

/// Metadata naming the caller's tenant when the server runs with `--auth off` (ignored with API keys).
pub const TENANT_HEADER: &str = "x-earshot-tenant";
/// Tenant of calls that name none when the server runs with `--auth off`.
pub const DEFAULT_TENANT: &str = "default";
