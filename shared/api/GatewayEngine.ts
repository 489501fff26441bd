import type { CompiledConfig } from '../config';
import type { CompletionService, StreamedCompletion } from '../gateway/CompletionService';
import type { GatewayServices } from '../gateway/GatewayServices';
import type { Principal } from '../gateway/Principal';
import type { Operation, ProviderAdapter } from '../providers';
import type { Deadline } from '../resilience';
import type { RouteNode, TargetNode } from '../routing';
import type { GatewayResponse } from './chat/sseResponse';
import type { RouteRequest } from './router';

/** How a door puts the engine's answer in its own dialect. */
export interface CompletionRenderer {
  /** Names the door in the idempotency payload, so one key never replays another door's answer. */
  door: string;
  /** A buffered answer: the engine's chat.completion (or embeddings list) and its headers. */
  buffered(body: Record<string, unknown>, headers: Record<string, string>, requestId: string): GatewayResponse;
  /** A streamed answer (live, or a stored one replayed); `headers` are added to the head. */
  streamed(streamed: StreamedCompletion, requestId: string, headers?: Record<string, string>): GatewayResponse;
}

export interface CompletionCall {
  operation: Operation;
  /** The request in the engine's form (OpenAI's Chat Completions or Embeddings body), as the door translated it. */
  body: unknown;
  renderer: CompletionRenderer;
}

/**
 * What every door (chat, responses, messages, tasks, models, ...) gets from the gateway: who is
 * calling, and one call that runs a completion through admission, idempotency, limits, spend,
 * cache and the route walk, buffered or streamed. Data flows one way: door -> engine -> door.
 */
export interface GatewayEngine {
  readonly config: CompiledConfig;
  readonly services: GatewayServices;
  readonly completions: CompletionService;
  authenticate(headers: Readonly<Record<string, string | undefined>>): Promise<Principal>;
  serveCompletion(request: RouteRequest, call: CompletionCall): Promise<GatewayResponse>;
  /**
   * A request's deadline (the function's remaining time less its margin, at most
   * `max_request_ms`), for a door's store and queue calls outside a completion: run them
   * under `runWithDeadline` and they end by it, as a completion's do.
   */
  requestDeadline(context: RouteRequest['context']): Deadline;
  /** The routes a principal may use: its tenant's own, plus `allowed_routes`. */
  allowedRoutes(principal: Principal): Set<string>;
  /**
   * The route a request runs on: the one `x-breakwater-route` names (404 `unknown_route` if
   * there is none such, 403 `model_not_allowed` if the key may not use it), else the tenant's.
   */
  routeFor(principal: Principal, requested: string | undefined): string;
  /** `allowed_models` / `allowed_providers`: every target the request could reach must be allowed. */
  checkAllowLists(principal: Principal, route: RouteNode, body: Record<string, unknown>): void;
  /** Input screening per the principal's policy: logs, counts and (in `block` mode) refuses. */
  screen(principal: Principal, body: Record<string, unknown>): void;
  /**
   * The adapter of a target's provider, for a door's call outside the route walk (the Messages
   * door's count_tokens); one per provider for the container's life.
   */
  adapterFor(target: TargetNode): ProviderAdapter;
}
