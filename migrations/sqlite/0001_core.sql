-- Accounts (tenants), users, relying parties, sessions and the artefacts of the
-- authorization-code flow. Times are unix seconds; flags are 0/1 integers.
create table accounts (
    id text primary key,
    name text not null unique,
    require_mfa integer not null default 0,
    factors text not null,
    created_at integer not null
);

create table users (
    id text primary key,
    account_id text not null references accounts(id) on delete cascade,
    username text not null unique,
    email text not null,
    password_hash text not null,
    is_admin integer not null default 0,
    is_operator integer not null default 0,
    is_disabled integer not null default 0,
    created_at integer not null
);
create index users_account on users(account_id);

create table clients (
    client_id text primary key,
    secret_hash text,
    redirect_uris text not null,
    post_logout_redirect_uris text not null,
    backchannel_logout_uri text,
    id_token_alg text not null,
    created_at integer not null
);

create table sessions (
    id_hash text primary key,
    sid text not null unique,
    user_id text not null references users(id) on delete cascade,
    auth_time integer not null,
    acr text not null,
    amr text not null,
    ip text,
    user_agent text,
    created_at integer not null,
    last_seen_at integer not null,
    expires_at integer not null
);
create index sessions_user on sessions(user_id);

create table auth_requests (
    id text primary key,
    params text not null,
    created_at integer not null,
    expires_at integer not null
);

create table grants (
    id text primary key,
    client_id text not null references clients(client_id) on delete cascade,
    user_id text not null references users(id) on delete cascade,
    sid text not null,
    scope text not null,
    nonce text,
    auth_time integer not null,
    acr text not null,
    amr text not null,
    created_at integer not null,
    revoked_at integer
);
create index grants_sid on grants(sid);

create table auth_codes (
    code_hash text primary key,
    grant_id text not null references grants(id) on delete cascade,
    redirect_uri text not null,
    code_challenge text,
    expires_at integer not null,
    consumed_at integer,
    created_at integer not null
);

create table refresh_tokens (
    token_hash text primary key,
    grant_id text not null references grants(id) on delete cascade,
    expires_at integer not null,
    used_at integer,
    created_at integer not null
);
create index refresh_tokens_grant on refresh_tokens(grant_id);

create table setup_tokens (
    token_hash text primary key,
    expires_at integer not null,
    created_at integer not null
);
