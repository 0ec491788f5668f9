-- Whether an email code counts for aal2 under the account (NIST SP 800-63B-4
-- does not count email as an out-of-band channel; 0 makes an email code a
-- second step at aal1). Existing accounts keep counting it.
alter table accounts add column email_codes_aal2 bigint not null default 1;
