import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { GatewayResponse } from '../chat/sseResponse';
import { json } from '../json';
import type { RouteTable } from '../router';

/**
 * Where a deployed gateway finds the bundle `npm run build:console` wrote: relative to the
 * working directory, which is the bundle's root on Lambda (/var/task) and the repository's
 * under `npm start`. `BREAKWATER_CONSOLE_JS` names another file.
 */
export const CONSOLE_BUNDLE_PATH = 'console/dist/app.js';

/**
 * The bundler, for a gateway run from the repository (`npm start`, tests): the page is bundled
 * from its source at the first request (about 50 ms), so it never lags its source. A URL, not a
 * literal specifier, so the Lambda bundle does not pull esbuild in; there the import fails and
 * the built file is used.
 */
const BUNDLER_URL = new URL('../../../console/buildConsole.ts', import.meta.url).href;

export interface ConsoleSource {
  /** The page's script, or undefined when neither the bundler nor a built bundle is there. */
  script(): Promise<string | undefined>;
}

/** The built file if there is one configured, else the bundler, else the built file at its default path. */
export const defaultConsoleSource: ConsoleSource = {
  async script() {
    const configured = process.env.BREAKWATER_CONSOLE_JS;
    if (configured) return readFile(resolve(configured), 'utf8');
    try {
      const { bundleConsole } = (await import(BUNDLER_URL)) as { bundleConsole: () => Promise<string> };
      return await bundleConsole();
    } catch {
      return readFile(resolve(CONSOLE_BUNDLE_PATH), 'utf8').catch(() => undefined);
    }
  },
};

/**
 * `GET /console`: the operator console, one HTML page with its script inline. Inline, so the
 * page works under any API Gateway stage prefix with no second request; a Content-Security-Policy
 * allows exactly that script (by its hash) and calls to this origin only. The page holds no
 * data: everything it shows comes from `/v1/admin/...` with the admin key the person pastes in.
 */
export function consoleRoutes(source: ConsoleSource = defaultConsoleSource): RouteTable {
  let page: Promise<GatewayResponse | undefined> | undefined;
  const build = async (): Promise<GatewayResponse | undefined> => {
    const script = await source.script();
    if (script === undefined) return undefined;
    // `</script` inside the bundle would end the element early.
    const inline = script.replace(/<\/(script)/gi, '<\\/$1');
    const hash = createHash('sha256').update(inline).digest('base64');
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        'content-security-policy': `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      },
      body: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Breakwater console</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="app"></div>
<script type="module">${inline}</script>
</body>
</html>
`,
    };
  };
  return {
    '/console': {
      GET: async ({ requestId }) => {
        page ??= build().then((built) => {
          // Not found now may be found later (a build run meanwhile): only a page is kept.
          if (!built) page = undefined;
          return built;
        });
        const built = await page;
        if (!built) {
          return json(404, { error: { message: 'the console is not bundled with this gateway: run `npm run build:console`', type: 'not_found_error', code: 'unknown_route' } }, requestId);
        }
        return { ...built, headers: { ...built.headers, 'x-request-id': requestId } };
      },
    },
  };
}
