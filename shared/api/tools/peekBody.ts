import { Readable } from 'node:stream';
import { GatewayError } from '../../errors';

/**
 * A relayed body as the Lambda stream wants it: an empty one (HEAD, 204, 304, a bare redirect) as
 * `''`, because a streamed response writes its status and headers with its first chunk, and a body
 * stream that never yields one would never send them (the runtime then answers 502); anything else
 * as a stream that starts with the chunk already read. Waiting for the first chunk costs nothing a
 * client could have seen earlier, but the head. Destroying the result destroys the source.
 */
export async function peekBody(body: Readable, service: string): Promise<string | Readable> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let first: IteratorResult<Buffer | string>;
  try {
    first = await iterator.next();
  } catch (cause) {
    throw new GatewayError('service_failed', `the answer of service "${service}" broke off before its first byte`, { cause });
  }
  if (first.done) return '';
  const head = first.value;
  async function* rest(): AsyncGenerator<Buffer | string> {
    try {
      yield head;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    } finally {
      await iterator.return?.();
    }
  }
  return Readable.from(rest());
}
