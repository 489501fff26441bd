import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { finished, type Readable } from 'node:stream';
import { chatRoutes } from '../api/chat/routes';
import type { GatewayResponse } from '../api/chat/sseResponse';
import type { CompletionCall, GatewayEngine } from '../api/GatewayEngine';
import { json } from '../api/json';
import { approvalsRoutes } from '../api/approvals/routes';
import { adminRoutes } from '../api/admin/routes';
import { consoleRoutes } from '../api/admin/consoleRoutes';
import { RecentRequests } from '../admin/RecentRequests';
import { isOperatorPath, requestSample } from '../admin/requestSample';
import { mcpRoutes } from '../api/mcp/routes';
import type { McpGateway } from '../mcp/McpGateway';
import { ToolCallDispatcher } from '../mcp/ToolCallDispatcher';
import { connectionsRoutes } from '../api/connections/routes';
import { messagesRoutes } from '../api/messages/routes';
import { modelsRoutes } from '../api/models/routes';
import { Router, type RouteRequest } from '../api/router';
import { responsesRoutes } from '../api/responses/routes';
import { tasksRoutes } from '../api/tasks/routes';
import { endUserOf } from '../budget/endUser';
import { PriceTable } from '../budget/prices';
import type { CompiledConfig } from '../config';
import { GatewayError } from '../errors';
import { parseIdempotencyKey } from '../idempotency/parseIdempotencyKey';
import { createProvider, type ProviderAdapter, type ProviderDeps } from '../providers';
import { redactingAdapter } from '../providers/redactingAdapter';
import { defaultSecretRedactor, registeringSecretSource, type SecretRedactor } from '../redaction';
import { Deadline, requestBudgetMs, RetryBudgets } from '../resilience';
import { leaves, type AttemptObserver, type RouteNode, type TargetNode } from '../routing';
import { toolRoutes } from '../api/tools/routes';
import type { CompletionFacts, RequestMetrics } from '../telemetry/requestMetrics';
import { throttleCountingObserver } from '../telemetry/throttleObserver';
import { Approvals } from '../tools/approvals';
import { ToolProxy } from '../tools/ToolProxy';
import { Authenticator } from './authenticate';
import { checkEmbeddingsInputBounds } from './embeddingsInput';
import { CompletionService, type StreamedCompletion } from './CompletionService';
import { refuseLoop, screenRequest } from './admissionChecks';
import { streamIdempotently } from './streamIdempotently';
import type { GatewayServices } from './GatewayServices';
import { BREAKWATER_HEADERS } from './headers';
import type { Principal } from './Principal';
import { chatCompletionRequestSchema, embeddingsRequestSchema } from './requestSchemas';
import { validateBody } from './validateBody';

export interface GatewayAppDeps extends ProviderDeps {
  config: CompiledConfig;
  logger: Logger;
  metrics?: Pick<Metrics, 'addMetric'>;
  observer?: AttemptObserver;
  /** Per-request metrics (EMF): see shared/telemetry/requestMetrics.ts. @default none recorded */
  requestMetrics?: RequestMetrics;
  services?: GatewayServices;
  /** Fed every credential read and config-file key; cuts them out of upstream answers. @default defaultSecretRedactor */
  redactor?: SecretRedactor;
}

export { BREAKWATER_HEADERS };
export type { GatewayResponse };

/**
 * The gateway's HTTP API, independent of Middy: the Lambda handler wraps it in middlewares,
 * and everything it needs (config, clock, random, secrets, state services) is injected. Each
 * API surface is a door (shared/api/<door>/) with its own route table; this class is the engine
 * they share and the router that merges their tables.
 */
export class GatewayApp implements GatewayEngine {
  readonly completions: CompletionService;
  /** The tool proxy (`/v1/tools/...`): also what the approvals part runs an approved call with. */
  readonly tools: ToolProxy;
  /** Held high-stakes tool calls (`/v1/approvals`); undefined without a state store. */
  readonly approvals?: Approvals;
  readonly services: GatewayServices;
  readonly config: CompiledConfig;
  /** This container's last hour of requests, for the operator console's overview. */
  readonly recentRequests: RecentRequests;
  private readonly auth: Authenticator;
  private readonly adapters = new Map<string, ProviderAdapter>();
  private readonly router: Router;
  private mcp?: McpGateway;

