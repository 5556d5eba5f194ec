drop function if exists {{schema}}.tokens_prune(integer);
drop function if exists {{schema}}.tokens_list_sessions(uuid);
drop function if exists {{schema}}.tokens_revoke_all(uuid, uuid[], integer);
drop function if exists {{schema}}.tokens_revoke_session(uuid, text, inet, text, integer);
drop function if exists {{schema}}.tokens_rotate(uuid, uuid, uuid, text, bytea, text, bigint, bigint, text[], inet, text, integer);
drop function if exists {{schema}}.tokens_issue(uuid, uuid, text, inet, text, uuid, uuid, text, bytea, bigint, bigint, integer, integer);
drop function if exists {{schema}}.tokens_find(text);
drop function if exists {{schema}}.tokens_audit({{schema}}.sessions, text, text, text, inet, text, jsonb);
-- one statement: the two tables reference each other
drop table if exists {{schema}}.refresh_tokens, {{schema}}.sessions;
