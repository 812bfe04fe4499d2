//! `earshot search`: runs a query against a running server and prints a table or JSON.

use earshot_proto::v1::search_service_client::SearchServiceClient;
use earshot_proto::v1::{CountRequest, SearchRequest, SortOrder, TimeRange};
use serde_json::json;

use crate::args::{SearchArgs, SortArg};
use crate::client::status_error;
use crate::json::{mention_json, sentiment_label};
use crate::records::parse_time;

/// One line of text for a table cell.
fn cell(text: &str, width: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
    if flat.chars().count() <= width {
        flat
    } else {
        let cut: String = flat.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The largest page the server gives.
const PAGE: u32 = 1000;

/// Entry point of `earshot search`.
pub async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let range = match (&args.from, &args.to) {
        (None, None) => None,
        (from, to) => Some(TimeRange {
            from: from.as_deref().map(parse_time).transpose().map_err(anyhow::Error::msg)?,
            to: to.as_deref().map(parse_time).transpose().map_err(anyhow::Error::msg)?,
        }),
    };
    let query = args.scope.query.clone().unwrap_or_default();
    let topic = args.scope.topic.clone().unwrap_or_default();
    let mut client = SearchServiceClient::new(args.client.channel().await?);
    if args.count {
        let request =
            args.client.request(CountRequest { query: query.clone(), time_range: range, topic: topic.clone() })?;
        let count = client.count(request).await.map_err(status_error)?.into_inner().count;
        if args.json {
            println!("{}", json!({ "count": count }));
        } else {
            println!("{count}");
        }
        return Ok(());
    }
    let sort = match args.sort {
        SortArg::Newest => SortOrder::TimeDesc,
        SortArg::Oldest => SortOrder::TimeAsc,
        SortArg::Relevance => SortOrder::Relevance,
    };
    // A limit over one page is paged through transparently (the server pages by at most 1,000).
    let mut message = SearchRequest {
        query,
        topic,
        time_range: range,
        sort: sort as i32,
        page_size: args.limit.clamp(1, PAGE),
        page_token: String::new(),
        highlight: !args.json,
    };
    let mut response = client.search(args.client.request(message.clone())?).await.map_err(status_error)?.into_inner();
    while response.hits.len() < args.limit as usize && !response.next_page_token.is_empty() {
        message.page_token = std::mem::take(&mut response.next_page_token);
        message.page_size = (args.limit - response.hits.len() as u32).clamp(1, PAGE);
        let next = client.search(args.client.request(message.clone())?).await.map_err(status_error)?.into_inner();
        response.hits.extend(next.hits);
        response.next_page_token = next.next_page_token;
    }
    if args.json {
        let hits: Vec<_> = response
            .hits
            .iter()
            .filter_map(|h| h.mention.as_ref().map(|m| json!({"score": h.score, "mention": mention_json(m)})))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "total": response.total, "hits": hits }))?);
        return Ok(());
    }
    println!("{:<20}  {:<18}  {:<12}  TEXT", "CREATED", "AUTHOR", "SENTIMENT");
    for hit in &response.hits {
        let Some(m) = &hit.mention else { continue };
        let created = chrono::DateTime::from_timestamp(m.created_at.map_or(0, |t| t.seconds), 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let handle = m.author.as_ref().map(|a| format!("@{}", a.handle)).unwrap_or_default();
        println!("{:<20}  {:<18}  {:<12}  {}", created, cell(&handle, 18), sentiment_label(m), cell(&m.text, 80));
    }
    println!("{} of {} matches", response.hits.len(), response.total);
    Ok(())
}
