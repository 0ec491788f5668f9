-- What the console shows of each member: when they last signed in.
alter table users add column last_sign_in_at integer;
create index users_account_username on users(account_id, username);
