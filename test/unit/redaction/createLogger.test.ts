import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSecretRedactor, REDACTED } from '../../../shared/redaction';
import { capturingLogger } from '../../support/capturingLogger';

const SECRET = 'sk-test-logged-secret-4242';

describe('createLogger: every log line redacted', () => {
  it('guarantee: a registered secret, plain or base64, and credential shapes never reach a log line', () => {
    defaultSecretRedactor.register(SECRET);
    const { logger, lines, records } = capturingLogger();
    const encoded = Buffer.from(`x:${SECRET}`).toString('base64url');

    logger.info(`message with ${SECRET}`, { nested: { list: [SECRET, encoded] }, header: 'Bearer abcdefgh12345678' });
    logger.warn('base64 alone', { value: encoded });
    logger.error('failed', new Error(`upstream said ${SECRET}`));

    assert.equal(lines.length, 3);
    const text = lines.join('\n');
    assert.ok(!text.includes(SECRET) && !text.includes(encoded.slice(4, 30)), text);
    assert.ok(!text.includes('abcdefgh12345678'));
    assert.equal(records()[0]!.message, `message with ${REDACTED}`);
    assert.match(String((records()[2]!.error as { message: string }).message), /upstream said \[redacted\]/);
  });

  it('keeps display prefixes in audit lines, and cuts whole virtual keys', () => {
    const { logger, records } = capturingLogger();
    logger.info('audit', { key_prefix: 'bw_live_AbCd', other: 'bw_test_de' });
    logger.info('oops', { key: 'bw_test_demo_key_0001_local_only_x', generated: 'bw_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg' });
    assert.deepEqual([records()[0]!.key_prefix, records()[0]!.other], ['bw_live_AbCd', 'bw_test_de']);
    assert.deepEqual([records()[1]!.key, records()[1]!.generated], [REDACTED, REDACTED]);
  });
});
