import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';

/** Resolves to the error code of a TCP connection attempt, or 'connected'. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

/** This machine's own addresses other than loopback (link-local IPv6 needs a zone, so skipped). */
const externalAddresses = Object.entries(networkInterfaces()).flatMap(([name, infos]) =>
  (infos ?? [])
    .filter((info) => !info.internal && !info.address.startsWith('fe80:'))
    .map((info) => ({ name, address: info.address })),
);

describe('npm start: the SQS emulator listens on loopback only', () => {
  let queues: LocalSqs;
  before(async () => {
    queues = await startLocalSqs({ env: { AWS_REGION: 'us-east-1' }, prefix: `loopback-${Date.now().toString(36)}` });
  });
  after(async () => {
    await queues?.close();
  });

  it('listens on 127.0.0.1 and serves SQS there', async () => {
    assert.equal(queues.embedded, true);
    assert.equal(queues.listening?.address, '127.0.0.1');
    assert.equal(new URL(queues.endpoint).hostname, '127.0.0.1');
    const { QueueUrls } = await queues.sqs.send(new ListQueuesCommand({}));
    assert.ok(QueueUrls?.includes(queues.queues.normal.url));
  });

  it("is not reachable on this machine's other addresses", { skip: externalAddresses.length === 0 && 'no non-loopback address here' }, async () => {
    const port = queues.listening!.port;
    assert.equal(await tryConnect('127.0.0.1', port), 'connected');
    for (const { name, address } of externalAddresses) {
      assert.equal(await tryConnect(address, port), 'ECONNREFUSED', `${name} ${address}:${port}`);
    }
  });
});
