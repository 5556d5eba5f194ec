-- tenantry core: helpers, tenants, users, memberships, roles, user_roles, invitations.
-- {{schema}} is replaced with the quoted schema name (default "tenantry"); the migrator creates
-- the schema. gen_random_uuid() is built in since PostgreSQL 13, so no extension is needed (and
-- none is created: that would need privileges a migration role often lacks).

-- updated_at ---------------------------------------------------------------------------------
create or replace function {{schema}}.set_updated_at() returns trigger
language plpgsql as $$
begin
  -- An UPDATE that assigns a new updated_at (an import, a fixture) keeps it; any other UPDATE is
  -- stamped with now(), the transaction's clock, like created_at's default.
  if new.updated_at is null or new.updated_at is not distinct from old.updated_at then
    new.updated_at := now();
  end if;
  return new;
end $$;

-- Host helper: `select tenantry.install_updated_at_trigger('public.projects')`.
create or replace function {{schema}}.install_updated_at_trigger(target regclass) returns void
language plpgsql as $$
begin
  execute format('drop trigger if exists tenantry_set_updated_at on %s', target);
  execute format(
    'create trigger tenantry_set_updated_at before update on %s for each row execute function {{schema}}.set_updated_at()',
    target);
end $$;

-- The tenant of the current unit of work, or null. Wrapped in (select ...) by callers so that
-- PostgreSQL evaluates it once per statement, not once per row.
create or replace function {{schema}}.current_tenant_id() returns uuid
language sql stable as $$
  select nullif(current_setting('tenantry.tenant_id', true), '')::uuid
$$;

-- `resource:action`, each side a lower-case name or `*`. A null element is invalid (bool_and would
-- skip it).
create or replace function {{schema}}.permissions_are_valid(permissions text[]) returns boolean
language sql immutable as $$
  select coalesce(bool_and(p is not null and p ~ '^(\*|[a-z0-9][a-z0-9_.-]*):(\*|[a-z0-9][a-z0-9_.-]*)$'), true)
  from unnest(permissions) as p
$$;

-- tenants ------------------------------------------------------------------------------------
create table {{schema}}.tenants (
  id          uuid primary key default gen_random_uuid(),
  slug        text not null constraint tenants_slug_format check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name        text not null constraint tenants_name_length check (length(btrim(name)) between 1 and 200),
  status      text not null default 'active'
              constraint tenants_status_check check (status in ('active', 'suspended', 'archived', 'pending')),
  type        text,
  metadata    jsonb not null default '{}'::jsonb constraint tenants_metadata_object check (jsonb_typeof(metadata) = 'object'),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  deleted_at  timestamptz,
  constraint tenants_deleted_after_created check (deleted_at is null or deleted_at >= created_at)
);
create unique index tenants_slug_live_key on {{schema}}.tenants (slug) where deleted_at is null;
create trigger tenantry_set_updated_at before update on {{schema}}.tenants
  for each row execute function {{schema}}.set_updated_at();

-- users (global identities) ------------------------------------------------------------------
create table {{schema}}.users (
  id             uuid primary key default gen_random_uuid(),
  email          text not null constraint users_email_format check (email ~* '^[^@\s]+@[^@\s]+\.[^@\s]+$' and length(email) <= 320),
  external_id    text,
  display_name   text,
  password_hash  text,
  status         text not null default 'active'
                 constraint users_status_check check (status in ('active', 'invited', 'suspended', 'disabled')),
  last_login_at  timestamptz,
  metadata       jsonb not null default '{}'::jsonb constraint users_metadata_object check (jsonb_typeof(metadata) = 'object'),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  deleted_at     timestamptz,
  constraint users_deleted_after_created check (deleted_at is null or deleted_at >= created_at)
);
create unique index users_email_live_key on {{schema}}.users (lower(email)) where deleted_at is null;
create unique index users_external_id_live_key on {{schema}}.users (external_id)
  where external_id is not null and deleted_at is null;
create trigger tenantry_set_updated_at before update on {{schema}}.users
  for each row execute function {{schema}}.set_updated_at();

