-- The console and the purge at scale: nothing they read grows with the
-- data they do not show.

-- Searching members by the start of their username or email address, case
-- folded by the provider (the same way on every database); filled for
-- existing members when the store opens. Each listing reads one range
-- of one of these, in order: an account's members by username (all, or those
-- without a second factor) or by email address, and everyone's (operators).
-- Addresses that start with their member's username are found through the
-- username (a search longer than it looks the username up), so only the
-- others are in the email indexes.
alter table users add column username_key text;
alter table users add column email_key text;
create index users_username_search on users(account_id, username_key, id);
create index users_email_search on users(account_id, email_key, id)
    where substr(email_key, 1, length(username_key)) <> username_key;
create index users_username_everywhere on users(username_key, id);
create index users_email_everywhere on users(email_key, id)
    where substr(email_key, 1, length(username_key)) <> username_key;
create index users_unkeyed on users(id) where username_key is null;

-- How many second factors (confirmed authenticator apps, security keys and
-- passkeys) protect a member, kept by the triggers below so that the members
-- without one are an index away.
alter table users add column second_factors integer not null default 0;
update users set second_factors =
    (select count(*) from totp_factors t where t.user_id = users.id and t.confirmed_at is not null)
    + (select count(*) from webauthn_credentials w where w.user_id = users.id);
create index users_without_factor on users(account_id, username_key, id) where second_factors = 0;

create trigger totp_factors_counted_insert after insert on totp_factors
when new.confirmed_at is not null begin
    update users set second_factors = second_factors + 1 where id = new.user_id;
end;
create trigger totp_factors_counted_confirm after update of confirmed_at on totp_factors
when (old.confirmed_at is null) <> (new.confirmed_at is null) begin
    update users set second_factors = second_factors
        + (case when new.confirmed_at is null then -1 else 1 end) where id = new.user_id;
end;
create trigger totp_factors_counted_delete after delete on totp_factors
when old.confirmed_at is not null begin
    update users set second_factors = second_factors - 1 where id = old.user_id;
end;
create trigger webauthn_credentials_counted_insert after insert on webauthn_credentials begin
    update users set second_factors = second_factors + 1 where id = new.user_id;
end;
create trigger webauthn_credentials_counted_delete after delete on webauthn_credentials begin
    update users set second_factors = second_factors - 1 where id = old.user_id;
end;

-- Each account's members, and those without a second factor, kept the same way.
alter table accounts add column members integer not null default 0;
alter table accounts add column members_without_factor integer not null default 0;
update accounts set
    members = (select count(*) from users u where u.account_id = accounts.id),
    members_without_factor =
        (select count(*) from users u where u.account_id = accounts.id and u.second_factors = 0);

create trigger users_counted_insert after insert on users begin
    update accounts set members = members + 1,
        members_without_factor = members_without_factor + (new.second_factors = 0)
    where id = new.account_id;
end;
create trigger users_counted_delete after delete on users begin
    update accounts set members = members - 1,
        members_without_factor = members_without_factor - (old.second_factors = 0)
    where id = old.account_id;
end;
create trigger users_counted_update after update of second_factors, account_id on users
when old.account_id <> new.account_id or (old.second_factors = 0) <> (new.second_factors = 0) begin
    update accounts set members = members - 1,
        members_without_factor = members_without_factor - (old.second_factors = 0)
    where id = old.account_id;
    update accounts set members = members + 1,
        members_without_factor = members_without_factor + (new.second_factors = 0)
    where id = new.account_id;
end;

-- The audit log pages by (at, id), within an account, a kind or a member.
drop index audit_events_account;
drop index audit_events_user;
create index audit_events_account on audit_events(account_id, at, id);
create index audit_events_account_kind on audit_events(account_id, kind, at, id);
create index audit_events_user on audit_events(user_id, at, id);

-- The purge reads indexed columns only: when a session's idle limit passes
-- (moved on at each use), and when a grant was made.
alter table sessions add column idle_until integer not null default 0;
update sessions set idle_until = last_seen_at + idle_secs;
create index sessions_idle_until on sessions(idle_until);
create index grants_created on grants(created_at, id);
create index revoked_access_tokens_expires on revoked_access_tokens(expires_at);
create index password_links_expires on password_links(expires_at);
create index failure_counters_window on failure_counters(window_start);
