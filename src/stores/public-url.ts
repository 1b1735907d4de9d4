import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

/**
 * The URL ShipStation is told to call for a store connection: PUBLIC_URL, else the protocol and
 * host this request came in on. A URL taken from the request may name this machine or a private
 * network (someone trying the service on their laptop): ShipStation, on the internet, can never
 * reach it, and the store would fail to connect with no hint why. Such a URL comes with a warning.
 */
export interface ShipStationUrl {
  url: string;
  /** Why ShipStation may not reach `url`; empty when nothing is known against it. */
  warnings: string[];
}

/** Addresses no one on the internet can reach this service at. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** Names that only resolve on this machine or a local network. */
const LOCAL_NAME = /(^|\.)(localhost|local|internal|lan|home\.arpa|localdomain)$/i;

/** True when `hostname` (as in a URL: IPv6 in brackets) is certainly not reachable from the internet. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  if (family === 4) return PRIVATE.check(host, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
    return mapped ? PRIVATE.check(mapped[1]!, 'ipv4') : PRIVATE.check(host, 'ipv6');
  }
  // A name without a dot is resolved by a local search domain at best.
  return !host.includes('.') || LOCAL_NAME.test(host);
}

export function shipstationUrl(config: Config, req: FastifyRequest): ShipStationUrl {
  if (config.publicUrl !== undefined) return { url: `${config.publicUrl}/shipstation`, warnings: [] };
  const base = `${req.protocol}://${req.host}`;
  const url = `${base.replace(/\/+$/, '')}/shipstation`;
  let hostname: string;
  try {
    hostname = new URL(base).hostname;
  } catch {
    hostname = req.host;
  }
  if (!isPrivateHost(hostname)) return { url, warnings: [] };
  req.log.warn({ storeUrl: url }, 'store URL names a local or private address: set PUBLIC_URL');
  return {
    url,
    warnings: [
      `${url} names a local or private address (${hostname}) that ShipStation cannot reach from the ` +
        'internet: set PUBLIC_URL to the public address of this service (e.g. https://ship.example.com), ' +
        'or call this API through that address, and use the URL it then answers',
    ],
  };
}
