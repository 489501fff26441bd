const LOOPBACK = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/;

/**
 * The endpoint, region and credentials an AWS SDK client gets. A loopback endpoint is a local
 * emulator (dynalite, DynamoDB Local, fauxqs, the local Secrets Manager): they accept any
 * credentials, so dummy ones keep the SDK from looking for real ones, and any region will do.
 * Anywhere else the client uses the function's role and region, as the SDK finds them.
 */
export function awsEndpointOptions(endpoint: string | undefined, region: string | undefined, localRegion = 'local') {
  const local = endpoint !== undefined && LOOPBACK.test(endpoint);
  return {
    endpoint,
    region: region ?? process.env.AWS_REGION ?? (local ? localRegion : undefined),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
}
