/**
 * Jest globalSetup: one SEED for every test file of a run (the seeded tests derive their shares,
 * dealer seeds and data from it), printed first so that a failing run, in CI too, can be replayed
 * with `SEED=<n> npm test`. Runs before jest starts its workers, which inherit the variable — and
 * the allocator settings every MPCache process runs with (client runtime/malloc-tunables.ts, from
 * the build `npm test` makes first), which glibc reads when a worker starts.
 */
const { randomInt } = require('node:crypto');
const { join } = require('node:path');

function mallocTunables() {
  try {
    return require(join(__dirname, '..', '..', 'packages', 'client', 'dist', 'runtime', 'malloc-tunables.js'));
  } catch {
    return null; // not built (jest run directly): the workers keep glibc's defaults
  }
}

module.exports = async () => {
  const tunables = mallocTunables();
  const withTunables = tunables ? tunables.withMallocTunables(process.env).GLIBC_TUNABLES : undefined;
  if (withTunables !== undefined) process.env.GLIBC_TUNABLES = withTunables;
  if (!process.env.SEED) process.env.SEED = String(randomInt(1_000_000));
  process.stdout.write(`test randomness: SEED=${process.env.SEED} (replay a failure with SEED=${process.env.SEED} npm test)\n`);
};
