-- A third-party client asks its users before its first authorization (and
-- whenever it wants more scopes than they gave); first-party clients never do.
alter table clients add column consent bigint not null default 0;

-- What a user allowed a third-party client: the scopes, and when.
create table consents (
    user_id text not null references users(id) on delete cascade,
    client_id text not null references clients(client_id) on delete cascade,
    scope text not null,
    granted_at bigint not null,
    primary key (user_id, client_id)
);

-- Revoking a consent revokes that client's grants of the user.
create index grants_user_client on grants(user_id, client_id);
