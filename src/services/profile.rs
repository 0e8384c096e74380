//! The finance profile: parsing a registration's or an update's fields against each other,
//! sealing the sensitive ones, and telling when a change undoes a KYC approval.

use chrono::NaiveDate;

use super::{
    ClientInfo, Principal,
    audit::{self, Event, Kind},
};
use crate::{
    crypto::envelope::{DataKeys, HashPurpose},
    db::accounts::{SealedColumn, StoredProfile},
    domain::{
        AccountId, AddressLine, City, CountryCode, CurrencyCode, DateOfBirth, Phone, PostalCode,
        Ssn, State,
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// One field of an edit: leave it as it is, clear it, or set it. A registration only sets.
#[derive(Debug, Clone, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    /// `None` keeps, `Some` sets: a registration's optional field.
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Self::Keep, Self::Set)
    }
}

/// The profile fields as typed, before any validation. No `Debug`: it holds an SSN.
#[derive(Default)]
pub struct ProfileEdit {
    pub phone: Change<String>,
    pub address: Change<String>,
    pub city: Change<String>,
    pub state: Change<String>,
    pub postal_code: Change<String>,
    pub country: Change<String>,
    pub default_currency: Change<String>,
    pub date_of_birth: Change<NaiveDate>,
    pub ssn: Change<String>,
}

/// What validation needs besides the input.
pub struct Rules<'a> {
    pub keys: &'a DataKeys,
    pub today: NaiveDate,
    pub min_age: u32,
}

/// The validation rules of today, for profile fields.
pub(super) fn rules(state: &AppState) -> Rules<'_> {
    Rules {
        keys: &state.keys,
        today: state.clock.now().date_naive(),
        min_age: state.settings.profile.min_age,
    }
}

/// The one answer to an SSN already on file: it says nothing of whose.
pub(super) fn ssn_taken() -> AppError {
    AppError::Conflict {
        field: "ssn".into(),
        message: "this SSN is already registered".into(),
    }
}

/// Records `err` in the audit trail when it is an SSN conflict (by the signed-in person, or by
/// whoever registered), since a run of them is someone probing; answers `err`. Call it once
/// the failed write's transaction is gone, so the record does not wait on it.
pub(super) async fn record_if_ssn_taken(
    state: &AppState,
    by: Option<&Principal>,
    client: &ClientInfo,
    err: AppError,
) -> AppError {
    if !matches!(&err, AppError::Conflict { field, .. } if field == "ssn") {
        return err;
    }
    let mut event = Event::new(Kind::SsnConflict).client(client);
    if let Some(principal) = by {
        event = event.by_principal(principal);
    }
    match audit::record_alone(state, event).await {
        Ok(()) => err,
        Err(failed) => failed,
    }
}

/// A validated profile ready to store, and whether it changed what KYC approved.
pub struct Resolved {
    pub stored: StoredProfile,
    /// Date of birth, SSN or address differ from before.
    pub identity_changed: bool,
    /// The API names of the fields that changed, for the audit trail.
    pub changed_fields: Vec<&'static str>,
}

fn seal(keys: &DataKeys, plaintext: &[u8], context: &str) -> AppResult<String> {
    keys.encrypt(plaintext, context).map_err(|err| {
        AppError::Internal(anyhow::Error::new(err).context("sealing a profile field"))
    })
}

/// The SSN's blind index: a keyed hash, so uniqueness can be enforced without storing or
/// comparing plaintext, and survives every key rotation.
pub fn ssn_index(keys: &DataKeys, ssn: &Ssn) -> String {
    keys.keyed_hash(HashPurpose::SsnIndex, ssn.digits().as_bytes())
}

/// The stored SSN, decrypted, as `123-45-6789`.
pub fn ssn(keys: &DataKeys, account: AccountId, stored: Option<&str>) -> AppResult<Option<String>> {
    let Some(sealed) = stored else {
        return Ok(None);
    };
    let plain = keys
        .decrypt(sealed, &SealedColumn::Ssn.context(account))
        .map_err(|err| AppError::Internal(anyhow::Error::new(err).context("opening the SSN")))?;
    let digits = std::str::from_utf8(&plain).map_err(|err| AppError::Internal(err.into()))?;
    if digits.len() != 9 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a stored SSN is malformed"
        )));
    }
    Ok(Some(format!(
        "{}-{}-{}",
        &digits[..3],
        &digits[3..5],
        &digits[5..]
    )))
}

/// The stored date of birth, decrypted.
pub fn date_of_birth(
    keys: &DataKeys,
    account: AccountId,
    stored: Option<&str>,
) -> AppResult<Option<NaiveDate>> {
    let Some(sealed) = stored else {
        return Ok(None);
    };
    let plain = keys
        .decrypt(sealed, &SealedColumn::DateOfBirth.context(account))
        .map_err(|err| {
            AppError::Internal(anyhow::Error::new(err).context("opening the date of birth"))
        })?;
    let text = std::str::from_utf8(&plain).map_err(|err| AppError::Internal(err.into()))?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|err| AppError::Internal(err.into()))
}

