-- The guard of declared references (`defineTable({ references })`). A repository write checks, in
-- the same statement as the change, that each referenced id names a live row of the same tenant
-- (and a soft delete with `onSoftDelete: 'restrict'` that no live row still references it). SQL
-- has no expression that raises an error, so the statement calls this function with the outcome
-- of its check: true passes, anything else fails the whole statement with SQLSTATE 23503. The
-- error names the rule, the table and the column (the declared names), never a value, and is the
-- same whether the referenced row is missing, soft-deleted or another tenant's.
create or replace function {{schema}}.reference_guard(p_ok boolean, p_rule text, p_table text, p_column text)
returns boolean
language plpgsql volatile
as $$
begin
  if p_ok then
    return true;
  end if;
  raise exception using
    errcode = 'foreign_key_violation',
    message = format('tenantry %s rule of %s.%s', p_rule, p_table, p_column),
    constraint = 'tenantry_' || p_rule,
    table = p_table,
    column = p_column;
end $$;
