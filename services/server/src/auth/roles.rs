//! The one table of who may call what: full gRPC method paths (or `/<service>/*`) → roles.
//!
//! Admins may call everything. Any other role may call only what a row grants it; a path no row
//! matches (a new service nobody added here yet) is admin-only, so forgetting a row fails closed.
//! Health and reflection need no key at all (see [`is_public`]).

use super::Role;
use Role::{Admin, Analyst, Cio, Cmo};

/// `(path or "/service/*", roles besides admin)`. The first matching row wins, so exact paths come
/// before their service's wildcard.
const TABLE: &[(&str, &[Role])] = &[
    ("/earshot.v1.IngestService/*", &[Analyst]),
    ("/earshot.v1.SearchService/*", &[Analyst, Cmo]),
    // Taking data out is an analyst's (and marketing's, who may search the same data).
    ("/earshot.v1.ExportService/*", &[Analyst, Cmo]),
    ("/earshot.v1.TopicService/GetTopic", &[Analyst, Cmo, Cio]),
    ("/earshot.v1.TopicService/ListTopics", &[Analyst, Cmo, Cio]),
    ("/earshot.v1.TopicService/*", &[Analyst]),
    ("/earshot.v1.ClassifyService/*", &[Analyst]),
    // Marketing and IT read the same numbers; alert rules are an analyst's to edit, KPIs IT's to feed.
    ("/earshot.v1.InsightsService/PutAlertRule", &[Analyst]),
    ("/earshot.v1.InsightsService/DeleteAlertRule", &[Analyst]),
    ("/earshot.v1.InsightsService/*", &[Analyst, Cmo, Cio]),
    ("/earshot.v1.KpiService/IngestKpi", &[Analyst, Cio]),
    ("/earshot.v1.KpiService/DeleteKpi", &[Analyst, Cio]),
    ("/earshot.v1.KpiService/*", &[Analyst, Cmo, Cio]),
    // Analysts choose what is listened to; everyone who reads the data may see where it comes from.
    ("/earshot.v1.SourceService/ListSources", &[Analyst, Cmo, Cio]),
    ("/earshot.v1.SourceService/*", &[Analyst]),
    ("/earshot.v1.GovernanceService/WhoAmI", &[Analyst, Cmo, Cio]),
    ("/earshot.v1.GovernanceService/*", &[]),
];

/// Services anyone may call without a key: probes and tooling.
const PUBLIC_PREFIXES: &[&str] =
    &["/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"];

/// Whether `path` needs no key.
pub fn is_public(path: &str) -> bool {
    PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

fn row_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(service) => path.starts_with(service),
        None => pattern == path,
    }
}

/// The roles that may call `path` (admin always among them).
pub fn allowed_roles(path: &str) -> Vec<Role> {
    let mut roles = vec![Admin];
    if let Some((_, extra)) = TABLE.iter().find(|(pattern, _)| row_matches(pattern, path)) {
        roles.extend_from_slice(extra);
    }
    roles
}

/// Checks that one of `held` may call `path`; on refusal, says which roles could.
pub fn authorize(path: &str, held: &[Role]) -> Result<(), String> {
    let allowed = allowed_roles(path);
    if held.iter().any(|r| allowed.contains(r)) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
    let have: Vec<&str> = held.iter().map(|r| r.name()).collect();
    Err(format!("{path} needs one of the roles [{}]; this key has [{}]", names.join(", "), have.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_grants_by_role_and_fails_closed() {
        assert!(authorize("/earshot.v1.SearchService/Search", &[Cmo]).is_ok());
        assert!(authorize("/earshot.v1.IngestService/Ingest", &[Cmo]).is_err());
        assert!(authorize("/earshot.v1.IngestService/IngestStream", &[Analyst]).is_ok());
        assert!(authorize("/earshot.v1.TopicService/ListTopics", &[Cio]).is_ok());
        assert!(authorize("/earshot.v1.TopicService/CreateTopic", &[Cio]).is_err());
        assert!(authorize("/earshot.v1.GovernanceService/EraseAuthor", &[Analyst, Cmo, Cio]).is_err());
        assert!(authorize("/earshot.v1.GovernanceService/EraseAuthor", &[Admin]).is_ok());
        assert!(authorize("/earshot.v1.GovernanceService/WhoAmI", &[Cio]).is_ok());
        assert!(authorize("/earshot.v1.SourceService/ListSources", &[Cmo]).is_ok());
        assert!(authorize("/earshot.v1.SourceService/AddSource", &[Cmo]).is_err());
        assert!(authorize("/earshot.v1.SourceService/AddSource", &[Analyst]).is_ok());
        // Unknown services and methods: admins only.
        assert!(authorize("/earshot.v2.NewService/Thing", &[Analyst]).is_err());
        assert!(authorize("/earshot.v2.NewService/Thing", &[Admin]).is_ok());
        let why = authorize("/earshot.v1.ClassifyService/Classify", &[Cmo]).expect_err("denied");
        assert!(why.contains("[admin, analyst]") && why.contains("[cmo]"), "{why}");
        // A service name that merely starts like another must not match its wildcard.
        assert!(authorize("/earshot.v1.SearchServiceX/Search", &[Cmo]).is_err());
        assert!(is_public("/grpc.health.v1.Health/Check"));
        assert!(!is_public("/earshot.v1.SearchService/Search"));
    }
}
