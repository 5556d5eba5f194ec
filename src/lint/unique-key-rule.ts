import type { CatalogIndex } from './catalog-snapshot.js'
import { columnByNum, hasPlainColumn, isPartialOnLiveRows, livePredicate, mentionsColumn, type LintTable } from './lint-table.js'
import { LintCodes, type LintFinding } from './lint-types.js'

/**
 * Unique keys of a tenant table: they should hold the tenant column (a global key lets one tenant
 * block, and detect, another's values; Citus cannot distribute the table), and on a soft-delete
 * table they should be partial on live rows (a deleted slug can be used again). With `citus`,
 * the primary key must hold the tenant column as well.
 */
export function uniqueKeyFindings(table: LintTable, citus: boolean): LintFinding[] {
  const tenant = table.tenant
  if (!tenant) return []
  const findings: LintFinding[] = []
  const primaryKey = table.catalog.indexes.find((i) => i.primary)?.keys ?? []
  for (const index of table.catalog.indexes) {
    if (!index.unique) continue
    // A key over the primary key (`unique (tenant_id, id)`, the target of composite references)
    // is unique because the primary key is: it blocks no tenant and no reuse after a soft delete.
    if (!index.primary && primaryKey.length > 0 && primaryKey.every((k) => index.keys.includes(k))) continue
    const columns = index.keyDefinitions
    const name = index.constraint?.name ?? index.name
    const plain = hasPlainColumn(index, tenant)
    if (index.primary) {
      if (citus && !plain) {
        findings.push({
          code: LintCodes.PRIMARY_KEY_WITHOUT_TENANT,
          table: table.name,
          constraint: name,
          columns,
          message:
            `primary key ${name} (${columns.join(', ')}) does not hold ${tenant.name}: Citus cannot distribute ${table.name} by ${tenant.name} ` +
            `(every unique key of a distributed table must hold the distribution column). Make it (${[tenant.name, ...columns].join(', ')}).`,
          fix: primaryKeyFix(table, index),
        })
      }
      continue
    }
    const inExpression = !plain && index.keys.some((k, i) => k === 0 && mentionsColumn(columns[i]!, tenant))
    const needsTenant = !plain && (!inExpression || citus)
    const needsLive = !isPartialOnLiveRows(table, index)
    if (!needsTenant && !needsLive) continue
    const fix = uniqueKeyFix(table, index, needsTenant, needsLive)
    if (needsTenant) {
      findings.push({
        code: LintCodes.UNIQUE_WITHOUT_TENANT,
        table: table.name,
        constraint: name,
        columns,
        message: inExpression
          ? `unique key ${name} (${columns.join(', ')}) holds ${tenant.name} only inside an expression: Citus cannot distribute ${table.name} by ${tenant.name} ` +
            `(a unique key there must hold the distribution column itself).`
          : `unique key ${name} (${columns.join(', ')}) is global across tenants: a value one tenant uses is refused to every other, and the error ` +
            `tells them it exists. Make it (${[tenant.name, ...columns].join(', ')}). ` +
            `This key also keeps the table from being distributed (co-located by tenant) on Citus.`,
        fix,
      })
    }
    if (needsLive) {
      const live = livePredicate(table)!
      findings.push({
        code: LintCodes.SOFT_DELETE_UNIQUE_NOT_PARTIAL,
        table: table.name,
        constraint: name,
        columns,
        message:
          `unique key ${name} (${columns.join(', ')}) of a soft-delete table counts deleted rows: a deleted row's value cannot be used again ` +
          `while it sits in the trash. Make it partial: where ${live}.`,
        fix,
      })
    }
  }
  return findings
}

/** The same key with the tenant column first and/or only over live rows, keeping its method, order and INCLUDE. */
function uniqueKeyFix(table: LintTable, index: CatalogIndex, needsTenant: boolean, needsLive: boolean): string {
  const tenant = table.tenant!.quoted
  if (index.constraint?.type === 'u' && !needsLive) {
    const columns = [tenant, ...index.keyDefinitions].join(', ')
    return `alter table ${table.catalog.qualified} drop constraint ${index.constraint.quoted},\n  add constraint ${index.constraint.quoted} unique (${columns});`
  }
  let definition = index.definition
  const where = index.predicate === null ? '' : ` WHERE ${index.predicate}`
  if (where && definition.endsWith(where)) definition = definition.slice(0, -where.length)
  if (needsTenant) {
    const open = /\sUSING \w+ \(/.exec(definition)
    if (open) definition = `${definition.slice(0, open.index + open[0].length)}${tenant}, ${definition.slice(open.index + open[0].length)}`
  }
  const predicates = [index.predicate, needsLive ? livePredicate(table) : null].filter((p): p is string => p !== null)
  if (predicates.length > 0) definition += ` WHERE ${predicates.join(' AND ')}`
  const drop =
    index.constraint !== null
      ? `alter table ${table.catalog.qualified} drop constraint ${index.constraint.quoted};`
      : `drop index ${table.catalog.quotedSchema}.${index.quoted};`
  return `${drop}\n${definition};`
}

function primaryKeyFix(table: LintTable, index: CatalogIndex): string {
  const name = index.constraint?.quoted ?? index.quoted
  const columns = [table.tenant!.quoted, ...index.keys.map((k) => columnByNum(table.catalog, k)?.quoted ?? '')].join(', ')
  return (
    `-- foreign keys that reference ${name} must be dropped first and re-created with ${table.tenant!.name} (composite keys)\n` +
    `alter table ${table.catalog.qualified} drop constraint ${name},\n  add constraint ${name} primary key (${columns});`
  )
}
