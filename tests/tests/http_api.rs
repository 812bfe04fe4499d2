//! The HTTP JSON API through the real binary: the same contract and the same rules as gRPC — answers
//! equal the gRPC ones, a bad query is a 400 naming the field and span, keys and tenants apply, unknown
//! methods are 404, and the gRPC-only client stream is refused in words.

use earshot_proto::v1::CountRequest;
use earshot_tests::{create_key, http_post, with_key, Sandbox};

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

const SEED: &str = r#"{"mentions":[
  {"id":"h1","text":"acme is down again","createdAt":"2026-11-20T10:00:00Z","author":{"handle":"ann"}},
  {"id":"h2","text":"acme support was great","createdAt":"2026-11-20T11:00:00Z","author":{"handle":"bob"}},
  {"id":"h3","text":"globex launch","createdAt":"2026-11-21T09:00:00Z"}],"waitSearchable":true}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_is_the_grpc_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--http-listen", "127.0.0.1:0"]).await;
    assert!(!server.web.is_empty(), "the HTTP address is printed");
    let (status, body) = http_post(&server.web, "/api/earshot.v1.IngestService/Ingest", &[], SEED).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["accepted"], 3);

    let (status, body) =
        http_post(&server.web, "/api/earshot.v1.SearchService/Count", &[], r#"{"query":"acme"}"#).await;
    assert_eq!(status, 200, "{body}");
    let grpc = server.search().await.count(CountRequest { query: "acme".into(), ..Default::default() }).await;
    assert_eq!(json(&body)["count"], grpc.expect("count").into_inner().count.to_string());

    let search = r#"{"query":"acme","sort":"SORT_ORDER_TIME_ASC","highlight":true}"#;
    let (status, body) = http_post(&server.web, "/api/earshot.v1.SearchService/Search", &[], search).await;
    assert_eq!(status, 200, "{body}");
    let found = json(&body);
    assert_eq!(found["hits"][0]["mention"]["id"], "h1");
    assert_eq!(found["hits"][0]["mention"]["createdAt"], "2026-11-20T10:00:00Z");
    assert!(found["hits"][0]["highlight"].as_str().is_some_and(|h| h.contains("<b>acme</b>")), "{body}");

    let (status, body) =
        http_post(&server.web, "/api/earshot.v1.SearchService/Search", &[], r#"{"query":"acme AND (down"}"#).await;
    assert_eq!(status, 400, "{body}");
    let problem = json(&body);
    assert_eq!(problem["code"], "INVALID_ARGUMENT");
    assert_eq!(problem["violations"][0]["field"], "query");

    let (status, body) =
        http_post(&server.web, "/api/earshot.v1.SearchService/Search", &[], r#"{"pageSize":"many"}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(json(&body)["message"].as_str().is_some_and(|m| m.contains("SearchRequest")), "{body}");

    let (status, _) = http_post(&server.web, "/api/earshot.v1.SearchService/Nope", &[], "{}").await;
    assert_eq!(status, 404);
    let (status, body) = http_post(&server.web, "/api/earshot.v1.IngestService/IngestStream", &[], "{}").await;
    assert_eq!(status, 501, "{body}");
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_roles_and_tenants_apply_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, acme) = create_key(dir.path(), "acme", "analyst");
    let (_, other) = create_key(dir.path(), "globex", "analyst");
    let (_, cmo) = create_key(dir.path(), "acme", "cmo");
    let flags = ["--no-classifier", "--auth", "keys", "--http-listen", "127.0.0.1:0"];
    let server = Sandbox::start_in(dir.path(), &flags).await;
    let bearer = |key: &str| format!("Bearer {key}");

    let (status, body) = http_post(&server.web, "/api/earshot.v1.SearchService/Count", &[], "{}").await;
    assert_eq!((status, json(&body)["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{body}");

    let acme_auth = bearer(&acme);
    let (status, body) =
        http_post(&server.web, "/api/earshot.v1.IngestService/Ingest", &[("authorization", &acme_auth)], SEED).await;
    assert_eq!(status, 200, "{body}");
    // Marketing may read but not write.
    let cmo_auth = bearer(&cmo);
    let (status, _) =
        http_post(&server.web, "/api/earshot.v1.IngestService/Ingest", &[("authorization", &cmo_auth)], SEED).await;
    assert_eq!(status, 403);
    let count = |auth: String| {
        let web = server.web.clone();
        async move {
            let (status, body) =
                http_post(&web, "/api/earshot.v1.SearchService/Count", &[("authorization", &auth)], "{}").await;
            assert_eq!(status, 200, "{body}");
            json(&body)["count"].as_str().expect("count").parse::<u64>().expect("number")
        }
    };
    assert_eq!(count(bearer(&cmo)).await, 3);
    assert_eq!(count(bearer(&other)).await, 0, "another tenant sees none of it");
    let grpc = server.search().await.count(with_key(CountRequest::default(), &acme)).await.expect("grpc count");
    assert_eq!(grpc.into_inner().count, 3);
    assert!(server.stop().await);
}
