import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BreakwaterConfig } from './schema';

/**
 * The config file pre-validated at synth: the bundling step writes `configSchema`'s output for
 * the bundled file (defaults applied) beside it, so a cold start skips building and running the
 * zod schemas (~10 ms of the gateway's cold-import CPU, Node 20). The raw file stays in the
 * bundle as it was: the parsed one is used only while its marker matches the raw file's content
 * and this code's {@link PARSED_CONFIG_FORMAT}; anything else (no parsed file, an edited raw
 * file, a file from another build, npm start, AppConfig) is validated in full as before. The
 * marker is a consistency check, not a signature: the deployment package is read-only.
 */

/**
 * Bump whenever the schema's output for the same input changes (a new default, a renamed or
 * reshaped field), so that a parsed file written by older code is validated again rather than
 * trusted. Within one deployment package the two cannot differ: the bundling step writes the
 * parsed file with the same source tree it bundles.
 */
export const PARSED_CONFIG_FORMAT = 1;

/** The parsed file: the marker binding it to its raw file, and the schema's output. */
export interface ParsedConfigFile {
  /** sha256 of {@link PARSED_CONFIG_FORMAT} and the raw file's exact text. */
  readonly breakwater_parsed: string;
  readonly config: BreakwaterConfig;
}

/** Where the parsed form of the config file at `configPath` is written and looked for. */
export function parsedConfigPath(configPath: string): string {
  return `${configPath.replace(/\.json$/, '')}.parsed.json`;
}

/** The marker that binds a parsed file to the raw file's text and to this code's format. */
export function parsedConfigMarker(rawText: string): string {
  return createHash('sha256').update(`breakwater-parsed-config/${PARSED_CONFIG_FORMAT}\n`).update(rawText).digest('hex');
}

/** The parsed file's text for a raw file and its validated form. */
export function parsedConfigFileText(rawText: string, config: BreakwaterConfig): string {
  const file: ParsedConfigFile = { breakwater_parsed: parsedConfigMarker(rawText), config };
  return `${JSON.stringify(file)}\n`;
}

/**
 * The validated config from the parsed file beside `configPath`, when there is one whose marker
 * matches `rawText`; otherwise undefined (the caller validates the raw file in full). Never throws:
 * an unreadable or foreign parsed file only costs the fast path.
 */
export async function readParsedConfig(configPath: string, rawText: string): Promise<BreakwaterConfig | undefined> {
  let text: string;
  try {
    text = await readFile(parsedConfigPath(configPath), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const file = JSON.parse(text) as Partial<ParsedConfigFile> | null;
    if (file?.breakwater_parsed !== parsedConfigMarker(rawText)) return undefined;
    const config = file.config;
    return typeof config === 'object' && config !== null ? config : undefined;
  } catch {
    return undefined;
  }
}
