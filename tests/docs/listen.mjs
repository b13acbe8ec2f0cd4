// Preloaded into every Node snippet the docs runner starts (`node --import`): a server a snippet
// starts on a fixed port (3000, as a reader would) listens on a free loopback port instead, and
// says which on standard error, so that snippets run side by side with anything else on the
// machine. Nothing else about the snippet changes.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnAFreePort(...args) {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    args[0] = 0;
    if (typeof args[1] === 'string') args[1] = '127.0.0.1';
  } else if (first && typeof first === 'object' && 'port' in first) {
    args[0] = { ...first, port: 0, host: '127.0.0.1' };
  }
  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object') process.stderr.write(`\nsnippet listening on ${address.port}\n`);
  });
  return listen.apply(this, args);
};
