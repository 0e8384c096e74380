//! Signed checkpoints: a position and link of the trail, signed with the token-signing key, for
//! the operator to keep where the database's writers cannot reach. `audit verify --anchor`
//! later proves that nothing up to each checkpoint was altered, removed or inserted.

use std::{collections::HashSet, sync::Arc};

use anyhow::{Context, anyhow, bail};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use super::{
    Event, Kind,
    chain::{self, Anchor},
    record, sealer,
};
use crate::{crypto::envelope::DataKeys, db};

/// The `typ` of a checkpoint, so no access token can pass for one.
const TYPE: &str = "custodian-audit-checkpoint";

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    seq: i64,
    link: String,
    iat: i64,
}

/// Seals what is pending, verifies the whole trail and, if intact, answers a checkpoint of its
/// head signed with `signer` (a kid and its key); records that a checkpoint was issued, and
/// seals that record.
pub async fn issue(
    db: &DatabaseConnection,
    keys: &DataKeys,
    signer: (String, Arc<EncodingKey>),
    issuer: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let sealing = sealer::seal(db, keys).await;
    let report = match chain::verify(db, keys, &[]).await? {
        Ok(report) => report,
        Err(broken) => bail!("the audit trail is broken, so no checkpoint was issued: {broken}"),
    };
    sealing.context("cannot seal the pending audit events")?;
    let (kid, key) = signer;
    let header = Header {
        typ: Some(TYPE.into()),
        kid: Some(kid),
        ..Header::new(Algorithm::EdDSA)
    };
    let claims = Claims {
        iss: issuer.to_owned(),
        seq: report.events,
        link: report.head_hash,
        iat: now.timestamp(),
    };
    let token =
        jsonwebtoken::encode(&header, &claims, &key).context("cannot sign the checkpoint")?;
    let txn = db::begin_write(db).await?;
    let event = Event::new(Kind::AuditCheckpoint)
        .detail("seq", claims.seq)
        .detail("link", claims.link);
    record(&txn, keys, now, event).await?;
    txn.commit().await?;
    sealer::seal(db, keys)
        .await
        .context("cannot seal the record of the checkpoint")?;
    Ok(token)
}

/// The anchors in `text`: one checkpoint per line (blank lines and `#` comments skipped), each
/// checked against the public key it names, retired and revoked keys included.
pub async fn read(db: &DatabaseConnection, text: &str) -> anyhow::Result<Vec<Anchor>> {
    let public_keys = db::signing_keys::all(db).await?;
    let mut anchors = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("checkpoint on line {}", number + 1);
        let header = jsonwebtoken::decode_header(line).with_context(at)?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TYPE) {
            bail!("{} is not a Custodian audit checkpoint", at());
        }
        let kid = header.kid.ok_or_else(|| anyhow!("{} names no key", at()))?;
        let stored = public_keys
            .iter()
            .find(|key| key.id == kid)
            .ok_or_else(|| {
                anyhow!(
                    "{} is signed by key {kid}, which this database does not hold",
                    at()
                )
            })?;
        let public = URL_SAFE_NO_PAD
            .decode(&stored.public_key)
            .with_context(|| format!("public key {kid} is malformed"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims =
            jsonwebtoken::decode::<Claims>(line, &DecodingKey::from_ed_der(&public), &validation)
                .map_err(|_| anyhow!("{}: the signature does not verify with key {kid}", at()))?
                .claims;
        anchors.push(Anchor {
            seq: claims.seq,
            link: claims.link,
        });
    }
    Ok(anchors)
}
