/**
 * The forms a secret takes when it is base64-encoded, alone or inside a longer encoded string
 * (a Basic auth header, a JSON document or a config file encoded whole).
 *
 * Base64 encodes 3 bytes as 4 characters, so the characters a secret turns into depend on where
 * it starts within a 3-byte group: there are three forms, one per offset. In each, the first
 * characters mix in bits of whatever came before and the last mix in bits of whatever comes
 * after; only the characters made of the secret's bits alone are kept, so a form is found
 * whatever surrounds the secret. Each form is given in the standard alphabet (`+/`) and the
 * URL-safe one (`-_`), without padding.
 *
 * A secret of n bytes keeps about 4n/3 − 3 characters in its worst form: an 8-byte secret keeps
 * 7, a 20-byte one 23.
 */
export function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set<string>();
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Characters 6k..6k+5 bits in: the first ones holding a filler bit and the last ones
    // reaching past the secret are dropped.
    const first = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const form = encoded.slice(first, end);
    if (form === '') continue;
    forms.add(form);
    forms.add(toUrlSafe(form));
  }
  return [...forms];
}

/** Standard base64 → the URL-safe alphabet (RFC 4648 §5). */
export const toUrlSafe = (base64: string): string => base64.replace(/\+/g, '-').replace(/\//g, '_');
