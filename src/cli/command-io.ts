/**
 * What a command needs from the process, injected so that tests run commands in-process and
 * nothing but `index.ts` touches `process`.
 */
export interface CommandIo {
  env: Record<string, string | undefined>
  stdout: (line: string) => void
  stderr: (line: string) => void
}

/** Exit codes shared by the commands: 0 done, 1 the operation failed, 2 usage. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const

/** A subcommand: gets the arguments after its name and returns the exit code. */
export type CliCommand = (argv: string[], io: CommandIo) => Promise<number>
