//! Checks the moto test harness itself: a seeded server starts, reports the
//! access keys it created, and accepts connections on its endpoint.

use crate::common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::moto::MotoServer;
use serde_json::json;

#[test]
fn seeded_server_reports_keys_and_accepts_connections() {
    let seed = json!({
        "accounts": [{
            "users": [
                {
                    "name": "alice",
                    "created": "2024-01-15T08:00:00Z",
                    "password": true,
                    "mfa": true,
                    "keys": [
                        {"created": "2024-02-01T00:00:00Z",
                         "use": {"region": "eu-west-1", "service": "s3"}},
                        {"status": "Inactive", "created": "2025-02-01T00:00:00Z"}
                    ]
                },
                {
                    "name": "deploy-bot",
                    "path": "/ci/",
                    "keys": [{"created": "2023-05-05T05:06:00Z"}]
                }
            ]
        }]
    });
    let moto = MotoServer::start(&seed);

    let names: Vec<&str> = moto.keys().keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "123456789012/alice/1",
            "123456789012/alice/2",
            "123456789012/deploy-bot/1"
        ]
    );
    let ids: BTreeSet<&str> = moto.keys().values().map(String::as_str).collect();
    assert_eq!(ids.len(), 3, "access key ids are distinct: {ids:?}");
    for id in &ids {
        assert!(
            id.len() == 20 && id.starts_with("AKIA"),
            "unexpected access key id {id}"
        );
    }
    assert_eq!(
        moto.key("123456789012", "deploy-bot", 1),
        moto.keys()["123456789012/deploy-bot/1"]
    );
    assert_eq!(moto.account_id("123456789012"), "123456789012");
    assert_eq!(moto.role_arn("123456789012"), None);

    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let addr: SocketAddr = moto.address().parse().expect("endpoint is host:port");
    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .expect("the moto endpoint accepts TCP connections");
}

#[test]
fn member_accounts_get_fixed_ids_and_roles() {
    let seed = json!({
        "organization": {},
        "accounts": [
            {"label": "mgmt"},
            {"label": "prod", "id": "210987654321", "name": "Prod \"EU\" \\ Zürich",
             "users": [{"name": "svc", "keys": [{}]}]}
        ]
    });
    let moto = MotoServer::start(&seed);
    assert_eq!(moto.account_id("mgmt"), "123456789012");
    assert_eq!(moto.account_id("prod"), "210987654321");
    assert_eq!(
        moto.role_arn("prod"),
        Some("arn:aws:iam::210987654321:role/OrganizationAccountAccessRole")
    );
    assert_eq!(moto.accounts()["prod"]["name"], "Prod \"EU\" \\ Zürich");
    assert_eq!(moto.keys().len(), 1);
    assert!(moto.key("prod", "svc", 1).starts_with("AKIA"));
}

#[test]
#[should_panic(expected = "at most 2 keys")]
fn invalid_seed_fails_with_the_launcher_error() {
    let seed = json!({"accounts": [{"users": [{"name": "a", "keys": [{}, {}, {}]}]}]});
    let _moto = MotoServer::start(&seed);
}
