-- What the purge finds at the large size (bench/scale.sh): 50,000 sessions
-- past their idle limit, and 50,000 old grants whose refresh tokens expired.
insert into sessions (id_hash, sid, user_id, auth_time, acr, amr, ip, user_agent, created_at,
                      last_seen_at, expires_at, reauthenticated_at, idle_secs, idle_until)
with recursive n(i) as (select 0 union all select i + 1 from n where i < 49999)
select 'idle-session-' || i, 'idle-sid-' || i, 'scale-user-' || (1000000 + i % :members),
       :now - 7200, 'aal2', 'pwd otp', '192.0.2.1', 'bench', :now - 7200, :now - 7200,
       :now + 86400, null, 3600, :now - 3600
from n;

insert into grants (id, client_id, user_id, sid, scope, nonce, auth_time, acr, amr, created_at)
with recursive n(i) as (select 0 union all select i + 1 from n where i < 49999)
select 'old-grant-' || i, 'bench', 'scale-user-' || (1000000 + i % :members),
       'idle-sid-' || i, 'openid', null, :now - 5184000, 'aal2', 'pwd otp', :now - 5184000
from n;

insert into refresh_tokens (token_hash, grant_id, expires_at, used_at, created_at)
with recursive n(i) as (select 0 union all select i + 1 from n where i < 49999)
select 'old-refresh-' || i, 'old-grant-' || i, :now - 60, null, :now - 5184000
from n;
