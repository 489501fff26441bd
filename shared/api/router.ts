import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { GatewayError } from '../errors';
import type { GatewayResponse } from './chat/sseResponse';

/** One HTTP request as a door's handler sees it. */
export interface RouteRequest {
  event: APIGatewayProxyEvent;
  context: Context;
  requestId: string;
  /** The path's `{name}` segments, decoded; a `{name+}` tail as sent (still percent-encoded). */
  params: Readonly<Record<string, string>>;
}

export type RouteHandler = (request: RouteRequest) => Promise<GatewayResponse>;

/**
 * `path pattern -> method -> handler`; a pattern's `{name}` segment matches one path segment, and
 * a last `{name+}` segment (API Gateway's greedy form) the rest of the path. Method `ANY` answers
 * every method the route has no handler of its own for.
 */
export type RouteTable = Record<string, Partial<Record<string, RouteHandler>>>;

interface CompiledRoute {
  pattern: string;
  regex: RegExp;
  names: string[];
  /** The names whose value is kept percent-encoded (greedy tails). */
  raw: Set<string>;
  methods: Partial<Record<string, RouteHandler>>;
}

/**
 * Method + path -> handler, the way Hono and Powertools' event handler do it: each API surface
 * (a door) brings its own table, and the gateway only merges them. Exact paths win over patterns.
 */
export class Router {
  private readonly exact = new Map<string, Partial<Record<string, RouteHandler>>>();
  private readonly patterns: CompiledRoute[] = [];

  constructor(...tables: RouteTable[]) {
    for (const table of tables) {
      for (const [pattern, methods] of Object.entries(table)) {
        if (!pattern.includes('{')) {
          this.exact.set(pattern, { ...this.exact.get(pattern), ...methods });
          continue;
        }
        const names: string[] = [];
        const raw = new Set<string>();
        const source = pattern
          .split('/')
          .map((segment) => {
            const match = /^\{(\w+)(\+?)\}$/.exec(segment);
            if (!match) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
            names.push(match[1]!);
            if (!match[2]) return '([^/]+)';
            raw.add(match[1]!);
            return '(.+)';
          })
          .join('/');
        this.patterns.push({ pattern, regex: new RegExp(`^${source}$`), names, raw, methods });
      }
    }
  }

  /** The handler for a request; 404 `unknown_route` or 405 `method_not_allowed` (with `Allow`) otherwise. */
  route(method: string, rawPath: string): { handler: RouteHandler; params: Record<string, string> } {
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
    let methods = this.exact.get(path);
    let params: Record<string, string> = {};
    if (!methods) {
      for (const route of this.patterns) {
        const match = route.regex.exec(path);
        if (!match) continue;
        methods = route.methods;
        params = Object.fromEntries(route.names.map((name, i) => [name, route.raw.has(name) ? match[i + 1]! : safeDecode(match[i + 1]!)]));
        break;
      }
    }
    if (!methods) throw new GatewayError('unknown_route', `no such endpoint: ${method} ${path}`);
    const handler = methods[method] ?? methods.ANY;
    if (!handler) {
      const allow = Object.keys(methods).join(', ');
      throw new GatewayError('method_not_allowed', `${path} accepts ${allow}`, { headers: { allow } });
    }
    return { handler, params };
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError('invalid_request', 'the path has a malformed percent-encoding');
  }
}
