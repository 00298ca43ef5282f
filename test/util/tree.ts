/**
 * Mixed trees for store tests, and a tree walk to compare a restore with its
 * source: every entry's type, permission bits, mtime (ms), size, content
 * hash or link text, and which paths share an inode (hard links).
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, readFile, readdir, readlink, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';

export interface WalkEntry {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtime: number | null;
  size: number;
  content: string;
}

/** Path → entry (the root itself left out), plus hard-link groups (sorted paths sharing an inode). */
export async function walkTree(root: string): Promise<{ entries: Record<string, WalkEntry>; hardLinks: string[][] }> {
  const entries: Record<string, WalkEntry> = {};
  const inodes = new Map<number, string[]>();
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, p));
      if (st.isSymbolicLink()) {
        entries[p] = { type: 'symlink', mode: 0, mtime: null, size: 0, content: await readlink(join(root, p)) };
      } else if (st.isDirectory()) {
        await visit(p);
        entries[p] = { type: 'dir', mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs), size: 0, content: '' };
      } else {
        const data = await readFile(join(root, p));
        entries[p] = { type: 'file', mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs), size: st.size, content: createHash('sha256').update(data).digest('hex') };
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), p]);
      }
    }
  };
  await visit('');
  const hardLinks = [...inodes.values()].map((g) => g.sort()).sort((a, b) => a[0].localeCompare(b[0]));
  return { entries, hardLinks };
}

export interface MixedTree {
  root: string;
  /** Content bytes of all files. */
  bytes: number;
  markerName: string;
  markerText: string;
  bigFile: string;
}

/**
 * Binary and text files, empty files and directories, names with spaces and
 * non-ASCII, symlinks (relative, absolute, to a directory, dangling), a hard
 * link pair, `depth` levels of nesting, `small` small files, odd modes, and a
 * marker file whose name and text are unique.
 */
export async function mixedTree(root: string, opts: { small: number; depth: number; bigBytes: number }): Promise<MixedTree> {
  const w = async (p: string, data: string | Buffer, mode?: number) => {
    await writeFile(join(root, p), data);
    if (mode !== undefined) await chmod(join(root, p), mode);
  };
  await mkdir(root, { recursive: true });
  let bytes = 0;
  const add = async (p: string, data: string | Buffer, mode?: number) => {
    await w(p, data, mode);
    bytes += Buffer.byteLength(data);
  };
  const id = randomBytes(8).toString('hex');
  const markerName = `MARKER-name-${id}.txt`;
  const markerText = `MARKER-plaintext-${id} `.repeat(40);
  for (const d of ['empty dir', 'with space', 'ünïcødé 日本', 'sub', 'many', 'private']) await mkdir(join(root, d));
  await mkdir(join(root, 'empty dir', 'nested empty'));
  await add('big.bin', randomBytes(opts.bigBytes));
  await add('medium.bin', randomBytes(300_000));
  await add('text.txt', 'The quick brown fox jumps over the lazy dog.\n'.repeat(2000));
  await add('empty.txt', '');
  await add('with space/file name.txt', 'spaces\n');
  await add('ünïcødé 日本/ファイル ÆØÅ.md', '# non-ASCII\n');
  await add('script.sh', '#!/bin/sh\necho hi\n', 0o755);
  await add('private/secret.txt', 'only me\n', 0o600);
  await add(markerName, markerText);
  await add('sub/hard-a', 'two names, one inode\n');
  await link(join(root, 'sub/hard-a'), join(root, 'hard-b'));
  await symlink('text.txt', join(root, 'link-to-text'));
  await symlink('does/not/exist', join(root, 'dangling'));
  await symlink('with space', join(root, 'dir-link'));
  await symlink('/etc/hostname', join(root, 'absolute-link'));
  let deep = 'deep';
  for (let i = 0; i < opts.depth; i++) deep += `/d${i}`;
  await mkdir(join(root, deep), { recursive: true });
  await add(`${deep}/bottom.txt`, 'the bottom\n');
  for (let i = 0; i < opts.small; i++) await add(`many/${String(i).padStart(5, '0')}.txt`, `small file ${i} ${'x'.repeat(i % 97)}\n`);
  // Fixed, distinct mtimes (whole seconds and sub-second parts), directories last so writes do not move them.
  await utimes(join(root, 'text.txt'), 1_500_000_000.25, 1_500_000_000.25);
  await utimes(join(root, 'big.bin'), 1_600_000_000, 1_600_000_000);
  await chmod(join(root, 'private'), 0o700);
  await utimes(join(root, 'empty dir'), 1_400_000_000, 1_400_000_000);
  return { root, bytes, markerName, markerText, bigFile: join(root, 'big.bin') };
}

/** Every file under `dir` (not following links) whose bytes contain any of `needles`. */
export async function filesContaining(dir: string, needles: Buffer[]): Promise<string[]> {
  const hits: string[] = [];
  const visit = async (p: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(p);
    } catch {
      return;
    }
    for (const name of names) {
      const q = join(p, name);
      if (needles.some((n) => Buffer.from(name).includes(n))) hits.push(q);
      const st = await lstat(q);
      if (st.isDirectory()) await visit(q);
      else if (st.isFile() && st.size > 0) {
        const data = await readFile(q);
        if (needles.some((n) => data.includes(n))) hits.push(q);
      }
    }
  };
  await visit(dir);
  return hits;
}
