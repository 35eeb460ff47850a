/**
 * Attention-Gate file — a trained gate (attention-gate-weights.ts for the network) as one compact,
 * versioned binary file, the way a model owner ships it next to the model (the shipped ones:
 * shipped-attention-gates.ts). Little-endian throughout:
 *
 *   bytes [0, 8)        magic "MPCGATE\0"
 *   bytes [8, 12)       u32 format version (ATTENTION_GATE_FILE_VERSION = 1)
 *   bytes [12, 16)      u32 H: header length in bytes (≤ MAX_GATE_HEADER_BYTES)
 *   bytes [16, 16 + H)  header: UTF-8 JSON (AttentionGateFileHeader)
 *   then                payload: the tensors of `header.tensors`, in that order, each as its dtype
 *
 * Tensors are listed layer by layer in the order wq, wk, wv, wg, bg (row-major [out, in], the shapes
 * of attention-gate-weights.ts); each is stored as
 *   { dtype: 'f32' }               float32, exact
 *   { dtype: 'i16', fracBits: f }  int16 fixed point: value = q · 2^−f, f chosen per tensor as the
 *                                  largest with max |value|·2^f ≤ 32767 (error ≤ 2^−(f+1))
 *   { sameAs: 'wq' }               no bytes: equal to an earlier tensor of the same layer
 * The header also names the model and carries the sha256 of its configuration (modelConfigSha256),
 * the payload's length and sha256, the policy options the gate was evaluated with, and free-form
 * provenance (how it was trained). Loading checks, before any use: magic, version, header size and
 * fields, the model's name, config hash and shapes, the file length against the declared tensors,
 * the payload hash, and that every value is finite. Errors are ModelFileError (codes
 * MPC_ERR_MODEL_MISSING / _HEADER / _SIZE / _HASH) naming fields, shapes and byte counts, never
 * a weight value. The framing (prefix, header, payload hash) is model/versioned-file.ts's.
 */
import type { ModelConfig } from '../model/config';
import { concatBytes as concat, decodeVersionedFile, encodeVersionedPrefix, fileErrorMaker, readFileAligned, sha256Hex as sha256, type FileErrorMaker } from '../model/versioned-file';
import type { AttentionGateOptions } from './attention-gate';
import { gateTensorSizes, type AttentionGateLayer, type AttentionGateWeights } from './attention-gate-weights';

export const ATTENTION_GATE_FILE_MAGIC = 'MPCGATE\0';
export const ATTENTION_GATE_FILE_VERSION = 1;
/** Header JSON bytes at most: a tensor table of a few hundred entries plus provenance fits easily. */
export const MAX_GATE_HEADER_BYTES = 64 * 1024;

