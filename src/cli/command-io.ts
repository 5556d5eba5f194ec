import type { ExitCode } from './exit-codes.js'

/**
 * What a command needs from the process, injected so that tests run commands in-process and
 * nothing but `index.ts` touches `process`.
 */
export interface CommandIo {
  env: Record<string, string | undefined>
  stdout: (line: string) => void
  stderr: (line: string) => void
}

/** A subcommand: gets the arguments after its name and returns the exit code. */
export type CliCommand = (argv: string[], io: CommandIo) => Promise<ExitCode>