-- memberships (a user in a tenant) -----------------------------------------------------------
create table {{schema}}.memberships (
  id          uuid primary key default gen_random_uuid(),
  tenant_id   uuid not null references {{schema}}.tenants (id) on delete cascade,
  user_id     uuid not null references {{schema}}.users (id) on delete cascade,
  status      text not null default 'active'
              constraint memberships_status_check check (status in ('active', 'invited', 'suspended')),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  deleted_at  timestamptz,
  constraint memberships_deleted_after_created check (deleted_at is null or deleted_at >= created_at)
);
create unique index memberships_tenant_user_live_key on {{schema}}.memberships (tenant_id, user_id) where deleted_at is null;
create index memberships_user_idx on {{schema}}.memberships (user_id);
create trigger tenantry_set_updated_at before update on {{schema}}.memberships
  for each row execute function {{schema}}.set_updated_at();

-- roles (tenant-scoped, or system-wide when tenant_id is null) --------------------------------
create table {{schema}}.roles (
  id           uuid primary key default gen_random_uuid(),
  tenant_id    uuid references {{schema}}.tenants (id) on delete cascade,
  name         text not null constraint roles_name_length check (length(btrim(name)) between 1 and 100),
  description  text,
  permissions  text[] not null default '{}'
               constraint roles_permissions_format check ({{schema}}.permissions_are_valid(permissions)),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  deleted_at   timestamptz,
  constraint roles_deleted_after_created check (deleted_at is null or deleted_at >= created_at)
);
-- One key for tenant and system roles: PostgreSQL 14 has no NULLS NOT DISTINCT, so a null tenant
-- (a system role) is folded into the nil uuid. `insert ... on conflict` names this expression.
create unique index roles_tenant_name_live_key on {{schema}}.roles
  (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name)) where deleted_at is null;
-- The expression key cannot serve `where tenant_id = $1` (every tenant's role reads); this does.
create index roles_tenant_idx on {{schema}}.roles (tenant_id);
create trigger tenantry_set_updated_at before update on {{schema}}.roles
  for each row execute function {{schema}}.set_updated_at();

-- user_roles (a member's roles within one tenant) --------------------------------------------
create table {{schema}}.user_roles (
  id          uuid primary key default gen_random_uuid(),
  tenant_id   uuid not null references {{schema}}.tenants (id) on delete cascade,
  user_id     uuid not null references {{schema}}.users (id) on delete cascade,
  role_id     uuid not null references {{schema}}.roles (id) on delete cascade,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
create unique index user_roles_tenant_user_role_key on {{schema}}.user_roles (tenant_id, user_id, role_id);
create index user_roles_role_idx on {{schema}}.user_roles (role_id);
-- deleting a user cascades here; without it that is a sequential scan
create index user_roles_user_idx on {{schema}}.user_roles (user_id);

create trigger tenantry_set_updated_at before update on {{schema}}.user_roles
  for each row execute function {{schema}}.set_updated_at();

-- invitations (hashed single-use tokens) ------------------------------------------------------
create table {{schema}}.invitations (
  id           uuid primary key default gen_random_uuid(),
  tenant_id    uuid not null references {{schema}}.tenants (id) on delete cascade,
  email        text not null constraint invitations_email_format check (email ~* '^[^@\s]+@[^@\s]+\.[^@\s]+$' and length(email) <= 320),
  role_ids     uuid[] not null default '{}',
  selector     text not null constraint invitations_selector_format check (selector ~ '^[A-Za-z0-9_-]{22,64}$'),
  secret_hash  bytea not null constraint invitations_secret_hash_length check (length(secret_hash) = 32),
  invited_by   uuid references {{schema}}.users (id) on delete set null,
  expires_at   timestamptz not null,
  accepted_at  timestamptz,
  accepted_by  uuid references {{schema}}.users (id) on delete set null,
  revoked_at   timestamptz,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint invitations_accepted_or_revoked check (accepted_at is null or revoked_at is null),
  constraint invitations_expiry_after_creation check (expires_at > created_at)
);
create unique index invitations_selector_key on {{schema}}.invitations (selector);
create index invitations_tenant_email_idx on {{schema}}.invitations (tenant_id, lower(email));
create trigger tenantry_set_updated_at before update on {{schema}}.invitations
  for each row execute function {{schema}}.set_updated_at();
