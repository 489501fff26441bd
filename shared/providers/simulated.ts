import { createHash } from 'node:crypto';
import type { ProviderConfig } from '../config/schema';
import type { Clock, RandomSource } from '../resilience';
import type { FinishReason, StreamEvent, StreamUsage } from '../stream/StreamEvent';
import { UpstreamStreamError } from '../stream/UpstreamStreamError';
import { simulatedAnswer } from './simulatedAnswer';
import type { ProviderAdapter, StreamOutcome, UpstreamFailure, UpstreamOutcome, UpstreamRequest } from './types';

type SimulatedProviderConfig = Extract<ProviderConfig, { type: 'simulated' }>;
type FailureKind = keyof SimulatedProviderConfig['status_mix'];

/** Rough token count for made-up usage numbers: about four characters a token. */
const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** Longer pieces of a streamed answer (JSON has no spaces to break at) are sliced to this size. */
const MAX_CHUNK_CHARS = 16;

/** A streamed answer's pieces: words, and long runs sliced, so JSON streams in pieces too. */
function chunksOf(text: string): string[] {
  return text.split(/(?<=\s)(?=\S)/).flatMap((word) => {
    if (word.length <= MAX_CHUNK_CHARS * 1.5) return [word];
    return Array.from({ length: Math.ceil(word.length / MAX_CHUNK_CHARS) }, (_, i) => word.slice(i * MAX_CHUNK_CHARS, (i + 1) * MAX_CHUNK_CHARS));
  });
}

/**
 * An in-process upstream with configurable latency, failure rate and failure mix, so
 * `npm start` shows retries, Retry-After, fallbacks and timeouts with no API key. It answers
 * like a model would, deterministically from the request (see simulatedAnswer.ts): tool calls
 * whose arguments validate against the tools' schemas, JSON for `response_format`, embeddings
 * of the asked `dimensions`; streams come in chunks `stream_chunk_delay_ms` apart, and
 * `stream_cut_rate` of them break mid-answer.
 */
export class SimulatedProvider implements ProviderAdapter {
  private sequence = 0;

