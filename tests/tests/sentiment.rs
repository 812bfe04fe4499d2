//! Sentiment end to end with the shipped weights: the ClassifyService, labels stored on ingest and
//! filterable in search, and clear errors for bad classify requests.

use earshot_proto::v1::classify_service_client::ClassifyServiceClient;
use earshot_proto::v1::{ClassifyItem, ClassifyRequest, CountRequest, IngestRequest, SearchRequest, Sentiment};
use earshot_tests::{mention, Sandbox};
use tonic::Code;

const POSITIVE: &str = "I absolutely love this phone, best purchase I have made all year! 😍";
const NEGATIVE: &str = "Worst customer service ever. Two hours on hold and still no refund. Never again.";
const NEUTRAL: &str = "The store opens at 9am on weekdays and 10am on Saturdays.";

#[tokio::test]
async fn classify_rpc_and_labels_on_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &[]).await;
    server.wait_serving("earshot.v1.ClassifyService").await;
    let mut classify = ClassifyServiceClient::new(server.channel().await);
    let items = [("p", POSITIVE), ("n", NEGATIVE), ("u", NEUTRAL)]
        .iter()
        .map(|(id, text)| ClassifyItem { id: (*id).into(), text: (*text).into() })
        .collect();
    let response = classify.classify(ClassifyRequest { items }).await.expect("classify").into_inner();
    assert!(response.model_version.starts_with("earshot-sentiment-"), "{}", response.model_version);
    let labels: Vec<(String, i32)> = response.results.iter().map(|r| (r.id.clone(), r.label)).collect();
    assert_eq!(
        labels,
        vec![
            ("p".into(), Sentiment::Positive as i32),
            ("n".into(), Sentiment::Negative as i32),
            ("u".into(), Sentiment::Neutral as i32)
        ]
    );
    for r in &response.results {
        let s = r.scores.expect("scores");
        assert!((s.negative + s.neutral + s.positive - 1.0).abs() < 1e-4);
        assert!(r.score >= s.negative.max(s.neutral).max(s.positive) - 1e-6);
    }

    let mut ingest = server.ingest().await;
    let batch = vec![mention("s1", POSITIVE), mention("s2", NEGATIVE), mention("s3", NEGATIVE), mention("s4", NEUTRAL)];
    let r = ingest.ingest(IngestRequest { mentions: batch, wait_searchable: true }).await.expect("ingest");
    assert!(r.into_inner().searchable);
    let mut search = server.search().await;
    let negatives = search
        .count(CountRequest { query: "sentiment:negative".into(), ..Default::default() })
        .await
        .expect("count")
        .into_inner();
    assert_eq!(negatives.count, 2);
    let hits = search.search(SearchRequest { query: "love".into(), ..Default::default() }).await.expect("search");
    let m = hits.into_inner().hits.remove(0).mention.expect("mention");
    assert_eq!(m.sentiment, Sentiment::Positive as i32);
    assert!(m.sentiment_score > 0.34 && m.sentiment_score <= 1.0);

    let too_many = (0..1001).map(|i| ClassifyItem { id: i.to_string(), text: "x".into() }).collect();
    let err = classify.classify(ClassifyRequest { items: too_many }).await.expect_err("too many");
    assert_eq!(err.code(), Code::ResourceExhausted);
    let long = vec![ClassifyItem { id: "l".into(), text: "x".repeat(70 * 1024) }];
    let err = classify.classify(ClassifyRequest { items: long }).await.expect_err("too long");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("items[0].text"), "{}", err.message());
    assert!(server.stop().await);
}

/// German, Italian, French and Spanish posts with clear sentiment, sent over gRPC ingest without a language:
/// the service identifies the language and labels the sentiment, and both are searchable. (Texts written for
/// this test; the model never saw them.)
const FOUR_LANGUAGES: [(&str, &str); 12] = [
    (
        "de-negative",
        "Seit dem Update stürzt die App ständig ab und der Support antwortet einfach nicht. Total enttäuscht.",
    ),
    (
        "de-positive",
        "Endlich mal ein Anbieter, der hält, was er verspricht. Schnelle Lieferung, top Qualität, gerne wieder!",
    ),
    ("de-neutral", "Die neue Version der App ist ab Donnerstag im Store verfügbar."),
    (
        "it-negative",
        "Ho aspettato due ore al telefono e alla fine mi hanno chiuso la chiamata. Assistenza inesistente.",
    ),
    (
        "it-positive",
        "Ottimo prodotto, funziona benissimo e il servizio clienti è stato gentilissimo. Lo consiglio a tutti!",
    ),
    ("it-neutral", "Il punto vendita di Milano sarà chiuso lunedì per lavori di manutenzione."),
    (
        "fr-negative",
        "Commande jamais reçue, aucun remboursement et le service client ne répond plus. C'est inadmissible.",
    ),
    ("fr-positive", "Très contente de mon achat, l'équipe a été adorable et super réactive. Merci beaucoup !"),
    ("fr-neutral", "La nouvelle boutique ouvrira ses portes le 3 mars à Lyon."),
    ("es-negative", "El pedido llegó roto y nadie responde a mis correos. Pésimo servicio, no vuelvo a comprar."),
    ("es-positive", "Me encanta, funciona de maravilla y el envío fue rapidísimo. ¡Muy recomendable!"),
    ("es-neutral", "La tienda de Valencia abrirá a las nueve de la mañana a partir del lunes."),
];

#[tokio::test]
async fn german_italian_french_and_spanish_are_labelled_on_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &[]).await;
    server.wait_serving("earshot.v1.ClassifyService").await;
    let batch = FOUR_LANGUAGES
        .iter()
        .map(|(id, text)| earshot_proto::v1::Mention { language: String::new(), ..mention(id, text) })
        .collect();
    let mut ingest = server.ingest().await;
    let r = ingest.ingest(IngestRequest { mentions: batch, wait_searchable: true }).await.expect("ingest");
    assert!(r.into_inner().searchable);
    let mut search = server.search().await;
    for label in ["negative", "neutral", "positive"] {
        let mut ids = earshot_tests::all_ids(&mut search, &format!("sentiment:{label}")).await;
        ids.sort();
        let mut expected: Vec<String> =
            FOUR_LANGUAGES.iter().map(|(id, _)| id.to_string()).filter(|id| id.ends_with(label)).collect();
        expected.sort();
        assert_eq!(ids, expected, "sentiment:{label}");
    }
    for language in ["de", "it", "fr", "es"] {
        let mut ids = earshot_tests::all_ids(&mut search, &format!("language:{language}")).await;
        ids.sort();
        let expected: Vec<String> =
            ["negative", "neutral", "positive"].iter().map(|l| format!("{language}-{l}")).collect();
        assert_eq!(ids, expected, "language:{language}");
    }
    assert!(server.stop().await);
}
