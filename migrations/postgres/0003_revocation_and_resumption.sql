-- Access tokens revoked one by one (RFC 7009), kept until they would have expired.
create table revoked_access_tokens (
    jti text primary key,
    expires_at bigint not null
);

-- The session whose sign-in completed a parked request: only it may resume
-- the request from the page shown after enrolment.
alter table auth_requests add column completed_sid text;
