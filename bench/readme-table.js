#!/usr/bin/env node
'use strict';
/**
 * Prints the README's "Secure decoding" table from one sweep's result files (bench/decode-sweep.sh
 * TAG writes them): node bench/readme-table.js TAG. Rows in the README's order: stories15M, the
 * gpt2-small full cache at 128, the 512–2048 sweep, 4096, the baselines at 1024, then `wan`.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const tag = process.argv[2];
if (!tag) {
  process.stderr.write('usage: node bench/readme-table.js TAG   (the tag given to bench/decode-sweep.sh)\n');
  process.exit(2);
}
const GROUPS = ['stories15m-none', 'gpt2-small-full-none', 'gpt2-small-policies-none', 'gpt2-small-4096-none', 'gpt2-small-baselines-1024', 'gpt2-small-policies-wan', 'gpt2-small-4096-wan'];

const bytes = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} KB`);
const s = (ms) => (ms / 1000).toFixed(2);
const cpu = (r) => (r.cpuMsByProcess ? `${s(r.cpuMsByProcess.p0)} + ${s(r.cpuMsByProcess.p1)} + ${s(r.cpuMsByProcess.dealer)} = ${s(r.cpuMsPerToken)}` : '–');

const lines = [
  '| model | net | policy | context | s / token | max s | online s | CPU s (P0 + P1 + dealer) | bytes sent / party | rounds | offline (both) | rows attended | peak RSS MB (P0, P1) |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
];
for (const g of GROUPS) {
  const file = join(__dirname, 'results', `decode-${g}-${tag}.json`);
  const rep = JSON.parse(readFileSync(file, 'utf8'));
  for (const r of rep.rows) {
    lines.push(`| ${rep.model} | ${rep.net} | ${r.policy} | ${r.seqLen} | ${s(r.msPerToken)} | ${s(r.msPerTokenMax)} | ${s(r.msOnlinePerToken)} | ${cpu(r)} | ${bytes(r.bytesPerToken)} | ${Math.round(r.roundsPerToken)} | ${bytes(r.offlineBytesPerToken)} | ${r.keptTokens} | ${r.peakRssMB.map(Math.round).join(', ')} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
