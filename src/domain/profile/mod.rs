//! The finance profile: each field's type is its only validation.

mod address;
mod country;
mod currency;
mod date_of_birth;
mod phone;
mod postal_code;
mod ssn;
mod state;

pub use address::{AddressLine, City};
pub use country::CountryCode;
pub use currency::CurrencyCode;
pub use date_of_birth::DateOfBirth;
pub use phone::Phone;
pub use postal_code::PostalCode;
pub use ssn::{Ssn, SsnLast4};
pub use state::State;
