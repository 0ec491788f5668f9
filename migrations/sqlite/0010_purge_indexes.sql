-- The purge of expired rows reads these columns; a grant is kept while a
-- code or refresh token still points at it.
create index auth_codes_expires on auth_codes(expires_at);
create index auth_codes_grant on auth_codes(grant_id);
create index refresh_tokens_expires on refresh_tokens(expires_at);
create index sessions_expires on sessions(expires_at);
create index auth_requests_expires on auth_requests(expires_at);
create index pending_logins_expires on pending_logins(expires_at);
