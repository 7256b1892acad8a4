"""The service desk's loop with customers and the back office: proactive messages,
follow-ups for staff, systemic problems routed to back-office teams, CSAT surveys,
inbound e-mail, canned responses and knowledge-base articles. Plugged in through
`service/hooks.py` (see `service.loop.plug`)."""
