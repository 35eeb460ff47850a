/**
 * The error family of MPCache. Every class sets `name` and a stable `code`.
 * Messages carry shapes, lengths, tags, session ids and party ids — never share values, seeds,
 * prompts or tokens.
 */

export class ShapeError extends RangeError {
  readonly code = 'MPC_ERR_SHAPE';
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Every ProtocolError code (wire decoders map a peer's code back to its class with this list). */
export const PROTOCOL_ERROR_CODES = [
  'MPC_ERR_BAD_FRAME',
  'MPC_ERR_BAD_TAG',
  'MPC_ERR_BAD_LENGTH',
  'MPC_ERR_BAD_MESSAGE',
  'MPC_ERR_DEALER_MISMATCH',
  'MPC_ERR_BAD_FRAGMENT',
  'MPC_ERR_KEY_REUSE',
  'MPC_ERR_BAD_SEAL',
] as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: ProtocolErrorCode = 'MPC_ERR_BAD_FRAME',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Every LimitError code. */
export const LIMIT_ERROR_CODES = [
  'MPC_ERR_FRAME_TOO_LARGE',
  'MPC_ERR_MESSAGE_TOO_LARGE',
  'MPC_ERR_PROMPT_TOO_LONG',
  'MPC_ERR_TOO_MANY_SESSIONS',
  'MPC_ERR_DEALER_REQUEST_TOO_LARGE',
  'MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK',
  'MPC_ERR_DEALER_SESSION_WORK',
  'MPC_ERR_DEALER_BACKLOG',
  'MPC_ERR_LIMIT',
] as const;
export type LimitErrorCode = (typeof LIMIT_ERROR_CODES)[number];

export class LimitError extends RangeError {
  constructor(
    message: string,
    readonly code: LimitErrorCode = 'MPC_ERR_LIMIT',
  ) {
    super(message);
    this.name = 'LimitError';
  }
}

export class ChannelClosedError extends Error {
  readonly code = 'MPC_ERR_CHANNEL_CLOSED';
  constructor(message = 'channel closed') {
    super(message);
    this.name = 'ChannelClosedError';
  }
}

export class TimeoutError extends Error {
  readonly code = 'MPC_ERR_TIMEOUT';
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export class SessionNotFoundError extends Error {
  readonly code = 'MPC_ERR_SESSION_NOT_FOUND';
  constructor(sessionId: string) {
    super(`session "${sessionId}" not found`);
    this.name = 'SessionNotFoundError';
  }
}
