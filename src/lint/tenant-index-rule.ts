import { suggestedName, type LintTable } from './lint-table.js'
import { LintCodes, type LintFinding } from './lint-types.js'

/**
 * Every tenant-scoped query (and the row-level security policy) filters on the tenant column, so
 * some index must lead with it; a partial one counts (it still serves the scoped reads it covers).
 */
export function tenantIndexFindings(table: LintTable): LintFinding[] {
  const tenant = table.tenant
  if (!tenant) return []
  if (table.catalog.indexes.some((index) => index.keys[0] === tenant.num)) return []
  return [
    {
      code: LintCodes.TENANT_INDEX_MISSING,
      table: table.name,
      constraint: null,
      columns: [tenant.name],
      message:
        `no index of ${table.name} leads with ${tenant.name}: every tenant-scoped query reads the whole table. ` +
        `Add one, or lead an existing index with ${tenant.name}.`,
      fix: `create index concurrently ${suggestedName(table.catalog.table, [tenant.name], 'idx')} on ${table.catalog.qualified} (${tenant.quoted});`,
    },
  ]
}
