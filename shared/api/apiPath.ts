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
    count += greedy ? (event.pathParameters?.[greedy] ?? '').split('/').filter(Boolean).length : 1;
  }
  const segments = path.split('/').filter(Boolean);
  if (count === 0) return '/';
  if (segments.length <= count) return path;
  const trailingSlash = path.endsWith('/') ? '/' : '';
  return `/${segments.slice(segments.length - count).join('/')}${trailingSlash}`;
}
