import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64Forms, REDACTED, SecretRedactor } from '../../../shared/redaction';

const SECRET = 'sk-test-canary-UPSTREAM-7f3a9';
/** Has bytes whose base64 holds `+` and `/`, so the two alphabets differ. */
const BINARY_ISH = 'sk-test-\u00fb\u00ff\u00fe-key-0123456789';
const GENERATED = 'bw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';

const urlSafe = (text: string) => text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const redactorWith = (...secrets: string[]) => {
  const redactor = new SecretRedactor();
  for (const secret of secrets) redactor.register(secret);
  return redactor;
};

describe('SecretRedactor', () => {
  it('cuts a registered secret out in plain and JSON-escaped form', () => {
    const quoted = 'secret"with\\quotes-0001';
    const redactor = redactorWith(SECRET, quoted);
    assert.equal(redactor.redact(`key ${SECRET}.`), `key ${REDACTED}.`);
    assert.equal(redactor.redact(JSON.stringify({ echoed: quoted })), `{"echoed":"${REDACTED}"}`);
  });

  it('guarantee: cuts a secret out of base64 text, standard and URL-safe, at every byte offset and whatever surrounds it', () => {
    const redactor = redactorWith(SECRET, BINARY_ISH);
    for (const secret of [SECRET, BINARY_ISH]) {
      for (const before of ['', 'a', 'ab', 'Basic user:', '{"api_key":"']) {
        for (const after of ['', 'x', 'xy', '"}']) {
          const encoded = Buffer.from(before + secret + after, 'utf8').toString('base64');
          for (const text of [encoded, urlSafe(encoded)]) {
            const redacted = redactor.redact(text);
            assert.ok(redacted.includes(REDACTED), `${JSON.stringify(before)} + secret + ${JSON.stringify(after)}: ${text}`);
            // What is left cannot be decoded back into the secret, nor into most of it.
            assert.ok(!Buffer.from(redacted.replace(REDACTED, ''), 'base64').toString('latin1').includes(secret.slice(0, 8)));
          }
        }
      }
    }
  });

  it('derives three base64 forms per alphabet, each made of the secret bits only', () => {
    const forms = base64Forms(BINARY_ISH);
    assert.equal(forms.length, 6, 'three offsets in two alphabets');
    assert.ok(forms.some((form) => /[+/]/.test(form)) && forms.some((form) => /[-_]/.test(form)));
    // A form found in the secret's own encoding, and in the encoding of it after one and two bytes.
    for (const offset of [0, 1, 2]) {
      const encoded = Buffer.from('x'.repeat(offset) + BINARY_ISH).toString('base64');
      assert.ok(forms.some((form) => encoded.includes(form)), `offset ${offset}`);
    }
  });

  it('cuts gateway-generated keys by their shape, plain and base64, without registering them', () => {
    const redactor = new SecretRedactor();
    assert.equal(redactor.redact(`use ${GENERATED} now`), `use ${REDACTED} now`);
    const encoded = Buffer.from(`k=${GENERATED};`).toString('base64');
    assert.ok(!Buffer.from(redactor.redact(encoded).replace(REDACTED, ''), 'base64').toString('latin1').includes('AbCdEf'));
  });

  it('keeps ordinary text, and credential shapes, in answers; cuts credential shapes from error messages and logs', () => {
    const redactor = redactorWith(SECRET);
    const answer = 'SELECT pk_user_id FROM t; sk-learn is a library; Bearer tokens expire';
    assert.equal(redactor.redact(answer), answer);
    assert.equal(
      redactor.redactCredentials('Incorrect API key provided: sk-abc*****wxyz. Authorization: Bearer abcdefgh12345678 AKIAFAKEFAKEFAKEFAKE'),
      `Incorrect API key provided: ${REDACTED}. Authorization: ${REDACTED} ${REDACTED}`,
    );
  });

  it('ignores values too short to be credentials', () => {
    const redactor = redactorWith('us-east', '', 'abc');
    assert.equal(redactor.size, 0);
    assert.equal(redactor.redact('us-east-1'), 'us-east-1');
  });

  it('guarantee: keeps at most maxSecrets, forgetting the least recently registered', () => {
    const redactor = new SecretRedactor({ maxSecrets: 2 });
    redactor.register('first-secret-0001');
    redactor.register('second-secret-0002');
    redactor.register('first-secret-0001'); // used again: now the newest
    redactor.register('third-secret-0003');
    assert.equal(redactor.size, 2);
    assert.equal(redactor.redact('first-secret-0001 second-secret-0002 third-secret-0003'), `${REDACTED} second-secret-0002 ${REDACTED}`);
  });

  it('redacts every string and key of a JSON value, leaving the input untouched', () => {
    const redactor = redactorWith(SECRET);
    const body = { choices: [{ message: { content: `the key is ${SECRET}` } }], [SECRET]: 1, n: 2, ok: true, none: null };
    const redacted = redactor.redactDeep(body);
    assert.deepEqual(redacted, { choices: [{ message: { content: `the key is ${REDACTED}` } }], [REDACTED]: 1, n: 2, ok: true, none: null });
    assert.equal(body.choices[0]!.message.content, `the key is ${SECRET}`);
  });
});
