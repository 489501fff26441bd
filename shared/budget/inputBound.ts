import { ANTHROPIC_NATIVE_FIELD } from '../providers/anthropicNative';
import { MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS } from './estimate';
import { IMAGE_PART_TYPES, maxImageTokens } from './imageTokens';
import { isRecord } from './usage';

/**
 * The most input tokens a request can be billed for: an upper bound, not an estimate, so that a
 * reservation holds whatever the prompt is made of.
 *
 * - Text: every tokenizer in use (byte-level BPE, SentencePiece with byte fallback) emits at
 *   least one UTF-8 byte per token, so a request's JSON bytes bound the tokens of every string
 *   in it: messages, system, tool schemas, tool calls and results, and the keys around them.
 * - Images are counted at their family's maximum ({@link maxImageTokens}), never by their
 *   bytes: a URL is a few bytes, and a base64 image is far more bytes than it costs.
 * - What providers add that is not in the JSON: role markers per message, reply priming, and
 *   the tool-use system prompt (Anthropic documents at most 530 tokens; OpenAI's tool preamble
 *   and the gateway's own JSON-mode tool description are far less).
 */

/** Tool-use scaffolding the provider writes around tool schemas; 530 is Anthropic's largest, rounded well up. */
export const TOOL_USE_OVERHEAD_TOKENS = 1_000;
const TOOL_FIELDS = ['tools', 'functions', 'response_format', 'tool_choice'] as const;

/** What a body holds, measured once and priced per model. */
export interface InputMeasure {
  /** UTF-8 bytes of the body as JSON, image parts left out. */
  bytes: number;
  images: number;
  messages: number;
  tools: boolean;
}

function measureOne(body: Readonly<Record<string, unknown>>): InputMeasure {
  let images = 0;
  const json = JSON.stringify(body, (_key, value: unknown) => {
    if (isRecord(value) && typeof value.type === 'string' && IMAGE_PART_TYPES.has(value.type)) {
      images += 1;
      return undefined;
    }
    return value;
  });
  return {
    bytes: Buffer.byteLength(json ?? '', 'utf8'),
    images,
    messages: Array.isArray(body.messages) ? body.messages.length : 0,
    tools: TOOL_FIELDS.some((field) => body[field] !== undefined && body[field] !== null),
  };
}

/**
 * Measures a chat, Messages-door or embeddings body. A Messages-door body carries the client's
 * native Messages body beside its chat translation, and a target is sent one or the other:
 * both are measured, and {@link inputTokenBound} takes the dearer.
 */
export function measureInput(body: Readonly<Record<string, unknown>>): InputMeasure[] {
  const native = body[ANTHROPIC_NATIVE_FIELD];
  if (native === undefined) return [measureOne(body)];
  const { [ANTHROPIC_NATIVE_FIELD]: _native, ...chat } = body;
  const measures = [measureOne(chat)];
  if (isRecord(native) && isRecord(native.body)) measures.push(measureOne(native.body));
  return measures;
}

/** The bound for one model, from {@link measureInput}'s measures; `extraBytes` for what a target adds (its override_params). */
export function inputTokenBound(measures: readonly InputMeasure[], model: string, extraBytes = 0): number {
  const perImage = maxImageTokens(model);
  const bounds = measures.map(
    (measure) =>
      REQUEST_OVERHEAD_TOKENS +
      measure.messages * MESSAGE_OVERHEAD_TOKENS +
      (measure.tools ? TOOL_USE_OVERHEAD_TOKENS : 0) +
      measure.images * perImage +
      measure.bytes +
      extraBytes,
  );
  return Math.max(...bounds);
}
