import { GatewayError } from '../errors';

/** OpenAI's own limit: at most 2,048 inputs in one embeddings request. */
export const MAX_EMBEDDING_INPUTS = 2048;
/** OpenAI's embedding models take at most 8,192 tokens per input. */
export const MAX_TOKENS_PER_EMBEDDING_INPUT = 8192;
/** OpenAI's limit on the tokens of one request, summed over its inputs. */
export const MAX_EMBEDDING_TOKENS_PER_REQUEST = 300_000;

function refuse(message: string): never {
  throw new GatewayError('invalid_request', `input: ${message}`, { details: { param: 'input' } });
}

/**
 * The sizes of an embeddings `input`, checked before the depth walk, the schema's union and the
 * cache key, each of which is linear in the number of values (and the union several times
 * over): the largest request OpenAI accepts is refused or passed here with one length check per
 * array, so two million token ids cost a millisecond, not seconds of a blocked event loop.
 * Only counts are checked; the types are the schema's job, now on a bounded input.
 * Strings are not counted in tokens (that needs the model's tokenizer); their size is bounded
 * by the body limit, and the schema checks each in constant time.
 */
export function checkEmbeddingsInputBounds(body: Readonly<Record<string, unknown>>): void {
  const { input } = body;
  if (!Array.isArray(input)) return;
  if (input.length > 0 && !Array.isArray(input[0]) && typeof input[0] !== 'string') {
    // One input given as token ids.
    if (input.length > MAX_TOKENS_PER_EMBEDDING_INPUT) {
      refuse(`${input.length} tokens in one input; the limit is ${MAX_TOKENS_PER_EMBEDDING_INPUT}`);
    }
    return;
  }
  if (input.length > MAX_EMBEDDING_INPUTS) refuse(`${input.length} inputs; the limit is ${MAX_EMBEDDING_INPUTS} per request`);
  let tokens = 0;
  for (const item of input) {
    if (!Array.isArray(item)) continue;
    if (item.length > MAX_TOKENS_PER_EMBEDDING_INPUT) {
      refuse(`${item.length} tokens in one input; the limit is ${MAX_TOKENS_PER_EMBEDDING_INPUT}`);
    }
    tokens += item.length;
  }
  if (tokens > MAX_EMBEDDING_TOKENS_PER_REQUEST) {
    refuse(`${tokens} tokens in all; the limit is ${MAX_EMBEDDING_TOKENS_PER_REQUEST} per request`);
  }
}
