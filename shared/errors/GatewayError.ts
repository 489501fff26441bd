import { ERROR_CODES, type ErrorCode } from './errorCodes';

export interface GatewayErrorOptions {
  /** Overrides the table's status; used to pass an upstream 4xx through unchanged. */
  status?: number;
  /** Extra machine-readable context put on the wire beside message, type and code. */
  details?: Record<string, unknown>;
  /** Response headers that belong to this error (Retry-After, ...). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * The one error type the engine throws on purpose. Identity is checked with
 * {@link isGatewayError} (a flag, not `instanceof`) so it survives duplicated bundle copies.
 */
export class GatewayError extends Error {
  readonly isGatewayError = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.details = options.details;
    this.headers = options.headers;
  }

  get type(): string {
    return ERROR_CODES[this.code].type;
  }

  /** The OpenAI-shaped body: `{"error":{"message","type","code",...details}}`. */
  toBody(): { error: Record<string, unknown> } {
    return { error: { message: this.message, type: this.type, code: this.code, ...this.details } };
  }
}

export const isGatewayError = (error: unknown): error is GatewayError =>
  typeof error === 'object' && error !== null && (error as { isGatewayError?: unknown }).isGatewayError === true;