const GATE_FILE_KIND = { magic: ATTENTION_GATE_FILE_MAGIC, version: ATTENTION_GATE_FILE_VERSION, maxHeaderBytes: MAX_GATE_HEADER_BYTES };
const TENSOR_NAMES: readonly (keyof AttentionGateLayer)[] = ['wq', 'wk', 'wv', 'wg', 'bg'];
/** ModelConfig fields hashed into modelConfigSha256, in this order (new optional fields stay out). */
const CONFIG_HASH_FIELDS = ['name', 'family', 'dModel', 'dFf', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize', 'seqLen', 'normEps', 'ropeTheta', 'tiedClassifier'] as const;

/** The policy options a gate file recommends (those it was evaluated with). */
export type GatePolicyOptions = Omit<AttentionGateOptions, 'weights'>;

export type GateTensorEncoding = { dtype: 'f32' } | { dtype: 'i16'; fracBits: number } | { sameAs: keyof AttentionGateLayer };
export type GateTensorEntry = { layer: number; name: keyof AttentionGateLayer } & GateTensorEncoding;

export interface AttentionGateFileHeader {
  format: 'mpcache-attention-gate-bin';
  version: number;
  model: string;
  modelConfigSha256: string;
  /** sha256 of the checkpoint the gate was trained for (informational). */
  modelWeightsSha256?: string;
  dModel: number;
  nHeads: number;
  nLayers: number;
  gateHeads: number;
  gateHeadDim: number;
  tensors: GateTensorEntry[];
  payloadBytes: number;
  payloadSha256: string;
  policy: GatePolicyOptions;
  training?: Record<string, unknown>;
}

export interface AttentionGateFile {
  readonly header: AttentionGateFileHeader;
  readonly weights: AttentionGateWeights;
}

export interface EncodeGateFileOptions {
  model: ModelConfig;
  policy: GatePolicyOptions;
  modelWeightsSha256?: string;
  training?: Record<string, unknown>;
  /** Storage per tensor name; default i16 for the projections wq/wk/wv, f32 for the readout wg/bg. */
  dtypes?: Partial<Record<keyof AttentionGateLayer, 'f32' | 'i16'>>;
}

/** sha256 (hex) of the model's architecture fields (CONFIG_HASH_FIELDS), canonical JSON. */
export function modelConfigSha256(config: ModelConfig): string {
  return sha256(new TextEncoder().encode(JSON.stringify(CONFIG_HASH_FIELDS.map((k) => [k, config[k]]))));
}

/** The file bytes of `weights` (the model owner's step; scripts/fit-stories15m-gate.js). */
export function encodeAttentionGateFile(weights: AttentionGateWeights, o: EncodeGateFileOptions): Uint8Array {
  const m = o.model, dtypes = { wq: 'i16', wk: 'i16', wv: 'i16', wg: 'f32', bg: 'f32', ...o.dtypes } as const;
  if (weights.dModel !== m.dModel || weights.nHeads !== m.nHeads || weights.layers.length !== m.nLayers) {
    throw new RangeError(`gate expected (dModel ${m.dModel}, nHeads ${m.nHeads}, ${m.nLayers} layers), got (${weights.dModel}, ${weights.nHeads}, ${weights.layers.length})`);
  }
  const tensors: GateTensorEntry[] = [], chunks: Uint8Array[] = [];
  weights.layers.forEach((L, layer) => {
    for (const name of TENSOR_NAMES) {
      const x = L[name], same = TENSOR_NAMES.slice(0, TENSOR_NAMES.indexOf(name)).find((e) => L[e].length === x.length && L[e].every((v, i) => Object.is(v, x[i])));
      if (same) { tensors.push({ layer, name, sameAs: same }); continue; }
      if (!x.every(Number.isFinite)) throw new RangeError(`gate tensor "layers[${layer}].${name}" holds a non-finite value`);
      if (dtypes[name] === 'f32') {
        const b = new Uint8Array(4 * x.length), dv = new DataView(b.buffer);
        for (let i = 0; i < x.length; i++) dv.setFloat32(4 * i, x[i], true);
        tensors.push({ layer, name, dtype: 'f32' });
        chunks.push(b);
      } else {
        const { fracBits, q } = quantizeI16(x), b = new Uint8Array(2 * q.length), dv = new DataView(b.buffer);
        for (let i = 0; i < q.length; i++) dv.setInt16(2 * i, q[i], true);
        tensors.push({ layer, name, dtype: 'i16', fracBits });
        chunks.push(b);
      }
    }
  });
  const payload = concat(chunks);
  const header: AttentionGateFileHeader = {
    format: 'mpcache-attention-gate-bin', version: ATTENTION_GATE_FILE_VERSION, model: m.name, modelConfigSha256: modelConfigSha256(m),
    ...(o.modelWeightsSha256 ? { modelWeightsSha256: o.modelWeightsSha256 } : {}),
    dModel: m.dModel, nHeads: m.nHeads, nLayers: m.nLayers, gateHeads: weights.gateHeads, gateHeadDim: weights.gateHeadDim,
    tensors, payloadBytes: payload.length, payloadSha256: sha256(payload), policy: o.policy, ...(o.training ? { training: o.training } : {}),
  };
  return concat([encodeVersionedPrefix(GATE_FILE_KIND, header), payload]);
}

/** Parse and validate gate file bytes; with `model`, also check it is that model's gate. */
export function decodeAttentionGateFile(bytes: Uint8Array, model?: ModelConfig, what = 'attention-gate file'): AttentionGateFile {
  const bad = fileErrorMaker(what);
  let sizes: Record<keyof AttentionGateLayer, number> | undefined;
  const { header, payload } = decodeVersionedFile(bytes, GATE_FILE_KIND, bad, (h) => {
    const valid = h as unknown as AttentionGateFileHeader;
    sizes = validateHeader(valid, bad);
    if (model) checkModel(valid, model, bad);
    return valid;
  });
  const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength), layers: Record<string, Float32Array>[] = [];
  let at = 0;
  for (const t of header.tensors) {
    const out = (layers[t.layer] ??= {}), n = sizes![t.name];
    if ('sameAs' in t) { out[t.name] = out[t.sameAs]; continue; }
    const x = new Float32Array(n);
    if (t.dtype === 'f32') for (let i = 0; i < n; i++, at += 4) x[i] = pv.getFloat32(at, true);
    else for (let i = 0, s = 2 ** -t.fracBits; i < n; i++, at += 2) x[i] = pv.getInt16(at, true) * s;
    if (!x.every(Number.isFinite)) throw bad(`tensor "layers[${t.layer}].${t.name}" holds a non-finite value`);
    out[t.name] = x;
  }
  const weights: AttentionGateWeights = {
    dModel: header.dModel, nHeads: header.nHeads, gateHeads: header.gateHeads, gateHeadDim: header.gateHeadDim,
    layers: layers as unknown as AttentionGateLayer[],
  };
  return { header, weights };
}

/** Read and validate a gate file (decodeAttentionGateFile); ModelFileError if unreadable. */
export function loadAttentionGateFile(path: string, model?: ModelConfig): AttentionGateFile {
  return decodeAttentionGateFile(readFileAligned(path, 'attention-gate file'), model, `attention-gate file ${path}`);
}

