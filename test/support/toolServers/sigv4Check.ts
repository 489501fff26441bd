import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { NodeSha256 } from '../../../shared/tools/auth/nodeSha256';
import type { ToolRequestRecord } from './mockToolServer';

/** Test credentials: never real. */
export const TEST_AWS_CREDENTIALS: AwsCredentialIdentity = {
  accessKeyId: 'AKIDTESTEXAMPLE00001',
  secretAccessKey: 'sk-test-aws-secret-0001-wJalrXUtnFEMI',
};

/**
 * What an API Gateway with IAM auth does: recomputes the request's SigV4 signature from what
 * arrived (method, path, query, the signed headers, body) with the known credentials, at the
 * request's own `x-amz-date`, and compares it with the one sent.
 */
export async function verifySigV4(
  request: ToolRequestRecord,
  options: { credentials: AwsCredentialIdentity; region: string; service: string },
): Promise<{ valid: boolean; reason?: string }> {
  const authorization = String(request.headers.authorization ?? '');
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return { valid: false, reason: 'no SigV4 authorization header' };
  const [, accessKeyId, , region, service, signedHeaders] = match;
  if (accessKeyId !== options.credentials.accessKeyId) return { valid: false, reason: 'unknown access key' };
  if (region !== options.region || service !== options.service) return { valid: false, reason: 'wrong scope' };
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(signingDate.getTime())) return { valid: false, reason: 'bad x-amz-date' };
  // The signer takes a signed x-amz-content-sha256 at its word: the body must match it.
  const payloadHash = request.headers['x-amz-content-sha256'];
  if (payloadHash !== undefined && payloadHash !== createHash('sha256').update(request.body).digest('hex')) {
    return { valid: false, reason: 'payload hash mismatch' };
  }
  const url = new URL(request.url, `http://${request.headers.host}`);
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) headers[name] = String(request.headers[name] ?? '');
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: options.service, sha256: NodeSha256 });
  const expected = await signer.sign(
    { method: request.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query, headers, body: request.body.length > 0 ? request.body : undefined },
    { signingDate },
  );
  return expected.headers.authorization === authorization ? { valid: true } : { valid: false, reason: 'signature mismatch' };
}
