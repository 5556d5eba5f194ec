#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { runMigrateCommand } from './commands/migrate.js'
import { runRlsCommand } from './commands/rls.js'
import { runSeedCommand } from './commands/seed.js'
import type { CommandIo } from './command-io.js'

const USAGE = `usage: tenantry <command> [options]

commands:
  migrate [up|down|status] [--schema S] [--dry-run] [--all]   tenantry's bundled migrations
  rls enable|disable|status [--table schema.table ...]        row-level security (second isolation layer)
  seed --demo [--reset]                                       load the demo data set

Every command reads DATABASE_URL. \`tenantry <command> --help\` for details.`

const commands: Record<string, (argv: string[], io: CommandIo) => Promise<number>> = {
  migrate: runMigrateCommand,
  rls: runRlsCommand,
  seed: runSeedCommand,
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    return pkg.version
  } catch {
    return 'unknown'
  }
}

async function main(argv: string[]): Promise<number> {
  const io: CommandIo = { env: process.env, stdout: (line) => console.log(line), stderr: (line) => console.error(line) }
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE)
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v') {
    io.stdout(version())
    return 0
  }
  const command = commands[name]
  if (!command) {
    io.stderr(`tenantry: unknown command "${name}"`)
    io.stderr(USAGE)
    return 2
  }
  return command(rest, io)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // Last resort: one line, no stack trace, no connection string.
    console.error(`tenantry: ${error instanceof Error ? error.message.replace(/postgres(ql)?:\/\/\S+/g, '<DATABASE_URL>') : String(error)}`)
    process.exitCode = 1
  },
)
