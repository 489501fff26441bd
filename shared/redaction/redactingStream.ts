import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { SecretRedactor } from './SecretRedactor';
import type { StreamScanner } from './StreamScanner';

/**
 * A byte stream with the credentials in use cut out, also across chunk boundaries (see
 * {@link StreamScanner}), and bytes decoded as UTF-8 across chunks so a character split in two
 * is never mangled. A chunk that ends an SSE event holds nothing back.
 */
export function redactingStream(redactor: SecretRedactor): Transform {
  const decoder = new StringDecoder('utf8');
  const scanner = redactor.scanner();
  return new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      const ready = scanner.push(typeof chunk === 'string' ? chunk : decoder.write(chunk));
      callback(null, ready === '' ? undefined : ready);
    },
    flush(callback) {
      const rest = scanner.push(decoder.end()) + scanner.end();
      callback(null, rest === '' ? undefined : rest);
    },
  });
}
