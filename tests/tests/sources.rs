//! `earshot import` of the platforms' native formats, end to end through the real binary: the fixtures in
//! `tests/fixtures/sources` (recorded real responses, see its README) are imported into a running server,
//! then every mention is read back and every mapped field compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use earshot_proto::v1::{Mention, SearchRequest, SortOrder};
use earshot_tests::{earshot_bin, Sandbox};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sources")
}

const FILES: &[&str] = &[
    "x/search_recent.json",
    "x/search_nyc.json",
    "x/mentions.json",
    "x/tweepy_users_tweets.json",
    "reddit/search.json",
    "reddit/comments_2gmzqe.json",
    "reddit/dump.ndjson",
    "mastodon/statuses.json",
    "bluesky/search_posts.json",
    "bluesky/jetstream.jsonl",
    "feeds/news.rss",
    "feeds/blog.atom",
];

fn import(server: &Sandbox, args: &[&str], files: &[PathBuf]) -> Output {
    std::process::Command::new(earshot_bin())
        .args(["import", "--no-progress", "--wait", "--server", &server.endpoint])
        .args(args)
        .args(files)
        .output()
        .expect("run earshot import")
}

/// Every stored mention of the default tenant, by id.
async fn stored(server: &Sandbox) -> BTreeMap<String, Mention> {
    let mut search = server.search().await;
    let request = SearchRequest { sort: SortOrder::TimeAsc as i32, page_size: 1000, ..Default::default() };
    let response = search.search(request).await.expect("search").into_inner();
    response.hits.into_iter().filter_map(|h| h.mention).map(|m| (m.id.clone(), m)).collect()
}

/// One line with every field the importer maps; the text as its first 48 characters and its length.
fn row(m: &Mention) -> String {
    let a = m.author.clone().unwrap_or_default();
    let c = m.counts.map_or("-".to_owned(), |c| format!("{}/{}/{}", c.likes, c.shares, c.replies));
    let t = m.created_at.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32));
    let text: String = m.text.chars().take(48).collect::<String>().replace('\n', "⏎");
    format!(
        "{} {} {} | {} @{} {:?} f{} v{} | {} {} {} | {:?} parent={} root={} | {c} {:?} | {text}…{}",
        m.id,
        m.source().as_str_name(),
        m.url,
        a.id,
        a.handle,
        a.display_name,
        a.followers,
        a.verified,
        m.language,
        m.country,
        t.map_or("-".into(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        m.engagement_type(),
        m.parent_id,
        m.root_id,
        m.tags,
        m.text.chars().count(),
    )
}

#[tokio::test]
async fn native_formats_import_end_to_end_with_every_mapped_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let files: Vec<PathBuf> = FILES.iter().map(|f| fixtures().join(f)).collect();
    let out = import(&server, &["--json"], &files);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "import failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(summary["accepted"], 43, "{summary:#}");
    assert_eq!((summary["rejected"].as_u64(), summary["duplicates"].as_u64()), (Some(0), Some(0)), "{summary:#}");
    assert_eq!((summary["unreadable"].as_u64(), summary["skipped"].as_u64()), (Some(1), Some(9)), "{summary:#}");
    // The RSS item without a date is reported with its file and position; the rest of the feed imports.
    let problems = summary["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|p| p.as_str().is_some_and(|p| p.ends_with(
            "news.rss:entry[2]: entry \"https://news.example.com/business/67230001\" has no publication date"
        ))),
        "{problems:?}"
    );
    let formats: Vec<(&str, u64)> = summary["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["format"].as_str().unwrap_or_default(), f["mentions"].as_u64().unwrap_or_default()))
        .collect();
    let want = [
        ("x", 4),
        ("x", 5),
        ("x", 2),
        ("x", 2),
        ("reddit", 3),
        ("reddit", 3),
        ("reddit", 5),
        ("mastodon", 6),
        ("bluesky", 4),
        ("jetstream", 5),
        ("feed", 2),
        ("feed", 2),
    ];
    assert_eq!(formats, want);
    // Fields no mention holds are named once per file, not dropped silently.
    let x_unmapped = &summary["files"][0]["unmapped"];
    assert_eq!(
        x_unmapped,
        &serde_json::json!([
            "attachments",
            "in_reply_to_user_id",
            "includes.users.created_at",
            "includes.users.description",
            "possibly_sensitive",
            "source"
        ])
    );

    let got: Vec<String> = stored(&server).await.values().map(row).collect();
    let want: Vec<&str> = EXPECTED.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    assert_eq!(got.len(), want.len(), "{got:#?}");
    assert!(server.stop().await);
}

