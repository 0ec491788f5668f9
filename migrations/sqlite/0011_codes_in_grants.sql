-- A grant's authorization code lives in the grant's own row: issuing it is one
-- insert and redeeming it one conditional update that returns the grant.
alter table grants add column code_hash text;
alter table grants add column code_redirect_uri text;
alter table grants add column code_challenge text;
alter table grants add column code_expires_at integer;
alter table grants add column code_consumed_at integer;

update grants set
    code_hash = (select c.code_hash from auth_codes c where c.grant_id = grants.id),
    code_redirect_uri = (select c.redirect_uri from auth_codes c where c.grant_id = grants.id),
    code_challenge = (select c.code_challenge from auth_codes c where c.grant_id = grants.id),
    code_expires_at = (select c.expires_at from auth_codes c where c.grant_id = grants.id),
    code_consumed_at = (select c.consumed_at from auth_codes c where c.grant_id = grants.id)
where exists (select 1 from auth_codes c where c.grant_id = grants.id);

create unique index grants_code on grants(code_hash);
create index grants_code_expires on grants(code_expires_at);
drop table auth_codes;
