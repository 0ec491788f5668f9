-- Second factors (TOTP and backup codes), sign-ins between their password and
-- second step, failure counters, and the audit log.
alter table users add column must_enroll bigint not null default 0;
alter table sessions add column reauthenticated_at bigint;

create table totp_factors (
    id text primary key,
    user_id text not null references users(id) on delete cascade,
    secret_enc text not null,
    last_step bigint not null default 0,
    confirmed_at bigint,
    last_used_at bigint,
    created_at bigint not null
);
create index totp_factors_user on totp_factors(user_id);

create table backup_codes (
    code_mac text primary key,
    user_id text not null references users(id) on delete cascade,
    used_at bigint,
    created_at bigint not null
);
create index backup_codes_user on backup_codes(user_id);

create table pending_logins (
    id_hash text primary key,
    user_id text not null references users(id) on delete cascade,
    stage text not null,
    request_id text,
    next_path text,
    session_sid text,
    created_at bigint not null,
    expires_at bigint not null
);

create table failure_counters (
    key text primary key,
    failures bigint not null,
    window_start bigint not null,
    locked_until bigint
);

create table audit_events (
    id text primary key,
    at bigint not null,
    kind text not null,
    user_id text,
    actor_id text,
    ip text,
    detail text not null
);
create index audit_events_user on audit_events(user_id, at);
create index audit_events_at on audit_events(at);
