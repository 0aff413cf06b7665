/**
 * Apply a compose file to a fleet (its fleet-wide release) or to one device (an override).
 * "Dry run" asks the hub for the plan and changes nothing; "Apply" creates the release. An
 * invalid file comes back as a list of problems with their lines, which jump into the editor.
 */
import { useEffect, useRef, useState, type ChangeEvent } from 'react';
import { ApiError, describeError } from '../api/client';
import { api } from '../api/endpoints';
import { useDevices } from '../devices-context';
import type { ApplyAppRequest, ApplyAppResult, ComposeError, Fleet } from '../types';
import { ComposeEditor, type ComposeEditorHandle } from './compose-editor';
import { ComposeErrors } from './compose-errors';
import { PlanTable } from './plan-table';

/** Compose files and env files are text of a few KiB; refuse anything that clearly is not. */
const MAX_FILE_BYTES = 512 * 1024;

export interface ApplyDraft {
  compose: string;
  name?: string;
  fleet?: string;
  device?: string | null;
}

function isComposeErrors(d: unknown): d is ComposeError[] {
  return Array.isArray(d) && d.every((e) => e && typeof e === 'object' && typeof (e as ComposeError).message === 'string');
}

async function readText(f: File): Promise<string> {
  if (f.size > MAX_FILE_BYTES) throw new Error(`${f.name} is ${Math.round(f.size / 1024)} KiB; a compose or env file should be far smaller`);
  return f.text();
}

