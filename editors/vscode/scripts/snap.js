// Snapshot-tests the grammar on every example Wrennfile of the repository
// (testdata/wrennfiles): each is copied to test/snapshots/ under a flat
// name and tokenized by vscode-tmgrammar-snap, which compares the scopes
// with the committed .snap file. `npm run test:snap:update` rewrites the
// snapshots; a snapshot whose example is gone fails the test until then.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const update = process.argv.includes('--update');
const root = path.resolve(__dirname, '..', '..', '..');
// WRENN_EXAMPLE_DIRS (colon-separated) replaces the default, for trying
// the grammar on other files.
const exampleDirs = process.env.WRENN_EXAMPLE_DIRS
  ? process.env.WRENN_EXAMPLE_DIRS.split(':')
  : [path.join(root, 'testdata', 'wrennfiles')];
const snapDir = path.join(__dirname, '..', 'test', 'snapshots');

/** Is this file a Wrennfile example (not a golden output or notes)? */
function isWrennfile(name) {
  return name === 'Wrennfile' || name.endsWith('.Wrennfile') || name.endsWith('.wrenn') || name.startsWith('Wrennfile.');
}

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && isWrennfile(e.name)) out.push(p);
  }
  return out;
}

// Each example with the flat snapshot name it gets: its path under its
// example directory, '/' replaced by '__'.
const examples = exampleDirs.flatMap((d) =>
  walk(d, [])
    .sort()
    .map((src) => ({ src, flat: path.relative(d, src).split(path.sep).join('__') + '.wrennfile' })),
);
if (examples.length === 0) {
  console.error(`no example Wrennfiles found under ${exampleDirs.join(', ')}`);
  process.exit(1);
}

fs.mkdirSync(snapDir, { recursive: true });
const wanted = new Set();
for (const { src, flat } of examples) {
  wanted.add(flat);
  const dst = path.join(snapDir, flat);
  const text = fs.readFileSync(src);
  if (!fs.existsSync(dst) || !fs.readFileSync(dst).equals(text)) fs.writeFileSync(dst, text);
}

let orphans = 0;
for (const name of fs.readdirSync(snapDir)) {
  const base = name.endsWith('.snap') ? name.slice(0, -'.snap'.length) : name;
  if (wanted.has(base)) continue;
  if (update) {
    fs.rmSync(path.join(snapDir, name));
  } else {
    console.error(`orphan snapshot ${name}: its example is gone (run npm run test:snap:update)`);
    orphans++;
  }
}

const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'vscode-tmgrammar-snap');
const args = ['-s', 'source.wrennfile', '-g', path.join(__dirname, '..', 'syntaxes', 'wrennfile.tmLanguage.json')];
if (update) args.push('-u');
args.push(path.join(snapDir, '*.wrennfile'));
const r = spawnSync(bin, args, { encoding: 'utf8' });
process.stdout.write(r.stdout || '');
process.stderr.write(r.stderr || '');
if (r.error) {
  console.error(r.error.message);
  process.exit(1);
}
// The tool exits 0 on some failures ("No testcases found"): count the
// files it reports instead.
const out = (r.stdout || '') + (r.stderr || '');
const passed = (out.match(/✓/g) || []).length;
const failed = r.status !== 0 || /ERROR|✗|failed/i.test(out) || (!update && passed !== examples.length);
console.log(`${passed} passed, ${failed ? examples.length - passed || 1 : 0} failed`);
process.exit(failed || orphans > 0 ? 1 : 0);
