import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMockToolServer, type MockToolServer } from '../../support/toolServers/mockToolServer';
import { startToolGateway, type ToolGateway } from '../../support/toolServers/startToolGateway';
import { toolSecretSource } from '../../support/toolServers/toolSecrets';

/** Reads a response body to its end, or to the error that cut it; how long that took. */
async function readToEnd(response: Response): Promise<{ text: string; error?: unknown; ms: number }> {
  const started = Date.now();
  const reader = response.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, ms: Date.now() - started };
      text += Buffer.from(value).toString('utf8');
    }
  } catch (error) {
    return { text, error, ms: Date.now() - started };
  }
}

describe('e2e: a tool service that sends its head and then goes silent', () => {
  let api: MockToolServer;
  let stack: ToolGateway;

  before(async () => {
    api = await startMockToolServer((_request, res) => {
      // The head and a first chunk, then nothing: the connection stays open.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part;');
    });
    stack = await startToolGateway({
      secrets: toolSecretSource(),
      services: { silent: { base_url: api.url, timeout: 300, retry: { attempts: 0 } } },
    });
  });
  after(async () => {
    await stack?.close();
    await api?.close();
  });

  it('cuts the relayed body once the service is silent for its timeout: the client is not held', { timeout: 20_000 }, async () => {
    const response = await stack.call('silent/report');
    assert.equal(response.status, 200);
    const { text, error, ms } = await readToEnd(response);
    assert.equal(text, 'first part;', 'what the service sent reaches the client');
    assert.ok(error, 'the body ends with an error, not as if it were complete');
    // 300 ms of silence, not the minutes a hung connection would hold it; generous for a busy machine.
    assert.ok(ms < 5_000, `cut after ${ms} ms`);
  });
});
