-- Confines the token functions of 0003 to what each caller may do.
--
-- In 0003 each function switched `tenantry.system` on with set_config(..., true), which held until
-- the caller's transaction ended: any later statement of that transaction passed every row-level
-- security policy. And each acted on whatever session id or user id it was given, so a caller in
-- one tenant could list, revoke or (knowing two ids) rotate the sessions of another. From here:
--
--   * Each function switches `tenantry.system` on for its own statements and puts the caller's
--     value back before it returns; when it fails, the caller's transaction (or savepoint) rolls
--     the setting back with it: nothing after the call runs as system. (A `set tenantry.system`
--     clause on the function would do the same, but PostgreSQL lets only superusers put a custom
--     setting there, and managed databases migrate as a non-superuser.) `lock_timeout` is a
--     clause of the function, restored by PostgreSQL.
--   * A token is found and rotated only by whoever presents its secret: both functions take the
--     selector and the SHA-256 of the presented secret, and act only when it matches the stored
--     hash. No function hands out a stored hash. A refresh token arrives without a tenant context,
--     so these two work from any context: possession is the proof.
--   * Listing, revoking and pruning by user or session id are confined to the caller's tenant
--     context when it has one (`tenantry.tenant_id`, which every tenant unit of work sets under
--     `isolation: 'rls'`); issuing is refused in a tenant context. Without a tenant context (the
--     token service, an `asSystem` scope, a migration) they act on every tenant, as before.
--
-- The hashes are compared as sha256(stored) = sha256(presented): a comparison that stops at the
-- first differing byte then says nothing about the stored hash's prefix.

drop function if exists {{schema}}.tokens_find(text);
drop function if exists {{schema}}.tokens_rotate(uuid, uuid, uuid, text, bytea, text, bigint, bigint, text[], inet, text, integer);

-- lookup ---------------------------------------------------------------------------------------
-- The token and its family, for a caller who holds the token's secret.
create function {{schema}}.tokens_find(p_selector text, p_secret_hash bytea)
returns table (token_id uuid, session_id uuid)
language plpgsql
as $$
#variable_conflict use_column
declare
  v_prev_system text := coalesce(current_setting('tenantry.system', true), '');
begin
  perform set_config('tenantry.system', 'on', true);
  return query select t.id, t.session_id from {{schema}}.refresh_tokens t
   where t.selector = p_selector and sha256(t.secret_hash) = sha256(p_secret_hash);
  perform set_config('tenantry.system', v_prev_system, true);
end $$;

-- issue ----------------------------------------------------------------------------------------
create or replace function {{schema}}.tokens_issue(
  p_user_id uuid, p_tenant_id uuid, p_client_id text, p_ip inet, p_user_agent text,
  p_session_id uuid, p_token_id uuid, p_selector text, p_secret_hash bytea,
  p_refresh_ms bigint, p_idle_ms bigint, p_max_sessions integer, p_lock_timeout_ms integer
) returns table (outcome text, expires_at timestamptz, audit jsonb)
language plpgsql
set lock_timeout = 0
as $$
#variable_conflict use_column
declare
  v_prev_system text := coalesce(current_setting('tenantry.system', true), '');
  v_now timestamptz;
  v_session {{schema}}.sessions;
  v_evicted {{schema}}.sessions;
  v_audit jsonb := '[]'::jsonb;
