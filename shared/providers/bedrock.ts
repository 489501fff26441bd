import type {
  BedrockRuntimeClient,
  BedrockRuntimeClientConfig,
  ConverseCommandInput,
  ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ProviderConfig } from '../config/schema';
import type { StreamEvent } from '../stream/StreamEvent';
import { UpstreamStreamError } from '../stream/UpstreamStreamError';
import { converseErrorOutcome, converseStreamErrorOutcome } from './bedrockErrors';
import { BedrockStreamReader } from './bedrockStream';
import { BedrockTranslationError, fromConverseResponse, isUnsupportedParameterError, toConverseCall } from './bedrockTranslation';
import { UnsupportedParameterError, unsupportedParameterOf } from './responseFormatTranslation';
import type { ProviderAdapter, StreamOutcome, UnsupportedParameter, UpstreamFailure, UpstreamOutcome, UpstreamRequest } from './types';
import { abortable, readFrames, untilAborted } from './upstreamStream';

export { STATUS_BY_EXCEPTION, converseErrorOutcome, converseStreamErrorOutcome } from './bedrockErrors';
export { BedrockStreamReader } from './bedrockStream';
export {
  BedrockTranslationError,
  fromConverseResponse,
  toConverseCall,
  toConverseRequest,
  toFinishReason as toBedrockFinishReason,
  toOpenAiUsage as toBedrockOpenAiUsage,
  type ConverseAnswerContext,
} from './bedrockTranslation';

type BedrockProviderConfig = Extract<ProviderConfig, { type: 'bedrock' }>;
type BedrockSdk = typeof import('@aws-sdk/client-bedrock-runtime');

/**
 * The Bedrock SDK is the heaviest AWS client to import (about 40% of all the clients' cold
 * import time), so it is loaded on the first Bedrock call, once per process: a gateway whose
 * config has no Bedrock target, or never routes to it, never pays for it at cold start.
 */
let bedrockSdk: Promise<BedrockSdk> | undefined;
const loadBedrockSdk = (): Promise<BedrockSdk> => (bedrockSdk ??= import('@aws-sdk/client-bedrock-runtime'));

export interface BedrockProviderOptions {
  /**
   * Signs the calls. Tests pass dummy keys; production leaves it out.
   * @default the SDK's default chain: on Lambda, the function's IAM role
   */
  credentials?: BedrockRuntimeClientConfig['credentials'];
  /**
   * Where `AWS_REGION` is read when the config names no `region`.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The `created` stamp of translated answers, in seconds.
   * @default the system clock
   */
  nowSeconds?: () => number;
}

const systemNowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Bedrock's Converse API behind OpenAI's Chat Completions format, signed with the function's
 * IAM role: there is no secret to look up. One SDK client per adapter, so connections are
 * reused across invocations of a warm Lambda.
 */
export class BedrockProvider implements ProviderAdapter {
  /** Resolved on the first call (see {@link loadBedrockSdk}); undefined without a region. */
  private readonly clientConfig: BedrockRuntimeClientConfig | undefined;
  private connection: Promise<{ sdk: BedrockSdk; client: BedrockRuntimeClient }> | undefined;
  private readonly nowSeconds: () => number;

  constructor(config: BedrockProviderConfig, options: BedrockProviderOptions = {}) {
    this.nowSeconds = options.nowSeconds ?? systemNowSeconds;
    const region = config.region ?? (options.env ?? process.env).AWS_REGION;
    // Without a region the SDK fails every call; say so once, as `unavailable`, instead.
    this.clientConfig =
      region === undefined || region === ''
        ? undefined
        : {
            region,
            ...(config.endpoint ? { endpoint: config.endpoint } : {}),
            ...(options.credentials ? { credentials: options.credentials } : {}),
            // The engine owns retries, backoff and the retry budget; the SDK must not add its own.
            maxAttempts: 1,
            // HTTP/1.1 with keep-alive rather than the client's default HTTP/2 handler: that one
            // closes its session after every request for Bedrock (no connection reuse), and fails
            // behind proxies and some VPC endpoints (aws/aws-sdk-js-v3#7041). Converse is a plain
            // request/answer call, and ConverseStream streams only its answer: neither needs
            // HTTP/2 (only bidirectional streams do).
            requestHandler: new NodeHttpHandler(),
          };
  }

  /** One SDK client per adapter, created with the SDK on the first call. */
  private connect(config: BedrockRuntimeClientConfig): Promise<{ sdk: BedrockSdk; client: BedrockRuntimeClient }> {
    this.connection ??= loadBedrockSdk().then((sdk) => ({ sdk, client: new sdk.BedrockRuntimeClient(config) }));
    return this.connection;
  }

