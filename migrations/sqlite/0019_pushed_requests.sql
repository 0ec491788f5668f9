-- A client that must push its authorization requests (RFC 9126 §6): a plain
-- request to /authorize from it is refused.
alter table clients add column require_par integer not null default 0;
