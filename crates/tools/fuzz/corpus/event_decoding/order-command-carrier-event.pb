
$0190a6b2-0000-7000-8000-000000000003order_command ð€ÉÀ©Ó:"logistics-adapterbY
cmd-3$0190a6b2-1c3d-7e4f-8a5b-6c7d8e9fa0b1j(
RECEIVED_AT_SHIPMENT_WAREHOUSE˜ñ€É