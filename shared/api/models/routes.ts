import { GatewayError } from '../../errors';
import type { Principal } from '../../gateway/Principal';
import { leaves, type RouteNode } from '../../routing';
import { json } from '../json';
import type { GatewayEngine } from '../GatewayEngine';
import type { RouteTable } from '../router';

interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** Models named by the targets of the caller's routes; weight-0 targets are never called. */
function reachableModels(engine: GatewayEngine, principal: Principal): Map<string, ModelEntry> {
  const allowed = principal.policy.allowed_models;
  const models = new Map<string, ModelEntry>();
  for (const routeName of engine.allowedRoutes(principal)) {
    for (const target of leaves(engine.config.routes.get(routeName) as RouteNode)) {
      if (!target.model || target.weight === 0 || models.has(target.model)) continue;
      if (allowed && !allowed.includes(target.model)) continue;
      models.set(target.model, { id: target.model, object: 'model', created: 0, owned_by: target.providerName });
    }
  }
  return models;
}

/** `GET /v1/models` and `GET /v1/models/{id}` (the SDKs' `models.list` / `models.retrieve`). */
export const modelsRoutes = (engine: GatewayEngine): RouteTable => ({
  '/v1/models': {
    GET: async ({ event, requestId }) => {
      const principal = await engine.authenticate(event.headers);
      return json(200, { object: 'list', data: [...reachableModels(engine, principal).values()] }, requestId);
    },
  },
  '/v1/models/{id}': {
    GET: async ({ event, requestId, params }) => {
      const model = reachableModels(engine, await engine.authenticate(event.headers)).get(params.id!);
      if (!model) {
        throw new GatewayError('model_not_found', `the model "${params.id}" does not exist on this key's routes`, { details: { param: 'model' } });
      }
      return json(200, model, requestId);
    },
  },
});
