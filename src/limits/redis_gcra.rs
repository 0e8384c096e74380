//! GCRA in one Lua script, so a check and its update are one atomic step on Redis, timed by
//! Redis's own clock whatever the instances' clocks say.

use std::time::Duration;

use anyhow::Context;
use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use secrecy::{ExposeSecret, SecretString};

/// Returns 0 when allowed (and records the spend), else the milliseconds to wait.
const SCRIPT: &str = r"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now_ms)
if tat < now_ms then tat = now_ms end
local new_tat = tat + interval
local excess = new_tat - now_ms - interval * burst
if excess > 0 then return excess end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now_ms))
return 0
";

pub struct Gcra {
    connection: ConnectionManager,
    script: Script,
}

impl Gcra {
    /// Connects lazily: an unreachable Redis at start is logged, and the limited fields refuse
    /// until it answers, while everything else serves.
    pub async fn connect(url: &SecretString) -> anyhow::Result<Self> {
        let client = redis::Client::open(url.expose_secret())
            .context("CUSTODIAN_REDIS_URL is not a Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .context("cannot set up the Redis connection")?;
        let gcra = Self {
            connection,
            script: Script::new(SCRIPT),
        };
        let mut probe = gcra.connection.clone();
        let ping: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut probe).await;
        if let Err(err) = ping {
            tracing::error!(error = %err, "Redis is unreachable: rate-limited fields refuse until it answers");
        }
        Ok(gcra)
    }

    /// Spends one unit of `count` per `period` for `key`; `Some(wait)` when none is left.
    pub async fn spend(
        &self,
        rule: &str,
        key: &str,
        count: u32,
        period: Duration,
    ) -> anyhow::Result<Option<Duration>> {
        let interval_ms = (period.as_millis() / u128::from(count.max(1))).max(1);
        let mut connection = self.connection.clone();
        let excess: i64 = tokio::time::timeout(
            Duration::from_secs(2),
            self.script
                .key(format!("custodian:rl:{rule}:{key}"))
                .arg(u64::try_from(interval_ms).unwrap_or(u64::MAX))
                .arg(count)
                .invoke_async(&mut connection),
        )
        .await
        .context("Redis did not answer in time")??;
        Ok((excess > 0).then(|| Duration::from_millis(u64::try_from(excess).unwrap_or(0))))
    }
}
