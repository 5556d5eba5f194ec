import { z } from 'zod'
import { validationError } from '../errors/validation-error.js'
import type { TenantryRuntime } from '../runtime/runtime.js'
import { lintSchema } from './lint-schema.js'
import type { LintOptions, LintResult, LintTarget } from './lint-types.js'

const optionsSchema = z.strictObject({
  rls: z.boolean().optional(),
  citus: z.boolean().optional(),
  bundled: z.boolean().optional(),
})

/** `tenantry.lint()`: the declared tables and tenantry's own, as the instance is configured. */
export function lintDeclaredTables(runtime: TenantryRuntime, options: LintOptions = {}): Promise<LintResult> {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) return Promise.reject(validationError('lint: invalid options', parsed.error))
  const targets: LintTarget[] = [...runtime.models.values()].map((model) => ({
    schema: model.schema,
    table: model.table,
    tenantColumn: model.tenantColumn,
    softDelete: model.softDelete,
    kind: 'declared',
  }))
  return lintSchema(runtime.root, {
    schema: runtime.schema,
    targets,
    bundled: parsed.data.bundled ?? true,
    discoverByColumn: null,
    defaultTenantColumn: 'tenant_id',
    rls: parsed.data.rls ?? runtime.isolation === 'rls',
    citus: parsed.data.citus ?? 'auto',
  })
}
