"""The hub's outbound-message room: every message we send a customer, for service and
marketing alike (templates with placeholders, the consent and preferred-channel check,
one copy per message and recipient, a delivery log, the customer's timeline).

Other apps call `customers.outbound.services.send_to_customer(...)`; see
docs/outbound_messages.md."""