/** The gate weights of a gate file, checked against `model` when given. */
export function loadAttentionGateWeights(path: string, model?: ModelConfig): AttentionGateWeights {
  return loadAttentionGateFile(path, model).weights;
}

/** int16 fixed point at the largest fracBits in [0, 30] whose range holds max |x|. */
function quantizeI16(x: Float32Array): { fracBits: number; q: Int16Array } {
  let maxAbs = 0;
  for (const v of x) maxAbs = Math.max(maxAbs, Math.abs(v));
  let f = 30;
  while (f > 0 && Math.round(maxAbs * 2 ** f) > 32767) f--;
  if (Math.round(maxAbs * 2 ** f) > 32767) throw new RangeError(`gate tensor max |value| too large for int16 at 0 fractional bits`);
  const q = new Int16Array(x.length), s = 2 ** f;
  for (let i = 0; i < x.length; i++) q[i] = Math.round(x[i] * s);
  return { fracBits: f, q };
}

/** Header fields, the tensor table (order, encodings) and payloadBytes; returns per-name sizes. */
function validateHeader(h: AttentionGateFileHeader, bad: FileErrorMaker): Record<keyof AttentionGateLayer, number> {
  if (typeof h !== 'object' || h === null || h.format !== 'mpcache-attention-gate-bin' || h.version !== ATTENTION_GATE_FILE_VERSION) throw bad(`header "format"/"version" expected "mpcache-attention-gate-bin"/${ATTENTION_GATE_FILE_VERSION}`);
  // payloadBytes and payloadSha256 are the framing's (decodeVersionedFile checks them first)
  for (const k of ['dModel', 'nHeads', 'nLayers', 'gateHeads', 'gateHeadDim'] as const) {
    if (!Number.isInteger(h[k]) || h[k] < 1) throw bad(`header "${k}" expected a positive integer`);
  }
  for (const k of ['model', 'modelConfigSha256'] as const) if (typeof h[k] !== 'string') throw bad(`header "${k}" expected a string`);
  validateGatePolicy(h.policy, 'header "policy"', bad);
  const sizes = gateTensorSizes(h.dModel, h.nHeads, h.gateHeads, h.gateHeadDim);
  if (!Array.isArray(h.tensors) || h.tensors.length !== h.nLayers * TENSOR_NAMES.length) throw bad(`header "tensors" expected ${h.nLayers * TENSOR_NAMES.length} entries`);
  let bytes = 0;
  h.tensors.forEach((t, i) => {
    const layer = Math.floor(i / TENSOR_NAMES.length), name = TENSOR_NAMES[i % TENSOR_NAMES.length];
    if (t?.layer !== layer || t.name !== name) throw bad(`header "tensors[${i}]" expected layers[${layer}].${name}`);
    if ('sameAs' in t) {
      const j = TENSOR_NAMES.indexOf(t.sameAs);
      if (j < 0 || j >= i % TENSOR_NAMES.length || sizes[t.sameAs] !== sizes[name]) throw bad(`header "tensors[${i}].sameAs" expected an earlier tensor of layer ${layer} with ${sizes[name]} elements`);
    } else if (t.dtype === 'f32') bytes += 4 * sizes[name];
    else if (t.dtype === 'i16' && Number.isInteger(t.fracBits) && t.fracBits >= 0 && t.fracBits <= 30) bytes += 2 * sizes[name];
    else throw bad(`header "tensors[${i}]" expected dtype f32, or i16 with fracBits in [0, 30], or sameAs`);
  });
  if (bytes !== h.payloadBytes) throw bad(`header "payloadBytes" ${h.payloadBytes} differs from its tensors' ${bytes}`);
  return sizes;
}

/** A gate file's (or share file's) recommended policy options; `bad` names `field`. */
export function validateGatePolicy(p: GatePolicyOptions, field: string, bad: FileErrorMaker): void {
  if (typeof p !== 'object' || p === null || !['topk', 'threshold'].includes(p.countMode) || typeof p.threshold !== 'number'
    || typeof p.maskPrefill !== 'boolean' || typeof p.recentFraction !== 'number' || p.recentFraction < 0 || p.recentFraction > 1) {
    throw bad(`${field} expected { countMode: topk|threshold, threshold, maskPrefill, recentFraction in [0, 1] }`);
  }
}

function checkModel(h: AttentionGateFileHeader, m: ModelConfig, bad: FileErrorMaker): void {
  if (h.model !== m.name) throw bad(`gate is for model "${h.model}", expected "${m.name}"`);
  if (h.dModel !== m.dModel || h.nHeads !== m.nHeads || h.nLayers !== m.nLayers) {
    throw bad(`gate shape (dModel ${h.dModel}, nHeads ${h.nHeads}, nLayers ${h.nLayers}) differs from model "${m.name}" (${m.dModel}, ${m.nHeads}, ${m.nLayers})`);
  }
  if (h.modelConfigSha256 !== modelConfigSha256(m)) throw bad(`"modelConfigSha256" differs from model "${m.name}"'s configuration`);
}
