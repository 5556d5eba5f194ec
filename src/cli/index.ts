#!/usr/bin/env node
import { runCli } from './run-cli.js'

// No top-level await: tsup also builds this entry as CommonJS.
void runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
}).then((code) => {
  process.exitCode = code
})
