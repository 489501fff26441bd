import type { APIGatewayProxyEvent } from 'aws-lambda';

/**
 * The request's path as the API's own resources see it, whatever sits in front: behind a custom
 * domain's base-path mapping (`https://ai.example.com/llm/v1/chat/completions`) API Gateway's
 * `event.path` keeps the `/llm`, while the resource that matched (`/{proxy+}`, or
 * `/v1/chat/completions`) does not. The path is the last as many segments of `event.path` as
 * the matched resource has, counting a greedy `{name+}` parameter's own segments; segments are
 * taken from `event.path` itself so they stay as the client encoded them (the tool proxy checks
 * encoded forms). Without a resource (a test's hand-made event) it is `event.path`.
 */
export function apiPath(event: Pick<APIGatewayProxyEvent, 'path' | 'resource' | 'pathParameters'>): string {
  const { path, resource } = event;
  if (!resource || !path) return path;
  let count = 0;
  for (const segment of resource.split('/')) {
    if (segment === '') continue;
    const greedy = /^\{(\w+)\+\}$/.exec(segment)?.[1];
    count += greedy ? greedySegmentCount(path, event.pathParameters?.[greedy] ?? '') : 1;
  }
  const segments = path.split('/').filter(Boolean);
  if (count === 0) return '/';
  if (segments.length <= count) return path;
  const trailingSlash = path.endsWith('/') ? '/' : '';
  return `/${segments.slice(segments.length - count).join('/')}${trailingSlash}`;
}

/**
 * How many of `event.path`'s own segments a greedy parameter spans. API Gateway REST hands the
 * parameter decoded but the path encoded, so a tool path's `group%2Fproject` is one segment of the
 * path and two of the parameter: the parameter is found as the path's tail, as sent or decoded
 * once, rather than counted (counting would cut a base path in the wrong place).
 */
function greedySegmentCount(path: string, value: string): number {
  const wanted = value.split('/').filter(Boolean);
  const joined = wanted.join('/');
  const segments = path.split('/').filter(Boolean);
  for (let count = 1; count <= Math.min(segments.length, wanted.length); count++) {
    const tail = segments.slice(segments.length - count).join('/');
    if (tail === joined || decodedOnce(tail) === joined) return count;
  }
  return wanted.length;
}

function decodedOnce(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
