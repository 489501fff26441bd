/**
 * Bundles the operator console (console/src, Preact + htm) into one ES module with esbuild.
 * `npm run build:console` writes console/dist/app.js (git-ignored), which a deployed gateway
 * serves; `npm start` and the tests bundle in memory at the first `GET /console` instead
 * (see shared/api/admin/consoleRoutes.ts), so the page always matches its source.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const CONSOLE_ENTRY = join(here, 'src', 'main.ts');
export const CONSOLE_OUTFILE = join(here, 'dist', 'app.js');

/** The bundle's text, minified. */
export async function bundleConsole(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [CONSOLE_ENTRY],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const text = await bundleConsole();
  await mkdir(dirname(CONSOLE_OUTFILE), { recursive: true });
  await writeFile(CONSOLE_OUTFILE, text);
  console.error(`console bundled: ${CONSOLE_OUTFILE} (${(text.length / 1024).toFixed(1)} KiB in ${Math.round(performance.now() - started)} ms)`);
}
