import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { chatSseResponse, type GatewayResponse } from '../api/chat/sseResponse';
import type { StreamEvent } from '../stream';
import { endUserOf } from '../budget/endUser';
import { assertCallbackUrl } from '../callbacks/checkCallbackUrl';
import { PriceTable } from '../budget/prices';
import type { CompiledConfig } from '../config';
import { GatewayError } from '../errors';
import { parseIdempotencyKey } from '../idempotency/parseIdempotencyKey';
import { createProvider, type Operation, type ProviderAdapter, type ProviderDeps } from '../providers';
import { Deadline, requestBudgetMs, RetryBudgets } from '../resilience';
import { leaves, type AttemptObserver, type RouteNode, type TargetNode } from '../routing';
import { screenInput } from '../security';
import { parseTaskSubmission } from '../tasks/taskSubmission';
import { Authenticator } from './authenticate';
import { CompletionService, replayStream, type StreamedCompletion } from './CompletionService';
import type { GatewayServices } from './GatewayServices';
import type { Principal } from './Principal';
import { chatCompletionRequestSchema, embeddingsRequestSchema } from './requestSchemas';
import { validateBody } from './validateBody';

export interface GatewayAppDeps extends ProviderDeps {
  config: CompiledConfig;
  logger: Logger;
  metrics?: Pick<Metrics, 'addMetric'>;
  observer?: AttemptObserver;
  services?: GatewayServices;
}

/** Request headers the gateway reads and response headers it adds beyond the completion's own. */
export const BREAKWATER_HEADERS = {
  ROUTE: 'x-breakwater-route',
  REQUEST_ID: 'x-request-id',
  IDEMPOTENCY_KEY: 'idempotency-key',
  REPLAYED: 'idempotent-replayed',
} as const;

type Handler = (event: APIGatewayProxyEvent, context: Context, requestId: string) => Promise<GatewayResponse>;

export type { GatewayResponse };

/**
 * The gateway's HTTP API, independent of Middy: the Lambda handler wraps it in middlewares,
 * and everything it needs (config, clock, random, secrets, state services) is injected.
 */
export class GatewayApp {
  readonly completions: CompletionService;
  private readonly auth: Authenticator;
  private readonly adapters = new Map<string, ProviderAdapter>();
  private readonly routes: Record<string, Partial<Record<string, Handler>>>;
  private readonly services: GatewayServices;

  constructor(private readonly deps: GatewayAppDeps) {
    const { config, clock } = deps;
    this.services = deps.services ?? {};
    this.auth = new Authenticator(config.tenants, this.services.keyResolver);
    const budget = config.settings.retry_budget;
    this.completions = new CompletionService({
      config,
      services: this.services,
      prices: new PriceTable({ overrides: config.prices, logger: deps.logger }),
      clock,
      random: deps.random,
      logger: deps.logger,
      retryBudgets: new RetryBudgets(clock, {
        ratio: budget.ratio,
        minRetriesPerWindow: budget.min_retries_per_window,
        windowMs: budget.window_ms,
      }),
      adapterFor: (target) => this.adapterFor(target),
      observer: deps.observer,
    });
    this.routes = {
      '/health': { GET: async (_event, _context, requestId) => json(200, { status: 'ok' }, requestId) },
      '/v1/models': { GET: (event, _context, requestId) => this.listModels(event, requestId) },
      '/v1/chat/completions': { POST: (event, context, requestId) => this.complete('chat', event, context, requestId) },
      '/v1/embeddings': { POST: (event, context, requestId) => this.complete('embeddings', event, context, requestId) },
      '/v1/tasks': { POST: (event, _context, requestId) => this.submitTask(event, requestId) },
    };
  }

