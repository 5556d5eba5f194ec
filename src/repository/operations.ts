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
