#!/usr/bin/env python3
"""Writes the seed corpus of the event_decoding fuzz target: one protobuf envelope of each
payload type (proto/events.proto), encoded by hand in the wire format so that no protobuf
package is needed. Run from anywhere: python3 crates/tools/fuzz/make_event_seeds.py"""
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "event_decoding"


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def v(field, n):
    return key(field, 0) + varint(n)


def s(field, data):
    data = data.encode() if isinstance(data, str) else data
    return key(field, 2) + varint(len(data)) + data


def d(field, x):
    return key(field, 1) + struct.pack("<d", x)


def f(field, x):
    return key(field, 5) + struct.pack("<f", x)


def ts(field, seconds, nanos=0):
    return s(field, v(1, seconds) + (v(2, nanos) if nanos else b""))


ORDER_ID = "0190a6b2-1c3d-7e4f-8a5b-6c7d8e9fa0b1"
AT = 1_763_719_200  # 2025-11-21T10:00:00Z


def place(address, lat, lon):
    return s(1, address) + s(2, d(1, lat) + d(2, lon))


def eta(source=1):
    return ts(1, AT + 1800) + ts(2, AT + 1500) + ts(3, AT + 2400) + v(4, source) + ts(5, AT)


def order(status, courier="", version=1, cdek=False):
    return (
        s(1, ORDER_ID) + s(2, "M-1001")
        + s(3, s(1, "Anna Petrova") + s(2, "+79161234567") + s(3, "anna@example.com"))
        + s(4, place("Tverskaya 1, Moscow", 55.7558, 37.6173))
        + s(5, place("Arbat 10, Moscow", 55.7500, 37.5900))
        + s(6, v(1, 1200) + v(2, 30) + v(3, 20) + v(4, 10))
        + s(7, v(1, 2) + v(2, 136) if cdek else v(1, 1))
        + v(8, status) + (s(9, courier) if courier else b"") + s(10, eta())
        + ts(11, AT) + ts(12, AT + 60) + v(13, version) + s(15, "shop-a")
    )


def envelope(event_type, field, payload, producer="order-api"):
    return (
        s(1, "0190a6b2-0000-7000-8000-00000000000" + str(field - 9)) + s(2, event_type)
        + ts(3, AT, 123_000_000) + s(4, producer) + s(field, payload)
    )


SEEDS = {
    "order-created": envelope("order_created", 10, s(1, order(1))),
    "order-created-cdek": envelope("order_created", 10, s(1, order(1, cdek=True))),
    "order-updated-assigned": envelope(
        "order_updated", 11,
        s(1, order(2, "c-17", 2)) + s(2, "status") + s(2, "courier_id") + s(3, v(1, 2) + v(2, 1) + ts(3, AT + 60)),
    ),
    "order-command-change-status": envelope(
        "order_command", 12,
        s(1, "cmd-1") + s(2, ORDER_ID) + v(3, 2) + s(10, v(1, 4) + s(2, "") + s(3, "picked up") + ts(4, AT + 90)),
        "courier-tracker",
    ),
    "order-command-set-eta": envelope(
        "order_command", 12, s(1, "cmd-2") + s(2, ORDER_ID) + v(3, 4) + s(11, s(1, eta(2))), "logistics-adapter"
    ),
    "order-command-carrier-event": envelope(
        "order_command", 12,
        s(1, "cmd-3") + s(2, ORDER_ID) + v(3, 3) + s(13, s(1, "RECEIVED_AT_SHIPMENT_WAREHOUSE") + ts(3, AT + 120)),
        "logistics-adapter",
    ),
    "courier-locations": envelope(
        "courier_locations", 13,
        s(1, "c-17")
        + s(2, d(1, 55.7560) + d(2, 37.6180) + ts(3, AT + 1) + f(4, 5.0) + f(5, 4.2) + f(6, 90.0))
        + s(2, d(1, 55.7570) + d(2, 37.6200) + ts(3, AT + 2) + f(4, 8.0)),
        "courier-tracker",
    ),
    "customer-notification": envelope(
        "customer_notification", 14, s(1, "n-1") + s(2, ORDER_ID) + s(3, "At the door in 5 minutes") + v(4, 1)
    ),
}

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (OUT / f"{name}.pb").write_bytes(data)
        print(f"{OUT / name}.pb: {len(data)} bytes")
