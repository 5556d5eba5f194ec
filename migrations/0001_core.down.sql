-- Undoes 0001. Host tables that called install_updated_at_trigger() depend on set_updated_at(),
-- so their tenantry_set_updated_at triggers are dropped first (their updated_at stops moving
-- until the trigger is installed again). Host foreign keys into these tables are not touched:
-- the drop then fails and says which constraint depends on them, rather than losing host data.
do $$
declare
  r record;
begin
  for r in
    select t.tgrelid::regclass as target
      from pg_trigger t
     where t.tgname = 'tenantry_set_updated_at'
       and t.tgfoid = '{{schema}}.set_updated_at()'::regprocedure
  loop
    execute format('drop trigger if exists tenantry_set_updated_at on %s', r.target);
  end loop;
end $$;

drop table if exists {{schema}}.invitations;
drop table if exists {{schema}}.user_roles;
drop table if exists {{schema}}.roles;
drop table if exists {{schema}}.memberships;
drop table if exists {{schema}}.users;
drop table if exists {{schema}}.tenants;
drop function if exists {{schema}}.permissions_are_valid(text[]);
drop function if exists {{schema}}.current_tenant_id();
drop function if exists {{schema}}.install_updated_at_trigger(regclass);
drop function if exists {{schema}}.set_updated_at();
