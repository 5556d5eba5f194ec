-- Undoes 0004 everywhere it reached: every table carrying a tenantry policy (bundled tables and
-- host tables enabled by `rls enable`) gets row-level security switched off and the policies
-- dropped, then the helpers go. Run `rls disable` first if you want to keep host policies.
do $$
declare
  r record;
begin
  for r in
    select distinct c.oid::regclass as target
      from pg_policy p join pg_class c on c.oid = p.polrelid
     where p.polname in ('tenantry_tenant_isolation', 'tenantry_system_only', 'tenantry_system_roles_read')
  loop
    execute format('alter table %s no force row level security', r.target);
    execute format('alter table %s disable row level security', r.target);
    execute format('drop policy if exists tenantry_tenant_isolation on %s', r.target);
    execute format('drop policy if exists tenantry_system_only on %s', r.target);
    execute format('drop policy if exists tenantry_system_roles_read on %s', r.target);
  end loop;
end $$;
drop function if exists {{schema}}.install_bundled_policies();
drop function if exists {{schema}}.disable_row_level_security(regclass);
drop function if exists {{schema}}.enable_row_level_security(regclass);
drop function if exists {{schema}}.install_system_only_policy(regclass);
drop function if exists {{schema}}.drop_tenant_policy(regclass);
drop function if exists {{schema}}.install_tenant_policy(regclass, text);
drop function if exists {{schema}}.is_system();
