/**
 * What the dashboard does, as functions over a tenant scope. Each one is a unit of work the
 * caller's request runs; tenant filtering, audit rows, references and permissions come from the
 * table declarations in `techops-schema.ts`.
 */
import type { TechopsTables, TechopsDB, RequestStatus } from './techops-schema.js'
import type { TenantScope } from '../demo-imports.js'

export type TechopsScope = TenantScope<TechopsDB, TechopsTables>

/** A request may only move forward along these edges. */
const NEXT_STATUS: Record<RequestStatus, readonly RequestStatus[]> = {
  open: ['scheduled', 'cancelled'],
  scheduled: ['in_progress', 'cancelled'],
  in_progress: ['done', 'cancelled'],
  done: [],
  cancelled: [],
}

/** Moves a request to `to`, under a row lock so two operators cannot both move it from the same status. */
export async function transitionRequest(scope: TechopsScope, requestId: string, to: RequestStatus) {
  return scope.transaction(async (tx) => {
    const requests = tx.repo('maintenance_requests')
    const current = await requests.findById(requestId, { lock: 'update' })
    if (current === null) throw new Error(`maintenance request ${requestId} not found`)
    if (!NEXT_STATUS[current.status].includes(to)) throw new Error(`a ${current.status} request cannot become ${to}`)
    return requests.update(requestId, { status: to })
  })
}

/** Status history of one request, oldest first. */
export function statusHistory(scope: TechopsScope, requestId: string) {
  return scope.repo('request_status_history').findMany({ where: { request_id: requestId }, orderBy: ['changed_at', 'asc'] })
}

export interface DeploymentRow {
  id: string
  version: string
  environment: string
  created_at: Date
  project_name: string
  group_name: string
}

/**
 * The "latest deployments" view: deployments joined to their project and group, newest first, a
 * keyset page at a time. A view is a scoped query: `scope.db` adds the tenant and live-row
 * predicates to every table of the join, and checks `deployments:read`.
 */
export async function latestDeployments(scope: TechopsScope, options: { limit?: number; before?: { created_at: Date; id: string } } = {}) {
  let query = scope.db
    .selectFrom('deployments as d')
    .innerJoin('projects as p', 'p.id', 'd.project_id')
    .innerJoin('project_groups as g', 'g.id', 'p.group_id')
    .select(['d.id', 'd.version', 'd.environment', 'd.created_at', 'p.name as project_name', 'g.name as group_name'])
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(options.limit ?? 20)
  const before = options.before
  if (before) query = query.where(({ eb, refTuple, tuple }) => eb(refTuple('d.created_at', 'd.id'), '<', tuple(before.created_at, before.id)))
  return (await query.execute()) as DeploymentRow[]
}

/** Deployments of one project, a keyset page at a time through the repository. */
export function projectDeployments(scope: TechopsScope, projectId: string, after: string | null = null) {
  return scope.repo('deployments').page({ where: { project_id: projectId }, orderBy: ['created_at', 'desc'], limit: 20, after })
}
