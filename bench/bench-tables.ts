import { z } from 'zod'
import { defineTable } from '../src/index.js'
import type { BenchDB } from './host-fixture.js'

/** Input schemas, used by tenantry and, at the same place in the call, by the hand-written code. */
export const ProjectInsert = z.object({
  name: z.string().min(1).max(200),
  status: z.enum(['active', 'paused', 'archived']).optional(),
  batch: z.number().int().optional(),
  budget: z.number().int().nullish(),
  tags: z.record(z.string(), z.unknown()).optional(),
})

export const ProjectUpdate = ProjectInsert.partial()

export const DeploymentInsert = z.object({ project_id: z.string().uuid(), version: z.string().min(1).max(64) })
export const DeploymentUpdate = DeploymentInsert.partial()

export const benchTables = {
  projects: defineTable<BenchDB, 'projects'>({
    table: 'projects',
    tenantColumn: 'tenant_id',
    softDelete: 'deleted_at',
    insert: ProjectInsert,
    update: ProjectUpdate,
  }),
  // 'ignore': soft-deleting a project stays the same statement as without the child table.
  deployments: defineTable<BenchDB, 'deployments'>({
    table: 'deployments',
    softDelete: 'deleted_at',
    insert: DeploymentInsert,
    update: DeploymentUpdate,
    references: { project_id: { table: 'projects', onSoftDelete: 'ignore' } },
  }),
}
