/** Messages between the local-cluster orchestrator (main thread, dealer) and its party workers. */
import type { PartyCaseResult } from '../bench/run-op-case';

export interface WorkerInit {
  readonly type: 'init';
  readonly party: 0 | 1;
  readonly sessionId: string;
  readonly dealerUrl: string;
  readonly dealerPublicKey: Uint8Array;
  readonly peerPublicKey: Uint8Array;
  readonly fracBits: number;
  readonly net: 'none' | 'lan' | 'wan';
}

/** P1 only: where P0 listens. */
export interface WorkerConnect {
  readonly type: 'connect';
  readonly peerUrl: string;
}

export interface BenchOpJob {
  readonly type: 'benchOp';
  readonly id: number;
  readonly name: string;
  readonly reps: number;
  readonly seed: string;
}

export interface CloseJob {
  readonly type: 'close';
}

export type ToWorker = WorkerInit | WorkerConnect | BenchOpJob | CloseJob;

export type FromWorker =
  | { readonly type: 'hello'; readonly publicKey: Uint8Array }
  | { readonly type: 'listening'; readonly url: string }
  | { readonly type: 'ready' }
  | { readonly type: 'benchOpDone'; readonly id: number; readonly result: PartyCaseResult }
  | { readonly type: 'failed'; readonly id?: number; readonly error: { name: string; message: string; code?: string } };
