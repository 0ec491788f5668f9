-- The device authorization grant (RFC 8628), for clients registered for it.
alter table clients add column device_grant integer not null default 0;

-- Each device authorization: its device code (hashed), the user code shown,
-- and, once the user answers, who allowed it and with which sign-in.
create table device_codes (
    code_hash text primary key,
    user_code text not null unique,
    client_id text not null,
    scope text not null,
    status text not null default 'pending',
    interval_secs integer not null,
    last_polled_at integer,
    user_id text,
    sid text,
    auth_time integer,
    acr text,
    amr text,
    created_at integer not null,
    expires_at integer not null
);
create index device_codes_expiry on device_codes(expires_at);
