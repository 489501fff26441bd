import { GatewayError } from '../errors';

/**
 * The tool proxy's path guard. A call's path is appended to the service's base URL, and the
 * credential goes with it: a path that climbs out of the base path (`/v1/../admin`) or names
 * another host (`//evil.example`) would spend the credential somewhere the operator never
 * configured. Servers and proxies between here and the API decode and normalise paths in
 * different ways (one decoding or two, `\` as `/`, `;` parameters, full-width dots), so the
 * guard refuses every segment that any of them could read as a step up or a separator, rather
 * than guessing which reading the API will make.
 */

/** How many rounds of percent-decoding are tried: a triple-encoded `..` is as suspect as a double one. */
const DECODE_ROUNDS = 4;

/** A path the guard accepts: its decoded segments (for permission patterns) and the text to send. */
export interface CheckedToolPath {
  /** Decoded once, as the API will see them (an allowed encoded slash stays `%2F`); a trailing slash adds no segment. */
  segments: string[];
  /** The path as the client sent it (percent-encoding kept), `/`-prefixed; '' for the service root. */
  raw: string;
}

/** How a service's paths are read. */
export interface ToolPathOptions {
  /** Accept `%2F`/`%2f` inside a segment, relayed encoded. @default false */
  allowEncodedSlashes?: boolean;
}

/**
 * The form an encoded slash takes in a checked segment: kept encoded, so a segment never holds a
 * `/` and a permission pattern names it as `%2F` (`/projects/group%2Fproject/*`). A segment cannot
 * hold a literal `%2F` any other way: `%252F`, its only source, is refused.
 */
export const ENCODED_SLASH = '%2F';

const reject = (reason: string): never => {
  throw new GatewayError('tool_path_rejected', `the tool path is refused: ${reason}`, { details: { param: 'path' } });
};

/**
 * Checks a call's path (still percent-encoded, as it came after `/v1/tools/<service>`). Throws
 * 400 `tool_path_rejected` for: `.` and `..` segments in any encoding (`%2e`, `%252e`, `.%2E`,
 * full-width `．`), `..;` parameters, backslashes and encoded slashes (`%2f`, `%5c`), empty
 * segments (`//host`), control characters and malformed or overlong UTF-8.
 *
 * With `allowEncodedSlashes` (a service's `allow_encoded_slashes`), a single-encoded `%2F` inside
 * a segment is accepted (GitLab's `projects/group%2Fproject`, npm's `@scope%2fname`) and relayed
 * still encoded; each piece between them must pass every check above, as a segment of its own,
 * since a lax API may decode the `%2F` into a separator: `..%2Fadmin`, `a%2F%2Fb`, `%2Fetc`,
 * `a%2F` and `%252F` stay refused.
 */
export function checkToolPath(raw: string, options: ToolPathOptions = {}): CheckedToolPath {
  if (raw === '' || raw === '/') return { segments: [], raw };
  if (!raw.startsWith('/')) reject('it must start with /');
  if (raw.length > 4_096) reject('it is longer than 4096 characters');
  if (raw.startsWith('//')) reject('an empty segment (//) can name another host');
  // A trailing slash is kept for the API (some care); it adds no segment.
  const parts = raw.slice(1).split('/');
  if (parts.at(-1) === '') parts.pop();
  const segments: string[] = [];
  for (const part of parts) {
    if (part === '') reject('empty segments (//) are not allowed');
    segments.push(options.allowEncodedSlashes ? checkSlashedSegment(part) : checkSegment(part));
  }
  return { segments, raw };
}

function checkSegment(part: string): string {
  let current = part;
  let once: string | undefined;
  for (let round = 0; round < DECODE_ROUNDS; round++) {
    checkDecoded(current);
    if (!current.includes('%')) break;
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      // Overlong forms (%c0%ae) and stray % land here: no API should get them either.
      return reject('a malformed percent-encoding');
    }
    once ??= next;
    if (next === current) break;
    current = next;
  }
  checkDecoded(current);
  return once ?? part;
}

/**
 * A segment that may hold encoded slashes: each piece between them is checked as a segment of its
 * own (a lax API may split there), and the decoded segment keeps the slashes as {@link ENCODED_SLASH}.
 */
function checkSlashedSegment(part: string): string {
  const pieces = part.split(/%2f/i);
  if (pieces.length === 1) return checkSegment(part);
  return pieces
    .map((piece) => {
      if (piece === '') reject('an encoded slash at the start or end of a segment, or two in a row');
      return checkSegment(piece);
    })
    .join(ENCODED_SLASH);
}

/** One reading of a segment: nothing in it may act as a separator, a step up, or a control. */
function checkDecoded(segment: string): void {
  if (/[/\\]/.test(segment)) reject('a slash or backslash inside a segment');
  if (/[\u0000-\u001f\u007f]/.test(segment)) reject('a control character');
  // Full-width and other compatibility dots fold to '.' under NFKC, which some servers apply.
  const folded = segment.normalize('NFKC');
  if (/[/\\]/.test(folded)) reject('a slash or backslash inside a segment');
  // `..;jsessionid` is `..` to Tomcat and Spring; `.` and `..` are steps everywhere.
  const name = folded.split(';')[0]!;
  if (name === '.' || name === '..') reject('. and .. segments are not allowed');
}

/**
 * The URL a checked path and query go to: the base URL's origin and path, the path appended.
 * The result is parsed again and must still sit under the base: the last line of defence, should
 * the URL parser ever read something the checks above let through as a step up.
 */
export function toolUrl(baseUrl: string, path: CheckedToolPath, query: string): URL {
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  // A decoded `?` or `#` in the path (some front doors decode it) must not start a query here.
  const sendable = path.raw.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@%/]/gu, encodeChar);
  const url = new URL(`${base.origin}${basePath}${sendable}${query ? `?${query}` : ''}`);
  const under = url.pathname === basePath || url.pathname === `${basePath}/` || url.pathname.startsWith(`${basePath}/`);
  if (url.origin !== base.origin || !under || (basePath === '' && !url.pathname.startsWith('/'))) {
    reject('it leaves the service base URL');
  }
  return url;
}

function encodeChar(char: string): string {
  try {
    return encodeURIComponent(char);
  } catch {
    // A lone surrogate has no UTF-8 form.
    return reject('a character that cannot be encoded');
  }
}
