/**
 * A canary credential in every form a leak could take: as it is, and base64-encoded (standard
 * and URL-safe alphabets) starting at each of the three byte offsets of a 3-byte group, as it
 * appears inside a longer encoded string. Four characters are cut from each end of an encoding,
 * so whatever surrounds the canary cannot change what is searched for. Derived here, apart
 * from the gateway's own redaction code, so a bug there cannot hide itself.
 */
export function canaryForms(canary: string): string[] {
  const forms = new Set([canary]);
  for (const filler of ['', 'a', 'ab']) {
    const encoded = Buffer.from(filler + canary, 'utf8').toString('base64').replace(/=+$/, '');
    const core = encoded.slice(4, -4);
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms];
}

/** Where any form of any canary shows up, each report masked so it leaks nothing itself. */
export function findCanaries(sources: ReadonlyArray<{ label: string; text: string }>, canaries: readonly string[]): string[] {
  const forms = canaries.flatMap((canary) => canaryForms(canary).map((form) => ({ canary, form })));
  const mask = (text: string) => forms.reduce((masked, { form }) => masked.split(form).join('<CANARY>'), text).slice(0, 400);
  return sources.flatMap(({ label, text }) =>
    forms
      .filter(({ form }) => text.includes(form))
      .map(({ canary, form }) => `${label} holds ${form === canary ? 'a canary' : 'a base64 canary'} starting ${canary.slice(0, 10)}…: ${mask(text)}`),
  );
}
