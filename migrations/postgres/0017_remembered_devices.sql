-- "Remember this device": per account, how many days a browser that gave
-- the second factor may sign in with the password alone (0: off).
alter table accounts add column remember_device_days bigint not null default 0;

-- A remembered browser: the hash of the random secret in its cookie, with
-- its user, a label from its user agent, and when and where it was last used.
create table remembered_devices (
    id text primary key,
    user_id text not null references users(id) on delete cascade,
    secret_hash text not null unique,
    label text not null,
    last_ip text,
    created_at bigint not null,
    last_used_at bigint not null,
    expires_at bigint not null
);
create index remembered_devices_user on remembered_devices(user_id);
create index remembered_devices_expiry on remembered_devices(expires_at);
