/** Bounds on what the compose parser accepts, so one hostile or broken file costs little. */

/** Largest compose file accepted, in UTF-8 bytes (checked before the YAML parser sees it). */
export const MAX_COMPOSE_BYTES = 256 * 1024;

/** Largest env file accepted, in UTF-8 bytes. */
export const MAX_ENV_FILE_BYTES = 256 * 1024;

/** Most services an app may have (AppSpecSchema holds the same bound). */
export const MAX_SERVICES = 64;

/** Most errors one parse reports; the last slot says that more were left out. */
export const MAX_ERRORS = 50;

/** Most YAML nodes the tree may hold once aliases are expanded (stops "billion laughs" files). */
export const MAX_YAML_NODES = 100_000;

/** Deepest YAML nesting accepted; compose files are a handful of levels deep. */
export const MAX_YAML_DEPTH = 32;

/** Longest string an interpolation may produce (nested defaults could otherwise multiply). */
export const MAX_INTERPOLATED_CHARS = 65_536;
