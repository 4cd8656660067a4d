// Every place where memring deliberately answers differently from memcached 1.6.18.
// Each entry is listed in compat-tests/README.md ("Documented divergences") and pinned
// by a test that asserts memring's documented behaviour when ctx.target.kind is
// 'memring' and memcached's otherwise. The goal is an empty list.

export interface Divergence {
  /** D1, D2, ... as written in the README. */
  id: string
  /** One line: what differs and why. */
  summary: string
  /** "<suite>: <test>" of the test that pins it. */
  pinnedBy: string
}

export const divergences: Divergence[] = []
