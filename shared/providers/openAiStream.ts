import type { StreamEvent } from '../stream/StreamEvent';
import { UpstreamStreamError } from '../stream/UpstreamStreamError';
import { toStreamFinishReason, toStreamUsage } from './chatTranslation';
import type { SseEvent } from './sseEvents';
import { errorMessageFromBody, isRecord } from './upstreamHttp';
import { StreamLedger, malformedFrame, parseFrameJson, type FrameReader } from './upstreamStream';

/**
 * OpenAI's streamed Chat Completions (`chat.completion.chunk` SSE frames ending with
 * `data: [DONE]`) → canonical events. Pure, no I/O. Only choice 0 is read: the gateway
 * refuses streamed requests with `n > 1`.
 */

/**
 * The statuses in-stream error codes stand for. OpenAI's mid-stream `{"error": ...}` chunk
 * carries no HTTP status; without a known code it is a server error (500), which the engine
 * may retry before the first content event.
 */
const STATUS_BY_ERROR_CODE: Readonly<Record<string, number>> = {
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
  server_error: 500,
  internal_error: 500,
  overloaded: 503,
  server_overloaded: 503,
  service_unavailable: 503,
  context_length_exceeded: 400,
  invalid_request_error: 400,
  timeout: 504,
};

const asStatus = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 400 && n <= 599 ? n : undefined;
};

/** The status an in-stream error object stands for: its own status or numeric code, a known code or type, else 500. */
export function openAiStreamErrorStatus(error: unknown): number {
  if (!isRecord(error)) return 500;
  return (
    asStatus(error.status) ??
    asStatus(error.code) ??
    (typeof error.code === 'string' ? STATUS_BY_ERROR_CODE[error.code] : undefined) ??
    (typeof error.type === 'string' ? STATUS_BY_ERROR_CODE[error.type] : undefined) ??
    500
  );
}

export class OpenAiStreamReader implements FrameReader<SseEvent> {
  private readonly ledger = new StreamLedger();
  private sawDone = false;

  /** @param secrets the credential values sent, cut out of in-stream error messages */
  constructor(private readonly secrets: readonly string[] = []) {}

  get done(): boolean {
    return this.sawDone;
  }

  read(frame: SseEvent): StreamEvent[] {
    const data = frame.data.trim();
    if (data === '[DONE]') {
      this.sawDone = true;
      return [];
    }
    if (data === '') return [];
    const chunk = parseFrameJson(data);
    if (!isRecord(chunk)) throw malformedFrame('a chunk is not a JSON object');
    if (chunk.error !== undefined && chunk.error !== null) this.fail(chunk.error, data);
    if (frame.event === 'error') this.fail(chunk, data);

    this.ledger.recordUsage(toStreamUsage(chunk.usage));
    const choices = chunk.choices ?? [];
    if (!Array.isArray(choices)) throw malformedFrame('`choices` is not an array');
    const choice = choices.find((c: unknown) => isRecord(c) && (c.index ?? 0) === 0);
    return isRecord(choice) ? this.readChoice(choice) : [];
  }

  end(): StreamEvent[] {
    return this.ledger.close(this.sawDone);
  }

  private readChoice(choice: Record<string, unknown>): StreamEvent[] {
    const events: StreamEvent[] = [];
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') events.push({ type: 'text', text: delta.content });
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as unknown[]) {
        if (!isRecord(call) || typeof call.index !== 'number') throw malformedFrame('a tool call delta has no `index`');
        const fn = isRecord(call.function) ? call.function : {};
        const args = typeof fn.arguments === 'string' ? fn.arguments : '';
        const id = typeof call.id === 'string' && call.id !== '' ? call.id : undefined;
        const name = typeof fn.name === 'string' && fn.name !== '' ? fn.name : undefined;
        if (id === undefined && name === undefined && args === '') continue;
        events.push({
          type: 'tool_call',
          index: call.index,
          ...(id !== undefined ? { id } : {}),
          ...(name !== undefined ? { name } : {}),
          arguments: args,
        });
      }
    }
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') {
      events.push(...this.ledger.finish(toStreamFinishReason(choice.finish_reason)));
    }
    return events;
  }

  private fail(error: unknown, data: string): never {
    throw new UpstreamStreamError({
      kind: 'http_error',
      status: openAiStreamErrorStatus(error),
      headers: {},
      message: errorMessageFromBody(isRecord(error) ? JSON.stringify({ error }) : data, this.secrets),
    });
  }
}
