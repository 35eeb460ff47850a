/**
 * Model share file — one party's additive share of a model's weights (and of its trained
 * Attention-Gate): what a model owner ships to each server (`mpcache share-model`, then
 * `mpcache serve --shares FILE`), so that neither server ever holds the weights. The framing is
 * model/versioned-file.ts's with magic "MPCSHAR\0" and an 8-byte-aligned payload of u64
 * little-endian words:
 *
 *   weights 'words'  every slice of weightSliceKeys(config), in that order (P0: encode(W) minus P1's
 *                    stream)
 *   weights 'seed'   2 words: the owner's 16-byte seed, whose AES-CTR streams are P1's slices
 *                    (shared-weights.ts); P1's whole share in 16 bytes, independent of the weights
 *   gate (optional)  per layer: wqkv (dModel, 3·gd), wg (gd, nHeads), bg (nHeads), this party's words
 *                    (gate-shares.ts; gd = gateHeads·gateHeadDim)
 *
 * Header JSON: format, version, model, modelConfigSha256, config (only for a model that did not ship
 * with the code, e.g. a user's llama2.c checkpoint: its whole configuration, bounded by
 * CUSTOM_MODEL_LIMITS), party, fracBits, weights, gate (null or
 * { gateHeads, gateHeadDim, policy }), shareSet (16 hex digits, random per sharing and the same in
 * both files: the servers compare it before a session, so shares of two sharings are never mixed),
 * payloadBytes, payloadSha256.
 * Public (header): the model's name and configuration hash, the party, the fixed-point precision, the
 * gate's shape and policy options. Secret (payload): the party's share; alone it is uniformly random.
 * The owner's seeds come from crypto.randomBytes; files are written with mode 0600 and never
 * overwritten; a failed write removes what it wrote. Loading validates everything before use (ModelFileError; messages carry fields,
 * shapes and byte counts, never a share word).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { PartyId, RingTensor } from '@mpcache/mpc-core';
import { modelConfigSha256, validateGatePolicy, type GatePolicyOptions } from '../cache/attention-gate-file';
import type { AttentionGateWeights } from '../cache/attention-gate-weights';
import { shareAttentionGateWeights, type GateShares } from '../secure-cache/gate-shares';
import { findModelConfig, MODEL_CONFIGS, type ModelConfig } from '../model/config';
import { MODEL_NAME_PATTERN, validateCustomModelConfig } from '../model/llama2c-checkpoint';
import { decodeVersionedFile, encodeVersionedPrefix, fileErrorMaker, readFileAligned, sha256Hex, type FileErrorMaker } from '../model/versioned-file';
import { numel, type TransformerWeights } from '../model/weights';
import { shareModelWeights, weightSharesFromSeed, weightSharesFromSlices, weightSliceKeys, weightSliceShape, type WeightShares } from './shared-weights';

export const MODEL_SHARE_FILE_MAGIC = 'MPCSHAR\0';
export const MODEL_SHARE_FILE_VERSION = 1;
/** A sharing's id: 16 lowercase hex digits. */
export const SHARE_SET_PATTERN = /^[0-9a-f]{16}$/;
const KIND = { magic: MODEL_SHARE_FILE_MAGIC, version: MODEL_SHARE_FILE_VERSION, maxHeaderBytes: 16 * 1024, align: 8 };

export interface ModelShareFileHeader {
  format: 'mpcache-model-share';
  version: number;
  model: string;
  modelConfigSha256: string;
  /** The configuration of a model that is not in MODEL_CONFIGS (absent otherwise). */
  config?: ModelConfig;
  party: PartyId;
  fracBits: number;
  weights: 'words' | 'seed';
  gate: { gateHeads: number; gateHeadDim: number; policy: GatePolicyOptions } | null;
  /** Random id of the owner's sharing, the same in both parties' files (public). */
  shareSet: string;
  payloadBytes: number;
  payloadSha256: string;
}

/** A party's share of a trained gate with the policy options it was evaluated with (public). */
export interface GateShareSet {
  readonly shares: GateShares;
  readonly policy: GatePolicyOptions;
}

export interface ModelShareFile {
  readonly header: ModelShareFileHeader;
  readonly weights: WeightShares;
  readonly gate: GateShareSet | null;
}

export interface ShareModelOptions {
  readonly weights: TransformerWeights;
  readonly config: ModelConfig;
  readonly fracBits: number;
  /** The model's trained Attention-Gate and its policy options, shared alongside (optional). */
  readonly gate?: { readonly weights: AttentionGateWeights; readonly policy: GatePolicyOptions };
  /** Tests only: the owner's seeds (default crypto.randomBytes). */
  readonly seeds?: { readonly weights: Uint8Array; readonly gate: Uint8Array };
}

/** What a loader requires of the file (the server's role, its --model, its --frac-bits). */
export interface ModelShareExpectation {
  readonly party?: PartyId;
  readonly model?: string;
  readonly fracBits?: number;
}

if (endianness() !== 'LE') throw new Error('model share files are little-endian; this machine is big-endian');

