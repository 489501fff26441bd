/**
 * Request content types API Gateway hands to the function base64-encoded (`isBase64Encoded`)
 * instead of as a UTF-8 string, which would mangle any byte sequence that is not valid UTF-8:
 * what agents upload through the tool proxy (files, images, audio, archives). JSON and text stay
 * strings, so the OpenAI-shaped doors parse them as before. The stack sets these as the REST
 * API's `binaryMediaTypes` (lib/GatewayApi.ts); the local server (bin/local/apiGatewayServer.ts)
 * encodes the same ones, so `npm start` and the e2e tests take the deployed path.
 */
export const BINARY_MEDIA_TYPES: readonly string[] = [
  'application/octet-stream',
  'multipart/form-data',
  'application/pdf',
  'application/zip',
  'image/*',
  'audio/*',
  'video/*',
];

/**
 * Whether API Gateway would base64-encode a request with this Content-Type: its media type
 * (parameters such as `; boundary=` ignored, case-insensitive) equals an entry or falls under
 * an entry's `type/*`.
 */
export function isBinaryMediaType(contentType: string | undefined, mediaTypes: readonly string[] = BINARY_MEDIA_TYPES): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  const slash = mediaType.indexOf('/');
  if (slash <= 0) return false;
  return mediaTypes.some((entry) => entry === mediaType || (entry.endsWith('/*') && entry.slice(0, -1) === mediaType.slice(0, slash + 1)));
}
