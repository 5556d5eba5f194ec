// A host process using tenantry/testing, run by exit-code.test.ts. MODE picks how it ends.
import { startTestDatabase } from '../../../src/testing/start-test-database.js'

const database = await startTestDatabase({ preferEmbedded: true })
const { rows } = await database.pool.query<{ pid: number }>('select pg_backend_pid() as pid')
const postmaster = (await database.pool.query<{ postmaster: string }>("select setting as postmaster from pg_settings where name = 'data_directory'")).rows[0]
  ?.postmaster
console.log(JSON.stringify({ url: database.url, backend: rows[0]?.pid, dataDirectory: postmaster }))

switch (process.env.MODE) {
  case 'exit-code-after-stop':
    await database.stop()
    process.exitCode = 3
    break
  case 'exit-while-running':
    await database.pool.end()
    process.exit(3)
    break
  case 'uncaught-error':
    await database.pool.end()
    setTimeout(() => {
      throw new Error('host failure')
    }, 0)
    break
  default:
    await database.stop()
}