/** Both parties' files as byte chunks [P0, P1] (the model owner's step). */
export function encodeModelShareFiles(o: ShareModelOptions): [Uint8Array[], Uint8Array[]] {
  const shipped = findModelConfig(o.config.name);
  if (shipped && modelConfigSha256(shipped) !== modelConfigSha256(o.config)) {
    throw new RangeError(`model "${o.config.name}" names a shipped configuration, and this one differs: choose another name`);
  }
  if (!shipped) {
    if (!MODEL_NAME_PATTERN.test(o.config.name)) throw new RangeError(`model name "${o.config.name.slice(0, 70)}" expected ${MODEL_NAME_PATTERN}`);
    validateCustomModelConfig(o.config);
  }
  const seeds = o.seeds ?? { weights: randomBytes(16), gate: randomBytes(16) };
  const shareSet = randomBytes(8).toString('hex');
  const [w0] = shareModelWeights(o.weights, o.config, o.fracBits, seeds.weights);
  const gate = o.gate ? shareAttentionGateWeights(o.gate.weights, o.fracBits, seeds.gate) : null;
  if (o.gate && (o.gate.weights.dModel !== o.config.dModel || o.gate.weights.nHeads !== o.config.nHeads || o.gate.weights.layers.length !== o.config.nLayers)) {
    throw new RangeError(`gate expected (dModel ${o.config.dModel}, nHeads ${o.config.nHeads}, ${o.config.nLayers} layers), got (${o.gate.weights.dModel}, ${o.gate.weights.nHeads}, ${o.gate.weights.layers.length})`);
  }
  const file = (party: PartyId, weightChunks: Uint8Array[]): Uint8Array[] => {
    const gateChunks = gate ? gate[party].layers.flatMap((l) => [l.wqkv, l.wg, l.bg].map((t) => bytesOf(t.data))) : [];
    const payload = [...weightChunks, ...gateChunks];
    const header: ModelShareFileHeader = {
      format: 'mpcache-model-share', version: MODEL_SHARE_FILE_VERSION, model: o.config.name, modelConfigSha256: modelConfigSha256(o.config),
      ...(findModelConfig(o.config.name) ? {} : { config: o.config }),
      party, fracBits: o.fracBits, weights: party === 0 ? 'words' : 'seed',
      gate: o.gate ? { gateHeads: o.gate.weights.gateHeads, gateHeadDim: o.gate.weights.gateHeadDim, policy: o.gate.policy } : null,
      shareSet, payloadBytes: payload.reduce((s, c) => s + c.length, 0), payloadSha256: sha256Hex(...payload),
    };
    return [encodeVersionedPrefix(KIND, header), ...payload];
  };
  const p0 = weightSliceKeys(o.config).map((k) => bytesOf(w0.tensor(k.name, k.layer).data));
  return [file(0, p0), file(1, [Uint8Array.from(seeds.weights)])];
}

/**
 * Write `<dir>/<model>.p0.mpcshare` and `.p1.mpcshare` (mode 0600; an existing file is an error,
 * never overwritten). Returns their paths and sizes.
 */
export function writeModelShareFiles(dir: string, o: ShareModelOptions): { paths: [string, string]; bytes: [number, number] } {
  const paths = [0, 1].map((p) => join(dir, `${o.config.name}.p${p}.mpcshare`)) as [string, string];
  for (const p of paths) if (existsSync(p)) throw new RangeError(`${p} exists: share files are never overwritten (move it away first)`);
  const files = encodeModelShareFiles(o);
  const written: string[] = [];
  try {
    const bytes = files.map((chunks, p) => {
      const fd = openSync(paths[p], 'wx', 0o600);
      written.push(paths[p]);
      try {
        let n = 0;
        for (const c of chunks) for (let at = 0; at < c.length;) { const w = writeSync(fd, c, at); at += w; n += w; }
        return n;
      } finally {
        closeSync(fd);
      }
    }) as [number, number];
    return { paths, bytes };
  } catch (e) {
    for (const p of written) rmSync(p, { force: true }); // never leave one half of a sharing behind
    throw e;
  }
}

/** Parse and validate share-file bytes against `expect`. */
export function decodeModelShareFile(bytes: Uint8Array, expect: ModelShareExpectation = {}, what = 'model share file'): ModelShareFile {
  const bad = fileErrorMaker(what);
  let config: ModelConfig | undefined;
  const { header, payload: raw } = decodeVersionedFile(bytes, KIND, bad, (h) => {
    const valid = h as unknown as ModelShareFileHeader;
    config = validateHeader(valid, expect, bad);
    return valid;
  });
  const payload = raw.byteOffset % 8 === 0 ? raw : raw.slice(); // BigUint64Array views need 8-byte alignment
  let at = payload.byteOffset;
  const take = (shape: number[]): RingTensor => {
    const data = new BigUint64Array(payload.buffer, at, numel(shape));
    at += data.byteLength;
    return { shape, data };
  };
  const c = config!;
  const weights = header.weights === 'seed'
    ? weightSharesFromSeed(c, header.fracBits, new Uint8Array(payload.buffer, take([2]).data.byteOffset, 16).slice())
    : weightSharesFromSlices(header.party, c, header.fracBits, weightSliceKeys(c).map((k) => take(weightSliceShape(c, k.name))));
  let gate: GateShareSet | null = null;
  if (header.gate) {
    const { gateHeads, gateHeadDim, policy } = header.gate, [wqkv, wg, bg] = gateLayerShapes(c, gateHeads * gateHeadDim);
    const layers = Array.from({ length: c.nLayers }, () => ({ wqkv: take(wqkv), wg: take(wg), bg: take(bg) }));
    gate = { shares: { fracBits: header.fracBits, dModel: c.dModel, nHeads: c.nHeads, gateHeads, gateHeadDim, layers }, policy };
  }
  return { header, weights, gate };
}

