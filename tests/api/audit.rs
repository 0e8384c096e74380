//! The audit trail: what is recorded, who sees it, and that tampering is detected.

use futures::future::join_all;
use reqwest::header;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{
        PASSWORD, REGISTER, TestApp, assert_no_errors, error_code, new_client, registration,
        unique_email,
    },
};

const OWN_EVENTS: &str = "query($first: Int, $after: String) { auditEvents(first: $first, after: $after) { id at kind outcome ipAddress userAgent accountId actorId sessionId requestId details } }";
const ADMIN_EVENTS: &str = "query($filter: AuditEventFilter, $first: Int, $after: String) { adminAuditEvents(filter: $filter, first: $first, after: $after) { id kind outcome accountId actorId details } }";

async fn own_events(app: &TestApp, token: &str, variables: Value) -> Vec<Value> {
    let body = app
        .graphql_as(&new_client(), Some(token), OWN_EVENTS, variables)
        .await;
    assert_no_errors(&body);
    body["data"]["auditEvents"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect()
}

async fn admin_events(app: &TestApp, token: &str, variables: Value) -> Value {
    app.graphql_as(&new_client(), Some(token), ADMIN_EVENTS, variables)
        .await
}

async fn a_persons_security_activity_is_recorded_with_where_it_came_from(app: TestApp) {
    let email = unique_email();
    let laptop = new_client();
    let response = laptop
        .post(app.url("/graphql"))
        .header(header::USER_AGENT, "Laptop/1.0")
        .header("x-request-id", "register-1234")
        .json(&json!({ "query": REGISTER, "variables": { "input": registration(&email) } }))
        .send()
        .await
        .unwrap();
    let our_request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let registered: Value = response.json().await.unwrap();
    assert_no_errors(&registered);
    let token = registered["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let account_id = registered["data"]["register"]["account"]["id"].clone();

    let wrong = app
        .login_with(&new_client(), &email, "not the password at all")
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    let phone = new_client();
    assert_no_errors(&app.login_with(&phone, &email, PASSWORD).await);
    assert_no_errors(&app.refresh_with(&phone).await);
    let ended = app
        .graphql_as(
            &laptop,
            Some(&token),
            "mutation { revokeOtherSessions }",
            json!({}),
        )
        .await;
    assert_eq!(ended["data"]["revokeOtherSessions"], 1);

    let events = own_events(&app, &token, json!({})).await;
    assert_eq!(
        kinds(&events),
        [
            "session.revoked",
            "token.refreshed",
            "login.new_device",
            "login.succeeded",
            "login.failed",
            "email.verification_sent",
            "account.registered"
        ],
        "newest first: {events:#?}"
    );
    let registered = &events[6];
    assert_eq!(registered["outcome"], "success");
    assert_eq!(registered["ipAddress"], "127.0.0.1");
    assert_eq!(registered["userAgent"], "Laptop/1.0");
    assert_eq!(
        registered["requestId"], our_request_id,
        "the trail keeps our request id, not the caller's"
    );
    assert_eq!(registered["accountId"], account_id);
    assert_eq!(registered["actorId"], account_id);
    let failed = &events[4];
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(
        failed["details"],
        json!({ "reason": "wrong_password", "method": "password" })
    );
    assert_eq!(
        failed["actorId"],
        Value::Null,
        "the one who failed is unknown"
    );
    assert_eq!(
        events[0]["details"],
        json!({ "scope": "others", "count": 1 })
    );
    // Nothing a person typed is in the trail.
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&email));
    assert!(!text.contains(PASSWORD));
    assert!(!text.contains("not the password"));
}
db_test!(a_persons_security_activity_is_recorded_with_where_it_came_from);

async fn pages_follow_the_cursor_and_bad_pages_are_refused(app: TestApp) {
    let email = unique_email();
    let token = app.register(&email).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..4 {
        app.login_with(&new_client(), &email, "wrong password here")
            .await;
    }
    let all = own_events(&app, &token, json!({ "first": 100 })).await;
    assert_eq!(
        all.len(),
        6,
        "registration, verification email, four failures"
    );
    let first = own_events(&app, &token, json!({ "first": 2 })).await;
    let second = own_events(&app, &token, json!({ "first": 2, "after": first[1]["id"] })).await;
    let third = own_events(
        &app,
        &token,
        json!({ "first": 2, "after": second[1]["id"] }),
    )
    .await;
    let paged: Vec<&Value> = first.iter().chain(&second).chain(&third).collect();
    assert_eq!(paged, all.iter().collect::<Vec<_>>());

    for (variables, field) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "after": "not-a-cursor" }), "after"),
        (
            json!({ "after": "0190a0b0-0000-7000-8000-000000000000" }),
            "after",
        ),
    ] {
        let body = app
            .graphql_as(&new_client(), Some(&token), OWN_EVENTS, variables.clone())
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{variables}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
}
db_test!(pages_follow_the_cursor_and_bad_pages_are_refused);

