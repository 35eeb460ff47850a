#!/usr/bin/env node
// The `mpcache` command: runs the compiled CLI (packages/client/dist), built by `npm ci` (prepare)
// or `npm run build`.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const cli = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('mpcache: the CLI is not built yet; run `npm run build` at the repository root\n');
  process.exit(1);
}
// relaunch with the runtime V8 flags (dist/runtime/node-flags.js) unless this process has them
const { relaunchWithRuntimeFlags } = require(join(__dirname, '..', 'dist', 'runtime', 'node-flags.js'));
if (!relaunchWithRuntimeFlags(__filename)) require(cli);
