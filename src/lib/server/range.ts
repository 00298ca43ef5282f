/**
 * The one form of HTTP Range the server answers (RFC 9110 §14.1.2): a single
 * byte range, `bytes=a-b`, `bytes=a-` or `bytes=-n`. Multi-range requests
 * would need multipart answers that no CloudCoin client asks for.
 */

/** [start, end] inclusive; null when there is no Range header; 'unsatisfiable' for anything else. */
export function parseRange(header: string | undefined, size: number): [number, number] | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^bytes=(\d{0,10})-(\d{0,10})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'unsatisfiable';
  return [start, end];
}