#[tokio::test]
async fn unreadable_files_fail_loudly_and_formats_can_be_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let work = tempfile::tempdir().expect("tempdir");
    // A pretty-printed response cut short: nothing in it can be read.
    let cut = work.path().join("cut.json");
    std::fs::write(&cut, "{\n  \"data\": [\n    {\"id\": \"1\", \"text\": \"hi\"").expect("write");
    let out = import(&server, &[], std::slice::from_ref(&cut));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a file of which nothing could be read must fail");
    assert!(stderr.contains("nothing could be read from") && stderr.contains("cut.json"), "{stderr}");

    // Malformed items are reported with file and position; the rest imports, and the exit is 0.
    let mixed = work.path().join("mixed.json");
    std::fs::write(
        &mixed,
        r#"{"data":[{"id":"9001","text":"fine tweet","created_at":"2024-05-01T10:00:00.000Z"},{"text":"no id"}],"meta":{}}"#,
    )
    .expect("write");
    let out = import(&server, &[], &[mixed]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("mixed.json:data[1]: tweet without an id"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("accepted 1"));

    // Forcing the wrong format reads nothing from an X response: loud failure again.
    let x = fixtures().join("x/tweepy_users_tweets.json");
    let out = import(&server, &["--format", "reddit"], std::slice::from_ref(&x));
    assert!(!out.status.success());
    // Forcing the right one works (also what `-` on standard input would need).
    let out = import(&server, &["--format", "x"], &[x]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stored(&server).await.contains_key("x:1565318587736285184"));
    assert!(server.stop().await);
}

