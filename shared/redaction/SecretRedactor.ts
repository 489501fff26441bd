import { KEY_PREFIX } from '../keys/virtualKey';
import { base64Forms } from './base64Forms';
import { BROAD_CREDENTIAL_SHAPES, GENERATED_KEY_SHAPES, REDACTED } from './credentialShapes';
import { StreamScanner, type StreamMatchers } from './StreamScanner';
import { buildTrie, trieRegExpSource } from './trieRegExpSource';

export interface SecretRedactorOptions {
  /**
   * Shorter values are not registered: an exact match on a handful of characters would cut
   * ordinary words out of answers, and such a value is no credential anyway.
   * @default 8
   */
  minSecretLength?: number;
  /**
   * Registered secrets kept; past this the least recently used is forgotten (shapes still
   * apply). Provider and BYOK credentials are a few; config-file keys one per tenant or so (on
   * AWS keys come from the key store, generated, and are found by shape). The bound keeps the
   * matcher fast: its cost is flat up to about a hundred secrets, then V8 stops compiling so
   * large an expression to machine code (bench/redaction.bench.ts: 256 secrets scan 9x slower
   * than 100, and rebuilding the matcher for a new secret takes 50 ms instead of 12 ms).
   * @default 100
   */
  maxSecrets?: number;
}

interface Matchers extends StreamMatchers {
  /** `exact` plus credential shapes: for error messages and log lines. */
  broad: RegExp;
}

/**
 * Cuts the credentials in use out of text: every registered secret (provider keys read from
 * the secret source, BYOK credentials, config-file virtual keys) in plain, JSON-escaped and
 * base64 forms (both alphabets, every byte offset: see {@link base64Forms}), and gateway-made
 * virtual keys by their shape. Any credential source feeds it with {@link register}; answers,
 * error messages and log lines go through {@link redact} or {@link redactCredentials}, streams
 * through a {@link scanner}.
 *
 * The forms are compiled into one regular expression shaped as a trie, rebuilt only when a
 * secret is added: a scan is one pass of V8's regex engine over the text, whose cost hardly
 * grows with the number of secrets up to {@link SecretRedactorOptions.maxSecrets}.
 */
export class SecretRedactor {
  private readonly minSecretLength: number;
  private readonly maxSecrets: number;
  /** Secret → its forms; insertion order is use order (re-registering moves it to the end). */
  private readonly secrets = new Map<string, readonly string[]>();
  private matchers: Matchers | undefined;

  constructor(options: SecretRedactorOptions = {}) {
    this.minSecretLength = options.minSecretLength ?? 8;
    this.maxSecrets = options.maxSecrets ?? 100;
  }

  /** Adds a credential; redaction applies from the next scan. Idempotent and cheap when known. */
  register(secret: string): void {
    if (typeof secret !== 'string' || secret.length < this.minSecretLength) return;
    const known = this.secrets.get(secret);
    if (known) {
      this.secrets.delete(secret);
      this.secrets.set(secret, known);
      return;
    }
    const json = JSON.stringify(secret).slice(1, -1);
    // A base64 form shorter than the minimum would match by chance in any long base64 text.
    const forms = [secret, json, ...base64Forms(secret).filter((form) => form.length >= this.minSecretLength)];
    this.secrets.set(secret, [...new Set(forms)]);
    if (this.secrets.size > this.maxSecrets) this.secrets.delete(this.secrets.keys().next().value!);
    this.matchers = undefined;
  }

  /** How many secrets are registered (for tests and metrics). */
  get size(): number {
    return this.secrets.size;
  }

  /** Registered secrets and generated keys cut out: for model answers, headers and bodies. */
  redact(text: string): string {
    return text.replace(this.compiled().exact, REDACTED);
  }

  /** {@link redact} plus anything shaped like a credential: for error messages and log lines. */
  redactCredentials(text: string): string {
    return text.replace(this.compiled().broad, REDACTED);
  }

  /** A JSON-like value with every string (and key) redacted; the input is not changed. */
  redactDeep<T>(value: T): T {
    const exact = this.compiled().exact;
    const walk = (node: unknown): unknown => {
      if (typeof node === 'string') return node.replace(exact, REDACTED);
      if (Array.isArray(node)) return node.map(walk);
      if (node === null || typeof node !== 'object') return node;
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) out[key.replace(exact, REDACTED)] = walk(child);
      return out;
    };
    return walk(value) as T;
  }

  /** A scanner for one stream: redacts it piece by piece, across piece boundaries. */
  scanner(): StreamScanner {
    return new StreamScanner(() => this.compiled());
  }

  private compiled(): Matchers {
    if (this.matchers) return this.matchers;
    const forms = [...new Set([...this.secrets.values()].flat())];
    // A trie (its cost does not grow with the number of forms, within the bound) that prefers
    // the longest form, so a secret is cut whole rather than by a shorter form inside it.
    const exactSources = [...(forms.length > 0 ? [trieRegExpSource(buildTrie(forms))] : []), ...GENERATED_KEY_SHAPES];
    const heldForms = [...forms, KEY_PREFIX, ...base64Forms(KEY_PREFIX)];
    this.matchers = {
      exact: new RegExp(exactSources.join('|'), 'g'),
      broad: new RegExp([...exactSources, ...BROAD_CREDENTIAL_SHAPES].join('|'), 'g'),
      held: buildTrie(heldForms),
      longestForm: Math.max(...heldForms.map((form) => form.length)),
    };
    return this.matchers;
  }
}

/**
 * The process's redactor: the credential sources, the logger and the gateway's answers share
 * it, as they share the process. Inject another one where isolation matters (a unit test).
 */
export const defaultSecretRedactor = new SecretRedactor();