begin
  perform set_config('tenantry.system', 'on', true);
  -- A session is a login: it is opened by the token service, never from inside a tenant's work,
  -- where it would mint a token for any user (and evict the user's sessions in other tenants).
  if {{schema}}.current_tenant_id() is not null then
    raise exception 'tokens_issue: not allowed in a tenant context' using errcode = 'insufficient_privilege';
  end if;
  perform set_config('lock_timeout', p_lock_timeout_ms::text || 'ms', true);
  -- The user's row serialises issue() and revokeAllForUser() of one user, so concurrent logins
  -- cannot both see room under the cap. FOR NO KEY UPDATE leaves foreign-key checks unblocked.
  perform 1 from {{schema}}.users u where u.id = p_user_id and u.deleted_at is null for no key update;
  if not found then
    return query select 'user_not_found'::text, null::timestamptz, '[]'::jsonb;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  -- A suspended, disabled or invited identity gets no session.
  perform 1 from {{schema}}.users u where u.id = p_user_id and u.status = 'active';
  if not found then
    return query select 'user_inactive'::text, null::timestamptz, '[]'::jsonb;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  v_now := clock_timestamp();

  -- Keep the (cap - 1) most recently used live families, revoke the rest: least recently used first out.
  for v_evicted in
    update {{schema}}.sessions s set revoked_at = v_now, revoked_reason = 'evicted'
     where s.id in (select l.id from {{schema}}.sessions l
                     where l.user_id = p_user_id and l.revoked_at is null
                       and l.idle_expires_at > v_now and l.expires_at > v_now
                     order by l.last_used_at desc, l.created_at desc, l.id
                     offset greatest(p_max_sessions - 1, 0)
                     for update)
    returning s.*
  loop
    v_audit := v_audit || {{schema}}.tokens_audit(v_evicted, 'tokens.revoke', 'success', null, p_ip, p_user_agent,
                                                   jsonb_build_object('reason', 'evicted'));
  end loop;

  insert into {{schema}}.sessions
    (id, user_id, tenant_id, client_id, generation, current_token_id, ip, user_agent,
     created_at, updated_at, last_used_at, expires_at, idle_expires_at)
  values
    (p_session_id, p_user_id, p_tenant_id, p_client_id, 0, p_token_id, p_ip, p_user_agent,
     v_now, v_now, v_now, v_now + p_refresh_ms * interval '1 millisecond',
     least(v_now + p_idle_ms * interval '1 millisecond', v_now + p_refresh_ms * interval '1 millisecond'))
  returning * into v_session;
  insert into {{schema}}.refresh_tokens (id, session_id, parent_id, generation, selector, secret_hash, kid, created_at)
  values (p_token_id, p_session_id, null, 0, p_selector, p_secret_hash, null, v_now);

  v_audit := v_audit || {{schema}}.tokens_audit(v_session, 'tokens.issue', 'success', null, p_ip, p_user_agent, null);
  return query select 'issued'::text, v_session.idle_expires_at, v_audit;
  perform set_config('tenantry.system', v_prev_system, true);
end $$;

-- rotate ---------------------------------------------------------------------------------------
-- Outcomes: rotated (successor written), grace (retry of the direct parent: the existing successor
-- is returned, nothing written), reused (family revoked and audited; the caller raises TOKEN_REUSED
-- after this statement has committed), revoked, expired, invalid (no such token, a wrong secret,
-- or a pruned family; nothing is locked or changed).
create function {{schema}}.tokens_rotate(
  p_selector text, p_secret_hash bytea,
  p_child_id uuid, p_child_selector text, p_child_hash bytea, p_child_kid text,
  p_idle_ms bigint, p_grace_ms bigint, p_grace_kids text[],
  p_ip inet, p_user_agent text, p_lock_timeout_ms integer
) returns table (outcome text, session_id uuid, token_id uuid, token_selector text, token_kid text,
                 token_hash bytea, expires_at timestamptz, audit jsonb, user_id uuid, tenant_id uuid)
language plpgsql
set lock_timeout = 0
as $$
#variable_conflict use_column
declare
  v_prev_system text := coalesce(current_setting('tenantry.system', true), '');
  v_now timestamptz;
  v_session {{schema}}.sessions;
  v_token {{schema}}.refresh_tokens;
  v_current {{schema}}.refresh_tokens;
  v_audit jsonb;
begin
  perform set_config('tenantry.system', 'on', true);
  perform set_config('lock_timeout', p_lock_timeout_ms::text || 'ms', true);
  -- Proof of possession first: a wrong secret locks nothing and changes nothing. A token's
  -- selector, hash and family never change, so reading them before the family lock is safe.
  select * into v_token from {{schema}}.refresh_tokens t
   where t.selector = p_selector and sha256(t.secret_hash) = sha256(p_secret_hash);
  if not found then
    return query select 'invalid'::text, null::uuid, null::uuid, null::text, null::text, null::bytea, null::timestamptz, '[]'::jsonb, null::uuid, null::uuid;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  select * into v_session from {{schema}}.sessions s where s.id = v_token.session_id for update;
  if not found then
    return query select 'invalid'::text, null::uuid, null::uuid, null::text, null::text, null::bytea, null::timestamptz, '[]'::jsonb, null::uuid, null::uuid;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  -- read again after the lock: this statement's snapshot includes every rotation committed before it
  select * into v_token from {{schema}}.refresh_tokens t where t.id = v_token.id;
  if not found then
    return query select 'invalid'::text, null::uuid, null::uuid, null::text, null::text, null::bytea, null::timestamptz, '[]'::jsonb, null::uuid, null::uuid;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  v_now := clock_timestamp();
  if v_session.revoked_at is not null then
    return query select 'revoked'::text, v_session.id, null::uuid, null::text, null::text, null::bytea, null::timestamptz, '[]'::jsonb, v_session.user_id, v_session.tenant_id;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  -- A user suspended, disabled or deleted since the login loses the session at the next refresh.
  perform 1 from {{schema}}.users u where u.id = v_session.user_id and u.deleted_at is null and u.status = 'active';
  if not found then
    update {{schema}}.sessions s set revoked_at = v_now, revoked_reason = 'user_inactive'
     where s.id = v_session.id
    returning * into v_session;
    v_audit := jsonb_build_array({{schema}}.tokens_audit(v_session, 'tokens.revoke', 'success', null, p_ip, p_user_agent,
                                                         jsonb_build_object('reason', 'user_inactive')));
    return query select 'revoked'::text, v_session.id, null::uuid, null::text, null::text, null::bytea, null::timestamptz, v_audit, v_session.user_id, v_session.tenant_id;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  if v_now >= v_session.expires_at or v_now >= v_session.idle_expires_at then
    return query select 'expired'::text, v_session.id, null::uuid, null::text, null::text, null::bytea, null::timestamptz, '[]'::jsonb, v_session.user_id, v_session.tenant_id;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;

  if v_session.current_token_id = v_token.id then
    update {{schema}}.refresh_tokens t set used_at = v_now where t.id = v_token.id;
    insert into {{schema}}.refresh_tokens (id, session_id, parent_id, generation, selector, secret_hash, kid, created_at)
    values (p_child_id, v_session.id, v_token.id, v_token.generation + 1, p_child_selector, p_child_hash, p_child_kid, v_now);
    update {{schema}}.sessions s
       set current_token_id = p_child_id, generation = v_token.generation + 1, last_used_at = v_now,
           idle_expires_at = least(v_now + p_idle_ms * interval '1 millisecond', s.expires_at),
           ip = coalesce(p_ip, s.ip), user_agent = coalesce(p_user_agent, s.user_agent)
     where s.id = v_session.id
    returning * into v_session;
    v_audit := jsonb_build_array({{schema}}.tokens_audit(v_session, 'tokens.rotate', 'success', null, p_ip, p_user_agent, null));
    return query select 'rotated'::text, v_session.id, p_child_id, p_child_selector, p_child_kid, null::bytea,
                        v_session.idle_expires_at, v_audit, v_session.user_id, v_session.tenant_id;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;

  -- Grace: the direct parent of the current token, rotated less than p_grace_ms ago, and the
  -- successor was derived with a key the caller still holds, so it can hand out the same token.
  -- The successor's hash goes back to the holder of its parent's secret, who re-derives and checks it.
  select * into v_current from {{schema}}.refresh_tokens t where t.id = v_session.current_token_id;
  if p_grace_ms > 0 and v_current.parent_id = v_token.id and v_current.kid = any(p_grace_kids)
     and v_token.used_at + p_grace_ms * interval '1 millisecond' > v_now then
    return query select 'grace'::text, v_session.id, v_current.id, v_current.selector, v_current.kid, v_current.secret_hash,
                        v_session.idle_expires_at, '[]'::jsonb, v_session.user_id, v_session.tenant_id;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;

  -- Any other presentation of a used token is reuse: revoke the whole family.
  update {{schema}}.sessions s set revoked_at = v_now, revoked_reason = 'reuse_detected'
   where s.id = v_session.id
  returning * into v_session;
  v_audit := jsonb_build_array({{schema}}.tokens_audit(v_session, 'tokens.reuse_detected', 'denied', 'TOKEN_REUSED', p_ip, p_user_agent,
    jsonb_build_object('presentedGeneration', v_token.generation, 'reason', 'reuse_detected')));
  return query select 'reused'::text, v_session.id, null::uuid, null::text, null::text, null::bytea, null::timestamptz, v_audit, v_session.user_id, v_session.tenant_id;
  perform set_config('tenantry.system', v_prev_system, true);
end $$;

-- revoke ---------------------------------------------------------------------------------------
-- In a tenant context, a session of another tenant (or of none) reads as not_found and is not locked.
create or replace function {{schema}}.tokens_revoke_session(
  p_session_id uuid, p_reason text, p_ip inet, p_user_agent text, p_lock_timeout_ms integer
) returns table (outcome text, audit jsonb)
language plpgsql
set lock_timeout = 0
as $$
#variable_conflict use_column
declare
  v_prev_system text := coalesce(current_setting('tenantry.system', true), '');
  v_tenant uuid := {{schema}}.current_tenant_id();
  v_session {{schema}}.sessions;
begin
  perform set_config('tenantry.system', 'on', true);
  perform set_config('lock_timeout', p_lock_timeout_ms::text || 'ms', true);
  select * into v_session from {{schema}}.sessions s
   where s.id = p_session_id and (v_tenant is null or s.tenant_id = v_tenant)
   for update;
  if not found then
    return query select 'not_found'::text, '[]'::jsonb;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  if v_session.revoked_at is not null then
    return query select 'already_revoked'::text, '[]'::jsonb;
    perform set_config('tenantry.system', v_prev_system, true);
    return;
  end if;
  update {{schema}}.sessions s set revoked_at = clock_timestamp(), revoked_reason = p_reason
   where s.id = p_session_id
  returning * into v_session;
  return query select 'revoked'::text,
    jsonb_build_array({{schema}}.tokens_audit(v_session, 'tokens.revoke', 'success', null, p_ip, p_user_agent,
                                              jsonb_build_object('reason', p_reason)));
  perform set_config('tenantry.system', v_prev_system, true);
end $$;

-- In a tenant context only the tenant's sessions of the user are revoked, and the user's row (shared
-- by every tenant of the user) is not locked: the caller's transaction may stay open a while.
create or replace function {{schema}}.tokens_revoke_all(
  p_user_id uuid, p_except uuid[], p_lock_timeout_ms integer
) returns table (revoked integer, audit jsonb)
language plpgsql
set lock_timeout = 0
as $$
#variable_conflict use_column
declare
  v_prev_system text := coalesce(current_setting('tenantry.system', true), '');
  v_tenant uuid := {{schema}}.current_tenant_id();
  v_now timestamptz;
  v_session {{schema}}.sessions;
  v_count integer := 0;
  v_audit jsonb := '[]'::jsonb;
begin
  perform set_config('tenantry.system', 'on', true);
  perform set_config('lock_timeout', p_lock_timeout_ms::text || 'ms', true);
  -- same lock as issue(): a login racing "log out everywhere" lands before or after it, not between
  if v_tenant is null then
    perform 1 from {{schema}}.users u where u.id = p_user_id for no key update;
  end if;
  v_now := clock_timestamp();
  for v_session in
    update {{schema}}.sessions s set revoked_at = v_now, revoked_reason = 'revoked_all'
     where s.id in (select l.id from {{schema}}.sessions l
                     where l.user_id = p_user_id and l.revoked_at is null
                       and l.idle_expires_at > v_now and l.expires_at > v_now
                       and l.id <> all(coalesce(p_except, '{}'::uuid[]))
                       and (v_tenant is null or l.tenant_id = v_tenant)
                     order by l.id
                     for update)
    returning s.*
  loop
    v_count := v_count + 1;
    v_audit := v_audit || {{schema}}.tokens_audit(v_session, 'tokens.revoke', 'success', null, null, null,
                                                   jsonb_build_object('reason', 'revoked_all'));
  end loop;
  return query select v_count, v_audit;
  perform set_config('tenantry.system', v_prev_system, true);
end $$;

-- read -----------------------------------------------------------------------------------------
create or replace function {{schema}}.tokens_list_sessions(p_user_id uuid)
returns setof {{schema}}.sessions
language plpgsql
as $$
#variable_conflict use_column
declare
  v_prev_system text := coalesce(current_setting('tenantry.system', true), '');
  v_tenant uuid := {{schema}}.current_tenant_id();
begin
  perform set_config('tenantry.system', 'on', true);
  return query select * from {{schema}}.sessions s
   where s.user_id = p_user_id and s.revoked_at is null
     and s.idle_expires_at > clock_timestamp() and s.expires_at > clock_timestamp()
     and (v_tenant is null or s.tenant_id = v_tenant)
   order by s.last_used_at desc, s.id;
  perform set_config('tenantry.system', v_prev_system, true);
end $$;

-- prune ----------------------------------------------------------------------------------------
-- Deletes up to p_batch_size dead families (revoked or expired) with their tokens. SKIP LOCKED:
-- a family some call is working on is left for a later batch, never waited for. FOR UPDATE
-- re-checks the condition on the latest committed row version, so a family that a rotation
-- extended after this statement's snapshot is not mistaken for an expired one.
create or replace function {{schema}}.tokens_prune(p_batch_size integer)
returns integer
language plpgsql
as $$
declare
  v_prev_system text := coalesce(current_setting('tenantry.system', true), '');
  v_tenant uuid := {{schema}}.current_tenant_id();
  v_deleted integer;
begin
  perform set_config('tenantry.system', 'on', true);
  delete from {{schema}}.sessions s
   where s.id in (select d.id from {{schema}}.sessions d
                   where (d.revoked_at is not null or d.idle_expires_at <= now() or d.expires_at <= now())
                     and (v_tenant is null or d.tenant_id = v_tenant)
                   limit p_batch_size
                   for update skip locked);
  get diagnostics v_deleted = row_count;
  perform set_config('tenantry.system', v_prev_system, true);
  return v_deleted;
  perform set_config('tenantry.system', v_prev_system, true);
end $$;
