//! Field schemas the derive cannot write by itself: the exact rules of the domain's
//! parsers as JSON Schema patterns, so that what the document allows the API accepts and
//! what it forbids the API refuses (schemathesis checks both ways; docs/bad-input.md).
//!
//! Texts are checked by `domain::validation::text`: trimmed of Unicode white space
//! (Rust's `char::is_whitespace`), then not empty and free of control characters
//! (`char::is_control`, U+0000–U+001F and U+007F–U+009F).

use domain::status::OrderStatus;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};

/// Rust's white space (the characters `str::trim` removes).
const SPACE: &str = r"[\t\n\x0B\x0C\r\x85 \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
/// A character a text may hold: anything but a control character.
const ALLOWED: &str = r"[^\x00-\x1F\x7F-\x9F]";
/// A character a text may hold that is not white space.
const VISIBLE: &str = r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// A required text: after trimming, 1 to `max` characters without control characters.
fn text(max: usize, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!("^{SPACE}*{VISIBLE}(?:{ALLOWED}*{VISIBLE})?{SPACE}*$")))
        .description(Some(description))
}

/// An optional text: absent, null, only white space (ignored), or a text of up to `max`.
fn optional_text(max: usize, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(max))
        .pattern(Some(format!("^{SPACE}*(?:{VISIBLE}(?:{ALLOWED}*{VISIBLE})?)?{SPACE}*$")))
        .description(Some(description))
}

/// An identifier (`domain::ids`): 1 to 64 letters, digits, `-`, `_`, `.` and `:`.
pub const IDENTIFIER: &str = "^[A-Za-z0-9._:-]{1,64}$";

pub fn store_order_number() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{SPACE}*[A-Za-z0-9._:-]{{1,64}}{SPACE}*$")))
        .description(Some(
            "The store's own number for the order, unique per store: 1 to 64 letters, digits, `-`, `_`, `.` and `:`.",
        ))
        .examples(["A-10025"])
        .into()
}

pub fn name() -> Schema {
    text(200, "Up to 200 characters.").examples(["Anna Petrova"]).into()
}

pub fn address() -> Schema {
    text(500, "Up to 500 characters.").examples(["Tverskaya 1, Moscow"]).into()
}

/// `+` and 7 to 15 digits; spaces, dashes and brackets anywhere are dropped.
pub fn phone() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^[ ()-]*\+(?:[ ()-]*[0-9]){7,15}[ ()-]*$"))
        .description(Some("International format: + and 7 to 15 digits (spaces, dashes and brackets are dropped)."))
        .examples(["+79161234567"])
        .into()
}

/// `local@domain.tld`: a local part of up to 64 characters, a domain of letters, digits,
/// dots and dashes with at least one dot inside; at most 254 characters in all.
pub fn email() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(254))
        .pattern(Some(format!(
            r"^{SPACE}*[\x21-\x7E]{{1,64}}@[A-Za-z0-9-][A-Za-z0-9.-]*\.[A-Za-z0-9.-]*[A-Za-z0-9-]{SPACE}*$"
        )))
        .examples(["anna@example.com"])
        .into()
}

pub fn note() -> Schema {
    optional_text(500, "Kept in the timeline; up to 500 characters.").into()
}

pub fn reason() -> Schema {
    optional_text(500, "Why the order is cancelled (kept in the timeline); up to 500 characters.").into()
}

pub fn message() -> Schema {
    text(1000, "Up to 1000 characters, shown to the customer on the tracking page.")
        .examples(["The courier will call you 10 minutes before arrival."])
        .into()
}

pub fn courier_id() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(IDENTIFIER))
        .description(Some("1 to 64 letters, digits, `-`, `_`, `.` and `:`."))
        .examples(["courier-17"])
        .into()
}

pub fn optional_courier_id() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(IDENTIFIER))
        .description(Some("Only orders of this courier."))
        .into()
}

fn statuses() -> Vec<&'static str> {
    OrderStatus::ALL.iter().map(OrderStatus::as_str).collect()
}

pub fn status() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(statuses()))
        .description(Some("The new status (see the status machine in the README)."))
        .examples(["picked_up"])
        .into()
}

pub fn status_filter() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(statuses()))
        .description(Some("Only orders in this status."))
        .into()
}

/// `own_courier` without a tariff, or `cdek` with one.
pub fn delivery() -> RefOr<Schema> {
    let own = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("method", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["own_courier"])))
        .property("cdek_tariff_code", ObjectBuilder::new().schema_type(Type::Null))
        .required("method")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let cdek = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("method", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["cdek"])))
        .property(
            "cdek_tariff_code",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
                .minimum(Some(1))
                .maximum(Some(10_000))
                .description(Some("The CDEK tariff, 1 to 10000.")),
        )
        .required("method")
        .required("cdek_tariff_code")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    OneOfBuilder::new().item(own).item(cdek).description(Some("`own_courier`, or `cdek` with its tariff code.")).into()
}
