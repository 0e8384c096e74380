//! The finance profile: each field's type is its only validation.
