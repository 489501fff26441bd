import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { CompiledConfig, TenantConfig } from '../config';
import { GatewayError } from '../errors';
import { createProvider, type Operation, type ProviderAdapter, type ProviderDeps } from '../providers';
import { Deadline, requestBudgetMs, RetryBudgets, type Clock, type RandomSource } from '../resilience';
import { executeRoute, leaves, type AttemptObserver, type RouteNode, type TargetNode } from '../routing';
import { KeyIndex } from './authenticate';
import { chatCompletionRequestSchema, embeddingsRequestSchema } from './requestSchemas';
import { validateBody } from './validateBody';

export interface GatewayAppDeps extends ProviderDeps {
  config: CompiledConfig;
  logger: Logger;
  observer?: AttemptObserver;
}

/** Headers that name the answering target; the spend and cache work adds its own. */
export const BREAKWATER_HEADERS = {
  TARGET: 'x-breakwater-target',
  ATTEMPTS: 'x-breakwater-attempts',
  FALLBACK_INDEX: 'x-breakwater-fallback-index',
  DEGRADED: 'x-breakwater-degraded',
  ROUTE: 'x-breakwater-route',
  REQUEST_ID: 'x-request-id',
} as const;

type Handler = (event: APIGatewayProxyEvent, context: Context, requestId: string) => Promise<APIGatewayProxyResult>;

/**
 * The gateway's HTTP API, independent of Middy: the Lambda handler wraps it in middlewares,
 * and everything it needs (config, clock, random, secrets) is injected.
 */
export class GatewayApp {
  private readonly keys: KeyIndex;
  private readonly adapters = new Map<string, ProviderAdapter>();
  private readonly retryBudgets: RetryBudgets;
  private readonly routes: Record<string, Partial<Record<string, Handler>>>;

  constructor(private readonly deps: GatewayAppDeps) {
    const { config, clock } = deps;
    this.keys = new KeyIndex(config.tenants.values());
    const budget = config.settings.retry_budget;
    this.retryBudgets = new RetryBudgets(clock, {
      ratio: budget.ratio,
      minRetriesPerWindow: budget.min_retries_per_window,
      windowMs: budget.window_ms,
    });
    this.routes = {
      '/health': { GET: async (_event, _context, requestId) => json(200, { status: 'ok' }, requestId) },
      '/v1/models': { GET: (event, _context, requestId) => this.listModels(event, requestId) },
      '/v1/chat/completions': { POST: (event, context, requestId) => this.complete('chat', event, context, requestId) },
      '/v1/embeddings': { POST: (event, context, requestId) => this.complete('embeddings', event, context, requestId) },
    };
  }

  handle = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const path = event.path.length > 1 ? event.path.replace(/\/+$/, '') : event.path;
    const modelId = /^\/v1\/models\/(.+)$/.exec(path)?.[1];
    const methods = modelId !== undefined ? this.modelRoute(decodeURIComponent(modelId)) : this.routes[path];
    if (!methods) throw new GatewayError('unknown_route', `no such endpoint: ${event.httpMethod} ${path}`);
    const handler = methods[event.httpMethod];
    if (!handler) {
      throw new GatewayError('method_not_allowed', `${path} accepts ${Object.keys(methods).join(', ')}`, {
        headers: { allow: Object.keys(methods).join(', ') },
      });
    }
    return handler(event, context, requestId);
  };

  private async complete(
    operation: Operation,
    event: APIGatewayProxyEvent,
    context: Context,
    requestId: string,
  ): Promise<APIGatewayProxyResult> {
    const tenant = this.keys.authenticate(event.headers);
    const body =
      operation === 'chat'
        ? validateBody(chatCompletionRequestSchema, event.body)
        : validateBody(embeddingsRequestSchema, event.body);
    if ('stream' in body && body.stream === true) {
      throw new GatewayError('streaming_unsupported', 'stream: true is not supported yet; send stream: false', {
        details: { param: 'stream' },
      });
    }
    const routeName = this.routeFor(tenant, event.headers[BREAKWATER_HEADERS.ROUTE]);
    const route = this.deps.config.routes.get(routeName)!;
    const { settings } = this.deps.config;
    const deadline = Deadline.after(
      this.deps.clock,
      requestBudgetMs({
        lambdaRemainingMs: context.getRemainingTimeInMillis?.(),
        marginMs: settings.lambda_margin_ms,
        maxRequestMs: settings.max_request_ms,
      }),
    );

    const result = await executeRoute(route, { operation, body, deadline }, {
      adapterFor: (target) => this.adapterFor(target),
      clock: this.deps.clock,
      random: this.deps.random,
      retryBudgets: this.retryBudgets,
      observer: this.deps.observer,
    });

    this.deps.logger.info('request served', {
      tenant: tenant.name,
      route: routeName,
      operation,
      target: result.label,
      attempts: result.attempts.length,
      fallback_index: result.fallbackIndex,
    });
    return json(200, result.body, requestId, {
      [BREAKWATER_HEADERS.TARGET]: result.label,
      [BREAKWATER_HEADERS.ATTEMPTS]: String(result.attempts.length),
      [BREAKWATER_HEADERS.FALLBACK_INDEX]: String(result.fallbackIndex),
      [BREAKWATER_HEADERS.DEGRADED]: String(result.fallbackIndex > 0),
    });
  }

  private async listModels(event: APIGatewayProxyEvent, requestId: string): Promise<APIGatewayProxyResult> {
    const tenant = this.keys.authenticate(event.headers);
    return json(200, { object: 'list', data: [...this.reachableModels(tenant).values()] }, requestId);
  }

  /** `GET /v1/models/{id}` (the SDK's `models.retrieve`): one of the caller's models, else 404. */
  private modelRoute(id: string): Partial<Record<string, Handler>> {
    return {
      GET: async (event, _context, requestId) => {
        const model = this.reachableModels(this.keys.authenticate(event.headers)).get(id);
        if (!model) throw new GatewayError('unknown_route', `no model "${id}" on this key's routes`);
        return json(200, model, requestId);
      },
    };
  }

  /** Models named by the targets of the tenant's routes; weight-0 targets are never called. */
  private reachableModels(tenant: TenantConfig) {
    const models = new Map<string, { id: string; object: 'model'; created: number; owned_by: string }>();
    for (const routeName of tenant.allowedRoutes) {
      for (const target of leaves(this.deps.config.routes.get(routeName) as RouteNode)) {
        if (target.model && target.weight > 0 && !models.has(target.model)) {
          models.set(target.model, { id: target.model, object: 'model', created: 0, owned_by: target.providerName });
        }
      }
    }
    return models;
  }

  private routeFor(tenant: TenantConfig, requested: string | undefined): string {
    if (requested === undefined || requested === '') return tenant.route;
    if (!this.deps.config.routes.has(requested)) {
      throw new GatewayError('unknown_route', `no route named "${requested}"`, { details: { param: BREAKWATER_HEADERS.ROUTE } });
    }
    if (!tenant.allowedRoutes.has(requested)) {
      throw new GatewayError('model_not_allowed', `this key may not use route "${requested}"`);
    }
    return requested;
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
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', [BREAKWATER_HEADERS.REQUEST_ID]: requestId, ...headers },
    body: JSON.stringify(body),
  };
}
