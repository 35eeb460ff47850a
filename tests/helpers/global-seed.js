/**
 * Jest globalSetup: one SEED for every test file of a run (the seeded tests derive their shares,
 * dealer seeds and data from it), printed first so that a failing run, in CI too, can be replayed
 * with `SEED=<n> npm test`. Runs before jest starts its workers, which inherit the variable.
 */
const { randomInt } = require('node:crypto');

module.exports = async () => {
  if (!process.env.SEED) process.env.SEED = String(randomInt(1_000_000));
  process.stdout.write(`test randomness: SEED=${process.env.SEED} (replay a failure with SEED=${process.env.SEED} npm test)\n`);
};
