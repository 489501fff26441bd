import { estimateInputTokens } from '../../budget/estimate';
import { GatewayError } from '../../errors';
import { BREAKWATER_HEADERS } from '../../gateway/headers';
import type { Principal } from '../../gateway/Principal';
import type { ProviderAdapter, UpstreamOutcome } from '../../providers';
import { leaves } from '../../routing';
import { json } from '../json';
import type { GatewayEngine } from '../GatewayEngine';
import type { RouteRequest } from '../router';
import type { GatewayResponse } from '../chat/sseResponse';
import { nativeOf, parseCountTokensRequest, promptToChat } from './toChatRequest';

/** Says where a count came from: Anthropic's own tokenizer, or the gateway's (high) estimate. */
export const TOKEN_COUNT_HEADER = 'x-breakwater-token-count';

/** An adapter that can ask its upstream for a token count (Anthropic's). */
interface TokenCounter {
  countTokens(request: { body: Record<string, unknown>; beta?: string; timeoutMs: number; credential?: string }): Promise<UpstreamOutcome>;
}

const isTokenCounter = (adapter: ProviderAdapter): adapter is ProviderAdapter & TokenCounter =>
  typeof (adapter as Partial<TokenCounter>).countTokens === 'function';

/** Upstream refusals that are the request's fault: passed on, not hidden behind an estimate. */
const REQUEST_FAULTS = new Set([400, 404, 413, 422]);

/**
 * `POST /v1/messages/count_tokens`. When the route's first target is Anthropic, its own
 * count_tokens endpoint answers (with the client's native body, the target's model and the
 * client's `anthropic-beta`): `x-breakwater-token-count: upstream`. Otherwise, or when that call
 * fails for any reason but the request itself, the gateway's estimate (the one spend caps
 * reserve with, which errs high): `x-breakwater-token-count: estimate`. Free upstream, so no
 * rate limit, spend or cache applies; the key, the route and the allow-lists do.
 */
export async function countTokens(engine: GatewayEngine, { event, requestId }: RouteRequest): Promise<GatewayResponse> {
  const principal = await engine.authenticate(event.headers);
  const request = parseCountTokensRequest(event.body);
  const route = engine.config.routes.get(routeFor(engine, principal, event.headers[BREAKWATER_HEADERS.ROUTE]))!;
  const chat = promptToChat(request);
  engine.checkAllowLists(principal, route, chat);

  const answer = (inputTokens: number, source: 'upstream' | 'estimate') =>
    json(200, { input_tokens: inputTokens }, requestId, { [TOKEN_COUNT_HEADER]: source, 'request-id': requestId });

  const target = leaves(route).find((candidate) => candidate.weight > 0);
  const adapter = target?.provider.type === 'anthropic' ? engine.adapterFor(target) : undefined;
  if (target && adapter && isTokenCounter(adapter)) {
    const native = nativeOf(request, event.headers['anthropic-beta']);
    const outcome = await adapter.countTokens({
      body: { ...native.body, model: target.model ?? request.model },
      beta: native.beta,
      timeoutMs: target.requestTimeoutMs,
      credential: principal.policy.credential_overrides?.[target.providerName],
    });
    if (outcome.kind === 'success') return answer(outcome.body.input_tokens as number, 'upstream');
    if (outcome.kind === 'http_error' && REQUEST_FAULTS.has(outcome.status)) {
      throw new GatewayError('upstream_rejected', `${target.providerName} refused the count: ${outcome.message}`, { status: outcome.status });
    }
  }
  return answer(estimateInputTokens(chat), 'estimate');
}

/** The route a request names in `x-breakwater-route` (when this key may use it), else the tenant's own. */
function routeFor(engine: GatewayEngine, principal: Principal, requested: string | undefined): string {
  if (requested === undefined || requested === '') return principal.tenant.route;
  if (!engine.config.routes.has(requested)) {
    throw new GatewayError('unknown_route', `no route named "${requested}"`, { details: { param: BREAKWATER_HEADERS.ROUTE } });
  }
  if (!engine.allowedRoutes(principal).has(requested)) {
    throw new GatewayError('model_not_allowed', `this key may not use route "${requested}"`);
  }
  return requested;
}
