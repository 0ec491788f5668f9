-- A client that authenticates with private_key_jwt (RFC 7523): its public
-- keys as a JWK Set, or where to fetch them.
alter table clients add column jwks text;
alter table clients add column jwks_uri text;

-- The jti of each client assertion accepted, until it expires: a replay is
-- refused on every node.
create table client_assertions (
    client_id text not null,
    jti text not null,
    expires_at bigint not null,
    primary key (client_id, jti)
);
create index client_assertions_expiry on client_assertions(expires_at);
