import type { Kysely } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import { acceptedReason, bundledLintTargets } from './bundled-tables.js'
import { readCatalogSnapshot, type CatalogTable } from './catalog-snapshot.js'
import { foreignKeyFindings } from './foreign-key-rule.js'
import { columnByName, type LintTable } from './lint-table.js'
import { LintCodes, type AcceptedFinding, type LintFinding, type LintResult, type LintTarget } from './lint-types.js'
import { rowLevelSecurityFindings, TENANT_POLICY } from './rls-rule.js'
import { tenantIndexFindings } from './tenant-index-rule.js'
import { uniqueKeyFindings } from './unique-key-rule.js'

export interface LintSchemaInput {
  /** Postgres schema of tenantry's tables (and its SQL helpers). */
  schema: string
  /** Declared or named tables. A missing one is a `CONFIGURATION` error. */
  targets: LintTarget[]
  /** Lint tenantry's own tenant tables too (missing ones are skipped: not migrated yet). */
  bundled: boolean
  /**
   * Also lint every table outside the system schemas with a column of this name (or tenantry's
   * tenant policy). `null`: only `targets`.
   */
  discoverByColumn: string | null
  /** How a referenced table that is not linted shows it is a tenant table. */
  defaultTenantColumn: string
  /** `auto`: when row-level security is enabled on one of tenantry's tables. */
  rls: boolean | 'auto'
  /** `auto`: when the `citus` extension is installed. */
  citus: boolean | 'auto'
}

const CODE_ORDER = Object.values(LintCodes)

/**
 * Lints the tables' keys, indexes and policies for multi-tenant safety. One round trip.
 *
 * @example
 * const result = await lintSchema(db, { schema: 'tenantry', targets: [], bundled: true, discoverByColumn: 'tenant_id',
 *   defaultTenantColumn: 'tenant_id', rls: 'auto', citus: 'auto' })
 * for (const finding of result.findings) console.log(finding.code, finding.table, finding.fix)
 */
export async function lintSchema(db: Kysely<any>, input: LintSchemaInput): Promise<LintResult> {
  const bundled = input.bundled ? bundledLintTargets(input.schema) : []
  const asked = [...bundled, ...input.targets.filter((t) => !bundled.some((b) => same(b, t)))]
  const snapshot = await readCatalogSnapshot(db, { tables: asked, discoverByColumn: input.discoverByColumn, policyName: TENANT_POLICY })
  const linted = snapshot.tables.filter((t) => t.linted)
  const byOid = new Map(snapshot.tables.map((t) => [t.oid, t]))

  const missing = input.targets.filter((t) => !linted.some((c) => same(c, t)))
  if (missing.length > 0) {
    throw new TenantryError('CONFIGURATION', `lint: no such table ${missing.map((t) => `${t.schema}.${t.table}`).join(', ')}`)
  }
  const tables: LintTable[] = []
  for (const catalog of linted) {
    const target = asked.find((t) => same(catalog, t)) ?? discovered(catalog, input)
    if (!target) continue
    tables.push(lintTable(target, catalog))
  }

  const rls = input.rls === 'auto' ? tables.some((t) => t.target.kind === 'bundled' && t.catalog.rowSecurity) : input.rls
  const citus = input.citus === 'auto' ? snapshot.citusInstalled : input.citus
  const tenantColumnOf = (parent: CatalogTable): string | null => {
    const target = tables.find((t) => t.catalog.oid === parent.oid)?.target
    if (target) return target.tenantColumn
    return columnByName(parent, input.defaultTenantColumn) ? input.defaultTenantColumn : null
  }

  // Tables without a tenant column have nothing to lint but their row-level security.
  const checked = tables.filter((t) => t.tenant !== null || rls)
  const findings: LintFinding[] = []
  const accepted: AcceptedFinding[] = []
  for (const table of checked) {
    const own = [
      ...foreignKeyFindings(table, byOid, tenantColumnOf, snapshot.serverVersion),
      ...tenantIndexFindings(table),
      ...uniqueKeyFindings(table, citus),
      ...(rls ? rowLevelSecurityFindings(table, input.schema) : []),
    ]
    for (const finding of own) {
      const reason = table.target.kind === 'bundled' ? acceptedReason(finding, input.schema) : null
      if (reason) accepted.push({ ...finding, reason })
      else findings.push(finding)
    }
  }
  findings.sort(
    (a, b) =>
      a.table.localeCompare(b.table) || CODE_ORDER.indexOf(a.code) - CODE_ORDER.indexOf(b.code) || (a.constraint ?? '').localeCompare(b.constraint ?? ''),
  )
  return { ok: findings.length === 0, findings, accepted, tables: checked.map((t) => t.name), checks: { rls, citus } }
}

function same(a: { schema: string; table: string }, b: { schema: string; table: string }): boolean {
  return a.schema === b.schema && a.table === b.table
}

function lintTable(target: LintTarget, catalog: CatalogTable): LintTable {
  const name = `${catalog.schema}.${catalog.table}`
  const tenant = target.tenantColumn === null ? null : (columnByName(catalog, target.tenantColumn) ?? null)
  if (target.tenantColumn !== null && !tenant && target.kind !== 'bundled') {
    throw new TenantryError('CONFIGURATION', `lint: table ${name} has no column "${target.tenantColumn}" (its tenant column)`, {
      column: target.tenantColumn,
    })
  }
  const softDelete =
    target.softDelete ?? (columnByName(catalog, 'deleted_at') ? ({ kind: 'guessed', column: 'deleted_at' } as const) : ({ kind: 'none' } as const))
  return { target, catalog, name, tenant, softDelete }
}

/** A table found by its tenant column or by tenantry's policy (whose USING clause names the column). */
function discovered(catalog: CatalogTable, input: LintSchemaInput): LintTarget | null {
  // tenantry's own tables are linted as bundled ones or, with `bundled: false`, not at all
  if (catalog.schema === input.schema && bundledLintTargets(input.schema).some((b) => b.table === catalog.table)) return null
  let tenantColumn: string | null = null
  if (input.discoverByColumn !== null && columnByName(catalog, input.discoverByColumn)) tenantColumn = input.discoverByColumn
  else {
    const using = catalog.policies.find((p) => p.name === TENANT_POLICY)?.using ?? ''
    const match = /^\(*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*) = \( ?SELECT /.exec(using)
    if (match) tenantColumn = match[1]!.startsWith('"') ? match[1]!.slice(1, -1).replaceAll('""', '"') : match[1]!
  }
  if (tenantColumn === null || !columnByName(catalog, tenantColumn)) return null
  return { schema: catalog.schema, table: catalog.table, tenantColumn, kind: 'discovered' }
}
