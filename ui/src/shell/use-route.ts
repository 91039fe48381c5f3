import { useEffect, useState } from 'preact/hooks';

/**
 * The page shown, from the address's fragment: `#/` the chat, `#/dashboard` the dashboard,
 * anything after the first segment is the page's own (`#/c/<conversation id>`). Fragments need
 * no server route and survive a reload.
 */
export interface Route {
  readonly page: 'chat' | 'dashboard';
  /** The segments after the page's own, e.g. `['c', 'abc']` for `#/c/abc`. */
  readonly rest: readonly string[];
}

export function parseRoute(hash: string): Route {
  const segments = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeSegment);
  if (segments[0] === 'dashboard') return { page: 'dashboard', rest: segments.slice(1) };
  return { page: 'chat', rest: segments };
}

// A hand-typed `%` that is not an escape must not break the page: the segment stays as typed.
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Navigates to a fragment route, e.g. `navigate('/dashboard')`. */
export function navigate(path: string): void {
  location.hash = `#${path.startsWith('/') ? path : `/${path}`}`;
}

/** The current route, updated when the fragment changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
