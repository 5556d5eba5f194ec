import type { RequestState } from '../runtime/runtime.js'
import { Repository, type NoWriteOptions, type UpdateOptions } from '../repository/repository.js'
import type { BulkFilter } from '../repository/bulk-filter.js'
import type { DeletedView } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import { invalidatePermissions } from './permission-cache.js'

/**
 * The repository of a table that decides grants (`roles`, `user_roles`, `memberships`): the same
 * API, but every write forgets the scope's cached permissions, so a `scope.can` after a role change
 * made through the same scope sees the change. Invalidation runs on failure too (it is cheap, and
 * a failed write may have been part of a transaction that is still open).
 */
export class InvalidatingRepository<Row, Insert, Update> extends Repository<Row, Insert, Update> {
  /** @internal */
  protected readonly requestState: RequestState
  /** @internal */
  protected readonly model: TableModel
  /** @internal */
  protected readonly view: DeletedView

  constructor(state: RequestState, model: TableModel, view: DeletedView = 'live') {
    super(state, model, view)
    this.requestState = state
    this.model = model
    this.view = view
  }

  override withDeleted(): InvalidatingRepository<Row, Insert, Update> {
    return new InvalidatingRepository(this.requestState, this.model, 'all')
  }

  override onlyDeleted(): InvalidatingRepository<Row, Insert, Update> {
    return new InvalidatingRepository(this.requestState, this.model, 'deleted')
  }

  override create(input: Insert, options?: NoWriteOptions): Promise<Row> {
    return this.invalidating(() => super.create(input, options))
  }

  override createMany(inputs: Insert[], options?: NoWriteOptions): Promise<Row[]> {
    return this.invalidating(() => super.createMany(inputs, options))
  }

  override update(id: Row[keyof Row] | string | number, patch: Update, options?: UpdateOptions): Promise<Row> {
    return this.invalidating(() => super.update(id, patch, options))
  }

  override updateMany(where: BulkFilter<Row>, patch: Update, options?: NoWriteOptions): Promise<{ count: number }> {
    return this.invalidating(() => super.updateMany(where, patch, options))
  }

  override softDelete(id: Row[keyof Row] | string | number, options?: NoWriteOptions): Promise<Row> {
    return this.invalidating(() => super.softDelete(id, options))
  }

  override softDeleteMany(where: BulkFilter<Row>, options?: NoWriteOptions): Promise<{ count: number }> {
    return this.invalidating(() => super.softDeleteMany(where, options))
  }

  override restore(id: Row[keyof Row] | string | number, options?: NoWriteOptions): Promise<Row> {
    return this.invalidating(() => super.restore(id, options))
  }

  override purge(id: Row[keyof Row] | string | number, options?: NoWriteOptions): Promise<Row> {
    return this.invalidating(() => super.purge(id, options))
  }

  /** @internal Runs a grant-changing write and forgets the scope's cached permissions afterwards. */
  protected async invalidating<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } finally {
      invalidatePermissions(this.requestState)
    }
  }
}
