import { isIPv4, isIPv6 } from 'node:net';
import { type Detector, type Finding, pushMatches, type Span } from './types.ts';

/** Four dotted numbers, not inside a longer dotted run (a version `1.2.3.4.5`, `v1.2.3.4`). */
const IPV4 = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)/g;
/** Hex groups and colons, at least two colons, not part of a word (`std::vector`, `a::b`). */
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|:)?(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])/g;

/**
 * IPv4 and IPv6 addresses; candidates are checked with node:net, so `999.1.1.1`, a time
 * `12:30:45` and a MAC address `00:1a:2b:3c:4d:5e` are not addresses.
 *
 * @example ipDetector().find('from 10.0.0.7 and 2001:db8::1', out)
 */
export function ipDetector(): Detector {
  return {
    category: 'ip',
    find(text: string, out: Finding[]) {
      collect(IPV4, text, (value) => isIPv4(value), out);
      collect(IPV6, text, (value) => /[0-9A-Fa-f]/.test(value) && isIPv6(value), out);
    },
    candidates(text: string, out: Span[]) {
      pushMatches(IPV4, text, out);
      pushMatches(IPV6, text, out);
    },
  };
}

function collect(pattern: RegExp, text: string, accept: (value: string) => boolean, out: Finding[]): void {
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (accept(match[0])) out.push({ start: match.index, end: match.index + match[0].length, category: 'ip' });
  }
}
