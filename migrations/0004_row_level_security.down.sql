-- Turns row-level security off on the bundled tables and removes their policies and the helpers.
-- Host tables keep any policy made with install_tenant_policy until drop_tenant_policy is called
-- (their row-level security is switched off here only if it was on, by `rls disable`).
do $$
declare
  t text;
begin
  foreach t in array array['tenants', 'users', 'memberships', 'roles', 'user_roles', 'invitations',
                           'audit_logs', 'sessions', 'refresh_tokens'] loop
    if to_regclass(format('{{schema}}.%I', t)) is not null then
      execute format('alter table {{schema}}.%I no force row level security', t);
      execute format('alter table {{schema}}.%I disable row level security', t);
      execute format('drop policy if exists tenantry_tenant_isolation on {{schema}}.%I', t);
      execute format('drop policy if exists tenantry_system_only on {{schema}}.%I', t);
    end if;
  end loop;
  if to_regclass('{{schema}}.roles') is not null then
    drop policy if exists tenantry_system_roles_read on {{schema}}.roles;
  end if;
end $$;
drop function if exists {{schema}}.install_bundled_policies();
drop function if exists {{schema}}.disable_row_level_security(regclass);
drop function if exists {{schema}}.enable_row_level_security(regclass);
drop function if exists {{schema}}.install_system_only_policy(regclass);
drop function if exists {{schema}}.drop_tenant_policy(regclass);
drop function if exists {{schema}}.install_tenant_policy(regclass, text);
drop function if exists {{schema}}.is_system();
