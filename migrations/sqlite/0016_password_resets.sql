-- A reset link mailed on request remembers the address it was sent to: using
-- it proves that mailbox, which verifies the address.
alter table password_links add column sent_to text;
