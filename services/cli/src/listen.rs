//! Where the side listeners of `earshot serve` (metrics, HTTP) go when the operator does not say.

use std::net::SocketAddr;

use anyhow::Context;

/// The address of a side listener: `off`, an address, or `auto` — the gRPC address's host with
/// `default_port`, or port 0 when gRPC itself was given port 0 (so that servers started side by side
/// on free ports never collide on a fixed one).
pub fn follow_grpc_port(
    value: &str,
    grpc: SocketAddr,
    default_port: u16,
    flag: &str,
) -> anyhow::Result<Option<SocketAddr>> {
    match value.to_ascii_lowercase().as_str() {
        "off" => Ok(None),
        "auto" => Ok(Some(SocketAddr::new(grpc.ip(), if grpc.port() == 0 { 0 } else { default_port }))),
        _ => Ok(Some(value.parse().with_context(|| format!("{flag} {value:?}: an address, auto or off"))?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_grpc_port_choice() {
        let fixed: SocketAddr = "0.0.0.0:50051".parse().expect("addr");
        let free: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        assert_eq!(
            follow_grpc_port("auto", fixed, 9090, "--m").expect("ok"),
            Some("0.0.0.0:9090".parse().expect("addr"))
        );
        assert_eq!(
            follow_grpc_port("AUTO", free, 8080, "--h").expect("ok"),
            Some("127.0.0.1:0".parse().expect("addr"))
        );
        assert_eq!(follow_grpc_port("off", fixed, 9090, "--m").expect("ok"), None);
        assert_eq!(
            follow_grpc_port("10.0.0.1:1", free, 9090, "--m").expect("ok"),
            Some("10.0.0.1:1".parse().expect("addr"))
        );
        let err = follow_grpc_port("nine", free, 9090, "--metrics-listen").expect_err("not an address");
        assert!(format!("{err:#}").contains("--metrics-listen"));
    }
}
