#!/bin/sh
# Provisions the users of the load generator's sign-in scenario in a prepared
# Gatehouse peer: an account `signin` that requires 2FA and users signin-0 ..
# signin-<N-1> with password bench-password (signin-0 through the command
# line; the others share its password hash, inserted in one statement).
# Each signs in at most three times per 30 s TOTP window, so N bounds the rate.
#
#   GATEHOUSE_BIN=... GATEHOUSE_DATABASE_URL=... GATEHOUSE_KEYS_DIR=... bench/signin-users.sh N
set -eu
n="${1:?how many users}"
bin="${GATEHOUSE_BIN:?}"
"$bin" account create signin --require-mfa >/dev/null
echo bench-password | "$bin" user create --username signin-0 --email signin-0@example.com \
    --account signin --password-stdin >/dev/null
sql="with recursive n(i) as (select 1 union all select i + 1 from n where i < $n - 1)
insert into users (id, account_id, username, email, password_hash, is_admin, is_operator,
                   is_disabled, created_at, username_key, email_key)
select 'signin-user-' || i, u.account_id, 'signin-' || i, 'signin-' || i || '@example.com',
       u.password_hash, 0, 0, 0, u.created_at, 'signin-' || i, 'signin-' || i || '@example.com'
from n, users u where u.username = 'signin-0'"
case "$GATEHOUSE_DATABASE_URL" in
    sqlite://*)
        python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2]); db.commit()' \
            "${GATEHOUSE_DATABASE_URL#sqlite://}" "$sql" ;;
    *) psql "$GATEHOUSE_DATABASE_URL" -qc "$sql" >/dev/null ;;
esac
