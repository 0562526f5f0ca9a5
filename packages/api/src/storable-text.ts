/** A UTF-16 surrogate not paired with its other half: with the `u` flag, pairs match as one code point. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * PostgreSQL's text and jsonb hold neither U+0000 nor unpaired surrogates, though JSON carries both.
 * Such a request is bad input: refused at the edge with the field named, it never reaches the log,
 * where it would fail as a 500 — or, if it got in, stop the projector.
 */
export const findUnstorableText = (value: unknown, path = ''): string | undefined => {
  const field = path || 'request';
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return `${field}: must not contain the NUL character (U+0000)`;
    if (LONE_SURROGATE.test(value))
      return `${field}: must be well-formed Unicode (it holds an unpaired surrogate)`;
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const found = findUnstorableText(inner, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
};