  async call(request: UpstreamRequest): Promise<UpstreamOutcome> {
    const input = this.prepare(request);
    if ('kind' in input) return input;

    const { sdk, client } = await this.connect(input.clientConfig);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeoutMs);
    let output;
    try {
      output = await client.send(new sdk.ConverseCommand(input.input), { abortSignal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) return { kind: 'timeout', timeoutMs: request.timeoutMs };
      return converseErrorOutcome(error);
    } finally {
      clearTimeout(timer);
    }

    const requestId = output.$metadata.requestId;
    try {
      const body = fromConverseResponse(output, {
        id: requestId ? `chatcmpl-${requestId}` : 'chatcmpl-bedrock',
        model: input.input.modelId ?? '',
        nowSeconds: this.nowSeconds(),
        responseTool: input.responseTool,
      });
      const status = output.$metadata.httpStatusCode ?? 200;
      return { kind: 'success', status, headers: requestId ? { 'x-amzn-requestid': requestId } : {}, body };
    } catch (error) {
      return { kind: 'malformed', message: `unreadable bedrock answer: ${(error as Error).message}` };
    }
  }

  /**
   * ConverseStream with the same input as Converse. `send` resolves at the response head, so
   * the timeout bounds only that; one AbortController serves the timeout and `abort`, which
   * destroys the connection (the SDK's handler listens to the signal until the request closes).
   */
  async stream(request: UpstreamRequest): Promise<StreamOutcome> {
    const input = this.prepare(request);
    if ('kind' in input) return input;

    const { sdk, client } = await this.connect(input.clientConfig);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeoutMs);
    let output;
    try {
      output = await client.send(new sdk.ConverseStreamCommand(input.input), { abortSignal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) return { kind: 'timeout', timeoutMs: request.timeoutMs };
      return converseErrorOutcome(error);
    } finally {
      clearTimeout(timer);
    }
    if (!output.stream) {
      controller.abort();
      return { kind: 'malformed', message: 'unreadable bedrock answer: no event stream' };
    }

    const requestId = output.$metadata.requestId;
    return {
      kind: 'success',
      status: output.$metadata.httpStatusCode ?? 200,
      headers: requestId ? { 'x-amzn-requestid': requestId } : {},
      body: { events: converseEvents(output.stream, controller, input.responseTool), abort: () => controller.abort() },
    };
  }

  /** A chat parameter Converse cannot honour (`logprobs`, `n` > 1...), checked before any call. */
  unsupported(request: Pick<UpstreamRequest, 'operation' | 'body'>): UnsupportedParameter | undefined {
    if (request.operation !== 'chat') return undefined;
    const { body } = request;
    // Converse has no switch for it (toConverseCall refuses it the same way).
    if (body.parallel_tool_calls === false && Array.isArray(body.tools) && body.tools.length > 0) {
      return new UnsupportedParameterError('parallel_tool_calls', `bedrock/${String(body.model)}`, 'set to false').toOutcome();
    }
    return unsupportedParameterOf(body, 'bedrock');
  }

  /** The client's config, the Converse input and the answer's `response_format` tool, or why this call cannot be made. */
  private prepare(
    request: UpstreamRequest,
  ): { clientConfig: BedrockRuntimeClientConfig; input: ConverseCommandInput; responseTool: string | undefined } | UpstreamFailure {
    if (request.operation === 'embeddings') {
      return { kind: 'unavailable', reason: 'bedrock embeddings are not served through the Converse API' };
    }
    if (!this.clientConfig) return { kind: 'unavailable', reason: 'bedrock has no region: set `region` or AWS_REGION' };
    try {
      return { clientConfig: this.clientConfig, ...toConverseCall(request.body) };
    } catch (error) {
      if (isUnsupportedParameterError(error)) return error.toOutcome();
      // The client's request, not the target, is at fault: a 400 that no retry or fallback fixes.
      const reason = error instanceof BedrockTranslationError ? error.message : 'request cannot be translated';
      return { kind: 'http_error', status: 400, headers: {}, message: `invalid request for bedrock: ${reason}` };
    }
  }
}

/**
 * The canonical events of a ConverseStream. What the SDK's iterator throws becomes an
 * {@link UpstreamStreamError}; after an abort the events end quietly, and at once even if the
 * SDK's iterator is still waiting. A stream left before its end (an error, a consumer that
 * stopped reading) closes its connection.
 */
async function* converseEvents(
  stream: AsyncIterable<ConverseStreamOutput>,
  controller: AbortController,
  responseTool: string | undefined,
): AsyncGenerator<StreamEvent, void, undefined> {
  const aborted = () => controller.signal.aborted;
  async function* members(): AsyncGenerator<ConverseStreamOutput, void, undefined> {
    try {
      yield* stream;
    } catch (error) {
      if (aborted()) return;
      throw new UpstreamStreamError(converseStreamErrorOutcome(error), { cause: error });
    }
  }
  let ended = false;
  try {
    yield* untilAborted(readFrames(abortable(members(), controller.signal), new BedrockStreamReader(responseTool)), aborted);
    ended = true;
  } finally {
    if (!ended) controller.abort();
  }
}
