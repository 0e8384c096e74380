//! Prometheus metrics, served at `/metrics`. Labels come from fixed sets (route templates,
//! schema field names, error codes), never from what a client sends, so no caller can grow
//! the series without bound or see another person's data in them.

use std::fmt::Write;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::crypto::passwords::PoolLoad;

/// How the database connection pool is used.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The route template (`/api/auth/login`), or `unmatched`.
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The root field (`login`, `me`), `multiple`, or `invalid` for a request refused before it
    /// ran (parsing, limits, validation, variables).
    pub operation: String,
    /// `ok`, or the error code of the first error.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

type LatencyFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: LatencyFamily<RouteLabels>,
    graphql_operations: Family<OperationLabels, Counter>,
    graphql_latency: LatencyFamily<OperationLabels>,
    logins: Family<OutcomeLabels, Counter>,
    refresh_reuse: Counter,
    session_checks: Family<OutcomeLabels, Counter>,
    account_reads: Family<OutcomeLabels, Counter>,
    session_channel: Gauge,
    rate_limited: Family<RuleLabels, Counter>,
    mail: Family<OutcomeLabels, Counter>,
    retention_deleted: Family<TableLabels, Counter>,
    argon2: Family<StateLabels, Gauge>,
    argon2_capacity: Gauge,
    db_connections: Family<StateLabels, Gauge>,
    db_connections_max: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("custodian");
        let http_requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            http_requests.clone(),
        );
        let http_latency: LatencyFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template and method",
            http_latency.clone(),
        );
        let graphql_operations = Family::default();
        registry.register(
            "graphql_operations",
            "GraphQL operations by root field and outcome",
            graphql_operations.clone(),
        );
        let graphql_latency: LatencyFamily<OperationLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_operation_duration_seconds",
            "GraphQL operation latency by root field and outcome",
            graphql_latency.clone(),
        );
        let logins = Family::default();
        registry.register(
            "logins",
            "Password logins by outcome (success or failure)",
            logins.clone(),
        );
        let refresh_reuse = Counter::default();
        registry.register(
            "refresh_token_reuse",
            "Rotated refresh tokens presented again (each revoked a session)",
            refresh_reuse.clone(),
        );
        let session_checks = Family::default();
        registry.register(
            "session_checks",
            "Checks that an access token's session is active, by where the answer came from (cache or database)",
            session_checks.clone(),
        );
        let account_reads = Family::default();
        registry.register(
            "account_reads",
            "Reads of the signed-in account for `me` and administrator role checks, by where the answer came from (cache or database)",
            account_reads.clone(),
        );
        let session_channel = Gauge::default();
        registry.register(
            "session_channel_heard",
            "1 while this instance hears every session change (always on SQLite; on PostgreSQL while its channel carries its pings) and so answers session checks from its cache; 0 while it asks the database",
            session_channel.clone(),
        );
        let rate_limited = Family::default();
        registry.register(
            "rate_limit_rejections",
            "Attempts refused by a rate limit, by rule",
            rate_limited.clone(),
        );
        let mail = Family::default();
        registry.register(
            "mail",
            "Emails delivered, and emails given up on after the last retry (kept in the outbox)",
            mail.clone(),
        );
        let retention_deleted = Family::default();
        registry.register(
            "retention_deleted",
            "Rows deleted by retention because no rule needed them any more, by table",
            retention_deleted.clone(),
        );
        let argon2 = Family::default();
        registry.register(
            "argon2_pool",
            "Password hashes running (in_use) and callers waiting for a turn (waiting)",
            argon2.clone(),
        );
        let argon2_capacity = Gauge::default();
        registry.register(
            "argon2_pool_capacity",
            "Password hashes that may run at once (one per core)",
            argon2_capacity.clone(),
        );
        let db_connections = Family::default();
        registry.register(
            "db_pool_connections",
            "Database connections by state (idle or in_use)",
            db_connections.clone(),
        );
        let db_connections_max = Gauge::default();
        registry.register(
            "db_pool_connections_max",
            "Most database connections the pool opens",
            db_connections_max.clone(),
        );
        // Present from the start, so a dashboard shows 0 rather than nothing.
        for outcome in ["success", "failure"] {
            drop(logins.get_or_create(&OutcomeLabels { outcome }));
        }
        Self {
            registry,
            http_requests,
            http_latency,
            graphql_operations,
            graphql_latency,
            logins,
            refresh_reuse,
            session_checks,
            account_reads,
            session_channel,
            rate_limited,
            mail,
            retention_deleted,
            argon2,
            argon2_capacity,
            db_connections,
            db_connections_max,
        }
    }

    pub fn http_request(&self, labels: HttpLabels, seconds: f64) {
        self.http_latency
            .get_or_create(&RouteLabels {
                route: labels.route.clone(),
                method: labels.method.clone(),
            })
            .observe(seconds);
        self.http_requests.get_or_create(&labels).inc();
    }

    pub fn graphql_operation(&self, labels: &OperationLabels, seconds: f64) {
        self.graphql_latency.get_or_create(labels).observe(seconds);
        self.graphql_operations.get_or_create(labels).inc();
    }

    pub fn login(&self, succeeded: bool) {
        let outcome = if succeeded { "success" } else { "failure" };
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn rate_limited(&self, rule: &'static str) {
        self.rate_limited.get_or_create(&RuleLabels { rule }).inc();
    }

    pub fn mail_delivered(&self, delivered: bool) {
        let outcome = if delivered {
            "delivered"
        } else {
            "undeliverable"
        };
        self.mail.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn retention_deleted(&self, table: &'static str, rows: u64) {
        self.retention_deleted
            .get_or_create(&TableLabels { table })
            .inc_by(rows);
    }

    /// A session check answered from the cache (`true`) or the database.
    pub fn session_check(&self, cached: bool) {
        let outcome = if cached { "cache" } else { "database" };
        self.session_checks
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn account_read(&self, cached: bool) {
        let outcome = if cached { "cache" } else { "database" };
        self.account_reads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn session_channel_heard(&self, heard: bool) {
        self.session_channel.set(i64::from(heard));
    }

    pub fn refresh_reuse_detected(&self) {
        self.refresh_reuse.inc();
    }

    /// The text exposition, with the pool gauges read at this moment.
    pub fn render(&self, argon2: PoolLoad, db: PoolStats) -> String {
        let gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        self.argon2
            .get_or_create(&StateLabels { state: "in_use" })
            .set(gauge(argon2.in_use));
        self.argon2
            .get_or_create(&StateLabels { state: "waiting" })
            .set(gauge(argon2.waiting));
        self.argon2_capacity.set(gauge(argon2.capacity));
        self.db_connections
            .get_or_create(&StateLabels { state: "idle" })
            .set(i64::from(db.idle));
        self.db_connections
            .get_or_create(&StateLabels { state: "in_use" })
            .set(i64::from(db.open.saturating_sub(db.idle)));
        self.db_connections_max.set(i64::from(db.max));
        let mut text = String::new();
        if let Err(err) = encode(&mut text, &self.registry) {
            let _ = writeln!(text, "# encoding failed: {err}");
        }
        text
    }
}
