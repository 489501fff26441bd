/**
 * Upstream error messages are passed to clients and logs, and some providers echo part of the
 * key they were given ("Incorrect API key provided: sk-test-****abcd"). Anything shaped like a
 * credential is cut out before the message goes anywhere.
 */
const CREDENTIAL_SHAPES = [
  /\b(?:sk|pk|rk|bw)[-_][A-Za-z0-9*_\-]{6,}/g, // OpenAI/Anthropic/Stripe-style and our virtual keys
  /\bBearer\s+[A-Za-z0-9._~+/=\-]{8,}/gi,
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key ids
];

export function redactCredentials(text: string): string {
  let out = text;
  for (const shape of CREDENTIAL_SHAPES) out = out.replace(shape, '[redacted]');
  return out;
}

/** Upstream messages are capped: they are for humans, and an HTML error page is no message. */
export function upstreamMessage(text: string, max = 500): string {
  const redacted = redactCredentials(text.trim());
  return redacted.length > max ? `${redacted.slice(0, max)}…` : redacted;
}
