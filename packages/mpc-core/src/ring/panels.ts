/**
 * Matrices "in panels": rows in groups of 8, each group stored column by column (row r, column j
 * at word (⌊r/8⌋·cols + j)·8 + r mod 8; the last group padded with zero rows to 8). A product
 * that streams such a matrix against a vector reads it in ONE sequential pass, where row-major
 * with 8 rows at a time reads 8 streams: on one core, 309 MB (the 50,257 × 768 embedding table)
 * takes 11–13 ms against 19 ms (ring-kernels.ts). The masked weights live this way
 * (masked-operand.ts); both decoding products with them are covered:
 *
 *   matmulWordsPanels(a, B, m, k, n)   a (m×k) · B (k×n), B in panels (m = 1: vector × matrix)
 *   matvecWordsPanels(A, x, m, k)      A (m×k) · x (k×1), A in panels (the tied classifier)
 *
 * A panel operand in the kernel arena (`ringArena().holds`) is read in place, as in matmul-wasm.ts;
 * any other is copied into scratch first.
 */
import { ShapeError } from '../errors';
import { ringArena, ringKernels } from './matmul-wasm';
import { alignWasm64 as align64 } from './wasm-module';

/** Rows of a panel. */
export const PANEL_ROWS = 8;

/** Words of a (rows × cols) matrix in panels (rows rounded up to a multiple of 8). */
export const panelWordCount = (rows: number, cols: number): number => Math.ceil(rows / PANEL_ROWS) * PANEL_ROWS * cols;

/** Word of row r, column 0 in panels; column j is PANEL_ROWS·j words further. */
const panelRowStart = (r: number, cols: number): number => Math.floor(r / PANEL_ROWS) * cols * PANEL_ROWS + (r % PANEL_ROWS);

/** Row-major (rows × cols) → panels, into `out` (zero padding rows), or a new array. */
export function toPanels(x: BigUint64Array, rows: number, cols: number, out: BigUint64Array = new BigUint64Array(panelWordCount(rows, cols))): BigUint64Array {
  checkPanels('toPanels', x, rows * cols, out, rows, cols);
  for (let r = 0; r < rows; r++) {
    const base = panelRowStart(r, cols), src = r * cols;
    for (let j = 0; j < cols; j++) out[base + j * PANEL_ROWS] = x[src + j];
  }
  return out;
}

/** Panels → row-major (rows × cols), a new array. */
export function fromPanels(p: BigUint64Array, rows: number, cols: number): BigUint64Array {
  const out = new BigUint64Array(rows * cols);
  checkPanels('fromPanels', out, rows * cols, p, rows, cols);
  for (let r = 0; r < rows; r++) {
    const base = panelRowStart(r, cols), dst = r * cols;
    for (let j = 0; j < cols; j++) out[dst + j] = p[base + j * PANEL_ROWS];
  }
  return out;
}

function checkPanels(what: string, flat: BigUint64Array, flatWords: number, panels: BigUint64Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new ShapeError(`${what}: bad size ${rows}×${cols}`);
  if (flat.length !== flatWords) throw new ShapeError(`${what}: row-major matrix has ${flat.length} words, expected ${flatWords}`);
  if (panels.length !== panelWordCount(rows, cols)) {
    throw new ShapeError(`${what}: panels have ${panels.length} words, expected ${panelWordCount(rows, cols)} for ${rows}×${cols}`);
  }
}

/** The panel operand's pointer in kernel memory, copying it into scratch at `at` if it lives elsewhere. */
function panelPointer(p: BigUint64Array, at: number): number {
  if (ringArena().holds(p)) return p.byteOffset;
  new BigUint64Array(ringKernels().memory.buffer, at, p.length).set(p);
  return at;
}

/** out[m×n] = a[m×k] · B[k×n] mod 2^64, B in panels. */
export function matmulWordsPanels(a: BigUint64Array, b: BigUint64Array, m: number, k: number, n: number): BigUint64Array {
  if (a.length !== m * k) throw new ShapeError(`matmulWordsPanels: a has ${a.length} words, expected ${m}×${k}`);
  if (b.length !== panelWordCount(k, n)) throw new ShapeError(`matmulWordsPanels: b has ${b.length} words, expected ${k}×${n} in panels`);
  const out = new BigUint64Array(m * n);
  if (m === 0 || n === 0 || k === 0) return out;
  const kx = ringKernels(), inPlace = ringArena().holds(b);
  const kernelScratch = align64(kx.scratchBytes()), bBytes = inPlace ? 0 : align64(b.length * 8);
  const scratch = ringArena().scratch(kernelScratch + bBytes + align64(m * k * 8) + m * n * 8);
  const bPtr = panelPointer(b, scratch + kernelScratch), aPtr = scratch + kernelScratch + bBytes, oPtr = aPtr + align64(m * k * 8);
  const buf = kx.memory.buffer;
  new BigUint64Array(buf, aPtr, m * k).set(a);
  kx.matmulPanels(aPtr, bPtr, oPtr, m, k, n, scratch);
  out.set(new BigUint64Array(buf, oPtr, m * n));
  return out;
}

/** out[m] = A[m×k] · x[k] mod 2^64, A in panels. */
export function matvecWordsPanels(a: BigUint64Array, x: BigUint64Array, m: number, k: number): BigUint64Array {
  if (a.length !== panelWordCount(m, k)) throw new ShapeError(`matvecWordsPanels: a has ${a.length} words, expected ${m}×${k} in panels`);
  if (x.length !== k) throw new ShapeError(`matvecWordsPanels: x has ${x.length} words, expected ${k}`);
  const out = new BigUint64Array(m);
  if (m === 0 || k === 0) return out;
  const kx = ringKernels(), inPlace = ringArena().holds(a);
  const aBytes = inPlace ? 0 : align64(a.length * 8);
  const scratch = ringArena().scratch(aBytes + align64(k * 8) + m * 8);
  const aPtr = panelPointer(a, scratch), xPtr = scratch + aBytes, oPtr = xPtr + align64(k * 8);
  const buf = kx.memory.buffer;
  new BigUint64Array(buf, xPtr, k).set(x);
  kx.matvecPanels(aPtr, xPtr, oPtr, m, k);
  out.set(new BigUint64Array(buf, oPtr, m));
  return out;
}
