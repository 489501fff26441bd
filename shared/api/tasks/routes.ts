import { assertCallbackUrl } from '../../callbacks/checkCallbackUrl';
import { GatewayError } from '../../errors';
import { BREAKWATER_HEADERS } from '../../gateway/headers';
import { parseIdempotencyKey } from '../../idempotency/parseIdempotencyKey';
import { runWithDeadline } from '../../resilience/deadlineScope';
import { parseTaskSubmission } from '../../tasks/taskSubmission';
import { json } from '../json';
import type { GatewayEngine } from '../GatewayEngine';
import type { RouteTable } from '../router';

/** `POST` and `GET /v1/tasks`, `GET` and `DELETE /v1/tasks/{id}`: asynchronous completions through the queues. */
export function tasksRoutes(engine: GatewayEngine): RouteTable {
  const tasks = () => {
    if (!engine.services.tasks) throw new GatewayError('unknown_route', 'tasks need the state store and queues, which this gateway has not got');
    return engine.services.tasks;
  };
  return {
    /**
     * Everything a synchronous request would be refused for is refused here, at submit time (a
     * bad body, a route the key may not use, a disallowed model, a parameter a target of the
     * route cannot honour, screening, a private callback URL), so nothing that can only fail is
     * ever queued. Tasks run on the route `x-breakwater-route` names, under the same allow-list
     * as a synchronous request, else on the tenant's own.
     */
    '/v1/tasks': {
      // Under the request's deadline: the task's write and its send end by it, not only by their own bounds (2 s + 5 s).
      POST: ({ event, context, requestId }) =>
        runWithDeadline(engine.requestDeadline(context), async () => {
          const service = tasks();
          const principal = await engine.authenticate(event.headers);
          const submission = parseTaskSubmission(event.body);
          const requested = event.headers[BREAKWATER_HEADERS.ROUTE];
          const route = engine.routeFor(principal, requested);
          engine.checkAllowLists(principal, engine.config.routes.get(route)!, submission.request);
          engine.screen(principal, submission.request);
          engine.completions.checkTargets(route, 'chat', submission.request);
          engine.completions.checkFits(principal, route, submission.request);
          if (submission.callback_url) {
            await assertCallbackUrl(submission.callback_url, { allowPrivate: principal.policy.callback_allow_private ?? false });
          }
          const idempotencyKey = parseIdempotencyKey(event.headers[BREAKWATER_HEADERS.IDEMPOTENCY_KEY]);
          const { id, status } = await service.submit({
            tenant: principal.tenant.name,
            keyPrefix: principal.keyPrefix,
            keyId: principal.keyId,
            keyPolicy: principal.keyPolicy,
            body: event.body,
            ...(requested ? { route } : {}),
            idempotencyKey,
          });
          // requestContext.path keeps API Gateway's stage (/prod/v1/tasks); event.path does not.
          const location = `${(event.requestContext?.path ?? event.path).replace(/\/+$/, '')}/${id}`;
          return json(202, { id, object: 'breakwater.task', status }, requestId, { location });
        }),
      /** The caller's tenant's tasks, newest first: `?limit=` (1 to 100, default 20) and `?after=<last_id>`. */
      GET: async ({ event, requestId }) => {
        const service = tasks();
        const principal = await engine.authenticate(event.headers);
        const query = event.queryStringParameters ?? {};
        return json(200, await service.list(principal.tenant.name, { limit: query.limit ?? undefined, after: query.after ?? undefined }), requestId);
      },
    },
    /** Scoped to the caller's tenant, so another tenant's id is a 404. */
    '/v1/tasks/{id}': {
      GET: async ({ event, requestId, params }) => {
        const principal = await engine.authenticate(event.headers);
        return json(200, await tasks().get(principal.tenant.name, params.id!), requestId);
      },
      DELETE: async ({ event, requestId, params }) => {
        const principal = await engine.authenticate(event.headers);
        return json(200, await tasks().cancel(principal.tenant.name, params.id!), requestId);
      },
    },
  };
}
