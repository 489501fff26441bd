import { isGatewayError } from '../errors/GatewayError';
import type { RequestSample } from './RecentRequests';

/**
 * Paths that are not traffic: the console polling the admin API, its page, health checks. Left
 * out of the summary, or an open console would be most of what it shows.
 */
export function isOperatorPath(path: string): boolean {
  return path === '/health' || path === '/console' || path.startsWith('/console/') || path.startsWith('/v1/admin/');
}

/** A finished request as the summary counts it: its answer's status and headers, or the error it threw. */
export function requestSample(
  outcome: { response: { statusCode: number; headers: Record<string, string> } } | { error: unknown },
  latencyMs: number,
): RequestSample {
  if ('error' in outcome) {
    const { error } = outcome;
    return isGatewayError(error) ? { status: error.status, errorCode: error.code, latencyMs } : { status: 500, errorCode: 'internal_error', latencyMs };
  }
  const { statusCode, headers } = outcome.response;
  const fallback = Number(headers['x-breakwater-fallback-index']);
  const cost = Number(headers['x-breakwater-cost-usd']);
  return {
    status: statusCode,
    latencyMs,
    ...(headers['x-breakwater-fallback-index'] !== undefined && Number.isInteger(fallback) ? { fallbackIndex: fallback } : {}),
    ...(headers['x-breakwater-cost-usd'] !== undefined && Number.isFinite(cost) ? { costUsd: cost } : {}),
  };
}
