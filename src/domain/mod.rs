//! Domain types. Each constructor is the type's only validation and names the input field in
//! its error, so a service never sees a raw string.

mod account_status;
mod email;
mod ids;
mod passkey_name;
mod password;
mod person_name;
mod presented;
mod profile;
mod reason;
mod role;
mod text;

pub use account_status::AccountStatus;
pub use email::Email;
pub use ids::{AccountId, SessionId};
pub use passkey_name::PasskeyName;
pub use password::{NewPassword, PasswordAttempt};
pub use person_name::PersonName;
pub use presented::{OneTimeCode, OpaqueToken};
pub use profile::{
    AddressLine, City, CountryCode, CurrencyCode, DateOfBirth, Phone, PostalCode, Ssn, SsnLast4,
    State,
};
pub use reason::Reason;
pub use role::{KycStatus, Role};
