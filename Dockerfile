# syntax=docker/dockerfile:1
#
# Custodian as a container: `docker build -t custodian .`
# Production needs at least CUSTODIAN_ENV=production, CUSTODIAN_ENCRYPTION_KEY,
# CUSTODIAN_DATABASE_URL (PostgreSQL) and an https CUSTODIAN_PUBLIC_URL (see README.md).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY migration migration
# A workspace member: cargo reads its manifest even when building only the server.
COPY bench/floor bench/floor
COPY src src
# The GraphiQL playground is compiled into the binary from its checked-in build.
COPY playground/dist playground/dist
RUN cargo build --release --locked --bin custodian

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 custodian \
    && useradd --system --uid 10001 --gid custodian --home-dir /var/lib/custodian --create-home \
        --shell /usr/sbin/nologin custodian
COPY --from=build /src/target/release/custodian /usr/local/bin/custodian
USER 10001:10001
# The working folder is the default CUSTODIAN_DATA_DIR parent: `data/` (SQLite, a development
# key, the mail outbox) lands in /var/lib/custodian/data unless settings say otherwise.
WORKDIR /var/lib/custodian
ENV CUSTODIAN_LISTEN=0.0.0.0:8080
EXPOSE 8080
# No curl or wget in the image: bash opens the connection itself and wants "200" back.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["custodian"]
CMD ["serve"]
