#!/usr/bin/env node
/**
 * `mpcache` — the command line of MPCache: demo, generate, serve, share-model, bench (ring | ops | decode), eval.
 * Every subcommand that produces results (all but serve and keygen) accepts `--json FILE` and writes
 * its result objects there (the schemas of the design notes' ARCHITECTURE.md).
 * Library code throws; this file is the only place that sets the exit code.
 */
import { Command } from 'commander';
import { registerBenchCommands } from './commands/bench';
import { registerDemoCommand } from './commands/demo';
import { registerEvalCommand } from './commands/eval';
import { registerGenerateCommand } from './commands/generate';
import { registerChatCommand } from './commands/chat';
import { registerStatusCommand } from './commands/status';
import { registerServeCommand } from './commands/serve';
import { registerShareModelCommand } from './commands/share-model';

const program = new Command();
program.name('mpcache').description('Private LLM inference by two-party computation, with MPC-friendly KV-cache eviction');
registerDemoCommand(program);
registerGenerateCommand(program);
registerChatCommand(program);
registerStatusCommand(program);
registerServeCommand(program);
registerShareModelCommand(program);
registerBenchCommands(program);
registerEvalCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error & { code?: string; exitCode?: number };
  process.stderr.write(`mpcache: ${err.name ?? 'Error'}${err.code ? ` [${err.code}]` : ''}: ${err.message}\n`);
  process.exitCode = err.exitCode ?? 1; // 130 after Ctrl-C (InterruptedError)
});
