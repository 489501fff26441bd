/**
 * The child side of {@link ./lambdaProcess.ts}: what the Lambda Node.js runtime does for one
 * function instance, in a process of its own. esbuild bundles this file (with
 * bin/local/lambdaStreaming.ts) into a plain .mjs outside the repo, run by `node` with no loader,
 * so the handler module resolves nothing but what its deployment package holds and Node's
 * built-ins.
 *
 * As the runtime: the `awslambda` global first, then the module `_HANDLER` names, imported from
 * `LAMBDA_TASK_ROOT` (the init phase; its failure is reported, not thrown); then, per
 * invocation, a fresh `_X_AMZN_TRACE_ID` and context, and `handler(event, responseStream,
 * context)` for a handler marked by `streamifyResponse`, else `handler(event, context)`.
 * Invocations come over the IPC channel; the response stream's bytes go back over it as written.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { LambdaResponseStream, installAwsLambdaGlobal, isStreamingHandler } from '../../bin/local/lambdaStreaming';

/** Parent → child. */
export interface InvokeMessage {
  type: 'invoke';
  id: number;
  event: unknown;
  timeoutMs: number;
}

/** Child → parent. */
export type HarnessMessage =
  | { type: 'ready'; streaming: boolean }
  | { type: 'init-error'; message: string }
  | { type: 'chunk'; id: number; data: Uint8Array; contentType: string }
  | { type: 'end'; id: number; contentType: string }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; name: string; message: string };

type Handler = (...args: unknown[]) => Promise<unknown>;

const send = (message: HarnessMessage) => process.send!(message);
const env = process.env;

/** `index.handler` → the file `index.mjs` (or .js, .cjs) in the task root, export `handler`. */
async function loadHandler(): Promise<Handler> {
  const taskRoot = env.LAMBDA_TASK_ROOT!;
  const setting = env._HANDLER!;
  const dot = setting.lastIndexOf('.');
  const [modulePath, exportName] = [setting.slice(0, dot), setting.slice(dot + 1)];
  const file = ['.mjs', '.js', '.cjs'].map((extension) => join(taskRoot, modulePath + extension)).find((path) => existsSync(path));
  if (!file) throw new Error(`no module ${modulePath} in ${taskRoot}`);
  const loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = loaded[exportName];
  if (typeof handler !== 'function') throw new Error(`${file} exports no function ${exportName}`);
  return handler as Handler;
}

function contextFor(awsRequestId: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME!;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION!,
    invokedFunctionArn: `arn:aws:lambda:${env.AWS_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE!,
    awsRequestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME!,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME!,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** An X-Ray trace header as Lambda's front end sets it for an active-tracing function. */
function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}

async function invoke(handler: Handler, message: InvokeMessage): Promise<void> {
  const { id, event, timeoutMs } = message;
  const awsRequestId = randomUUID();
  env._X_AMZN_TRACE_ID = traceHeader();
  const context = contextFor(awsRequestId, timeoutMs);
  try {
    // A plain boolean: the type guard would narrow `handler` to never in the other branch.
    const streaming: boolean = isStreamingHandler(handler);
    if (streaming) {
      const responseStream = new LambdaResponseStream();
      responseStream.wire.on('data', (chunk: Buffer) => send({ type: 'chunk', id, data: chunk, contentType: responseStream.contentType }));
      const ended = new Promise<void>((resolve) =>
        responseStream.wire.once('end', () => {
          send({ type: 'end', id, contentType: responseStream.contentType });
          resolve();
        }),
      );
      // Called as the runtime calls a streamifyResponse-marked handler.
      await handler(event, responseStream, context);
      // The stream's end may trail the handler's promise: the parent hears `end` before `result`.
      await ended;
      send({ type: 'result', id, value: null });
    } else {
      const value = await handler(event, context);
      send({ type: 'result', id, value: value ?? null });
    }
  } catch (error) {
    const { name = 'Error', message: text = String(error) } = error as Error;
    send({ type: 'error', id, name, message: text });
  }
}

installAwsLambdaGlobal();
loadHandler().then(
  (handler) => {
    process.on('message', (message: InvokeMessage) => void invoke(handler, message));
    send({ type: 'ready', streaming: isStreamingHandler(handler) });
  },
  (error: unknown) => send({ type: 'init-error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
);
