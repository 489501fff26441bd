import { KEY_PREFIX } from '../keys/virtualKey';
import { base64Forms } from './base64Forms';

/** What a redacted credential is replaced with. */
export const REDACTED = '[redacted]';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Characters of either base64 alphabet, padding aside. */
const BASE64_CHAR = '[A-Za-z0-9+/_-]';

/**
 * A gateway-generated virtual key (`bw_live_` + 43 base62 characters), in plain text or inside
 * base64, found by its shape: store keys are only known once presented, so they cannot be
 * registered in advance. Precise enough to run over model answers: nothing else starts with
 * `bw_live_` followed by eight letters or digits. A base64 form takes the rest of its base64
 * run with it, up to the 58 characters 43 more bytes make.
 */
export const GENERATED_KEY_SHAPES: readonly string[] = [
  `\\b${escapeRegExp(KEY_PREFIX)}[A-Za-z0-9]{8,}`,
  `(?:${base64Forms(KEY_PREFIX).map(escapeRegExp).join('|')})${BASE64_CHAR}{0,60}`,
];

/**
 * Anything shaped like a credential, for error messages and log lines only: providers echo
 * part of the key they were given ("Incorrect API key provided: sk-test-****abcd"). Too broad
 * for model answers, where `pk_user_id` is a column name, not a Stripe key.
 */
export const BROAD_CREDENTIAL_SHAPES: readonly string[] = [
  '\\b(?:sk|pk|rk)[-_][A-Za-z0-9*_\\-]{6,}', // OpenAI/Anthropic/Stripe-style keys, also masked (`sk-abc***wxyz`)
  // Our virtual keys: 23 characters or more, so a display prefix (12 at most) stays in audit lines.
  '\\bbw_[A-Za-z0-9_\\-]{20,}',
  '\\b[Bb][Ee][Aa][Rr][Ee][Rr]\\s+[A-Za-z0-9._~+/=\\-]{8,}',
  '\\bAKIA[0-9A-Z]{16}\\b', // AWS access key ids
];

/**
 * A generated key (or its base64 form) that reaches the end of the text may go on in the next
 * piece of a stream: redacting its first half would let the second half out. Matches such a
 * trailing run; a run longer than any key is not held (it cannot be one of ours).
 */
export const TRAILING_GENERATED_KEY = new RegExp(
  `(?:${escapeRegExp(KEY_PREFIX)}[A-Za-z0-9]{0,60}|(?:${base64Forms(KEY_PREFIX).map(escapeRegExp).join('|')})${BASE64_CHAR}{0,60})$`,
);

export { escapeRegExp };
