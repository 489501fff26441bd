/**
 * OpenAI's `encoding_format` for embeddings. The engine always asks its upstreams for floats
 * (every provider, the simulator included, speaks them; a cached answer then serves either
 * format), and the chat door encodes here when the client asked for base64: the vector's
 * float32 values, little-endian, base64-encoded, as OpenAI encodes it and its SDKs decode it.
 */

/** A float vector → OpenAI's base64 (float32, little-endian). */
export function toBase64Embedding(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

/** OpenAI's base64 → the float vector. */
export function fromBase64Embedding(encoded: string): number[] {
  const bytes = Buffer.from(encoded, 'base64');
  return Array.from({ length: Math.floor(bytes.length / 4) }, (_, i) => bytes.readFloatLE(i * 4));
}

/**
 * An embeddings list in the encoding the client asked for (`float` when it named none). An
 * upstream that answered in the other encoding anyway (it ignored `encoding_format`) is
 * converted too, so the client always gets what it asked for.
 */
export function encodeEmbeddings(answer: Record<string, unknown>, encoding: unknown): Record<string, unknown> {
  if (!Array.isArray(answer.data)) return answer;
  const base64 = encoding === 'base64';
  const data = answer.data.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) return item;
    const { embedding } = item as { embedding?: unknown };
    if (base64 && Array.isArray(embedding)) return { ...item, embedding: toBase64Embedding(embedding as number[]) };
    if (!base64 && typeof embedding === 'string') return { ...item, embedding: fromBase64Embedding(embedding) };
    return item;
  });
  return { ...answer, data };
}
