-- Email and SMS to users: queued here and sent by a background task with
-- retries. A body holds a code, so it is sealed (see auth::vault).
create table outbound_messages (
    id text primary key,
    user_id text references users(id) on delete cascade,
    channel text not null,
    recipient text not null,
    subject text not null,
    body_sealed text not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    lease_until bigint,
    sent_at bigint,
    failed_at bigint,
    last_error text,
    created_at bigint not null
);
create index outbound_messages_due on outbound_messages(next_attempt_at);
create index outbound_messages_user on outbound_messages(user_id);

-- One live code per user and purpose, stored as a keyed tag of the code.
create table contact_codes (
    user_id text not null references users(id) on delete cascade,
    purpose text not null,
    target text not null,
    code_tag text not null,
    expires_at bigint not null,
    sent_at bigint not null,
    primary key (user_id, purpose)
);

-- A verified email address can carry codes (the email factor); a verified
-- mobile number is the recovery phone.
alter table users add column email_verified_at bigint;
alter table users add column email_codes_on bigint not null default 0;
alter table users add column phone text;
alter table users add column phone_verified_at bigint;
alter table accounts add column require_recovery_phone bigint not null default 0;
