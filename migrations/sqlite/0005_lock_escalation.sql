-- How many times a key has been locked since its last success: each lock
-- lasts twice as long as the one before, up to a day.
alter table failure_counters add column locks integer not null default 0;