/// Applies `edit` to `current` (the empty profile for a registration), validating every set
/// field and every kept one that depends on a changed country.
pub fn resolve(
    account: AccountId,
    current: &StoredProfile,
    edit: ProfileEdit,
    rules: &Rules<'_>,
) -> AppResult<Resolved> {
    let mut changed = Vec::new();
    let country = match &edit.country {
        Change::Keep => current
            .country
            .as_deref()
            .map(|code| CountryCode::parse(code, "country"))
            .transpose()?,
        Change::Clear => None,
        Change::Set(code) => Some(CountryCode::parse(code, "country")?),
    };
    let country_changed = country.as_ref().map(CountryCode::as_str) != current.country.as_deref();
    // A kept state or postal code is checked again when the country it belongs to changes.
    let dependent = |change: &Change<String>, stored: &Option<String>| match change {
        Change::Keep if country_changed => stored.clone().map_or(Change::Keep, Change::Set),
        other => other.clone(),
    };
    let state_edit = dependent(&edit.state, &current.state);
    let postal_edit = dependent(&edit.postal_code, &current.postal_code);

    let text = |change: Change<String>,
                stored: &Option<String>,
                parse: &dyn Fn(&str) -> AppResult<String>|
     -> AppResult<Option<String>> {
        match change {
            Change::Keep => Ok(stored.clone()),
            Change::Clear => Ok(None),
            Change::Set(value) => parse(&value).map(Some),
        }
    };
    let phone = text(edit.phone, &current.phone, &|value| {
        Phone::parse(value, "phone", country.as_ref()).map(|phone| phone.as_str().to_owned())
    })?;
    let address = text(edit.address, &current.address, &|value| {
        AddressLine::parse(value, "address").map(|line| line.as_str().to_owned())
    })?;
    let city = text(edit.city, &current.city, &|value| {
        City::parse(value, "city").map(|city| city.as_str().to_owned())
    })?;
    let state = text(state_edit, &current.state, &|value| {
        State::parse(value, "state", country.as_ref()).map(|state| state.as_str().to_owned())
    })?;
    let postal_code = text(postal_edit, &current.postal_code, &|value| {
        PostalCode::parse(value, "postalCode", country.as_ref())
            .map(|code| code.as_str().to_owned())
    })?;
    let default_currency = text(edit.default_currency, &current.default_currency, &|value| {
        CurrencyCode::parse(value, "defaultCurrency").map(|code| code.as_str().to_owned())
    })?;
    if let Some(country) = &country
        && State::required_for(country)
        && state.is_none()
    {
        return Err(AppError::bad_input(
            "state",
            format!("is required for {}", country.as_str()),
        ));
    }

    let (date_of_birth, dob_changed) = match edit.date_of_birth {
        Change::Keep => (current.date_of_birth.clone(), false),
        Change::Clear => (None, current.date_of_birth.is_some()),
        Change::Set(date) => {
            let date = DateOfBirth::parse(date, "dateOfBirth", rules.today, rules.min_age)?.date();
            let before = date_of_birth(rules.keys, account, current.date_of_birth.as_deref())?;
            let sealed = seal(
                rules.keys,
                date.format("%Y-%m-%d").to_string().as_bytes(),
                &SealedColumn::DateOfBirth.context(account),
            )?;
            (Some(sealed), before != Some(date))
        }
    };
    let (ssn, ssn_index_value, ssn_last4) = match edit.ssn {
        Change::Keep => (
            current.ssn.clone(),
            current.ssn_index.clone(),
            current.ssn_last4.clone(),
        ),
        Change::Clear => (None, None, None),
        Change::Set(input) => {
            let ssn = Ssn::parse(&input, "ssn")?;
            let sealed = seal(
                rules.keys,
                ssn.digits().as_bytes(),
                &SealedColumn::Ssn.context(account),
            )?;
            (
                Some(sealed),
                Some(ssn_index(rules.keys, &ssn)),
                Some(ssn.last4().to_owned()),
            )
        }
    };
    let ssn_changed = ssn_index_value != current.ssn_index;

    let stored = StoredProfile {
        phone,
        address,
        city,
        state,
        postal_code,
        country: country.map(|country| country.as_str().to_owned()),
        default_currency,
        date_of_birth,
        ssn,
        ssn_index: ssn_index_value,
        ssn_last4,
    };
    for (name, before, after) in [
        ("phone", &current.phone, &stored.phone),
        ("address", &current.address, &stored.address),
        ("city", &current.city, &stored.city),
        ("state", &current.state, &stored.state),
        ("postalCode", &current.postal_code, &stored.postal_code),
        ("country", &current.country, &stored.country),
        (
            "defaultCurrency",
            &current.default_currency,
            &stored.default_currency,
        ),
    ] {
        if before != after {
            changed.push(name);
        }
    }
    if dob_changed {
        changed.push("dateOfBirth");
    }
    if ssn_changed {
        changed.push("ssn");
    }
    let identity_changed = dob_changed
        || ssn_changed
        || changed.iter().any(|field| {
            matches!(
                *field,
                "address" | "city" | "state" | "postalCode" | "country"
            )
        });
    Ok(Resolved {
        stored,
        identity_changed,
        changed_fields: changed,
    })
}
