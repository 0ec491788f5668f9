-- DPoP (RFC 9449): the key a public client's refresh tokens are bound to,
-- as its JWK thumbprint; null where they are not bound.
alter table grants add column dpop_jkt text;

-- The jti of each DPoP proof accepted, per key, until its iat is too old to
-- be accepted anyway: a replay is refused on every node.
create table dpop_proofs (
    jkt text not null,
    jti text not null,
    expires_at bigint not null,
    primary key (jkt, jti)
);
create index dpop_proofs_expiry on dpop_proofs(expires_at);
