import { escapeRegExp } from './credentialShapes';

/** A character trie: a word is the path from the root to a `terminal` node. */
export interface TrieNode {
  children: Map<string, TrieNode>;
  terminal: boolean;
}

/** The trie of `words`, one node per UTF-16 code unit (as the regex engine and `text[i]` see text). */
export function buildTrie(words: Iterable<string>): TrieNode {
  const root: TrieNode = { children: new Map(), terminal: false };
  for (const word of words) {
    let node = root;
    for (let i = 0; i < word.length; i++) {
      const char = word[i]!;
      let child = node.children.get(char);
      if (!child) node.children.set(char, (child = { children: new Map(), terminal: false }));
      node = child;
    }
    node.terminal = true;
  }
  return root;
}

/**
 * One regular expression source matching any word of the trie, longest first:
 * `abc|abd|xy` becomes `(?:ab(?:c|d)|xy)`. V8 tries the alternatives of a flat alternation one
 * by one at every position of the text, so its cost grows with the number of words (measured:
 * 14x slower at 100 secrets than at 3); in a trie a position is given up after a character or
 * two whatever the number of words. Iterative, so a long word cannot overflow the stack.
 */
export function trieRegExpSource(trie: TrieNode): string {
  return render(trie);
}

/** Post-order, on an explicit stack: each node's source from its children's. */
function render(root: TrieNode): string {
  const sources = new Map<TrieNode, string>();
  const stack: Array<{ node: TrieNode; expanded: boolean }> = [{ node: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (!top.expanded) {
      stack.push({ node: top.node, expanded: true });
      for (const child of top.node.children.values()) stack.push({ node: child, expanded: false });
      continue;
    }
    const branches = [...top.node.children].map(([char, child]) => escapeRegExp(char) + sources.get(child)!);
    for (const child of top.node.children.values()) sources.delete(child);
    let source = branches.length === 1 ? branches[0]! : branches.length > 1 ? `(?:${branches.join('|')})` : '';
    // A word ends here but longer ones go on: the rest is optional, and greedy, so the longest wins.
    if (top.node.terminal && branches.length > 0) source = branches.length === 1 ? `(?:${source})?` : `${source}?`;
    sources.set(top.node, source);
  }
  return sources.get(root)!;
}