  handle = async (event: APIGatewayProxyEvent, context: Context): Promise<GatewayResponse> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const path = event.path.length > 1 ? event.path.replace(/\/+$/, '') : event.path;
    const modelId = /^\/v1\/models\/(.+)$/.exec(path)?.[1];
    const taskId = /^\/v1\/tasks\/([^/]+)$/.exec(path)?.[1];
    const methods =
      modelId !== undefined
        ? this.modelRoute(decodeURIComponent(modelId))
        : taskId !== undefined
          ? this.taskRoute(decodeURIComponent(taskId))
          : this.routes[path];
    if (!methods) throw new GatewayError('unknown_route', `no such endpoint: ${event.httpMethod} ${path}`);
    const handler = methods[event.httpMethod];
    if (!handler) {
      throw new GatewayError('method_not_allowed', `${path} accepts ${Object.keys(methods).join(', ')}`, {
        headers: { allow: Object.keys(methods).join(', ') },
      });
    }
    return handler(event, context, requestId);
  };

  /** The checks a request passes before anything is spent: who, what, where, and whether it may. */
  async admit(
    operation: Operation,
    headers: Readonly<Record<string, string | undefined>>,
    rawBody: unknown,
  ): Promise<{ principal: Principal; routeName: string; body: Record<string, unknown> }> {
    const principal = await this.auth.authenticate(headers);
    const body =
      operation === 'chat'
        ? validateBody(chatCompletionRequestSchema, rawBody)
        : validateBody(embeddingsRequestSchema, rawBody);
    if (body.stream === true && typeof body.n === 'number' && body.n > 1) {
      throw new GatewayError('invalid_request', 'a streamed request takes one choice: leave `n` out or set it to 1', {
        details: { param: 'n' },
      });
    }
    const routeName = this.routeFor(principal, headers[BREAKWATER_HEADERS.ROUTE]);
    this.checkAllowLists(principal, this.deps.config.routes.get(routeName)!, body);
    this.screen(principal, body);
    return { principal, routeName, body };
  }

  private async complete(
    operation: Operation,
    event: APIGatewayProxyEvent,
    context: Context,
    requestId: string,
  ): Promise<GatewayResponse> {
    const { principal, routeName, body } = await this.admit(operation, event.headers, event.body);
    const idempotencyKey = parseIdempotencyKey(event.headers[BREAKWATER_HEADERS.IDEMPOTENCY_KEY]);
    const { settings } = this.deps.config;
    const completionRequest = () => ({
      principal,
      routeName,
      operation,
      body,
      deadline: Deadline.after(
        this.deps.clock,
        requestBudgetMs({
          lambdaRemainingMs: context.getRemainingTimeInMillis?.(),
          marginMs: settings.lambda_margin_ms,
          maxRequestMs: settings.max_request_ms,
        }),
      ),
      endUser: endUserOf(body, event.headers),
    });
    const { idempotency } = this.services;
    const idempotent = idempotencyKey && idempotency
      ? <T>(execute: () => Promise<T>) =>
          idempotency.run({
            tenant: principal.tenant.name,
            key: idempotencyKey,
            payload: { operation, route: routeName, body },
            lambdaContext: context,
            execute,
          })
      : undefined;

    if (body.stream === true) {
      const includeUsage = (body.stream_options as { include_usage?: boolean } | null | undefined)?.include_usage === true;
      const sse = (streamed: StreamedCompletion, headers?: Record<string, string>) =>
        chatSseResponse(streamed, { includeUsage, requestId, headers });
      if (!idempotent) return sse(await this.completions.stream(completionRequest()));
      return this.streamIdempotently(idempotent, () => this.completions.stream(completionRequest()), sse, requestId);
    }

    const serve = async (): Promise<GatewayResponse> => {
      const outcome = await this.completions.complete(completionRequest());
      return json(200, outcome.body, requestId, outcome.headers);
    };
    if (!idempotent) return serve();
    const { value, replayed } = await idempotent(serve);
    if (!replayed) return value;
    return { ...value, headers: { ...value.headers, [BREAKWATER_HEADERS.REQUEST_ID]: requestId, [BREAKWATER_HEADERS.REPLAYED]: 'true' } };
  }

  /**
   * A stream under an Idempotency-Key. The first request streams as it comes while the key is
   * held; its assembled answer is stored when the stream completes (a stream that breaks is
   * not, and releases the key). A replay streams the stored answer back. Whichever comes first,
   * the stream's head or the stored answer, is what this request gets.
   */
  private async streamIdempotently(
    idempotent: <T>(execute: () => Promise<T>) => Promise<{ value: T; replayed: boolean }>,
    open: () => Promise<StreamedCompletion>,
    sse: (streamed: StreamedCompletion, headers?: Record<string, string>) => GatewayResponse,
    requestId: string,
  ): Promise<GatewayResponse> {
    type Stored = { statusCode: number; headers: Record<string, string>; body: string };
    let live: ((streamed: StreamedCompletion) => void) | undefined;
    const head = new Promise<StreamedCompletion>((resolve) => {
      live = resolve;
    });
    const run = idempotent<Stored>(async () => {
      const streamed = await open();
      const ended = new Promise<boolean>((resolve) => {
        live!({ ...streamed, events: trackEnd(streamed.events, resolve) });
      });
      const body = (await ended) ? streamed.completed() : undefined;
      // A throw is never stored: a stream that broke or was left releases the key.
      if (!body) throw new GatewayError('stream_interrupted', 'the stream did not complete; it is not stored for replay');
      return { statusCode: 200, headers: streamed.headers, body: JSON.stringify(body) };
    });
    const first = await Promise.race([head.then((streamed) => ({ streamed })), run.then((stored) => ({ stored }))]);
    if ('streamed' in first) {
      // The client has its answer; what the store does with it afterwards is logged there.
      run.catch(() => undefined);
      return sse(first.streamed);
    }
    const { value } = first.stored;
    const stored = JSON.parse(value.body) as Record<string, unknown>;
    return sse(replayStream(stored, value.headers), { [BREAKWATER_HEADERS.REQUEST_ID]: requestId, [BREAKWATER_HEADERS.REPLAYED]: 'true' });
  }

  /**
   * `POST /v1/tasks`: everything a synchronous request would be refused for is refused here, at
   * submit time (a bad body, a disallowed model, screening, a private callback URL), so nothing
   * that can only fail is ever queued. Tasks run on the tenant's own route.
   */
  private async submitTask(event: APIGatewayProxyEvent, requestId: string): Promise<GatewayResponse> {
    const tasks = this.tasksService();
    const principal = await this.auth.authenticate(event.headers);
    const submission = parseTaskSubmission(event.body);
    this.checkAllowLists(principal, this.deps.config.routes.get(principal.tenant.route)!, submission.request);
    this.screen(principal, submission.request);
    this.completions.checkFits(principal, principal.tenant.route, submission.request);
    if (submission.callback_url) {
      await assertCallbackUrl(submission.callback_url, { allowPrivate: principal.policy.callback_allow_private ?? false });
    }
    const idempotencyKey = parseIdempotencyKey(event.headers[BREAKWATER_HEADERS.IDEMPOTENCY_KEY]);
    const { id, status } = await tasks.submit({
      tenant: principal.tenant.name,
      keyPrefix: principal.keyPrefix,
      keyId: principal.keyId,
      keyPolicy: principal.keyPolicy,
      body: event.body,
      idempotencyKey,
    });
    // requestContext.path keeps API Gateway's stage (/prod/v1/tasks); event.path does not.
    const location = `${(event.requestContext?.path ?? event.path).replace(/\/+$/, '')}/${id}`;
    return json(202, { id, object: 'breakwater.task', status }, requestId, { location });
  }

  /** `GET` and `DELETE /v1/tasks/{id}`: scoped to the caller's tenant, so another tenant's id is a 404. */
  private taskRoute(id: string): Partial<Record<string, Handler>> {
    return {
      GET: async (event, _context, requestId) => {
        const principal = await this.auth.authenticate(event.headers);
        return json(200, await this.tasksService().get(principal.tenant.name, id), requestId);
      },
      DELETE: async (event, _context, requestId) => {
        const principal = await this.auth.authenticate(event.headers);
        return json(200, await this.tasksService().cancel(principal.tenant.name, id), requestId);
      },
    };
  }

  private tasksService() {
    if (!this.services.tasks) throw new GatewayError('unknown_route', 'tasks need the state store and queues, which this gateway has not got');
    return this.services.tasks;
  }

  private async listModels(event: APIGatewayProxyEvent, requestId: string): Promise<GatewayResponse> {
    const principal = await this.auth.authenticate(event.headers);
    return json(200, { object: 'list', data: [...this.reachableModels(principal).values()] }, requestId);
  }

  /** `GET /v1/models/{id}` (the SDK's `models.retrieve`): one of the caller's models, else 404. */
  private modelRoute(id: string): Partial<Record<string, Handler>> {
    return {
      GET: async (event, _context, requestId) => {
        const model = this.reachableModels(await this.auth.authenticate(event.headers)).get(id);
        if (!model) throw new GatewayError('unknown_route', `no model "${id}" on this key's routes`);
        return json(200, model, requestId);
      },
    };
  }

  /** Models named by the targets of the caller's routes; weight-0 targets are never called. */
  private reachableModels(principal: Principal) {
    const allowed = principal.policy.allowed_models;
    const models = new Map<string, { id: string; object: 'model'; created: number; owned_by: string }>();
    for (const routeName of this.allowedRoutes(principal)) {
      for (const target of leaves(this.deps.config.routes.get(routeName) as RouteNode)) {
        if (!target.model || target.weight === 0 || models.has(target.model)) continue;
        if (allowed && !allowed.includes(target.model)) continue;
        models.set(target.model, { id: target.model, object: 'model', created: 0, owned_by: target.providerName });
      }
    }
    return models;
  }

  /** The tenant's own route, plus `allowed_routes` (a key's policy may narrow the tenant's list). */
  private allowedRoutes(principal: Principal): Set<string> {
    return new Set([principal.tenant.route, ...(principal.policy.allowed_routes ?? [])]);
  }

  private routeFor(principal: Principal, requested: string | undefined): string {
    if (requested === undefined || requested === '') return principal.tenant.route;
    if (!this.deps.config.routes.has(requested)) {
      throw new GatewayError('unknown_route', `no route named "${requested}"`, { details: { param: BREAKWATER_HEADERS.ROUTE } });
    }
    if (!this.allowedRoutes(principal).has(requested)) {
      throw new GatewayError('model_not_allowed', `this key may not use route "${requested}"`);
    }
    return requested;
  }

  /** `allowed_models` / `allowed_providers`: every target the request could reach must be allowed. */
  private checkAllowLists(principal: Principal, route: RouteNode, body: Record<string, unknown>): void {
    const { allowed_models: models, allowed_providers: providers } = principal.policy;
    if (!models && !providers) return;
    for (const target of leaves(route)) {
      const model = target.model ?? String(body.model);
      if (models && !models.includes(model)) {
        throw new GatewayError('model_not_allowed', `this key may not use model "${model}"`, { details: { param: 'model' } });
      }
      if (providers && !providers.includes(target.providerName)) {
        throw new GatewayError('model_not_allowed', `this key may not use provider "${target.providerName}"`);
      }
    }
  }

  /** Input screening: a security event (ids only, never content) and, in `block` mode, a 400. */
  private screen(principal: Principal, body: Record<string, unknown>): void {
    const mode = principal.policy.input_screening ?? 'off';
    if (mode === 'off') return;
    const matches = screenInput(body);
    if (matches.length === 0) return;
    this.deps.logger.warn('security: prompt injection pattern', {
      event: 'input_screening',
      tenant: principal.tenant.name,
      key_prefix: principal.keyPrefix,
      patterns: matches,
      action: mode,
    });
    this.deps.metrics?.addMetric('InputScreeningMatch', MetricUnit.Count, 1);
    if (mode === 'block') {
      throw new GatewayError('input_rejected', `the request matched input screening patterns: ${matches.join(', ')}`);
    }
  }

  /** One adapter per provider for the container's life, so connection pools are reused. */
  private adapterFor(target: TargetNode): ProviderAdapter {
    let adapter = this.adapters.get(target.providerName);
    if (!adapter) {
      adapter = createProvider(target.provider, this.deps);
      this.adapters.set(target.providerName, adapter);
    }
    return adapter;
  }
}

function json(
  statusCode: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): GatewayResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', [BREAKWATER_HEADERS.REQUEST_ID]: requestId, ...headers },
    body: JSON.stringify(body),
  };
}

/** Passes the events on and says, once, whether they ran to their end. */
async function* trackEnd(events: AsyncGenerator<StreamEvent>, onEnd: (completed: boolean) => void): AsyncGenerator<StreamEvent> {
  let completed = false;
  try {
    yield* events;
    completed = true;
  } finally {
    onEnd(completed);
  }
}
