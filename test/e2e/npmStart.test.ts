/**
 * `npm start` as a newcomer runs it: a child process (npm, tsx, node) in its own process group,
 * on a free port, asked one chat completion with the demo key of the shipped config, then
 * stopped with SIGTERM to the whole group. The demo key is read from breakwater.config.json
 * here, so renaming it there does not break the test.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../../lib/paths';
import { freePort } from '../support/freePort';

/** Cold `tsx` on a shared, busy machine: a generous bound on start-up, not a speed target. */
const READY_WITHIN_MS = 90_000;
const EXIT_WITHIN_MS = 15_000;

/** The first key of the first tenant that has one, as `npm start` prints it. */
function demoKey(): string {
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'breakwater.config.json'), 'utf8')) as {
    tenants: Record<string, { keys?: string[] }>;
  };
  const key = Object.values(config.tenants).find((tenant) => (tenant.keys ?? []).length > 0)?.keys?.[0];
  assert.ok(key, 'the shipped config has a demo key');
  return key;
}

/** Whether any process of the group is still alive (signal 0 checks without sending). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function groupGone(pgid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (groupAlive(pgid)) {
    if (Date.now() > until) return false;
    await sleep(50);
  }
  return true;
}

describe('npm start', () => {
  let child: ChildProcess;
  let output = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let url: string;

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
    // The shipped set-up: in-process emulators and the shipped config, whatever this shell has.
    for (const name of ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'BREAKWATER_CONFIG']) {
      delete env[name];
    }
    // detached: its own process group, so npm, tsx and node all stop together.
    child = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

    // Ready once it prints its banner: the server listens a little earlier, before the worker's poller.
    const until = Date.now() + READY_WITHIN_MS;
    while (!output.includes(`listening on ${url}`)) {
      assert.equal(child.exitCode, null, `npm start exited early:\n${output}`);
      assert.ok(Date.now() < until, `npm start was not ready within ${READY_WITHIN_MS} ms:\n${output}`);
      await sleep(100);
    }
  });

  after(async () => {
    // Whatever happened above, leave nothing running.
    if (child?.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  });

  it('answers a chat completion with the demo key, then stops cleanly on SIGTERM with no process left', async () => {
    const key = demoKey();
    assert.ok(output.includes(`demo key: ${key}`), `it prints the demo key:\n${output}`);
    assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });

    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'hello' }] }),
    });
    const body = (await response.json()) as { object?: string; choices?: Array<{ message: { content: string } }> };
    // The demo route falls back to a steady simulated target, so it answers even when the flaky one fails.
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.object, 'chat.completion');
    assert.ok(body.choices?.[0]?.message.content, 'a non-empty answer');
    assert.ok(response.headers.get('x-breakwater-target'));

    const pgid = child.pid!;
    process.kill(-pgid, 'SIGTERM');
    assert.ok(await groupGone(pgid, EXIT_WITHIN_MS), `processes of npm start still running ${EXIT_WITHIN_MS} ms after SIGTERM`);
    const { code, signal } = await exited;
    assert.ok(code === 0 || signal === 'SIGTERM', `npm exited with ${code ?? signal}:\n${output}`);
    assert.match(output, /SIGTERM: stopping/, 'the gateway ran its own shutdown');
    await assert.rejects(fetch(`${url}/health`), 'the port is closed');
  });
});
