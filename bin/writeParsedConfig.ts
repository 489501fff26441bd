/**
 * `tsx bin/writeParsedConfig.ts <config.json> <out>`: writes the config file's validated form
 * (the schema's output, defaults applied) with the marker that binds it to that file, for the
 * functions' cold start to skip the schema (shared/config/parsedConfig.ts). Run by the bundling
 * step (lib/BreakwaterNodejsFunction.ts) next to the copy of the config in each bundle.
 *
 * An invalid config fails here with the same messages as at cold start. A schema output that
 * JSON would not carry unchanged (a Set, a Date, a function from some future transform) is not
 * written: the function then validates the raw file at cold start, as it always did.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, validateConfig } from '../shared/config';
import { parsedConfigFileText } from '../shared/config/parsedConfig';

const [configPath, outPath] = process.argv.slice(2);
if (!configPath || !outPath) {
  console.error('usage: writeParsedConfig <config.json> <out>');
  process.exit(2);
}
try {
  const rawText = readFileSync(configPath, 'utf8');
  const config = validateConfig(JSON.parse(rawText), configPath);
  if (isDeepStrictEqual(JSON.parse(JSON.stringify(config)), config)) {
    writeFileSync(outPath, parsedConfigFileText(rawText, config));
  } else {
    console.warn(`${configPath}: the validated config does not survive JSON; no parsed form written (validated at cold start)`);
  }
} catch (error) {
  // ConfigError messages name fields and problems, never values (no key ends up in a build log).
  // A JSON syntax error quotes the text around it: named, not quoted.
  const reason = error instanceof SyntaxError ? 'not valid JSON' : (error as Error).message;
  console.error(error instanceof ConfigError ? error.message : `cannot write the parsed config of ${configPath}: ${reason}`);
  process.exit(1);
}
