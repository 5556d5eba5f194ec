-- Append-only audit trail. Rows are removed only by retention: {{schema}}.prune_audit_logs() or
-- `auditLog.prune()`, which set the transaction-local `tenantry.audit_retention` first. This guards
-- against accidents (an ORM's delete, a stray UPDATE); for a hard guarantee also revoke UPDATE,
-- DELETE and TRUNCATE from the application role. tenant_id has no foreign key on purpose: the
-- trail outlives a purged tenant.
create table {{schema}}.audit_logs (
  id              uuid primary key default gen_random_uuid(),
  tenant_id       uuid,
  actor_user_id   uuid,
  action          text not null constraint audit_logs_action_length check (length(action) between 1 and 200),
  resource_type   text,
  resource_id     text,
  old_values      jsonb,
  new_values      jsonb,
  changed_fields  text[],
  ip              inet,
  user_agent      text,
  request_id      text,
  outcome         text not null default 'success'
                  constraint audit_logs_outcome_check check (outcome in ('success', 'failure', 'denied')),
  error_code      text,
  metadata        jsonb not null default '{}'::jsonb,
  created_at      timestamptz not null default now()
);
create index audit_logs_tenant_time_idx on {{schema}}.audit_logs (tenant_id, created_at desc, id desc);
create index audit_logs_tenant_resource_idx on {{schema}}.audit_logs (tenant_id, resource_type, resource_id, created_at desc);
create index audit_logs_tenant_actor_idx on {{schema}}.audit_logs (tenant_id, actor_user_id, created_at desc);
create index audit_logs_tenant_action_idx on {{schema}}.audit_logs (tenant_id, action, created_at desc);
create index audit_logs_created_at_idx on {{schema}}.audit_logs (created_at);

create or replace function {{schema}}.audit_logs_append_only() returns trigger
language plpgsql as $$
begin
  -- TRUNCATE is refused even during retention: retention deletes old rows, never all of them.
  if tg_op = 'DELETE' and current_setting('tenantry.audit_retention', true) = 'on' then
    return old;
  end if;
  raise exception 'audit_logs is append-only (% refused)', tg_op
    using errcode = 'insufficient_privilege', table = 'audit_logs', schema = tg_table_schema,
          hint = 'delete old rows with prune_audit_logs(older_than) or auditLog.prune()';
end $$;

create trigger audit_logs_append_only before update or delete on {{schema}}.audit_logs
  for each row execute function {{schema}}.audit_logs_append_only();
-- Row triggers do not fire on TRUNCATE, which would empty the trail in one statement.
create trigger audit_logs_no_truncate before truncate on {{schema}}.audit_logs
  for each statement execute function {{schema}}.audit_logs_append_only();

-- Retention: deletes up to batch_size rows older than older_than; returns how many it deleted.
create or replace function {{schema}}.prune_audit_logs(older_than timestamptz, batch_size integer default 1000)
returns integer
language plpgsql as $$
declare
  deleted integer;
begin
  if batch_size is null or batch_size < 1 then
    raise exception 'prune_audit_logs: batch_size must be at least 1' using errcode = 'invalid_parameter_value';
  end if;
  perform set_config('tenantry.audit_retention', 'on', true);
  delete from {{schema}}.audit_logs
   where id in (select id from {{schema}}.audit_logs where created_at < older_than
                order by created_at limit batch_size for update skip locked);
  get diagnostics deleted = row_count;
  perform set_config('tenantry.audit_retention', 'off', true);
  return deleted;
end $$;