  constructor(private readonly deps: GatewayAppDeps) {
    const { config, clock } = deps;
    this.config = config;
    this.services = deps.services ?? {};
    // Every credential read (provider keys, BYOK) and every config-file key is redacted from
    // answers and logs: see shared/redaction/SecretRedactor.ts.
    const redactor = deps.redactor ?? defaultSecretRedactor;
    this.deps = { ...deps, redactor, secrets: registeringSecretSource(deps.secrets, redactor) };
    for (const tenant of config.tenants.values()) for (const key of tenant.keys) redactor.register(key);
    this.auth = new Authenticator(config.tenants, this.services.keyResolver);
    this.recentRequests = new RecentRequests({ clock, random: deps.random });
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
      // Upstream 429s counted on the invocation's metrics, around the tracing observer.
      observer: deps.metrics ? throttleCountingObserver(deps.metrics, deps.observer) : deps.observer,
    });
    this.approvals =
      this.services.approvalStore &&
      new Approvals({
        store: this.services.approvalStore,
        config,
        clock,
        logger: deps.logger,
        // An approved call runs where it was headed: an upstream MCP server's tool, or the tool proxy.
        executor: () => new ToolCallDispatcher({ mcp: () => this.mcpGateway(), proxy: () => this.tools }),
      });
    this.tools = new ToolProxy({
      ...this.deps,
      services: config.services,
      breakers: this.services.breakers,
      retryBudget: { ratio: budget.ratio, minRetriesPerWindow: budget.min_retries_per_window, windowMs: budget.window_ms },
      rateGate: this.services.toolRateGate,
      loopGuard: this.services.loopGuard,
      toolQuota: this.services.toolQuota,
      staleResponses: this.services.staleResponses,
      userTokens: this.services.connections?.tokens,
      approvals: this.approvals,
    });
    this.router = new Router(
      { '/health': { GET: async ({ requestId }) => json(200, { status: 'ok' }, requestId) } },
      chatRoutes(this),
      modelsRoutes(this),
      tasksRoutes(this),
      responsesRoutes(this),
      messagesRoutes(this),
      connectionsRoutes(this),
      approvalsRoutes(this, { approvals: () => this.approvals }),
      mcpRoutes(this, { mcp: () => this.mcpGateway() }),
      adminRoutes(this, { logger: deps.logger, clock, recent: this.recentRequests, approvals: () => this.approvals }),
      consoleRoutes(),
      toolRoutes({
        tools: this.tools,
        idempotency: this.services.idempotency,
        authenticate: (headers) => this.authenticate(headers),
        requestDeadline: (context) => this.requestDeadline(context),
      }),
    );
  }

  handle = async (event: APIGatewayProxyEvent, context: Context): Promise<GatewayResponse> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const started = this.deps.clock.now();
    const observe = (outcome: { response: GatewayResponse } | { error: unknown }) => {
      if (isOperatorPath(event.path)) return;
      const sample = requestSample(outcome, this.deps.clock.now() - started);
      this.recentRequests.record(sample);
      this.recordMetrics(event, sample, 'response' in outcome ? outcome.response.body : undefined, started);
    };
    try {
      const { handler, params } = this.router.route(event.httpMethod, event.path);
      const response = await handler({ event, context, requestId, params });
      observe({ response });
      return response;
    } catch (error) {
      observe({ error });
      throw error;
    }
  };

  /**
   * A buffered answer's metrics now; a stream's when its body ends (or the client leaves), with
   * the time to its head as the time to first byte: the route walk returns a stream only once
   * its first content event is in hand.
   */
  private recordMetrics(event: APIGatewayProxyEvent, sample: { status: number; errorCode?: string; latencyMs: number }, body: unknown, started: number): void {
    const metrics = this.deps.requestMetrics;
    if (!metrics) return;
    const facts = { path: event.path, status: sample.status, errorCode: sample.errorCode };
    if (body === undefined || typeof body === 'string') {
      metrics.record(event, { ...facts, latencyMs: sample.latencyMs });
      return;
    }
    finished(body as Readable, () => metrics.record(event, { ...facts, latencyMs: this.deps.clock.now() - started, timeToFirstByteMs: sample.latencyMs }));
  }

  /**
   * The MCP door's engine, built on its first request: most containers never serve one, and the
   * MCP SDK (with its JSON Schema validator) would otherwise add to every cold start.
   */
  private async mcpGateway(): Promise<McpGateway> {
    if (!this.mcp) {
      const { createMcpGateway } = await import('../mcp/createMcpGateway');
      const { config, clock, logger, secrets } = this.deps;
      this.mcp ??= createMcpGateway({ config, services: this.services, tools: this.tools, approvals: this.approvals, secrets, clock, logger });
    }
    return this.mcp;
  }

  authenticate(headers: Readonly<Record<string, string | undefined>>): Promise<Principal> {
    return this.auth.authenticate(headers);
  }

  /**
   * One completion for any door: who, what (the body in the engine's form, validated), where
   * (the route, the allow-lists, screening), then idempotency, and the answer buffered or
   * streamed in the door's dialect.
   */
  async serveCompletion(request: RouteRequest, call: CompletionCall): Promise<GatewayResponse> {
    const { event, context, requestId } = request;
    const { operation, renderer } = call;
    // Once, first: the key look-up and the idempotency claim end by it too, not only by their store's bound.
    const deadline = this.requestDeadline(context);
    const principal = await this.auth.authenticate(event.headers, { deadline });
    const body =
      operation === 'chat'
        ? validateBody(chatCompletionRequestSchema, call.body)
        : validateBody(embeddingsRequestSchema, call.body, checkEmbeddingsInputBounds);
    if (body.stream === true && typeof body.n === 'number' && body.n > 1) {
      throw new GatewayError('invalid_request', 'a streamed request takes one choice: leave `n` out or set it to 1', {
        details: { param: 'n' },
      });
    }
    const routeName = this.routeFor(principal, event.headers[BREAKWATER_HEADERS.ROUTE]);
    this.checkAllowLists(principal, this.config.routes.get(routeName)!, body);
    this.screen(principal, body);
    await refuseLoop(this.services.loopGuard, principal, body, deadline);

    const idempotencyKey = parseIdempotencyKey(event.headers[BREAKWATER_HEADERS.IDEMPOTENCY_KEY]);
    const onSettled = this.deps.requestMetrics && ((facts: CompletionFacts) => this.deps.requestMetrics!.noteCompletion(event, facts));
    const completionRequest = () => ({ principal, routeName, operation, body, deadline, endUser: endUserOf(body, event.headers), onSettled });
    const { idempotency } = this.services;
    const idempotent =
      idempotencyKey && idempotency
        ? <T>(execute: () => Promise<T>) =>
            idempotency.run({
              tenant: principal.tenant.name,
              key: idempotencyKey,
              payload: { door: renderer.door, operation, route: routeName, body },
              lambdaContext: context,
              deadline,
              execute,
            })
        : undefined;

    if (body.stream === true) {
      const sse = (streamed: StreamedCompletion, headers?: Record<string, string>) => renderer.streamed(streamed, requestId, headers);
      if (!idempotent) return sse(await this.completions.stream(completionRequest()));
      return streamIdempotently(idempotent, () => this.completions.stream(completionRequest()), sse, requestId);
    }

    const serve = async (): Promise<GatewayResponse> => {
      const outcome = await this.completions.complete(completionRequest());
      return renderer.buffered(outcome.body, outcome.headers, requestId);
    };
    if (!idempotent) return serve();
    const { value, replayed } = await idempotent(serve);
    if (!replayed) return value;
    return { ...value, headers: { ...value.headers, [BREAKWATER_HEADERS.REQUEST_ID]: requestId, [BREAKWATER_HEADERS.REPLAYED]: 'true' } };
  }

  /** A request's deadline: Lambda's remaining time less the margin, never past `max_request_ms`. */
  requestDeadline(context: RouteRequest['context']): Deadline {
    const { settings } = this.config;
    return Deadline.after(
      this.deps.clock,
      requestBudgetMs({
        lambdaRemainingMs: context.getRemainingTimeInMillis?.(),
        marginMs: settings.lambda_margin_ms,
        maxRequestMs: settings.max_request_ms,
      }),
    );
  }

  /** The tenant's own route, plus `allowed_routes` (a key's policy may narrow the tenant's list). */
  allowedRoutes(principal: Principal): Set<string> {
    return new Set([principal.tenant.route, ...(principal.policy.allowed_routes ?? [])]);
  }

  routeFor(principal: Principal, requested: string | undefined): string {
    if (requested === undefined || requested === '') return principal.tenant.route;
    if (!this.config.routes.has(requested)) {
      throw new GatewayError('unknown_route', `no route named "${requested}"`, { details: { param: BREAKWATER_HEADERS.ROUTE } });
    }
    if (!this.allowedRoutes(principal).has(requested)) {
      throw new GatewayError('model_not_allowed', `this key may not use route "${requested}"`);
    }
    return requested;
  }

  /** `allowed_models` / `allowed_providers`: every target the request could reach must be allowed. */
  checkAllowLists(principal: Principal, route: RouteNode, body: Record<string, unknown>): void {
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
  screen(principal: Principal, body: Record<string, unknown>): void {
    screenRequest(principal, body, this.deps);
  }

  /** One adapter per provider for the container's life, so connection pools are reused. */
  adapterFor(target: TargetNode): ProviderAdapter {
    let adapter = this.adapters.get(target.providerName);
    if (!adapter) {
      adapter = redactingAdapter(createProvider(target.provider, this.deps), this.deps.redactor ?? defaultSecretRedactor);
      this.adapters.set(target.providerName, adapter);
    }
    return adapter;
  }
}
