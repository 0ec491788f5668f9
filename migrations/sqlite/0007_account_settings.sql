-- Account settings the console changes. A null setting means the provider's own.
-- mfa_required_at: when 2FA became required (a grace period in days counts from it).
alter table accounts add column mfa_required_at integer;
alter table accounts add column mfa_grace_days integer not null default 0;
alter table accounts add column mfa_grace_sign_ins integer not null default 0;
alter table accounts add column session_idle_secs integer;
alter table accounts add column session_lifetime_secs integer;
alter table accounts add column mfa_failure_limit integer;
alter table accounts add column mfa_lockout_secs integer;
-- Sign-ins without a second factor since 2FA became required (the grace in sign-ins).
alter table users add column sign_ins_without_factor integer not null default 0;
-- Each session keeps the idle limit of its account when it began.
alter table sessions add column idle_secs integer not null default 3600;
-- The account an audit event belongs to, for the console's audit log.
alter table audit_events add column account_id text;
create index audit_events_account on audit_events(account_id, at);
