/*
 * Preloaded (`--require`) into one soak backend: its TCP connections to the
 * loopback ports in SOAK_REDIRECT_PORTS ({"<port>": <proxy port>}) go to
 * those proxies instead. Sentinel hands out the Redis servers' own
 * addresses, so a fault proxy can only stand between one backend and Redis
 * (and leave the others alone) by redirecting that backend's connections,
 * which is what ioredis's `natMap` does for NAT; the module does not expose
 * it, and this keeps the backend's config the production one.
 */
const net = require('node:net');

const redirects = JSON.parse(process.env.SOAK_REDIRECT_PORTS || '{}');
const loopback = new Set([undefined, 'localhost', '127.0.0.1', '::1']);
const connect = net.Socket.prototype.connect;

net.Socket.prototype.connect = function redirectedConnect(...args) {
  // net.connect() passes its normalized [options, callback] array
  const options = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (
    options &&
    typeof options === 'object' &&
    loopback.has(options.host) &&
    redirects[options.port]
  ) {
    options.port = redirects[options.port];
  }
  return connect.apply(this, args);
};
