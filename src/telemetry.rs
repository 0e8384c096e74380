use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Quiet defaults: the service's own lines at `info`, its libraries only when they warn.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,hyper=warn";

/// The WebAuthn library traces the ceremonies it checks (states with their challenges,
/// credentials) below `warn`: held there whatever `RUST_LOG` asks, so no challenge is logged.
const ALWAYS_QUIET: [&str; 2] = ["webauthn_rs=warn", "webauthn_rs_core=warn"];

/// Installs the global subscriber: JSON lines (with the request span's fields) or readable
/// text, filtered by `RUST_LOG` when set. A second call is a no-op, so tests may call it freely.
pub fn init(format: LogFormat) {
    let filter = ALWAYS_QUIET
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER)),
            EnvFilter::add_directive,
        );
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        // Colour only for a person at a terminal: a file or a pipe gets plain text.
        LogFormat::Text => registry
            .with(fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init(),
    };
}