/// Every mention of the fixtures as stored, in id order (see `row`).
// A source that gives no language gets the one identified at ingest (`und` when too short to tell).
const EXPECTED: &str = r##"
bluesky:at://did:plc:amnbije7mr5g3pgxuun7q44o/app.bsky.feed.post/3mptbyqhi7s2f SOURCE_NETWORK_BLUESKY https://bsky.app/profile/did:plc:amnbije7mr5g3pgxuun7q44o/post/3mptbyqhi7s2f | did:plc:amnbije7mr5g3pgxuun7q44o @ "" f0 vfalse | ja  2026-07-04T14:38:08.420Z | Post parent= root= | - [] | 待って天幕のジャードゥーガル観ようと思ってたのに今日だったの知らなかった……ネトフリでも観られる…56
bluesky:at://did:plc:d3blkgynnwi3rp7vak25pfe3/app.bsky.feed.post/3mptbyo7dms2m SOURCE_NETWORK_BLUESKY https://bsky.app/profile/did:plc:d3blkgynnwi3rp7vak25pfe3/post/3mptbyo7dms2m | did:plc:d3blkgynnwi3rp7vak25pfe3 @ "" f0 vfalse | en  2026-07-04T14:38:06.055Z | Reply parent=bluesky:at://did:plc:vqr6qcne2dya6o46z2citxdk/app.bsky.feed.post/3mpt6d6eu5k2p root=bluesky:at://did:plc:vqr6qcne2dya6o46z2citxdk/app.bsky.feed.post/3mpt6d6eu5k2p | - [] | Read the part about throwing off the old guards …185
bluesky:at://did:plc:ilxxgyz7oz7mysber4omeqrg/app.bsky.feed.post/3krbslukrq22k SOURCE_NETWORK_BLUESKY https://bsky.app/profile/mimonelu.net/post/3krbslukrq22k | did:plc:ilxxgyz7oz7mysber4omeqrg @mimonelu.net "mimonelu 🦀 みもねる" f0 vfalse | ja  2024-04-29T08:45:00.000Z | Post parent= root= | 31/6/2 [] | やっていることは簡単で、 app.bsky.actor.profile に pinnedPost…146
bluesky:at://did:plc:q235v55g5unth4zjjdpacfdr/app.bsky.feed.post/3mmoojp4cd223 SOURCE_NETWORK_BLUESKY https://bsky.app/profile/did:plc:q235v55g5unth4zjjdpacfdr/post/3mmoojp4cd223 | did:plc:q235v55g5unth4zjjdpacfdr @ "" f0 vfalse | en  2026-05-25T14:23:28.757Z | Reply parent=bluesky:at://did:plc:j76trmiofvaxxpvx2vnb2vwf/app.bsky.feed.post/3mmojbrjwbs26 root=bluesky:at://did:plc:j76trmiofvaxxpvx2vnb2vwf/app.bsky.feed.post/3mmojbrjwbs26 | - [] | Try RSV for a good time !!…26
bluesky:at://did:plc:tn3hni2jpphsgl6amfbb7ja6/app.bsky.feed.post/3mptbypfywk2v SOURCE_NETWORK_BLUESKY https://bsky.app/profile/did:plc:tn3hni2jpphsgl6amfbb7ja6/post/3mptbypfywk2v | did:plc:tn3hni2jpphsgl6amfbb7ja6 @ "" f0 vfalse | de  2026-07-04T14:38:07.323Z | Post parent= root= | - ["HowToTellAiToShutUp", "IndieRebellion"] | #HowToTellAiToShutUp!  ⏎⏎These days I was googli…225
bluesky:at://did:plc:u5cwb2mwiv2bfq53cjufe6yn/app.bsky.feed.post/3k43tv6emxk2y SOURCE_NETWORK_BLUESKY https://bsky.app/profile/atproto.com/post/3k43tv6emxk2y | did:plc:u5cwb2mwiv2bfq53cjufe6yn @atproto.com "AT Protocol Developers" f0 vfalse | en  2023-08-07T05:49:40.501Z | Reply parent=bluesky:at://did:plc:u5cwb2mwiv2bfq53cjufe6yn/app.bsky.feed.post/3k43tv4rft22g root=bluesky:at://did:plc:u5cwb2mwiv2bfq53cjufe6yn/app.bsky.feed.post/3k43tv4rft22g | 3/0/0 [] | example of a reply…18
bluesky:at://did:plc:u5cwb2mwiv2bfq53cjufe6yn/app.bsky.feed.post/3k43tv7nd6s2y SOURCE_NETWORK_BLUESKY https://bsky.app/profile/atproto.com/post/3k43tv7nd6s2y | did:plc:u5cwb2mwiv2bfq53cjufe6yn @atproto.com "AT Protocol Developers" f0 vfalse | en  2023-08-07T05:49:39.417Z | Quote parent=bluesky:at://did:plc:u5cwb2mwiv2bfq53cjufe6yn/app.bsky.feed.post/3k44deefqdk2g root= | 2/0/1 [] | example of a quote-post…23
bluesky:at://did:plc:ybqkf2mtfbwx3qhga63mttja/app.bsky.feed.post/3mptbyoigog2b SOURCE_NETWORK_BLUESKY https://bsky.app/profile/did:plc:ybqkf2mtfbwx3qhga63mttja/post/3mptbyoigog2b | did:plc:ybqkf2mtfbwx3qhga63mttja @ "" f0 vfalse | en-US  2026-07-04T14:38:02.000Z | Post parent= root= | - [] | Has anyone properly debunked Tic Tac video?⏎⏎htt…177
bluesky:at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3l66vf2q4pi26 SOURCE_NETWORK_BLUESKY https://bsky.app/profile/bsky.app/post/3l66vf2q4pi26 | did:plc:z72i7hdynmk6r22z27h6tvur @bsky.app "Bluesky" f0 vtrue | en  2024-10-10T15:24:00.000Z | Post parent= root= | 2400/388/112 [] | 📢 App Version 1.92 is rolling out now (1/5)⏎⏎Pin…216
mastodon:117440826460199151 SOURCE_NETWORK_MASTODON http://localhost:3000/@mastodonpy_test/117440826460199151 | 117440810532227399 @mastodonpy_test "John Lennon" f0 vfalse | ja  2026-10-14T19:06:38.283Z | Quote parent=mastodon:117440826455183695 root= | 0/0/0 [] | yoooooooo…9
mastodon:117440826677780974 SOURCE_NETWORK_MASTODON http://localhost:3000/@admin/117440826677780974 | 117440810233042393 @admin "" f0 vfalse | en  2026-10-14T19:06:41.602Z | Reply parent=mastodon:117440826670289215 root= | 0/0/0 [] | @mastodonpy_test_2 same!…24
mastodon:117440831307448422 SOURCE_NETWORK_MASTODON http://localhost:3000/@mastodonpy_test/117440831307448422 | 117440810532227399 @mastodonpy_test "John Lennon" f0 vfalse | ja  2026-10-14T19:07:52.246Z | Post parent= root= | 0/1/0 [] | Toot!…5
mastodon:117440831312204861 SOURCE_NETWORK_MASTODON http://localhost:3000/users/mastodonpy_test/statuses/117440831312204861/activity | 117440810532227399 @mastodonpy_test "John Lennon" f0 vfalse | ja  2026-10-14T19:07:52.319Z | Repost parent=mastodon:117440831307448422 root= | 0/0/0 [] | Toot!…5
mastodon:117440839994535811 SOURCE_NETWORK_MASTODON http://localhost:3000/@admin/117440839994535811 | 117440810233042393 @admin "" f1 vfalse | en  2026-10-14T19:10:04.800Z | Post parent= root= | 0/0/0 [] | you can't say that on television…32
mastodon:117440841601474392 SOURCE_NETWORK_MASTODON http://localhost:3000/@mastodonpy_test_2/117440841601474392 | 117440810673731823 @mastodonpy_test_2 "" f0 vfalse | ja  2026-10-14T19:10:29.321Z | Post parent= root= | 0/0/0 ["hoot"] | #hoot (hashtag toot)…20
news:https://news.example.com/technology/67234512 SOURCE_NETWORK_NEWS https://news.example.com/technology/acme-kettle-recall |  @ "Jane Doe" f0 vfalse | en-gb  2026-11-16T14:05:00.000Z | Post parent= root= | - ["Consumer", "Recalls"] | Acme recalls 40,000 smart kettles after overheat…166
news:https://news.example.com/technology/globex-outage SOURCE_NETWORK_NEWS https://news.example.com/technology/globex-outage |  @ "" f0 vfalse | en-gb  2026-11-15T06:30:00.000Z | Post parent= root= | - ["Banking"] | Globex outage leaves customers without banking a…159
news:tag:blog.example.org,2026:release-2-4 SOURCE_NETWORK_NEWS https://blog.example.org/2026/11/release-2-4 |  @ "" f0 vfalse | de  2026-11-18T09:00:00.000Z | Post parent= root= | - [] | Release notes 2.4⏎⏎Faster search, fewer crashes …57
news:urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a SOURCE_NETWORK_NEWS https://blog.example.org/2026/11/support |  @ "Erika Musterfrau" f0 vfalse | de  2026-11-20T16:00:00.000Z | Post parent= root= | - ["support", "kundenservice"] | Warum unser Support schneller wurde⏎⏎Die Warteze…123
reddit:t1_cklfmye SOURCE_NETWORK_REDDIT https://www.reddit.com/r/redditdev/comments/2gmzqe/_/cklfmye/ |  @paneer_burrito "" f0 vfalse | en  2014-09-18T01:51:52.000Z | Comment parent=reddit:t3_2gmzqe root=reddit:t3_2gmzqe | 1/0/0 ["r/redditdev"] | Quick question: I remember reading about an issu…191
reddit:t1_cklhv0f SOURCE_NETWORK_REDDIT https://www.reddit.com/r/redditdev/comments/2gmzqe/_/cklhv0f/ |  @bboe "" f0 vfalse | en  2014-09-18T03:13:54.000Z | Comment parent=reddit:t1_cklfmye root=reddit:t3_2gmzqe | 1/0/0 ["r/redditdev"] | Yes it does. That fix is also in the master bran…124
reddit:t1_d4y8bdn SOURCE_NETWORK_REDDIT https://www.reddit.com/r/AskReddit/comments/4r2hd3/_/d4y8bdn/ |  @LoneStarCub15 "" f0 vfalse | en  2016-07-04T00:04:50.000Z | Comment parent=reddit:t1_d4xrzgq root=reddit:t3_4r2hd3 | 1/0/0 ["r/AskReddit"] | Seeing Don sucker punch the UTZ actor was one of…86
reddit:t1_d4y8bdo SOURCE_NETWORK_REDDIT https://www.reddit.com/r/AskReddit/comments/4r4jmt/_/d4y8bdo/ |  @Hankko "" f0 vfalse | en  2016-07-04T00:04:50.000Z | Comment parent=reddit:t3_4r4jmt root=reddit:t3_4r4jmt | 1/0/0 ["r/AskReddit"] | People believe that the soul entered the body th…192
reddit:t1_d4y8bdp SOURCE_NETWORK_REDDIT https://www.reddit.com/r/AskReddit/comments/4r4inc/_/d4y8bdp/ |  @preppypuppy "" f0 vfalse | en  2016-07-04T00:04:50.000Z | Comment parent=reddit:t3_4r4inc root=reddit:t3_4r4inc | 1/0/0 ["r/AskReddit"] | great, life is so much better when you can do wh…73
reddit:t3_2gmzqe SOURCE_NETWORK_REDDIT https://www.reddit.com/r/redditdev/comments/2gmzqe/praw_https_enabled_praw_testing_needed/ |  @bboe "" f0 vfalse | en  2014-09-17T06:34:31.000Z | Post parent= root= | 11/0/2 ["r/redditdev"] | [PRAW] HTTPS enabled PRAW testing needed⏎⏎PRAW c…652
reddit:t3_3b4erh SOURCE_NETWORK_REDDIT https://www.reddit.com/r/learnpython/comments/3b4erh/collecting_submission_data_from_reddit/?ref=search_posts |  @Ouiski "" f0 vfalse | en  2015-06-25T21:46:38.000Z | Post parent= root= | 2/0/13 ["r/learnpython"] | Collecting submission data from Reddit⏎⏎First of…1520
reddit:t3_3gpbiu SOURCE_NETWORK_REDDIT https://www.reddit.com/r/redditdev/comments/3gpbiu/prawoauth2util_problem_using_get_banned_raise/?ref=search_posts |  @dClauzel "" f0 vfalse | en  2015-08-12T09:08:34.000Z | Post parent= root= | 0/0/21 ["r/redditdev"] | [PRAW][OAuth2Util] Problem using get_banned() : …6223
reddit:t3_3x4kt2 SOURCE_NETWORK_REDDIT https://www.reddit.com/r/redditdev/comments/3x4kt2/praw_is_there_an_easy_way_of_getting_a_list_of/?ref=search_posts |  @GrinningMouth38 "" f0 vfalse | en  2015-12-16T21:03:06.000Z | Post parent= root= | 2/0/5 ["r/redditdev"] | [PRAW] Is there an easy way of getting a list of…334
reddit:t3_48fbg9 SOURCE_NETWORK_REDDIT https://www.reddit.com/r/AskReddit/comments/48fbg9/if_you_only_can_live_with_one_thingperson_for_the/ |  @ravemyworld "" f0 vfalse | en  2016-03-01T08:35:48.000Z | Post parent= root= | 2/0/2 ["r/AskReddit"] | If you only can live with one thing/person for t…87
reddit:t3_48fbm9 SOURCE_NETWORK_REDDIT https://www.reddit.com/r/AskReddit/comments/48fbm9/serious_parents_of_reddit_whats_the_biggest_lie/ |  @RedHeadQc "" f0 vfalse | en  2016-03-01T08:37:38.000Z | Post parent= root= | 1/0/1 ["r/AskReddit"] | [Serious] Parents of Reddit, what's the biggest …89
x:1275653067283759104 SOURCE_NETWORK_TWITTER https://x.com/snowman/status/1275653067283759104 | 17200003 @snowman "Jim Moffitt" f0 vfalse | en  2020-06-24T04:52:46.000Z | Reply parent=x:1274086728471461889 root= | - [] | @happycamper Wait, when I try that, I get an err…286
x:1275763727908798470 SOURCE_NETWORK_TWITTER https://x.com/jellybeanjones/status/1275763727908798470 | 196883832 @jellybeanjones "zachariah jones" f0 vfalse | und  2020-06-24T12:12:29.000Z | Reply parent=x:1275653067283759104 root= | - [] | @snowman @happycamper https://t.co/qvk5BCBtqh…45
x:1275840875466305542 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1275840875466305542 | 4421576056 @ "" f0 vfalse | en  2020-06-24T17:19:03.000Z | Repost parent=x:1275837188715020290 root= | - [] | RT @hirosemaryhello: NYC! can you help the prote…140
x:1275840878238552064 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1275840878238552064 | 3031898016 @ "" f0 vfalse | de  2020-06-24T17:19:04.000Z | Post parent= root= | - ["NYC", "OccupyCityHall", "protest", "NycProtest", "NoJusticeNoPeace", "BLMprotest", "blacklivesmatter"] | #NYC protests 6/24⏎⏎#OccupyCityHall ⏎(City Hall)…277
x:1275840891014561796 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1275840891014561796 | 15004848 @ "" f0 vfalse | en  2020-06-24T17:19:07.000Z | Post parent= root= | - [] | Started offering online camps this week and init…257
x:1275840892281249793 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1275840892281249793 | 13524182 @ "" f0 vfalse | en  2020-06-24T17:19:07.000Z | Reply parent=x:1275781448855891968 root= | - ["NY12"] | If Suraj Patel wins when #NY12 absentees get cou…149
x:1275840892285399041 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1275840892285399041 | 1176828691365736451 @ "" f0 vfalse | en  2020-06-24T17:19:07.000Z | Repost parent=x:1275809336988557314 root= | - [] | RT @skipbolden: It's 1963 in The Bronx, NYC. The…139
x:1275882613572583424 SOURCE_NETWORK_TWITTER https://x.com/snowman/status/1275882613572583424 | 17200003 @snowman "Jim Moffitt" f0 vfalse | en  2020-06-24T20:04:54.000Z | Reply parent=x:1273733248749690880 root= | - [] | Using Labs Recent search for polling use cases h…110
x:1276035977375477760 SOURCE_NETWORK_TWITTER https://x.com/happycamper/status/1276035977375477760 | 63046977 @happycamper "Emily Waligoske 🏕" f0 vfalse | en  2020-06-25T06:14:19.000Z | Reply parent=x:1275653067283759104 root= | - [] | @snowman Ooo, thanks error message, public_metir…113
x:1364377404156772352 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1364377404156772352 |  @ "" f0 vfalse | en  2021-02-24T00:51:36.000Z | Post parent= root= | 0/0/1 [] | @TwitterDev What kind of tweet / attachment is t…285
x:1364398068313903104 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1364398068313903104 |  @ "" f0 vfalse | en  2021-02-24T02:13:43.000Z | Post parent= root= | 0/0/0 [] | @Twitter should consider supporting #VoiceMessag…108
x:1565318587736285184 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1565318587736285184 |  @ "" f0 vfalse | en  2022-09-01T12:40:08.186Z | Post parent= root= | - [] | if you see an edited Tweet it's because we're te…107
x:1577730467436138524 SOURCE_NETWORK_TWITTER https://x.com/i/web/status/1577730467436138524 |  @ "" f0 vfalse | en  2022-10-05T18:40:30.908Z | Post parent= root= | - [] | whoa, it works⏎⏎now everyone can mix GIFs, video…152
"##;
