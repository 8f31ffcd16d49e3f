//! CDEK's order status codes: their Russian names and the deprecated numeric `status_code`.
//! The set is open: an unknown code is kept verbatim, named after itself, numbered 1000.

pub const ACCEPTED: &str = "ACCEPTED";
pub const CREATED: &str = "CREATED";
pub const REMOVED: &str = "REMOVED";
pub const INVALID: &str = "INVALID";
pub const DELIVERED: &str = "DELIVERED";
pub const NOT_DELIVERED: &str = "NOT_DELIVERED";

/// Reason code of a refusal without reason.
pub const REASON_REFUSED: &str = "11";

/// (code, numeric status_code, name)
const KNOWN: &[(&str, u32, &str)] = &[
    (ACCEPTED, 1000, "Принят"),
    (CREATED, 1, "Создан"),
    (REMOVED, 2, "Удален"),
    ("RECEIVED_AT_SHIPMENT_WAREHOUSE", 3, "Принят на склад отправителя"),
    ("READY_FOR_SHIPMENT_IN_SENDER_CITY", 6, "Выдан на отправку в г. отправителе"),
    ("RETURNED_TO_SENDER_CITY_WAREHOUSE", 16, "Возвращен на склад отправителя"),
    ("TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY", 7, "Сдан перевозчику в г. отправителе"),
    ("SENT_TO_TRANSIT_CITY", 21, "Отправлен в г. транзит"),
    ("ACCEPTED_IN_TRANSIT_CITY", 22, "Встречен в г. транзите"),
    ("ACCEPTED_AT_TRANSIT_WAREHOUSE", 13, "Принят на склад транзита"),
    ("RETURNED_TO_TRANSIT_WAREHOUSE", 17, "Возвращен на склад транзита"),
    ("READY_FOR_SHIPMENT_IN_TRANSIT_CITY", 19, "Выдан на отправку в г. транзите"),
    ("TAKEN_BY_TRANSPORTER_FROM_TRANSIT_CITY", 20, "Сдан перевозчику в г. транзите"),
    ("SENT_TO_SENDER_CITY", 27, "Отправлен в г. отправителя"),
    ("ACCEPTED_IN_SENDER_CITY", 28, "Встречен в г. отправителе"),
    ("SENT_TO_RECIPIENT_CITY", 8, "Отправлен в г. получатель"),
    ("ACCEPTED_IN_RECIPIENT_CITY", 9, "Встречен в г. получателе"),
    ("ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE", 10, "Принят на склад доставки"),
    ("ACCEPTED_AT_PICK_UP_POINT", 12, "Принят на склад до востребования"),
    ("TAKEN_BY_COURIER", 11, "Выдан на доставку"),
    ("RETURNED_TO_RECIPIENT_CITY_WAREHOUSE", 18, "Возвращен на склад доставки"),
    (DELIVERED, 4, "Вручен"),
    (NOT_DELIVERED, 5, "Не вручен"),
    (INVALID, 1000, "Некорректный заказ"),
    ("ENTERED_TO_OFFICE_TRANSIT_WAREHOUSE", 1000, "Поступил в офис транзита"),
    ("ENTERED_TO_DELIVERY_WAREHOUSE", 1000, "Поступил на склад доставки"),
    ("ENTERED_TO_WAREHOUSE_ON_DEMAND", 1000, "Поступил на склад до востребования"),
    ("IN_CUSTOMS_INTERNATIONAL", 1000, "Таможенное оформление в стране отправления"),
    ("SHIPPED_TO_DESTINATION", 1000, "Отправлено в страну назначения"),
    ("PASSED_TO_TRANSIT_CARRIER", 1000, "Передано транзитному перевозчику"),
    ("IN_CUSTOMS_LOCAL", 1000, "Таможенное оформление в стране назначения"),
    ("CUSTOMS_COMPLETE", 1000, "Таможенное оформление завершено"),
    ("POSTOMAT_POSTED", 1000, "Заложен в постамат"),
    ("POSTOMAT_SEIZED", 1000, "Изъят из постамата курьером"),
    ("POSTOMAT_RECEIVED", 1000, "Изъят из постамата клиентом"),
];

/// The Russian name CDEK shows for a status; an unknown code is its own name.
pub fn name(code: &str) -> String {
    KNOWN.iter().find(|(known, _, _)| *known == code).map_or_else(|| code.to_owned(), |(_, _, name)| (*name).to_owned())
}

/// The deprecated numeric `status_code`, as the string webhooks carry; 1000 for newer or
/// unknown codes.
pub fn numeric(code: &str) -> String {
    KNOWN.iter().find(|(known, _, _)| *known == code).map_or(1000, |(_, number, _)| *number).to_string()
}

/// CDEK city codes of a few big cities, so status webhooks can carry `city_code`.
const CITIES: &[(&str, u32)] = &[
    ("Москва", 44),
    ("Санкт-Петербург", 137),
    ("Новосибирск", 270),
    ("Екатеринбург", 250),
    ("Казань", 424),
    ("Нижний Новгород", 414),
];

pub fn city_code(city: &str) -> Option<String> {
    let wanted = city.trim().to_lowercase();
    CITIES.iter().find(|(name, _)| name.to_lowercase() == wanted).map(|(_, code)| code.to_string())
}

pub fn city_by_code(code: i64) -> Option<&'static str> {
    CITIES.iter().find(|(_, known)| i64::from(*known) == code).map(|(name, _)| *name)
}

/// The city a CDEK office code belongs to, from its prefix (`MSK65` → Москва).
pub fn city_of_office(office: &str) -> Option<&'static str> {
    let prefix: String = office.chars().take_while(char::is_ascii_alphabetic).collect::<String>().to_uppercase();
    match prefix.as_str() {
        "MSK" => Some("Москва"),
        "SPB" => Some("Санкт-Петербург"),
        "NSK" => Some("Новосибирск"),
        "EKB" => Some("Екатеринбург"),
        "KZN" => Some("Казань"),
        "NNV" => Some("Нижний Новгород"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(numeric("RECEIVED_AT_SHIPMENT_WAREHOUSE"), "3");
        assert_eq!(numeric("POSTOMAT_POSTED"), "1000");
        assert_eq!(numeric("READY_TO_SHIP_AT_SENDING_OFFICE"), "1000");
        assert_eq!(name("DELIVERED"), "Вручен");
        assert_eq!(name("READY_TO_SHIP_AT_SENDING_OFFICE"), "READY_TO_SHIP_AT_SENDING_OFFICE");
    }

    #[test]
    fn cities() {
        assert_eq!(city_code("Новосибирск").as_deref(), Some("270"));
        assert_eq!(city_code("Урюпинск"), None);
        assert_eq!(city_of_office("MSK65"), Some("Москва"));
        assert_eq!(city_by_code(137), Some("Санкт-Петербург"));
    }
}
