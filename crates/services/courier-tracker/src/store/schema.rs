// @generated automatically by Diesel CLI.

diesel::table! {
    active_orders (order_id) {
        order_id -> Uuid,
        courier_id -> Nullable<Text>,
        status -> Text,
        pickup_lat -> Float8,
        pickup_lon -> Float8,
        destination_lat -> Float8,
        destination_lon -> Float8,
        version -> Int8,
        picked_up_sent -> Bool,
        in_transit_sent -> Bool,
        arriving_sent -> Bool,
        updated_at -> Timestamptz,
        store_id -> Text,
    }
}
