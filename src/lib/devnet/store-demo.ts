/**
 * The store part of `devnet demo`: a small directory pushed to the renter's
 * contracted hosts and pulled back, then compared file by file. Uses the same
 * path as `cloudcoin store` (the node's contracts → HostBackends).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeClient } from '../node/node-client.js';
import { contractedHosts, hostBackends, rememberHosts, renterKey } from '../renter/index.js';
import { initKey, openKey, Store, storePaths } from '../store/index.js';

export interface StoreDemoResult {
  snapshot: string;
  files: number;
  bytes: number;
  uploaded: number;
  hosts: number;
  source: string;
  restored: string;
  identical: boolean;
}

async function _digest(root: string): Promise<string> {
  const h = createHash('sha256');
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = join(rel, name);
      const st = await lstat(join(root, p));
      h.update(`${p}\0${st.mode & 0o7777}\0`);
      if (st.isSymbolicLink()) h.update(`-> ${await readlink(join(root, p))}\0`);
      else if (st.isDirectory()) await visit(p);
      else h.update(await readFile(join(root, p)));
    }
  };
  await visit('');
  return h.digest('hex');
}

export async function storeDemo(dir: string, renterDatadir: string, passphrase: string): Promise<StoreDemoResult> {
  const paths = storePaths(renterDatadir);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(paths.key)) await initKey(paths.key, passphrase);
  const source = join(dir, 'demo-data');
  const restored = join(dir, 'demo-restored');
  await rm(source, { recursive: true, force: true });
  await rm(restored, { recursive: true, force: true });
  await mkdir(join(source, 'notes', 'día 1'), { recursive: true });
  await writeFile(join(source, 'README.txt'), 'Pushed to three hosts, encrypted and erasure-coded, then pulled back.\n');
  await writeFile(join(source, 'notes', 'día 1', 'ideas.md'), '# ideas\n'.repeat(100));
  await writeFile(join(source, 'photo.raw'), randomBytes(2 * 2 ** 20));
  await symlink('README.txt', join(source, 'link-to-readme'));

  const keys = await openKey(paths.key, passphrase);
  const renter = await renterKey(renterDatadir, keys);
  const { hosts } = await contractedHosts(NodeClient.connect(renterDatadir), renterDatadir, renter.publicKey);
  await rememberHosts(renterDatadir, hosts);
  // A demo with fewer than the 3 hosts push wants by default spreads over the ones it has.
  const n = hosts.length < 3 ? hosts.length : undefined;
  const store = await Store.open({ keys, backends: await hostBackends(hosts, renter.secretKey), stateDir: paths.dir, n });
  try {
    const push = await store.push(source);
    await store.pull(push.snapshot, restored);
    const identical = (await _digest(source)) === (await _digest(restored));
    return { snapshot: push.snapshot, files: push.files, bytes: push.bytes, uploaded: push.uploaded, hosts: hosts.length, source, restored, identical };
  } finally {
    await store.close();
  }
}
