
$0190a6b2-0000-7000-8000-000000000005customer_notification ð€ÉÀ©Ó:"	order-apirG
n-1$0190a6b2-1c3d-7e4f-8a5b-6c7d8e9fa0b1At the door in 5 minutes 