import type { MiddlewareObj } from '@middy/core';
import { pipeline, Readable } from 'node:stream';
import { redactingStream } from '../redaction/redactingStream';
import { defaultSecretRedactor, type SecretRedactor } from '../redaction/SecretRedactor';

/** The response shape both the buffered and the streaming chains produce. */
interface HttpResponse {
  statusCode?: number;
  headers?: Record<string, string | number | boolean>;
  body?: string | Readable;
  isBase64Encoded?: boolean;
}

/** Bodies read as text; anything else (an image a tool returns, gzip) passes as its bytes. */
const TEXTUAL = /^(?:text\/|application\/(?:json|[\w.+-]*\+json|xml|[\w.+-]*\+xml|javascript|x-ndjson|x-www-form-urlencoded))/i;

function isTextual(response: HttpResponse): boolean {
  if (response.isBase64Encoded) return false;
  const type = Object.entries(response.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  // No content type: the gateway's own answers always carry one, so this is text from a door.
  return type === undefined || TEXTUAL.test(String(type));
}

/**
 * Marks a response that shows a key the gateway just created, once (the admin API's key create
 * and rotate): that one value passes; everything else in the body is scanned as usual. A symbol,
 * so only the gateway's own code can set it, never an upstream's headers or body.
 */
export const SHOWN_ONCE = Symbol.for('breakwater.shownOnce');

export interface RedactResponsesOptions {
  /** @default defaultSecretRedactor — the one the secret source and the logger feed and use */
  redactor?: SecretRedactor;
}

/**
 * The last look before anything leaves: every header value and the body of every answer,
 * success or error, buffered or streamed, is scanned for the credentials in use (see
 * {@link SecretRedactor}). Streamed bodies are scanned across chunk boundaries. Errors are
 * scanned for credential shapes as well; answers only for the known credentials and generated
 * keys, so a model's `pk_user_id` stays as written. Binary bodies (a non-text content type, or
 * base64-encoded) pass untouched: rewriting their bytes would break them.
 *
 * Use it before the error responder (`.use(redactResponses()).use(openAiErrorResponder(...))`):
 * Middy runs `after` and `onError` in reverse order, so this one sees the final response.
 */
export const redactResponses = (options: RedactResponsesOptions = {}): MiddlewareObj<unknown, HttpResponse> => {
  const redactor = options.redactor ?? defaultSecretRedactor;
  const redactResponse = (request: { response?: HttpResponse | null }) => {
    const response = request.response;
    if (!response) return;
    const isError = (response.statusCode ?? 200) >= 400;
    const scan = (text: string) => (isError ? redactor.redactCredentials(text) : redactor.redact(text));
    if (response.headers) {
      response.headers = Object.fromEntries(
        Object.entries(response.headers).map(([name, value]) => [name, typeof value === 'string' ? scan(value) : value]),
      );
    }
    if (!isTextual(response)) return;
    const shown = (response as { [SHOWN_ONCE]?: unknown })[SHOWN_ONCE];
    if (typeof response.body === 'string') {
      response.body = typeof shown === 'string' && shown !== '' ? response.body.split(shown).map(scan).join(shown) : scan(response.body);
    }
    else if (response.body instanceof Readable) {
      // pipeline destroys the source when the client goes away mid-stream, so the upstream is
      // aborted exactly as without this stage.
      response.body = pipeline(response.body, redactingStream(redactor), () => undefined);
    }
  };
  return { after: redactResponse, onError: redactResponse };
};
