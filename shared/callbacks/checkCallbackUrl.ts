import { promises as dns } from 'node:dns';
import { GatewayError } from '../errors';
import { ALLOWABLE_CLASSES, classifyAddress, parseIpAddress } from './addressPolicy';

/** Why a callback URL was refused, machine-readable. */
export const CALLBACK_URL_REFUSALS = {
  INVALID_URL: 'invalid_url',
  UNSUPPORTED_SCHEME: 'unsupported_scheme',
  FORBIDDEN_ADDRESS: 'forbidden_address',
  UNRESOLVABLE: 'unresolvable',
} as const;
export type CallbackUrlRefusal = (typeof CALLBACK_URL_REFUSALS)[keyof typeof CALLBACK_URL_REFUSALS];

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to; `dns.promises.lookup(host, { all: true })` by default. */
export type HostLookup = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export const systemLookup: HostLookup = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export interface CheckCallbackUrlOptions {
  /**
   * The tenant's policy lets callbacks reach loopback, private, link-local and unique-local
   * addresses (a receiver inside its own network, a local test). Unspecified, multicast,
   * reserved and cloud-metadata addresses stay refused even then.
   * @default false
   */
  allowPrivate?: boolean;
  /** @default systemLookup */
  lookup?: HostLookup;
}

export type CallbackUrlCheck =
  | {
      ok: true;
      url: URL;
      /** The vetted address to connect to: connecting anywhere else would reopen DNS rebinding. */
      address: string;
      family: 4 | 6;
    }
  | { ok: false; code: CallbackUrlRefusal; reason: string };

/** Long enough for any real webhook URL; longer ones are refused before any parsing work. */
const MAX_URL_LENGTH = 2_048;

const refuse = (code: CallbackUrlRefusal, reason: string): CallbackUrlCheck => ({ ok: false, code, reason });

/**
 * Decides whether a callback may be POSTed to `url`: http(s) only, and every address the host
 * resolves to must be allowed (one private address among public ones is enough to refuse,
 * since the connection could land on any of them). Returns the address to connect to; the
 * caller must connect to that address, not resolve the name again.
 * Used at submit time (a refused URL is a 400) and again before every delivery attempt, since
 * the DNS answer may have changed in between.
 */
export async function checkCallbackUrl(url: string, options: CheckCallbackUrlOptions = {}): Promise<CallbackUrlCheck> {
  if (url.length > MAX_URL_LENGTH) return refuse(CALLBACK_URL_REFUSALS.INVALID_URL, `longer than ${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse(CALLBACK_URL_REFUSALS.INVALID_URL, 'not an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return refuse(CALLBACK_URL_REFUSALS.UNSUPPORTED_SCHEME, `scheme ${parsed.protocol.replace(/:$/, '')} is not http or https`);
  }
  // WHATWG parsing already turned 0x7f.1 and 2130706433 into 127.0.0.1; IPv6 keeps its brackets.
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (host === '') return refuse(CALLBACK_URL_REFUSALS.INVALID_URL, 'no host');

  let addresses: ResolvedAddress[];
  const literal = parseIpAddress(host) !== undefined;
  if (literal) {
    addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }];
  } else {
    try {
      const answers = await (options.lookup ?? systemLookup)(host);
      addresses = answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return refuse(CALLBACK_URL_REFUSALS.UNRESOLVABLE, `host ${host} does not resolve${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    if (addresses.length === 0) return refuse(CALLBACK_URL_REFUSALS.UNRESOLVABLE, `host ${host} has no address`);
  }

  for (const { address } of addresses) {
    const cls = classifyAddress(address);
    if (cls === undefined) continue;
    if (options.allowPrivate === true && ALLOWABLE_CLASSES.has(cls)) continue;
    const hint = options.allowPrivate !== true && ALLOWABLE_CLASSES.has(cls) ? ' (the tenant policy does not allow private callbacks)' : '';
    const what = literal ? `${host} is` : `host ${host} resolves to`;
    return refuse(CALLBACK_URL_REFUSALS.FORBIDDEN_ADDRESS, `${what} a ${cls} address${hint}`);
  }
  const first = addresses[0]!;
  return { ok: true, url: parsed, address: first.address, family: first.family };
}

/**
 * Submit-time check: the normalised URL, or a 400 `invalid_request` naming `callback_url`.
 * The resolved address is deliberately not reported back to the client.
 */
export async function assertCallbackUrl(url: string, options: CheckCallbackUrlOptions = {}): Promise<string> {
  const check = await checkCallbackUrl(url, options);
  if (!check.ok) {
    throw new GatewayError('invalid_request', `callback_url refused: ${check.reason}`, {
      details: { param: 'callback_url', reason: check.code },
    });
  }
  return check.url.href;
}