/** Read and validate a share file (decodeModelShareFile); ModelFileError if unreadable or invalid. */
export function loadModelShareFile(path: string, expect: ModelShareExpectation = {}): ModelShareFile {
  return decodeModelShareFile(readFileAligned(path, 'model share file'), expect, `model share file ${path}`);
}

/** Header fields, the expectation and the payload length the header implies; returns the model's config. */
function validateHeader(h: ModelShareFileHeader, expect: ModelShareExpectation, bad: FileErrorMaker): ModelConfig {
  if (h.format !== 'mpcache-model-share' || h.version !== MODEL_SHARE_FILE_VERSION) throw bad(`header "format"/"version" expected "mpcache-model-share"/${MODEL_SHARE_FILE_VERSION}`);
  if (h.party !== 0 && h.party !== 1) throw bad('header "party" expected 0 or 1');
  if (typeof h.shareSet !== 'string' || !SHARE_SET_PATTERN.test(h.shareSet)) throw bad('header "shareSet" expected 16 hex digits');
  if (!Number.isInteger(h.fracBits) || h.fracBits < 1 || h.fracBits > 24) throw bad('header "fracBits" expected an integer in [1, 24]');
  if (h.weights !== 'words' && !(h.weights === 'seed' && h.party === 1)) throw bad(`header "weights" expected "words"${h.party === 1 ? ' or "seed"' : ' (P0 has no seed form)'}`);
  const config = headerConfig(h, bad);
  if (h.modelConfigSha256 !== modelConfigSha256(config)) throw bad(`"modelConfigSha256" differs from model "${config.name}"'s configuration`);
  if (expect.party !== undefined && h.party !== expect.party) throw bad(`holds P${h.party}'s share, this server is P${expect.party}`);
  if (expect.model !== undefined && h.model !== expect.model) throw bad(`holds model "${h.model}", this server serves "${expect.model}"`);
  if (expect.fracBits !== undefined && h.fracBits !== expect.fracBits) throw bad(`is at ${h.fracBits} fractional bits, this server runs at ${expect.fracBits}`);
  let words = h.weights === 'seed' ? 2 : weightSliceKeys(config).reduce((s, k) => s + numel(weightSliceShape(config, k.name)), 0);
  if (h.gate !== null) {
    const g = h.gate;
    if (typeof g !== 'object' || !Number.isInteger(g.gateHeads) || g.gateHeads < 1 || !Number.isInteger(g.gateHeadDim) || g.gateHeadDim < 1) {
      throw bad('header "gate" expected null or { gateHeads, gateHeadDim: positive integers, policy }');
    }
    validateGatePolicy(g.policy, 'header "gate.policy"', bad);
    words += config.nLayers * gateLayerShapes(config, g.gateHeads * g.gateHeadDim).reduce((s, shape) => s + numel(shape), 0);
  }
  if (h.payloadBytes !== 8 * words) throw bad(`header "payloadBytes" ${h.payloadBytes} differs from the ${8 * words} its model and gate imply`);
  return config;
}

/** The header's model: a shipped configuration by name, or the header's own `config` for another name. */
function headerConfig(h: ModelShareFileHeader, bad: FileErrorMaker): ModelConfig {
  if (typeof h.model !== 'string' || !MODEL_NAME_PATTERN.test(h.model)) throw bad(`header "model" expected a name matching ${MODEL_NAME_PATTERN}`);
  const shipped = findModelConfig(h.model);
  if (shipped) {
    if (h.config !== undefined) throw bad(`header "config" unexpected: "${h.model}" is a shipped model`);
    return shipped;
  }
  const c = h.config;
  if (typeof c !== 'object' || c === null || c.name !== h.model || c.family !== 'llama' || typeof c.tiedClassifier !== 'boolean') {
    throw bad(`header "config" expected the llama configuration of "${h.model}" (it is not a shipped model: ${Object.keys(MODEL_CONFIGS).join(', ')})`);
  }
  try {
    validateCustomModelConfig(c);
  } catch (e) {
    throw bad(`header "config": ${(e as Error).message}`);
  }
  return c;
}

/** One layer's gate share tensors as stored: wqkv (dModel, 3·gd), wg (gd, nHeads), bg (nHeads) (gate-shares.ts). */
function gateLayerShapes(c: ModelConfig, gd: number): [number[], number[], number[]] {
  return [[c.dModel, 3 * gd], [gd, c.nHeads], [c.nHeads]];
}

function bytesOf(words: BigUint64Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}
