-- Authorization codes are sealed, carrying their grant; the grant is stored
-- when its code is redeemed. Grants of codes never redeemed go, with the
-- columns that held codes.
delete from grants where code_hash is not null and code_consumed_at is null;
drop index grants_code;
drop index grants_code_expires;
alter table grants drop column code_hash;
alter table grants drop column code_redirect_uri;
alter table grants drop column code_challenge;
alter table grants drop column code_expires_at;
alter table grants drop column code_consumed_at;
