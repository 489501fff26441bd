import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { localRedriveCommand } from '../../../bin/cli/dlqCommand';
import { runCli } from '../../../bin/cli/runCli';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';

const CLI = fileURLToPath(new URL('../../../bin/breakwater.js', import.meta.url));
const run = promisify(execFile);

/** `VAR=value ... npx breakwater <args>` → the env and the CLI arguments, as a shell would run it. */
function parseCommand(command: string): { env: Record<string, string>; args: string[] } {
  const words = command.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  assert.deepEqual(words.slice(0, 2), ['npx', 'breakwater']);
  return { env, args: words.slice(2) };
}

const visible = async (queues: LocalSqs, url: string) => {
  const { Attributes } = await queues.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages);
};

describe('npx breakwater dlq redrive (against npm start’s fauxqs)', () => {
  let queues: LocalSqs;
  before(async () => {
    queues = await startLocalSqs({ env: {} });
  });
  after(() => queues.close());

  it('the command npm start prints moves the dead letters back, in a fresh shell with nothing else set', async () => {
    for (const id of ['a', 'b', 'c']) {
      await queues.sqs.send(new SendMessageCommand({ QueueUrl: queues.queues.dlq.url, MessageBody: JSON.stringify({ tenant: 't', taskId: `task_${id.repeat(32)}` }) }));
    }
    const printed = localRedriveCommand({ endpoint: queues.endpoint, dlqUrl: queues.queues.dlq.url, targetUrl: queues.queues.normal.url });
    const { env, args } = parseCommand(printed);

    const { stdout } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8' });

    assert.equal(stdout, `${queues.queues.dlq.url}: 3 message(s) moved back\n`);
    assert.equal(await visible(queues, queues.queues.dlq.url), 0);
    assert.equal(await visible(queues, queues.queues.normal.url), 3);
  });

  it('without --to on an endpoint lacking the move task: a usage error that says to pass --to, never blamed on a key store', async () => {
    const err: string[] = [];
    const code = await runCli(['dlq', 'redrive', '--dlq', queues.queues.dlq.url], {
      env: { AWS_ENDPOINT_URL_SQS: queues.endpoint },
      io: { out: () => {}, err: (line) => err.push(line) },
    });
    assert.equal(code, 2);
    assert.match(err.join('\n'), /^error: the SQS endpoint http:\/\/127\.0\.0\.1:\d+ has no message move task .*pass --to <queue url>/);
    assert.doesNotMatch(err.join('\n'), /key store/);
  });

  it('an unreachable SQS endpoint is named as such', async () => {
    const err: string[] = [];
    const code = await runCli(['dlq', 'redrive', '--dlq', 'http://sqs.us-east-1.localhost:1/000000000000/q', '--to', 'http://sqs.us-east-1.localhost:1/000000000000/r'], {
      env: { AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:1' },
      io: { out: () => {}, err: (line) => err.push(line) },
    });
    assert.equal(code, 1);
    assert.match(err.join('\n'), /^error: cannot reach the SQS endpoint http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\); .* AWS_ENDPOINT_URL_SQS/);
    assert.doesNotMatch(err.join('\n'), /key store/);
  });
});
