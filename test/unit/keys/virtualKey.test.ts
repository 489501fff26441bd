import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BASE62_ALPHABET,
  displayPrefix,
  generateVirtualKey,
  hashesEqual,
  hashKey,
  HIDDEN_KEY_CHARS,
  KEY_STATES,
  keyPolicySchema,
  keyRefFromInput,
  keyState,
  MIN_KEY_LENGTH,
  randomBase62,
  type RandomBytes,
  virtualKeyProblem,
} from '../../../shared/keys';

/** Hands out the given bytes in order, in whatever chunk sizes are asked for. */
function scriptedBytes(bytes: number[]): RandomBytes & { asked: number[] } {
  let index = 0;
  const asked: number[] = [];
  const source = (size: number) => {
    asked.push(size);
    const chunk = bytes.slice(index, index + size);
    index += size;
    if (chunk.length < size) throw new Error('ran out of scripted bytes');
    return Uint8Array.from(chunk);
  };
  return Object.assign(source, { asked });
}

describe('virtual keys', () => {
  it('are bw_live_ plus 43 base62 characters (256 bits)', () => {
    const key = generateVirtualKey();
    assert.match(key, /^bw_live_[0-9A-Za-z]{43}$/);
    assert.equal(key.length, 51);
    assert.notEqual(generateVirtualKey(), key);
  });

  it('drop bytes 248..255 so every base62 character is equally likely', () => {
    const bytes = scriptedBytes([248, 0, 255, 61, 62, 252, 247, 123, 9]);
    // 0 → '0', 61 → 'z', 62 → '0' (62 % 62), 247 → 'z' (247 % 62 = 61); 248, 255 and 252 are skipped.
    assert.equal(randomBase62(4, bytes), '0z0z');
    assert.deepEqual(bytes.asked, [7]);
  });

  it('map each of the 248 accepted byte values to each character exactly 4 times', () => {
    const all = Array.from({ length: 256 }, (_, byte) => byte);
    const text = randomBase62(248, scriptedBytes([...all, ...all]));
    const counts = new Map<string, number>();
    for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
    assert.equal(counts.size, 62);
    assert.deepEqual(new Set(counts.values()), new Set([4]));
    assert.deepEqual([...counts.keys()].sort().join(''), [...BASE62_ALPHABET].sort().join(''));
  });

  it('are hashed with SHA-256', () => {
    assert.equal(hashKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('guarantee: are shown by a prefix of at most 12 characters that leaves at least 24 unseen (>= 128 bits of random base62)', () => {
    const generated = generateVirtualKey();
    assert.equal(displayPrefix(generated), generated.slice(0, 12));
    const cases: Array<[string, string]> = [
      ['bw_test_0123456789abcdefghijklmn', 'bw_test_'], // 32 characters: 8 shown, 24 hidden
      ['bw_test_demo_key_0001_local_only_x', 'bw_test_de'], // 34: 10 shown
      ['bw_test_0123456789abcdefghijklmnopqrstuv', 'bw_test_0123'], // 40: the 12-character cap
      ['short', ''], // never shows anything of a key too short to be one
    ];
    for (const [key, prefix] of cases) {
      assert.equal(displayPrefix(key), prefix, key);
      if (key.length >= MIN_KEY_LENGTH) assert.ok(key.length - displayPrefix(key).length >= HIDDEN_KEY_CHARS);
    }
    // 24 hidden base62 characters carry more than 128 bits.
    assert.ok(HIDDEN_KEY_CHARS * Math.log2(62) >= 128);
  });

  it('are at least 32 characters, without surrounding whitespace', () => {
    assert.equal(virtualKeyProblem('bw_test_0123456789abcdefghijklmn'), undefined);
    assert.equal(virtualKeyProblem('bw_test_0123456789abcdefghijklm'), 'virtual keys are at least 32 characters');
    assert.match(virtualKeyProblem(' bw_test_0123456789abcdefghijklmn') ?? '', /whitespace/);
    assert.equal(MIN_KEY_LENGTH, 32);
  });

  it('compare hashes in constant time, refusing different lengths and empty input', () => {
    const hash = hashKey('bw_live_x');
    assert.equal(hashesEqual(hash, hashKey('bw_live_x')), true);
    assert.equal(hashesEqual(hash, hashKey('bw_live_y')), false);
    assert.equal(hashesEqual(hash, hash.slice(0, 62)), false);
    assert.equal(hashesEqual('', ''), false);
  });

  it('read an operator argument shorter than any key as a prefix, anything else as the key', () => {
    const key = 'bw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';
    assert.deepEqual(keyRefFromInput('bw_live_AbCd'), { prefix: 'bw_live_AbCd' });
    assert.deepEqual(keyRefFromInput('bw_test_'), { prefix: 'bw_test_' });
    assert.deepEqual(keyRefFromInput(` ${key} `), { hash: hashKey(key) });
  });
});

describe('keyState', () => {
  const now = 1_700_000_000_000;
  it('is active without expiry or revocation, expired from the expiry instant on, revoked above all', () => {
    assert.equal(keyState({}, now), KEY_STATES.ACTIVE);
    assert.equal(keyState({ expiresAt: now + 1 }, now), KEY_STATES.ACTIVE);
    assert.equal(keyState({ expiresAt: now }, now), KEY_STATES.EXPIRED);
    assert.equal(keyState({ expiresAt: now + 60_000, revokedAt: now - 1 }, now), KEY_STATES.REVOKED);
  });
});

describe('keyPolicySchema', () => {
  it('accepts every field of a tenant policy', () => {
    const policy = {
      allowed_routes: ['default'],
      allowed_models: ['gpt-4o-mini'],
      allowed_providers: ['openai'],
      allowed_services: ['github'],
      allowed_methods: ['GET'],
      rpm_limit: 60,
      tpm_limit: 100_000,
      input_screening: 'block',
      daily_budget_usd: 5,
      monthly_budget_usd: 100,
      max_request_cost_usd: 0.5,
      user_hourly_token_limit: 20_000,
      budget_fail_open: false,
      credential_overrides: { openai: 'acme/openai' },
    } as const;
    assert.deepEqual(keyPolicySchema.parse(policy), policy);
    assert.deepEqual(keyPolicySchema.parse({}), {});
  });

  it('refuses unknown fields, bad limits, unknown modes and a secret value where a secret name goes', () => {
    const fails = (policy: unknown) => keyPolicySchema.safeParse(policy).success === false;
    assert.equal(fails({ rpm: 5 }), true);
    assert.equal(fails({ rpm_limit: 0 }), true);
    assert.equal(fails({ tpm_limit: 1.5 }), true);
    assert.equal(fails({ input_screening: 'warn' }), true);
    assert.equal(fails({ daily_budget_usd: -1 }), true);
    assert.equal(fails({ credential_overrides: { openai: 'Bearer sk live key' } }), true);
  });
});
