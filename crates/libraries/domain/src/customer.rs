//! The customer's personal data. It is validated on the way in and masked whenever it
//! is printed (`Debug`, `Display`), so it never reaches a log by accident.

use std::fmt;

use serde::Serialize;

use crate::validation::{self, FieldError};

/// A customer's name, phone and email. `Debug` masks all three.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    name: String,
    phone: String,
    email: String,
}

impl Customer {
    /// Validates the three fields: a name of up to 200 characters; a phone in
    /// international form (`+` and 7 to 15 digits; spaces, dashes and brackets are
    /// dropped); an email of the form `local@domain.tld`, up to 254 characters.
    pub fn parse(name: &str, phone: &str, email: &str) -> Result<Self, FieldError> {
        let name = validation::text("name", name, 200)?;
        let phone = parse_phone(phone)?;
        let email = parse_email(email)?;
        Ok(Self { name, phone, email })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn phone(&self) -> &str {
        &self.phone
    }

    pub fn email(&self) -> &str {
        &self.email
    }
}

fn parse_phone(raw: &str) -> Result<String, FieldError> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let Some(digits) = compact.strip_prefix('+') else {
        return Err(FieldError::new("phone", "invalid_format", "must start with + and the country code"));
    };
    if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new("phone", "invalid_format", "must be + followed by 7 to 15 digits"));
    }
    Ok(compact)
}

fn parse_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim();
    let invalid = || FieldError::new("email", "invalid_format", "must look like name@example.com");
    if email.len() > 254 {
        return Err(FieldError::new("email", "too_long", "must be at most 254 characters"));
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
    if local.is_empty() || local.len() > 64 || !domain_ok || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    Ok(email.to_owned())
}

/// Keeps the first character and masks the rest: "Anna" → "A***".
pub fn mask_name(name: &str) -> String {
    name.chars().next().map_or_else(String::new, |first| format!("{first}***"))
}

/// Keeps the country-code start and the last two digits: "+79161234567" → "+7*********67".
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let keep_end = 2.min(chars.len());
    chars.iter().enumerate().map(|(i, c)| if i < 2 || i >= chars.len() - keep_end { *c } else { '*' }).collect()
}

/// Keeps the first character of the local part and the domain: "anna@example.com" → "a***@example.com".
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}@{domain}", mask_name(local)),
        None => mask_name(email),
    }
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Customer")
            .field("name", &mask_name(&self.name))
            .field("phone", &mask_phone(&self.phone))
            .field("email", &mask_email(&self.email))
            .finish()
    }
}

impl fmt::Display for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", mask_name(&self.name), mask_phone(&self.phone), mask_email(&self.email))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn valid_customers_are_normalised() {
        let customer = Customer::parse(" Anna Petrova ", "+7 (916) 123-45-67", "anna@example.com").unwrap();
        assert_eq!(customer.name(), "Anna Petrova");
        assert_eq!(customer.phone(), "+79161234567");
        assert_eq!(customer.email(), "anna@example.com");
    }

    #[test]
    fn invalid_fields_are_named() {
        assert_eq!(Customer::parse("", "+79161234567", "a@b.c").unwrap_err().field, "name");
        assert_eq!(Customer::parse("A", "89161234567", "a@b.c").unwrap_err().field, "phone");
        assert_eq!(Customer::parse("A", "+7916", "a@b.c").unwrap_err().field, "phone");
        assert_eq!(Customer::parse("A", "+79161234567", "nope").unwrap_err().field, "email");
        assert_eq!(Customer::parse("A", "+79161234567", "a@b").unwrap_err().field, "email");
        assert_eq!(Customer::parse("A", "+79161234567", "a b@c.d").unwrap_err().field, "email");
    }

    #[test]
    fn printing_never_shows_personal_data() {
        let customer = Customer::parse("Anna Petrova", "+79161234567", "anna@example.com").unwrap();
        for printed in [format!("{customer:?}"), customer.to_string()] {
            assert!(!printed.contains("Petrova"), "{printed}");
            assert!(!printed.contains("9161234567"), "{printed}");
            assert!(!printed.contains("anna@"), "{printed}");
        }
        assert_eq!(mask_phone("+79161234567"), "+7********67");
        assert_eq!(mask_email("anna@example.com"), "a***@example.com");
    }
}
