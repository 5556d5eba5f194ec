import type { CatalogForeignKey, CatalogTable } from './catalog-snapshot.js'
import { columnByName, columnByNum, suggestedName, type LintTable } from './lint-table.js'
import { LintCodes, type LintFinding } from './lint-types.js'

/** How the lint learns a referenced table's tenant column. */
export type TenantColumnOf = (table: CatalogTable) => string | null

/**
 * Foreign keys from a tenant table to a tenant table must carry the tenant column on both sides:
 * `(tenant_id, project_id) references projects (tenant_id, id)`. Otherwise the key check, which
 * sees neither tenants nor row-level security, lets tenant B point at tenant A's row, and its
 * error for a missing id tells B whether A's id exists.
 */
export function foreignKeyFindings(table: LintTable, tables: Map<number, CatalogTable>, tenantColumnOf: TenantColumnOf, serverVersion: number): LintFinding[] {
  const tenant = table.tenant
  if (!tenant) return []
  const findings: LintFinding[] = []
  for (const fk of table.catalog.foreignKeys) {
    const parent = tables.get(fk.refOid)
    if (!parent) continue
    const parentTenantName = tenantColumnOf(parent)
    const parentTenant = parentTenantName === null ? undefined : columnByName(parent, parentTenantName)
    if (!parentTenant) continue
    const at = fk.columns.indexOf(tenant.num)
    if (at >= 0 && fk.refColumns[at] === parentTenant.num) continue
    // The key without the tenant pair it should have had (a mispaired tenant column is dropped too).
    const pairs = fk.columns
      .map((num, i) => ({ child: columnByNum(table.catalog, num)!, parent: columnByNum(parent, fk.refColumns[i]!)! }))
      .filter((p) => p.child.num !== tenant.num && p.parent.num !== parentTenant.num)
    const childColumns = pairs.map((p) => p.child.name)
    const parentColumns = pairs.map((p) => p.parent.name)
    findings.push({
      code: LintCodes.FK_WITHOUT_TENANT,
      table: table.name,
      constraint: fk.name,
      columns: fk.columns.map((num) => columnByNum(table.catalog, num)!.name),
      references: `${parent.schema}.${parent.table}`,
      message:
        `foreign key ${fk.name} (${childColumns.join(', ')}) references ${parent.schema}.${parent.table} (${parentColumns.join(', ')}) ` +
        `without the tenant column: a row can point at another tenant's row, and the key's error tells whether an id exists. ` +
        `Reference (${[tenant.name, ...childColumns].join(', ')}) → (${[parentTenant.name, ...parentColumns].join(', ')}). ` +
        `On Citus, a foreign key between tables distributed by tenant must hold the tenant column too.`,
      fix: foreignKeyFix(table, fk, parent, pairs, tenant.quoted, parentTenant.quoted, serverVersion),
    })
  }
  return findings
}

interface Pair {
  child: { num: number; name: string; quoted: string }
  parent: { num: number; name: string; quoted: string }
}

function foreignKeyFix(
  table: LintTable,
  fk: CatalogForeignKey,
  parent: CatalogTable,
  pairs: Pair[],
  tenant: string,
  parentTenant: string,
  serverVersion: number,
): string {
  const statements: string[] = []
  const parentKey = new Set([parentTenant, ...pairs.map((p) => p.parent.quoted)])
  const parentHasKey = parent.indexes.some(
    (i) =>
      i.unique &&
      i.predicate === null &&
      i.keys.every((k) => k !== 0) &&
      i.keys.length === parentKey.size &&
      i.keys.every((k) => parentKey.has(columnByNum(parent, k)?.quoted ?? '')),
  )
  if (!parentHasKey) {
    const name = suggestedName(parent.table, [parentTenant, ...pairs.map((p) => p.parent.name)].map(unquote), 'key')
    statements.push(`alter table ${parent.qualified} add constraint ${name} unique (${[...parentKey].join(', ')});`)
  }
  const childColumns = [tenant, ...pairs.map((p) => p.child.quoted)].join(', ')
  const parentColumns = [parentTenant, ...pairs.map((p) => p.parent.quoted)].join(', ')
  // Keep what the key said about actions, MATCH and deferral: only its column lists change.
  const open = fk.definition.indexOf('(', fk.definition.indexOf(' REFERENCES '))
  let actions = fk.definition.slice(fk.definition.indexOf(')', open) + 1).trim()
  let note = ''
  if (/ON DELETE SET (NULL|DEFAULT)(?! \()/.test(actions)) {
    const only = pairs.map((p) => p.child.quoted).join(', ')
    if (serverVersion >= 150000) actions = actions.replace(/ON DELETE SET (NULL|DEFAULT)(?! \()/, `ON DELETE SET $1 (${only})`)
    else note = `\n-- PostgreSQL 14 would also set ${unquote(tenant)} on delete: upgrade to 15 for SET NULL (${only}), or use a trigger`
  }
  statements.push(
    `alter table ${table.catalog.qualified} drop constraint ${fk.quoted},\n` +
      `  add constraint ${fk.quoted} foreign key (${childColumns}) references ${parent.qualified} (${parentColumns})${actions ? ` ${actions}` : ''};${note}`,
  )
  return statements.join('\n')
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name
}
