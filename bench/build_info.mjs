// Which code a benchmark measures: git describe / HEAD, the uncommitted files under src/ and kernels/, and a
// hash of src/ + kernels/ (the kernel may be uncommitted), baked into every result.
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';

// Trailing whitespace only: `git status --porcelain` lines start with a meaningful space (' M file').
const git = (...args) => {
  try {
    return execFileSync('git', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trimEnd();
  } catch {
    return '';
  }
};

const files = dir => readdirSync(dir).sort().flatMap(f => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : [p];
});

export function buildInfo() {
  const hash = createHash('sha256');
  for (const f of [...files('src'), ...files('kernels')]) hash.update(f + '\0').update(readFileSync(f));
  return {
    gitDescribe: git('describe', '--always', '--dirty', '--tags'),
    gitHead: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'src', 'kernels').split('\n').filter(Boolean),
    sourceHash: hash.digest('hex').slice(0, 12),
    builtAt: new Date().toISOString(),
  };
}
