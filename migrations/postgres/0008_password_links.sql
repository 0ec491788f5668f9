-- One-time links with which a member created in the console sets their password.
create table password_links (
    token_hash text primary key,
    user_id text not null references users(id) on delete cascade,
    expires_at bigint not null,
    created_at bigint not null
);
create index password_links_user on password_links(user_id);
