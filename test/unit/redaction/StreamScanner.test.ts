import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64Forms, MIN_HELD_CHARS, REDACTED, SecretRedactor } from '../../../shared/redaction';

const SECRET = 'sk-test-canary-UPSTREAM-7f3a9';
const redactor = new SecretRedactor();
redactor.register(SECRET);

/** Everything a scanner sends for these pieces, piece by piece, then its end. */
function scan(pieces: string[]): string[] {
  const scanner = redactor.scanner();
  return [...pieces.map((piece) => scanner.push(piece)), scanner.end()];
}

describe('StreamScanner', () => {
  it('holds back an end of 4 or more characters that may begin a secret, and nothing else', () => {
    assert.deepEqual(scan(['hello sk-test-can', 'ary-UPSTREAM-7f3a9!']), ['hello ', `${REDACTED}!`, '']);
    assert.deepEqual(scan(['data: {"a":1}\n\n', 'data: [DONE]\n\n']), ['data: {"a":1}\n\n', 'data: [DONE]\n\n', '']);
    assert.deepEqual(scan(['hello', ' world']), ['hello', ' world', '']);
    assert.equal(MIN_HELD_CHARS, 4);
  });

  it('sends a shorter possible beginning at once, and cuts the rest of the secret from the next piece', () => {
    // "sk" could begin the secret; it goes out, and the rest never does.
    assert.deepEqual(scan(['the sk', '-test-canary-UPSTREAM-7f3a9 end']), ['the sk', `${REDACTED} end`, '']);
    // Not the secret after all: nothing is cut.
    assert.deepEqual(scan(['the sk', 'y is blue']), ['the sk', 'y is blue', '']);
  });

  it('holds back a generated key that reaches the end of a piece: its rest may follow', () => {
    assert.deepEqual(scan(['key: bw_live_AbCdEfGhIjKl', 'MnOpQrStUvWxYz0123456789abcdefg.']), ['key: ', `${REDACTED}.`, '']);
    assert.deepEqual(scan(['key: bw_li', 've_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg.']), ['key: ', `${REDACTED}.`, '']);
  });

  it('sends what still waits, redacted, when the stream ends', () => {
    assert.deepEqual(scan(['cut off at sk-test-can']), ['cut off at ', 'sk-test-can']);
  });

  it('guarantee: a secret split anywhere over two or three pieces never goes out, in plain or base64, and the text around it is intact', () => {
    const encoded = Buffer.from(`u:${SECRET}`).toString('base64');
    const text = `before ${SECRET} after, and base64 ${encoded} too`;
    const expected = redactor.redact(text);
    for (let cut = 0; cut <= text.length; cut++) {
      for (const second of [cut, Math.min(text.length, cut + 7)]) {
        const sent = scan([text.slice(0, cut), text.slice(cut, second), text.slice(second)]).join('');
        // At most the first 3 characters of a secret go out before the cut ("sk-"): see MIN_HELD_CHARS.
        const leakedStarts = [SECRET, ...base64Forms(SECRET)].flatMap((form) => [3, 2, 1].map((n) => form.slice(0, n) + REDACTED));
        const normalised = leakedStarts.reduce((value, start) => value.split(start).join(REDACTED), sent);
        assert.equal(normalised, expected, `cuts at ${cut}, ${second}: ${sent}`);
        assert.ok(!sent.includes(SECRET.slice(3)) && !base64Forms(SECRET).some((form) => sent.includes(form.slice(3))), sent);
      }
    }
  });
});
