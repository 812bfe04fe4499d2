//! TLS on the gRPC listener: a certificate made here by a throw-away CA; a client trusting that CA
//! ingests and searches, a plaintext client gets nowhere.

use earshot_proto::v1::{IngestRequest, SearchRequest};
use earshot_tests::{mention, Sandbox};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

#[tokio::test]
async fn grpc_over_tls_with_a_trusted_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "earshot test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("ca key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, leaf.pem()).expect("write cert");
    std::fs::write(&key, leaf_key.serialize_pem()).expect("write key");
    let data = dir.path().join("data");
    let (cert_arg, key_arg) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));
    let args = ["--no-classifier", "--tls-cert", cert_arg, "--tls-key", key_arg];
    let server = Sandbox::start_with(&data, &args, Some(ca.pem().into_bytes())).await;

    let request = IngestRequest { mentions: vec![mention("s1", "secure acme")], wait_searchable: true };
    server.ingest().await.ingest(request).await.expect("ingest over TLS");
    let found = server.search().await.search(SearchRequest { query: "secure".into(), ..Default::default() }).await;
    assert_eq!(found.expect("search over TLS").into_inner().total, 1);

    let plain = server.endpoint.replace("https://localhost", "http://127.0.0.1");
    let channel = tonic::transport::Channel::from_shared(plain).expect("endpoint").connect().await;
    if let Ok(channel) = channel {
        let mut client = earshot_proto::v1::search_service_client::SearchServiceClient::new(channel);
        assert!(client.search(SearchRequest { query: "secure".into(), ..Default::default() }).await.is_err());
    }
    assert!(server.stop().await);
}
