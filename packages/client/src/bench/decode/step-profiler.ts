/**
 * StepProfiler — a V8 CPU profile of a bench row's decoding steps (the measured ones and the
 * unmeasured ones before them; not the setup, the weights' masking, the cache's warm start or the
 * prefill token, which dominate a whole-process --cpu-prof).
 * On when MPCACHE_BENCH_CPU_PROFILE names a directory: each party writes
 * `<dir>/decode-<policy>-<seqLen>-p<party>.cpuprofile` (Chrome DevTools format). Public data only:
 * function names and sample times, no values.
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class StepProfiler {
  private session: Session | null = null;

  constructor(private readonly dir = process.env.MPCACHE_BENCH_CPU_PROFILE) {}

  async start(): Promise<void> {
    if (!this.dir) return;
    const s = new Session();
    s.connect();
    await post(s, 'Profiler.enable');
    await post(s, 'Profiler.start');
    this.session = s;
  }

  /** Stop and write the profile as `<dir>/<name>.cpuprofile`. */
  async stop(name: string): Promise<void> {
    const s = this.session;
    if (!s || !this.dir) return;
    this.session = null;
    const { profile } = (await post(s, 'Profiler.stop')) as { profile: unknown };
    s.disconnect();
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, `${name}.cpuprofile`), JSON.stringify(profile));
  }
}

function post(s: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => s.post(method, (err, res) => (err ? reject(err) : resolve(res))));
}
