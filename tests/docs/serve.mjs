// Preloaded into the Deno and Bun snippets the docs runner starts (`--preload`), as listen.mjs is
// into Node's: `Deno.serve` and `Bun.serve` listen on a free loopback port instead of the one the
// snippet names, and say which on standard error. Nothing else about the snippet changes.
const said = (port) => console.error(`\nsnippet listening on ${port}`);
if (globalThis.Deno) {
  const serve = Deno.serve;
  Deno.serve = (options, handler) => serve.call(Deno, { ...options, port: 0, hostname: '127.0.0.1', onListen: ({ port }) => said(port) }, handler);
} else if (globalThis.Bun) {
  const serve = Bun.serve;
  Bun.serve = (options) => {
    const server = serve.call(Bun, { ...options, port: 0, hostname: '127.0.0.1' });
    said(server.port);
    return server;
  };
}
