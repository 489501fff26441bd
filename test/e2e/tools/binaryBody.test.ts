import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { startToolGateway, type ToolGateway } from '../../support/toolServers/startToolGateway';
import { toolSecretSource } from '../../support/toolServers/toolSecrets';

/** Every byte value, twice, with sequences that are not valid UTF-8 (0x80 alone, 0xff...). */
const ALL_BYTES = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i))]);

// The local server encodes the stack's binary media types as API Gateway does (base64,
// isBase64Encoded), so this is the deployed path: API Gateway → event → tool proxy → upstream.
describe('e2e: binary request bodies through the tool proxy', () => {
  let api: MockToolServer;
  let stack: ToolGateway;

  before(async () => {
    // Answers with the bytes it received, as the same content type.
    api = await startMockToolServer((request, res) => {
      res.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/octet-stream', 'content-length': request.body.length });
      res.end(request.body);
    });
    stack = await startToolGateway({ secrets: toolSecretSource(), services: { files: { base_url: api.url, retry: { attempts: 0 } } } });
  });
  beforeEach(() => api.reset());
  after(async () => {
    await stack?.close();
    await api?.close();
  });

  for (const contentType of ['application/octet-stream', 'image/png', 'audio/mpeg', 'application/pdf', 'application/zip', 'multipart/form-data; boundary=xyz']) {
    it(`relays a ${contentType} body byte for byte, both ways`, async () => {
      const response = await stack.call('files/upload', { method: 'POST', headers: { 'content-type': contentType }, body: ALL_BYTES });

      assert.equal(response.status, 200);
      assert.equal(api.requests.length, 1);
      assert.ok(api.requests[0]!.body.equals(ALL_BYTES), `upstream got ${api.requests[0]!.body.length} bytes: ${api.requests[0]!.body.subarray(0, 16).toString('hex')}...`);
      assert.equal(api.requests[0]!.headers['content-length'], String(ALL_BYTES.length));
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(ALL_BYTES), 'the answer reaches the client intact too');
    });
  }

  it('still relays a JSON body as the text it is', async () => {
    const json = JSON.stringify({ name: 'ünïcødé ✓', n: 1 });
    const response = await stack.call('files/meta', { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
    assert.equal(response.status, 200);
    assert.equal(api.requests[0]!.body.toString('utf8'), json);
  });
});
