import { NodeFS } from '@electric-sql/pglite/nodefs';

type PGliteInstance = Parameters<NodeFS['init']>[0];
type ModuleOptions = Parameters<NodeFS['init']>[1];

/** The slice of Emscripten's NODEFS this module changes (present since Emscripten 3.x). */
interface NodeFsOps {
  node_ops?: {
    mknod?: (parent: unknown, name: string, mode: number, dev: number) => unknown;
    setattr?: (node: unknown, attr: { mode?: number | null }) => void;
  };
  stream_ops?: {
    setattr?: (stream: unknown, attr: { mode?: number | null }) => void;
  };
}

const GROUP_OTHER = 0o077;

/**
 * PGlite's NodeFS with every mode it sets on the host stripped of group/other permissions.
 *
 * Why the process umask is not enough: Emscripten's FS.open creates a file with 0777 and then
 * chmods it to the mode asked for, and chmod ignores the umask. Postgres asks for 0600 for its
 * relation files and WAL, but PGlite's initdb runs in memory and is copied into the data dir with
 * FS.writeFile, whose default mode is 0666, and files Postgres opens with fopen() get 0666 minus
 * Emscripten's own emulated umask (022), i.e. 0644. So a fresh data dir came out with ~970 files
 * at 0666, whatever the umask. Masking at NODEFS (mknod, chmod, fchmod) covers all of these,
 * including files created later by migrations, checkpoints and new WAL segments.
 */
export class PrivateNodeFS extends NodeFS {
  /** True once the NODEFS operations were wrapped; false means this PGlite build looks different. */
  restricted = false;

  override async init(pg: PGliteInstance, opts: ModuleOptions): ReturnType<NodeFS['init']> {
    const result = await super.init(pg, opts);
    const preRun = result.emscriptenOpts.preRun ?? [];
    // First, so NODEFS is wrapped before NodeFS mounts it and before initdb's files are copied.
    result.emscriptenOpts.preRun = [
      (mod) => {
        this.restricted = restrictNodefs(mod.NODEFS as NodeFsOps);
      },
      ...preRun,
    ];
    return result;
  }
}

const strip = (mode: number): number => mode & ~GROUP_OTHER;

/** Wraps mknod and both setattr operations of this module's NODEFS; false if one is missing. */
function restrictNodefs(nodefs: NodeFsOps | undefined): boolean {
  const nodeOps = nodefs?.node_ops;
  const streamOps = nodefs?.stream_ops;
  const mknod = nodeOps?.mknod;
  const setattr = nodeOps?.setattr;
  const fsetattr = streamOps?.setattr;
  if (!nodeOps || !streamOps || !mknod || !setattr || !fsetattr) return false;
  nodeOps.mknod = (parent, name, mode, dev) => mknod.call(nodeOps, parent, name, strip(mode), dev);
  nodeOps.setattr = (node, attr) => setattr.call(nodeOps, node, attr.mode == null ? attr : { ...attr, mode: strip(attr.mode) });
  streamOps.setattr = (stream, attr) => fsetattr.call(streamOps, stream, attr.mode == null ? attr : { ...attr, mode: strip(attr.mode) });
  return true;
}
