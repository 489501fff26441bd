/**
 * Tool names on `/mcp`: an upstream server's tools are `<server>__<tool>` (as Claude Code and the
 * Agents SDK namespace them), a REST service's are `<service>__<tool>`; so one name says where a
 * call goes, and two sources cannot collide.
 */
export const NAMESPACE_SEPARATOR = '__';

export const namespaced = (source: string, tool: string): string => `${source}${NAMESPACE_SEPARATOR}${tool}`;

/** `github__create_issue` -> `{ source: 'github', tool: 'create_issue' }`; undefined without a namespace. */
export function splitToolName(name: string): { source: string; tool: string } | undefined {
  const at = name.indexOf(NAMESPACE_SEPARATOR);
  if (at <= 0 || at + NAMESPACE_SEPARATOR.length >= name.length) return undefined;
  return { source: name.slice(0, at), tool: name.slice(at + NAMESPACE_SEPARATOR.length) };
}

/**
 * `allowed_tools`: exact names, or globs where `*` matches any run of characters (`github__*`,
 * `*__read_*`). Absent means every tool; an empty list means none.
 */
export function toolAllowed(allowed: readonly string[] | undefined, name: string): boolean {
  if (allowed === undefined) return true;
  return allowed.some((pattern) => (pattern.includes('*') ? globRegex(pattern).test(name) : pattern === name));
}

const compiled = new Map<string, RegExp>();
function globRegex(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (!regex) {
    regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    compiled.set(pattern, regex);
  }
  return regex;
}
