use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every column of `audit_events` an erasure must leave alone, as migration 16 listed them.
const FIXED_BEFORE: [&str; 13] = [
    "id",
    "seq",
    "at",
    "kind",
    "outcome",
    "actor_id",
    "subject_id",
    "session_id",
    "request_id",
    "details",
    "prev_hash",
    "hash",
    "client_commitment",
];

/// The columns sealing sets, once, on a pending event.
const SEALED: [&str; 3] = ["seq", "prev_hash", "hash"];

/// What an erasure must leave alone now: the columns above and the event's MAC.
fn fixed() -> Vec<&'static str> {
    FIXED_BEFORE.iter().copied().chain(["event_mac"]).collect()
}

/// `NEW.c <same> OLD.c` for each column, joined with AND.
fn unchanged<'a>(columns: impl IntoIterator<Item = &'a str>, same: &str) -> String {
    columns
        .into_iter()
        .map(|column| format!("NEW.{column} {same} OLD.{column}"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The two updates the trail allows: erasing the client data of an event (every other column
/// unchanged), and sealing a pending event (its position and links set once, every other
/// column unchanged).
fn allowed_updates(same: &str) -> (String, String) {
    let erase = format!(
        "NEW.ip_address IS NULL AND NEW.user_agent IS NULL AND {}",
        unchanged(fixed(), same)
    );
    let keep = fixed()
        .into_iter()
        .filter(|column| !SEALED.contains(column))
        .chain(["ip_address", "user_agent"]);
    let seal = format!(
        "OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL \
         AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL AND {}",
        unchanged(keep, same)
    );
    (erase, seal)
}

const SQLITE_COLUMNS: &str = "id, seq, at, kind, outcome, actor_id, subject_id, session_id, \
     ip_address, user_agent, request_id, details, prev_hash, hash, client_commitment";

/// The SQLite table as migrations 5 and 16 built it, with `seq`, `prev_hash` and `hash`
/// nullable (`null`) or not (`not null`), and with or without `event_mac`.
fn sqlite_table(name: &str, nullable: bool, event_mac: bool) -> String {
    let sealed = if nullable { "NULL" } else { "NOT NULL" };
    let mac = if event_mac {
        ", \"event_mac\" varchar(64) NULL"
    } else {
        ""
    };
    format!(
        "CREATE TABLE \"{name}\" ( \"id\" uuid_text NOT NULL PRIMARY KEY, \
         \"seq\" integer {sealed} UNIQUE, \"at\" timestamp_with_timezone_text NOT NULL, \
         \"kind\" varchar(64) NOT NULL, \"outcome\" varchar(16) NOT NULL, \
         \"actor_id\" uuid_text NULL, \"subject_id\" uuid_text NULL, \
         \"session_id\" uuid_text NULL, \"ip_address\" varchar(45) NULL, \
         \"user_agent\" varchar(512) NULL, \"request_id\" varchar(64) NULL, \
         \"details\" text NOT NULL, \"prev_hash\" varchar(64) {sealed}, \
         \"hash\" varchar(64) {sealed}, \"client_commitment\" varchar(64) NULL{mac})"
    )
}

const SQLITE_INDEXES: &str =
    "CREATE INDEX \"idx_audit_events_subject\" ON \"audit_events\" (\"subject_id\", \"seq\");
     CREATE INDEX \"idx_audit_events_actor\" ON \"audit_events\" (\"actor_id\", \"seq\");
     CREATE INDEX \"idx_audit_events_kind\" ON \"audit_events\" (\"kind\", \"seq\");
     CREATE INDEX \"idx_audit_events_at\" ON \"audit_events\" (\"at\", \"seq\");";

const PENDING_INDEX: &str =
    "CREATE INDEX idx_audit_events_pending ON audit_events (id) WHERE seq IS NULL";

/// The append-only triggers on SQLite; `allowed` is the condition an update must meet.
fn sqlite_triggers(allowed: &str, message: &str) -> String {
    format!(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
         WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
         BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
         CREATE TRIGGER audit_events_erase_only BEFORE UPDATE ON audit_events
         WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance) AND NOT ({allowed})
         BEGIN SELECT RAISE(ABORT, '{message}'); END;"
    )
}

/// The PostgreSQL trigger function; `allowed` lists the conditions under which an update
/// passes.
fn postgres_function(allowed: &[String], message: &str) -> String {
    let passes: String = allowed
        .iter()
        .map(|condition| {
            format!(
                "IF TG_OP = 'UPDATE' AND {condition} THEN
                   RETURN NEW;
                 END IF;\n"
            )
        })
        .collect();
    format!(
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF EXISTS (SELECT 1 FROM audit_maintenance) THEN
             RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
           END IF;
           {passes}
           RAISE EXCEPTION '{message}';
         END $$;"
    )
}

const MESSAGE: &str = "audit_events is append-only: only ip_address and user_agent may be erased, and a pending event sealed once";
const MESSAGE_BEFORE: &str =
    "audit_events is append-only: only ip_address and user_agent may be erased";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // An event is appended pending (no position or links yet) with a keyed MAC over its
        // content, without taking the chain head; a sealer chains pending events in batches.
        // The MAC lets the sealer refuse, and `audit verify` name, a pending row it did not
        // write.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                let (erase, seal) = allowed_updates("IS NOT DISTINCT FROM");
                db.execute_unprepared(&format!(
                    "ALTER TABLE audit_events
                       ALTER COLUMN seq DROP NOT NULL,
                       ALTER COLUMN prev_hash DROP NOT NULL,
                       ALTER COLUMN hash DROP NOT NULL,
                       ADD COLUMN event_mac varchar(64) NULL;
                     {PENDING_INDEX};
                     {}",
                    postgres_function(&[erase, seal], MESSAGE)
                ))
                .await?;
            }
            _ => {
                // SQLite cannot change a column's nullability: the table is rebuilt.
                let (erase, seal) = allowed_updates("IS");
                db.execute_unprepared(&format!(
                    "DROP TRIGGER audit_events_no_delete;
                     DROP TRIGGER audit_events_erase_only;
                     {};
                     INSERT INTO audit_events_rebuilt ({SQLITE_COLUMNS})
                       SELECT {SQLITE_COLUMNS} FROM audit_events;
                     DROP TABLE audit_events;
                     ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
                     {SQLITE_INDEXES}
                     {PENDING_INDEX};
                     {}",
                    sqlite_table("audit_events_rebuilt", true, true),
                    sqlite_triggers(&format!("({erase}) OR ({seal})"), MESSAGE)
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Refused while any event is pending: seal them first (start a server, or run
        // `custodian audit verify`).
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                let before = format!(
                    "NEW.ip_address IS NULL AND NEW.user_agent IS NULL AND {}",
                    unchanged(FIXED_BEFORE, "IS NOT DISTINCT FROM")
                );
                db.execute_unprepared(&format!(
                    "{}
                     DROP INDEX idx_audit_events_pending;
                     ALTER TABLE audit_events
                       DROP COLUMN event_mac,
                       ALTER COLUMN seq SET NOT NULL,
                       ALTER COLUMN prev_hash SET NOT NULL,
                       ALTER COLUMN hash SET NOT NULL;",
                    postgres_function(&[before], MESSAGE_BEFORE)
                ))
                .await?;
            }
            _ => {
                let before = format!(
                    "NEW.ip_address IS NULL AND NEW.user_agent IS NULL AND {}",
                    unchanged(FIXED_BEFORE, "IS")
                );
                db.execute_unprepared(&format!(
                    "DROP TRIGGER audit_events_no_delete;
                     DROP TRIGGER audit_events_erase_only;
                     {};
                     INSERT INTO audit_events_rebuilt ({SQLITE_COLUMNS})
                       SELECT {SQLITE_COLUMNS} FROM audit_events;
                     DROP TABLE audit_events;
                     ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
                     {SQLITE_INDEXES}
                     {}",
                    sqlite_table("audit_events_rebuilt", false, false),
                    sqlite_triggers(&before, MESSAGE_BEFORE)
                ))
                .await?;
            }
        }
        Ok(())
    }
}