  constructor(
    private readonly config: SimulatedProviderConfig,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  async call(request: UpstreamRequest): Promise<UpstreamOutcome> {
    const failure = await this.head(request);
    if (failure) return failure;
    if (request.operation === 'embeddings') return { kind: 'success', status: 200, headers: {}, body: this.embeddings(request) };
    const answer = this.answer(request);
    return 'kind' in answer ? answer : { kind: 'success', status: 200, headers: {}, body: answer.body };
  }

  /**
   * The same draws and latency as {@link call} up to the head; then the same answer in chunks,
   * `stream_chunk_delay_ms` apart on the injected clock (text in words, tool arguments and JSON
   * in short slices), the finish and the usage. A stream drawn to be cut (`stream_cut_rate`)
   * breaks with a reset after about half its chunks.
   */
  async stream(request: UpstreamRequest): Promise<StreamOutcome> {
    if (request.operation !== 'chat') return { kind: 'unavailable', reason: `simulated cannot stream ${request.operation}` };
    const failure = await this.head(request);
    if (failure) return failure;
    const answer = this.answer(request);
    if ('kind' in answer) return answer;

    const message = answer.message;
    const pieces: StreamEvent[] = [];
    if (message.tool_calls) {
      message.tool_calls.forEach(({ id, function: fn }, index) => {
        pieces.push({ type: 'tool_call', index, id, name: fn.name, arguments: '' });
        for (const part of chunksOf(fn.arguments)) pieces.push({ type: 'tool_call', index, arguments: part });
      });
    } else {
      for (const text of chunksOf(message.content ?? '')) pieces.push({ type: 'text', text });
    }
    const cutRate = this.config.stream_cut_rate;
    // Drawn only when cuts are configured, so the draws of every other stream stay as they were.
    const cutAfter = cutRate > 0 && this.random() < cutRate ? Math.max(1, Math.floor(pieces.length / 2)) : undefined;
    const controller = new AbortController();
    const { clock } = this;
    const delayMs = this.config.stream_chunk_delay_ms;
    const reason = answer.body.choices[0]!.finish_reason;
    const { usage } = answer.body;
    async function* events(): AsyncGenerator<StreamEvent, void, undefined> {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0 && delayMs > 0) {
          try {
            await clock.sleep(delayMs, controller.signal);
          } catch {
            return; // aborted while waiting
          }
        }
        if (controller.signal.aborted) return;
        if (i === cutAfter) {
          throw new UpstreamStreamError({ kind: 'network_error', code: 'ECONNRESET', message: 'simulated stream cut' });
        }
        yield piece;
      }
      if (controller.signal.aborted) return;
      yield { type: 'finish', reason };
      yield { type: 'usage', usage };
    }
    return { kind: 'success', status: 200, headers: {}, body: { events: events(), abort: () => controller.abort() } };
  }

  /** Draws this call's latency and failure and waits; undefined when it is to succeed. */
  private async head(request: UpstreamRequest): Promise<UpstreamFailure | undefined> {
    const { latency_ms, jitter_ms, failure_rate } = this.config;
    const latency = Math.max(0, latency_ms + (this.random() * 2 - 1) * jitter_ms);
    const failure = this.random() < failure_rate ? this.drawFailure() : undefined;

    if (failure === 'timeout' || latency > request.timeoutMs) {
      await this.clock.sleep(request.timeoutMs);
      return { kind: 'timeout', timeoutMs: request.timeoutMs };
    }
    await this.clock.sleep(latency);

    switch (failure) {
      case undefined:
        return undefined;
      case '429':
        return { kind: 'http_error', status: 429, headers: {}, message: 'simulated rate limit' };
      case '429_retry_after':
        return {
          kind: 'http_error',
          status: 429,
          headers: { 'retry-after': String(this.config.retry_after_s) },
          message: 'simulated rate limit',
        };
      case '500':
        return { kind: 'http_error', status: 500, headers: {}, message: 'simulated server error' };
      case '503':
        return { kind: 'http_error', status: 503, headers: {}, message: 'simulated overload' };
      case 'reset':
        return { kind: 'network_error', code: 'ECONNRESET', message: 'simulated connection reset' };
      case 'malformed':
        return { kind: 'malformed', message: 'simulated malformed answer' };
    }
  }

  private drawFailure(): FailureKind {
    const entries = Object.entries(this.config.status_mix).filter(([, weight]) => (weight ?? 0) > 0) as Array<
      [FailureKind, number]
    >;
    if (entries.length === 0) return '503';
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let draw = this.random() * total;
    for (const [kind, weight] of entries) {
      draw -= weight;
      if (draw < 0) return kind;
    }
    return entries[entries.length - 1]![0];
  }

  /** The chat answer (one choice per `n`), or the 400 OpenAI gives a tool_choice naming no declared tool. */
  private answer(request: UpstreamRequest): { body: SimulatedCompletion; message: SimulatedMessage } | UpstreamFailure {
    const { body } = request;
    const decided = simulatedAnswer(body);
    if (decided.kind === 'invalid') return { kind: 'http_error', status: 400, headers: {}, message: decided.message };
    this.sequence += 1;
    const message: SimulatedMessage =
      decided.kind === 'text'
        ? { role: 'assistant', content: decided.content }
        : {
            role: 'assistant',
            content: null,
            tool_calls: decided.toolCalls.map(({ id, name, arguments: args }) => ({ id, type: 'function', function: { name, arguments: args } })),
          };
    const finishReason = decided.kind === 'text' ? ('stop' as const) : ('tool_calls' as const);
    const choices = Math.max(1, typeof body.n === 'number' ? Math.floor(body.n) : 1);
    const promptTokens = estimateTokens(JSON.stringify([body.messages ?? '', body.tools ?? '']));
    const completionTokens = estimateTokens(decided.kind === 'text' ? decided.content : JSON.stringify(decided.toolCalls));
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens * choices, total_tokens: promptTokens + completionTokens * choices };
    return {
      message,
      body: {
        id: `chatcmpl-sim-${this.sequence}`,
        object: 'chat.completion',
        created: Math.floor(this.clock.now() / 1000),
        model: String(body.model),
        choices: Array.from({ length: choices }, (_, index) => ({ index, message, finish_reason: finishReason, logprobs: null })),
        usage,
      },
    };
  }

  /** One vector per input, of `dimensions` (8 by default), the same for the same input. */
  private embeddings(request: UpstreamRequest): Record<string, unknown> {
    const { body } = request;
    this.sequence += 1;
    const dimensions = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.floor(body.dimensions) : 8;
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const data = inputs.map((input, index) => ({ object: 'embedding', index, embedding: pseudoEmbedding(String(input), dimensions) }));
    const tokens = inputs.reduce((sum: number, input) => sum + estimateTokens(String(input)), 0);
    return { object: 'list', model: String(body.model), data, usage: { prompt_tokens: tokens, total_tokens: tokens } };
  }
}

interface SimulatedMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
}

interface SimulatedCompletion extends Record<string, unknown> {
  choices: Array<{ index: number; message: SimulatedMessage; finish_reason: FinishReason; logprobs: null }>;
  usage: StreamUsage;
}

/** A stable unit vector per input, so equal inputs embed equally; as long as asked. */
function pseudoEmbedding(input: string, dimensions: number): number[] {
  const raw: number[] = [];
  for (let block = 0; raw.length < dimensions; block++) {
    const digest = createHash('sha256').update(block === 0 ? input : `${block}:${input}`).digest();
    for (let i = 0; i < 16 && raw.length < dimensions; i++) raw.push(digest.readInt16BE(i * 2) / 32768);
  }
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => value / norm);
}
