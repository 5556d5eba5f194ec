/**
 * Stable codes of schema lint findings. Match on `finding.code`, never on the message.
 *
 * - `FK_WITHOUT_TENANT`: a foreign key to a tenant table that leaves the tenant column out, so a
 *   row can point at another tenant's row.
 * - `TENANT_INDEX_MISSING`: no index leads with the tenant column; every scoped query scans.
 * - `UNIQUE_WITHOUT_TENANT`: a unique key that is global across tenants (and blocks Citus).
 * - `PRIMARY_KEY_WITHOUT_TENANT`: Citus only: a distributed table's primary key must hold the tenant column.
 * - `SOFT_DELETE_UNIQUE_NOT_PARTIAL`: a unique key of a soft-delete table that counts deleted rows.
 * - `RLS_POLICY_MISSING` / `RLS_NOT_FORCED`: rls mode only: no tenantry policy, or row-level
 *   security not enabled and forced.
 */
export const LintCodes = {
  FK_WITHOUT_TENANT: 'FK_WITHOUT_TENANT',
  TENANT_INDEX_MISSING: 'TENANT_INDEX_MISSING',
  UNIQUE_WITHOUT_TENANT: 'UNIQUE_WITHOUT_TENANT',
  PRIMARY_KEY_WITHOUT_TENANT: 'PRIMARY_KEY_WITHOUT_TENANT',
  SOFT_DELETE_UNIQUE_NOT_PARTIAL: 'SOFT_DELETE_UNIQUE_NOT_PARTIAL',
  RLS_POLICY_MISSING: 'RLS_POLICY_MISSING',
  RLS_NOT_FORCED: 'RLS_NOT_FORCED',
} as const

export type LintCode = (typeof LintCodes)[keyof typeof LintCodes]

/** One problem in one table, with the SQL that fixes it. */
export interface LintFinding {
  code: LintCode
  /** `schema.table`. */
  table: string
  /** The constraint or index the finding is about; `null` for a finding about the whole table. */
  constraint: string | null
  /** The columns involved (the foreign key's or the unique key's columns, or the tenant column). */
  columns: string[]
  /** For `FK_WITHOUT_TENANT`: the referenced table, `schema.table`. */
  references?: string
  /** One sentence for a human: what is wrong and why it matters. Never contains row data. */
  message: string
  /** SQL that fixes it, to review and put in a migration of your own. */
  fix: string
}

/** A finding in tenantry's own tables that is there by design, with the reason. */
export interface AcceptedFinding extends LintFinding {
  reason: string
}

/** What `tenantry.lint()` and `npx tenantry lint` return. */
export interface LintResult {
  /** `true` when there are no findings (accepted ones do not count). */
  ok: boolean
  findings: LintFinding[]
  /** Findings in the bundled tables that tenantry accepts by design (see docs/schema.md). */
  accepted: AcceptedFinding[]
  /** The tables linted, `schema.table`. */
  tables: string[]
  /** Which optional checks ran. */
  checks: { rls: boolean; citus: boolean }
}

/** How a table marks deleted rows, as far as its unique keys are concerned. */
export type LintSoftDelete =
  | { kind: 'none' }
  | { kind: 'timestamp'; column: string }
  | { kind: 'flag'; column: string; deletedWhen: boolean; timestamp: string | null }
  /** Found by the CLI from a `deleted_at` column: a predicate on it or on a boolean column counts. */
  | { kind: 'guessed'; column: string }

/** A table to lint. */
export interface LintTarget {
  schema: string
  table: string
  /** `null`: not a tenant table (bundled `tenants`, `users`): only row-level security is checked. */
  tenantColumn: string | null
  /** `undefined`: guessed from a `deleted_at` column. */
  softDelete?: LintSoftDelete
  kind: 'bundled' | 'declared' | 'discovered'
}

/** Options of `tenantry.lint()`. */
export interface LintOptions {
  /** Check row-level security (policies, FORCE). Defaults to the instance's isolation mode being `rls`. */
  rls?: boolean
  /**
   * Check what Citus needs to distribute the tables by tenant (primary keys, unique keys as plain
   * columns). Defaults to whether the `citus` extension is installed.
   */
  citus?: boolean
  /** Lint tenantry's own tenant tables too. Defaults to `true`. */
  bundled?: boolean
}
