import { BedrockRuntimeClient, ConverseCommand, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ProviderConfig } from '../config/schema';
import { BedrockTranslationError, fromConverseResponse, toConverseRequest } from './bedrockTranslation';
import { upstreamMessage } from './redact';
import type { ProviderAdapter, UpstreamOutcome, UpstreamRequest } from './types';
import { isRecord } from './upstreamHttp';

export {
  BedrockTranslationError,
  fromConverseResponse,
  toConverseRequest,
  toFinishReason as toBedrockFinishReason,
  toOpenAiUsage as toBedrockOpenAiUsage,
  type ConverseAnswerContext,
} from './bedrockTranslation';

type BedrockProviderConfig = Extract<ProviderConfig, { type: 'bedrock' }>;

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
 * Bedrock's exceptions and the status each one answers with. The SDK's `$metadata` status is
 * the fallback for names not listed; the table pins the ones the engine's retry and failover
 * rules depend on (ModelNotReady is a "try again shortly", a 503 rather than AWS's 429, so it
 * is not charged to a rate limit).
 */
const STATUS_BY_EXCEPTION: Record<string, number> = {
  ThrottlingException: 429,
  ServiceUnavailableException: 503,
  ModelNotReadyException: 503,
  InternalServerException: 500,
  ValidationException: 400,
  AccessDeniedException: 403,
  ModelTimeoutException: 408,
  ResourceNotFoundException: 404,
};

/** Node's codes for "no HTTP answer at all". */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

function networkCode(error: Record<string, unknown>): string | undefined {
  for (const candidate of [error, error.cause]) {
    if (isRecord(candidate) && typeof candidate.code === 'string' && NETWORK_CODES.has(candidate.code)) {
      return candidate.code;
    }
  }
  return undefined;
}

function responseHeaders(error: Record<string, unknown>): Record<string, string> {
  const response = error.$response;
  const headers = isRecord(response) ? response.headers : undefined;
  if (!isRecord(headers)) return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') out[name.toLowerCase()] = value;
  return out;
}

/**
 * Sorts what the SDK threw into an {@link UpstreamOutcome}. Pure, so every branch is tested
 * without a server; the attempt's timeout is decided by the caller, which owns the abort signal.
 */
export function converseErrorOutcome(error: unknown): UpstreamOutcome {
  if (!isRecord(error) && !(error instanceof Error)) {
    return { kind: 'network_error', code: 'ENETWORK', message: 'bedrock call failed' };
  }
  const e = error as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = upstreamMessage(typeof e.message === 'string' && e.message !== '' ? e.message : name || 'no message');
  const metadata = isRecord(e.$metadata) ? e.$metadata : {};
  const status = typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;

  const named = STATUS_BY_EXCEPTION[name];
  if (named !== undefined) return { kind: 'http_error', status: named, headers: responseHeaders(e), message };
  if (status !== undefined) {
    // A 2xx the SDK could not deserialize is the target's fault, not a failed HTTP call.
    if (status >= 200 && status < 300) return { kind: 'malformed', message: `unreadable ${status} answer: ${message}` };
    return { kind: 'http_error', status, headers: responseHeaders(e), message };
  }
  const code = networkCode(e);
  if (code) return { kind: 'network_error', code, message };
  // No credentials or no region: this target cannot serve any call until it is configured.
  if (name === 'CredentialsProviderError') return { kind: 'unavailable', reason: `no AWS credentials: ${message}` };
  return { kind: 'network_error', code: 'ENETWORK', message };
}

/**
 * Bedrock's Converse API behind OpenAI's Chat Completions format, signed with the function's
 * IAM role: there is no secret to look up. One SDK client per adapter, so connections are
 * reused across invocations of a warm Lambda.
 */
export class BedrockProvider implements ProviderAdapter {
  private readonly client: BedrockRuntimeClient | undefined;
  private readonly nowSeconds: () => number;

  constructor(config: BedrockProviderConfig, options: BedrockProviderOptions = {}) {
    this.nowSeconds = options.nowSeconds ?? systemNowSeconds;
    const region = config.region ?? (options.env ?? process.env).AWS_REGION;
    // Without a region the SDK fails every call; say so once, as `unavailable`, instead.
    this.client =
      region === undefined || region === ''
        ? undefined
        : new BedrockRuntimeClient({
            region,
            ...(config.endpoint ? { endpoint: config.endpoint } : {}),
            ...(options.credentials ? { credentials: options.credentials } : {}),
            // The engine owns retries, backoff and the retry budget; the SDK must not add its own.
            maxAttempts: 1,
            // HTTP/1.1 with keep-alive rather than the client's default HTTP/2 handler: that one
            // closes its session after every request for Bedrock (no connection reuse), and fails
            // behind proxies and some VPC endpoints (aws/aws-sdk-js-v3#7041). Converse is a plain
            // request/answer call that needs nothing from HTTP/2.
            requestHandler: new NodeHttpHandler(),
          });
  }

  async call(request: UpstreamRequest): Promise<UpstreamOutcome> {
    if (request.operation === 'embeddings') {
      return { kind: 'unavailable', reason: 'bedrock embeddings are not served through the Converse API' };
    }
    if (!this.client) return { kind: 'unavailable', reason: 'bedrock has no region: set `region` or AWS_REGION' };

    let input;
    try {
      input = toConverseRequest(request.body);
    } catch (error) {
      // The client's request, not the target, is at fault: a 400 that no retry or fallback fixes.
      const reason = error instanceof BedrockTranslationError ? error.message : 'request cannot be translated';
      return { kind: 'http_error', status: 400, headers: {}, message: `invalid request for bedrock: ${reason}` };
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeoutMs);
    let output;
    try {
      output = await this.client.send(new ConverseCommand(input), { abortSignal: controller.signal });
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
        model: input.modelId ?? '',
        nowSeconds: this.nowSeconds(),
      });
      const status = output.$metadata.httpStatusCode ?? 200;
      return { kind: 'success', status, headers: requestId ? { 'x-amzn-requestid': requestId } : {}, body };
    } catch (error) {
      return { kind: 'malformed', message: `unreadable bedrock answer: ${(error as Error).message}` };
    }
  }
}
