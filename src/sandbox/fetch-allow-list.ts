import { BlockList, isIP } from 'node:net';

/*
 * Who a sandboxed plugin's fetch may reach (see fetch-broker.ts): the host names on its
 * allow-list, and — whatever a name resolves to — no loopback, private, link-local or other
 * special address, unless the operator listed that address itself.
 */

/**
 * True when `host` is on the allow-list: an exact host (`api.example.com`, or with a port
 * `localhost:8080`), or a wildcard for subdomains (`*.example.com`, which is not example.com).
 */
export function hostAllowed(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  return exactRuleMatches(url, allowHosts) || allowHosts.some((allowed) => wildcardMatches(host, allowed));
}

export function exactRuleMatches(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const withPort = url.host.toLowerCase();
  return allowHosts.some((allowed) => {
    const rule = allowed.toLowerCase();
    return !rule.startsWith('*.') && (rule === host || rule === withPort);
  });
}

function wildcardMatches(host: string, allowed: string): boolean {
  const rule = allowed.toLowerCase();
  return rule.startsWith('*.') && host.endsWith(rule.slice(1)) && host.length > rule.length - 1;
}

/** Address ranges a plugin may not reach through a host name, by what they are. */
const FORBIDDEN_RANGES: readonly (readonly [kind: string, subnets: readonly string[]])[] = [
  ['unspecified', ['0.0.0.0/8', '::/128']],
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fec0::/10']],
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  ['multicast', ['224.0.0.0/4', 'ff00::/8']],
  // IETF protocol assignments, benchmarking, reserved and broadcast; IPv4-compatible IPv6 (::a.b.c.d).
  ['reserved', ['192.0.0.0/24', '198.18.0.0/15', '240.0.0.0/4', '::/96']],
];

const FORBIDDEN_LISTS = FORBIDDEN_RANGES.map(([kind, subnets]) => {
  const list = new BlockList();
  for (const subnet of subnets) {
    const [network = '', prefix = ''] = subnet.split('/');
    list.addSubnet(network, Number(prefix), isIP(network) === 6 ? 'ipv6' : 'ipv4');
  }
  return [kind, list] as const;
});

/**
 * Why a sandboxed plugin may not reach `address` through a host name (`loopback`, `private`,
 * `link-local`, `unspecified`, `multicast`, `reserved`), or undefined for a public address.
 * An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is judged by its IPv4 address.
 */
export function forbiddenAddressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 6 ? 'ipv6' : 'ipv4';
  return FORBIDDEN_LISTS.find(([, list]) => list.check(address, type))?.[0];
}
