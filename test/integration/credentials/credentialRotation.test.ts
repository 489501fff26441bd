import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../../bin/local/localSecretsManager';
import { SecretsManagerSource } from '../../../shared/credentials';
import type { AuthFailureEvent } from '../../../shared/providers';
import { AnthropicProvider } from '../../../shared/providers/anthropic';
import { OpenAiProvider } from '../../../shared/providers/openai';

const OLD_KEY = 'sk-test-old-0001';
const ROTATED_KEY = 'sk-test-rotated-0002';

interface KeyCheckingUpstream {
  baseUrl: string;
  /** The key each request carried (`Authorization: Bearer` or `x-api-key`). */
  keys: Array<string | undefined>;
  close(): Promise<void>;
}

/** A loopback upstream that accepts one key only, like a provider after the old key was revoked. */
async function startKeyCheckingUpstream(acceptedKey: string): Promise<KeyCheckingUpstream> {
  const keys: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const anthropic = req.url?.endsWith('/messages') === true;
      const key = anthropic
        ? (req.headers['x-api-key'] as string | undefined)
        : req.headers.authorization?.replace(/^Bearer /, '');
      keys.push(key);
      res.setHeader('content-type', 'application/json');
      if (key !== acceptedKey) {
        res.writeHead(401);
        res.end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } }));
        return;
      }
      res.writeHead(200);
      res.end(
        JSON.stringify(
          anthropic
            ? {
                id: 'msg_01',
                type: 'message',
                role: 'assistant',
                model: 'claude-test',
                content: [{ type: 'text', text: 'hello' }],
                stop_reason: 'end_turn',
                usage: { input_tokens: 3, output_tokens: 1 },
              }
            : {
                id: 'chatcmpl-1',
                object: 'chat.completion',
                created: 1_700_000_000,
                model: 'gpt-test',
                choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
              },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    keys,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const chat = { operation: 'chat' as const, body: { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }, timeoutMs: 5_000 };

describe('rotation without downtime: a 401 refreshes the secret and retries once', () => {
  let dir: string;
  let secretsFile: string;
  let local: LocalSecretsManager;
  let upstream: KeyCheckingUpstream;
  let client: SecretsManagerClient;
  let source: SecretsManagerSource;
  let events: AuthFailureEvent[];

  const writeSecrets = (secrets: unknown) => writeFile(secretsFile, JSON.stringify(secrets));
  const openAi = () =>
    new OpenAiProvider({ type: 'openai', base_url: upstream.baseUrl, credential: 'openai' }, source, {
      onAuthFailure: (event) => events.push(event),
    });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'breakwater-rotation-'));
    secretsFile = path.join(dir, 'secrets.json');
    local = await startLocalSecretsManager({ env: {}, secretsFile });
    upstream = await startKeyCheckingUpstream(ROTATED_KEY);
  });
  after(async () => {
    await upstream.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    upstream.keys.length = 0;
    events = [];
    client = new SecretsManagerClient({
      endpoint: local.endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    source = new SecretsManagerSource({ client });
    // The old key is read and cached, as in a warm container before the rotation.
    await writeSecrets({ openai: { api_key: OLD_KEY }, anthropic: OLD_KEY });
    await source.prefetch(['openai', 'anthropic']);
  });
  afterEach(() => client.destroy());

  it('picks up a rotated key: 401, then success, with exactly 2 upstream requests', async () => {
    await writeSecrets({ openai: { api_key: ROTATED_KEY }, anthropic: ROTATED_KEY });

    const outcome = await openAi().call(chat);

    assert.equal(outcome.kind, 'success');
    assert.deepEqual(upstream.keys, [OLD_KEY, ROTATED_KEY]);
    assert.deepEqual(events, [{ credential: 'openai', status: 401, recovered: true }]);
  });

  it('keeps the refreshed key: the next call sends it first time', async () => {
    await writeSecrets({ openai: { api_key: ROTATED_KEY } });
    await openAi().call(chat);

    const outcome = await openAi().call(chat);

    assert.equal(outcome.kind, 'success');
    assert.deepEqual(upstream.keys, [OLD_KEY, ROTATED_KEY, ROTATED_KEY]);
  });

  it('a key that was not rotated is an http_error 401 after exactly 2 upstream requests', async () => {
    const outcome = await openAi().call(chat);

    assert.deepEqual(outcome, {
      kind: 'http_error',
      status: 401,
      headers: outcome.kind === 'http_error' ? outcome.headers : {},
      message: 'Incorrect API key provided',
      // Both calls count in x-breakwater-attempts.
      upstreamCalls: 2,
    });
    assert.deepEqual(upstream.keys, [OLD_KEY, OLD_KEY]);
    assert.deepEqual(events, [{ credential: 'openai', status: 401, recovered: false }]);
  });

  it('does the same for anthropic (x-api-key)', async () => {
    await writeSecrets({ openai: { api_key: OLD_KEY }, anthropic: ROTATED_KEY });
    const anthropic = new AnthropicProvider(
      {
        type: 'anthropic',
        base_url: upstream.baseUrl,
        credential: 'anthropic',
        anthropic_version: '2023-06-01',
        default_max_tokens: 256,
      },
      source,
      () => 1_750_000_000,
      { onAuthFailure: (event) => events.push(event) },
    );

    const outcome = await anthropic.call(chat);

    assert.equal(outcome.kind, 'success');
    assert.deepEqual(upstream.keys, [OLD_KEY, ROTATED_KEY]);
    assert.deepEqual(events, [{ credential: 'anthropic', status: 401, recovered: true }]);
  });

  it("bring-your-own-key: the request's credential is used instead of the provider's", async () => {
    await writeSecrets({ openai: { api_key: OLD_KEY }, 'tenant-acme': ROTATED_KEY });

    const outcome = await openAi().call({ ...chat, credential: 'tenant-acme' });

    assert.equal(outcome.kind, 'success');
    assert.deepEqual(upstream.keys, [ROTATED_KEY]);
    assert.deepEqual(events, []);
  });

  it("bring-your-own-key: a tenant secret that does not exist makes the target unavailable", async () => {
    const outcome = await openAi().call({ ...chat, credential: 'tenant-missing' });

    assert.deepEqual(outcome, { kind: 'unavailable', reason: 'credential "tenant-missing" is not set' });
    assert.deepEqual(upstream.keys, []);
  });
});
