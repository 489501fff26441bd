/**
 * fauxqs, the SQS emulator `npm start` embeds, as a process of its own: the fault suite freezes
 * (SIGSTOP) and kills (SIGKILL) it by pid, which it cannot do to code in its own process.
 * `node --import tsx test/support/fauxqsProcess.ts <port>`; prints `{"port":n}` once listening.
 */
import type { AddressInfo } from 'node:net';
import { buildApp } from 'fauxqs';

const app = buildApp({ logger: false, host: 'localhost' });
await app.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as AddressInfo).port })}\n`);
