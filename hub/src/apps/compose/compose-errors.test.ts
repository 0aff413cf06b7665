import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertErrors, oneService, parseErrors, type ExpectedError } from './compose-test-helpers.js';
import { MAX_COMPOSE_BYTES, MAX_ERRORS } from './limits.js';
import type { ParseComposeOptions } from './parse-compose.js';

/** Every way a file is refused, with the path and line the operator is pointed at. */

interface Row {
  name: string;
  fields: string;
  top?: string;
  opts?: Partial<ParseComposeOptions>;
  errors: [path: string, line: number | null, message: RegExp][];
}

const S = 'services.app';

const rows: Row[] = [
  // outside the subset
  { name: 'build', fields: 'build: .', errors: [[`${S}.build`, 4, /build is not supported: pifleet does not build images/]] },
  { name: 'secrets', fields: 'secrets: [pw]', errors: [[`${S}.secrets`, 4, /secrets is not supported/]] },
  { name: 'configs', fields: 'configs: [c]', errors: [[`${S}.configs`, 4, /configs is not supported/]] },
  { name: 'extends', fields: 'extends: { service: base }', errors: [[`${S}.extends`, 4, /extends is not supported/]] },
  { name: 'profiles', fields: 'profiles: [debug]', errors: [[`${S}.profiles`, 4, /profiles is not supported/]] },
  { name: 'pid', fields: 'pid: host', errors: [[`${S}.pid`, 4, /^pid is not supported$/]] },
  { name: 'ipc', fields: 'ipc: host', errors: [[`${S}.ipc`, 4, /ipc is not supported/]] },
  { name: 'ulimits', fields: 'ulimits:\n  nofile: 1024', errors: [[`${S}.ulimits`, 4, /ulimits is not supported/]] },
  { name: 'logging', fields: 'logging:\n  driver: json-file', errors: [[`${S}.logging`, 4, /logging is not supported/]] },
  { name: 'container_name', fields: 'container_name: x', errors: [[`${S}.container_name`, 4, /names containers after the app and the service/]] },
  { name: 'typo with a guess', fields: 'enviroment:\n  A: 1', errors: [[`${S}.enviroment`, 4, /unknown field "enviroment" \(did you mean environment\?\)/]] },
  { name: 'typo far from anything', fields: 'zzz: 1', errors: [[`${S}.zzz`, 4, /^unknown field "zzz"$/]] },
  { name: 'x-pifleet misspelt', fields: 'x-pi-fleet: {}', errors: [[`${S}.x-pi-fleet`, 4, /did you mean x-pifleet/]] },
  { name: 'several at once, in line order', fields: 'pid: host\nbuild: .\nports: ["99999:80"]', errors: [[`${S}.pid`, 4, /pid/], [`${S}.build`, 5, /build/], [`${S}.ports[0]`, 6, /published port 99999 is out of range/]] },

  // image
  { name: 'image missing', fields: 'image:', errors: [[`${S}.image`, 3, /service app needs an image/]] },
  { name: 'image upper case', fields: 'image: Nginx:latest', errors: [[`${S}.image`, 3, /not a valid image reference \(repository names are lower case\)/]] },
  { name: 'image with a blank', fields: 'image: "nginx latest"', errors: [[`${S}.image`, 3, /not a valid image reference/]] },
  { name: 'image as a list', fields: 'image: [nginx]', errors: [[`${S}.image`, 3, /expected an image reference, got a list/]] },

  // command
  { name: 'command with shell syntax', fields: 'command: echo a && echo b', errors: [[`${S}.command`, 4, /shell syntax "&".*\["sh", "-c"/]] },
  { name: 'command unterminated quote', fields: 'command: echo "open', errors: [[`${S}.command`, 4, /unterminated double quote/]] },
  { name: 'command list with a mapping', fields: 'command: [echo, {a: 1}]', errors: [[`${S}.command[1]`, 4, /expected a string, got a mapping/]] },
  { name: 'entrypoint mapping', fields: 'entrypoint:\n  a: 1', errors: [[`${S}.entrypoint`, 5, /expected a command string or list, got a mapping/]] },

  // interpolation
  { name: 'unset variable', fields: 'environment:\n  PASSWORD: ${DB_PASSWORD}', errors: [[`${S}.environment.PASSWORD`, 5, /variable DB_PASSWORD is unset/]] },
  { name: 'required variable with message', fields: 'image: app:${TAG:?set TAG per device}', errors: [[`${S}.image`, 3, /variable TAG is unset and required: set TAG per device/]] },
  { name: 'required non-empty variable', fields: 'image: app:${TAG:?}', opts: { vars: { TAG: '' } }, errors: [[`${S}.image`, 3, /variable TAG is empty and required/]] },
  { name: 'invalid template', fields: 'environment:\n  - A=${oops', errors: [[`${S}.environment[0]`, 5, /invalid interpolation.*missing \}.*\$\$ for a literal \$/]] },
  { name: 'unset variable in a port', fields: 'ports:\n  - "${PORT}:80"', errors: [[`${S}.ports[0]`, 5, /variable PORT is unset/]] },
  { name: 'variable that makes a bad value', fields: 'privileged: ${PRIV}', opts: { vars: { PRIV: 'maybe' } }, errors: [[`${S}.privileged`, 4, /expected true or false/]] },

  // environment / labels
  { name: 'environment scalar', fields: 'environment: A=1', errors: [[`${S}.environment`, 4, /expected a list of KEY=value or a mapping/]] },
  { name: 'environment empty key', fields: 'environment:\n  - =1', errors: [[`${S}.environment[0]`, 5, /environment variable name is empty/]] },
  { name: 'environment key with blank', fields: 'environment:\n  - "A B=1"', errors: [[`${S}.environment[0]`, 5, /contains a blank/]] },
  { name: 'environment nested value', fields: 'environment:\n  A: [1, 2]', errors: [[`${S}.environment.A`, 5, /expected a string, got a list/]] },
  { name: 'reserved label', fields: 'labels:\n  io.pifleet.app: other', errors: [[`${S}.labels["io.pifleet.app"]`, 5, /reserved for pifleet/]] },

  // env_file
  { name: 'env_file missing', fields: 'env_file: prod.env', errors: [[`${S}.env_file`, 4, /env file "prod.env" was not provided/]] },
  { name: 'env_file missing in a list', fields: 'env_file:\n  - a.env\n  - b.env', opts: { envFiles: { 'a.env': 'A=1' } }, errors: [[`${S}.env_file[1]`, 6, /env file "b.env" was not provided/]] },
  { name: 'env_file long, required missing', fields: 'env_file:\n  - path: x.env\n    required: true', errors: [[`${S}.env_file[0]`, 5, /env file "x.env" was not provided/]] },
  { name: 'env_file long without path', fields: 'env_file:\n  - required: false', errors: [[`${S}.env_file[0]`, 5, /path is required/]] },
  { name: 'env_file format', fields: 'env_file:\n  - path: x.env\n    format: raw', opts: { envFiles: { 'x.env': '' } }, errors: [[`${S}.env_file[0].format`, 6, /format is not supported/]] },
  { name: 'env_file syntax error names its line', fields: 'env_file: x.env', opts: { envFiles: { 'x.env': 'A=1\nB="open' } }, errors: [[`${S}.env_file`, 4, /env file "x.env" line 2: unterminated quoted value for B/]] },
  { name: 'env_file too large', fields: 'env_file: big.env', opts: { envFiles: { 'big.env': `A=${'x'.repeat(256 * 1024)}` } }, errors: [[`${S}.env_file`, 4, /env file "big.env" is larger than 256 KiB/]] },
  { name: 'env_file unset variable', fields: 'env_file: x.env', opts: { envFiles: { 'x.env': 'A=${NOPE}' } }, errors: [[`${S}.env_file`, 4, /env file "x.env" line 1: variable NOPE is unset/]] },

  // ports
  { name: 'port out of range', fields: 'ports: ["70000:80"]', errors: [[`${S}.ports[0]`, 4, /published port 70000 is out of range/]] },
  { name: 'container port 0', fields: 'ports: ["8080:0"]', errors: [[`${S}.ports[0]`, 4, /container port 0 is out of range/]] },
  { name: 'port number 0', fields: 'ports: [0]', errors: [[`${S}.ports[0]`, 4, /must be between 1 and 65535/]] },
  { name: 'port garbage', fields: 'ports: ["http"]', errors: [[`${S}.ports[0]`, 4, /invalid container port "http"/]] },
  { name: 'port range reversed', fields: 'ports: ["8002-8000:9000-9002"]', errors: [[`${S}.ports[0]`, 4, /range 8002-8000 ends before it starts/]] },
  { name: 'port ranges of different lengths', fields: 'ports: ["8000-8001:9000-9002"]', errors: [[`${S}.ports[0]`, 4, /different lengths: 8000-8001 vs 9000-9002/]] },
  { name: 'published range for one port', fields: 'ports: ["8000-8010:80"]', errors: [[`${S}.ports[0]`, 4, /published range for one container port/]] },
  { name: 'container range for one published port', fields: 'ports: ["8000:9000-9001"]', errors: [[`${S}.ports[0]`, 4, /different lengths/]] },
  { name: 'sctp', fields: 'ports: ["80:80/sctp"]', errors: [[`${S}.ports[0]`, 4, /protocol "sctp" is not supported/]] },
  { name: 'random host port', fields: 'ports: ["127.0.0.1::80"]', errors: [[`${S}.ports[0]`, 4, /no published port \(random host ports are not supported/]] },
  { name: 'bad host ip', fields: 'ports: ["300.1.1.1:80:80"]', errors: [[`${S}.ports[0]`, 4, /host_ip "300.1.1.1" is not an IP address/]] },
  { name: 'unbracketed IPv6', fields: 'ports: ["::1:80:80"]', errors: [[`${S}.ports[0]`, 4, /IPv6 addresses in brackets/]] },
  { name: 'duplicate published port', fields: 'ports:\n  - "80:80"\n  - "80:8080"', errors: [[`${S}.ports[1]`, 6, /published port 80\/tcp is already published by services\.app\.ports\[0\]/]] },
  { name: 'long syntax without target', fields: 'ports:\n  - published: 80', errors: [[`${S}.ports[0]`, 5, /target \(the container port\) is required/]] },
  { name: 'long syntax unknown key', fields: 'ports:\n  - target: 80\n    mode: ingress', errors: [[`${S}.ports[0].mode`, 6, /mode is not supported in a port/]] },
  { name: 'long syntax published range', fields: 'ports:\n  - target: 80\n    published: 8000-8001', errors: [[`${S}.ports[0]`, 5, /published range for one container port/]] },
  { name: 'huge range', fields: 'ports: ["1-60000"]', errors: [[`${S}.ports[0]`, 4, /more than 1024 ports/]] },
  { name: 'ports with network_mode host', fields: 'network_mode: host\nports: ["80:80"]', errors: [[`${S}.ports`, 5, /cannot be published with network_mode host/]] },

  // volumes
  { name: 'relative bind', fields: 'volumes: ["./data:/data"]', errors: [[`${S}.volumes[0]`, 4, /bind mount source "\.\/data" is relative: the compose file is not on the device/]] },
  { name: 'home-relative bind', fields: 'volumes: ["~/data:/data"]', errors: [[`${S}.volumes[0]`, 4, /is relative/]] },
  { name: 'parent-relative bind', fields: 'volumes: ["../x:/x"]', errors: [[`${S}.volumes[0]`, 4, /is relative/]] },
  { name: 'anonymous volume', fields: 'volumes: ["/data"]', errors: [[`${S}.volumes[0]`, 4, /anonymous volume "\/data" is not supported/]] },
  { name: 'undeclared volume', fields: 'volumes: ["data:/data"]', errors: [[`${S}.volumes[0]`, 4, /volume "data" is not declared under the top-level volumes/]] },
  { name: 'relative target', fields: 'volumes: ["/srv:data"]', errors: [[`${S}.volumes[0]`, 4, /must be an absolute path in the container/]] },
  { name: 'root target', fields: 'volumes: ["/srv:/"]', errors: [[`${S}.volumes[0]`, 4, /cannot replace the container's root/]] },
  { name: 'unknown mode', fields: 'volumes: ["/srv:/srv:z"]', errors: [[`${S}.volumes[0]`, 4, /volume mode "z" is not supported \(ro or rw\)/]] },
  { name: 'too many colons', fields: 'volumes: ["/a:/b:ro:x"]', errors: [[`${S}.volumes[0]`, 4, /invalid volume/]] },
  { name: 'long relative bind', fields: 'volumes:\n  - type: bind\n    source: ./conf\n    target: /conf', errors: [[`${S}.volumes[0].source`, 6, /is relative/]] },
  { name: 'long without type', fields: 'volumes:\n  - source: /a\n    target: /b', errors: [[`${S}.volumes[0]`, 5, /type \(volume, bind or tmpfs\) is required/]] },
  { name: 'long npipe', fields: 'volumes:\n  - type: npipe\n    source: x\n    target: /x', errors: [[`${S}.volumes[0].type`, 5, /volume type "npipe" is not supported/]] },
  { name: 'long anonymous volume', fields: 'volumes:\n  - type: volume\n    target: /x', errors: [[`${S}.volumes[0].source`, 5, /anonymous volumes are not supported/]] },
  { name: 'long bind options', fields: 'volumes:\n  - type: bind\n    source: /a\n    target: /a\n    bind:\n      propagation: rshared', errors: [[`${S}.volumes[0].bind`, 8, /bind is not supported in a volume/]] },
  { name: 'long tmpfs with source', fields: 'volumes:\n  - type: tmpfs\n    source: x\n    target: /x', errors: [[`${S}.volumes[0].source`, 6, /a tmpfs mount has no source/]] },
  { name: 'long tmpfs bad mode', fields: 'volumes:\n  - type: tmpfs\n    target: /x\n    tmpfs:\n      mode: rwx', errors: [[`${S}.volumes[0].tmpfs.mode`, 8, /must be octal permission bits/]] },
  { name: 'volume path used as a name', fields: 'volumes:\n  - type: volume\n    source: /srv\n    target: /srv', errors: [[`${S}.volumes[0].source`, 6, /is a path, not a volume name/]] },
  { name: 'same target twice', fields: 'volumes: ["/a:/data", "/b:/data/"]', errors: [[`${S}.volumes[1]`, 4, /\/data is already mounted by services\.app\.volumes\[0\]/]] },
  { name: 'tmpfs clashes with a volume', fields: 'volumes: ["/a:/run"]\ntmpfs: /run', errors: [[`${S}.tmpfs`, 5, /\/run is already mounted by services\.app\.volumes\[0\]/]] },
  { name: 'tmpfs relative', fields: 'tmpfs: run', errors: [[`${S}.tmpfs`, 4, /must be an absolute path/]] },

  // restart / healthcheck / durations
  { name: 'restart unknown', fields: 'restart: sometimes', errors: [[`${S}.restart`, 4, /restart "sometimes" is not one of no, always, on-failure\[:N\], unless-stopped/]] },
  { name: 'restart false', fields: 'restart: false', errors: [[`${S}.restart`, 4, /write "no" in quotes/]] },
  { name: 'restart on-failure:x', fields: 'restart: on-failure:x', errors: [[`${S}.restart`, 4, /is not one of/]] },
  { name: 'healthcheck without test', fields: 'healthcheck:\n  interval: 5s', errors: [[`${S}.healthcheck`, 5, /needs a test/]] },
  { name: 'healthcheck bad list head', fields: 'healthcheck:\n  test: [curl, -f, x]', errors: [[`${S}.healthcheck.test[0]`, 5, /starts with CMD, CMD-SHELL or NONE, got "curl"/]] },
  { name: 'healthcheck CMD alone', fields: 'healthcheck:\n  test: [CMD]', errors: [[`${S}.healthcheck.test`, 5, /CMD needs a command after it/]] },
  { name: 'healthcheck NONE with args', fields: 'healthcheck:\n  test: [NONE, x]', errors: [[`${S}.healthcheck.test`, 5, /NONE takes no arguments/]] },
  { name: 'healthcheck disable with test', fields: 'healthcheck:\n  disable: true\n  test: x', errors: [[`${S}.healthcheck.test`, 6, /cannot be set together/]] },
  { name: 'healthcheck duration without unit', fields: 'healthcheck:\n  test: x\n  interval: 30', errors: [[`${S}.healthcheck.interval`, 6, /needs a unit, e\.g\. 30s/]] },
  { name: 'healthcheck bad duration', fields: 'healthcheck:\n  test: x\n  timeout: soon', errors: [[`${S}.healthcheck.timeout`, 6, /invalid duration "soon"/]] },
  { name: 'healthcheck retries negative', fields: 'healthcheck:\n  test: x\n  retries: -1', errors: [[`${S}.healthcheck.retries`, 6, /must be between 0 and 1000/]] },
  { name: 'healthcheck start_interval', fields: 'healthcheck:\n  test: x\n  start_interval: 1s', errors: [[`${S}.healthcheck.start_interval`, 6, /start_interval is not supported in healthcheck/]] },
  { name: 'healthcheck typo', fields: 'healthcheck:\n  test: x\n  intervall: 1s', errors: [[`${S}.healthcheck.intervall`, 6, /did you mean interval/]] },
  { name: 'stop_grace_period too long', fields: 'stop_grace_period: 2h', errors: [[`${S}.stop_grace_period`, 4, /longer than 3600s/]] },
  { name: 'stop_signal junk', fields: 'stop_signal: "kill -9"', errors: [[`${S}.stop_signal`, 4, /is not a signal/]] },

  // resources
  { name: 'mem_limit junk', fields: 'mem_limit: lots', errors: [[`${S}.mem_limit`, 4, /invalid size "lots"/]] },
  { name: 'mem_limit bytes meant as MB', fields: 'mem_limit: 512', errors: [[`${S}.mem_limit`, 4, /below Docker's minimum of 6 MiB \(write 512m/]] },
  { name: 'cpus negative', fields: 'cpus: -1', errors: [[`${S}.cpus`, 4, /must be between 0 and 1024/]] },
  { name: 'cpus junk', fields: 'cpus: half', errors: [[`${S}.cpus`, 4, /expected a number/]] },
  { name: 'deploy replicas', fields: 'deploy:\n  replicas: 2', errors: [[`${S}.deploy.replicas`, 5, /replicas is not supported in deploy.*one container per service/]] },
  { name: 'deploy reservations', fields: 'deploy:\n  resources:\n    reservations:\n      memory: 1g', errors: [[`${S}.deploy.resources.reservations`, 6, /reservations is not supported/]] },
  { name: 'deploy pids', fields: 'deploy:\n  resources:\n    limits:\n      pids: 10', errors: [[`${S}.deploy.resources.limits.pids`, 7, /pids is not supported/]] },
  { name: 'mem_limit differs from deploy', fields: 'mem_limit: 1g\ndeploy:\n  resources:\n    limits:\n      memory: 2g', errors: [[`${S}.mem_limit`, 4, /differ; set one/]] },
  { name: 'cpus differs from deploy', fields: 'cpus: 1\ndeploy:\n  resources:\n    limits:\n      cpus: 2', errors: [[`${S}.cpus`, 4, /differ; set one/]] },

  // dependencies
  { name: 'depends on unknown service', fields: 'depends_on: [db]', errors: [[`${S}.depends_on[0]`, 4, /service "db" does not exist in this file/]] },
  { name: 'depends on itself', fields: 'depends_on:\n  app:\n    condition: service_started', errors: [[`${S}.depends_on.app`, 5, /cannot depend on itself/]] },
  { name: 'unknown condition', fields: 'depends_on:\n  app:\n    condition: service_ready', errors: [[`${S}.depends_on.app.condition`, 6, /condition "service_ready" is not one of/]] },
  { name: 'optional dependency', fields: 'depends_on:\n  x:\n    required: false', errors: [[`${S}.depends_on.x.required`, 6, /optional dependencies/]] },
  { name: 'dependency restart', fields: 'depends_on:\n  x:\n    restart: true', errors: [[`${S}.depends_on.x.restart`, 6, /restart: true/]] },
  { name: 'network_mode unknown service', fields: 'network_mode: service:vpn', errors: [[`${S}.network_mode`, 4, /service "vpn" does not exist/]] },
  { name: 'network_mode container', fields: 'network_mode: container:abc', errors: [[`${S}.network_mode`, 4, /use service:<name>/]] },
  { name: 'network_mode junk', fields: 'network_mode: overlay', errors: [[`${S}.network_mode`, 4, /is not one of host, none, bridge, service:<name>/]] },

  // networks
  { name: 'undeclared network', fields: 'networks: [back]', errors: [[`${S}.networks[0]`, 4, /network "back" is not declared under the top-level networks/]] },
  { name: 'network aliases', fields: 'networks:\n  back:\n    aliases: [b]', top: 'networks:\n  back:', errors: [[`${S}.networks.back.aliases`, 6, /per-network option aliases is not supported/]] },
  { name: 'networks with network_mode', fields: 'network_mode: host\nnetworks: [default]', errors: [[`${S}.networks`, 5, /networks and network_mode cannot be set together/]] },
  { name: 'network driver overlay', fields: '', top: 'networks:\n  n:\n    driver: overlay', errors: [['networks.n.driver', 7, /network driver "overlay" is not supported \(bridge only\)/]] },
  { name: 'network external', fields: '', top: 'networks:\n  n:\n    external: true', errors: [['networks.n.external', 7, /external is not supported in a network/]] },
  { name: 'network ipam', fields: '', top: 'networks:\n  n:\n    ipam: {}', errors: [['networks.n.ipam', 7, /ipam is not supported/]] },

  // top-level volumes
  { name: 'volume driver', fields: '', top: 'volumes:\n  v:\n    driver: nfs', errors: [['volumes.v.driver', 7, /driver is not supported in a volume/]] },
  { name: 'volume external', fields: '', top: 'volumes:\n  v:\n    external: true', errors: [['volumes.v.external', 7, /pifleet creates and owns the app's volumes/]] },
  { name: 'volume bad name', fields: '', top: 'volumes:\n  "-bad":', errors: [['volumes["-bad"]', 6, /volume name "-bad" must be/]] },

  // flags and the rest
  { name: 'privileged junk', fields: 'privileged: sure', errors: [[`${S}.privileged`, 4, /expected true or false, got string "sure"/]] },
  { name: 'device relative', fields: 'devices: [ttyUSB0]', errors: [[`${S}.devices[0]`, 4, /invalid device "ttyUSB0"/]] },
  { name: 'device bad permissions', fields: 'devices: ["/dev/a:/dev/a:rwx"]', errors: [[`${S}.devices[0]`, 4, /invalid device/]] },
  { name: 'capability junk', fields: 'cap_add: ["NET ADMIN"]', errors: [[`${S}.cap_add[0]`, 4, /is not a capability name/]] },
  { name: 'working_dir relative', fields: 'working_dir: app', errors: [[`${S}.working_dir`, 4, /must be an absolute path/]] },

  // x-pifleet
  { name: 'x-pifleet unknown key', fields: 'x-pifleet:\n  startSec: 5', errors: [[`${S}.x-pifleet.startSec`, 5, /unknown field "startSec" in x-pifleet \(did you mean startSecs\?\)/]] },
  { name: 'x-pifleet x- key inside', fields: 'x-pifleet:\n  x-note: 1', errors: [[`${S}.x-pifleet.x-note`, 5, /unknown field "x-note" in x-pifleet/]] },
  { name: 'x-pifleet out of range', fields: 'x-pifleet:\n  startRetries: 1000', errors: [[`${S}.x-pifleet.startRetries`, 5, /100/]] },
  { name: 'x-pifleet fractional retries', fields: 'x-pifleet:\n  startRetries: 1.5', errors: [[`${S}.x-pifleet.startRetries`, 5, /expected a whole number/]] },
  { name: 'x-pifleet exit code out of range', fields: 'x-pifleet:\n  fatalExitCodes: [1, 300]', errors: [[`${S}.x-pifleet.fatalExitCodes[1]`, 5, /between 0 and 255/]] },
  { name: 'x-pifleet success and fatal overlap', fields: 'x-pifleet:\n  successExitCodes: [0, 2]\n  fatalExitCodes: [2]', errors: [[`${S}.x-pifleet.fatalExitCodes`, 6, /exit code\(s\) 2 cannot be both success and fatal/]] },
  { name: 'x-pifleet not a mapping', fields: 'x-pifleet: yes', errors: [[`${S}.x-pifleet`, 4, /expected a mapping/]] },
  { name: 'x-pifleet restartUnhealthy junk', fields: 'x-pifleet:\n  restartUnhealthy: 2', errors: [[`${S}.x-pifleet.restartUnhealthy`, 5, /expected true or false/]] },
];

void test('field errors name the field path and its line', () => {
  const failures: string[] = [];
  for (const row of rows) {
    const expected: ExpectedError[] = row.errors.map(([path, line, message]) => ({ path, line, message }));
    try {
      assertErrors(oneService(row.fields, row.top), expected, row.opts, row.name);
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  assert.deepEqual(failures, []);
});

void test('top-level errors', () => {
  const cases: [string, string, ExpectedError[]][] = [
    ['empty file', '', [{ path: '', line: null, message: /the compose file is empty/ }]],
    ['comment only', '# nothing\n', [{ path: '', line: null, message: /empty/ }]],
    ['a list', '- a\n- b\n', [{ path: '', line: 1, message: /must be a YAML mapping/ }]],
    ['no services', 'name: x\n', [{ path: 'services', line: null, message: /services is required/ }]],
    ['services empty', 'services: {}\n', [{ path: 'services', line: 1, message: /at least one service/ }]],
    ['services a list', 'services:\n  - web\n', [{ path: 'services', line: 2, message: /expected a mapping, got a list/ }]],
    ['service without image', 'services:\n  web:\n    command: x\n', [{ path: 'services.web.image', line: 2, message: /service web needs an image/ }]],
    ['service a string', 'services:\n  web: nginx\n', [{ path: 'services.web', line: 2, message: /expected a mapping, got string "nginx"/ }]],
    ['bad service name', 'services:\n  "my web":\n    image: nginx\n', [{ path: 'services["my web"]', line: 2, message: /service name "my web" must be/ }]],
    ['bad app name', 'name: "-x"\nservices:\n  a:\n    image: nginx\n', [{ path: 'name', line: 1, message: /app name "-x" must be/ }]],
    ['top-level secrets', 'secrets:\n  pw:\n    file: ./pw\nservices:\n  a:\n    image: nginx\n', [{ path: 'secrets', line: 1, message: /secrets is not supported/ }]],
    ['top-level include', 'include: [other.yml]\nservices:\n  a:\n    image: nginx\n', [{ path: 'include', line: 1, message: /include is not supported/ }]],
    ['top-level typo', 'service:\n  a:\n    image: nginx\n', [{ path: 'service', line: 1, message: /unknown field "service" \(did you mean services\?\)/ }, { path: 'services', line: null, message: /services is required/ }]],
    ['x-pifleet at the top', 'x-pifleet:\n  startSecs: 1\nservices:\n  a:\n    image: nginx\n', [{ path: 'x-pifleet', line: 1, message: /belongs inside a service/ }]],
    ['cycle', 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n', [{ path: 'services.c.depends_on[0]', line: 10, message: /dependency cycle: a -> b -> c -> a/ }]],
    ['cycle through network_mode', 'services:\n  a:\n    image: x\n    network_mode: service:b\n  b:\n    image: x\n    depends_on: [a]\n', [{ path: 'services.b.depends_on[0]', line: 7, message: /dependency cycle: a -> b -> a/ }]],
    ['waiting on a disabled healthcheck', 'services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: service_healthy\n  b:\n    image: x\n    healthcheck:\n      disable: true\n', [{ path: 'services.a.depends_on.b', line: 5, message: /b has its healthcheck disabled/ }]],
  ];
  for (const [name, text, expected] of cases) assertErrors(text, expected, {}, name);
});

void test('YAML errors come with their line', () => {
  const cases: [string, string, number, RegExp][] = [
    ['duplicate key', 'services:\n  a:\n    image: x\n    image: y\n', 4, /Map keys must be unique/],
    ['bad indentation', 'services:\n  a:\n    image: x\n   ports: []\n', 4, /YAML/],
    ['tab indentation', 'services:\n\ta:\n', 2, /YAML/],
    ['unclosed flow list', 'services:\n  a:\n    image: x\n    ports: [80\n', 5, /YAML/],
    ['two documents', 'services: {}\n---\nservices: {}\n', 2, /multiple documents/i],
    ['unknown alias', 'services:\n  a: *nothing\n', 2, /YAML/],
    ['unknown tag', 'services:\n  a: !reset {}\n', 2, /YAML.*tag/i],
    ['duplicate key after stringifying', 'services:\n  a:\n    image: x\n    environment:\n      1: a\n      "1": b\n', 6, /duplicate key "1"/],
  ];
  for (const [name, text, line, message] of cases) {
    const errors = parseErrors(text);
    assert.ok(errors.length >= 1, name);
    assert.equal(errors[0].line, line, `${name}: ${JSON.stringify(errors)}`);
    assert.match(errors[0].message, message, `${name}: ${JSON.stringify(errors)}`);
  }
});

void test('hostile inputs are refused early and cheaply', () => {
  const big = `services:\n  a:\n    image: x\n    environment:\n      A: "${'x'.repeat(MAX_COMPOSE_BYTES)}"\n`;
  assertErrors(big, [{ path: '', line: null, message: /KiB; at most 256 KiB is accepted/ }]);

  const many = `services:\n${Array.from({ length: 65 }, (_, i) => `  s${i}:\n    image: x\n`).join('')}`;
  assertErrors(many, [{ path: 'services', line: 1, message: /65 services; an app may have at most 64/ }]);

  // "Billion laughs": each level doubles the expansion.
  const levels = Array.from({ length: 30 }, (_, i) => `x-l${i + 1}: &l${i + 1} [*l${i}, *l${i}]`).join('\n');
  const laughs = `x-l0: &l0 "lol"\n${levels}\nservices:\n  a:\n    image: x\n    command: *l30\n`;
  const started = performance.now();
  const errors = parseErrors(laughs);
  assert.ok(performance.now() - started < 5000, 'bounded work');
  assert.match(errors[0].message, /more than 100000 YAML nodes|nested deeper/);

  const recursive = 'x-a: &a\n  b: *a\nservices:\n  a:\n    image: x\n';
  assert.equal(parseErrors(recursive).length, 1);

  const deep = `services:\n  a:\n    image: x\n    command: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  assert.ok(parseErrors(deep).length >= 1);
});

void test('all errors are reported, capped with a note of how many more there were', () => {
  const fields = Array.from({ length: 80 }, (_, i) => `bad${i}: 1`).join('\n');
  const errors = parseErrors(oneService(fields));
  assert.equal(errors.length, MAX_ERRORS);
  assert.equal(errors[0].path, 'services.app.bad0');
  assert.equal(errors[0].line, 4);
  assert.match(errors[MAX_ERRORS - 1].message, /^31 more error\(s\) not shown/);
  const few = parseErrors(oneService('bad1: 1\nports: ["x"]\nrestart: never'));
  assert.deepEqual(
    few.map((e) => e.path),
    ['services.app.bad1', 'services.app.ports[0]', 'services.app.restart'],
  );
});

void test('variables come only from the given record, never from its prototype', () => {
  assertErrors(oneService('environment:\n  A: ${constructor}\n  B: ${toString}'), [
    { path: 'services.app.environment.A', line: 5, message: /variable constructor is unset/ },
    { path: 'services.app.environment.B', line: 6, message: /variable toString is unset/ },
  ]);
  assertErrors(oneService('env_file: toString'), [{ path: 'services.app.env_file', line: 4, message: /was not provided/ }]);
  assertErrors(oneService('environment:\n  __proto__: x'), [{ path: 'services.app.environment.__proto__', line: 5, message: /not allowed/ }]);
});
