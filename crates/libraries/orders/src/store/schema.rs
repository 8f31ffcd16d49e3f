// @generated automatically by Diesel CLI.

diesel::table! {
    courier_positions (store_id, courier_id) {
        courier_id -> Text,
        lat -> Float8,
        lon -> Float8,
        recorded_at -> Timestamptz,
        accuracy_m -> Float4,
        speed_mps -> Nullable<Float4>,
        heading_deg -> Nullable<Float4>,
        updated_at -> Timestamptz,
        store_id -> Text,
    }
}

diesel::table! {
    idempotency_keys (store_id, idempotency_key) {
        store_id -> Text,
        idempotency_key -> Text,
        request_hash -> Bytea,
        response_status -> Int2,
        response_body -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    order_timeline (order_id, version) {
        order_id -> Uuid,
        version -> Int8,
        status -> Text,
        actor -> Text,
        at -> Timestamptz,
        carrier_status -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        store_id -> Text,
        store_order_number -> Text,
        customer_name -> Text,
        customer_phone -> Text,
        customer_email -> Text,
        pickup_address -> Text,
        pickup_lat -> Float8,
        pickup_lon -> Float8,
        destination_address -> Text,
        destination_lat -> Float8,
        destination_lon -> Float8,
        parcels -> Jsonb,
        delivery_method -> Text,
        cdek_tariff_code -> Nullable<Int4>,
        status -> Text,
        courier_id -> Nullable<Text>,
        carrier_reference -> Nullable<Text>,
        eta_expected_at -> Nullable<Timestamptz>,
        eta_earliest -> Nullable<Timestamptz>,
        eta_latest -> Nullable<Timestamptz>,
        eta_source -> Nullable<Text>,
        eta_computed_at -> Nullable<Timestamptz>,
        tracking_token_hash -> Bytea,
        tracking_expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        topic -> Text,
        message_key -> Text,
        payload -> Bytea,
        created_at -> Timestamptz,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamptz,
    }
}

diesel::table! {
    processed_commands (command_id) {
        command_id -> Text,
        order_id -> Uuid,
        outcome -> Text,
        reason -> Nullable<Text>,
        processed_at -> Timestamptz,
    }
}

diesel::table! {
    track_points (id) {
        id -> Int8,
        order_id -> Uuid,
        courier_id -> Text,
        lat -> Float8,
        lon -> Float8,
        recorded_at -> Timestamptz,
    }
}

diesel::joinable!(order_timeline -> orders (order_id));
diesel::joinable!(track_points -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    courier_positions,
    idempotency_keys,
    order_timeline,
    orders,
    outbox,
    processed_commands,
    track_points,
);
