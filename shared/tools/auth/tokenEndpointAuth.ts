import { defaultSecretRedactor, type SecretRedactor } from '../../redaction/SecretRedactor';

/**
 * How a client authenticates to an OAuth token endpoint (the names of RFC 7591 §2 / OpenID
 * Connect Core §9): `client_secret_basic` puts the client id and secret in an HTTP Basic
 * header, `client_secret_post` in the request's form (RFC 6749 §2.3.1).
 */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** An OAuth client's credentials, from the service's secret (`{"client_id", "client_secret"}`). */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

/** A token-endpoint request ready to send: form-encoded body and its headers. */
export interface TokenRequest {
  headers: Record<string, string>;
  body: string;
}

/**
 * The token-endpoint request of `form` with the client authenticated by `method`, and by that
 * method only (RFC 6749 §2.3.1: "MUST NOT use more than one authentication method in each
 * request"): with Basic the form carries neither `client_id` nor `client_secret`; with post there
 * is no `authorization` header. The credentials it sends are registered with the redactor first,
 * so an endpoint echoing them (in an error page) has them cut out of logs and answers.
 */
export function tokenRequest(
  method: TokenEndpointAuthMethod,
  client: OAuthClient,
  form: Readonly<Record<string, string>>,
  redactor: Pick<SecretRedactor, 'register'> = defaultSecretRedactor,
): TokenRequest {
  // The client fields are this function's alone, whatever the caller's form held.
  const rest: Record<string, string> = { ...form };
  delete rest.client_id;
  delete rest.client_secret;
  redactor.register(client.clientSecret);
  // GitHub answers form-encoded unless asked for JSON.
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (method === 'client_secret_post') {
    return { headers, body: new URLSearchParams({ ...rest, client_id: client.clientId, client_secret: client.clientSecret }).toString() };
  }
  const basic = basicClientCredentials(client);
  // The encoded pair is a credential in its own right.
  redactor.register(basic);
  return { headers: { ...headers, authorization: `Basic ${basic}` }, body: new URLSearchParams(rest).toString() };
}

/**
 * The `client_secret_basic` credentials (RFC 6749 §2.3.1): the client id and secret each
 * form-urlencoded (Appendix B) before they are joined with `:` and base64-encoded, so an id
 * holding `:` or a secret holding `%`, `+` or non-ASCII still splits and decodes exactly.
 */
export function basicClientCredentials(client: OAuthClient): string {
  return Buffer.from(`${formUrlEncode(client.clientId)}:${formUrlEncode(client.clientSecret)}`, 'utf8').toString('base64');
}

/**
 * application/x-www-form-urlencoded encoding of one value (UTF-8, space as `+`, all but
 * `A-Za-z0-9*-._` as `%XX`). `encodeURIComponent` is close but leaves `!'()~` and writes space as
 * `%20`, which is not the algorithm the RFC names.
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