async fn nobody_sees_another_persons_events(app: TestApp) {
    let alice = app.register(&unique_email()).await;
    let bob = app.register_with(&new_client(), &unique_email()).await;
    let alice_events = own_events(&app, alice["accessToken"].as_str().unwrap(), json!({})).await;
    let bob_token = bob["accessToken"].as_str().unwrap();
    let bob_events = own_events(&app, bob_token, json!({})).await;
    assert_eq!(
        kinds(&bob_events),
        ["email.verification_sent", "account.registered"]
    );
    assert_eq!(bob_events[0]["accountId"], bob["account"]["id"]);
    // Alice's event id is no cursor for Bob.
    let body = app
        .graphql_as(
            &new_client(),
            Some(bob_token),
            OWN_EVENTS,
            json!({ "after": alice_events[0]["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let signed_out = app
        .graphql_as(&new_client(), None, OWN_EVENTS, json!({}))
        .await;
    assert_eq!(error_code(&signed_out), "UNAUTHENTICATED");
}
db_test!(nobody_sees_another_persons_events);

async fn admins_search_the_whole_trail_and_refusals_are_recorded(app: TestApp) {
    let admin = app.admin_token().await;
    let person = app.register(&unique_email()).await;
    let person_id = person["account"]["id"].clone();
    let person_token = person["accessToken"].as_str().unwrap();
    let other = app.register_with(&new_client(), &unique_email()).await;

    // A person asking for the admin view is refused, and the refusal is on record.
    let refused = admin_events(&app, person_token, json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let events = own_events(&app, person_token, json!({})).await;
    assert_eq!(events[0]["kind"], "access.denied");
    assert_eq!(events[0]["outcome"], "failure");
    assert_eq!(
        events[0]["details"],
        json!({ "operation": "adminAuditEvents" })
    );

    let by_account = admin_events(
        &app,
        &admin,
        json!({ "filter": { "accountId": person_id } }),
    )
    .await;
    assert_no_errors(&by_account);
    assert_eq!(
        kinds(by_account["data"]["adminAuditEvents"].as_array().unwrap()),
        [
            "access.denied",
            "email.verification_sent",
            "account.registered"
        ]
    );
    let by_kind = admin_events(
        &app,
        &admin,
        json!({ "filter": { "kind": "account.registered" } }),
    )
    .await;
    let registered = by_kind["data"]["adminAuditEvents"].as_array().unwrap();
    assert_eq!(registered.len(), 2);
    assert_eq!(registered[0]["accountId"], other["account"]["id"]);
    let created = admin_events(
        &app,
        &admin,
        json!({ "filter": { "kind": "admin.created" } }),
    )
    .await;
    let created = created["data"]["adminAuditEvents"].as_array().unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0]["actorId"],
        Value::Null,
        "the operator is not an account"
    );

    // A window in time: everything so far lies before `to = now + 1 s` and after `from`.
    let now = custodian::clock::Clock::now(app.clock.as_ref());
    let window = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| json!({ "filter": { "from": from.to_rfc3339(), "to": to.to_rfc3339() }, "first": 100 });
    let inside = admin_events(
        &app,
        &admin,
        window(
            now - chrono::TimeDelta::hours(1),
            now + chrono::TimeDelta::seconds(1),
        ),
    )
    .await;
    assert!(inside["data"]["adminAuditEvents"].as_array().unwrap().len() >= 5);
    let later = admin_events(
        &app,
        &admin,
        window(
            now + chrono::TimeDelta::seconds(1),
            now + chrono::TimeDelta::hours(1),
        ),
    )
    .await;
    assert_eq!(later["data"]["adminAuditEvents"], json!([]));

    for (filter, field) in [
        (json!({ "kind": "no.such.kind" }), "filter.kind"),
        (
            json!({ "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z" }),
            "filter.to",
        ),
    ] {
        let body = admin_events(&app, &admin, json!({ "filter": filter })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
}
db_test!(admins_search_the_whole_trail_and_refusals_are_recorded);

async fn a_failed_change_leaves_no_record(app: TestApp) {
    let admin = app.admin_token().await;
    let email = unique_email();
    app.register(&email).await;
    let again = app
        .graphql_as(
            &new_client(),
            None,
            REGISTER,
            json!({ "input": registration(&email) }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let registered = admin_events(
        &app,
        &admin,
        json!({ "filter": { "kind": "account.registered" } }),
    )
    .await;
    assert_eq!(
        registered["data"]["adminAuditEvents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
db_test!(a_failed_change_leaves_no_record);

fn verify(app: &TestApp) -> (bool, String) {
    let output = tokio::task::block_in_place(|| app.cli(&["audit", "verify"], ""));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Some history, six events: a registration and its verification email, a failed and a
/// good login (from a new browser), a refresh.
async fn some_history(app: &TestApp) {
    let email = unique_email();
    app.register(&email).await;
    app.login_with(&new_client(), &email, "wrong password here")
        .await;
    let client = new_client();
    assert_no_errors(&app.login_with(&client, &email, PASSWORD).await);
    assert_no_errors(&app.refresh_with(&client).await);
}

async fn verify_passes_on_an_intact_trail_written_concurrently(app: TestApp) {
    // Appends from many requests at once must still form one linear chain.
    join_all((0..12).map(|_| some_history(&app))).await;
    let (ok, text) = verify(&app);
    assert!(ok, "{text}");
    assert!(text.contains("intact: 72 events"), "{text}");
}
db_test!(verify_passes_on_an_intact_trail_written_concurrently);

/// A connection as the database's owner would use it, with the append-only triggers out of
/// the way (and every event sealed): what an attacker with full access does first. (The triggers refuse the change
/// otherwise, which is checked here too.)
async fn as_attacker(app: &TestApp) -> sea_orm::DatabaseConnection {
    app.seal().await;
    let db = app.database().await;
    let refused = db
        .execute_unprepared("UPDATE audit_events SET kind = 'logout' WHERE seq = 1")
        .await;
    assert!(refused.is_err(), "the trigger refuses an edit");
    let refused = db
        .execute_unprepared("DELETE FROM audit_events WHERE seq = 1")
        .await;
    assert!(refused.is_err(), "the trigger refuses a removal");
    let disable = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            "DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_events_erase_only;"
        }
        _ => "ALTER TABLE audit_events DISABLE TRIGGER USER",
    };
    db.execute_unprepared(disable).await.unwrap();
    db
}

async fn verify_names_an_altered_event(app: TestApp) {
    some_history(&app).await;
    as_attacker(&app)
        .await
        .execute_unprepared("UPDATE audit_events SET kind = 'logout' WHERE seq = 2")
        .await
        .unwrap();
    let (ok, text) = verify(&app);
    assert!(!ok, "{text}");
    assert!(
        text.contains("event #2") && text.contains("altered"),
        "{text}"
    );
}
db_test!(verify_names_an_altered_event);

async fn verify_names_a_removed_event(app: TestApp) {
    some_history(&app).await;
    let db = as_attacker(&app).await;
    db.execute_unprepared("DELETE FROM audit_events WHERE seq = 3")
        .await
        .unwrap();
    let (ok, text) = verify(&app);
    assert!(!ok, "{text}");
    assert!(text.contains("event #3 is missing"), "{text}");

    // Removing the newest event leaves no gap, but the head still knows.
    db.execute_unprepared("DELETE FROM audit_events WHERE seq >= 3")
        .await
        .unwrap();
    let (ok, text) = verify(&app);
    assert!(!ok, "{text}");
    assert!(text.contains("chain head (#6)"), "{text}");

    // Events written after that are not sealed onto the cut trail, which would give it a
    // head that verifies: they wait, and the break stays named.
    some_history(&app).await;
    let (ok, text) = verify(&app);
    assert!(!ok, "{text}");
    assert!(text.contains("chain head (#6)"), "{text}");
    assert_eq!(pending_events(&db).await, 6);
}
db_test!(verify_names_a_removed_event);

async fn pending_events(db: &sea_orm::DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_events WHERE seq IS NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn a_forged_pending_event_is_never_sealed_and_verify_names_it(app: TestApp) {
    some_history(&app).await;
    app.seal().await;
    // Someone who may insert into the table appends events for the sealer to chain: one made
    // up, one a copy of a real event (its MAC too) under a new id.
    let db = app.database().await;
    let new_id = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => "randomblob(16)",
        _ => "gen_random_uuid()",
    };
    db.execute_unprepared(&format!(
        "INSERT INTO audit_events (id, at, kind, outcome, details, event_mac) \
         SELECT {new_id}, at, 'login.succeeded', 'success', '{{}}', '{}' \
         FROM audit_events WHERE seq = 1",
        "ab".repeat(32)
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO audit_events (id, at, kind, outcome, actor_id, subject_id, session_id, \
           ip_address, user_agent, request_id, details, client_commitment, event_mac) \
         SELECT {new_id}, at, kind, outcome, actor_id, subject_id, session_id, ip_address, \
           user_agent, request_id, details, client_commitment, event_mac \
         FROM audit_events WHERE seq = 5"
    ))
    .await
    .unwrap();
    // Real events written after them are sealed all the same; the forged ones stay pending.
    some_history(&app).await;
    let (ok, text) = verify(&app);
    assert!(!ok, "{text}");
    assert!(
        text.contains("awaiting sealing, does not match its MAC"),
        "{text}"
    );
    assert_eq!(pending_events(&db).await, 2);
    let head = custodian::db::audit_events::head(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.seq, 12);
}
db_test!(a_forged_pending_event_is_never_sealed_and_verify_names_it);

async fn appends_do_not_wait_for_the_chain_head(app: TestApp) {
    let db = app.database().await;
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        // SQLite has one writer at a time anyway.
        return;
    }
    // The chain head, held as a sealer holds it, for as long as the requests take: sign-ins
    // and refreshes do not wait for it.
    let holder = sea_orm::TransactionTrait::begin(&db).await.unwrap();
    holder
        .execute_unprepared("SELECT seq FROM audit_chain_head FOR UPDATE")
        .await
        .unwrap();
    let history = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        join_all((0..4).map(|_| some_history(&app))),
    )
    .await;
    assert!(history.is_ok(), "appends waited for the chain head");
    assert_eq!(pending_events(&db).await, 24);
    // A reader waits a little for sealing, then lists what is sealed.
    let email = unique_email();
    let token = app.register(&email).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        own_events(&app, &token, json!({})),
    )
    .await
    .expect("a reader does not wait for the head for long");
    assert!(listed.is_empty(), "{listed:?}");
    holder.rollback().await.unwrap();
    // Once the head is free, the reader sees them.
    let listed = own_events(&app, &token, json!({})).await;
    assert_eq!(
        kinds(&listed),
        ["email.verification_sent", "account.registered"]
    );
    // Released, the sealer chains them within moments.
    let mut pending = -1;
    for _ in 0..50 {
        pending = pending_events(&db).await;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0);
    let (ok, text) = verify(&app);
    assert!(ok && text.contains("intact: 26 events"), "{text}");
}
db_test!(appends_do_not_wait_for_the_chain_head);

async fn verify_names_an_inserted_event(app: TestApp) {
    some_history(&app).await;
    let db = as_attacker(&app).await;
    // A forged event slipped in after #2, with the others moved up to make room.
    db.execute_unprepared("UPDATE audit_events SET seq = seq + 100 WHERE seq > 2")
        .await
        .unwrap();
    db.execute_unprepared("UPDATE audit_events SET seq = seq - 99 WHERE seq > 100")
        .await
        .unwrap();
    let new_id = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => "randomblob(16)",
        _ => "gen_random_uuid()",
    };
    db.execute_unprepared(&format!(
        "INSERT INTO audit_events (id, seq, at, kind, outcome, details, prev_hash, hash) \
         SELECT {new_id}, 3, at, 'login.succeeded', 'success', '{{}}', hash, hash \
         FROM audit_events WHERE seq = 2"
    ))
    .await
    .unwrap();
    let (ok, text) = verify(&app);
    assert!(!ok, "{text}");
    assert!(text.contains("event #3"), "{text}");
}
db_test!(verify_names_an_inserted_event);

async fn verify_names_altered_client_data_and_allows_its_erasure(app: TestApp) {
    some_history(&app).await;
    app.seal().await;
    // Erasing an address is the one change the trail allows, and it verifies after.
    app.database()
        .await
        .execute_unprepared(
            "UPDATE audit_events SET ip_address = NULL, user_agent = NULL WHERE seq = 1",
        )
        .await
        .unwrap();
    let (ok, text) = verify(&app);
    assert!(ok, "{text}");

    // Changing one is caught, although the address is outside the chained record.
    as_attacker(&app)
        .await
        .execute_unprepared("UPDATE audit_events SET ip_address = '198.51.100.7' WHERE seq = 2")
        .await
        .unwrap();
    let (ok, text) = verify(&app);
    assert!(!ok, "{text}");
    assert!(
        text.contains("IP address or user agent of event #2"),
        "{text}"
    );
}
db_test!(verify_names_altered_client_data_and_allows_its_erasure);

/// Events and sessions that still hold an address, written before `cutoff`.
async fn holding_addresses(db: &sea_orm::DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table} WHERE ip_address IS NOT NULL"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn addresses_are_erased_after_the_retention_period(app: TestApp) {
    some_history(&app).await;
    let db = app.database().await;
    assert!(holding_addresses(&db, "audit_events").await > 0);
    assert!(holding_addresses(&db, "sessions").await > 0);

    // 90 days after the events, and after the sessions ended (7 idle days), an instance's
    // retention pass (at its start, then hourly) erases them; the trail still verifies.
    app.clock.advance(chrono::TimeDelta::days(98));
    let recent = unique_email();
    app.register(&recent).await;
    let recent_events = holding_addresses(&db, "audit_events").await;
    app.spawn_sibling().await;
    let mut erased = false;
    for _ in 0..50 {
        if holding_addresses(&db, "sessions").await == 1
            && holding_addresses(&db, "audit_events").await < recent_events
        {
            erased = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(erased, "old addresses are erased");
    let events = holding_addresses(&db, "audit_events").await;
    assert_eq!(events, 2, "the new registration's two events keep theirs");
    let (ok, text) = verify(&app);
    assert!(ok, "{text}");
}
db_test!(addresses_are_erased_after_the_retention_period);

/// Rewrites the trail the way the previous version wrote it: unkeyed SHA-256 links over every
/// column, no commitments, an unsealed head.
async fn rewrite_as_before_keying(db: &sea_orm::DatabaseConnection) -> (i64, String) {
    let events = custodian::db::audit_events::chain_page(db, 1, 1000)
        .await
        .unwrap();
    let mut prev = "0".repeat(64);
    for event in &events {
        let record = json!([
            event.seq,
            event.id,
            event.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            event.kind,
            event.outcome,
            event.actor_id,
            event.subject_id,
            event.session_id,
            event.ip_address,
            event.user_agent,
            event.request_id,
            event.details,
        ]);
        let hash = custodian::crypto::sha256_hex(format!("{prev}\n{record}").as_bytes());
        db.execute_unprepared(&format!(
            "UPDATE audit_events SET prev_hash = '{prev}', hash = '{hash}', client_commitment = NULL WHERE seq = {}",
            event.seq.unwrap()
        ))
        .await
        .unwrap();
        prev = hash;
    }
    let last = i64::try_from(events.len()).unwrap();
    db.execute_unprepared(&format!(
        "UPDATE audit_chain_head SET seq = {last}, hash = '{prev}', seal = NULL"
    ))
    .await
    .unwrap();
    (last, prev)
}

async fn a_trail_written_before_keying_is_checked_and_keyed_once(app: TestApp) {
    some_history(&app).await;
    let db = as_attacker(&app).await;
    let (last, _) = rewrite_as_before_keying(&db).await;

    // An old trail that does not verify under its old links is refused, not laundered.
    db.execute_unprepared("UPDATE audit_events SET kind = 'logout' WHERE seq = 2")
        .await
        .unwrap();
    let refused = app.try_spawn_sibling().await.expect_err("refuses to start");
    assert!(
        format!("{refused:#}").contains("altered before it could be keyed"),
        "{refused:#}"
    );
    // Re-linked as the old version would have (the edit stays: it is what the old trail
    // now says), it is keyed.
    let (_, head) = rewrite_as_before_keying(&db).await;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // The triggers are back for the keying, which passes them the one documented way.
        db.execute_unprepared("ALTER TABLE audit_events ENABLE TRIGGER USER")
            .await
            .unwrap();
    }

    app.spawn_sibling().await;
    let (ok, text) = verify(&app);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("intact: {} events", last + 1)),
        "{text}"
    );
    let keyed = custodian::db::audit_events::chain_page(&db, last + 1, 1)
        .await
        .unwrap();
    assert_eq!(keyed[0].kind, "audit.chain_keyed");
    let details: Value = serde_json::from_str(&keyed[0].details).unwrap();
    assert_eq!(details["previous_head_seq"], last);
    assert_eq!(details["previous_head_hash"], head);
    // A second instance finds it keyed and leaves it alone.
    app.spawn_sibling().await;
    let (ok, text) = verify(&app);
    assert!(
        ok && text.contains(&format!("intact: {} events", last + 1)),
        "{text}"
    );
}
db_test!(a_trail_written_before_keying_is_checked_and_keyed_once);
