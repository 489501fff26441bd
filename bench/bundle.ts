/**
 * Builds the gateway Lambda bundle the way lib/GatewayFunction.ts has CDK's NodejsFunction build
 * it, then measures its size and how long a fresh `node` takes to import it.
 */
import { spawn } from 'node:child_process';
import { stat, symlink, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** lib/GatewayFunction.ts's ESM_REQUIRE_BANNER. */
const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

export interface BundleInfo {
  file: string;
  bytes: number;
  buildMs: number;
  /** Packages (not node builtins) the bundle leaves to the runtime: Lambda ships @aws-sdk/* itself. */
  externals: string[];
  /** A module that imports only {@link externals}, to time them apart from the bundle. */
  externalsFile: string;
  /** The inputs that weigh most in the output, by package or repo folder, in bytes. */
  topInputs: Array<[string, number]>;
}

/** node_modules/<pkg>/... → <pkg>; repo files → their top folder. */
function inputGroup(input: string): string {
  const modules = input.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = input.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return input.split('/').slice(0, 2).join('/');
}

export async function buildGatewayBundle(repoRoot: string, outDir: string): Promise<BundleInfo> {
  // NodejsFunction names an ESM bundle index.mjs.
  const file = path.join(outDir, 'index.mjs');
  const started = performance.now();
  const result = await build({
    entryPoints: [path.join(repoRoot, 'functions/gateway/handler.ts')],
    outfile: file,
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    // bundleAwsSDK: false — NodejsFunction leaves @aws-sdk/* to the Lambda runtime.
    external: ['@aws-sdk/*'],
    // sourceMap: true, SourceMapMode.DEFAULT, sourcesContent: false — a separate .map file,
    // so it does not count towards index.mjs's size.
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'error',
    metafile: true,
  });
  const buildMs = performance.now() - started;
  const { size } = await stat(file);
  const output = Object.entries(result.metafile.outputs).find(([name]) => name.endsWith('.mjs'))?.[1];
  const externals = [...new Set((output?.imports ?? []).filter((i) => i.external && !isBuiltin(i.path)).map((i) => i.path))].sort();
  const externalsFile = path.join(outDir, 'externals-only.mjs');
  await writeFile(externalsFile, externals.map((name) => `import ${JSON.stringify(name)};`).join('\n') + '\n');
  const groups = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const group = inputGroup(input);
    groups.set(group, (groups.get(group) ?? 0) + bytesInOutput);
  }
  const topInputs = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 8);
  // The external @aws-sdk/* packages must resolve for the cold import, as they do on Lambda from
  // the runtime's own copy: here they come from the repo's node_modules, through a symlink.
  await symlink(path.join(repoRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
  return { file, bytes: size, buildMs, externals, externalsFile, topInputs };
}

export interface ColdImport {
  /** performance.now() around `await import(bundle)` inside the fresh process. */
  importMs: number;
  /** Spawn to exit, as seen from the bench: node's own start-up included. */
  processMs: number;
}

// The gateway is a response-streaming handler: like the Lambda runtime, define the `awslambda`
// global it is created with before the import (a stub: nothing is invoked here).
const IMPORT_SCRIPT =
  'globalThis.awslambda = Object.assign(globalThis.awslambda ?? {}, { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } });' +
  'const t0 = performance.now(); await import(process.argv[1]); const t1 = performance.now();' +
  'process.stdout.write(JSON.stringify({ importMs: t1 - t0 }));';

export function coldImport(bundleFile: string, env: NodeJS.ProcessEnv): Promise<ColdImport> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(bundleFile).href], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const processMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`cold import exited with ${code}: ${stderr.slice(-2_000)}`));
      try {
        const { importMs } = JSON.parse(stdout) as { importMs: number };
        resolve({ importMs, processMs });
      } catch {
        reject(new Error(`cold import printed no timing: ${stdout.slice(0, 500)} ${stderr.slice(-1_000)}`));
      }
    });
  });
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
