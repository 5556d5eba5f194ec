import { z } from 'zod'
import { TenantryError } from '../errors/tenantry-error.js'
import type { OnSoftDelete, ReferenceOption } from './reference-option.js'
import type { TableModel } from './table-model.js'

export type { OnSoftDelete, ReferenceOption } from './reference-option.js'

/**
 * Declared references between tenant tables (`defineTable({ references })`): a column of one
 * declared table holding the primary key of another, checked by the repositories to name a live
 * row of the same tenant, and followed by soft deletes (`onSoftDelete`).
 */

/** A reference with its defaults applied. */
export interface Reference {
  /** The referencing column. */
  column: string
  /** The referenced table's key in `createTenantry({ tables })`. */
  table: string
  onSoftDelete: OnSoftDelete
}

const name = z.string().min(1).max(63)

/** The `references` option of `defineTable`, strictly: a misspelt `onSoftDelete` is `VALIDATION`. */
export const referencesSchema = z.record(
  name,
  z.union([name, z.strictObject({ table: name, onSoftDelete: z.enum(['restrict', 'cascade', 'ignore']).optional() })]),
)

/**
 * Declarations are fixed once `createTenantry` has built its models: the references of a table,
 * and those pointing at it, are worked out once and then read on every write.
 */
const declaredBy = new WeakMap<TableModel, Reference[]>()
const pointingAt = new WeakMap<Map<string, TableModel>, Map<TableModel, { child: TableModel; reference: Reference }[]>>()

/** The references a table declares, with their defaults applied. */
export function referencesOf(model: TableModel): readonly Reference[] {
  let references = declaredBy.get(model)
  if (!references) {
    const declared = (model.definition as { references?: Record<string, ReferenceOption> }).references ?? {}
    references = Object.entries(declared).map(([column, option]) =>
      typeof option === 'string'
        ? { column, table: option, onSoftDelete: 'restrict' }
        : { column, table: option.table, onSoftDelete: option.onSoftDelete ?? 'restrict' },
    )
    declaredBy.set(model, references)
  }
  return references
}

/** The declared references that point at `parent`, each with its referencing table. */
export function referencesTo(models: Map<string, TableModel>, parent: TableModel): readonly { child: TableModel; reference: Reference }[] {
  let byParent = pointingAt.get(models)
  if (!byParent) {
    byParent = new Map()
    for (const child of models.values()) {
      for (const reference of referencesOf(child)) {
        // By identity: a bundled table (`scope.users`) is never the target of a host table's reference.
        const target = models.get(reference.table)
        if (!target) continue
        const found = byParent.get(target) ?? []
        found.push({ child, reference })
        byParent.set(target, found)
      }
    }
    pointingAt.set(models, byParent)
  }
  return byParent.get(parent) ?? []
}

/** The column holding the soft-delete time, which a cascade shares with its parent; `null` when there is none. */
export function deletedAtColumn(model: TableModel): string | null {
  const strategy = model.softDelete
  if (strategy.kind === 'timestamp') return strategy.column
  if (strategy.kind === 'flag') return strategy.timestamp
  return null
}

/**
 * Checks the declared references of every table at `createTenantry`: the referenced table is
 * declared in `tables` and is a tenant table, and a cascade can be followed and undone (both
 * tables keep a soft-delete time). A bad declaration is `CONFIGURATION` naming it.
 *
 * @example
 * checkDeclaredReferences(models) // CONFIGURATION: table "deployments": reference "project_id" names "projcts", which is not declared in tables
 */
export function checkDeclaredReferences(models: Map<string, TableModel>): void {
  for (const child of models.values()) {
    for (const reference of referencesOf(child)) {
      const where = `table "${child.name}": reference "${reference.column}"`
      const details = { table: child.name, column: reference.column }
      const parent = models.get(reference.table)
      if (!parent) {
        throw new TenantryError('CONFIGURATION', `${where} names "${reference.table}", which is not declared in createTenantry({ tables })`, details)
      }
      if (!parent.tenantColumn || !child.tenantColumn) {
        throw new TenantryError('CONFIGURATION', `${where}: both tables must be tenant tables (with a tenant column)`, details)
      }
      if (reference.column === child.tenantColumn || reference.column === child.primaryKey) {
        throw new TenantryError('CONFIGURATION', `${where}: the tenant column or primary key cannot be a reference`, details)
      }
      if (reference.onSoftDelete === 'cascade' && (deletedAtColumn(parent) === null || deletedAtColumn(child) === null)) {
        throw new TenantryError(
          'CONFIGURATION',
          `${where}: onSoftDelete 'cascade' needs a soft-delete time on both "${child.name}" and "${parent.name}" (softDelete: 'deleted_at', or a flag with timestamp)`,
          details,
        )
      }
    }
  }
}

/** Checks, once the columns are read, that every referencing column exists. */
export function checkReferenceColumns(models: Iterable<TableModel>): void {
  for (const model of models) {
    for (const reference of referencesOf(model)) {
      if (!model.columns.has(reference.column)) {
        throw new TenantryError('CONFIGURATION', `table "${model.name}" has no column "${reference.column}" named in its references`, {
          table: model.name,
          column: reference.column,
        })
      }
    }
  }
}
