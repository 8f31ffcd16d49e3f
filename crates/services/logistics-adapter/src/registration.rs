//! The CDEK registration body and tariff request for an ordertrack order, built once
//! from its `order_created` event and stored with the shipment.
//!
//! CDEK's `number` is the ordertrack order id (unique, ASCII, 36 characters): it is what
//! the adapter looks the order up by after a crash, and what CDEK refuses to register
//! twice. The store's own number goes into the comment and the item names.

use domain::events as pb;

use crate::cdek::model::{Contact, Item, Location, Money, NewOrder, Package, Phone, TariffPackage, TariffRequest};

/// CDEK's type 1: an online-store order.
const ONLINE_STORE: u8 = 1;

/// The registration body and the tariff request, or why the event cannot give them.
pub fn build(order: &pb::Order, default_tariff: u32) -> Result<(NewOrder, TariffRequest), String> {
    let delivery = order.delivery.as_ref().ok_or("the order has no delivery")?;
    let tariff_code = if delivery.cdek_tariff_code == 0 { default_tariff } else { delivery.cdek_tariff_code };
    let location = |place: Option<&pb::Place>, which: &str| {
        let place = place.ok_or_else(|| format!("the order has no {which}"))?;
        let point = place.point.unwrap_or_default();
        Ok::<_, String>(Location { address: place.address.clone(), latitude: point.lat, longitude: point.lon })
    };
    let from_location = location(order.pickup.as_ref(), "pickup")?;
    let to_location = location(order.destination.as_ref(), "destination")?;
    let customer = order.customer.clone().unwrap_or_default();
    let phones = if customer.phone.is_empty() { Vec::new() } else { vec![Phone { number: customer.phone }] };
    let recipient = Contact { name: customer.name, email: Some(customer.email).filter(|e| !e.is_empty()), phones };
    if order.parcels.is_empty() {
        return Err("the order has no parcels".into());
    }
    let packages = order
        .parcels
        .iter()
        .enumerate()
        .map(|(index, parcel)| {
            let number = (index + 1).to_string();
            Package {
                items: vec![Item {
                    name: format!("Order {} parcel {number}", order.store_order_number),
                    ware_key: format!("{}-{number}", order.store_order_number).chars().take(50).collect(),
                    payment: Money { value: 0.0 },
                    cost: 0.0,
                    weight: parcel.weight_grams,
                    amount: 1,
                }],
                number,
                weight: parcel.weight_grams,
                length: parcel.length_cm,
                width: parcel.width_cm,
                height: parcel.height_cm,
            }
        })
        .collect();
    let tariff_packages = order
        .parcels
        .iter()
        .map(|p| TariffPackage { weight: p.weight_grams, length: p.length_cm, width: p.width_cm, height: p.height_cm })
        .collect();
    let tariff = TariffRequest {
        tariff_code,
        from_location: from_location.clone(),
        to_location: to_location.clone(),
        packages: tariff_packages,
    };
    let registration = NewOrder {
        kind: ONLINE_STORE,
        number: order.id.clone(),
        tariff_code,
        from_location,
        to_location,
        recipient,
        packages,
        comment: Some(format!("Store order {} (store {})", order.store_order_number, order.store_id)),
    };
    Ok((registration, tariff))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn order(tariff: u32) -> pb::Order {
        let place = |address: &str| {
            Some(pb::Place { address: address.into(), point: Some(pb::GeoPoint { lat: 55.7, lon: 37.6 }) })
        };
        pb::Order {
            id: "0190a4b2-7c3e-7000-8000-000000000001".into(),
            store_order_number: "A-100".into(),
            store_id: "shop-a".into(),
            customer: Some(pb::Customer { name: "Anna".into(), phone: "+79161234567".into(), email: String::new() }),
            pickup: place("Warehouse, Moscow"),
            destination: place("Home, Moscow"),
            parcels: vec![pb::Parcel { weight_grams: 1200, length_cm: 30, width_cm: 20, height_cm: 10 }],
            delivery: Some(pb::Delivery { method: pb::DeliveryMethod::Cdek as i32, cdek_tariff_code: tariff }),
            ..Default::default()
        }
    }

    #[test]
    fn the_body_names_the_order_by_its_id_with_one_item_per_package() {
        let (body, tariff) = build(&order(0), 137).unwrap();
        assert_eq!(body.number, "0190a4b2-7c3e-7000-8000-000000000001");
        assert_eq!((body.tariff_code, tariff.tariff_code), (137, 137));
        assert_eq!(body.packages[0].items.len(), 1);
        assert_eq!(body.packages[0].weight, 1200);
        assert_eq!(body.recipient.phones[0].number, "+79161234567");
        assert_eq!(body.recipient.email, None);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["type"], 1);
        assert!(json["recipient"].get("email").is_none());
        let back: NewOrder = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
        assert_eq!(build(&order(139), 137).unwrap().0.tariff_code, 139);
    }

    #[test]
    fn an_order_without_parcels_or_places_is_refused() {
        let mut no_parcels = order(0);
        no_parcels.parcels.clear();
        assert!(build(&no_parcels, 137).is_err());
        let mut no_pickup = order(0);
        no_pickup.pickup = None;
        assert!(build(&no_pickup, 137).is_err());
    }
}
