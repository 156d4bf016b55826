// `npm start`: builds the demo bundle, serves demo/ on 127.0.0.1 (PORT, default 8080, or the next free port)
// with node:http, and prints the URL. Nothing is fetched from the internet.
import {createServer} from 'node:http';
import {readFile} from 'node:fs/promises';
import {extname, join, normalize, sep} from 'node:path';
import {fileURLToPath} from 'node:url';
import {buildDemo} from './build_demo.mjs';

const TYPES = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
               '.map': 'application/json', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png'};

/** Serves the files under `dir` on 127.0.0.1:port (0 = any free port); resolves to the listening server. */
export function serveStatic(dir, port = 0) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? path + 'index.html' : path));
    if (!file.startsWith(dir + sep)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, {'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store'}).end(body);
    } catch {
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = await buildDemo();
  let port = Number(process.env.PORT ?? 8080), server;
  for (;; port++) {
    try { server = await serveStatic(dir, port); break; } catch (e) { if (e.code !== 'EADDRINUSE' || port > 8180) throw e; }
  }
  console.log(`demo: http://127.0.0.1:${server.address().port}/   (Ctrl-C to stop)`);
}
