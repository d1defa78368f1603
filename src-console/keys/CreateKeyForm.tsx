// Creating an enrolment key: tags, approval, uses, expiry and ephemeral, as `keys create` takes.
import { useState, type FormEvent, type ReactNode } from 'react';
import type { Approval, CreatedKey, CreateKeyRequest } from '../../src-shared/wire/admin.js';
import { CONTROL_PATHS } from '../../src-shared/wire/control.js';
import { api, errorText } from '../api.js';
import { ErrorLine, list } from '../components/ui.js';

const HOUR = 3600_000;
const EXPIRIES: Array<[string, number]> = [
  ['1 hour', HOUR],
  ['1 day', 24 * HOUR],
  ['7 days', 7 * 24 * HOUR],
  ['30 days', 30 * 24 * HOUR],
  ['90 days', 90 * 24 * HOUR],
];

export function CreateKeyForm({ onCreated }: { onCreated: (k: CreatedKey) => void }): ReactNode {
  const [tags, setTags] = useState('');
  const [approval, setApproval] = useState<Approval>('automatic');
  const [uses, setUses] = useState('1');
  const [expires, setExpires] = useState(String(7 * 24 * HOUR));
  const [ephemeral, setEphemeral] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setError(null);
    const body: CreateKeyRequest = {
      tags: list(tags),
      approval,
      uses: Number(uses),
      expiresInMs: Number(expires),
      ephemeral,
    };
    api<CreatedKey>('POST', CONTROL_PATHS.adminKeys, body).then(onCreated, (err: unknown) => setError(errorText(err)));
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-label="Create an enrolment key">
      <label>
        Tags (comma-separated)
        <input name="tags" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="dev, laptop" />
      </label>
      <label>
        Approval
        <select name="approval" value={approval} onChange={(e) => setApproval(e.target.value as Approval)}>
          <option value="automatic">automatic</option>
          <option value="gated">gated (approve each system)</option>
        </select>
      </label>
      <label>
        Uses
        <input name="uses" type="number" min={1} value={uses} onChange={(e) => setUses(e.target.value)} />
      </label>
      <label>
        Expires in
        <select name="expires" value={expires} onChange={(e) => setExpires(e.target.value)}>
          {EXPIRIES.map(([label, ms]) => (
            <option key={ms} value={String(ms)}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input type="checkbox" name="ephemeral" checked={ephemeral} onChange={(e) => setEphemeral(e.target.checked)} />
        Ephemeral (removed when offline)
      </label>
      <button type="submit" className="primary">
        Create key
      </button>
      <ErrorLine text={error} />
    </form>
  );
}