export function ApplyForm({ draft, onApplied }: { draft?: ApplyDraft; onApplied: (r: ApplyAppResult) => void }) {
  const { devices } = useDevices();
  const [fleets, setFleets] = useState<Fleet[] | null>(null);
  const [scope, setScope] = useState<'fleet' | 'device'>(draft?.device ? 'device' : 'fleet');
  const [fleet, setFleet] = useState(draft?.fleet ?? 'default');
  const [device, setDevice] = useState(draft?.device ?? '');
  const [name, setName] = useState(draft?.name ?? '');
  const [compose, setCompose] = useState(draft?.compose ?? '');
  const [envFiles, setEnvFiles] = useState<{ path: string; content: string }[]>([]);
  const [busy, setBusy] = useState<'dry' | 'apply' | null>(null);
  const [result, setResult] = useState<ApplyAppResult | null>(null);
  const [problems, setProblems] = useState<ComposeError[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const editor = useRef<ComposeEditorHandle>(null);

  useEffect(() => {
    api.fleets().then(
      (f) => {
        setFleets(f);
        setFleet((cur) => (f.some((x) => x.name === cur) || f.length === 0 ? cur : f[0]!.name));
      },
      (err: unknown) => setError(`Could not load fleets: ${describeError(err)}`),
    );
  }, []);

  const upload = async (e: ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    e.target.value = '';
    if (!f) return;
    try {
      setCompose(await readText(f));
      setResult(null);
      setProblems(null);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const addEnvFiles = async (e: ChangeEvent<HTMLInputElement>) => {
    const files = [...(e.target.files ?? [])];
    e.target.value = '';
    try {
      const read = await Promise.all(files.map(async (f) => ({ path: f.name, content: await readText(f) })));
      setEnvFiles((cur) => [...cur.filter((x) => !read.some((r) => r.path === x.path)), ...read]);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const submit = async (dryRun: boolean) => {
    setBusy(dryRun ? 'dry' : 'apply');
    setError(null);
    setProblems(null);
    setResult(null);
    const body: ApplyAppRequest = {
      compose,
      dryRun,
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(scope === 'fleet' ? { fleet } : { device }),
      ...(envFiles.length ? { envFiles: Object.fromEntries(envFiles.map((f) => [f.path, f.content])) } : {}),
    };
    try {
      const r = await api.applyApp(body);
      setResult(r);
      if (!r.dryRun) onApplied(r);
    } catch (err) {
      if (err instanceof ApiError && isComposeErrors(err.details) && err.details.length > 0) setProblems(err.details);
      else setError(describeError(err));
    } finally {
      setBusy(null);
    }
  };

  const ready = compose.trim() !== '' && (scope === 'fleet' ? fleet !== '' : device !== '') && busy === null;
  return (
    <section className="panel apply-form" data-testid="apply-form">
      <h2>Apply a compose file</h2>
      <div className="form-row">
        <fieldset className="scope">
          <legend>Target</legend>
          <label>
            <input type="radio" name="scope" checked={scope === 'fleet'} onChange={() => setScope('fleet')} /> Fleet
          </label>
          <select value={fleet} onChange={(e) => setFleet(e.target.value)} disabled={scope !== 'fleet' || !fleets} aria-label="Fleet">
            {(fleets ?? [{ name: fleet }]).map((f) => (
              <option key={f.name} value={f.name}>
                {f.name}
              </option>
            ))}
          </select>
          <label>
            <input type="radio" name="scope" checked={scope === 'device'} onChange={() => setScope('device')} /> One device
          </label>
          <select value={device} onChange={(e) => setDevice(e.target.value)} disabled={scope !== 'device'} aria-label="Device">
            <option value="">choose…</option>
            {devices
              .filter((d) => d.status !== 'revoked')
              .map((d) => (
                <option key={d.id} value={d.name}>
                  {d.name} ({d.fleet})
                </option>
              ))}
          </select>
        </fieldset>
        <label className="app-name">
          App name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="default: the file's name" maxLength={63} aria-label="App name" />
        </label>
        <label className="file-pick">
          Open file…
          <input type="file" accept=".yml,.yaml,.json,text/yaml,application/yaml" onChange={(e) => void upload(e)} aria-label="Upload compose file" />
        </label>
      </div>
      <ComposeEditor ref={editor} value={compose} onChange={(v) => (setCompose(v), setResult(null))} disabled={busy !== null} />
      <div className="env-files">
        <label className="file-pick">
          Add env files…
          <input type="file" multiple onChange={(e) => void addEnvFiles(e)} aria-label="Add env files" />
        </label>
        {envFiles.length === 0 ? (
          <span className="muted small">Files the compose file names in <code>env_file</code>, by the path written there.</span>
        ) : (
          envFiles.map((f, i) => (
            <span key={i} className="chip">
              <input
                className="env-path"
                value={f.path}
                aria-label={`Path of env file ${i + 1}`}
                onChange={(e) => setEnvFiles((cur) => cur.map((x, j) => (j === i ? { ...x, path: e.target.value } : x)))}
              />
              <button type="button" className="chip-x" aria-label={`Remove env file ${f.path}`} onClick={() => setEnvFiles((cur) => cur.filter((_, j) => j !== i))}>
                ×
              </button>
            </span>
          ))
        )}
      </div>
      <div className="form-actions">
        <button type="button" disabled={!ready} onClick={() => void submit(true)}>
          {busy === 'dry' ? 'Checking…' : 'Dry run'}
        </button>
        <button type="button" className="primary" disabled={!ready} onClick={() => void submit(false)}>
          {busy === 'apply' ? 'Applying…' : 'Apply'}
        </button>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="apply-failed">
          {error}
        </p>
      )}
      {problems && <ComposeErrors errors={problems} onLine={(l) => editor.current?.jumpTo(l)} />}
      {result && (
        <div className="apply-result" data-testid="apply-result">
          {result.dryRun ? (
            <p>
              <strong>Dry run</strong> for {result.app} in {result.fleet}: nothing was changed. This is what Apply would do:
            </p>
          ) : (
            <p className="ok" role="status">
              Release <strong>#{result.release?.number}</strong> of {result.app}
              {result.release?.device ? ` for ${result.release.device}` : ` in fleet ${result.fleet}`} created; devices converge to it now.
            </p>
          )}
          <PlanTable plan={result.plan} />
        </div>
      )}
    </section>
  );
}
