drop function if exists {{schema}}.prune_audit_logs(timestamptz, integer);
drop table if exists {{schema}}.audit_logs;
drop function if exists {{schema}}.audit_logs_append_only();
