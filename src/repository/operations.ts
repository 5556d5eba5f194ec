import type { TableModel } from '../schema/table-model.js'

/** Repository reads, as named in errors (`projects.findMany`). */
export type ReadOperation = 'findById' | 'getById' | 'findOne' | 'findMany' | 'page' | 'count' | 'aggregate' | 'exists'

/** Repository writes; each leaves audit rows under the action `AUDIT_ACTION` gives it. */
export type WriteOperation = 'create' | 'createMany' | 'update' | 'updateMany' | 'softDelete' | 'softDeleteMany' | 'restore' | 'purge'

export type RepositoryOperation = ReadOperation | WriteOperation

/**
 * The audit action of each write (`projects.<action>`): a bulk variant is audited as its single-row
 * action, with one row per affected record, so the trail reads the same however a row changed.
 */
export const AUDIT_ACTION = {
  create: 'create',
  createMany: 'create',
  update: 'update',
  updateMany: 'update',
  softDelete: 'softDelete',
  softDeleteMany: 'softDelete',
  restore: 'restore',
  purge: 'purge',
} as const satisfies Record<WriteOperation, WriteOperation>

/** `<table>.<op>`: the operation named in errors (`projects.update`). */
export function operationName(model: TableModel, op: RepositoryOperation): string {
  return `${model.name}.${op}`
}

/** `<table>.<action>`: the audit action of a write (see `AUDIT_ACTION`). */
export function auditActionName(model: TableModel, op: WriteOperation): string {
  return operationName(model, AUDIT_ACTION[op])
}
