-- Security keys and passkeys (WebAuthn). The credential is webauthn-rs's
-- serialised public key; its signature counter is kept in a column of its
-- own so that a counter going backwards is caught with one conditional update.
create table webauthn_credentials (
    id text primary key,
    user_id text not null references users(id) on delete cascade,
    credential_id text not null unique,
    kind text not null,
    name text not null,
    credential text not null,
    counter bigint not null default 0,
    created_at bigint not null,
    last_used_at bigint
);
create index webauthn_credentials_user on webauthn_credentials(user_id);

-- A ceremony under way: single-use, short-lived, and kept here rather than in
-- one node's memory. The id is the hash of the token the page carries.
create table webauthn_challenges (
    id_hash text primary key,
    purpose text not null,
    binding text not null,
    user_id text references users(id) on delete cascade,
    state text not null,
    detail text not null,
    expires_at bigint not null
);
create index webauthn_challenges_expires on webauthn_challenges(expires_at);
