/**
 * Which Compose fields pifleet reads, and why it refuses the others it knows. Everything not
 * listed as supported is an error naming the field (a typo like `enviroment` gets a guess),
 * so nothing in a file is ever silently ignored except `x-` extensions, as Compose ignores them.
 */

export const TOP_LEVEL_FIELDS = ['version', 'name', 'services', 'volumes', 'networks'] as const;

export const TOP_LEVEL_REFUSED: Readonly<Record<string, string>> = {
  secrets: 'use environment, env_file or a bind mount of a file on the device',
  configs: 'use a bind mount of a file on the device',
  include: 'pifleet takes one self-contained file (YAML anchors and x- blocks can share settings)',
  models: '',
};

export const SERVICE_FIELDS = [
  'image',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'ports',
  'volumes',
  'labels',
  'restart',
  'healthcheck',
  'stop_signal',
  'stop_grace_period',
  'mem_limit',
  'cpus',
  'deploy',
  'depends_on',
  'network_mode',
  'networks',
  'privileged',
  'devices',
  'cap_add',
  'cap_drop',
  'user',
  'working_dir',
  'tmpfs',
  'init',
  'x-pifleet',
] as const;

const NOT_YET = '';

/** Compose service fields pifleet does not support, with the reason shown to the operator ('' = none worth giving). */
export const SERVICE_REFUSED: Readonly<Record<string, string>> = {
  build: 'pifleet does not build images; push the image to a registry (or upload it as an image bundle) and set image',
  secrets: 'use environment, env_file or a bind mount of a file on the device',
  configs: 'use a bind mount of a file on the device',
  extends: 'pifleet takes one self-contained file (YAML anchors and x- blocks can share settings)',
  profiles: 'every service in the file runs; use a per-device release to run a different set',
  container_name: 'pifleet names containers after the app and the service',
  hostname: NOT_YET,
  domainname: NOT_YET,
  links: 'services reach each other by name on the app network; use depends_on for start order',
  external_links: 'services reach each other by name on the app network',
  expose: 'services reach each other on the app network without it; ports publishes a port on the device',
  scale: 'pifleet runs one container per service',
  volumes_from: 'declare a named volume and mount it in both services',
  logging: 'containers keep the engine\'s log settings',
  pid: NOT_YET,
  ipc: NOT_YET,
  uts: NOT_YET,
  userns_mode: NOT_YET,
  cgroup: NOT_YET,
  cgroup_parent: NOT_YET,
  ulimits: NOT_YET,
  sysctls: NOT_YET,
  security_opt: NOT_YET,
  read_only: NOT_YET,
  shm_size: NOT_YET,
  stdin_open: NOT_YET,
  tty: NOT_YET,
  extra_hosts: NOT_YET,
  dns: NOT_YET,
  dns_opt: NOT_YET,
  dns_search: NOT_YET,
  mac_address: NOT_YET,
  group_add: NOT_YET,
  device_cgroup_rules: NOT_YET,
  gpus: NOT_YET,
  runtime: NOT_YET,
  platform: 'the device pulls the image for its own architecture',
  pull_policy: NOT_YET,
  mem_reservation: NOT_YET,
  mem_swappiness: NOT_YET,
  memswap_limit: NOT_YET,
  oom_kill_disable: NOT_YET,
  oom_score_adj: NOT_YET,
  pids_limit: NOT_YET,
  cpu_count: 'use cpus',
  cpu_percent: 'use cpus',
  cpu_period: 'use cpus',
  cpu_quota: 'use cpus',
  cpu_rt_period: NOT_YET,
  cpu_rt_runtime: NOT_YET,
  cpu_shares: NOT_YET,
  cpuset: NOT_YET,
  blkio_config: NOT_YET,
  storage_opt: NOT_YET,
  isolation: NOT_YET,
  credential_spec: NOT_YET,
  annotations: NOT_YET,
  attach: NOT_YET,
  develop: 'it is for local development',
  label_file: 'use labels',
  post_start: NOT_YET,
  pre_stop: NOT_YET,
  provider: NOT_YET,
  models: NOT_YET,
  use_api_socket: NOT_YET,
};

export const HEALTHCHECK_FIELDS = ['test', 'interval', 'timeout', 'start_period', 'retries', 'disable'] as const;

export const VOLUME_FIELDS = ['labels'] as const;
export const VOLUME_REFUSED: Readonly<Record<string, string>> = {
  driver: 'volumes are local volumes on the device',
  driver_opts: 'volumes are local volumes on the device',
  external: 'pifleet creates and owns the app\'s volumes; for data the app does not own, bind-mount a path on the device',
  name: 'pifleet names volumes after the app',
};

export const NETWORK_FIELDS = ['driver', 'internal', 'labels'] as const;
export const NETWORK_REFUSED: Readonly<Record<string, string>> = {
  external: 'pifleet creates and owns the app\'s networks',
  name: 'pifleet names networks after the app',
  driver_opts: NOT_YET,
  ipam: NOT_YET,
  attachable: NOT_YET,
  enable_ipv4: NOT_YET,
  enable_ipv6: NOT_YET,
};
