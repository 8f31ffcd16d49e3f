// @generated automatically by Diesel CLI.

diesel::table! {
    shipment_statuses (order_id, code, status_at) {
        order_id -> Uuid,
        code -> Text,
        status_at -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    shipments (order_id) {
        order_id -> Uuid,
        state -> Text,
        cdek_uuid -> Nullable<Text>,
        cdek_number -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        request -> Jsonb,
        tariff -> Jsonb,
        register_attempts -> Int4,
        cancel_requested -> Bool,
        cancel_kind -> Nullable<Text>,
        errors -> Nullable<Jsonb>,
        eta_sent -> Bool,
        next_check_at -> Timestamptz,
        failures -> Int4,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_inbox (id) {
        id -> Int8,
        received_at -> Timestamptz,
        cdek_uuid -> Text,
        code -> Text,
        body -> Jsonb,
        processed_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(shipment_statuses -> shipments (order_id));

diesel::allow_tables_to_appear_in_same_query!(shipment_statuses, shipments, webhook_inbox,);
