/** Request headers the gateway reads and response headers it adds beyond the completion's own. */
export const BREAKWATER_HEADERS = {
  ROUTE: 'x-breakwater-route',
  REQUEST_ID: 'x-request-id',
  IDEMPOTENCY_KEY: 'idempotency-key',
  REPLAYED: 'idempotent-replayed',
} as const;
