
$0190a6b2-0000-7000-8000-000000000003order_command ğ€ÉÀ©Ó:"logistics-adapterbU
cmd-2$0190a6b2-1c3d-7e4f-8a5b-6c7d8e9fa0b1Z$
"
¨ş€Éüû€É€ƒÉ * ğ€É