// The examples import tenantry the way an application does; inside this repository that is the source.
export * from '../src/index.js'
export type { Generated } from 'kysely'
