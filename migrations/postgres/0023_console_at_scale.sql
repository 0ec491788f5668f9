-- The console and the purge at scale: nothing they read grows with the
-- data they do not show.

-- Searching members by the start of their username or email address, case
-- folded by the provider (the same way on every database); filled for
-- existing members when the store opens. Keys and ids compare byte by byte
-- ("C"), as SQLite's do, so that a prefix is a range of the index and both
-- databases list in one order. Each listing reads one range of one of these,
-- in order: an account's members by username (all, or those without a second
-- factor) or by email address, and everyone's (operators). Addresses that
-- start with their member's username are found through the username (a
-- search longer than it looks the username up), so only the others are in
-- the email indexes.
alter table users add column username_key text collate "C";
alter table users add column email_key text collate "C";
create index users_username_search on users(account_id, username_key, id collate "C");
create index users_email_search on users(account_id, email_key, id collate "C")
    where substr(email_key, 1, length(username_key)) <> username_key;
create index users_username_everywhere on users(username_key, id collate "C");
create index users_email_everywhere on users(email_key, id collate "C")
    where substr(email_key, 1, length(username_key)) <> username_key;
create index users_unkeyed on users(id) where username_key is null;

-- How many second factors (confirmed authenticator apps, security keys and
-- passkeys) protect a member, kept by the triggers below so that the members
-- without one are an index away. Each change adds or takes one, under the
-- member's row lock, so that concurrent changes cannot lose a count.
alter table users add column second_factors bigint not null default 0;
update users set second_factors =
    (select count(*) from totp_factors t where t.user_id = users.id and t.confirmed_at is not null)
    + (select count(*) from webauthn_credentials w where w.user_id = users.id);
create index users_without_factor on users(account_id, username_key, id collate "C") where second_factors = 0;

create function totp_factors_counted() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' and new.confirmed_at is not null then
        update users set second_factors = second_factors + 1 where id = new.user_id;
    elsif tg_op = 'UPDATE' and (old.confirmed_at is null) <> (new.confirmed_at is null) then
        update users set second_factors = second_factors
            + (case when new.confirmed_at is null then -1 else 1 end) where id = new.user_id;
    elsif tg_op = 'DELETE' and old.confirmed_at is not null then
        update users set second_factors = second_factors - 1 where id = old.user_id;
    end if;
    return null;
end $$;
create trigger totp_factors_counted after insert or delete or update of confirmed_at
    on totp_factors for each row execute function totp_factors_counted();

create function webauthn_credentials_counted() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        update users set second_factors = second_factors + 1 where id = new.user_id;
    else
        update users set second_factors = second_factors - 1 where id = old.user_id;
    end if;
    return null;
end $$;
create trigger webauthn_credentials_counted after insert or delete
    on webauthn_credentials for each row execute function webauthn_credentials_counted();

-- Each account's members, and those without a second factor, kept the same way.
alter table accounts add column members bigint not null default 0;
alter table accounts add column members_without_factor bigint not null default 0;
update accounts set
    members = (select count(*) from users u where u.account_id = accounts.id),
    members_without_factor =
        (select count(*) from users u where u.account_id = accounts.id and u.second_factors = 0);

create function users_counted() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        update accounts set members = members - 1,
            members_without_factor = members_without_factor
                - (case when old.second_factors = 0 then 1 else 0 end)
        where id = old.account_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        update accounts set members = members + 1,
            members_without_factor = members_without_factor
                + (case when new.second_factors = 0 then 1 else 0 end)
        where id = new.account_id;
    end if;
    return null;
end $$;
create trigger users_counted_insert_delete after insert or delete
    on users for each row execute function users_counted();
create trigger users_counted_update after update of second_factors, account_id on users
    for each row
    when (old.account_id <> new.account_id or (old.second_factors = 0) <> (new.second_factors = 0))
    execute function users_counted();

-- The audit log pages by (at, id), within an account, a kind or a member.
drop index audit_events_account;
drop index audit_events_user;
create index audit_events_account on audit_events(account_id, at, id);
create index audit_events_account_kind on audit_events(account_id, kind, at, id);
create index audit_events_user on audit_events(user_id, at, id);

-- The purge reads indexed columns only: when a session's idle limit passes
-- (moved on at each use), and when a grant was made.
alter table sessions add column idle_until bigint not null default 0;
update sessions set idle_until = last_seen_at + idle_secs;
create index sessions_idle_until on sessions(idle_until);
create index grants_created on grants(created_at, id);
create index revoked_access_tokens_expires on revoked_access_tokens(expires_at);
create index password_links_expires on password_links(expires_at);
create index failure_counters_window on failure_counters(window_start);
