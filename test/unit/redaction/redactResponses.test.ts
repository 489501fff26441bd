import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { text as readText } from 'node:stream/consumers';
import { redactResponses } from '../../../shared/middleware';
import { REDACTED, SecretRedactor } from '../../../shared/redaction';

const SECRET = 'sk-test-canary-UPSTREAM-7f3a9';
const redactor = new SecretRedactor();
redactor.register(SECRET);
const middleware = redactResponses({ redactor });

type Response = { statusCode: number; headers: Record<string, string>; body: string | Readable };
const run = (hook: 'after' | 'onError', response: Response) => {
  const request = { response } as unknown as Parameters<NonNullable<typeof middleware.after>>[0];
  void middleware[hook]!(request);
  return request.response as Response;
};

describe('redactResponses middleware', () => {
  it('cuts the secret out of a buffered answer and its headers, plain and base64', () => {
    const encoded = Buffer.from(`user:${SECRET}`).toString('base64');
    const out = run('after', {
      statusCode: 200,
      headers: { 'x-echo': SECRET, 'content-type': 'application/json' },
      body: JSON.stringify({ content: `${SECRET} / ${encoded}` }),
    });
    assert.equal(out.headers['x-echo'], REDACTED);
    assert.ok(!String(out.body).includes(SECRET) && !String(out.body).includes(encoded.slice(8, 30)), String(out.body));
  });

  it('cuts credential shapes out of error answers only', () => {
    const body = JSON.stringify({ error: { message: 'echoed sk-test-proj-fake123456' } });
    assert.ok(String(run('onError', { statusCode: 400, headers: {}, body }).body).includes(REDACTED));
    assert.equal(run('after', { statusCode: 200, headers: {}, body }).body, body);
  });

  it('guarantee: a streamed answer is scanned across chunk boundaries (a secret split over two chunks)', async () => {
    const sse = `data: {"content":"the key ${SECRET} ok"}\n\n`;
    for (let cut = 1; cut < sse.length; cut++) {
      const out = run('after', { statusCode: 200, headers: {}, body: Readable.from([sse.slice(0, cut), sse.slice(cut)], { objectMode: false }) });
      const sent = await readText(out.body as Readable);
      // A cut within the secret's first 3 characters sends them ("sk-"), never more: see MIN_HELD_CHARS.
      assert.match(sent, /^data: \{"content":"the key (?:s|sk|sk-)?\[redacted\] ok"\}\n\n$/, `cut at ${cut}`);
    }
  });

  it('passes a multi-byte character split over two chunks through intact', async () => {
    const bytes = Buffer.from('data: é ✓\n\n');
    const out = run('after', { statusCode: 200, headers: {}, body: Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]) });
    assert.equal(await readText(out.body as Readable), 'data: é ✓\n\n');
  });

  it('destroys the source when the client goes away mid-stream (the upstream is aborted)', async () => {
    const source = new Readable({ read() {} });
    source.push('data: first\n\n');
    const out = run('after', { statusCode: 200, headers: {}, body: source });
    (out.body as Readable).destroy();
    await new Promise((resolve) => source.once('close', resolve));
    assert.equal(source.destroyed, true);
  });
});

describe('redactResponses middleware: binary bodies', () => {
  it('passes a binary stream and a base64-encoded body through byte for byte', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, ...Buffer.from(SECRET)]);
    const out = run('after', { statusCode: 200, headers: { 'content-type': 'image/png' }, body: Readable.from([bytes]) });
    const chunks: Buffer[] = [];
    for await (const chunk of out.body as Readable) chunks.push(Buffer.from(chunk as Buffer));
    assert.deepEqual(Buffer.concat(chunks), bytes);

    const encoded = bytes.toString('base64');
    const response = { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: encoded, isBase64Encoded: true };
    assert.equal(run('after', response).body, encoded);
  });
});
