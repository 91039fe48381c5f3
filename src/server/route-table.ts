/**
 * The routes the server has, by path pattern, so that a request for an existing path with
 * the wrong method gets 405 and an `Allow` header instead of a 404.
 */
export class RouteTable {
  readonly #routes: { readonly pattern: RegExp; readonly methods: Set<string> }[] = [];
  readonly #byUrl = new Map<string, Set<string>>();

  add(method: string | readonly string[], url: string): void {
    let methods = this.#byUrl.get(url);
    if (methods === undefined) {
      methods = new Set();
      this.#byUrl.set(url, methods);
      this.#routes.push({ pattern: patternOf(url), methods });
    }
    for (const name of typeof method === 'string' ? [method] : method) methods.add(name);
  }

  /** The methods served at a concrete path (empty when no route matches it). */
  methodsFor(path: string): string[] {
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const methods = new Set<string>();
    for (const route of this.#routes) {
      if (route.pattern.test(trimmed)) for (const method of route.methods) methods.add(method);
    }
    return [...methods].sort();
  }
}

function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}
