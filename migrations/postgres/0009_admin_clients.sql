-- Clients an operator granted the `admin` scope (the console's API through the
-- client-credentials grant): the account they administer, or '*' for all.
alter table clients add column admin_scope text;
