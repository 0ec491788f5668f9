-- Grows a provisioned benchmark database (bench/scale.sh): :members members
-- in the account `scale` (a quarter with an authenticator app), :sessions
-- live sessions, :grants grants each with a live refresh token, and :events
-- audit events over 30 days (the large size: 200,000, 210,000, 228,000 and
-- 1,000,000). Portable between SQLite and PostgreSQL; the script replaces
-- the :names. Members share the bench user's password hash (one argon2 hash
-- copied).
insert into users (id, account_id, username, email, password_hash, is_admin, is_operator,
                   is_disabled, created_at, username_key, email_key)
with recursive n(i) as (select 0 union all select i + 1 from n where i < :members - 1)
select 'scale-user-' || (1000000 + i), a.id, 'member' || (1000000 + i),
       'member' || (1000000 + i) || '@example.com', b.password_hash, 0, 0, 0, :now,
       'member' || (1000000 + i), 'member' || (1000000 + i) || '@example.com'
from n, accounts a, users b where a.name = 'scale' and b.username = 'bench';

insert into totp_factors (id, user_id, secret_enc, last_step, confirmed_at, last_used_at, created_at)
with recursive n(i) as (select 0 union all select i + 4 from n where i < :members - 4)
select 'scale-totp-' || (1000000 + i), 'scale-user-' || (1000000 + i), 'sealed', 0, :now, :now, :now
from n;

insert into sessions (id_hash, sid, user_id, auth_time, acr, amr, ip, user_agent, created_at,
                      last_seen_at, expires_at, reauthenticated_at, idle_secs, idle_until)
with recursive n(i) as (select 0 union all select i + 1 from n where i < :sessions - 1)
select 'scale-session-' || i, 'scale-sid-' || i, 'scale-user-' || (1000000 + i % :members),
       :now, 'aal2', 'pwd otp', '192.0.2.1', 'bench', :now, :now, :now + 2592000, null,
       2592000, :now + 2592000
from n;

insert into grants (id, client_id, user_id, sid, scope, nonce, auth_time, acr, amr, created_at)
with recursive n(i) as (select 0 union all select i + 1 from n where i < :grants - 1)
select 'scale-grant-' || i, 'bench', 'scale-user-' || (1000000 + i % :members),
       'scale-sid-' || (i % :sessions), 'openid', null, :now - 86400, 'aal2', 'pwd otp',
       :now - 86400 - i % 86400
from n;

insert into refresh_tokens (token_hash, grant_id, expires_at, used_at, created_at)
with recursive n(i) as (select 0 union all select i + 1 from n where i < :grants - 1)
select 'scale-refresh-' || i, 'scale-grant-' || i, :now + 2592000, null, :now - 86400
from n;

insert into audit_events (id, at, kind, user_id, actor_id, ip, detail, account_id)
with recursive n(i) as (select 0 union all select i + 1 from n where i < :events - 1)
select 'scale-event-' || (10000000 + i), :now - 2592000 + cast(i as bigint) * 2592000 / :events,
       case i % 5 when 0 then 'signed_in' when 1 then 'second_factor_ok'
           when 2 then 'password_failed' when 3 then 'session_ended'
           else 'second_factor_failed' end,
       'scale-user-' || (1000000 + i % :members), null, '192.0.2.1', '{}', a.id
from n, accounts a where a.name = 'scale';

-- The kept counts, as the migration computes them (PostgreSQL grows with its
-- triggers off: one account row updated 200,000 times in one transaction
-- would cost more than the rows themselves).
update users set second_factors =
    (select count(*) from totp_factors t where t.user_id = users.id and t.confirmed_at is not null)
    + (select count(*) from webauthn_credentials w where w.user_id = users.id)
where id like 'scale-user-%';
update accounts set
    members = (select count(*) from users u where u.account_id = accounts.id),
    members_without_factor =
        (select count(*) from users u where u.account_id = accounts.id and u.second_factors = 0)
where name = 'scale';
