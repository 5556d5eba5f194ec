import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TenantryError } from '../errors/tenantry-error.js'

/**
 * The package's `migrations/` folder, found from this module's location, which differs between
 * the sources (`src/migration/`) and the bundles (`dist/`, `dist/cli/`, `dist/testing/`).
 */
export function bundledMigrationsFolder(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url))
  let folder = here
  for (let depth = 0; depth < 4; depth++) {
    const candidate = join(folder, 'migrations')
    if (existsSync(join(folder, 'package.json')) && existsSync(candidate)) return candidate
    folder = dirname(folder)
  }
  throw new TenantryError('CONFIGURATION', `tenantry: cannot find the bundled migrations folder above ${here}`)
}
