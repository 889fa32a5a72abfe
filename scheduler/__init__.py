"""The scheduler edge: APScheduler jobs that raise, wake and escalate reminders and deliver the
outbox, plus the delivery channels (signed webhooks, SMTP e-mail).

- `jobs`: the jobs as plain functions of a `Runtime` (they own their transactions).
- `delivery`: one delivery round (lease, send outside any transaction, record).
- `webhooks`, `email`: the channels.
- `process`: `pathway scheduler` / `python -m scheduler` (until SIGTERM) and the
  scheduler embedded in `pathway serve` (BackgroundScheduler).

The decisions live in the core (`pathway.reminders`, `pathway.escalation`,
`pathway.deliveries`); nothing here is durable, because the database is the schedule.
"""
