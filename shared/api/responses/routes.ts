import { GatewayError } from '../../errors';
import type { StoredResponse } from '../../responses';
import type { CompletionRenderer, GatewayEngine } from '../GatewayEngine';
import { json } from '../json';
import type { RouteRequest, RouteTable } from '../router';
import type { GatewayResponse } from '../chat/sseResponse';
import { conversationOf } from './conversation';
import { responseFromCompletion } from './fromChatCompletion';
import { parseResponsesRequest } from './parseRequest';
import { responseEcho, ResponseIds, type ResponseObject } from './responseObject';
import { responsesSseResponse } from './sseResponse';
import { toChatRequest } from './toChatRequest';

/**
 * OpenAI's Responses API on the engine: `POST /v1/responses` (buffered or streamed) translated
 * to and from the engine's Chat Completions form, so every target of a route serves it with the
 * same retries, fallbacks, caps, cache and idempotency; and `GET` / `DELETE /v1/responses/{id}`
 * for stored responses, scoped to the caller's tenant.
 */
export function responsesRoutes(engine: GatewayEngine): RouteTable {
  return {
    '/v1/responses': { POST: (request) => createResponse(engine, request) },
    '/v1/responses/{id}': {
      GET: async ({ event, requestId, params }) => {
        const principal = await engine.authenticate(event.headers);
        if (event.queryStringParameters?.stream === 'true') {
          throw new GatewayError('unsupported_parameter', '`stream` on a stored response is not supported: it is returned whole', {
            details: { param: 'stream' },
          });
        }
        const stored = await storeOf(engine, params.id!).get(principal.tenant.name, params.id!);
        if (!stored) throw notFound(params.id!);
        return json(200, stored.response, requestId);
      },
      DELETE: async ({ event, requestId, params }) => {
        const principal = await engine.authenticate(event.headers);
        const deleted = await storeOf(engine, params.id!).delete(principal.tenant.name, params.id!);
        if (!deleted) throw notFound(params.id!);
        return json(200, { id: params.id, object: 'response', deleted: true }, requestId);
      },
    },
  };
}

const notFound = (id: string) => new GatewayError('response_not_found', `no stored response "${id}" (it may have expired, or was not stored)`);

function storeOf(engine: GatewayEngine, id: string) {
  const store = engine.services.responses;
  if (!store) throw new GatewayError('response_not_found', `no stored response "${id}": this gateway has no state store, so it stores no responses`);
  return store;
}

/**
 * One turn. The caller is authenticated first (a stored conversation is the tenant's), the body
 * is validated and the conversation resolved, then the engine runs it as a chat completion and
 * renders the answer back as a response. With a store, the answer is stored unless `store:
 * false`: buffered, before it is returned; streamed, once its last event is out.
 */
async function createResponse(engine: GatewayEngine, request: RouteRequest): Promise<GatewayResponse> {
  const principal = await engine.authenticate(request.event.headers);
  const parsed = parseResponsesRequest(request.event.body);
  const store = engine.services.responses;
  const tenant = principal.tenant.name;
  const conversation = await conversationOf(parsed, store, tenant);
  const body = toChatRequest(parsed, conversation);

  // OpenAI's default is to store; without a store there is nothing to store in, and the answer says so.
  const save =
    store && parsed.store !== false
      ? async (response: ResponseObject) => {
          // An interface has no index signature; the store keeps the object as the JSON it is.
          await store.put(tenant, { response: response as unknown as StoredResponse['response'], input: conversation });
        }
      : undefined;
  const ids = new ResponseIds();
  const echo = responseEcho(parsed, save !== undefined);
  let answered: ResponseObject | undefined;
  const renderer: CompletionRenderer = {
    door: 'responses',
    buffered: (completion, headers, requestId) => {
      answered = responseFromCompletion(completion, ids, echo);
      return json(200, answered, requestId, headers);
    },
    streamed: (streamed, requestId, headers) => responsesSseResponse(streamed, { ids, echo, requestId, headers, onCompleted: save }),
  };
  const response = await engine.serveCompletion(request, { operation: 'chat', body, renderer });
  // An idempotent replay renders nothing (`answered` stays unset): it was stored the first time.
  if (answered && save) await save(answered);
  return response;
}
