import { createHash } from 'node:crypto';
import type { ProviderConfig } from '../config/schema';
import type { Clock, RandomSource } from '../resilience';
import type { StreamEvent, StreamUsage } from '../stream/StreamEvent';
import type { ProviderAdapter, StreamOutcome, UpstreamFailure, UpstreamOutcome, UpstreamRequest } from './types';

type SimulatedProviderConfig = Extract<ProviderConfig, { type: 'simulated' }>;
type FailureKind = keyof SimulatedProviderConfig['status_mix'];

/** Rough token count for made-up usage numbers: about four characters a token. */
const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (typeof last?.content === 'string') return last.content;
  if (Array.isArray(last?.content)) {
    return last.content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join(' ');
  }
  return '';
}

/**
 * An in-process upstream with configurable latency, failure rate and failure mix, so
 * `npm start` shows retries, Retry-After, fallbacks and timeouts with no API key.
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
    return failure ?? { kind: 'success', status: 200, headers: {}, body: this.answer(request) };
  }

  /**
   * The same draws and latency as {@link call} up to the head; then the same answer in word
   * chunks, `stream_chunk_delay_ms` apart on the injected clock, a `stop` and the usage.
   */
  async stream(request: UpstreamRequest): Promise<StreamOutcome> {
    if (request.operation !== 'chat') return { kind: 'unavailable', reason: `simulated cannot stream ${request.operation}` };
    const failure = await this.head(request);
    if (failure) return failure;

    const answer = this.answer(request) as { choices: Array<{ message: { content: string } }>; usage: StreamUsage };
    const chunks = answer.choices[0]!.message.content.split(/(?<=\s)(?=\S)/);
    const controller = new AbortController();
    const { clock } = this;
    const delayMs = this.config.stream_chunk_delay_ms;
    async function* events(): AsyncGenerator<StreamEvent, void, undefined> {
      for (const [i, text] of chunks.entries()) {
        if (i > 0 && delayMs > 0) {
          try {
            await clock.sleep(delayMs, controller.signal);
          } catch {
            return; // aborted while waiting
          }
        }
        if (controller.signal.aborted) return;
        yield { type: 'text', text };
      }
      if (controller.signal.aborted) return;
      yield { type: 'finish', reason: 'stop' };
      yield { type: 'usage', usage: answer.usage };
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

  private answer(request: UpstreamRequest): Record<string, unknown> {
    const model = String(request.body.model);
    this.sequence += 1;
    if (request.operation === 'embeddings') {
      const inputs = Array.isArray(request.body.input) ? request.body.input : [request.body.input];
      const data = inputs.map((input, index) => ({ object: 'embedding', index, embedding: pseudoEmbedding(String(input)) }));
      const tokens = inputs.reduce((sum: number, input) => sum + estimateTokens(String(input)), 0);
      return { object: 'list', model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } };
    }
    const prompt = lastUserText(request.body);
    const content = `Simulated reply to: ${prompt.slice(0, 80)}`;
    const promptTokens = estimateTokens(JSON.stringify(request.body.messages ?? ''));
    const completionTokens = estimateTokens(content);
    return {
      id: `chatcmpl-sim-${this.sequence}`,
      object: 'chat.completion',
      created: Math.floor(this.clock.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  }
}

/** A stable 8-dimension unit vector per input, so equal inputs embed equally. */
function pseudoEmbedding(input: string): number[] {
  const digest = createHash('sha256').update(input).digest();
  const raw = Array.from({ length: 8 }, (_, i) => digest.readInt16BE(i * 2) / 32768);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => value / norm);
}
