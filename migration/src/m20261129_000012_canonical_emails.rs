use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, Statement},
};
use unicode_normalization::UnicodeNormalization;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The canonical form the service compares addresses in from now on (a frozen copy of the
/// rule, as a migration never changes): local part NFKC and lower case, domain IDNA (UTS 46).
fn canonical(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    let local: String = local.nfkc().collect::<String>().to_lowercase();
    let ascii = idna::domain_to_ascii(domain).ok()?;
    let (domain, checked) = idna::domain_to_unicode(&ascii);
    checked.ok()?;
    Some(format!("{local}@{domain}"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, email FROM accounts",
            ))
            .await?;
        let mut emails = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: uuid::Uuid = row.try_get("", "id")?;
            let email: String = row.try_get("", "email")?;
            emails.push((id, email));
        }
        let taken: std::collections::HashSet<String> =
            emails.iter().map(|(_, email)| email.clone()).collect();
        for (id, email) in &emails {
            let Some(canonical) = canonical(email) else {
                continue;
            };
            // Two accounts whose addresses were look-alikes keep what they had: neither is
            // taken from the other. The service refuses any further look-alike.
            if canonical == *email || taken.contains(&canonical) {
                continue;
            }
            let update = Query::update()
                .table(Alias::new("accounts"))
                .value(Alias::new("email"), canonical)
                .and_where(Expr::col(Alias::new("id")).eq(*id))
                .to_owned();
            db.execute(&update).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The original spellings are not kept: canonical addresses stay.
        Ok(())
    }
}
