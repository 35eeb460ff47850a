/**
 * Communication ledger of one party: online bytes sent/received, rounds, messages, and offline
 * bytes received from the dealer, with nestable named scopes.
 *
 * Bytes are counted from the payloads that actually cross the channel (channels call
 * recordSend/recordReceive), never estimated. A round is counted by the protocol engine each time
 * a party must wait for its peer's message before going on (an exchange, or a one-way message in
 * sequence). Scopes nest (`ledger.scope('softmax', () => ledger.scope('exp', …)))`) and are tracked
 * through async calls with AsyncLocalStorage, so `get('exp')` sums every scope named "exp".
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Cost {
  rounds: number;
  bytesSent: number;
  bytesReceived: number;
  messages: number;
  offlineBytes: number;
}

export const zeroCost = (): Cost => ({ rounds: 0, bytesSent: 0, bytesReceived: 0, messages: 0, offlineBytes: 0 });

export function addCost(a: Cost, b: Cost): Cost {
  return {
    rounds: a.rounds + b.rounds,
    bytesSent: a.bytesSent + b.bytesSent,
    bytesReceived: a.bytesReceived + b.bytesReceived,
    messages: a.messages + b.messages,
    offlineBytes: a.offlineBytes + b.offlineBytes,
  };
}

export function diffCost(after: Cost, before: Cost): Cost {
  return {
    rounds: after.rounds - before.rounds,
    bytesSent: after.bytesSent - before.bytesSent,
    bytesReceived: after.bytesReceived - before.bytesReceived,
    messages: after.messages - before.messages,
    offlineBytes: after.offlineBytes - before.offlineBytes,
  };
}

interface ScopeFrame {
  readonly name: string;
  readonly path: string;
  readonly parent: ScopeFrame | undefined;
}

export class Ledger {
  readonly total: Cost = zeroCost();
  private readonly byName = new Map<string, Cost>();
  private readonly byPath = new Map<string, Cost>();
  private readonly msByPath = new Map<string, number>();
  private readonly als = new AsyncLocalStorage<ScopeFrame>();

  /**
   * Run fn inside a named scope; costs recorded meanwhile are attributed to it and its parents.
   * The scope's wall-clock time (until fn's promise settles, waits included) adds to `wallMs(path)`.
   */
  scope<T>(name: string, fn: () => T): T {
    const parent = this.als.getStore();
    const frame: ScopeFrame = { name, path: parent ? `${parent.path}/${name}` : name, parent };
    const t0 = performance.now();
    const out = this.als.run(frame, fn);
    const stop = () => this.msByPath.set(frame.path, (this.msByPath.get(frame.path) ?? 0) + performance.now() - t0);
    if (out instanceof Promise) out.then(stop, stop);
    else stop();
    return out;
  }

  /**
   * Run fn in a top-level scope, outside whatever scope is current: for costs that belong to no
   * running protocol (the dealer's speculative material that no take used, counted on arrival).
   */
  rootScope<T>(name: string, fn: () => T): T {
    return this.als.run(undefined as unknown as ScopeFrame, () => this.scope(name, fn));
  }

  /** Inclusive wall-clock milliseconds spent in every scope with this full path (profiling tables). */
  wallMs(): Map<string, number> {
    return new Map(this.msByPath);
  }

  /** Cost summed over every scope with this name (or this full path, if it contains "/"). */
  get(name: string): Cost {
    const c = (name.includes('/') ? this.byPath : this.byName).get(name);
    return c ? { ...c } : zeroCost();
  }

  /** All scope paths with their costs (for cost tables). */
  paths(): Map<string, Cost> {
    return new Map([...this.byPath].map(([k, v]) => [k, { ...v }]));
  }

  snapshot(): Cost {
    return { ...this.total };
  }

  /** Measure the cost of fn as a difference of totals (works without a scope name). */
  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; cost: Cost }> {
    const before = this.snapshot();
    const result = await fn();
    return { result, cost: diffCost(this.snapshot(), before) };
  }

  reset(): void {
    Object.assign(this.total, zeroCost());
    this.byName.clear();
    this.byPath.clear();
    this.msByPath.clear();
  }

  recordSend(bytes: number): void {
    this.bump((c) => {
      c.bytesSent += bytes;
      c.messages += 1;
    });
  }

  recordReceive(bytes: number): void {
    this.bump((c) => {
      c.bytesReceived += bytes;
    });
  }

  recordRound(n = 1): void {
    this.bump((c) => {
      c.rounds += n;
    });
  }

  recordOffline(bytes: number): void {
    this.bump((c) => {
      c.offlineBytes += bytes;
    });
  }

  private bump(f: (c: Cost) => void): void {
    f(this.total);
    const seen = new Set<string>();
    for (let s = this.als.getStore(); s; s = s.parent) {
      f(this.entry(this.byPath, s.path));
      // A name that recurs in one chain (scope 'mul' inside 'mul') is counted once.
      if (!seen.has(s.name)) {
        seen.add(s.name);
        f(this.entry(this.byName, s.name));
      }
    }
  }

  private entry(m: Map<string, Cost>, k: string): Cost {
    let c = m.get(k);
    if (!c) m.set(k, (c = zeroCost()));
    return c;
  }
}
