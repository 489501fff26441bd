import { defaultSecretRedactor } from '../redaction/SecretRedactor';

/**
 * Upstream error messages are passed to clients and logs, and some providers echo part of the
 * key they were given ("Incorrect API key provided: sk-test-****abcd"). The credentials in use
 * (in plain and base64 forms) and anything shaped like a credential are cut out before the
 * message goes anywhere: see shared/redaction/SecretRedactor.ts.
 */
export function redactCredentials(text: string): string {
  return defaultSecretRedactor.redactCredentials(text);
}

/** Upstream messages are capped: they are for humans, and an HTML error page is no message. */
export function upstreamMessage(text: string, max = 500): string {
  const redacted = redactCredentials(text.trim());
  return redacted.length > max ? `${redacted.slice(0, max)}…` : redacted;
}
