-- Row-level security, the second isolation layer (`isolation: 'rls'`).
-- This migration only creates policies and helpers; `tenantry.rls.enable()` (or
-- `npx tenantry rls enable`) turns row-level security on and FORCEs it. Policies on a table
-- without row-level security enabled have no effect, so query-mode users are unaffected.
--
-- Context: `tenantry.tenant_id` and `tenantry.system` are set with set_config(..., true) inside
-- each unit of work, so they end with the transaction and never reach the next borrower of a
-- pooled connection. No context: no rows (fail closed).

-- True only inside an `asSystem` unit of work (or the token service), transaction-locally.
create or replace function {{schema}}.is_system() returns boolean
language sql stable as $$
  select coalesce(current_setting('tenantry.system', true), '') = 'on'
$$;

-- Host helper: `select tenantry.install_tenant_policy('public.projects')`.
-- The context functions are wrapped in (select ...) so PostgreSQL evaluates them once per
-- statement (an InitPlan), not once per row, and an index on the tenant column stays usable.
create or replace function {{schema}}.install_tenant_policy(target regclass, tenant_column text default 'tenant_id')
returns void
language plpgsql as $$
begin
  execute format('drop policy if exists tenantry_tenant_isolation on %s', target);
  execute format(
    'create policy tenantry_tenant_isolation on %s as permissive for all
       using (%2$I = (select {{schema}}.current_tenant_id()) or (select {{schema}}.is_system()))
       with check (%2$I = (select {{schema}}.current_tenant_id()) or (select {{schema}}.is_system()))',
    target, tenant_column);
end $$;

create or replace function {{schema}}.drop_tenant_policy(target regclass) returns void
language plpgsql as $$
begin
  execute format('drop policy if exists tenantry_tenant_isolation on %s', target);
end $$;

-- A table only the system may touch (sessions, refresh tokens: the token service runs as system).
create or replace function {{schema}}.install_system_only_policy(target regclass) returns void
language plpgsql as $$
begin
  execute format('drop policy if exists tenantry_system_only on %s', target);
  execute format(
    'create policy tenantry_system_only on %s as permissive for all
       using ((select {{schema}}.is_system())) with check ((select {{schema}}.is_system()))',
    target);
end $$;

-- ENABLE + FORCE: FORCE makes the policies apply to the table owner too (superusers and roles
-- with BYPASSRLS are never subject to row-level security).
create or replace function {{schema}}.enable_row_level_security(target regclass) returns void
language plpgsql as $$
begin
  execute format('alter table %s enable row level security', target);
  execute format('alter table %s force row level security', target);
end $$;

create or replace function {{schema}}.disable_row_level_security(target regclass) returns void
language plpgsql as $$
begin
  execute format('alter table %s no force row level security', target);
  execute format('alter table %s disable row level security', target);
end $$;

-- (Re)creates the policies of the bundled tables. Idempotent; `rls.enable()` calls it too, so
-- bundled tables added by later migrations (sessions, refresh_tokens) get theirs.
create or replace function {{schema}}.install_bundled_policies() returns void
language plpgsql as $$
begin
  -- A tenant sees its own tenants row (scoped by the primary key).
  perform {{schema}}.install_tenant_policy('{{schema}}.tenants'::regclass, 'id');
  perform {{schema}}.install_tenant_policy('{{schema}}.memberships'::regclass);
  perform {{schema}}.install_tenant_policy('{{schema}}.user_roles'::regclass);
  perform {{schema}}.install_tenant_policy('{{schema}}.invitations'::regclass);
  perform {{schema}}.install_tenant_policy('{{schema}}.audit_logs'::regclass);

  -- Roles: tenant roles as usual; system roles (tenant_id is null) readable by every tenant,
  -- writable only by the system (the isolation policy's check refuses a null tenant_id).
  perform {{schema}}.install_tenant_policy('{{schema}}.roles'::regclass);
  drop policy if exists tenantry_system_roles_read on {{schema}}.roles;
  create policy tenantry_system_roles_read on {{schema}}.roles as permissive for select
    using (tenant_id is null);

  -- Users are global identities, visible in a tenant through a live membership. The membership
  -- subquery is itself filtered by the memberships policy. Creating users is for the system.
  drop policy if exists tenantry_tenant_isolation on {{schema}}.users;
  create policy tenantry_tenant_isolation on {{schema}}.users as permissive for all
    using ((select {{schema}}.is_system()) or exists (
      select 1 from {{schema}}.memberships m
       where m.user_id = users.id and m.tenant_id = (select {{schema}}.current_tenant_id()) and m.deleted_at is null))
    with check ((select {{schema}}.is_system()) or exists (
      select 1 from {{schema}}.memberships m
       where m.user_id = users.id and m.tenant_id = (select {{schema}}.current_tenant_id()) and m.deleted_at is null));

  if to_regclass('{{schema}}.sessions') is not null then
    perform {{schema}}.install_system_only_policy('{{schema}}.sessions'::regclass);
  end if;
  if to_regclass('{{schema}}.refresh_tokens') is not null then
    perform {{schema}}.install_system_only_policy('{{schema}}.refresh_tokens'::regclass);
  end if;
end $$;

select {{schema}}.install_bundled_policies();
