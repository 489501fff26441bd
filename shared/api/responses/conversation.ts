import { GatewayError } from '../../errors';
import type { ResponseStore, StoredResponse } from '../../responses';
import type { InputItem, ResponsesRequest } from './requestSchema';
import { responseIdOfItem } from './responseObject';

const responseNotFound = (message: string, param: string) => new GatewayError('response_not_found', message, { details: { param } });

const noStore = (param: string, what: string) =>
  new GatewayError(
    'invalid_request',
    `${what} needs stored responses, and this gateway has no state store (DynamoDB) to keep them in; send the whole conversation in \`input\``,
    { details: { param } },
  );

/**
 * Everything the model is to see this turn, as input items: with `previous_response_id`, the
 * stored conversation first (its input items, then its output items; its `instructions` are not
 * carried over, as OpenAI does), then this request's input with each `item_reference` replaced
 * by the stored output item it names. Reasoning items are dropped. This list is also what a
 * stored answer keeps, so the next turn can continue from it.
 *
 * @throws 404 `response_not_found` for a response or item that is missing, expired or another
 * tenant's; 400 when there is no store to read from
 */
export async function conversationOf(
  request: ResponsesRequest,
  store: ResponseStore | undefined,
  tenant: string,
): Promise<InputItem[]> {
  const input: InputItem[] = typeof request.input === 'string' ? [{ type: 'message', role: 'user', content: request.input }] : request.input;
  const loaded = new Map<string, Promise<StoredResponse | undefined>>();
  const load = (id: string) => {
    if (!loaded.has(id)) loaded.set(id, store!.get(tenant, id));
    return loaded.get(id)!;
  };

  const items: InputItem[] = [];
  const previousId = request.previous_response_id;
  if (previousId) {
    if (!store) throw noStore('previous_response_id', '`previous_response_id`');
    const previous = await load(previousId);
    if (!previous) throw responseNotFound(`no stored response "${previousId}" (it may have expired, or was not stored)`, 'previous_response_id');
    items.push(...(previous.input as InputItem[]), ...((previous.response.output ?? []) as InputItem[]));
  }

  for (const [index, item] of input.entries()) {
    if (item.type === 'reasoning') continue;
    if (item.type !== 'item_reference') {
      items.push(item);
      continue;
    }
    const param = `input[${index}]`;
    if (!store) throw noStore(param, 'an `item_reference`');
    const responseId = responseIdOfItem(item.id);
    const source = responseId ? await load(responseId) : undefined;
    const found = ((source?.response.output ?? []) as Array<{ id?: unknown }>).find((output) => output.id === item.id);
    if (!found) throw responseNotFound(`${param}: no stored item "${item.id}" (it may have expired, or was not stored)`, param);
    items.push(found as InputItem);
  }
  return items;
}
