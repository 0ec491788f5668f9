-- Back-channel logout deliveries (OpenID Connect Back-Channel Logout 1.0),
-- queued here so that none is lost over a restart and each is sent once
-- when several nodes share the database. The token is signed at each attempt.
create table logout_deliveries (
    id text primary key,
    client_id text not null,
    uri text not null,
    sid text not null,
    sub text not null,
    attempts integer not null default 0,
    next_attempt_at integer not null,
    locked_until integer,
    delivered_at integer,
    failed_at integer,
    last_error text,
    created_at integer not null
);
create index logout_deliveries_due on logout_deliveries(next_attempt_at);
