import type { APIGatewayProxyEvent } from 'aws-lambda';
import { END_USER_HEADER } from '../../budget/endUser';
import { GatewayError } from '../../errors';
import type { Principal } from '../../gateway/Principal';
import { parseUserId, type Connections } from '../../tools/connections';
import { json } from '../json';
import type { GatewayEngine } from '../GatewayEngine';
import type { RouteTable } from '../router';

export const CALLBACK_PATH = '/v1/connections/callback';

/**
 * End users' OAuth connections to `oauth_user` services:
 * - `POST /v1/connections/{service}` (virtual key; `user` in the body, the query or `x-breakwater-user`)
 *   answers the URL to send the user to;
 * - `GET /v1/connections/callback` is where the provider sends them back: no virtual key, the
 *   signed single-use `state` says whose connection it is;
 * - `GET /v1/connections?user=` lists the user's connections, `DELETE /v1/connections/{service}?user=`
 *   removes one (and revokes it at the provider). All scoped to the caller's tenant.
 */
export function connectionsRoutes(engine: GatewayEngine): RouteTable {
  const connections = (): Connections => {
    if (!engine.services.connections) {
      throw new GatewayError('unknown_route', 'user connections need the state store, which this gateway has not got');
    }
    return engine.services.connections;
  };
  return {
    '/v1/connections': {
      GET: async ({ event, requestId }) => {
        const service = connections();
        const principal = await engine.authenticate(event.headers);
        return json(200, await service.list(principal.tenant.name, userOf(event)), requestId);
      },
    },
    [CALLBACK_PATH]: {
      GET: async ({ event, requestId }) => {
        const query = event.queryStringParameters ?? {};
        const connected = await connections().complete({
          state: query.state ?? undefined,
          code: query.code ?? undefined,
          error: query.error ?? undefined,
        });
        // A person's browser lands here: a page for it, JSON for anything else.
        if ((event.headers.accept ?? '').includes('text/html')) {
          return {
            statusCode: 200,
            headers: { 'content-type': 'text/html; charset=utf-8', 'x-request-id': requestId, 'cache-control': 'no-store' },
            body: connectedPage(connected.service),
          };
        }
        return json(200, connected, requestId, { 'cache-control': 'no-store' });
      },
    },
    '/v1/connections/{service}': {
      POST: async ({ event, requestId, params }) => {
        const service = connections();
        const principal = await engine.authenticate(event.headers);
        const name = params.service!;
        checkServiceAllowed(principal, name);
        const user = userOf(event, bodyUser(event.body));
        const redirectUri = callbackUrl(event, engine.config.settings.public_base_url);
        return json(200, await service.start({ tenant: principal.tenant.name, user, service: name, redirectUri }), requestId, {
          'cache-control': 'no-store',
        });
      },
      DELETE: async ({ event, requestId, params }) => {
        const service = connections();
        const principal = await engine.authenticate(event.headers);
        const name = params.service!;
        checkServiceAllowed(principal, name);
        return json(200, await service.remove({ tenant: principal.tenant.name, user: userOf(event), service: name }), requestId);
      },
    },
  };
}

/** `allowed_services` of the tenant's policy (merged with the key's) and of the key's own. */
function checkServiceAllowed(principal: Principal, service: string): void {
  for (const policy of [principal.policy, principal.keyPolicy]) {
    if (policy?.allowed_services && !policy.allowed_services.includes(service)) {
      throw new GatewayError('tool_not_allowed', `this key may not use service "${service}"`);
    }
  }
}

/** The user from the body (POST), else `?user=`, else `x-breakwater-user`. */
function userOf(event: APIGatewayProxyEvent, fromBody?: unknown): string {
  const fromQuery = event.queryStringParameters?.user;
  if (fromBody !== undefined) return parseUserId(fromBody);
  if (fromQuery !== undefined && fromQuery !== null) return parseUserId(fromQuery);
  return parseUserId(event.headers[END_USER_HEADER]);
}

/** The body's `user`, when there is a JSON object body (parsed by the handler's middleware). */
function bodyUser(body: unknown): unknown {
  if (body === undefined || body === null || body === '') return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'the body must be a JSON object like {"user": "<end user id>"}', { details: { param: 'body' } });
  }
  return (body as { user?: unknown }).user;
}

/**
 * The gateway's own callback URL: `settings.public_base_url` when set (a custom domain: the URL
 * registered with the provider), else this request's host and API Gateway stage, which is what
 * API Gateway's default URL (`https://<id>.execute-api.<region>.amazonaws.com/<stage>`) gives.
 */
export function callbackUrl(event: APIGatewayProxyEvent, publicBaseUrl: string | undefined): string {
  if (publicBaseUrl) return `${publicBaseUrl.replace(/\/+$/, '')}${CALLBACK_PATH}`;
  const host = event.headers.host;
  if (!host || !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) {
    throw new GatewayError('invalid_request', 'the request has no usable Host header to build the callback URL from (set settings.public_base_url)', {
      details: { param: 'host' },
    });
  }
  const loopback = /^(127\.0\.0\.1|localhost|\[::1\])(:|$)/.test(host);
  // Only a gateway on the developer's own machine is plain HTTP; a client's header cannot ask for it.
  const proto = loopback ? 'http' : 'https';
  // requestContext.path keeps API Gateway's stage (/prod/v1/...); event.path does not.
  const full = event.requestContext?.path ?? event.path;
  const stage = full.endsWith(event.path) ? full.slice(0, full.length - event.path.length) : '';
  return `${proto}://${host}${stage}${CALLBACK_PATH}`;
}

function connectedPage(service: string): string {
  const safe = service.replace(/[^a-z0-9_-]/g, '');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Connected</title></head><body><p>Connected to ${safe}. You can close this window.</p></body></html>`;
}
