import { assertCallbackUrl } from '../../callbacks/checkCallbackUrl';
import { GatewayError } from '../../errors';
import { BREAKWATER_HEADERS } from '../../gateway/headers';
import { parseIdempotencyKey } from '../../idempotency/parseIdempotencyKey';
import { parseTaskSubmission } from '../../tasks/taskSubmission';
import { json } from '../json';
import type { GatewayEngine } from '../GatewayEngine';
import type { RouteTable } from '../router';

/** `POST /v1/tasks`, `GET` and `DELETE /v1/tasks/{id}`: asynchronous completions through the queues. */
export function tasksRoutes(engine: GatewayEngine): RouteTable {
  const tasks = () => {
    if (!engine.services.tasks) throw new GatewayError('unknown_route', 'tasks need the state store and queues, which this gateway has not got');
    return engine.services.tasks;
  };
  return {
    /**
     * Everything a synchronous request would be refused for is refused here, at submit time (a
     * bad body, a disallowed model, screening, a private callback URL), so nothing that can only
     * fail is ever queued. Tasks run on the tenant's own route.
     */
    '/v1/tasks': {
      POST: async ({ event, requestId }) => {
        const service = tasks();
        const principal = await engine.authenticate(event.headers);
        const submission = parseTaskSubmission(event.body);
        engine.checkAllowLists(principal, engine.config.routes.get(principal.tenant.route)!, submission.request);
        engine.screen(principal, submission.request);
        engine.completions.checkFits(principal, principal.tenant.route, submission.request);
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
          idempotencyKey,
        });
        // requestContext.path keeps API Gateway's stage (/prod/v1/tasks); event.path does not.
        const location = `${(event.requestContext?.path ?? event.path).replace(/\/+$/, '')}/${id}`;
        return json(202, { id, object: 'breakwater.task', status }, requestId, { location });
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
