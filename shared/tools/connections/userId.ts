import { GatewayError } from '../../errors';

/** An end user id is the client's own (an email, a UUID, a database id): bounded, printable. */
const MAX_USER_ID_LENGTH = 256;

/** The `user` a connections call names, checked; a 400 naming `param` when it is missing or unusable. */
export function parseUserId(value: unknown, param = 'user'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new GatewayError('invalid_request', `\`${param}\` is required (in the body, the query or x-breakwater-user): the id of the end user whose connection this is`, { details: { param } });
  }
  if (value.length > MAX_USER_ID_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new GatewayError('invalid_request', `\`${param}\` must be at most ${MAX_USER_ID_LENGTH} printable characters`, { details: { param } });
  }
  return value;
}
