// The managed resolv.conf entry (resolv.conf(5)): where systemd-resolved does not run, Warren's
// nameserver goes first, under a marker comment, and everything else is kept. glibc asks the
// next nameserver when one answers SERVFAIL, which is what Warren answers outside its zone.
// Removal takes out only the marker and `nameserver ADDRESS` lines, wherever an edit moved them.
import { lstatSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../../../../src-shared/lib/atomic-file.js';

/** MARKER is the comment line above the managed entry. */
export const MARKER = '# warren: managed entry, removed when the helper stops';
/** MAXNS is glibc's limit: nameservers after the third are ignored. */
export const MAXNS = 3;
/** MAX_RESOLV_CONF bounds what we read; real files are a few hundred bytes. */
export const MAX_RESOLV_CONF = 64 * 1024;

const nameserverLine = (address: string): string => `nameserver ${address}`;
const isNameserver = (line: string): boolean => /^\s*nameserver\s/.test(line);
const isOurs = (line: string, address: string): boolean =>
  line.trim() === MARKER || line.trim().split(/\s+/).join(' ') === nameserverLine(address);

/** AddResult is the new file text and notes worth a warning. */
export interface AddResult {
  text: string;
  warnings: string[];
}

/** addManaged puts the marker and our nameserver before the first nameserver (or at the end). */
export function addManaged(text: string, address: string): AddResult {
  const lines = removeManaged(text, address).text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const first = lines.findIndex(isNameserver);
  const at = first < 0 ? lines.length : first;
  lines.splice(at, 0, MARKER, nameserverLine(address));
  const warnings: string[] = [];
  const servers = lines.filter(isNameserver).length;
  if (servers > MAXNS)
    warnings.push(
      `resolv.conf now lists ${servers} nameservers; glibc uses only the first ${MAXNS}, so the last ones are ignored while Warren runs`,
    );
  if (lines.some((l) => /^\s*options\s.*\brotate\b/.test(l)))
    warnings.push(
      'resolv.conf has "options rotate": names outside the Warren zone may be slow and Warren names may fail now and then',
    );
  return { text: lines.join('\n') + '\n', warnings };
}

/** removeManaged takes out the marker and every `nameserver ADDRESS` line for our address. */
export function removeManaged(text: string, address: string): { text: string; removed: number } {
  const lines = text.split('\n');
  const kept = lines.filter((l) => !isOurs(l, address));
  return { text: kept.join('\n'), removed: lines.length - kept.length };
}

/** readResolvConf reads the file, bounded; a missing file reads as empty. */
export function readResolvConf(path: string): string {
  let text: string;
  try {
    if (statSync(path).size > MAX_RESOLV_CONF)
      throw new Error(`${path} is larger than ${MAX_RESOLV_CONF} bytes; not touching it`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
  return text;
}

/**
 * writeResolvConf replaces the file atomically with writeFileAtomic, keeping its mode: a temp
 * file beside the real file (through a symlink, which is kept) and a rename. Where the file is a
 * mount point, as with `ip netns exec` bind-mounting /etc/netns/NAME/resolv.conf, rename fails
 * with EBUSY; then the content is written in place, which is what other tools do there too.
 */
export function writeResolvConf(path: string, text: string): void {
  let target = path;
  let mode = 0o644;
  try {
    if (lstatSync(path).isSymbolicLink()) target = realpathSync(path);
    mode = statSync(target).mode & 0o777;
  } catch {
    // a new file, or a dangling link: the link itself is replaced by a file, since its target does not exist
  }
  try {
    writeFileAtomic(target, text, { mode });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EBUSY' && code !== 'EXDEV' && code !== 'EACCES' && code !== 'EROFS') throw e;
    writeFileSync(target, text);
  }
}
